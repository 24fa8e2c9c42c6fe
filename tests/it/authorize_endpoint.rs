//! The authorization endpoint, black-box: `HttpRequest` in, `PendingAuthorization` or
//! `AuthorizeError` out, `HttpResponse` from approve, deny and redirect errors.
//! Rules AZ, RU, ST, IS, MX-01 and IM of CHECKLIST.md.

use std::sync::Arc;

use crate::support::authz::*;
use async_trait::async_trait;
use grantflow::authorize::{AuthorizeError, LocalhostPort, PendingAuthorization};
use grantflow::secret::TokenHash;
use grantflow::store::{AuthorizationGrant, Redemption};
use grantflow::*;
use proptest::prelude::*;

const APP: &str = "response_type=code&client_id=app&state=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

fn q(extra: &str) -> String {
    format!("{APP}&{extra}")
}

#[track_caller]
fn assert_redirect(response: &HttpResponse, status: u16, location: &str) {
    assert_eq!(response.status.as_u16(), status);
    assert_eq!(response.header("location"), Some(location));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response.body.is_empty());
    assert!(
        response
            .headers
            .iter()
            .all(|h| !h.name.starts_with("access-control-"))
    );
}

#[test]
fn az_01_get_is_validated_into_a_pending_request() {
    let h = harness();
    let pending = h.authorize(APP).unwrap();
    assert_eq!(pending.client_id().as_str(), "app");
    assert_eq!(pending.client_name(), Some("Example App"));
    assert_eq!(pending.requested_scope().as_str(), "read");
    assert_eq!(pending.redirect_uri(), "https://client.example.com/cb");
    assert_eq!(pending.state(), Some("xyz"));
    let response = pending.deny();
    assert_eq!(response.status, Status::FOUND);
}

/// AZ-01, and the library's part of SEC-04: an authorization request that arrived as a
/// form POST is answered with 303, never 307.
#[test]
fn az_01_post_behaves_like_get_and_answers_303() {
    let h = harness();
    let pending = block_on(h.server.authorize(&post_form(APP))).unwrap();
    assert_eq!(pending.requested_scope().as_str(), "read");
    let response = h.approve(pending, "alice", "read");
    assert_eq!(response.status, Status::SEE_OTHER);
    // A POST redirect error is 303 as well.
    let response = redirect_error(block_on(h.server.authorize(&post_form(q("scope=nope")))));
    assert_eq!(response.status, Status::SEE_OTHER);
    // POST without a form body is a local error.
    let request = HttpRequest::new(Method::Post).with_body(APP);
    rejected(block_on(h.server.authorize(&request)));
}

#[test]
fn az_01_other_methods_are_rejected_locally() {
    let h = harness();
    for method in [Method::Head, Method::Other] {
        let request = HttpRequest::new(method).with_query(APP);
        let error = rejected(block_on(h.server.authorize(&request)));
        assert_eq!(error.code(), &ErrorCode::INVALID_REQUEST);
    }
}

#[test]
fn az_02_unknown_client_is_never_redirected() {
    let h = harness();
    let result = h.authorize(
        "response_type=code&client_id=nope&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&state=x",
    );
    let error = rejected(result);
    let page = error.to_response();
    assert_eq!(page.status, Status::BAD_REQUEST);
    assert_eq!(page.header("location"), None);
}

#[test]
fn az_02_missing_repeated_or_empty_client_id_is_rejected_locally() {
    let h = harness();
    rejected(h.authorize("response_type=code&state=x"));
    rejected(h.authorize("response_type=code&client_id=&state=x"));
    rejected(h.authorize(&q("client_id=app")));
    rejected(h.authorize(&q("client_id=app2")));
}

#[test]
fn az_02_registry_failure_is_a_storage_error_without_redirect() {
    #[derive(Debug)]
    struct Down;
    #[async_trait]
    impl ClientRegistry for Down {
        async fn find(&self, _: &ClientId) -> Result<Option<Arc<Client>>, StorageError> {
            Err(StorageError::new("db down"))
        }
    }
    let server = Server::builder(ISSUER, Arc::new(Down), Arc::new(MemoryTokenStore::new()))
        .build()
        .unwrap();
    let result = block_on(server.authorize(&get(APP)));
    assert!(matches!(result, Err(AuthorizeError::Storage(_))));
}

#[test]
fn az_03_unregistered_redirect_uri_is_rejected_locally() {
    let h = harness();
    rejected(h.authorize(&q("redirect_uri=https%3A%2F%2Fclient.example.com%2Fother")));
    // Repeated redirect_uri: local too.
    rejected(h.authorize(&q(
        "redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb",
    )));
}

#[test]
fn az_03_ru_09_two_registered_uris_and_none_sent_is_rejected_locally() {
    let h = harness();
    rejected(h.authorize(&format!("response_type=code&client_id=multi&{PKCE}")));
}

#[test]
fn ru_09_the_single_registered_uri_is_used_when_none_is_sent() {
    let h = harness();
    let pending = h.authorize(APP).unwrap();
    let response = h.approve(pending, "alice", "read");
    assert!(
        response
            .header("location")
            .unwrap()
            .starts_with("https://client.example.com/cb?code=")
    );
}

#[test]
fn az_04_errors_redirect_with_error_state_and_iss() {
    let h = harness();
    let query = format!("response_type=foo&client_id=app&state=xyz&{PKCE}");
    let response = redirect_error(h.authorize(&query));
    assert_redirect(
        &response,
        302,
        "https://client.example.com/cb?error=unsupported_response_type&error_description=only+response_type%3Dcode+is+supported&state=xyz&iss=https%3A%2F%2Fas.example.com",
    );
}

#[test]
fn er_04_redirect_errors_are_form_encoded_in_the_query_never_without_state() {
    let h = harness();
    // A state that needs encoding comes back exactly, next to `error` and `iss`, in the
    // query (no fragment); a redirectable error is never sent without the client's state.
    let state = "a+b c/d?e=f&g%20h~*";
    let query = format!(
        "response_type=token&client_id=app&state={}&{PKCE}",
        url::form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
    );
    let response = redirect_error(h.authorize(&query));
    let location = response.header("location").unwrap();
    assert!(!location.contains('#'));
    assert_eq!(
        location_param(&response, "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(location_param(&response, "state").as_deref(), Some(state));
    assert_eq!(
        location_param(&response, "iss").as_deref(),
        Some("https://as.example.com")
    );
}

#[test]
fn az_05_missing_response_type_is_invalid_request() {
    let h = harness();
    let response = redirect_error(h.authorize(&format!("client_id=app&state=xyz&{PKCE}")));
    assert_eq!(
        location_param(&response, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(location_param(&response, "state").as_deref(), Some("xyz"));
}

#[test]
fn az_05_only_response_type_code_is_supported_and_code_code_is_refused() {
    let h = harness();
    for response_type in [
        "code+token",
        "token+code",
        "token",
        "id_token",
        "code+id_token",
        "CODE",
        // Exactly `code`: a list naming it twice, or with empty members, is not.
        "code+code",
        "code+",
        "+code",
    ] {
        let query = format!("response_type={response_type}&client_id=app&{PKCE}");
        let response = redirect_error(h.authorize(&query));
        assert_eq!(
            location_param(&response, "error").as_deref(),
            Some("unsupported_response_type"),
            "{response_type}"
        );
    }
}

#[test]
fn oi_05_response_mode_other_than_query_is_a_local_error() {
    let h = harness();
    for mode in ["fragment", "form_post", "query.jwt", "QUERY"] {
        rejected(h.authorize(&format!("{APP}&response_mode={mode}")));
    }
    rejected(h.authorize(&format!("{APP}&response_mode=query&response_mode=query")));
    assert!(h.authorize(&format!("{APP}&response_mode=query")).is_ok());
    assert!(h.authorize(&format!("{APP}&response_mode=")).is_ok());
}

#[test]
fn az_05_client_without_the_code_flow_is_unauthorized_client() {
    let h = harness();
    let response = redirect_error(h.authorize(&format!("response_type=code&client_id=cc&{PKCE}")));
    assert_eq!(
        location_param(&response, "error").as_deref(),
        Some("unauthorized_client")
    );
    assert!(
        response
            .header("location")
            .unwrap()
            .starts_with("https://cc.example.com/cb?")
    );
}

#[test]
fn az_06_repeated_parameter_is_an_invalid_request_redirect() {
    let h = harness();
    let response = redirect_error(h.authorize(&q("scope=read&scope=write")));
    assert_eq!(
        location_param(&response, "error").as_deref(),
        Some("invalid_request")
    );
    // Repeated with one empty value still counts as repeated.
    let response = redirect_error(h.authorize(&q("scope=&scope=read")));
    assert_eq!(
        location_param(&response, "error").as_deref(),
        Some("invalid_request")
    );
}

#[test]
fn az_06_empty_values_are_absent_and_unknown_parameters_ignored() {
    let h = harness();
    let query = format!("response_type=code&client_id=app&state=&foo=bar&scope=&{PKCE}");
    let pending = h.authorize(&query).unwrap();
    assert_eq!(pending.state(), None);
    let response = pending.deny();
    assert_eq!(location_param(&response, "state"), None);
}

#[test]
fn az_07_redirect_errors_wait_for_the_host() {
    let h = harness();
    // The endpoint never returns a response by itself: an invalid scope is a value the
    // host turns into a redirect only after the user has authenticated.
    let result = h.authorize(&q("scope=unknown"));
    let Err(AuthorizeError::Redirect(error)) = result else {
        panic!("expected a redirect error");
    };
    assert_eq!(error.error().code(), &ErrorCode::INVALID_SCOPE);
    assert_eq!(error.redirect_uri(), "https://client.example.com/cb");
    // ... login page, user authenticates ...
    let response = error.into_response();
    assert_eq!(
        location_param(&response, "error").as_deref(),
        Some("invalid_scope")
    );
}

#[test]
fn az_08_deny_redirects_access_denied_with_state_and_iss() {
    let h = harness();
    let response = h.authorize(APP).unwrap().deny();
    assert_redirect(
        &response,
        302,
        "https://client.example.com/cb?error=access_denied&state=xyz&iss=https%3A%2F%2Fas.example.com",
    );
    let response = h.authorize(APP).unwrap().see_other().deny();
    assert_eq!(response.status, Status::SEE_OTHER);
}

#[derive(Debug)]
struct FailingCodes {
    transient: bool,
}

#[async_trait]
impl CodeStore for FailingCodes {
    async fn insert(&self, _: TokenHash, _: AuthorizationGrant) -> Result<(), StorageError> {
        Err(if self.transient {
            StorageError::transient("timeout at 10.0.0.7")
        } else {
            StorageError::new("db down at 10.0.0.7")
        })
    }

    async fn redeem(&self, _: &TokenHash) -> Result<Redemption, StorageError> {
        Err(StorageError::new("db down"))
    }
}

#[test]
fn az_09_storage_failure_on_approve_redirects_server_error() {
    for (transient, code) in [(false, "server_error"), (true, "temporarily_unavailable")] {
        let h = harness_with(|b| b.code_store(Arc::new(FailingCodes { transient })));
        let pending = h.authorize(APP).unwrap();
        let error = block_on(pending.approve(Subject::new("alice"), Scope::parse("read").unwrap()))
            .unwrap_err();
        assert!(std::error::Error::source(&error).is_some());
        let response = error.into_response();
        assert_redirect(
            &response,
            302,
            &format!(
                "https://client.example.com/cb?error={code}&state=xyz&iss=https%3A%2F%2Fas.example.com"
            ),
        );
        assert!(!response.header("location").unwrap().contains("10.0.0.7"));
    }
}

#[test]
fn az_10_no_cors_headers_on_any_authorization_response() {
    let h = harness();
    let request = HttpRequest::new(Method::Options)
        .with_query(APP)
        .with_header("origin", "https://spa.example");
    rejected(block_on(h.server.authorize(&request)));
    let request = get(APP).with_header("origin", "https://spa.example");
    let pending = block_on(h.server.authorize(&request)).unwrap();
    let response = h.approve(pending, "alice", "read");
    assert!(
        response
            .headers
            .iter()
            .all(|h| !h.name.starts_with("access-control-"))
    );
    let response = h.authorize(APP).unwrap().deny();
    assert!(
        response
            .headers
            .iter()
            .all(|h| !h.name.starts_with("access-control-"))
    );
}

#[test]
fn az_11_public_clients_are_not_identity_assured() {
    let h = harness();
    assert!(!h.authorize(APP).unwrap().identity_assured());
    let conf = format!("response_type=code&client_id=conf&{PKCE}");
    assert!(h.authorize(&conf).unwrap().identity_assured());
}

#[test]
fn az_12_ru_10_success_keeps_the_registered_query_and_never_uses_307() {
    let h = harness();
    let pending = h
        .authorize(&format!(
            "response_type=code&client_id=conf&redirect_uri={}&state=xyz&{PKCE}",
            enc("https://conf.example.com/cb?tenant=a")
        ))
        .unwrap();
    let response = h.approve(pending, "alice", "read");
    assert_eq!(response.status, Status::FOUND);
    let location = response.header("location").unwrap();
    assert!(
        location.starts_with("https://conf.example.com/cb?tenant=a&code="),
        "{location}"
    );
    let names: Vec<String> = location_params(&response)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(names, ["tenant", "code", "state", "iss"]);
    // The Location carries a code: adapters must keep it out of logs.
    let header = response
        .headers
        .iter()
        .find(|h| h.name == "location")
        .unwrap();
    assert!(header.sensitive);
    assert!(!format!("{response:?}").contains("code="));
}

/// The user may narrow the request, never widen it: a granted scope with a token the client
/// did not ask for is refused, not silently cut down (the same rule as the device grant's
/// approval, `dg_08_user_may_narrow_but_not_widen_the_scope`). The client gets a
/// `server_error` redirect and no code.
#[test]
fn az_12_approve_narrows_but_refuses_a_scope_broader_than_requested() {
    let h = harness();
    let pending = h.authorize(&q("scope=read%20write")).unwrap();
    let response = h.approve(pending, "alice", "read");
    let code = location_param(&response, "code").unwrap();
    let tokens = h.exchange("app", &code);
    assert_eq!(json(&tokens)["scope"], "read");
    for granted in ["read write", "write"] {
        let pending = h.authorize(&q("scope=read")).unwrap();
        let error =
            block_on(pending.approve(Subject::new("alice"), Scope::parse(granted).unwrap()))
                .unwrap_err();
        assert!(error.is_scope_not_requested() && error.storage_error().is_none());
        let response = error.into_response();
        assert_eq!(
            location_param(&response, "error").as_deref(),
            Some("server_error")
        );
        assert_eq!(location_param(&response, "code"), None);
    }
}

#[test]
fn az_08_approving_nothing_is_access_denied_not_an_empty_code() {
    let h = harness();
    let pending = h.authorize(&q("scope=read")).unwrap();
    // The user granted none of the requested scopes.
    let response = h.approve(pending, "alice", "");
    assert_eq!(
        location_param(&response, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(location_param(&response, "code"), None);
}

// ---- Redirect URI matching (RU) ----

fn vru(uri: &str) -> Result<PendingAuthorization, AuthorizeError> {
    harness().authorize(&format!(
        "response_type=code&client_id=vru&redirect_uri={}&{PKCE}",
        enc(uri)
    ))
}

#[test]
fn ru_02_v_ru_table() {
    let cases = [
        ("https://client.example.com/cb", true),
        ("https://client.example.com/cb/", false),
        ("https://CLIENT.example.com/cb", false),
        ("https://client.example.com:443/cb", false),
        ("https://client.example.com/%63b", false),
        ("https://client.example.com/cb?x=1", false),
        ("https://client.example.com/cb#x", false),
        ("https://client.example.com/cb/../cb", false),
        ("https://client.example.com/cb2", false),
        ("https://evil.client.example.com/cb", false),
        ("http://client.example.com/cb", false),
        ("http://127.0.0.1:51004/callback", true),
        ("http://127.0.0.1/callback", true),
        ("http://127.0.0.1:51004/callback/x", false),
        ("https://127.0.0.1:51004/callback", false),
        ("http://[::1]:61023/cb", true),
        ("http://127.0.0.1.nip.io:51004/callback", false),
        ("http://localhost:51004/callback", false),
    ];
    for (uri, accepted) in cases {
        let result = vru(uri);
        if accepted {
            let pending = result.unwrap_or_else(|e| panic!("{uri}: {e:?}"));
            assert_eq!(pending.redirect_uri(), uri);
        } else {
            rejected(result);
        }
    }
}

#[test]
fn ru_03_no_wildcard_or_subdomain_matching() {
    assert!(
        Client::builder("w", ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .redirect_uri("https://*.example.com/cb")
            .build()
            .is_err()
    );
    rejected(vru("https://evil.client.example.com/cb"));
    rejected(vru("https://client.example.com/cb/evil"));
}

#[test]
fn ru_04_redirect_uri_with_a_fragment_is_rejected_locally() {
    rejected(vru("https://client.example.com/cb#x"));
    rejected(vru("https://client.example.com/cb#"));
}

#[test]
fn ru_05_loopback_port_is_free_path_scheme_and_query_are_not() {
    assert!(vru("http://127.0.0.1:51004/callback").is_ok());
    assert!(vru("http://[::1]/cb").is_ok());
    assert!(vru("http://[::1]:61023/cb").is_ok());
    rejected(vru("http://127.0.0.1:51004/cb2"));
    rejected(vru("http://127.0.0.1:51004/callback?x=1"));
    rejected(vru("https://127.0.0.1:51004/callback"));
    rejected(vru("http://[::1]:61023/cb/"));
}

#[test]
fn ru_05_the_response_goes_to_the_requested_loopback_port() {
    let h = harness();
    let pending = h
        .authorize(&format!(
            "response_type=code&client_id=vru&redirect_uri={}&{PKCE}",
            enc("http://127.0.0.1:51004/callback")
        ))
        .unwrap();
    let response = h.approve(pending, "alice", "read");
    assert!(
        response
            .header("location")
            .unwrap()
            .starts_with("http://127.0.0.1:51004/callback?code=")
    );
}

#[test]
fn ru_05_loopback_port_must_be_a_real_port() {
    for port in ["0", "00", "65536", "99999", "00000"] {
        rejected(vru(&format!("http://127.0.0.1:{port}/callback")));
        rejected(vru(&format!("http://[::1]:{port}/cb")));
    }
    assert!(vru("http://127.0.0.1:1/callback").is_ok());
    assert!(vru("http://127.0.0.1:65535/callback").is_ok());
    // Nor can such a URI be registered.
    assert!(
        Client::builder("c", ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .redirect_uri("http://127.0.0.1:0/cb")
            .build()
            .is_err()
    );
}

#[test]
fn ru_06_port_exception_never_applies_to_other_hosts() {
    for uri in [
        "https://client.example.com:8443/cb",
        "http://127.0.0.1.nip.io:8080/callback",
        "http://127.1:8080/callback",
        "http://0x7f.0.0.1:8080/callback",
        "http://localhost.evil.com:8080/callback",
        "http://user@127.0.0.1:8080/callback",
    ] {
        rejected(vru(uri));
    }
}

#[test]
fn ru_07_localhost_port_varies_for_public_clients_when_the_switch_is_on() {
    let query = |client: &str| {
        format!(
            "response_type=code&client_id={client}&redirect_uri={}&{PKCE}",
            enc("http://localhost:7777/cb")
        )
    };
    let h = harness();
    assert!(h.authorize(&query("native")).is_ok());
    // Never for confidential clients.
    rejected(h.authorize(&query("nativeconf")));
    // Off: exact match only.
    let h = harness_with(|b| b.localhost_port(LocalhostPort::Exact));
    rejected(h.authorize(&query("native")));
    assert!(
        h.authorize(&format!(
            "response_type=code&client_id=native&redirect_uri={}&{PKCE}",
            enc("http://localhost/cb")
        ))
        .is_ok()
    );
}

#[test]
fn ru_08_scheme_rules_at_registration() {
    let build = |uri: &str| {
        Client::builder("x", ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .redirect_uri(uri)
            .build()
    };
    assert!(build("http://client.example.com/cb").is_err());
    assert!(build("myapp:/cb").is_err());
    assert!(build("com.example.app:/oauth2redirect").is_ok());
}

#[test]
fn ru_08_private_use_scheme_redirects_keep_their_form() {
    let clients = clients();
    clients
        .insert(
            Client::builder("mobile", ClientType::Public)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .allowed_scope("read")
                .default_scope("read")
                .redirect_uri("com.example.app:/oauth2redirect")
                .build()
                .unwrap(),
        )
        .unwrap();
    let server = Server::builder(ISSUER, clients, Arc::new(MemoryTokenStore::new()))
        .build()
        .unwrap();
    let pending = block_on(server.authorize(&get(&format!(
        "response_type=code&client_id=mobile&state=s&{PKCE}"
    ))))
    .unwrap();
    let response = pending.deny();
    assert_eq!(
        response.header("location"),
        Some(
            "com.example.app:/oauth2redirect?error=access_denied&state=s&iss=https%3A%2F%2Fas.example.com"
        )
    );
}

#[test]
fn ru_01_ru_10_registration_refuses_relative_fragment_and_reserved_query() {
    let build = |uri: &str| {
        Client::builder("x", ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .redirect_uri(uri)
            .build()
    };
    assert!(build("/cb").is_err());
    assert!(build("https://c.example/cb#x").is_err());
    assert!(build("https://c.example/cb?code=1").is_err());
    assert!(build("https://c.example/cb?tenant=a").is_ok());
}

#[test]
fn ru_11_local_errors_offer_no_redirect_at_all() {
    let h = harness();
    let evil = enc("https://evil.example/phish");
    for query in [
        format!("response_type=code&client_id=app&redirect_uri={evil}&state=x"),
        format!("response_type=code&client_id=nope&redirect_uri={evil}"),
        format!("client_id=app&redirect_uri={evil}&scope=unknown"),
    ] {
        let error = rejected(h.authorize(&query));
        assert_eq!(error.to_response().header("location"), None);
    }
}

fn registered_variants() -> impl Strategy<Value = String> {
    let base = prop_oneof![
        Just("https://client.example.com/cb".to_owned()),
        Just("http://127.0.0.1/callback".to_owned()),
        Just("http://[::1]:8080/cb".to_owned()),
    ];
    let mutation = prop_oneof![
        // case changes of one character
        (0usize..40).prop_map(|i| (0, i, String::new())),
        // percent-encode one character
        (0usize..40).prop_map(|i| (1, i, String::new())),
        // insert arbitrary text at a position
        (0usize..40, "[-a-zA-Z0-9./:@%?#&=_~\\[\\]]{1,6}").prop_map(|(i, s)| (2, i, s)),
        // append a suffix
        "[-a-zA-Z0-9./:@%?#&=_~]{1,8}".prop_map(|s| (3, 0, s)),
        // userinfo
        "[a-z]{1,5}".prop_map(|s| (4, 0, s)),
        // port
        (1u32..65536).prop_map(|p| (5, p as usize, String::new())),
        // delete one character
        (0usize..40).prop_map(|i| (6, i, String::new())),
    ];
    (base, mutation).prop_map(|(base, (kind, i, text))| {
        let mut chars: Vec<char> = base.chars().collect();
        let i = i % chars.len();
        match kind {
            0 => {
                let c = chars[i];
                chars[i] = if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                };
                chars.into_iter().collect()
            }
            1 => {
                let c = chars[i];
                let mut out: String = chars[..i].iter().collect();
                out.push_str(&format!("%{:02X}", c as u32));
                out.extend(&chars[i + 1..]);
                out
            }
            2 => {
                let mut out: String = chars[..i].iter().collect();
                out.push_str(&text);
                out.extend(&chars[i..]);
                out
            }
            3 => format!("{base}{text}"),
            4 => base.replacen("://", &format!("://{text}@"), 1),
            5 => {
                // replace or add a port after the host
                let rest = &base[base.find("://").unwrap() + 3..];
                let end = rest.find('/').unwrap();
                let authority = &rest[..end];
                let host = if authority.starts_with('[') {
                    &authority[..=authority.find(']').unwrap()]
                } else {
                    authority.split(':').next().unwrap()
                };
                base.replacen(authority, &format!("{host}:{i}"), 1)
            }
            _ => {
                chars.remove(i);
                chars.into_iter().collect()
            }
        }
    })
}

/// The only strings accepted: a registered one exactly, or a loopback one differing only
/// in its port.
fn acceptable(uri: &str) -> bool {
    if uri == "https://client.example.com/cb" {
        return true;
    }
    for (prefix, path) in [("http://127.0.0.1", "/callback"), ("http://[::1]", "/cb")] {
        if let Some(rest) = uri.strip_prefix(prefix) {
            let port_ok = match rest.strip_suffix(path) {
                Some("") => true,
                Some(port) => port.strip_prefix(':').is_some_and(|p| {
                    !p.is_empty()
                        && p.len() <= 5
                        && p.bytes().all(|b| b.is_ascii_digit())
                        && p.parse::<u16>().is_ok_and(|n| n != 0)
                }),
                None => false,
            };
            if port_ok {
                return true;
            }
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn ru_02_ru_05_only_registered_uris_modulo_loopback_port_are_accepted(uri in registered_variants()) {
        let h = harness();
        let result = h.authorize(&format!(
            "response_type=code&client_id=vru&redirect_uri={}&{PKCE}",
            enc(&uri)
        ));
        let accepted = !matches!(result, Err(AuthorizeError::Rejected(_)));
        prop_assert_eq!(accepted, acceptable(&uri), "{}", uri);
    }
}

// ---- state (ST) ----

#[test]
fn st_01_v_state_is_echoed_exactly_with_the_registered_query() {
    let h = harness();
    let query =
        format!("response_type=code&client_id=conf&state=a%2Bb+c%2Fd%3Fe%3Df%26g%2520h~%2A&{PKCE}");
    let pending = h.authorize(&query).unwrap();
    assert_eq!(pending.state(), Some("a+b c/d?e=f&g%20h~*"));
    let response = h.approve(pending, "alice", "read");
    assert_eq!(
        location_param(&response, "state").as_deref(),
        Some("a+b c/d?e=f&g%20h~*")
    );
    assert_eq!(location_param(&response, "tenant").as_deref(), Some("a"));
    let location = response.header("location").unwrap();
    assert!(
        location.contains("&state=a%2Bb+c%2Fd%3Fe%3Df%26g%2520h%7E*&iss="),
        "{location}"
    );
    // The same on error redirects.
    let response = h.authorize(&query).unwrap().deny();
    assert_eq!(
        location_param(&response, "state").as_deref(),
        Some("a+b c/d?e=f&g%20h~*")
    );
}

#[test]
fn st_02_state_is_optional_and_encoded_as_untrusted_input() {
    let h = harness();
    assert!(
        h.authorize(&format!("response_type=code&client_id=app&{PKCE}"))
            .is_ok()
    );
    let pending = h
        .authorize(&q("").replace("state=xyz", "state=%3Cscript%3Ex%3C%2Fscript%3E"))
        .unwrap();
    let response = pending.deny();
    let location = response.header("location").unwrap();
    assert!(
        !location.contains('<') && !location.contains('>'),
        "{location}"
    );
    assert_eq!(
        location_param(&response, "state").as_deref(),
        Some("<script>x</script>")
    );
}

#[test]
fn st_03_long_or_non_vschar_state_is_a_local_error() {
    let h = harness();
    let long = "a".repeat(2049);
    rejected(h.authorize(&format!(
        "response_type=code&client_id=app&state={long}&{PKCE}"
    )));
    let ten_kb = "a".repeat(10 * 1024);
    rejected(h.authorize(&format!(
        "response_type=code&client_id=app&state={ten_kb}&{PKCE}"
    )));
    assert!(
        h.authorize(&format!(
            "response_type=code&client_id=app&state={}&{PKCE}",
            "a".repeat(2048)
        ))
        .is_ok()
    );
    for bad in ["%0A", "%C3%A9", "%7F", "a%09b"] {
        rejected(h.authorize(&format!(
            "response_type=code&client_id=app&state={bad}&{PKCE}"
        )));
    }
    // A repeated state cannot be echoed either.
    rejected(h.authorize(&q("state=two")));
}

// ---- iss (IS) and mix-up (MX) ----

#[test]
fn is_01_iss_on_success_and_error_redirects() {
    let h = harness();
    let ok = h.approve(h.authorize(APP).unwrap(), "alice", "read");
    let denied = h.authorize(APP).unwrap().deny();
    let error = redirect_error(h.authorize(&q("scope=unknown")));
    for response in [ok, denied, error] {
        assert!(
            response
                .header("location")
                .unwrap()
                .ends_with("&iss=https%3A%2F%2Fas.example.com")
        );
    }
}

fn honest() -> Server {
    Server::builder(
        "https://honest.as.example",
        clients(),
        Arc::new(MemoryTokenStore::new()),
    )
    .build()
    .unwrap()
}

#[test]
fn is_02_v_iss_encoding() {
    let server = honest();
    let pending = block_on(server.authorize(&get(APP))).unwrap();
    let response = pending.deny();
    assert_eq!(
        response.header("location"),
        Some(
            "https://client.example.com/cb?error=access_denied&state=xyz&iss=https%3A%2F%2Fhonest.as.example"
        )
    );
    assert_eq!(
        location_param(&response, "iss").as_deref(),
        Some(server.issuer())
    );
}

#[test]
fn is_04_each_tenant_sends_its_own_iss() {
    let t1 = Server::builder(
        "https://as.example.com/t1",
        clients(),
        Arc::new(MemoryTokenStore::new()),
    )
    .build()
    .unwrap();
    let t2 = Server::builder(
        "https://as.example.com/t2",
        clients(),
        Arc::new(MemoryTokenStore::new()),
    )
    .build()
    .unwrap();
    let iss = |server: &Server| {
        let response = block_on(server.authorize(&get(APP))).unwrap().deny();
        location_param(&response, "iss").unwrap()
    };
    assert_eq!(iss(&t1), "https://as.example.com/t1");
    assert_eq!(iss(&t2), "https://as.example.com/t2");
}

#[test]
fn mx_01_a_client_with_two_redirect_uris_can_use_each() {
    let h = harness();
    for uri in [
        "https://as1.client.example/cb",
        "https://as2.client.example/cb",
    ] {
        let pending = h
            .authorize(&format!(
                "response_type=code&client_id=multi&redirect_uri={}&{PKCE}",
                enc(uri)
            ))
            .unwrap();
        let response = h.approve(pending, "alice", "read");
        assert!(
            response
                .header("location")
                .unwrap()
                .starts_with(&format!("{uri}?code="))
        );
    }
}

// ---- implicit (IM) ----

#[test]
fn im_01_response_type_token_is_refused_in_the_query() {
    let h = harness();
    let response = redirect_error(h.authorize(&format!(
        "response_type=token&client_id=app&state=xyz&{PKCE}"
    )));
    let location = response.header("location").unwrap();
    assert!(location.starts_with("https://client.example.com/cb?error=unsupported_response_type&"));
    assert!(!location.contains('#'));
    assert!(!location.contains("access_token"));
    assert_eq!(location_param(&response, "state").as_deref(), Some("xyz"));
    assert!(location.ends_with("&iss=https%3A%2F%2Fas.example.com"));
}

#[test]
fn im_02_any_response_type_issuing_tokens_is_refused() {
    let h = harness();
    for response_type in [
        "code%20token",
        "token%20id_token",
        "code%20id_token%20token",
    ] {
        let response = redirect_error(h.authorize(&format!(
            "response_type={response_type}&client_id=app&{PKCE}"
        )));
        assert_eq!(
            location_param(&response, "error").as_deref(),
            Some("unsupported_response_type")
        );
    }
}

// ---- scope at the authorization endpoint ----

#[test]
fn sc_02_disallowed_scope_is_an_invalid_scope_redirect() {
    let h = harness();
    for scope in ["admin", "read%20admin", "re%22ad"] {
        let response = redirect_error(h.authorize(&q(&format!("scope={scope}"))));
        assert_eq!(
            location_param(&response, "error").as_deref(),
            Some("invalid_scope")
        );
    }
}

#[test]
fn type_properties_pending_values_are_send_and_hide_the_challenge() {
    fn send<T: Send + Sync>(_: &T) {}
    fn send_future<T: Send>(_: &T) {}
    let h = harness();
    let pending = h.authorize(APP).unwrap();
    send(&pending);
    assert!(!format!("{pending:?}").contains(CHALLENGE));
    let request = get(APP);
    send_future(&h.server.authorize(&request));
    let approval = pending.approve(Subject::new("alice"), Scope::empty());
    send_future(&approval);
    drop(approval);
    let token_request = post_form("grant_type=refresh_token");
    send_future(&h.server.token(&token_request));
}
