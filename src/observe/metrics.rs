//! The `metrics` side of the event stream (feature `metrics`): counters and a latency
//! histogram through the `metrics` facade, whose exporter the host installs. Every label
//! value comes from a closed set; values taken from requests are mapped into it
//! first. Without the feature every function here is empty.
#![cfg_attr(not(feature = "metrics"), allow(dead_code))]

/// Requests, by `endpoint`, `grant_type`, `outcome` and `error` (and `client_id` for the
/// clients of the allow-list).
pub(crate) const REQUESTS: &str = "grantflow_requests_total";
/// Request latency in seconds, by `endpoint`.
pub(crate) const REQUEST_DURATION: &str = "grantflow_request_duration_seconds";
/// Audit events, by `event` (their stable names).
pub(crate) const EVENTS: &str = "grantflow_events_total";
/// Attempts refused by a limiter, by `limiter`.
pub(crate) const LOCKOUTS: &str = "grantflow_lockouts_total";
/// Store faults, by `endpoint`.
pub(crate) const STORE_ERRORS: &str = "grantflow_store_errors_total";
/// Audit events that never reached the sink.
pub(crate) const AUDIT_EVENTS_DROPPED: &str = "grantflow_audit_events_dropped_total";

/// The labels of one finished request.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) struct RequestLabels<'a> {
    pub(crate) endpoint: &'static str,
    pub(crate) grant_type: &'a str,
    pub(crate) outcome: &'static str,
    pub(crate) error: &'static str,
    /// The `client_id` label, for a client of the allow-list (`other` for the rest), or
    /// `None` when per-client labels are off.
    pub(crate) client: Option<&'a str>,
}

/// Counts one finished request and records its latency.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn request(labels: &RequestLabels<'_>, seconds: Option<f64>) {
    #[cfg(feature = "metrics")]
    {
        use metrics::{Label, SharedString};
        let owned = |value: &str| SharedString::from(value.to_owned());
        let mut set = Vec::with_capacity(5);
        set.push(Label::from_static_parts("endpoint", labels.endpoint));
        set.push(match builtin_grant_type(labels.grant_type) {
            Some(known) => Label::from_static_parts("grant_type", known),
            None => Label::new("grant_type", owned(labels.grant_type)),
        });
        set.push(Label::from_static_parts("outcome", labels.outcome));
        set.push(Label::from_static_parts("error", labels.error));
        if let Some(client) = labels.client {
            set.push(Label::new("client_id", owned(client)));
        }
        metrics::counter!(REQUESTS, set).increment(1);
        if let Some(seconds) = seconds {
            metrics::histogram!(REQUEST_DURATION, "endpoint" => labels.endpoint).record(seconds);
        }
    }
}

/// The `'static` form of a built-in grant type label, which needs no allocation.
#[cfg(feature = "metrics")]
fn builtin_grant_type(value: &str) -> Option<&'static str> {
    [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
        "password",
        "none",
        "other",
    ]
    .into_iter()
    .find(|known| *known == value)
}

/// Counts a store fault at `endpoint`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn store_error(endpoint: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(STORE_ERRORS, "endpoint" => endpoint).increment(1);
}

/// Counts an audit event by its name, and a lockout by its limiter.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn event(kind: &super::event::EventKind) {
    #[cfg(feature = "metrics")]
    {
        metrics::counter!(EVENTS, "event" => kind.name()).increment(1);
        if let super::event::EventKind::LockedOut { limiter, .. } = kind {
            metrics::counter!(LOCKOUTS, "limiter" => limiter.as_str()).increment(1);
        }
    }
}

/// Counts an audit event that never reached the sink.
pub(crate) fn audit_event_dropped() {
    #[cfg(feature = "metrics")]
    metrics::counter!(AUDIT_EVENTS_DROPPED).increment(1);
}

/// Registers the description and unit of every metric with the installed recorder, for
/// exporters that publish them (Prometheus `# HELP`). Call it once after installing the
/// recorder; the metrics work without it.
#[cfg(feature = "metrics")]
pub fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        REQUESTS,
        Unit::Count,
        "Endpoint calls by endpoint, grant type, outcome (success, refused, fault) and OAuth error code"
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Endpoint call latency by endpoint, in seconds"
    );
    describe_counter!(EVENTS, Unit::Count, "Audit events by event name");
    describe_counter!(
        LOCKOUTS,
        Unit::Count,
        "Attempts refused by a brute-force limiter, by limiter"
    );
    describe_counter!(STORE_ERRORS, Unit::Count, "Store faults by endpoint");
    describe_counter!(
        AUDIT_EVENTS_DROPPED,
        Unit::Count,
        "Audit events dropped because the queue was full or the sink failed"
    );
}
