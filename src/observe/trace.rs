//! The `tracing` side of the event stream (feature `tracing`): target `grantflow`, one
//! event per [`EventKind`], fields named as `tracing` users expect. Without the feature
//! every function here is empty.

use super::event::EventKind;

/// The target of every span and event of the crate.
#[cfg(feature = "tracing")]
pub(crate) const TARGET: &str = "grantflow";

/// Whether a subscriber takes any event of the crate (one at `WARN` or above, at least).
pub(crate) fn enabled() -> bool {
    #[cfg(feature = "tracing")]
    return tracing::enabled!(target: TARGET, tracing::Level::WARN);
    #[cfg(not(feature = "tracing"))]
    false
}

/// Logs `kind`: `WARN` for the events that may be an attack in progress, `INFO` for the
/// others. Every field comes from [`EventKind::fields`]; absent ones are left out.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn event(kind: &EventKind) {
    #[cfg(feature = "tracing")]
    {
        macro_rules! log_event {
            ($level:expr) => {{
                let f = kind.fields();
                tracing::event!(
                    target: TARGET,
                    $level,
                    event = kind.name(),
                    grant_id = f.grant_id.map(tracing::field::display),
                    client_id = f.client_id.map(|c| c.as_str()),
                    client_id_claimed = f
                        .client_id_claimed
                        .map(|c| tracing::field::debug(super::text::Quoted(c.as_str()))),
                    sub = f.subject.map(|s| s.as_str()),
                    scope = f.scope.map(|s| s.as_str()),
                    grant_type = f.grant_type,
                    refresh_token = f.refresh_token,
                    id_token = f.id_token,
                    revoked = f.revoked,
                    code = f.code,
                    cause = f.cause,
                    method = f.method,
                    reason = f.reason,
                    limiter = f.limiter,
                    token_type = f.token_type,
                    "{}",
                    kind.name(),
                );
            }};
        }
        // The fields are gathered only for a subscriber that takes the event.
        if kind.is_alert() {
            if tracing::enabled!(target: TARGET, tracing::Level::WARN) {
                log_event!(tracing::Level::WARN);
            }
        } else if tracing::enabled!(target: TARGET, tracing::Level::INFO) {
            log_event!(tracing::Level::INFO);
        }
    }
}

/// The one log line about dropped audit events; the count is in the metric and
/// [`Server::dropped_audit_events`](crate::Server::dropped_audit_events).
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn audit_events_dropped(why: &'static str) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        target: TARGET,
        reason = why,
        "audit events are being dropped; this is reported once, the count is in \
         grantflow_audit_events_dropped_total",
    );
}

/// Logs a store or plug-in fault of `endpoint` at `ERROR`, with the cause chain the client
/// never sees (`Error::source`).
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn fault(endpoint: &'static str, error: &(dyn std::error::Error + 'static)) {
    #[cfg(feature = "tracing")]
    tracing::error!(
        target: TARGET,
        endpoint,
        error = %error,
        cause = %Causes(error),
        "endpoint failed",
    );
}

/// The `source()` chain of an error, joined by `: `.
#[cfg(feature = "tracing")]
struct Causes<'a>(&'a (dyn std::error::Error + 'static));

#[cfg(feature = "tracing")]
impl std::fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut cause = self.0.source();
        let mut first = true;
        while let Some(current) = cause {
            if !first {
                f.write_str(": ")?;
            }
            write!(f, "{current}")?;
            first = false;
            cause = current.source();
        }
        Ok(())
    }
}
