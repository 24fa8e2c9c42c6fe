//! The refresh token grant: RT-01..RT-08, rotation with reuse detection, the grace window,
//! and 64-way concurrent refreshes.

use crate::support::faults::NoRotation;
use crate::support::parked::Park;
use crate::support::race::{race, runtime};

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::support::authz::*;
use grantflow::secret::TokenHash;
use grantflow::store::{GrantId, RefreshLookup, Rotation, TokenKind, TokenRecord, TokenStore};
use grantflow::*;

fn tokens_of(response: &HttpResponse) -> (String, Option<String>) {
    let body = json(response);
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().map(str::to_owned),
    )
}

#[test]
fn rt_01_another_clients_refresh_token_is_invalid_grant() {
    let h = harness();
    let (_, refresh) = h.tokens_for("app", "read");
    assert_token_error(&h.refresh("app2", &refresh, None), 400, "invalid_grant");
    // Refused without rotating: the owner can still use it.
    assert_eq!(h.refresh("app", &refresh, None).status, Status::OK);
}

#[test]
fn rt_01_confidential_clients_authenticate_to_refresh() {
    let h = harness();
    let code = h.code_for("conf");
    let response = h.token_basic(
        "conf",
        CONF_SECRET,
        &format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"),
    );
    let (_, refresh) = tokens_of(&response);
    let refresh = refresh.unwrap();
    let body = format!("grant_type=refresh_token&refresh_token={refresh}");
    assert_token_error(
        &h.token_basic("conf", "wrong", &body),
        401,
        "invalid_client",
    );
    assert_token_error(
        &h.token(&format!("{body}&client_id=conf")),
        401,
        "invalid_client",
    );
    assert_eq!(h.token_basic("conf", CONF_SECRET, &body).status, Status::OK);
}

#[test]
fn rt_02_scope_can_narrow_but_never_widen() {
    let h = harness();
    let (_, refresh) = h.tokens_for("app", "read write");
    let response = h.refresh("app", &refresh, Some("read"));
    assert_eq!(response.status, Status::OK);
    assert_eq!(json(&response)["scope"], "read");
    let (_, refresh) = tokens_of(&response);
    let refresh = refresh.unwrap();
    // Broader than granted: invalid_scope, and the token is not used up.
    let h2 = harness();
    let (_, r) = h2.tokens_for("app", "read");
    assert_token_error(
        &h2.refresh("app", &r, Some("read write")),
        400,
        "invalid_scope",
    );
    assert_token_error(&h2.refresh("app", &r, Some("re\"ad")), 400, "invalid_scope");
    assert_eq!(json(&h2.refresh("app", &r, None))["scope"], "read");
    // Left out: the original scope.
    assert_eq!(
        json(&h.refresh("app", &refresh, None))["scope"],
        "read write"
    );
}

#[test]
fn rt_03_the_rotated_refresh_token_keeps_the_original_scope() {
    let h = harness();
    let (_, r1) = h.tokens_for("app", "read write");
    let narrowed = h.refresh("app", &r1, Some("read"));
    assert_eq!(json(&narrowed)["scope"], "read");
    let r2 = tokens_of(&narrowed).1.unwrap();
    let wide = h.refresh("app", &r2, Some("read write"));
    assert_eq!(wide.status, Status::OK, "{:?}", json(&wide));
    assert_eq!(json(&wide)["scope"], "read write");
}

#[test]
fn rt_04_a_public_client_gets_a_new_refresh_token_each_time() {
    let h = harness();
    let (a1, r1) = h.tokens_for("app", "read");
    let response = h.refresh("app", &r1, None);
    assert_eq!(response.status, Status::OK);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let (a2, r2) = tokens_of(&response);
    let r2 = r2.unwrap();
    assert_ne!(r1, r2);
    assert_ne!(a1, a2);
    let body = json_map(&response);
    let keys: Vec<&str> = body.keys().map(String::as_str).collect();
    assert_eq!(keys, TOKEN_MEMBERS);
}

#[test]
fn rt_05_a_rotated_out_refresh_token_is_invalid_grant() {
    let h = harness();
    let (_, r1) = h.tokens_for("app", "read");
    assert_eq!(h.refresh("app", &r1, None).status, Status::OK);
    assert_token_error(&h.refresh("app", &r1, None), 400, "invalid_grant");
}

#[test]
fn rt_06_reuse_revokes_the_whole_grant() {
    let h = harness();
    let (a1, r1) = h.tokens_for("app", "read");
    let (a2, r2) = tokens_of(&h.refresh("app", &r1, None));
    let r2 = r2.unwrap();
    assert!(h.is_live(&a2) && h.is_live(&r2));
    assert_token_error(&h.refresh("app", &r1, None), 400, "invalid_grant");
    assert!(!h.is_live(&a1));
    assert!(!h.is_live(&a2));
    assert_token_error(&h.refresh("app", &r2, None), 400, "invalid_grant");
}

#[test]
fn rt_06_reuse_by_another_client_does_not_revoke() {
    let h = harness();
    let (_, r1) = h.tokens_for("app", "read");
    let (a2, r2) = tokens_of(&h.refresh("app", &r1, None));
    assert_token_error(&h.refresh("app2", &r1, None), 400, "invalid_grant");
    assert!(h.is_live(&a2));
    assert_eq!(h.refresh("app", &r2.unwrap(), None).status, Status::OK);
}

#[test]
fn rt_06_grace_window_refuses_without_revoking_and_never_mints_a_second_successor() {
    let h = harness_with(|b| b.refresh_reuse_grace(Duration::from_secs(10)));
    let (_, r1) = h.tokens_for("app", "read");
    let (a2, r2) = tokens_of(&h.refresh("app", &r1, None));
    let r2 = r2.unwrap();
    h.clock.advance(Duration::from_secs(5));
    assert_token_error(&h.refresh("app", &r1, None), 400, "invalid_grant");
    assert!(h.is_live(&a2) && h.is_live(&r2));
    // After the window, reuse revokes.
    h.clock.advance(Duration::from_secs(5));
    assert_token_error(&h.refresh("app", &r1, None), 400, "invalid_grant");
    assert!(!h.is_live(&a2) && !h.is_live(&r2));
}

#[test]
fn rt_06_grace_window_is_bounded() {
    let build = |grace| {
        Server::builder(ISSUER, clients(), Arc::new(MemoryTokenStore::new()))
            .refresh_reuse_grace(grace)
            .build()
    };
    assert!(build(Duration::from_secs(60)).is_ok());
    assert!(build(Duration::from_secs(61)).is_err());
}

#[test]
fn rt_07_a_revoked_grant_cannot_be_refreshed() {
    let h = harness();
    let (access, refresh) = h.tokens_for("app", "read");
    let record = block_on(h.tokens.find(&TokenHash::of(&access)))
        .unwrap()
        .unwrap();
    // The host withdraws consent: it revokes the grant.
    assert_eq!(
        block_on(h.tokens.revoke_grant(&record.grant_id, record.expires_at)).unwrap(),
        2
    );
    assert_token_error(&h.refresh("app", &refresh, None), 400, "invalid_grant");
}

#[test]
fn rt_07_a_removed_client_cannot_refresh() {
    let h = harness();
    let (_, refresh) = h.tokens_for("app", "read");
    h.clients.remove("app");
    assert_token_error(&h.refresh("app", &refresh, None), 401, "invalid_client");
}

#[test]
fn rt_08_idle_refresh_tokens_expire() {
    let h = harness_with(|b| b.refresh_token_ttl(Duration::from_secs(7200)));
    let (_, r1) = h.tokens_for("app", "read");
    h.clock.advance(Duration::from_secs(7000));
    // Each rotation starts a new lifetime.
    let r2 = tokens_of(&h.refresh("app", &r1, None)).1.unwrap();
    h.clock.advance(Duration::from_secs(7000));
    let r3 = tokens_of(&h.refresh("app", &r2, None)).1.unwrap();
    h.clock.advance(Duration::from_secs(7200));
    assert_token_error(&h.refresh("app", &r3, None), 400, "invalid_grant");
}

#[test]
fn rt_08_tampered_unknown_or_access_tokens_are_invalid_grant() {
    let h = harness();
    let (access, refresh) = h.tokens_for("app", "read");
    let mut tampered = refresh.clone();
    tampered.replace_range(0..1, if refresh.starts_with('A') { "B" } else { "A" });
    assert_token_error(&h.refresh("app", &tampered, None), 400, "invalid_grant");
    assert_token_error(&h.refresh("app", &access, None), 400, "invalid_grant");
    assert!(h.is_live(&access));
    assert_token_error(
        &h.token("grant_type=refresh_token&client_id=app"),
        400,
        "invalid_request",
    );
}

#[test]
fn rt_08_a_client_switched_off_refresh_tokens_gets_none_on_refresh() {
    let h = harness();
    let (_, refresh) = h.tokens_for("app", "read");
    // Re-register `app` without refresh tokens.
    h.clients
        .replace(
            Client::builder("app", ClientType::Public)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .allowed_scope("read write")
                .issue_refresh_tokens(false)
                .redirect_uri("https://client.example.com/cb")
                .build()
                .unwrap(),
        )
        .unwrap();
    let response = h.refresh("app", &refresh, None);
    assert_eq!(response.status, Status::OK);
    assert!(!json_map(&response).contains_key("refresh_token"));
    // The presented token was still used up.
    assert_token_error(&h.refresh("app", &refresh, None), 400, "invalid_grant");
}

#[test]
fn te_05_refresh_without_the_grant_type_is_unauthorized_client() {
    let h = harness();
    let code = h.code_for("coderonly");
    let response = h.exchange("coderonly", &code);
    assert_eq!(response.status, Status::OK);
    // The client is not registered for refresh_token; whatever it holds, it may not refresh.
    let response = h.refresh("coderonly", "anything", None);
    assert_token_error(&response, 400, "unauthorized_client");
}

/// 64 tasks present the same refresh token at once; exactly one gets a successor, which
/// is returned with every response.
fn race_refresh(h: &Harness, refresh: &str) -> (HttpResponse, Vec<HttpResponse>) {
    let body = format!("grant_type=refresh_token&refresh_token={refresh}&client_id=app");
    let responses = race(&runtime(4), 64, |_| {
        let (server, request) = (h.server.clone(), post_form(&body));
        async move { server.token(&request).await.unwrap() }
    });
    let ok: Vec<&HttpResponse> = responses
        .iter()
        .filter(|r| r.status == Status::OK)
        .collect();
    assert_eq!(ok.len(), 1);
    (ok[0].clone(), responses)
}

#[test]
fn rt_05_64_concurrent_refreshes_give_exactly_one_successor_and_reuse_revokes() {
    let h = harness();
    let (_, refresh) = h.tokens_for("app", "read");
    let (ok, responses) = race_refresh(&h, &refresh);
    for r in responses.iter().filter(|r| r.status != Status::OK) {
        assert_token_error(r, 400, "invalid_grant");
    }
    // With reuse detection the losers revoked the family, successor included.
    let (access, successor) = tokens_of(&ok);
    assert!(!h.is_live(&access));
    assert!(!h.is_live(&successor.unwrap()));
}

#[test]
fn rt_06_64_concurrent_refreshes_within_the_grace_window_keep_the_one_successor() {
    let h = harness_with(|b| b.refresh_reuse_grace(Duration::from_secs(5)));
    let (_, refresh) = h.tokens_for("app", "read");
    let (ok, _) = race_refresh(&h, &refresh);
    let (access, successor) = tokens_of(&ok);
    let successor = successor.unwrap();
    assert!(h.is_live(&access) && h.is_live(&successor));
    assert_eq!(h.refresh("app", &successor, None).status, Status::OK);
}

#[test]
fn rt_05_a_store_without_rotation_fails_closed() {
    let tokens = Arc::new(MemoryTokenStore::new());
    let store = Arc::new(NoRotation(tokens.clone()));
    let h = Harness::builder(clients())
        .token_store(tokens, store)
        .build(|b| b);
    let (_, refresh) = h.tokens_for("app", "read");
    let body = format!("grant_type=refresh_token&refresh_token={refresh}&client_id=app");
    let error = block_on(h.server.token(&post_form(&body))).unwrap_err();
    assert_token_error(&error.to_response(), 500, "server_error");
}

#[test]
fn rt_05_memory_store_forgets_rotated_out_markers_after_expiry() {
    let store = MemoryTokenStore::new();
    let now = start();
    let grant = GrantId::generate();
    let client = ClientId::new("app").unwrap();
    let record = |kind, at: SystemTime, ttl| {
        TokenRecord::new(
            kind,
            grant,
            client.clone(),
            Scope::empty(),
            at,
            at + Duration::from_secs(ttl),
        )
    };
    block_on(store.insert(vec![(
        TokenHash::of("r1"),
        record(TokenKind::Refresh, now, 100),
    )]))
    .unwrap();
    let rotated = block_on(store.rotate(
        &TokenHash::of("r1"),
        now,
        vec![(TokenHash::of("r2"), record(TokenKind::Refresh, now, 100))],
    ))
    .unwrap();
    assert_eq!(rotated, Rotation::Rotated);
    assert!(matches!(
        block_on(store.rotate(&TokenHash::of("r1"), now, vec![])).unwrap(),
        Rotation::AlreadyRotated(m) if m.grant_id == grant
    ));
    assert!(matches!(
        block_on(store.find_refresh(&TokenHash::of("r1"))).unwrap(),
        Some(RefreshLookup::RotatedOut(_))
    ));
    assert_eq!(
        block_on(store.rotate(&TokenHash::of("nope"), now, vec![])).unwrap(),
        Rotation::NotFound
    );
    block_on(store.purge_expired(now + Duration::from_secs(100))).unwrap();
    assert_eq!(
        block_on(store.find_refresh(&TokenHash::of("r1"))).unwrap(),
        None
    );
    assert!(store.is_empty());
}

#[test]
fn rt_07_a_grant_revoked_during_a_refresh_gets_no_successor() {
    let (builder, gate) = Harness::builder(clients()).parked(Park::Rotate);
    let h = builder.build(|b| b);
    let (access, refresh) = h.tokens_for("app", "read");
    // The refresh finds its token active and waits before rotating it; meanwhile the
    // grant is revoked.
    let request = post_form(format!(
        "grant_type=refresh_token&refresh_token={refresh}&client_id=app"
    ));
    let revoke = post_form(format!("token={refresh}&client_id=app"));
    let revoked = async { h.server.revoke(&revoke).await.unwrap() };
    let (refreshed, revoked) = gate.interleave(&h.server, request, revoked);
    assert_eq!(revoked.status, Status::OK);
    assert_token_error(&refreshed, 400, "invalid_grant");
    assert_eq!(
        json(&refreshed)["error_description"],
        "the grant was revoked"
    );
    assert!(!h.is_live(&access));
    assert!(
        h.tokens.is_empty(),
        "no successor of the revoked grant is stored"
    );
}

/// With rotation off (as the FAPI 2.0 Security Profile asks), a confidential client keeps
/// its refresh token: two refreshes with it both succeed and neither returns another
/// refresh token. Public clients still rotate.
#[test]
fn confidential_refresh_tokens_need_not_rotate_when_rotation_is_off() {
    let h = harness_with(|b| b.refresh_token_rotation(false));
    let code = h.code_for("conf");
    let response = h.token_basic(
        "conf",
        CONF_SECRET,
        &format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"),
    );
    let refresh = json(&response)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        let response = h.token_basic(
            "conf",
            CONF_SECRET,
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        );
        assert_eq!(response.status, Status::OK, "{}", json(&response));
        let body = json(&response);
        assert!(body["access_token"].is_string());
        assert!(body.get("refresh_token").is_none(), "{body}");
    }
    // A public client's refresh token still rotates, with reuse detection.
    let (_, refresh) = h.tokens_for("app", "read");
    let rotated = h.refresh("app", &refresh, None);
    assert!(json(&rotated)["refresh_token"].is_string());
    assert_eq!(h.refresh("app", &refresh, None).status, Status::BAD_REQUEST);
}
