//! The authorization endpoint, black-box: `HttpRequest` in, `PendingAuthorization` or
//! `AuthorizeError` out, `HttpResponse` from approve, deny and redirect errors.
//! Rules AZ, RU, ST, IS, MX-01 and IM of CHECKLIST.md.

use std::sync::Arc;

use crate::support::authz::*;
use crate::support::faults::{FailingClients, FailingCodes};
use grantflow::authorize::{AuthorizeError, LocalhostPort, PendingAuthorization};
use grantflow::*;
use proptest::prelude::*;

const APP: &str = "response_type=code&client_id=app&state=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

fn q(extra: &str) -> String {
    format!("{APP}&{extra}")
}

fn code_query(client_id: &str) -> String {
    format!("response_type=code&client_id={client_id}&{PKCE}")
}

#[track_caller]
fn assert_redirect(response: &HttpResponse, status: u16, location: &str) {
    assert_eq!(response.status.as_u16(), status);
    assert_eq!(response.header("location"), Some(location));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response.body.is_empty());
    assert_no_cors(response);
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
fn az_02_registry_failure_is_a_storage_error_without_redirect() {
    let down = Arc::new(FailingClients(|| StorageError::new("db down")));
    let server = Server::builder(ISSUER, down, Arc::new(MemoryTokenStore::new()))
        .build()
        .unwrap();
    let result = block_on(server.authorize(&get(APP)));
    assert!(matches!(result, Err(AuthorizeError::Storage(_))));
}

#[test]
fn ru_09_the_single_registered_uri_is_used_when_none_is_sent() {
    let h = harness();
    let pending = h.authorize(APP).unwrap();
    let response = h.approve(pending, "alice", "read");
    assert!(location(&response).starts_with("https://client.example.com/cb?code="));
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
    assert_location_error(&response, "unsupported_response_type");
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
    assert_location_error(&response, "invalid_request");
    assert_eq!(location_param(&response, "state").as_deref(), Some("xyz"));
}

/// Requests answered with an error redirect: (rule and case, query, `error`).
fn redirect_errors() -> Vec<(&'static str, String, &'static str)> {
    let mut cases = vec![
        (
            "az_06 repeated scope",
            q("scope=read&scope=write"),
            "invalid_request",
        ),
        (
            "az_06 repeated, one empty",
            q("scope=&scope=read"),
            "invalid_request",
        ),
    ];
    for (rule, response_type) in [
        ("az_05", "code+token"),
        ("az_05", "token+code"),
        ("az_05", "token"),
        ("az_05", "id_token"),
        ("az_05", "code+id_token"),
        ("az_05", "CODE"),
        // Exactly `code`: a list naming it twice, or with empty members, is not.
        ("az_05", "code+code"),
        ("az_05", "code+"),
        ("az_05", "+code"),
        ("im_02", "code%20token"),
        ("im_02", "token%20id_token"),
        ("im_02", "code%20id_token%20token"),
    ] {
        let query = format!("response_type={response_type}&client_id=app&{PKCE}");
        cases.push((rule, query, "unsupported_response_type"));
    }
    for scope in ["admin", "read%20admin", "re%22ad"] {
        cases.push(("sc_02", q(&format!("scope={scope}")), "invalid_scope"));
    }
    cases
}

/// AZ-05, AZ-06, IM-02 and SC-02: each of [`redirect_errors`] redirects its error.
#[test]
fn az_05_az_06_im_02_sc_02_bad_requests_redirect_their_error() {
    let h = harness();
    for (case, query, error) in redirect_errors() {
        let response = redirect_error(h.authorize(&query));
        assert_eq!(
            location_param(&response, "error").as_deref(),
            Some(error),
            "{case}"
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
    let response = redirect_error(h.authorize(&code_query("cc")));
    assert_location_error(&response, "unauthorized_client");
    assert!(location(&response).starts_with("https://cc.example.com/cb?"));
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
    assert_location_error(&error.into_response(), "invalid_scope");
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

#[test]
fn az_09_storage_failure_on_approve_redirects_server_error() {
    let faults: [(fn() -> StorageError, _); 2] = [
        (|| StorageError::new("db down at 10.0.0.7"), "server_error"),
        (
            || StorageError::transient("timeout at 10.0.0.7"),
            "temporarily_unavailable",
        ),
    ];
    for (fault, code) in faults {
        let h = harness_with(|b| b.code_store(Arc::new(FailingCodes(fault))));
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
    assert_no_cors(&response);
    let response = h.authorize(APP).unwrap().deny();
    assert_no_cors(&response);
}

#[test]
fn az_11_public_clients_are_not_identity_assured() {
    let h = harness();
    assert!(!h.authorize(APP).unwrap().identity_assured());
    let conf = code_query("conf");
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
        assert_location_error(&response, "server_error");
        assert_eq!(location_param(&response, "code"), None);
    }
}

#[test]
fn az_08_approving_nothing_is_access_denied_not_an_empty_code() {
    let h = harness();
    let pending = h.authorize(&q("scope=read")).unwrap();
    // The user granted none of the requested scopes.
    let response = h.approve(pending, "alice", "");
    assert_location_error(&response, "access_denied");
    assert_eq!(location_param(&response, "code"), None);
}

// ---- Redirect URI matching (RU) ----

fn vru_query(uri: &str) -> String {
    format!(
        "response_type=code&client_id=vru&redirect_uri={}&{PKCE}",
        enc(uri)
    )
}

fn vru(uri: &str) -> Result<PendingAuthorization, AuthorizeError> {
    harness().authorize(&vru_query(uri))
}

/// Requests the endpoint refuses locally, never redirecting: (rule and case, query).
fn local_rejections() -> Vec<(&'static str, String)> {
    let state = |state: &str| format!("response_type=code&client_id=app&state={state}&{PKCE}");
    let cb = "https%3A%2F%2Fclient.example.com%2Fcb";
    let mut cases = vec![
        (
            "az_02 no client_id",
            "response_type=code&state=x".to_owned(),
        ),
        (
            "az_02 empty client_id",
            "response_type=code&client_id=&state=x".to_owned(),
        ),
        ("az_02 repeated client_id", q("client_id=app")),
        ("az_02 two client_ids", q("client_id=app2")),
        (
            "az_03 unregistered",
            q("redirect_uri=https%3A%2F%2Fclient.example.com%2Fother"),
        ),
        (
            "az_03 repeated redirect_uri",
            q(&format!("redirect_uri={cb}&redirect_uri={cb}")),
        ),
        ("az_03_ru_09 two registered, none sent", code_query("multi")),
        ("st_03 2049 bytes", state(&"a".repeat(2049))),
        ("st_03 10 KiB", state(&"a".repeat(10 * 1024))),
        ("st_03 repeated state", q("state=two")),
    ];
    for bad in ["%0A", "%C3%A9", "%7F", "a%09b"] {
        cases.push(("st_03 non-VSCHAR state", state(bad)));
    }
    for (rule, uri) in [
        ("ru_03", "https://evil.client.example.com/cb"),
        ("ru_03", "https://client.example.com/cb/evil"),
        ("ru_04", "https://client.example.com/cb#x"),
        ("ru_04", "https://client.example.com/cb#"),
        ("ru_05", "http://127.0.0.1:51004/cb2"),
        ("ru_05", "http://127.0.0.1:51004/callback?x=1"),
        ("ru_05", "https://127.0.0.1:51004/callback"),
        ("ru_05", "http://[::1]:61023/cb/"),
        ("ru_06", "https://client.example.com:8443/cb"),
        ("ru_06", "http://127.0.0.1.nip.io:8080/callback"),
        ("ru_06", "http://127.1:8080/callback"),
        ("ru_06", "http://0x7f.0.0.1:8080/callback"),
        ("ru_06", "http://localhost.evil.com:8080/callback"),
        ("ru_06", "http://user@127.0.0.1:8080/callback"),
    ] {
        cases.push((rule, vru_query(uri)));
    }
    cases
}

/// AZ-02, AZ-03, RU-03..RU-06, RU-09 and ST-03: each of [`local_rejections`] is refused
/// locally.
#[test]
fn az_02_az_03_ru_03_ru_04_ru_05_ru_06_ru_09_st_03_bad_requests_are_rejected_locally() {
    let h = harness();
    for (case, query) in local_rejections() {
        match h.authorize(&query) {
            Err(AuthorizeError::Rejected(_)) => {}
            other => panic!("{case}: {query:.80}: expected a local rejection, got {other:?}"),
        }
    }
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
fn ru_03_no_wildcard_redirect_uri_at_registration() {
    assert!(build("https://*.example.com/cb").is_err());
}

#[test]
fn ru_05_loopback_port_is_free_path_scheme_and_query_are_not() {
    assert!(vru("http://127.0.0.1:51004/callback").is_ok());
    assert!(vru("http://[::1]/cb").is_ok());
    assert!(vru("http://[::1]:61023/cb").is_ok());
}

#[test]
fn ru_05_the_response_goes_to_the_requested_loopback_port() {
    let h = harness();
    let pending = h.authorize(&vru_query("http://127.0.0.1:51004/callback"));
    let response = h.approve(pending.unwrap(), "alice", "read");
    assert!(location(&response).starts_with("http://127.0.0.1:51004/callback?code="));
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
    assert!(build("http://127.0.0.1:0/cb").is_err());
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

/// A public code-flow client registering `uri`.
fn build(uri: &str) -> Result<Client, ClientError> {
    Client::builder("x", ClientType::Public)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .redirect_uri(uri)
        .build()
}

#[test]
fn ru_08_scheme_rules_at_registration() {
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
    assert!(h.authorize(&code_query("app")).is_ok());
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
fn st_03_a_state_of_2048_bytes_is_accepted() {
    let state = "a".repeat(2048);
    assert!(
        harness()
            .authorize(&q("").replace("state=xyz", &format!("state={state}")))
            .is_ok()
    );
}

// ---- iss (IS) and mix-up (MX) ----

#[test]
fn is_01_iss_on_success_and_error_redirects() {
    let h = harness();
    let ok = h.approve(h.authorize(APP).unwrap(), "alice", "read");
    let denied = h.authorize(APP).unwrap().deny();
    let error = redirect_error(h.authorize(&q("scope=unknown")));
    for response in [ok, denied, error] {
        assert!(location(&response).ends_with("&iss=https%3A%2F%2Fas.example.com"));
    }
}

/// A server at `issuer` over the fixture clients.
fn server_at(issuer: &str) -> Server {
    let tokens = Arc::new(MemoryTokenStore::new());
    Server::builder(issuer, clients(), tokens).build().unwrap()
}

#[test]
fn is_02_v_iss_encoding() {
    let server = server_at("https://honest.as.example");
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

const ISSUER_T1: &str = "https://as.example.com/t1";
const ISSUER_T2: &str = "https://as.example.com/t2";

#[test]
fn is_04_each_tenant_sends_its_own_iss() {
    let (t1, t2) = (server_at(ISSUER_T1), server_at(ISSUER_T2));
    let iss = |server: &Server| {
        let response = block_on(server.authorize(&get(APP))).unwrap().deny();
        location_param(&response, "iss").unwrap()
    };
    assert_eq!(iss(&t1), ISSUER_T1);
    assert_eq!(iss(&t2), ISSUER_T2);
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
        assert!(location(&response).starts_with(&format!("{uri}?code=")));
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
