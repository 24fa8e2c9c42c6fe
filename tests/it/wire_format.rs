//! The token endpoint on the wire: exact status, headers and JSON for every path
//! (TE-01..TE-05, TE-12, TE-13, ER-02, ER-03), bounded input, and storage faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use crate::support::faults::{DETAIL, FailingClients, FailingTokens, causes};
use crate::support::token::*;
use async_trait::async_trait;
use grantflow::grant::{GrantHandler, Rejection, TokenGrant};
use grantflow::limiter::{AttemptKey, AttemptLimiter, MemoryAttemptLimiter, Outcome, Throttle};
use grantflow::{
    AuthMethod, Client, ClientId, ClientRegistry, ClientSecret, ClientType, ConfigError, Error,
    ErrorCode, FormLimits, GrantRequest, GrantType, HttpRequest, HttpResponse,
    MemoryClientRegistry, MemoryTokenStore, Method, OAuthError, Server, StorageError, Subject,
};

// ---------------------------------------------------------------------------------------
// TE-01: POST only
// ---------------------------------------------------------------------------------------

#[test]
fn te_01_other_methods_get_405_with_allow_post() {
    let h = Harness::new();
    for method in [Method::Get, Method::Other, Method::Head, Method::Options] {
        // Even a request that would be valid as a POST.
        let request = backend_cc_as(method, Some(FORM)).with_query("grant_type=client_credentials");
        let response = h.token(&request);
        assert_eq!(response.status.as_u16(), 405, "{method:?}");
        assert_eq!(response.header("allow"), Some("POST"), "{method:?}");
        assert_error(&response, 405, "invalid_request");
    }
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_01_method_names_map_to_405() {
    let h = Harness::new();
    for name in ["GET", "PUT", "DELETE", "PATCH", "post"] {
        let request = backend_cc_as(Method::from_name(name), Some(FORM));
        let response = h.token(&request);
        assert_eq!(response.status.as_u16(), 405, "{name}");
        assert_eq!(response.header("allow"), Some("POST"));
    }
}

// ---------------------------------------------------------------------------------------
// TE-02: form content type, UTF-8
// ---------------------------------------------------------------------------------------

#[test]
fn te_02_form_content_type_with_utf8_charset_is_accepted() {
    let h = Harness::new();
    for content_type in [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded;charset=UTF-8",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/x-www-form-urlencoded; charset=\"UTF-8\"",
        "Application/X-WWW-Form-Urlencoded",
    ] {
        let request = backend_cc_as(Method::Post, Some(content_type));
        assert_token(&h.token(&request), "read");
    }
}

#[test]
fn te_02_other_content_types_are_invalid_request() {
    let h = Harness::new();
    let auth = basic(BACKEND.0, BACKEND.1);
    let form = cc_body(None);
    let json_body = br#"{"grant_type":"client_credentials"}"#.as_slice();
    for (content_type, body) in [
        (Some("application/json"), json_body),
        (Some("application/json"), form.as_bytes()),
        (
            Some("multipart/form-data; boundary=XyZ"),
            b"--XyZ\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--XyZ--\r\n".as_slice(),
        ),
        (None, form.as_bytes()),
        (Some(""), form.as_bytes()),
        (Some("text/plain"), form.as_bytes()),
        (Some("application/x-www-form-urlencoded; charset=latin1"), form.as_bytes()),
        (Some("application/x-www-form-urlencoded; charset=iso-8859-1"), form.as_bytes()),
        (Some("application/x-www-form-urlencoded-extra"), form.as_bytes()),
    ] {
        let request = raw_request(Method::Post, content_type, &[("Authorization", &auth)], body);
        assert_error(&h.token(&request), 400, "invalid_request");
    }
    assert_eq!(h.stored(), 0);
}

// ---------------------------------------------------------------------------------------
// TE-03: repeated parameters, empty values, unknown parameters
// ---------------------------------------------------------------------------------------

#[test]
fn te_03_repeated_parameter_is_invalid_request() {
    let h = Harness::new();
    for body in [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=read&scope=write",
        "grant_type=client_credentials&scope=read&scope=",
        "grant_type=client_credentials&scope=&scope=read",
        "grant_type=client_credentials&gr%61nt_type=client_credentials",
        "grant_type=client_credentials&foo=1&foo=2",
    ] {
        assert_error(&h.token(&backend(body)), 400, "invalid_request");
    }
    // A repeated client_id with client_secret_post.
    let response = h.token(&post_form(format!(
        "{CC}&client_id={}&client_id={}&client_secret={}",
        POSTER.0,
        POSTER.0,
        enc(POSTER.1)
    )));
    assert_error(&response, 400, "invalid_request");
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_03_empty_value_counts_as_absent() {
    let h = Harness::new();
    // `scope=` uses the default scope.
    let response = h.token(&backend("grant_type=client_credentials&scope="));
    assert_token(&response, "read");
    // An empty client_secret next to Basic is not a second method.
    let response = h.token(&backend(
        "grant_type=client_credentials&client_secret=&client_id=",
    ));
    assert_token(&response, "read");
    // An empty grant_type is a missing grant_type.
    assert_error(&h.token(&backend("grant_type=")), 400, "invalid_request");
}

#[test]
fn te_03_unknown_parameters_are_ignored() {
    let h = Harness::new();
    let response = h.token(&backend(
        "foo=1&grant_type=client_credentials&bar=&x%20y=z&&=orphan&flag",
    ));
    assert_token(&response, "read");
}

// ---------------------------------------------------------------------------------------
// TE-04: no credentials in the query
// ---------------------------------------------------------------------------------------

/// A registry that counts lookups, over the fixture registry.
#[derive(Debug)]
struct CountingRegistry {
    inner: MemoryClientRegistry,
    finds: AtomicUsize,
}

#[async_trait]
impl ClientRegistry for CountingRegistry {
    async fn find(&self, client_id: &ClientId) -> Result<Option<Arc<Client>>, StorageError> {
        self.finds.fetch_add(1, Ordering::SeqCst);
        self.inner.find(client_id).await
    }
}

/// A limiter that counts every call, over the default limiter.
#[derive(Debug, Default)]
struct CountingLimiter {
    inner: MemoryAttemptLimiter,
    calls: AtomicUsize,
}

#[async_trait]
impl AttemptLimiter for CountingLimiter {
    async fn check(&self, key: &AttemptKey, now: SystemTime) -> Result<Throttle, StorageError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.check(key, now).await
    }

    async fn record(
        &self,
        key: &AttemptKey,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<Throttle, StorageError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.record(key, outcome, now).await
    }
}

struct Counted {
    server: Server,
    registry: Arc<CountingRegistry>,
    limiter: Arc<CountingLimiter>,
    tokens: Arc<MemoryTokenStore>,
}

fn counted() -> Counted {
    let registry = Arc::new(CountingRegistry {
        inner: fixture_registry(),
        finds: AtomicUsize::new(0),
    });
    let limiter = Arc::new(CountingLimiter::default());
    let tokens = Arc::new(MemoryTokenStore::new());
    let server = Server::builder(ISSUER, registry.clone(), tokens.clone())
        .clock(Arc::new(grantflow::clock::ManualClock::new(t0())))
        .access_token_ttl(TTL)
        .attempt_limiter(limiter.clone())
        .build()
        .unwrap();
    Counted {
        server,
        registry,
        limiter,
        tokens,
    }
}

#[test]
fn te_04_credentials_in_the_query_are_refused_before_authentication() {
    let c = counted();
    for query in [
        format!("client_secret={}", enc(BACKEND.1)),
        format!("client_id={}&client_secret={}", BACKEND.0, enc(BACKEND.1)),
        "client_secret=wrong".to_owned(),
        "client_assertion=eyJ.e30.".to_owned(),
        "refresh_token=abc".to_owned(),
        "code=abc".to_owned(),
        "password=hunter2".to_owned(),
        "grant_type=client_credentials&client_secret=x".to_owned(),
    ] {
        // With valid Basic credentials: the request would otherwise succeed.
        let request = backend_cc().with_query(query.clone());
        let response = block_on(c.server.token(&request)).unwrap();
        assert_error(&response, 400, "invalid_request");
        // Also with the secret only in the query.
        let request = post_form(format!("{CC}&client_id={}", POSTER.0)).with_query(query.clone());
        let response = block_on(c.server.token(&request)).unwrap();
        assert_error(&response, 400, "invalid_request");
        assert!(!String::from_utf8_lossy(&response.body).contains(BACKEND.1));
    }
    assert_eq!(
        c.registry.finds.load(Ordering::SeqCst),
        0,
        "no client lookup"
    );
    assert_eq!(
        c.limiter.calls.load(Ordering::SeqCst),
        0,
        "limiter untouched"
    );
    assert_eq!(c.tokens.len(), 0);
}

#[test]
fn te_04_query_without_credentials_is_allowed() {
    // RFC 6749 §3.2: the endpoint URI may have a query component.
    let c = counted();
    let request = backend_cc().with_query("tenant=blue&x=");
    assert_token(&block_on(c.server.token(&request)).unwrap(), "read");
    assert!(c.registry.finds.load(Ordering::SeqCst) >= 1);
}

#[test]
fn te_04_the_rest_of_the_endpoint_query_is_ignored() {
    // Whatever the endpoint URL's own query holds (repeats, bad escapes, invalid UTF-8,
    // hundreds of names), it is not a request parameter and is not judged.
    let c = counted();
    let many = (0..300)
        .map(|i| format!("p{i}=1"))
        .collect::<Vec<_>>()
        .join("&");
    for query in [
        "a=1&a=2",
        "x=%ff",
        "%zz=1",
        "x=%",
        "a=1&a=1&b=%c3%28",
        many.as_str(),
    ] {
        let response = block_on(c.server.token(&backend_cc().with_query(query))).unwrap();
        assert_token(&response, "read");
    }
    // Credentials are still found among them, however the name is escaped.
    for query in [
        "a=1&a=2&c%6Fde=abc",
        "x=%ff&client_secret=x",
        "refresh%5Ftoken=r&%zz",
    ] {
        let response = block_on(c.server.token(&backend_cc().with_query(query))).unwrap();
        assert_error(&response, 400, "invalid_request");
    }
}

#[test]
fn te_04_query_parameters_are_not_read_as_request_parameters() {
    let h = Harness::new();
    // Only the body counts: a grant_type in the query is not a grant_type.
    let request = post_form("")
        .with_header("Authorization", basic(BACKEND.0, BACKEND.1))
        .with_query("grant_type=client_credentials");
    assert_error(&h.token(&request), 400, "invalid_request");
    // And a scope in the query does not change the issued scope.
    let request = backend_cc().with_query("scope=write");
    assert_token(&h.token(&request), "read");
    // Nor does a client_id in the query authenticate anyone.
    let request = post_form(cc_body(None)).with_query(format!("client_id={}", POSTER.0));
    assert_error(&h.token(&request), 401, "invalid_client");
}

// ---------------------------------------------------------------------------------------
// TE-05: grant_type rules
// ---------------------------------------------------------------------------------------

#[test]
fn te_05_missing_grant_type_is_invalid_request() {
    let h = Harness::new();
    for body in [
        "",
        "scope=read",
        "grant_type=",
        "GRANT_TYPE=client_credentials",
    ] {
        assert_error(&h.token(&backend(body)), 400, "invalid_request");
    }
}

#[test]
fn te_05_unknown_or_disabled_grant_type_is_unsupported_grant_type() {
    let h = Harness::new();
    for grant_type in [
        "foo",
        "password",
        "implicit",
        "token",
        "Client_Credentials",
        "client_credentials ",
        "urn:example:not-registered",
    ] {
        let body = format!("grant_type={}", enc(grant_type));
        assert_error(&h.token(&backend(body)), 400, "unsupported_grant_type");
    }
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_05_grant_not_registered_for_the_client_is_unauthorized_client() {
    let h = Harness::new();
    let response = h.token(&basic_request(CODE_ONLY.0, CODE_ONLY.1, cc_body(None)));
    assert_error(&response, 400, "unauthorized_client");
    assert_eq!(h.stored(), 0);
    // Only after authentication: a wrong secret is still invalid_client.
    let response = h.token(&basic_request(CODE_ONLY.0, "wrong", cc_body(None)));
    assert_error(&response, 401, "invalid_client");
}

/// An extension grant (DESIGN decision 11): `assertion=<user>` becomes a token for that
/// subject.
#[derive(Debug)]
struct ExampleGrant;

const EXAMPLE_GRANT: &str = "urn:example:params:grant-type:test";

#[async_trait]
impl GrantHandler for ExampleGrant {
    fn grant_type(&self) -> &str {
        EXAMPLE_GRANT
    }

    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
        let Some(user) = request.param("assertion") else {
            return Err(OAuthError::new(ErrorCode::INVALID_GRANT).into());
        };
        let scope = request.requested_scope()?;
        Ok(TokenGrant::new(scope).with_subject(Subject::new(user)))
    }
}

#[test]
fn te_05_extension_grant_handlers_are_dispatched_by_grant_type() {
    let h = Harness::with(|b| b.grant_handler(Arc::new(ExampleGrant)));
    assert!(h.server.grant_types().any(|g| g == EXAMPLE_GRANT));
    h.clients
        .insert(
            Client::builder("ext", ClientType::Confidential)
                .secret(&ClientSecret::from_presented("ext-secret".into()))
                .auth_method(AuthMethod::ClientSecretBasic)
                .grant_type(GrantType::new(EXAMPLE_GRANT))
                .allowed_scope("read")
                .default_scope("read")
                .build()
                .unwrap(),
        )
        .unwrap();
    let body = format!("grant_type={}&assertion=alice", enc(EXAMPLE_GRANT));
    let token = assert_token(
        &h.token(&basic_request("ext", "ext-secret", body.clone())),
        "read",
    );
    let record = h.record(&token).unwrap();
    assert_eq!(record.subject.as_ref().map(Subject::as_str), Some("alice"));
    // The handler's own rejection is rendered as is.
    let response = h.token(&basic_request(
        "ext",
        "ext-secret",
        format!("grant_type={}", enc(EXAMPLE_GRANT)),
    ));
    assert_error(&response, 400, "invalid_grant");
    // A known grant the client is not registered for.
    assert_error(&h.token(&backend(body)), 400, "unauthorized_client");
    // And the extension client may not use client_credentials.
    let response = h.token(&basic_request("ext", "ext-secret", cc_body(None)));
    assert_error(&response, 400, "unauthorized_client");
}

#[test]
fn te_05_two_handlers_for_one_grant_type_are_a_config_error() {
    #[derive(Debug)]
    struct Shadow;
    #[async_trait]
    impl GrantHandler for Shadow {
        fn grant_type(&self) -> &str {
            "client_credentials"
        }
        async fn handle(&self, _: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
            unreachable!("never registered")
        }
    }
    let result = fixture_server().grant_handler(Arc::new(Shadow)).build();
    assert_eq!(result.err(), Some(ConfigError::DuplicateGrantHandler));
}

// ---------------------------------------------------------------------------------------
// TE-12 / TE-13 / ER-02: every response, table-driven
// ---------------------------------------------------------------------------------------

/// Every negative case: (what, request, status, error).
fn negative_cases() -> Vec<(&'static str, HttpRequest, u16, &'static str)> {
    let auth = basic(BACKEND.0, BACKEND.1);
    let with_auth = |body: &str| post_form(body).with_header("Authorization", &auth);
    let mut cases = Vec::new();
    let mut expect = |status, error, requests: Vec<(&'static str, HttpRequest)>| {
        cases.extend(
            requests
                .into_iter()
                .map(|(what, r)| (what, r, status, error)),
        );
    };
    expect(
        405,
        "invalid_request",
        vec![
            (
                "GET",
                HttpRequest::new(Method::Get).with_query("grant_type=client_credentials"),
            ),
            (
                "PUT",
                raw_request(Method::Other, Some(FORM), &[], cc_body(None).as_bytes()),
            ),
        ],
    );
    expect(
        400,
        "invalid_request",
        vec![
            ("no content type", backend_cc_as(Method::Post, None)),
            (
                "JSON body",
                raw_request(
                    Method::Post,
                    Some("application/json"),
                    &[("Authorization", &auth)],
                    br#"{"grant_type":"client_credentials"}"#,
                ),
            ),
            (
                "multipart",
                backend_cc_as(Method::Post, Some("multipart/form-data; boundary=b")),
            ),
            (
                "latin1",
                backend_cc_as(
                    Method::Post,
                    Some("application/x-www-form-urlencoded; charset=latin1"),
                ),
            ),
            (
                "repeated grant_type",
                with_auth("grant_type=client_credentials&grant_type=client_credentials"),
            ),
            (
                "repeated scope",
                with_auth("grant_type=client_credentials&scope=read&scope=write"),
            ),
            (
                "secret in query",
                backend_cc().with_query(format!("client_secret={}", enc(BACKEND.1))),
            ),
            ("missing grant_type", with_auth("scope=read")),
            (
                "Basic + body secret",
                with_auth(&format!("{CC}&client_secret=x")),
            ),
            (
                "Basic + other body client_id",
                with_auth(&format!("{CC}&client_id={}", OTHER.0)),
            ),
            (
                "two Authorization headers",
                backend_cc().with_header("Authorization", &auth),
            ),
        ],
    );
    expect(
        400,
        "unsupported_grant_type",
        vec![
            ("unknown grant_type", with_auth("grant_type=foo")),
            (
                "password grant",
                with_auth("grant_type=password&username=u&password=p"),
            ),
        ],
    );
    expect(
        400,
        "unauthorized_client",
        vec![
            (
                "grant not registered",
                basic_request(CODE_ONLY.0, CODE_ONLY.1, cc_body(None)),
            ),
            ("public client", post_form(format!("{CC}&client_id={SPA}"))),
        ],
    );
    expect(
        401,
        "invalid_client",
        vec![
            ("no credentials", post_form(cc_body(None))),
            (
                "wrong Basic secret",
                basic_request(BACKEND.0, "wrong", cc_body(None)),
            ),
            (
                "wrong post secret",
                post_request(POSTER.0, "wrong", &cc_body(None)),
            ),
            (
                "unknown client",
                basic_request("nobody", "x", cc_body(None)),
            ),
            (
                "malformed Basic",
                post_form(cc_body(None)).with_header("Authorization", "Basic %%%"),
            ),
            (
                "V-BASIC-NEG",
                post_form(cc_body(None)).with_header("Authorization", V_BASIC_NEG),
            ),
            (
                "Basic client using post",
                post_request(BACKEND.0, BACKEND.1, &cc_body(None)),
            ),
            (
                "post client using Basic",
                basic_request(POSTER.0, POSTER.1, cc_body(None)),
            ),
            (
                "confidential client with client_id only",
                post_form(format!("{CC}&client_id={}", BACKEND.0)),
            ),
        ],
    );
    expect(
        400,
        "invalid_scope",
        vec![
            (
                "disallowed scope",
                with_auth("grant_type=client_credentials&scope=admin"),
            ),
            (
                "malformed scope (V-ERR)",
                with_auth("grant_type=client_credentials&scope=caf%C3%A9%22x"),
            ),
            (
                "backslash in scope",
                with_auth("grant_type=client_credentials&scope=a%5Cb"),
            ),
            (
                "no scope, no default",
                basic_request(NO_DEFAULT.0, NO_DEFAULT.1, cc_body(None)),
            ),
        ],
    );
    for (what, body) in oversized_bodies() {
        cases.push((what, with_auth_bytes(&auth, body), 400, "invalid_request"));
    }
    cases
}

fn with_auth_bytes(auth: &str, body: Vec<u8>) -> HttpRequest {
    post_form(body).with_header("Authorization", auth)
}

/// Bodies that break the form limits or the encoding, each otherwise a valid request.
fn oversized_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let base = cc_body(None);
    let many: String = (0..32).map(|i| format!("&p{i}=1")).collect();
    vec![
        (
            "body over 16 KiB",
            format!("{base}&pad={}", "a".repeat(16 * 1024)).into_bytes(),
        ),
        (
            "body over 16 KiB of separators",
            format!("{base}{}", "&".repeat(16 * 1024)).into_bytes(),
        ),
        ("33 parameters", format!("{base}{many}").into_bytes()),
        (
            "5 KiB value",
            format!("{base}&scope={}", "a".repeat(5 * 1024)).into_bytes(),
        ),
        (
            "5 KiB name",
            format!("{base}&{}=1", "n".repeat(5 * 1024)).into_bytes(),
        ),
        (
            "invalid UTF-8",
            [base.as_bytes(), b"&scope=\xff\xfe"].concat(),
        ),
        (
            "invalid UTF-8 escape",
            format!("{base}&scope=%FF").into_bytes(),
        ),
        (
            "overlong UTF-8 escape",
            format!("{base}&scope=%C0%AF").into_bytes(),
        ),
        ("bad escape %zz", format!("{base}&scope=%zz").into_bytes()),
        ("short escape", format!("{base}&scope=%4").into_bytes()),
        ("trailing %", format!("{base}&scope=read%").into_bytes()),
        (
            "bad escape in a name",
            format!("{base}&sc%ope=read").into_bytes(),
        ),
        ("NUL-free garbage", b"\xc3\x28=\xa0\xa1".to_vec()),
    ]
}

#[test]
fn te_13_every_negative_case_has_its_status_error_and_content_type() {
    let h = Harness::new();
    for (what, request, status, code) in negative_cases() {
        let response = h.token(&request);
        assert_eq!(
            response.status.as_u16(),
            status,
            "{what}: {:?}",
            String::from_utf8_lossy(&response.body)
        );
        // assert_error: status, content-type json, no-store, pragma, `error`, only §5.2
        // members, ER-02 characters in error_description.
        let body = assert_error(&response, status, code);
        assert!(!body.contains_key("access_token"), "{what}");
        let text = String::from_utf8_lossy(&response.body);
        for secret in [BACKEND.1, POSTER.1, "wrong"] {
            assert!(!text.contains(secret), "{what} echoes a secret: {text}");
        }
    }
    assert_eq!(h.stored(), 0, "no negative case stores anything");
}

#[test]
fn te_13_invalid_client_is_401_with_a_challenge_and_other_errors_have_none() {
    let h = Harness::new();
    for (what, request, status, code) in negative_cases() {
        let response = h.token(&request);
        if code == "invalid_client" {
            assert_eq!(status, 401, "{what}");
            assert_basic_challenge(&response);
        } else {
            assert_eq!(response.header("www-authenticate"), None, "{what}");
        }
    }
}

#[test]
fn er_02_error_description_never_echoes_forbidden_characters() {
    let h = Harness::new();
    // Parameter names are the only request text the crate might echo (a repeated name).
    for body in [
        "grant_type=client_credentials&caf%C3%A9%22%5C%09x=1&caf%C3%A9%22%5C%09x=2",
        "grant_type=client_credentials&%22=1&%22=2",
        "grant_type=client_credentials&scope=%22%5C%0A%C3%A9",
        "grant_type=%22%5C%C3%A9",
    ] {
        let response = h.token(&backend(body));
        assert_eq!(response.status.as_u16(), 400, "{body}");
        let json = json(&response);
        let description = json
            .get("error_description")
            .and_then(|d| d.as_str())
            .unwrap_or("");
        assert!(is_er02(description), "{description:?}");
        assert!(is_er02(json["error"].as_str().unwrap()));
    }
}

#[test]
fn te_12_every_token_endpoint_response_is_json_no_store() {
    let h = Harness::new();
    let mut responses: Vec<(String, HttpResponse)> = negative_cases()
        .into_iter()
        .map(|(what, request, _, _)| (what.to_owned(), h.token(&request)))
        .collect();
    responses.push(("success".into(), h.token(&backend_cc())));
    responses.push((
        "success via post".into(),
        h.token(&post_request(POSTER.0, POSTER.1, &cc_body(None))),
    ));
    // A throttled answer (401 with `Retry-After`).
    let throttled = loop {
        let response = h.token(&basic_request(OTHER.0, "guess", cc_body(None)));
        assert_eq!(response.status.as_u16(), 401);
        if response.header("retry-after").is_some() {
            break response;
        }
    };
    responses.push(("throttled".into(), throttled));
    for (what, response) in &responses {
        assert_eq!(response.header("cache-control"), Some("no-store"), "{what}");
        assert_eq!(response.header("pragma"), Some("no-cache"), "{what}");
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{what}"
        );
        // One of each, no conflicting duplicates.
        for name in ["cache-control", "pragma", "content-type"] {
            assert_eq!(
                response.headers.iter().filter(|x| x.name == name).count(),
                1,
                "{what}: {name}"
            );
        }
        // Every header name is lower case, as documented.
        assert!(
            response
                .headers
                .iter()
                .all(|x| x.name == x.name.to_ascii_lowercase())
        );
        json(response);
    }
}

// ---------------------------------------------------------------------------------------
// Bounded input
// ---------------------------------------------------------------------------------------

#[test]
fn oversized_or_malformed_input_is_invalid_request_and_stores_nothing() {
    let h = Harness::new();
    let auth = basic(BACKEND.0, BACKEND.1);
    for (what, body) in oversized_bodies() {
        let before = h.stored();
        let response = h.token(&with_auth_bytes(&auth, body));
        assert_eq!(response.status.as_u16(), 400, "{what}");
        assert_error(&response, 400, "invalid_request");
        assert_eq!(h.stored(), before, "{what}");
    }
}

#[test]
fn form_limits_boundaries_are_inclusive() {
    let h = Harness::new();
    let auth = basic(BACKEND.0, BACKEND.1);
    // Exactly 32 parameters: accepted.
    let many: String = (0..31).map(|i| format!("&p{i}=1")).collect();
    let response = h.token(&with_auth_bytes(&auth, format!("{CC}{many}").into_bytes()));
    assert_token(&response, "read");
    // A 4 KiB value passes the form limits and reaches the scope rules.
    let response = h.token(&with_auth_bytes(
        &auth,
        format!("{CC}&scope={}", "a".repeat(4 * 1024)).into_bytes(),
    ));
    assert_error(&response, 400, "invalid_scope");
    // A body of exactly 16 KiB is accepted.
    let body = format!("{CC}&pad=");
    let pad = 16 * 1024 - body.len();
    let response = h.token(&with_auth_bytes(
        &auth,
        format!("{body}{}", "&".repeat(pad)).into_bytes(),
    ));
    assert_token(&response, "read");
}

#[test]
fn form_limits_are_configurable() {
    let h = Harness::with(|b| {
        b.form_limits(FormLimits {
            max_body_bytes: 256,
            max_parameters: 3,
            max_value_bytes: 32,
        })
    });
    let auth = basic(BACKEND.0, BACKEND.1);
    let ok = with_auth_bytes(
        &auth,
        b"grant_type=client_credentials&scope=read&x=1".to_vec(),
    );
    assert_token(&h.token(&ok), "read");
    for body in [
        "grant_type=client_credentials&scope=read&x=1&y=2".to_owned(),
        format!("grant_type=client_credentials&x={}", "a".repeat(33)),
        format!("grant_type=client_credentials{}", "&".repeat(256)),
    ] {
        let response = h.token(&with_auth_bytes(&auth, body.into_bytes()));
        assert_error(&response, 400, "invalid_request");
    }
    // Zero limits are refused at build time.
    let result = fixture_server()
        .form_limits(FormLimits {
            max_body_bytes: 0,
            ..FormLimits::default()
        })
        .build();
    assert!(matches!(result, Err(ConfigError::Setting(_))));
}

#[test]
fn oversized_query_is_invalid_request() {
    let h = Harness::new();
    let response = h.token(&backend_cc().with_query("x=".to_owned() + &"a".repeat(20_000)));
    assert_error(&response, 400, "invalid_request");
    assert_eq!(h.stored(), 0);
}

// ---------------------------------------------------------------------------------------
// Storage faults: Err, rendered as an opaque server_error
// ---------------------------------------------------------------------------------------

/// The store's failure: a refused connection with an internal detail.
fn refused() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionRefused, DETAIL)
}

fn failing_server(fault: fn() -> StorageError) -> Server {
    Server::builder(
        ISSUER,
        Arc::new(fixture_registry()),
        Arc::new(FailingTokens(fault)),
    )
    .clock(Arc::new(grantflow::clock::ManualClock::new(t0())))
    .build()
    .unwrap()
}

#[test]
fn er_05_storage_failure_is_an_err_rendered_as_opaque_server_error() {
    let server = failing_server(|| StorageError::new(refused()));
    let error = block_on(server.token(&backend_cc())).expect_err("the store failed");
    assert!(matches!(error, Error::Storage(_)), "{error:?}");
    // The cause is kept for the host's logs...
    let chain = causes(&error);
    assert!(chain.contains("hunter2"), "{chain}");
    // ...and never reaches the wire.
    let response = error.to_response();
    assert_eq!(response.status.as_u16(), 500);
    assert_token_headers(&response);
    assert_eq!(response.body, br#"{"error":"server_error"}"#);
    assert_eq!(response.header("www-authenticate"), None);
    assert_eq!(error.to_oauth_error().code(), &ErrorCode::SERVER_ERROR);
    assert_eq!(error.to_oauth_error().description(), None);
    assert!(!error.to_string().contains("hunter2"));
}

#[test]
fn transient_storage_failure_is_temporarily_unavailable() {
    let server = failing_server(|| StorageError::transient(refused()));
    let error = block_on(server.token(&backend_cc())).expect_err("the store failed");
    let response = error.to_response();
    assert_eq!(response.status.as_u16(), 503);
    assert_token_headers(&response);
    assert_eq!(response.body, br#"{"error":"temporarily_unavailable"}"#);
}

#[test]
fn storage_is_not_touched_by_rejected_requests() {
    // A failing store cannot turn a protocol error into an Err: rejected requests never
    // reach it.
    let server = failing_server(|| StorageError::new(refused()));
    for (what, request, status, code) in negative_cases() {
        let response = block_on(server.token(&request))
            .unwrap_or_else(|e| panic!("{what}: rejected requests must not hit the store: {e}"));
        assert_error(&response, status, code);
    }
}

#[test]
fn er_05_registry_failure_is_an_err_not_invalid_client() {
    let registry = Arc::new(FailingClients(|| StorageError::new(DETAIL)));
    let server = Server::builder(ISSUER, registry, Arc::new(MemoryTokenStore::new()))
        .build()
        .unwrap();
    let error = block_on(server.token(&backend_cc())).expect_err("the registry failed");
    let response = error.to_response();
    assert_eq!(response.status.as_u16(), 500);
    assert_eq!(response.body, br#"{"error":"server_error"}"#);
    // Requests refused before any lookup are still answered.
    let response = block_on(server.token(&post_form("grant_type=foo"))).unwrap();
    assert_error(&response, 400, "unsupported_grant_type");
}

// ---------------------------------------------------------------------------------------
// Token issuer plug-in: its output is escaped, its failure is an Err
// ---------------------------------------------------------------------------------------

/// An issuer returning fixed text, or failing.
#[derive(Debug)]
struct FixedIssuer(Option<&'static str>);

#[async_trait]
impl grantflow::TokenIssuer for FixedIssuer {
    async fn access_token(
        &self,
        _claims: &grantflow::issuer::TokenClaims<'_>,
        _random: &dyn grantflow::random::Random,
    ) -> Result<grantflow::secret::AccessToken, grantflow::issuer::IssueError> {
        match self.0 {
            Some(text) => Ok(grantflow::secret::AccessToken::from_presented(
                text.to_owned(),
            )),
            None => Err(grantflow::issuer::IssueError::new(DETAIL)),
        }
    }

    async fn refresh_token(
        &self,
        _claims: &grantflow::issuer::TokenClaims<'_>,
        _random: &dyn grantflow::random::Random,
    ) -> Result<grantflow::secret::RefreshToken, grantflow::issuer::IssueError> {
        Err(grantflow::issuer::IssueError::new(DETAIL))
    }
}

#[test]
fn te_11_custom_token_text_is_json_escaped() {
    for text in [
        "plain.jwt.like-token_~",
        "quote\"back\\slash",
        "control\u{1}\n\t\u{1f}end",
        "caf\u{e9} \u{20ac} \u{1f600}",
        "</script>",
    ] {
        let h = Harness::with(|b| b.token_issuer(Arc::new(FixedIssuer(Some(text)))));
        let response = h.token(&backend_cc());
        let token = assert_token(&response, "read");
        assert_eq!(token, text);
        assert!(h.record(text).is_some());
    }
}

#[test]
fn er_05_issuer_failure_is_an_err_rendered_as_server_error() {
    let h = Harness::with(|b| b.token_issuer(Arc::new(FixedIssuer(None))));
    let error = block_on(h.server.token(&backend_cc())).expect_err("the issuer failed");
    assert!(matches!(error, Error::Issue(_)), "{error:?}");
    let response = error.to_response();
    assert_eq!(response.status.as_u16(), 500);
    assert_eq!(response.body, br#"{"error":"server_error"}"#);
    assert_eq!(h.stored(), 0, "nothing stored when minting fails");
}
