//! Operating a server: audit events and their sink, health, and the key of log
//! fingerprints.
//!
//! Every security-relevant outcome is one typed, secret-free [`AuditEvent`]. The server
//! feeds three outputs from that one place, so they cannot disagree:
//!
//! - **`tracing`** (feature `tracing`, on by default), target `grantflow`: one span per
//!   endpoint call (`endpoint`, with `endpoint`, `client_id`, `client_id_claimed`,
//!   `grant_type`, `grant_id`, `token_fp`, `user_code_fp`, `outcome` and `error` filled in
//!   once known), one event per audit event (`WARN` for what may be an attack: reuse,
//!   replay, failed client authentication, lockouts; `INFO` otherwise), and an `ERROR`
//!   event per store or plug-in fault with its cause;
//! - **the [`AuditSink`]** of [`ServerBuilder::audit_sink`](crate::ServerBuilder::audit_sink),
//!   fed in order through a bounded queue by the [`AuditDelivery`] task;
//! - **metrics** (feature `metrics`, through the `metrics` facade):
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `grantflow_requests_total` | counter | `endpoint`, `grant_type`, `outcome`, `error` (and `client_id` for an allow-list) |
//! | `grantflow_request_duration_seconds` | histogram | `endpoint` |
//! | `grantflow_events_total` | counter | `event` |
//! | `grantflow_lockouts_total` | counter | `limiter` |
//! | `grantflow_store_errors_total` | counter | `endpoint` |
//! | `grantflow_audit_events_dropped_total` | counter | |
//!
//! Label values come from closed sets only: `endpoint` (`authorization`,
//! `authorization_decision`, `token`, `device_authorization`, `device_verification`,
//! `device_decision`, `revocation`, `introspection`, `bearer`, `jwks`, `metadata`,
//! `openid_configuration`, `userinfo`, `end_session`); `grant_type` (the grant
//! types the server registered, `other` for anything else a request sent, `none`);
//! `outcome` (`success`, `refused`, `fault`); `error` (the error codes of RFC 6749,
//! RFC 6750, RFC 8628 and OpenID Connect Core, `other`, or `none`); `event` and `limiter` (the names of
//! [`EventKind`] and [`Limiter`]). A `client_id` label exists only for the clients of
//! [`ServerBuilder::metric_client_labels`](crate::ServerBuilder::metric_client_labels)
//! (`other` for the rest). Latency is read from the server's
//! [`Clock`](crate::clock::Clock), so a test's manual clock gives exact figures.
//!
//! # What is never recorded
//!
//! No token, code, device or user code, PKCE verifier, client secret, password, assertion,
//! private or HMAC key, `Authorization` or `Cookie` header value, `state`, `nonce` or
//! request body reaches a span, an event, an audit event, a metric label or an error value.
//! Where one credential must be followed across events, the logs carry its fingerprint: the
//! first 8 bytes of its HMAC-SHA-256 under the server's [`LogKey`], never a plain hash.
//! Identifiers a request claims are capped and escaped ([`Claimed`]), and recorded apart
//! from the identities the server accepted.
//!
//! [`Server::health`](crate::Server::health) reports whether each store and plug-in
//! answers ([`Health`]).

mod audit;
pub(crate) mod call;
mod event;
mod fingerprint;
mod health;
pub(crate) mod metrics;
mod text;
pub(crate) mod trace;

use std::sync::Arc;
use std::time::SystemTime;

pub use audit::{AuditDelivery, AuditSink};
pub use event::{AuditEvent, AuthFailure, EventKind, Limiter, ReplayedCode, RevocationCause};
pub use fingerprint::LogKey;
pub use health::{Health, HealthCheck};
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use metrics::describe_metrics;
pub use text::Claimed;

pub(crate) use audit::AuditQueue;

use crate::server::Server;
use crate::types::ClientId;

/// The one stream of events of a server: every audit event goes
/// through [`emit`](Self::emit), which logs it, counts it and queues it for the sink.
#[derive(Debug)]
pub(crate) struct Events {
    issuer: Arc<str>,
    audit: Option<(Arc<AuditQueue>, Arc<dyn AuditSink>)>,
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    log_key: LogKey,
    /// The clients that get a `client_id` metric label; empty: no such label.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    metric_clients: Vec<ClientId>,
}

impl Events {
    pub(crate) fn new(
        issuer: &str,
        sink: Option<(Arc<dyn AuditSink>, usize)>,
        log_key: LogKey,
        metric_clients: Vec<ClientId>,
    ) -> Self {
        Self {
            issuer: Arc::from(issuer),
            audit: sink.map(|(sink, capacity)| (Arc::new(AuditQueue::new(capacity)), sink)),
            log_key,
            metric_clients,
        }
    }

    /// The event stream of a component that runs without a server (a resource server's
    /// offline JWT guard): logs and metrics only, under a key of its own.
    #[cfg(feature = "jwt")]
    pub(crate) fn standalone() -> Self {
        Self::new(
            "",
            None,
            LogKey::generate_with(&crate::random::SystemRandom),
            Vec::new(),
        )
    }

    /// Records the event `kind` makes, which happened at `at`: logged, counted, and queued
    /// for the audit sink if there is one. Never waits. The event is made only if one of
    /// the three takes it, so a server without a sink, a subscriber or the `metrics`
    /// feature pays nothing for it.
    pub(crate) fn emit(&self, at: SystemTime, kind: impl FnOnce() -> EventKind) {
        if self.audit.is_none() && !cfg!(feature = "metrics") && !trace::enabled() {
            return;
        }
        let kind = kind();
        trace::event(&kind);
        metrics::event(&kind);
        if let Some((queue, _)) = &self.audit {
            queue.push(AuditEvent {
                at,
                issuer: Arc::clone(&self.issuer),
                kind,
            });
        }
    }

    /// The `client_id` label of a request accepted from `client` (`none` when no client
    /// was accepted), or `None` when per-client labels are off.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn client_label<'a>(&'a self, client: Option<&'a ClientId>) -> Option<&'a str> {
        #[cfg(feature = "metrics")]
        if !self.metric_clients.is_empty() {
            return Some(match client {
                Some(id) if self.metric_clients.contains(id) => id.as_str(),
                Some(_) => "other",
                None => "none",
            });
        }
        None
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        if let Some((queue, _)) = &self.audit {
            queue.close();
        }
    }
}

impl Server {
    /// The task that delivers audit events to the sink of
    /// [`ServerBuilder::audit_sink`](crate::ServerBuilder::audit_sink): spawn its
    /// [`run`](AuditDelivery::run) once on the host's runtime, right after building the
    /// server. `None` without a sink, and after the first call: one task keeps the events
    /// in order.
    ///
    /// ```no_run
    /// # async fn start(server: grantflow::Server) {
    /// if let Some(delivery) = server.audit_delivery() {
    ///     tokio::spawn(delivery.run());
    /// }
    /// # }
    /// ```
    pub fn audit_delivery(&self) -> Option<AuditDelivery> {
        let (queue, sink) = self.state().events.audit.as_ref()?;
        queue
            .take()
            .then(|| AuditDelivery::new(Arc::clone(queue), Arc::clone(sink)))
    }

    /// How many audit events were dropped so far, because the queue was full (a slow sink,
    /// or no delivery task running) or the sink failed. Also the
    /// `grantflow_audit_events_dropped_total` metric.
    pub fn dropped_audit_events(&self) -> u64 {
        self.state()
            .events
            .audit
            .as_ref()
            .map_or(0, |(queue, _)| queue.dropped_count())
    }
}
