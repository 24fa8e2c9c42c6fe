//! Logs, audit events, metrics and health (OB-01..OB-12): every flow run under a capturing
//! `tracing` subscriber, an in-memory audit sink and a metrics recorder, all scoped to the
//! test's thread (no global subscriber or recorder, so this stays in the one test binary).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Waker};
use std::time::SystemTime;

use async_trait::async_trait;
use grantflow::observe::{AuditEvent, AuditSink, EventKind, LogKey};
use grantflow::secret::TokenHash;
use grantflow::store::{GrantId, Insert, RefreshLookup, Rotation, TokenRecord, TokenStore};
use grantflow::{HttpResponse, Scope, Server, Status, StorageError};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};
use sha2::{Digest, Sha256};
use tracing_subscriber::fmt::format::FmtSpan;

use crate::support::authz::{self, CONF_SECRET, PKCE};
use crate::support::device;
use crate::support::harness::{VERIFIER, basic_header, bearer, block_on, enc, json, post_form};

// ---------------------------------------------------------------------------------------
// The capturing side: logs, audit events, metrics
// ---------------------------------------------------------------------------------------

/// Runs `f` under a subscriber that records every span and event at every level, spans
/// with their fields when they close; returns what `f` returned and the text.
pub(crate) fn capture_logs<R>(f: impl FnOnce() -> R) -> (R, String) {
    keep_callsites_open();
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || Writer(Arc::clone(&sink)))
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    (result, text)
}

/// Installs, once, a global subscriber that takes nothing but answers every callsite
/// "sometimes", so that a callsite's cached interest is never "never".
///
/// `tracing` caches each callsite's interest when the callsite is first hit. While at most
/// one dispatcher exists, it asks only the default dispatcher *of the thread that hit it*:
/// a test without a subscriber that reaches a callsite first (another test's server
/// dropping an audit event, say) would cache "never" for every thread, and the capture of
/// a test running at the same time would miss that event. With this subscriber there are
/// always at least two dispatchers, so every callsite's interest is at worst "sometimes"
/// and each event asks the capturing thread's own subscriber.
fn keep_callsites_open() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Another global subscriber already installed does the same job.
        let _ = tracing::subscriber::set_global_default(Undecided);
    });
}

/// The global subscriber of [`keep_callsites_open`]: interested "sometimes", enabled
/// never.
struct Undecided;

impl tracing::Subscriber for Undecided {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An audit sink that keeps what it receives.
#[derive(Debug, Default)]
struct Recorded(Mutex<Vec<AuditEvent>>);

#[async_trait]
impl AuditSink for Recorded {
    async fn record(&self, event: &AuditEvent) -> Result<(), StorageError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
        Ok(())
    }
}

/// An audit sink that always fails.
#[derive(Debug)]
struct Failing;

#[async_trait]
impl AuditSink for Failing {
    async fn record(&self, _: &AuditEvent) -> Result<(), StorageError> {
        Err(StorageError::new("the audit database is down"))
    }
}

/// The delivery task of a server, driven by hand: [`Audit::delivered`] polls it until it
/// waits for more events.
struct Audit {
    sink: Arc<Recorded>,
    delivery: Pin<Box<dyn Future<Output = ()>>>,
}

impl Audit {
    fn of(server: &Server, sink: Arc<Recorded>) -> Self {
        let delivery = server.audit_delivery().expect("a sink is configured");
        Self {
            sink,
            delivery: Box::pin(delivery.run()),
        }
    }

    /// Every event delivered so far, in order.
    fn delivered(&mut self) -> Vec<AuditEvent> {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(self.delivery.as_mut().poll(&mut cx).is_pending());
        self.sink.0.lock().unwrap().clone()
    }
}

/// A server over the authorization fixtures with a recording sink, and its delivery.
fn audited() -> (authz::Harness, Audit) {
    let sink = Arc::new(Recorded::default());
    let h = authz::harness_with(|b| b.audit_sink(sink.clone()));
    let audit = Audit::of(&h.server, sink);
    (h, audit)
}

fn names(events: &[AuditEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

/// One metric a recorder saw: its kind, name, sorted labels and value.
type Metric = (MetricKind, String, Vec<(String, String)>, DebugValue);

/// The counters and histograms a recorder saw during `f`, each as its name and sorted
/// labels.
fn capture_metrics(f: impl FnOnce()) -> Vec<Metric> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, f);
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value): (CompositeKey, _, _, _)| {
            let (kind, key) = key.into_parts();
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            (kind, key.name().to_owned(), labels, value)
        })
        .collect()
}

fn counter(metrics: &[Metric], name: &str, labels: &[(&str, &str)]) -> u64 {
    metrics
        .iter()
        .filter(|(kind, n, l, _)| {
            *kind == MetricKind::Counter
                && n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, _, value)| match value {
            DebugValue::Counter(n) => *n,
            _ => 0,
        })
        .sum()
}

fn access_and_refresh(response: &HttpResponse) -> (String, String) {
    assert_eq!(response.status, Status::OK, "{:?}", json(response));
    let body = json(response);
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

// ---------------------------------------------------------------------------------------
// OB-01, OB-07, OB-08: a full run of the code, refresh, revocation, introspection and
// bearer flows, attacks included
// ---------------------------------------------------------------------------------------

/// Every secret a run used, to search the capture for.
pub(crate) struct Secrets(pub(crate) Vec<String>);

impl Secrets {
    pub(crate) fn assert_absent_from(&self, what: &str, text: &str) {
        for secret in &self.0 {
            assert!(
                !text.contains(secret.as_str()),
                "{what} holds the secret {secret:?}:\n{text}"
            );
            // Nor as a plain hash (OB-02).
            let hash: String = Sha256::digest(secret.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert!(
                !text.contains(&hash[..16]),
                "{what} holds SHA-256({secret:?})"
            );
        }
    }
}

#[test]
fn ob_01_ob_07_every_flow_logs_its_events_and_no_secret() {
    let (h, mut audit) = audited();
    let mut secrets = Secrets(vec![CONF_SECRET.to_owned(), VERIFIER.to_owned()]);
    let wrong_secret = "wrong-secret-Xk29aQ";
    secrets.0.push(wrong_secret.to_owned());

    let ((), logs) = capture_logs(|| {
        // The code flow of a confidential client, then a refresh.
        let code = h.code_for("conf");
        secrets.0.push(code.clone());
        let exchange = format!(
            "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            enc("https://conf.example.com/cb?tenant=a")
        );
        let (access, refresh) = access_and_refresh(&h.token_basic("conf", CONF_SECRET, &exchange));
        secrets.0.extend([access.clone(), refresh.clone()]);
        let (access2, refresh2) = access_and_refresh(&h.token_basic(
            "conf",
            CONF_SECRET,
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        ));
        secrets.0.extend([access2.clone(), refresh2.clone()]);
        // The bearer guard, with and without the scope.
        let guard = h.server.bearer_guard();
        assert!(block_on(guard.check(&bearer(&access2), &Scope::parse("read").unwrap())).is_ok());
        assert!(block_on(guard.check(&bearer(&access2), &Scope::parse("write").unwrap())).is_err());
        // Introspection by a client that may not, and a revocation.
        let introspect = post_form(format!("token={access2}"))
            .with_header("authorization", basic_header("conf", CONF_SECRET));
        let refused = block_on(h.server.introspect(&introspect)).unwrap();
        assert_eq!(refused.status.as_u16(), 403);
        let revoke = post_form(format!("token={access2}"))
            .with_header("authorization", basic_header("conf", CONF_SECRET));
        assert_eq!(
            block_on(h.server.revoke(&revoke)).unwrap().status,
            Status::OK
        );
        // A wrong secret, then a code replay.
        let failed = h.token_basic("conf", wrong_secret, &exchange);
        assert_eq!(failed.status.as_u16(), 401);
        let replay = h.token_basic("conf", CONF_SECRET, &exchange);
        assert_eq!(replay.status.as_u16(), 400);
        // A public client's flow, a refresh-token reuse, and a revocation.
        let (access3, refresh3) = h.tokens_for("app", "read");
        secrets.0.extend([access3.clone(), refresh3.clone()]);
        let (_, refresh4) = access_and_refresh(&h.refresh("app", &refresh3, None));
        secrets.0.push(refresh4.clone());
        assert_eq!(h.refresh("app", &refresh3, None).status.as_u16(), 400);
        // A denied consent.
        let pending = h
            .authorize(&format!(
                "response_type=code&client_id=app&scope=read&{PKCE}"
            ))
            .unwrap();
        let _ = pending.deny();
    });

    let events = audit.delivered();
    assert_eq!(
        names(&events),
        [
            "consent_granted",
            "token_issued",
            "token_refreshed",
            "introspection_refused",
            "token_revoked",
            "client_authentication_failed",
            "code_replay_detected",
            "grant_revoked",
            "consent_granted",
            "token_issued",
            "token_refreshed",
            "refresh_reuse_detected",
            "grant_revoked",
            "consent_denied",
        ]
    );
    // Every event name is in the logs too, from the same place.
    for event in &events {
        assert!(
            logs.contains(&format!("event=\"{}\"", event.kind.name())),
            "{logs}"
        );
    }
    // One span per endpoint call, closed with its outcome: the token-style endpoints, the
    // guard, and the authorization endpoint with its approve and deny step.
    assert!(logs.contains("endpoint=\"bearer\""), "{logs}");
    assert!(logs.contains("error=\"insufficient_scope\""), "{logs}");
    let closes = |endpoint: &str| {
        logs.lines()
            .filter(|l| {
                l.contains(": close ") && l.contains(&format!("endpoint{{endpoint=\"{endpoint}\""))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(closes("authorization").len(), 3, "{logs}");
    let decisions = closes("authorization_decision");
    assert_eq!(decisions.len(), 3, "{logs}");
    assert!(
        decisions[..2]
            .iter()
            .all(|l| l.contains("outcome=\"success\"") && l.contains("grant_id=")),
        "{logs}"
    );
    assert!(
        decisions[2].contains("client_id=\"app\"")
            && decisions[2].contains("error=\"access_denied\""),
        "{logs}"
    );
    // The `state` value of the requests (`s1`) is never recorded.
    assert!(!logs.contains("s1\"") && !logs.contains("state="), "{logs}");
    secrets.assert_absent_from("the logs", &logs);
    secrets.assert_absent_from("the audit events", &format!("{events:?}"));
}

#[test]
fn ob_07_a_refresh_reuse_emits_refreshed_reuse_and_revoked_for_one_grant() {
    let (h, mut audit) = audited();
    let (_, refresh) = h.tokens_for("app", "read");
    assert_eq!(h.refresh("app", &refresh, None).status, Status::OK);
    assert_eq!(h.refresh("app", &refresh, None).status.as_u16(), 400);
    let events = audit.delivered();
    let tail = &events[events.len() - 3..];
    assert_eq!(
        names(tail),
        ["token_refreshed", "refresh_reuse_detected", "grant_revoked"]
    );
    let grant = tail[0].kind.grant_id().unwrap();
    assert!(tail.iter().all(|e| e.kind.grant_id() == Some(grant)));
    assert!(matches!(
        tail[1].kind,
        EventKind::RefreshReuseDetected { revoked: true, .. }
    ));
}

#[test]
fn ob_07_a_code_replay_emits_replay_then_revoked_for_the_grant_of_the_tokens() {
    let (h, mut audit) = audited();
    let code = h.code_for("app");
    assert_eq!(h.exchange("app", &code).status, Status::OK);
    assert_eq!(h.exchange("app", &code).status.as_u16(), 400);
    let events = audit.delivered();
    assert_eq!(
        names(&events),
        [
            "consent_granted",
            "token_issued",
            "code_replay_detected",
            "grant_revoked"
        ]
    );
    let grant = events[0].kind.grant_id().unwrap();
    assert!(events.iter().all(|e| e.kind.grant_id() == Some(grant)));
    assert_eq!(events[1].kind.client_id().unwrap().as_str(), "app");
    assert_eq!(events[1].kind.subject().unwrap().as_str(), "alice");
}

#[test]
fn ob_08_one_grants_history_is_rebuilt_in_order_from_the_sink() {
    let (h, mut audit) = audited();
    let (_, refresh) = h.tokens_for("app", "read");
    // Another grant in between, which the history must leave out.
    let _ = h.tokens_for("app2", "read");
    let (_, refresh2) = access_and_refresh(&h.refresh("app", &refresh, None));
    h.clock.advance(std::time::Duration::from_secs(5));
    let revoke = post_form(format!("token={refresh2}&client_id=app"));
    assert_eq!(
        block_on(h.server.revoke(&revoke)).unwrap().status,
        Status::OK
    );
    let events = audit.delivered();
    let grant = events[0].kind.grant_id().unwrap();
    let history: Vec<&AuditEvent> = events
        .iter()
        .filter(|e| e.kind.grant_id() == Some(grant))
        .collect();
    assert_eq!(
        history.iter().map(|e| e.kind.name()).collect::<Vec<_>>(),
        [
            "consent_granted",
            "token_issued",
            "token_refreshed",
            "token_revoked",
            "grant_revoked"
        ]
    );
    assert!(history.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(
        history
            .iter()
            .all(|e| &*e.issuer == "https://as.example.com")
    );
    assert_eq!(history[0].at, crate::support::harness::t0());
}

// ---------------------------------------------------------------------------------------
// OB-02, OB-04, OB-05: fingerprints, escaping, claimed versus authenticated identity
// ---------------------------------------------------------------------------------------

#[test]
fn ob_02_a_user_code_is_logged_as_its_keyed_fingerprint_only() {
    let h = device::Harness::with(|b| b.log_key(LogKey::from_bytes(&[9; 32]).unwrap()));
    let ((device_code, user_code, grant), logs) = capture_logs(|| {
        let (device_code, user_code) = h.start("tv");
        h.approve(&user_code);
        let response = h.poll("tv", &device_code);
        assert_eq!(response.status, Status::OK);
        let token = json(&response)["access_token"].as_str().unwrap().to_owned();
        let record = block_on(h.tokens.find(&TokenHash::of(&token)))
            .unwrap()
            .unwrap();
        (device_code, user_code, record.grant_id)
    });
    assert!(logs.contains("user_code_fp="), "{logs}");
    assert!(logs.contains(&grant.to_string()), "{logs}");
    assert!(logs.contains("event=\"device_code_approved\""), "{logs}");
    // The user's decision is a call of its own, with the device's client and grant.
    let decision = logs
        .lines()
        .find(|l| l.contains(": close ") && l.contains("endpoint{endpoint=\"device_decision\""))
        .unwrap_or_else(|| panic!("{logs}"));
    for field in [
        "client_id=\"tv\"",
        "outcome=\"success\"",
        &format!("grant_id={grant}"),
    ] {
        assert!(decision.contains(field), "{field} in {decision}");
    }
    let normalized = user_code.replace('-', "");
    Secrets(vec![device_code, user_code, normalized]).assert_absent_from("the logs", &logs);
}

#[test]
fn ob_04_a_forged_client_id_is_logged_as_one_escaped_field() {
    let forged = "abc\r\nlevel=error msg=forged";
    let h = authz::harness();
    let (response, logs) = capture_logs(|| {
        h.token(&post_form(format!(
            "grant_type=authorization_code&code=x&client_id={}",
            enc(forged)
        )))
    });
    assert_eq!(response.status.as_u16(), 401);
    // In the span and in the event, the same escaped text on one line.
    let field = r#"client_id_claimed="abc\r\nlevel=error msg=forged""#;
    assert_eq!(
        logs.lines().count(),
        2,
        "the event and the span's close: {logs}"
    );
    assert!(logs.lines().all(|line| line.contains(field)), "{logs}");
    // No line starts with the forged text.
    assert!(
        !logs.lines().any(|line| line.starts_with("level=error")),
        "{logs}"
    );
    assert!(
        !logs.contains("abc\r\n") && !logs.contains("abc\n"),
        "{logs}"
    );
}

#[test]
fn ob_05_a_failed_client_authentication_names_only_the_claimed_client() {
    let (h, mut audit) = audited();
    let (response, logs) =
        capture_logs(|| h.token_basic("c1", "whatever", "grant_type=client_credentials"));
    assert_eq!(response.status.as_u16(), 401);
    let failure = logs
        .lines()
        .find(|line| line.contains("event=\"client_authentication_failed\""))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(failure.contains("client_id_claimed=\"c1\""), "{failure}");
    assert!(!failure.contains(" client_id="), "{failure}");
    let events = audit.delivered();
    assert!(matches!(
        &events[..],
        [AuditEvent { kind: EventKind::ClientAuthenticationFailed { client_id_claimed: Some(c), .. }, .. }]
            if c.as_str() == "c1"
    ));
    assert_eq!(events[0].kind.client_id(), None);
}

// ---------------------------------------------------------------------------------------
// OB-09: the sink never holds a request up
// ---------------------------------------------------------------------------------------

#[test]
fn ob_09_a_failing_sink_changes_no_response_and_its_drops_are_counted() {
    let h = authz::harness_with(|b| b.audit_sink(Arc::new(Failing)));
    let delivery = h.server.audit_delivery().unwrap();
    // The delivery task is handed out once.
    assert!(h.server.audit_delivery().is_none());
    let mut delivery = Box::pin(delivery.run());
    let ((), logs) = capture_logs(|| {
        let (_, refresh) = h.tokens_for("app", "read");
        assert_eq!(h.refresh("app", &refresh, None).status, Status::OK);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(delivery.as_mut().poll(&mut cx).is_pending());
    });
    assert_eq!(h.server.dropped_audit_events(), 3);
    // Reported once in the log.
    assert_eq!(
        logs.matches("audit events are being dropped").count(),
        1,
        "{logs}"
    );
}

#[test]
fn ob_09_a_full_queue_drops_new_events_and_never_waits() {
    let sink = Arc::new(Recorded::default());
    let h = authz::harness_with(|b| b.audit_sink(sink.clone()).audit_queue_capacity(2));
    // No delivery task runs yet: the queue fills up, requests go on.
    let metrics = capture_metrics(|| {
        for _ in 0..3 {
            let _ = h.tokens_for("app", "read");
        }
    });
    assert_eq!(h.server.dropped_audit_events(), 4);
    assert_eq!(
        counter(&metrics, "grantflow_audit_events_dropped_total", &[]),
        4
    );
    let mut audit = Audit::of(&h.server, sink);
    assert_eq!(
        names(&audit.delivered()),
        ["consent_granted", "token_issued"]
    );
}

// ---------------------------------------------------------------------------------------
// OB-10, OB-11: metrics and spans
// ---------------------------------------------------------------------------------------

#[test]
fn ob_10_random_grant_types_map_to_the_closed_label_set() {
    let h = authz::harness();
    let metrics = capture_metrics(|| {
        for i in 0..10_000u32 {
            let grant_type = format!("urn:x:{:08x}", i.wrapping_mul(2_654_435_761));
            let response = h.token(&format!("grant_type={}&client_id=app", enc(&grant_type)));
            assert_eq!(response.status.as_u16(), 400);
        }
        let _ = h.tokens_for("app", "read");
    });
    let grant_types: std::collections::BTreeSet<&str> = metrics
        .iter()
        .filter(|(_, name, _, _)| name == "grantflow_requests_total")
        .flat_map(|(_, _, labels, _)| labels.iter())
        .filter(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.as_str())
        .collect();
    // `none`: the authorization endpoint's calls, which have no grant type.
    assert_eq!(
        grant_types.into_iter().collect::<Vec<_>>(),
        ["authorization_code", "none", "other"]
    );
    assert_eq!(
        counter(
            &metrics,
            "grantflow_requests_total",
            &[("grant_type", "other"), ("error", "unsupported_grant_type")]
        ),
        10_000
    );
    // No label holds a client identifier unless the host lists it.
    assert!(
        metrics
            .iter()
            .all(|(_, _, labels, _)| labels.iter().all(|(k, _)| k != "client_id"))
    );
}

#[test]
fn ob_10_metrics_count_requests_outcomes_events_lockouts_and_latency() {
    let h = authz::harness_with(|b| {
        b.metric_client_labels([grantflow::ClientId::new("conf").unwrap()])
    });
    let metrics = capture_metrics(|| {
        let _ = h.tokens_for("app", "read");
        for _ in 0..12 {
            let _ = h.token_basic("conf", "wrong", "grant_type=authorization_code&code=x");
        }
    });
    let token = [("endpoint", "token"), ("grant_type", "authorization_code")];
    assert_eq!(
        counter(
            &metrics,
            "grantflow_requests_total",
            &[
                token[0],
                token[1],
                ("outcome", "success"),
                ("error", "none"),
                ("client_id", "other")
            ]
        ),
        1
    );
    assert_eq!(
        counter(
            &metrics,
            "grantflow_requests_total",
            &[
                ("outcome", "refused"),
                ("error", "invalid_client"),
                ("client_id", "none")
            ]
        ),
        12
    );
    assert_eq!(
        counter(
            &metrics,
            "grantflow_events_total",
            &[("event", "token_issued")]
        ),
        1
    );
    let failures = counter(
        &metrics,
        "grantflow_events_total",
        &[("event", "client_authentication_failed")],
    );
    let lockouts = counter(
        &metrics,
        "grantflow_lockouts_total",
        &[("limiter", "client_secret")],
    );
    assert_eq!(failures + lockouts, 12);
    assert!(
        lockouts > 0,
        "the default limiter locks out before 12 failures"
    );
    assert!(
        metrics
            .iter()
            .any(|(kind, name, labels, _)| *kind == MetricKind::Histogram
                && name == "grantflow_request_duration_seconds"
                && labels == &[("endpoint".to_owned(), "token".to_owned())])
    );
}

#[test]
fn ob_11_each_request_yields_exactly_one_endpoint_span_with_its_fields() {
    let h = authz::harness();
    let (response, logs) = capture_logs(|| {
        h.token_basic(
            "conf",
            CONF_SECRET,
            "grant_type=authorization_code&code=unknown",
        )
    });
    assert_eq!(response.status.as_u16(), 400);
    let closes: Vec<&str> = logs.lines().filter(|l| l.contains(": close ")).collect();
    assert_eq!(closes.len(), 1, "{logs}");
    let span = closes[0];
    for field in [
        "endpoint{endpoint=\"token\"",
        "client_id_claimed=\"conf\"",
        "client_id=\"conf\"",
        "grant_type=\"authorization_code\"",
        "outcome=\"refused\"",
        "error=\"invalid_grant\"",
    ] {
        assert!(span.contains(field), "{field} in {span}");
    }
}

// ---------------------------------------------------------------------------------------
// OB-12: health
// ---------------------------------------------------------------------------------------

/// A token store whose backend is down.
#[derive(Debug)]
pub(crate) struct DownStore;

fn down() -> StorageError {
    StorageError::new("connection refused to db.internal:5432 (user grantflow)")
}

#[async_trait]
impl TokenStore for DownStore {
    async fn insert(&self, _: Vec<(TokenHash, TokenRecord)>) -> Result<Insert, StorageError> {
        Err(down())
    }
    async fn find(&self, _: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        Err(down())
    }
    async fn revoke(&self, _: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        Err(down())
    }
    async fn revoke_grant(&self, _: &GrantId, _: SystemTime) -> Result<usize, StorageError> {
        Err(down())
    }
    async fn find_refresh(&self, _: &TokenHash) -> Result<Option<RefreshLookup>, StorageError> {
        Err(down())
    }
    async fn rotate(
        &self,
        _: &TokenHash,
        _: SystemTime,
        _: Vec<(TokenHash, TokenRecord)>,
    ) -> Result<Rotation, StorageError> {
        Err(down())
    }
}

#[test]
fn ob_12_health_says_which_store_is_down_and_nothing_else() {
    let up = authz::harness();
    let health = block_on(up.server.health());
    assert!(health.is_up());
    assert_eq!(health.to_response().status, Status::OK);

    let server = Server::builder(
        "https://as.example.com",
        authz::clients(),
        Arc::new(DownStore),
    )
    .build()
    .unwrap();
    let health = block_on(server.health());
    assert!(!health.is_up());
    let response = health.to_response();
    assert_eq!(response.status.as_u16(), 503);
    let body = String::from_utf8(response.body).unwrap();
    assert_eq!(
        body,
        r#"{"status":"down","checks":{"clients":"up","tokens":"down","codes":"up","client_limiter":"up","token_issuer":"up"}}"#
    );
    assert!(!body.contains("5432") && !body.contains("refused"));
}

#[test]
fn ob_12_a_store_fault_is_logged_and_counted_but_never_sent() {
    let server = Server::builder(
        "https://as.example.com",
        authz::clients(),
        Arc::new(DownStore),
    )
    .build()
    .unwrap();
    let request = post_form("token=abc&client_id=app");
    let mut result = None;
    let metrics = capture_metrics(|| {
        let (r, logs) = capture_logs(|| block_on(server.revoke(&request)));
        assert!(logs.contains("connection refused to db.internal"), "{logs}");
        result = Some(r);
    });
    let error = result.unwrap().unwrap_err();
    let response = error.to_response();
    assert!(!String::from_utf8_lossy(&response.body).contains("5432"));
    assert_eq!(
        counter(
            &metrics,
            "grantflow_store_errors_total",
            &[("endpoint", "revocation")]
        ),
        1
    );
    assert_eq!(
        counter(
            &metrics,
            "grantflow_requests_total",
            &[
                ("endpoint", "revocation"),
                ("outcome", "fault"),
                ("error", "server_error")
            ]
        ),
        1
    );
}

#[test]
fn ob_01_client_credentials_and_the_guard_log_no_secret() {
    use crate::support::resource::{self, BACKEND};
    let h = resource::Harness::new();
    let (token, logs) = capture_logs(|| {
        let token = h.cc_token(BACKEND, "read");
        let guard = h.server.bearer_guard();
        assert!(block_on(guard.check(&bearer(&token), &Scope::parse("read").unwrap())).is_ok());
        // A wrong secret for a real client, and a token nobody issued.
        let wrong = resource::basic((BACKEND.0, "not-the-secret-Q8"))
            .with_body("grant_type=client_credentials");
        assert_eq!(h.token(&wrong).status.as_u16(), 401);
        assert!(block_on(guard.check(&bearer("forged-token-Zz9"), &Scope::empty())).is_err());
        token
    });
    assert!(logs.contains("event=\"token_issued\""), "{logs}");
    assert!(logs.contains("grant_type=\"client_credentials\""), "{logs}");
    assert!(logs.contains("token_fp="), "{logs}");
    Secrets(vec![
        token,
        BACKEND.1.to_owned(),
        "not-the-secret-Q8".to_owned(),
        "forged-token-Zz9".to_owned(),
    ])
    .assert_absent_from("the logs", &logs);
}
