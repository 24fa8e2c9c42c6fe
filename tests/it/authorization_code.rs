//! The authorization code grant at the token endpoint: AC-01..AC-08, MX-02, and the
//! concurrency of redemption.

use crate::support::faults::FailingCodes;
use crate::support::parked::Park;
use crate::support::race::{race, runtime};

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::authz::*;
use grantflow::clock::Clock as _;
use grantflow::secret::TokenHash;
use grantflow::store::Redemption;
use grantflow::store::TokenStore as _;

use grantflow::*;

#[test]
fn ac_01_pk_01_code_exchange_response_is_exact() {
    let h = harness();
    let code = h.code_for("app");
    let response = h.exchange("app", &code);
    assert_eq!(response.status, Status::OK);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
    let body = json_map(&response);
    let keys: Vec<&str> = body.keys().map(String::as_str).collect();
    assert_eq!(keys, TOKEN_MEMBERS);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read");
    // The tokens are stored under their digests, with the subject who approved.
    let access = body["access_token"].as_str().unwrap();
    let record = block_on(h.tokens.find(&TokenHash::of(access)))
        .unwrap()
        .unwrap();
    assert_eq!(record.subject, Some(Subject::new("alice")));
    assert_eq!(record.client_id.as_str(), "app");
}

#[test]
fn ac_01_a_code_is_redeemed_once() {
    let h = harness();
    let code = h.code_for("app");
    assert_eq!(h.exchange("app", &code).status, Status::OK);
    assert_token_error(&h.exchange("app", &code), 400, "invalid_grant");
}

#[test]
fn ac_02_replayed_code_revokes_every_token_of_the_grant() {
    let h = harness();
    let code = h.code_for("app");
    let first = json(&h.exchange("app", &code));
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert!(h.is_live(access));
    assert_token_error(&h.exchange("app", &code), 400, "invalid_grant");
    assert!(!h.is_live(access));
    assert_token_error(&h.refresh("app", refresh, None), 400, "invalid_grant");
}

#[test]
fn ac_02_replay_by_the_authenticated_confidential_client_revokes() {
    let h = harness();
    let code = h.code_for("conf");
    let body = format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}");
    let first = h.token_basic("conf", CONF_SECRET, &body);
    assert_eq!(first.status, Status::OK);
    let access = json(&first)["access_token"].as_str().unwrap().to_owned();
    assert_token_error(
        &h.token_basic("conf", CONF_SECRET, &body),
        400,
        "invalid_grant",
    );
    assert!(!h.is_live(&access));
}

#[test]
fn ac_02_replay_between_redeem_and_issue_still_revokes() {
    let (builder, gate) = Harness::builder(clients()).parked(Park::Insert);
    let h = builder.build(|b| b);
    let code = h.code_for("app");
    let body =
        format!("grant_type=authorization_code&code={code}&client_id=app&code_verifier={VERIFIER}");
    // The first exchange redeems the code and waits before storing its tokens; meanwhile
    // the replay finds the code used and revokes the grant, which has no token yet.
    let replay = async { h.server.token(&post_form(&body)).await.unwrap() };
    let (first, replay) = gate.interleave(&h.server, post_form(&body), replay);
    assert_token_error(&replay, 400, "invalid_grant");
    assert_eq!(json(&replay)["error_description"], "code already used");
    // The first exchange's tokens are refused: the revocation still wins.
    assert_token_error(&first, 400, "invalid_grant");
    let body = json_map(&first);
    assert_eq!(body["error_description"], "the grant was revoked");
    assert!(!body.contains_key("access_token"));
    assert!(!body.contains_key("refresh_token"));
    assert!(
        h.tokens.is_empty(),
        "no token of the revoked grant is stored"
    );
    // A fresh code of the same client still works.
    let code = h.code_for("app");
    assert_eq!(h.exchange("app", &code).status, Status::OK);
    assert_eq!(h.tokens.len(), 2);
}

#[test]
fn ac_03_replay_failing_pkce_does_not_revoke() {
    let h = harness();
    let code = h.code_for("app");
    let access = json(&h.exchange("app", &code))["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let replay = h.token(&format!(
        "grant_type=authorization_code&code={code}&client_id=app&code_verifier={wrong}"
    ));
    assert_token_error(&replay, 400, "invalid_grant");
    // No verifier at all: refused, still no revocation.
    let replay = h.token(&format!(
        "grant_type=authorization_code&code={code}&client_id=app"
    ));
    assert_token_error(&replay, 400, "invalid_request");
    assert!(h.is_live(&access));
}

#[test]
fn ac_03_replay_failing_client_authentication_does_not_revoke() {
    let h = harness();
    let code = h.code_for("conf");
    let body = format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}");
    let access = json(&h.token_basic("conf", CONF_SECRET, &body))["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_token_error(
        &h.token_basic("conf", "wrong-secret", &body),
        401,
        "invalid_client",
    );
    // Another (public) client presenting the code: binding fails, no revocation.
    let other = h.exchange("app", &code);
    assert_token_error(&other, 400, "invalid_grant");
    assert!(h.is_live(&access));
}

/// AC-04 with AC-02: of 64 concurrent redemptions of one code, exactly one redeems it and
/// never two succeed. The 63 others are replays that pass client authentication and PKCE,
/// so they revoke the grant (AC-02); the tombstone they leave refuses the winner's tokens
/// if the winner has not stored them yet, and `revoke_grant` removes them if it has. Either
/// way no token of the grant is live afterwards, and at most one response was a 200.
#[test]
fn ac_04_64_concurrent_redemptions_never_give_two_successes() {
    let h = harness();
    let code = h.code_for("app");
    let body =
        format!("grant_type=authorization_code&code={code}&client_id=app&code_verifier={VERIFIER}");
    let responses = race(&runtime(4), 64, |_| {
        let (server, request) = (h.server.clone(), post_form(&body));
        async move { server.token(&request).await.unwrap() }
    });
    let mut statuses = Vec::new();
    for response in responses {
        if response.status != Status::OK {
            assert_eq!(json(&response)["error"], "invalid_grant");
        }
        statuses.push(response.status.as_u16());
    }
    let successes = statuses.iter().filter(|s| **s == 200).count();
    assert!(successes <= 1, "{successes} successes");
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        64 - successes
    );
    assert_eq!(h.tokens.len(), 0, "a replayed code leaves no live token");
}

#[test]
fn ac_05_expired_code_is_invalid_grant() {
    let h = harness();
    let code = h.code_for("app");
    h.clock.advance(Duration::from_secs(60));
    assert_token_error(&h.exchange("app", &code), 400, "invalid_grant");
    // Within the lifetime it works.
    let code = h.code_for("app");
    h.clock.advance(Duration::from_secs(59));
    assert_eq!(h.exchange("app", &code).status, Status::OK);
}

#[test]
fn ac_05_code_ttl_is_configurable_up_to_ten_minutes() {
    let h = harness_with(|b| b.code_ttl(Duration::from_secs(600)));
    let code = h.code_for("app");
    h.clock.advance(Duration::from_secs(599));
    assert_eq!(h.exchange("app", &code).status, Status::OK);
    let build = |ttl| {
        Server::builder(ISSUER, clients(), Arc::new(MemoryTokenStore::new()))
            .code_ttl(ttl)
            .build()
    };
    assert!(build(Duration::from_secs(601)).is_err());
    assert!(build(Duration::ZERO).is_err());
}

#[test]
fn ac_05_memory_code_store_purges_expired_codes() {
    let h = harness();
    for _ in 0..50 {
        h.code_for("app");
    }
    assert_eq!(h.codes.len(), 50);
    h.clock.advance(Duration::from_secs(61));
    for _ in 0..20 {
        h.code_for("app");
    }
    assert!(h.codes.len() < 50, "{}", h.codes.len());
    assert_eq!(h.codes.purge_expired(h.clock.now()), h.codes.len() - 20);
    assert_eq!(h.codes.len(), 20);
}

#[test]
fn ac_06_another_clients_code_is_invalid_grant() {
    let h = harness();
    let code = h.code_for("app");
    assert_token_error(&h.exchange("app2", &code), 400, "invalid_grant");
    // The code is used up by the failed attempt, but nothing was issued to revoke.
    assert_token_error(&h.exchange("app", &code), 400, "invalid_grant");
}

#[test]
fn ac_06_confidential_client_must_authenticate() {
    let h = harness();
    let code = h.code_for("conf");
    let response = h.exchange("conf", &code);
    assert_token_error(&response, 401, "invalid_client");
    let response = h.token_basic(
        "conf",
        CONF_SECRET,
        &format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"),
    );
    assert_eq!(response.status, Status::OK);
}

#[test]
fn ac_06_public_client_without_client_id_is_invalid_request() {
    // RFC 6749 §3.2.1, §4.1.3: a client that does not authenticate must send its
    // client_id, so a request with no client identification at all lacks a required
    // parameter: 400 invalid_request, before the code is looked at.
    let h = harness();
    let code = h.code_for("app");
    let response = h.token(&format!(
        "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"
    ));
    assert_eq!(response.status, Status::BAD_REQUEST);
    let body = json(&response);
    assert_eq!(body["error"], "invalid_request");
    assert!(body.get("access_token").is_none());
    // The code was not consumed.
    assert_eq!(h.exchange("app", &code).status, Status::OK);
}

#[test]
fn ac_06_te_07_a_failed_authentication_stays_invalid_client() {
    // Naming a client (here, a confidential one without its secret) is an authentication
    // attempt, and its failure is 401 invalid_client as at every grant (TE-07).
    let h = harness();
    let code = h.code_for("conf");
    let response = h.exchange("conf", &code);
    assert_eq!(response.status, Status::UNAUTHORIZED);
    assert_eq!(json(&response)["error"], "invalid_client");
}

#[test]
fn ac_07_redirect_uri_must_match_the_authorization_request() {
    let h = harness();
    let cb = enc("https://client.example.com/cb");
    let query = format!("response_type=code&client_id=app&redirect_uri={cb}&{PKCE}");
    let exchange = |code: &str, redirect: &str| {
        h.token(&format!(
            "grant_type=authorization_code&code={code}&client_id=app&code_verifier={VERIFIER}{redirect}"
        ))
    };
    let code = h.code_with(&query);
    let other = format!("&redirect_uri={}", enc("https://client.example.com/other"));
    assert_token_error(&exchange(&code, &other), 400, "invalid_grant");
    let code = h.code_with(&query);
    assert_eq!(
        exchange(&code, &format!("&redirect_uri={cb}")).status,
        Status::OK
    );
    // Left out: accepted, because the code is PKCE-bound (OAuth 2.1).
    let code = h.code_with(&query);
    assert_eq!(exchange(&code, "").status, Status::OK);
}

#[test]
fn ac_07_redirect_uri_sent_only_at_the_token_endpoint_must_be_registered() {
    let h = harness();
    let exchange = |code: &str, redirect: &str| {
        h.token(&format!(
            "grant_type=authorization_code&code={code}&client_id=app&code_verifier={VERIFIER}{redirect}"
        ))
    };
    // The authorization request left redirect_uri out (the client has one registered).
    for unregistered in [
        "https://evil.example/cb",
        "https://client.example.com/cb/",
        "https://client.example.com/other",
    ] {
        let code = h.code_for("app");
        let redirect = format!("&redirect_uri={}", enc(unregistered));
        assert_token_error(&exchange(&code, &redirect), 400, "invalid_grant");
    }
    let code = h.code_for("app");
    let registered = format!("&redirect_uri={}", enc("https://client.example.com/cb"));
    assert_eq!(exchange(&code, &registered).status, Status::OK);
    let code = h.code_for("app");
    assert_eq!(exchange(&code, "").status, Status::OK);
}

/// One rule for what burns a code: once a request that passed client authentication
/// presents it, every failure leaves it used, the malformed verifier (PK-07) included.
#[test]
fn ac_01_every_failed_redemption_burns_the_code() {
    let h = harness();
    let wrong = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let failures: [(String, &str); 5] = [
        (format!("&code_verifier={wrong}"), "invalid_grant"),
        (String::new(), "invalid_request"),
        (
            format!("&code_verifier={}", "a".repeat(42)),
            "invalid_request",
        ),
        (format!("&code_verifier={VERIFIER}%2B"), "invalid_request"),
        (
            format!(
                "&code_verifier={VERIFIER}&redirect_uri={}",
                enc("https://evil.example/cb")
            ),
            "invalid_grant",
        ),
    ];
    for (extra, error) in failures {
        let code = h.code_for("app");
        let attempt = h.token(&format!(
            "grant_type=authorization_code&code={code}&client_id=app{extra}"
        ));
        assert_token_error(&attempt, 400, error);
        // The honest redemption that follows finds the code used.
        assert_token_error(&h.exchange("app", &code), 400, "invalid_grant");
    }
    // Another client presenting it burns it too.
    let code = h.code_for("conf");
    let other = h.exchange("app", &code);
    assert_token_error(&other, 400, "invalid_grant");
    let body = format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}");
    assert_token_error(
        &h.token_basic("conf", CONF_SECRET, &body),
        400,
        "invalid_grant",
    );
}

/// The other half of the rule: a request refused before it reaches the code (failed
/// client authentication, a malformed request) leaves the code redeemable.
#[test]
fn ac_01_a_request_refused_before_the_code_leaves_it_alone() {
    let h = harness();
    let code = h.code_for("conf");
    let body = format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}");
    assert_token_error(
        &h.token_basic("conf", "wrong-secret", &body),
        401,
        "invalid_client",
    );
    assert_token_error(
        &h.token_basic("conf", CONF_SECRET, &format!("{body}&scope=a&scope=b")),
        400,
        "invalid_request",
    );
    assert_eq!(h.token_basic("conf", CONF_SECRET, &body).status, Status::OK);
}

#[test]
fn ac_07_without_pkce_a_missing_redirect_uri_is_invalid_request() {
    let h = harness();
    let cb = enc("https://exempt.example.com/cb");
    let code = h.code_with(&format!(
        "response_type=code&client_id=exempt&redirect_uri={cb}"
    ));
    let response = h.token_basic(
        "exempt",
        CONF_SECRET,
        &format!("grant_type=authorization_code&code={code}"),
    );
    assert_token_error(&response, 400, "invalid_request");
}

#[test]
fn ac_08_codes_are_unique_random_and_opaque() {
    let h = harness();
    let mut seen = HashSet::new();
    for _ in 0..10_000 {
        let pending = h
            .authorize(&format!("response_type=code&client_id=app&{PKCE}"))
            .unwrap();
        let response = h.approve(pending, "alice", "read");
        let code = location_param(&response, "code").unwrap();
        assert!(code.len() >= 43);
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(seen.insert(code));
    }
}

#[test]
fn ac_08_a_tampered_or_unknown_code_is_invalid_grant() {
    let h = harness();
    let code = h.code_for("app");
    let mut tampered = code.clone();
    tampered.replace_range(0..1, if code.starts_with('A') { "B" } else { "A" });
    assert_token_error(&h.exchange("app", &tampered), 400, "invalid_grant");
    assert_token_error(&h.exchange("app", "nope"), 400, "invalid_grant");
    let response = h.token(&format!(
        "grant_type=authorization_code&client_id=app&code_verifier={VERIFIER}"
    ));
    assert_token_error(&response, 400, "invalid_request");
}

#[test]
fn ac_08_the_code_binds_subject_and_granted_scope() {
    let h = harness();
    let pending = h
        .authorize(&format!(
            "response_type=code&client_id=app&scope=read%20write&{PKCE}"
        ))
        .unwrap();
    let response = h.approve(pending, "bob", "write");
    let code = location_param(&response, "code").unwrap();
    let body = json(&h.exchange("app", &code));
    assert_eq!(body["scope"], "write");
    let record = block_on(
        h.tokens
            .find(&TokenHash::of(body["access_token"].as_str().unwrap())),
    )
    .unwrap()
    .unwrap();
    assert_eq!(record.subject, Some(Subject::new("bob")));
}

#[test]
fn ac_08_codes_are_never_in_the_store_in_clear() {
    let h = harness();
    let code = h.code_for("app");
    assert!(!format!("{:?}", h.codes).contains(&code));
    let redeemed = block_on(h.codes.redeem(&TokenHash::of(&code))).unwrap();
    assert!(matches!(redeemed, Redemption::Redeemed(_)));
    assert!(!format!("{redeemed:?}").contains(CHALLENGE));
}

#[test]
fn mx_02_a_code_from_one_issuer_fails_at_another() {
    // Two tenants sharing one code store (the worst case): the issuer check still holds.
    let codes = Arc::new(MemoryCodeStore::new());
    let tenant = |issuer: &str| {
        Server::builder(issuer, clients(), Arc::new(MemoryTokenStore::new()))
            .code_store(codes.clone())
            .build()
            .unwrap()
    };
    let a = tenant("https://as.example.com/a");
    let b = tenant("https://as.example.com/b");
    let pending =
        block_on(a.authorize(&get(&format!("response_type=code&client_id=app&{PKCE}")))).unwrap();
    let response =
        block_on(pending.approve(Subject::new("alice"), Scope::parse("read").unwrap())).unwrap();
    let code = location_param(&response, "code").unwrap();
    let body =
        format!("grant_type=authorization_code&code={code}&client_id=app&code_verifier={VERIFIER}");
    let at_b = block_on(b.token(&post_form(&body))).unwrap();
    assert_token_error(&at_b, 400, "invalid_grant");
}

#[test]
fn rt_08_a_client_without_refresh_tokens_gets_none_from_the_code_flow() {
    let h = harness();
    let code = h.code_for("norefresh");
    let body = json_map(&h.exchange("norefresh", &code));
    assert!(body.contains_key("access_token"));
    assert!(!body.contains_key("refresh_token"));
}

#[test]
fn te_05_a_client_not_allowed_the_grant_is_unauthorized_client() {
    let h = harness();
    let response = h.token_basic(
        "cc",
        CONF_SECRET,
        &format!("grant_type=authorization_code&code=x&code_verifier={VERIFIER}"),
    );
    assert_token_error(&response, 400, "unauthorized_client");
}

#[test]
fn pw_01_password_grant_is_off_by_default() {
    let h = harness();
    let response = h.token("grant_type=password&username=alice&password=secret&client_id=app");
    assert_token_error(&response, 400, "unsupported_grant_type");
}

#[test]
fn te_04_code_in_the_query_is_refused() {
    let h = harness();
    let code = h.code_for("app");
    let request = post_form(format!(
        "grant_type=authorization_code&client_id=app&code_verifier={VERIFIER}"
    ))
    .with_query(format!("code={code}"));
    let response = block_on(h.server.token(&request)).unwrap();
    assert_token_error(&response, 400, "invalid_request");
}

#[test]
fn az_09_code_store_failure_at_the_token_endpoint_is_an_error() {
    let down = Arc::new(FailingCodes(|| StorageError::new("db down")));
    let h = harness_with(|b| b.code_store(down));
    let error = block_on(h.server.token(&post_form(format!(
        "grant_type=authorization_code&code=abc&client_id=app&code_verifier={VERIFIER}"
    ))))
    .unwrap_err();
    assert_token_error(&error.to_response(), 500, "server_error");
}
