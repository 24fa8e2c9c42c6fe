//! The device authorization grant (RFC 8628), black-box: `HttpRequest` in, `HttpResponse`
//! out, plus the host's verification API. Every DG rule has a test named after it; time is
//! driven by a `ManualClock`.

use crate::support::parked::Park;
use crate::support::race::{race, runtime};

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::support::device::*;
use grantflow::device::{DeviceVerificationError, EnteredUserCode, UserCodeFormat};
use grantflow::limiter::MemoryAttemptLimiter;
use grantflow::secret::{DeviceCode, TokenHash};
use grantflow::store::{DeviceRecord, DeviceRedemption, DeviceStore, GrantId, TokenStore};
use grantflow::{
    ClientId, HttpRequest, MemoryDeviceStore, MemoryTokenStore, Method, Scope, Server, Status,
    Subject,
};
use serde_json::json;

const BASE20: &str = "BCDFGHJKLMNPQRSTVWXZ";

/// A server builder over the fixture clients, without the device grant.
fn server_builder() -> grantflow::ServerBuilder {
    Server::builder(ISSUER, clients(), Arc::new(MemoryTokenStore::new()))
}

/// A server builder over the fixture clients, with the device grant.
fn device_server() -> grantflow::ServerBuilder {
    server_builder().device_store(Arc::new(MemoryDeviceStore::new()))
}

fn verify(
    h: &Harness,
    input: &str,
    key: &str,
) -> Result<grantflow::device::PendingDeviceAuthorization, DeviceVerificationError> {
    let verifier = h.server.device_verifier().expect("the device grant is on");
    block_on(verifier.verify(EnteredUserCode::new(input), key))
}

/// Inserts a pending request with a known user code straight into the store.
fn insert_known(h: &Harness, user_code: &str) -> DeviceCode {
    let now = grantflow::clock::Clock::now(&h.clock);
    insert_record(h.devices(), "profile videos", user_code, now)
}

/// Inserts a pending request of `tv` for `scope`, made at `now`, straight into `store`.
fn insert_record(
    store: &MemoryDeviceStore,
    scope: &str,
    user_code: &str,
    now: SystemTime,
) -> DeviceCode {
    let code = DeviceCode::generate();
    let (client, scope) = (ClientId::new("tv").unwrap(), Scope::parse(scope).unwrap());
    let expires = now + Duration::from_secs(600);
    let record = DeviceRecord::new(
        GrantId::generate(),
        client,
        scope,
        user_code.to_owned(),
        now,
        expires,
        Duration::from_secs(5),
    );
    block_on(store.insert(code.hash(), record)).unwrap();
    code
}

// ---------------------------------------------------------------- DG-01: the request

#[test]
fn dg_01_v_dev_5_public_client_sends_client_id_and_gets_200() {
    let h = Harness::new();
    let response = h.device_authorization("client_id=1406020730&scope=example_scope");
    assert_eq!(response.status, Status::OK);
    assert_token_headers(&response);
}

#[test]
fn dg_01_only_post_is_accepted() {
    let h = Harness::new();
    let request = HttpRequest::new(Method::Get).with_query("client_id=tv");
    let response = h.device_request(&request);
    assert_eq!(response.status.as_u16(), 405);
    assert_eq!(response.header("allow"), Some("POST"));
}

#[test]
fn dg_01_body_must_be_a_utf8_form() {
    let h = Harness::new();
    for (content_type, body, status) in [
        ("application/json", r#"{"client_id":"tv"}"#, 400),
        (
            "application/x-www-form-urlencoded;charset=UTF-8",
            "client_id=tv",
            200,
        ),
        (
            "application/x-www-form-urlencoded; charset=iso-8859-1",
            "client_id=tv",
            400,
        ),
    ] {
        let request = HttpRequest::new(Method::Post)
            .with_header("content-type", content_type)
            .with_body(body);
        let response = h.device_request(&request);
        match status {
            200 => assert_eq!(response.status, Status::OK, "{content_type}"),
            _ => assert_error(&response, status, "invalid_request"),
        }
    }
}

#[test]
fn dg_01_repeated_parameter_is_invalid_request() {
    let h = Harness::new();
    for body in [
        "client_id=tv&client_id=tv",
        "client_id=tv&scope=profile&scope=videos",
    ] {
        assert_error(&h.device_authorization(body), 400, "invalid_request");
    }
}

#[test]
fn dg_01_empty_parameters_are_absent_and_unknown_ones_ignored() {
    let h = Harness::new();
    // Empty scope = absent → the client's default scope; `foo` is ignored.
    let response = h.device_authorization("client_id=tv&scope=&foo=bar");
    assert_eq!(response.status, Status::OK);
    let (device_code, user_code) = {
        let body = json(&response);
        (
            body["device_code"].as_str().unwrap().to_owned(),
            body["user_code"].as_str().unwrap().to_owned(),
        )
    };
    let pending = verify(&h, &user_code, "k").unwrap();
    assert_eq!(pending.requested_scope().as_str(), "profile");
    drop(block_on(pending.deny()));
    assert_error(&h.poll("tv", &device_code), 400, "access_denied");
    // An empty client_id is absent: no client authentication at all.
    assert_error(&h.device_authorization("client_id="), 401, "invalid_client");
}

#[test]
fn dg_01_confidential_client_authenticates_as_at_the_token_endpoint() {
    let h = Harness::new();
    let request = form_post("scope=profile").with_header("authorization", CONFIDENTIAL_BASIC);
    let response = h.device_request(&request);
    assert_eq!(response.status, Status::OK);
    let device_code = json(&response)["device_code"].as_str().unwrap().to_owned();
    // Polling also needs the client's authentication.
    let poll = |auth: Option<&str>| {
        let mut request = form_post(format!(
            "grant_type={DEVICE_GRANT_ENCODED}&device_code={device_code}&client_id=confidential-tv"
        ));
        if let Some(auth) = auth {
            request = request.with_header("authorization", auth);
        }
        h.token(&request)
    };
    assert_error(&poll(None), 401, "invalid_client");
    assert_error(
        &poll(Some(CONFIDENTIAL_BASIC)),
        400,
        "authorization_pending",
    );
    // Only the client id, no secret: refused.
    assert_error(
        &h.device_authorization("client_id=confidential-tv&scope=profile"),
        401,
        "invalid_client",
    );
    // Wrong secret via Basic: 401 with a challenge.
    let request = form_post("scope=profile")
        .with_header("authorization", "Basic Y29uZmlkZW50aWFsLXR2Ondyb25n");
    let response = h.device_request(&request);
    assert_error(&response, 401, "invalid_client");
    assert!(challenge_of(&response).starts_with("Basic realm="));
    // Two methods at once: invalid_request.
    let request =
        form_post("client_secret=tv-secret").with_header("authorization", CONFIDENTIAL_BASIC);
    assert_error(&h.device_request(&request), 400, "invalid_request");
}

#[test]
fn dg_01_credentials_in_the_query_are_refused() {
    let h = Harness::new();
    let request = form_post("client_id=confidential-tv").with_query("client_secret=tv-secret");
    assert_error(&h.device_request(&request), 400, "invalid_request");
}

#[test]
fn dg_01_flood_of_device_requests_is_bounded_by_the_store() {
    let store = Arc::new(
        MemoryDeviceStore::new()
            .with_capacity(20)
            .with_retention(Duration::ZERO),
    );
    let h = Harness::with_store(store.clone(), |b| b);
    for _ in 0..20 {
        h.start("tv");
    }
    // Full: a transient storage fault, which the adapter answers with 503.
    let err = block_on(h.server.device_authorization(&form_post("client_id=tv"))).unwrap_err();
    assert_error(&err.to_response(), 503, "temporarily_unavailable");
    assert_eq!(store.len(), 20);
    // Once the flood's codes expire, new requests purge their way back in.
    h.advance(600);
    for _ in 0..20 {
        h.start("tv");
    }
    assert_eq!(store.len(), 20);
}

// ---------------------------------------------------------------- DG-02: the response

#[test]
fn dg_02_success_members_types_and_headers() {
    let h = Harness::new();
    let response = h.device_authorization("client_id=tv&scope=profile%20videos");
    assert_eq!(response.status, Status::OK);
    assert_token_headers(&response);
    let body = json(&response);
    let object = body.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "device_code",
            "expires_in",
            "interval",
            "user_code",
            "verification_uri",
            "verification_uri_complete"
        ]
    );
    assert!(object.values().all(|v| !v.is_null()));
    assert_eq!(body["expires_in"], json!(600));
    assert_eq!(body["interval"], json!(5));
    assert_eq!(body["verification_uri"], "https://as.example.com/device");
    let user_code = body["user_code"].as_str().unwrap();
    assert_eq!(
        body["verification_uri_complete"],
        format!("https://as.example.com/device?user_code={user_code}")
    );
    // The body never shows in Debug output.
    let shown = format!("{response:?}");
    assert!(!shown.contains(body["device_code"].as_str().unwrap()));
}

#[test]
fn dg_02_lifetime_interval_and_uris_are_configurable() {
    let h = Harness::with(|b| {
        b.device_code_ttl(Duration::from_secs(1800))
            .device_poll_interval(Duration::from_secs(10))
            .device_verification_uri("https://example.com/device")
    });
    let body = json(&h.device_authorization("client_id=tv"));
    assert_eq!(body["expires_in"], json!(1800));
    assert_eq!(body["interval"], json!(10));
    assert_eq!(body["verification_uri"], "https://example.com/device");
    // Out-of-range settings are refused at build time.
    for configure in [
        (|b: grantflow::ServerBuilder| b.device_code_ttl(Duration::from_secs(59)))
            as fn(grantflow::ServerBuilder) -> grantflow::ServerBuilder,
        |b| b.device_code_ttl(Duration::from_secs(3601)),
        |b| b.device_poll_interval(Duration::from_millis(1500)),
        |b| b.device_poll_interval(Duration::ZERO),
        |b| b.device_verification_uri("http://example.com/device"),
        |b| b.device_authorization_endpoint("https://example.com/d#x"),
    ] {
        assert!(configure(device_server()).build().is_err());
    }
}

// ---------------------------------------------------------------- DG-03: errors

#[test]
fn dg_03_unknown_client_is_401_invalid_client() {
    let h = Harness::new();
    let response = h.device_authorization("client_id=nobody&scope=profile");
    assert_error(&response, 401, "invalid_client");
    assert!(response.header("www-authenticate").is_some());
}

#[test]
fn dg_03_client_not_allowed_the_grant_is_unauthorized_client() {
    let h = Harness::new();
    assert_error(
        &h.device_authorization("client_id=web-app&scope=profile"),
        400,
        "unauthorized_client",
    );
    // And at the token endpoint, too.
    assert_error(&h.poll("web-app", "whatever"), 400, "unauthorized_client");
}

#[test]
fn dg_03_scope_not_allowed_or_malformed_is_invalid_scope() {
    let h = Harness::new();
    for body in [
        "client_id=tv&scope=admin",
        "client_id=tv&scope=profile%20admin",
        "client_id=tv&scope=PROFILE",
        "client_id=tv&scope=pro%22file",
        "client_id=1406020730", // no default scope
    ] {
        let response = h.device_authorization(body);
        assert_error(&response, 400, "invalid_scope");
        let description = json(&response)["error_description"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(!description.contains('"'));
    }
}

#[test]
fn dg_03_grant_not_enabled_is_unsupported_grant_type() {
    let server = server_builder().build().unwrap();
    let response = block_on(server.device_authorization(&form_post("client_id=tv"))).unwrap();
    assert_error(&response, 400, "unsupported_grant_type");
    let poll = form_post(format!(
        "grant_type={DEVICE_GRANT_ENCODED}&device_code=x&client_id=tv"
    ));
    assert_error(
        &block_on(server.token(&poll)).unwrap(),
        400,
        "unsupported_grant_type",
    );
    assert!(server.device_verifier().is_none());
    assert!(!server.grant_types().any(|g| g == DEVICE_GRANT));
    assert_eq!(server.device_authorization_endpoint(), None);
    assert_eq!(server.device_verification_uri(), None);
}

// ---------------------------------------------------------------- DG-04: device codes

#[test]
fn dg_04_device_codes_are_unique_256_bit_and_stored_only_as_digests() {
    let store = Arc::new(MemoryDeviceStore::new());
    let h = Harness::with_store(store.clone(), |b| b);
    let mut seen = HashSet::new();
    for _ in 0..10_000 {
        let (device_code, _) = h.start("tv");
        assert!(device_code.len() >= 43, "{device_code}");
        assert!(
            device_code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(seen.insert(device_code));
    }
    assert_eq!(store.len(), 10_000);
    // The store knows the digest, never the value.
    let sample = seen.iter().next().unwrap();
    assert!(
        block_on(store.find(&TokenHash::of(sample)))
            .unwrap()
            .is_some()
    );
    let shown = format!("{store:?}");
    assert!(!shown.contains(sample.as_str()));
}

#[test]
fn dg_04_device_code_is_bound_to_the_requesting_client() {
    let h = Harness::new();
    let (device_code, user_code) = h.start("tv");
    h.approve(&user_code);
    // Another client presenting it: invalid_grant, and it does not use it up.
    assert_error(&h.poll("tv2", &device_code), 400, "invalid_grant");
    assert_eq!(h.poll("tv", &device_code).status, Status::OK);
}

/// DG-09 and AC-06 for the device grant: RFC 8628 §3.4 requires `client_id` from a client
/// that does not authenticate, so a poll naming no client is `invalid_request`, and it uses nothing up.
#[test]
fn dg_09_ac_06_poll_without_client_id_is_invalid_request() {
    let h = Harness::new();
    let (device_code, user_code) = h.start("tv");
    h.approve(&user_code);
    let response = h.token(&form_post(format!(
        "grant_type={DEVICE_GRANT_ENCODED}&device_code={device_code}"
    )));
    assert_error(&response, 400, "invalid_request");
    assert_eq!(h.poll("tv", &device_code).status, Status::OK);
}

// ---------------------------------------------------------------- DG-05: user codes

#[test]
fn dg_05_user_codes_are_base20_xxxx_xxxx() {
    let h = Harness::new();
    for _ in 0..1000 {
        let (_, user_code) = h.start("tv");
        let bytes = user_code.as_bytes();
        assert_eq!(bytes.len(), 9, "{user_code}");
        assert_eq!(bytes[4], b'-');
        assert!(
            bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || BASE20.as_bytes().contains(b))
        );
    }
}

#[test]
fn dg_05_v_dev_1_format_is_configurable_with_documented_entropy() {
    assert!((UserCodeFormat::default().entropy_bits() - 34.58).abs() < 0.01);
    assert!((UserCodeFormat::digits().entropy_bits() - 29.90).abs() < 0.01);
    let h = Harness::with(|b| b.user_code_format(UserCodeFormat::digits()));
    let (_, user_code) = h.start("tv");
    assert_eq!(user_code.len(), 11);
    assert!(
        user_code
            .bytes()
            .enumerate()
            .all(|(i, b)| if i == 3 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            })
    );
    // The digits format finds the code however it is typed.
    let pending = verify(&h, &user_code.replace('-', " "), "k").unwrap();
    assert_eq!(pending.user_code(), user_code);
    drop(block_on(pending.deny()));
    let custom = UserCodeFormat::new("BCDFGHJKLMNPQRSTVWXZ", 10)
        .unwrap()
        .with_group(5);
    let h = Harness::with(|b| b.user_code_format(custom));
    let (_, user_code) = h.start("tv");
    assert_eq!(user_code.len(), 11);
    assert_eq!(&user_code[5..6], "-");
    // Too weak a format is refused.
    assert!(UserCodeFormat::new("0123456789", 8).is_err());
}

#[test]
fn v_dev_3_guessing_budget_of_the_default_format() {
    let p = 5.0 * 2f64.powf(-UserCodeFormat::default().entropy_bits());
    assert!((p - 1.95e-10).abs() < 0.01e-10, "{p}");
    assert!((p.log2() + 32.25).abs() < 0.01);
}

// ---------------------------------------------------------------- DG-06: normalisation

#[test]
fn dg_06_v_dev_2_every_spelling_reaches_the_same_request() {
    let h = Harness::new();
    insert_known(&h, "WDJBMJHT");
    for input in [
        "WDJB-MJHT",
        "wdjb-mjht",
        "wdjb mjht",
        " WDJB\u{2013}MJHT ",
        "WDJBMJHT",
        "w.d.j.b/m_j_h_t",
    ] {
        // One limiter key per spelling: every entry counts against its key (DG-07).
        let pending = verify(&h, input, input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(pending.user_code(), "WDJB-MJHT");
        assert_eq!(pending.client_id().as_str(), "tv");
    }
}

#[test]
fn dg_06_malformed_user_codes_are_refused_without_panicking() {
    let h = Harness::with(|b| {
        b.user_code_limiter(Arc::new(MemoryAttemptLimiter::new(
            1000,
            Duration::from_secs(600),
        )))
    });
    insert_known(&h, "WDJBMJHT");
    let long = "B".repeat(100_000);
    for input in [
        "",
        "   ",
        "WDJB-MJH",
        "WDJB-MJHTB",
        "WDJA-MJHT", // 'A' is outside the alphabet: 7 significant characters
        "ЖЖЖЖ-ЖЖЖЖ",
        "\u{0}\u{7f}\u{202e}",
        "WDJB-MJHT-WDJB-MJHT",
        long.as_str(),
    ] {
        assert_invalid_user_code(verify(&h, input, "k"));
    }
}

// ---------------------------------------------------------------- DG-07: rate limit

/// DG-07 with the **default** guard: the harness configures no user-code limiter, so this
/// is `ServerBuilder`'s own 5 entries per 10 minutes.
#[test]
fn dg_07_sixth_wrong_entry_in_the_window_is_blocked() {
    let h = Harness::new();
    insert_known(&h, "WDJBMJHT");
    for guess in ["BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "FFFFFFFF", "GGGGGGGG"] {
        assert_invalid_user_code(verify(&h, guess, "ip:203.0.113.7"));
    }
    // The 6th entry is blocked, even the right code: no lookup is made.
    assert!(matches!(
        verify(&h, "WDJB-MJHT", "ip:203.0.113.7"),
        Err(DeviceVerificationError::Throttled { retry_after }) if retry_after <= Duration::from_secs(600)
    ));
    // Other keys are not affected.
    assert!(verify(&h, "WDJB-MJHT", "ip:198.51.100.1").is_ok());
    // After the window, entries are accepted again.
    h.advance(600);
    insert_known(&h, "HHHHHHHH");
    assert!(verify(&h, "HHHH-HHHH", "ip:203.0.113.7").is_ok());
}

#[test]
fn dg_07_a_right_code_does_not_refresh_the_guessing_budget() {
    let h = Harness::new();
    insert_known(&h, "WDJBMJHT");
    let mut wrong_answers = 0;
    for round in 0..4 {
        for _ in 0..2 {
            if matches!(
                verify(&h, "BBBBBBBB", "attacker"),
                Err(DeviceVerificationError::InvalidUserCode)
            ) {
                wrong_answers += 1;
            }
        }
        // The attacker's own valid code, entered between guesses, clears nothing: once
        // the 5 wrong entries are used up (during round 2), even it is refused.
        let result = verify(&h, "WDJBMJHT", "attacker");
        assert_eq!(result.is_ok(), round < 2, "round {round}");
    }
    assert_eq!(wrong_answers, 5);
}

/// The honest side of DG-07: right entries count nothing, so a user who connects one
/// device after another (each code looked up twice: to show it, then to decide) is never
/// told "too many codes", even after a typo or two.
#[test]
fn dg_07_an_honest_user_connecting_many_devices_is_never_locked_out() {
    let h = Harness::new();
    for n in 0..10 {
        let (_, user_code) = h.start("tv");
        if n % 4 == 0 {
            assert_invalid_user_code(verify(&h, "BBBBBBBB", "session:alice"));
        }
        let shown = verify(&h, &user_code, "session:alice").expect("the page shows it");
        drop(shown);
        let decided = verify(&h, &user_code, "session:alice").expect("the decision finds it");
        block_on(decided.deny()).unwrap();
    }
}

#[test]
fn dg_07_flood_of_guesses_stays_blocked() {
    let h = Harness::new();
    let (_, user_code) = h.start("tv");
    let mut refused = 0;
    for n in 0..10_000u32 {
        let guess = format!("{:08}", n).replace(|c: char| c.is_ascii_digit(), "B");
        if matches!(
            verify(&h, &guess, "flood"),
            Err(DeviceVerificationError::Throttled { .. })
        ) {
            refused += 1;
        }
    }
    assert_eq!(refused, 10_000 - 5);
    // The real user, on another key, is unaffected.
    assert!(verify(&h, &user_code, "session:alice").is_ok());
}

// ---------------------------------------------------------------- DG-08: verification

#[test]
fn dg_08_verification_shows_client_scope_and_code_and_never_approves_by_itself() {
    let h = Harness::new();
    let body = json(&h.device_authorization("client_id=tv&scope=profile%20videos"));
    let device_code = body["device_code"].as_str().unwrap();
    // The user arrives through verification_uri_complete; the host reads `user_code`.
    let complete = url::Url::parse(body["verification_uri_complete"].as_str().unwrap()).unwrap();
    let (name, from_link) = complete.query_pairs().next().unwrap();
    assert_eq!(name, "user_code");
    let pending = verify(&h, &from_link, "session:alice").unwrap();
    assert_eq!(pending.user_code(), body["user_code"]);
    assert_eq!(pending.client_name(), Some("Living room TV"));
    assert_eq!(pending.client_id().as_str(), "tv");
    assert_eq!(pending.requested_scope().as_str(), "profile videos");
    assert!(pending.expires_at() > grantflow::clock::Clock::now(&h.clock));
    // Looking it up approves nothing: the device is still waiting.
    drop(pending);
    h.advance(5);
    assert_error(&h.poll("tv", device_code), 400, "authorization_pending");
    // Debug output does not show the user code.
    let pending = verify(&h, &from_link, "session:alice").unwrap();
    assert!(!format!("{pending:?}").contains(body["user_code"].as_str().unwrap()));
}

#[test]
fn dg_08_user_may_narrow_but_not_widen_the_scope() {
    let h = Harness::new();
    let body = json(&h.device_authorization("client_id=tv&scope=profile"));
    let user_code = body["user_code"].as_str().unwrap();
    let pending = verify(&h, user_code, "s").unwrap();
    assert!(matches!(
        approve_as(pending, "alice", "profile videos"),
        Err(DeviceVerificationError::ScopeNotRequested)
    ));
    // Narrowing a two-scope request is reported in the token response (SC-04).
    let body = json(&h.device_authorization("client_id=tv&scope=profile%20videos"));
    let pending = verify(&h, body["user_code"].as_str().unwrap(), "s").unwrap();
    approve_as(pending, "alice", "videos").unwrap();
    let response = h.poll("tv", body["device_code"].as_str().unwrap());
    assert_eq!(response.status, Status::OK);
    assert_eq!(json(&response)["scope"], "videos");
}

#[test]
fn dg_08_a_decided_or_expired_request_cannot_be_decided_again() {
    let h = Harness::new();
    let (_, user_code) = h.start("tv");
    let first = verify(&h, &user_code, "s").unwrap();
    let second = verify(&h, &user_code, "s").unwrap();
    block_on(first.deny()).unwrap();
    assert!(matches!(
        approve_as(second, "mallory", "profile"),
        Err(DeviceVerificationError::NoLongerPending)
    ));
    // Once decided, the user code no longer resolves.
    assert_invalid_user_code(verify(&h, &user_code, "s"));
    let (_, user_code) = h.start("tv");
    let pending = verify(&h, &user_code, "s").unwrap();
    h.advance(600);
    assert!(matches!(
        approve_as(pending, "alice", "profile"),
        Err(DeviceVerificationError::NoLongerPending)
    ));
    assert_invalid_user_code(verify(&h, &user_code, "s"));
}

// ---------------------------------------------------------------- DG-09: polling

#[test]
fn dg_09_poll_before_approval_is_authorization_pending() {
    let h = Harness::new();
    let (device_code, _) = h.start("tv");
    let response = h.poll("tv", &device_code);
    assert_eq!(response.status, Status::BAD_REQUEST);
    assert_token_headers(&response);
    assert_eq!(json(&response), json!({"error": "authorization_pending"}));
}

#[test]
fn dg_09_v_dev_5_example_exchange() {
    let h = Harness::new();
    let response = h.device_authorization("client_id=1406020730&scope=example_scope");
    let body = json(&response);
    let device_code = body["device_code"].as_str().unwrap();
    let poll = form_post(format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={device_code}&client_id=1406020730"
    ));
    assert_error(&h.token(&poll), 400, "authorization_pending");
    h.approve(body["user_code"].as_str().unwrap());
    h.advance(5);
    let response = h.token(&poll);
    assert_eq!(response.status, Status::OK);
    assert_token_headers(&response);
    let tokens = json(&response);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "example_scope");
    assert!(tokens["expires_in"].is_u64());
}

#[test]
fn dg_09_missing_device_code_is_invalid_request() {
    let h = Harness::new();
    let response = h.token(&form_post(format!(
        "grant_type={DEVICE_GRANT_ENCODED}&client_id=tv"
    )));
    assert_error(&response, 400, "invalid_request");
    // A device code in the URL query is refused outright.
    let (device_code, _) = h.start("tv");
    let request = form_post(format!("grant_type={DEVICE_GRANT_ENCODED}&client_id=tv"))
        .with_query(format!("device_code={device_code}"));
    assert_error(&h.token(&request), 400, "invalid_request");
}

// ---------------------------------------------------------------- DG-10: slow_down

#[test]
fn dg_10_v_dev_4_slow_down_timeline() {
    let h = Harness::new();
    let (device_code, _) = h.start("tv");
    // Polls at t = 0, 2, 8 and 23 s: each step is the wait since the previous poll.
    let mut answers = Vec::new();
    for wait in [0, 2, 6, 15] {
        h.advance(wait);
        answers.push(h.polled(&device_code));
    }
    assert_eq!(
        answers,
        [
            "authorization_pending",
            "slow_down",
            "slow_down",
            "authorization_pending"
        ]
    );
    let response = h.poll("tv", &device_code);
    assert_eq!(json(&response), json!({"error": "slow_down"}));
    assert_token_headers(&response);
}

#[test]
fn dg_10_v_dev_4_approved_device_gets_tokens_at_t23() {
    let h = Harness::new();
    let (device_code, user_code) = h.start("tv");
    assert_eq!(h.polled(&device_code), "authorization_pending");
    h.approve(&user_code);
    h.advance(2);
    assert_eq!(h.polled(&device_code), "slow_down");
    h.advance(6);
    assert_eq!(h.polled(&device_code), "slow_down");
    h.advance(14);
    // 14 s < 15 s: still too fast, even though approved.
    assert_eq!(h.polled(&device_code), "slow_down");
    h.advance(20);
    assert_eq!(h.polled(&device_code), "ok");
}

#[test]
fn dg_10_flood_of_polls_keeps_growing_the_interval() {
    let h = Harness::new();
    let (device_code, _) = h.start("tv");
    let mut counts = std::collections::HashMap::new();
    for _ in 0..100 {
        *counts.entry(h.polled(&device_code)).or_insert(0) += 1;
    }
    assert_eq!(counts.get("authorization_pending"), Some(&1));
    assert_eq!(counts.get("slow_down"), Some(&99));
    // The interval is now 5 + 99 × 5 = 500 s.
    h.advance(499);
    assert_eq!(h.polled(&device_code), "slow_down");
    h.advance(505); // past the 505 s interval, but the code lived 600 s: expired now.
    assert_eq!(h.polled(&device_code), "expired_token");
}

#[test]
fn dg_10_foreign_polls_do_not_slow_the_real_client_down() {
    let h = Harness::new();
    let (device_code, _) = h.start("tv");
    assert_eq!(h.polled(&device_code), "authorization_pending");
    for _ in 0..10 {
        assert_eq!(outcome(&h.poll("tv2", &device_code)), "invalid_grant");
    }
    h.advance(5);
    assert_eq!(h.polled(&device_code), "authorization_pending");
}

// ---------------------------------------------------------------- DG-11: end states

#[test]
fn dg_11_denied_request_gets_access_denied() {
    let h = Harness::new();
    let (device_code, user_code) = h.start("tv");
    block_on(verify(&h, &user_code, "s").unwrap().deny()).unwrap();
    assert_error(&h.poll("tv", &device_code), 400, "access_denied");
    // Final: it stays denied, fast polls or not.
    assert_error(&h.poll("tv", &device_code), 400, "access_denied");
    assert!(h.tokens.is_empty());
}

#[test]
fn dg_11_approving_an_empty_scope_denies() {
    // Granting nothing is a refusal, as at the authorization endpoint: never tokens for an
    // empty scope.
    let h = Harness::new();
    let (device_code, user_code) = h.start("tv");
    let pending = verify(&h, &user_code, "s").unwrap();
    block_on(pending.approve(Subject::new("alice"), Scope::empty())).unwrap();
    assert_error(&h.poll("tv", &device_code), 400, "access_denied");
    assert!(h.tokens.is_empty());
}

#[test]
fn dg_11_expired_device_code_gets_expired_token() {
    let h = Harness::new();
    let (device_code, user_code) = h.start("tv");
    h.advance(599);
    assert_eq!(h.polled(&device_code), "authorization_pending");
    h.advance(1);
    assert_error(&h.poll("tv", &device_code), 400, "expired_token");
    // An approval that comes too late changes nothing.
    assert_invalid_user_code(verify(&h, &user_code, "s"));
    h.advance(10);
    assert_error(&h.poll("tv", &device_code), 400, "expired_token");
}

#[test]
fn dg_11_approved_but_expired_gets_expired_token() {
    let h = Harness::new();
    let (device_code, user_code) = h.start("tv");
    h.approve(&user_code);
    h.advance(600);
    assert_error(&h.poll("tv", &device_code), 400, "expired_token");
    assert!(h.tokens.is_empty());
}

#[test]
fn dg_11_approved_device_gets_tokens_once() {
    let h = Harness::new();
    let (device_code, user_code) = h.start("tv");
    h.approve(&user_code);
    let response = h.poll("tv", &device_code);
    assert_eq!(response.status, Status::OK);
    assert_token_headers(&response);
    let body = json(&response);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "profile");
    assert_eq!(body["expires_in"], json!(3600));
    assert!(body["refresh_token"].is_string());
    // The access token belongs to alice, for client tv.
    let access = TokenHash::of(body["access_token"].as_str().unwrap());
    let record = block_on(h.tokens.find(&access)).unwrap().unwrap();
    assert_eq!(record.subject, Some(Subject::new("alice")));
    assert_eq!(record.client_id.as_str(), "tv");
    assert_eq!(h.tokens.len(), 2);
}

#[test]
fn dg_11_second_poll_after_success_is_invalid_grant_and_revokes_the_grant() {
    let h = Harness::new();
    let (device_code, user_code) = h.start("tv");
    h.approve(&user_code);
    assert_eq!(h.poll("tv", &device_code).status, Status::OK);
    assert_eq!(h.tokens.len(), 2);
    h.advance(5);
    assert_error(&h.poll("tv", &device_code), 400, "invalid_grant");
    // The replay revoked what the device code had produced (DESIGN decision 3).
    assert!(h.tokens.is_empty());
    h.advance(5);
    assert_error(&h.poll("tv", &device_code), 400, "invalid_grant");
}

#[test]
fn dg_11_replay_between_redeem_and_issue_still_revokes() {
    let (builder, gate) = Harness::builder(clients()).parked(Park::Insert);
    let h = builder
        .device_store(Arc::new(MemoryDeviceStore::new()))
        .build(|b| b);
    let (device_code, user_code) = h.start("tv");
    h.approve(&user_code);
    let poll = form_post(poll_body(&device_code, "tv"));
    // The first poll redeems the device code and waits before storing its tokens;
    // meanwhile the replay finds the code redeemed and revokes the grant, which has no
    // token yet.
    let replay = async {
        h.advance(5);
        h.server.token(&poll).await.unwrap()
    };
    let (first, replay) = gate.interleave(&h.server, poll.clone(), replay);
    assert_error(&replay, 400, "invalid_grant");
    assert_error(&first, 400, "invalid_grant");
    assert_eq!(
        json(&first),
        json!({"error": "invalid_grant", "error_description": "the grant was revoked"})
    );
    assert!(
        h.tokens.is_empty(),
        "no token of the revoked grant is stored"
    );
}

#[test]
fn dg_11_no_refresh_token_for_a_client_without_the_refresh_grant() {
    let h = Harness::new();
    let (device_code, user_code) = h.start("no-refresh-tv");
    h.approve(&user_code);
    let body = json(&h.poll("no-refresh-tv", &device_code));
    assert!(body["access_token"].is_string());
    assert!(body.get("refresh_token").is_none());
}

#[test]
fn dg_11_unknown_reused_and_foreign_device_codes_are_invalid_grant() {
    let h = Harness::new();
    for code in [
        "unknown",
        "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
        &"x".repeat(4000),
    ] {
        assert_error(&h.poll("tv", code), 400, "invalid_grant");
    }
    let (device_code, user_code) = h.start("tv");
    h.approve(&user_code);
    assert_error(&h.poll("tv2", &device_code), 400, "invalid_grant");
    // The user code is not a device code.
    assert_error(&h.poll("tv", &user_code), 400, "invalid_grant");
    assert_eq!(h.poll("tv", &device_code).status, Status::OK);
    h.advance(5);
    assert_error(&h.poll("tv", &device_code), 400, "invalid_grant");
    assert_error(&h.poll("tv2", &device_code), 400, "invalid_grant");
}

#[test]
fn dg_11_expired_records_answer_for_a_while_then_are_purged() {
    let store = Arc::new(MemoryDeviceStore::new().with_retention(Duration::from_secs(300)));
    let h = Harness::with_store(store.clone(), |b| b);
    let (device_code, _) = h.start("tv");
    h.advance(600 + 299);
    assert_eq!(h.polled(&device_code), "expired_token");
    h.advance(1);
    h.start("tv"); // any insert purges a few old records
    assert_eq!(store.len(), 1);
    assert_eq!(h.polled(&device_code), "invalid_grant");
}

#[test]
fn dg_11_concurrent_redemptions_succeed_exactly_once() {
    let runtime = runtime(2);
    let store = Arc::new(MemoryDeviceStore::new());
    let client = ClientId::new("tv").unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for round in 0..20 {
        let code = insert_record(&store, "profile", &format!("R{round}"), now);
        let approve = grantflow::store::DeviceDecision::Approve {
            subject: Subject::new("alice"),
            scope: Scope::parse("profile").unwrap(),
        };
        assert!(block_on(store.decide(&code.hash(), approve, now)).unwrap());
        let hash = code.hash();
        let results = race(&runtime, 8, |_| {
            let (store, client) = (store.clone(), client.clone());
            async move { store.redeem(&hash, &client).await.unwrap() }
        });
        let wins = results
            .iter()
            .filter(|r| matches!(r, DeviceRedemption::Redeemed(_)))
            .count();
        assert_eq!(wins, 1);
        assert!(results.iter().all(|r| matches!(
            r,
            DeviceRedemption::Redeemed(_) | DeviceRedemption::AlreadyRedeemed { .. }
        )));
    }
}

#[test]
fn dg_11_concurrent_polls_of_an_approved_code_never_issue_twice() {
    let runtime = runtime(2);
    for _ in 0..10 {
        let h = Harness::new();
        let (device_code, user_code) = h.start("tv");
        h.approve(&user_code);
        let outcomes = race(&runtime, 8, |_| {
            let (server, request) = (h.server.clone(), form_post(poll_body(&device_code, "tv")));
            async move { outcome(&server.token(&request).await.unwrap()) }
        });
        assert!(
            outcomes
                .iter()
                .all(|o| ["ok", "slow_down", "invalid_grant"].contains(&o.as_str()))
        );
        let ok = outcomes.iter().filter(|o| *o == "ok").count();
        if outcomes.iter().any(|o| o == "invalid_grant") {
            // A poll that found the code already redeemed is a replay: it revokes the
            // grant, whether or not the winner had stored its tokens yet (DG-11 with the
            // DESIGN decision 3 replay rule). Never two successes, and nothing stays live.
            assert!(ok <= 1, "{outcomes:?}");
            assert_eq!(h.tokens.len(), 0, "{outcomes:?}");
        } else {
            assert_eq!(ok, 1, "{outcomes:?}");
        }
    }
}

// ---------------------------------------------------------------- DG-12: metadata hooks

#[test]
fn dg_12_verification_uri_has_no_query_string() {
    let h = Harness::new();
    let body = json(&h.device_authorization("client_id=tv"));
    let uri = url::Url::parse(body["verification_uri"].as_str().unwrap()).unwrap();
    assert_eq!(uri.query(), None);
    assert_eq!(uri.fragment(), None);
    assert!(
        !body["verification_uri"]
            .as_str()
            .unwrap()
            .contains(body["user_code"].as_str().unwrap())
    );
    // A configured URI with a query is refused.
    let uri = "https://as.example.com/device?user_code=WDJBMJHT";
    assert!(
        device_server()
            .device_verification_uri(uri)
            .build()
            .is_err()
    );
}

#[test]
fn dg_12_metadata_hooks_expose_the_endpoint_and_the_grant_type() {
    let h = Harness::new();
    assert_eq!(
        h.server.device_authorization_endpoint(),
        Some("https://as.example.com/device_authorization")
    );
    assert_eq!(
        h.server.device_verification_uri(),
        Some("https://as.example.com/device")
    );
    assert!(h.server.grant_types().any(|g| g == DEVICE_GRANT));
    let h =
        Harness::with(|b| b.device_authorization_endpoint("https://as.example.com/oauth/device"));
    assert_eq!(
        h.server.device_authorization_endpoint(),
        Some("https://as.example.com/oauth/device")
    );
}

// ---------------------------------------------------------------- bad input

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn dg_01_arbitrary_bodies_get_a_json_answer(body in "[a-z_=&%0-9A-F ]{0,200}") {
        let h = Harness::new();
        let response = h.device_authorization(&body);
        proptest::prop_assert!([200, 400, 401].contains(&response.status.as_u16()));
        assert_token_headers(&response);
        proptest::prop_assert!(json(&response).is_object());
    }

    #[test]
    fn dg_06_arbitrary_user_code_input_never_panics(input in "\\PC{0,200}") {
        let h = Harness::new();
        let result = verify(&h, &input, "fuzz");
        proptest::prop_assert!(matches!(result, Err(DeviceVerificationError::InvalidUserCode)));
    }

    #[test]
    fn dg_11_arbitrary_device_codes_are_invalid_grant(code in "[A-Za-z0-9_-]{0,100}") {
        let h = Harness::new();
        let response = h.poll("tv", &code);
        let expected = if code.is_empty() { "invalid_request" } else { "invalid_grant" };
        proptest::prop_assert_eq!(outcome(&response), expected);
    }
}

// ---------------------------------------------------------------- type properties

#[test]
fn device_types_are_object_safe_send_and_redacted() {
    fn _object_safe(_: &dyn DeviceStore) {}
    fn assert_send<T: Send>(_: &T) {}
    let h = Harness::new();
    let request = form_post("client_id=tv");
    assert_send(&h.server.device_authorization(&request));
    let verifier = h.server.device_verifier().unwrap();
    assert_send(&verifier.verify(EnteredUserCode::new("x"), "k"));
    let code = DeviceCode::generate();
    assert!(!format!("{code:?}").contains(code.expose_secret()));
}
