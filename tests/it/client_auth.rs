//! Client authentication at the token endpoint: TE-06..TE-10 and TE-14.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::token::*;
use grantflow::{HttpRequest, HttpResponse};

/// A client credentials request with `Authorization: <header>`.
fn cc_with(header: impl AsRef<str>) -> HttpRequest {
    post_form(cc_body(None)).with_header("Authorization", header)
}

// ---------------------------------------------------------------------------------------
// TE-06: client_secret_basic, form-url-decoded
// ---------------------------------------------------------------------------------------

#[test]
fn te_06_basic_credentials_are_form_url_decoded() {
    let h = Harness::new();
    for (id, secret) in V_BASIC_CLIENTS {
        let response = h.token(&basic_request(id, secret, cc_body(None)));
        let token = assert_token(&response, "read");
        assert_eq!(
            h.record(&token).unwrap().client_id.as_str(),
            id,
            "{id:?} / {secret:?}"
        );
    }
}

#[test]
fn te_06_every_v_basic_vector_authenticates() {
    let h = Harness::new();
    for (vector, header, id) in V_BASIC {
        let response = h.token(&cc_with(header));
        assert_eq!(response.status.as_u16(), 200, "{vector}: {response:?}");
        let token = assert_token(&response, "read");
        assert_eq!(h.record(&token).unwrap().client_id.as_str(), id, "{vector}");
    }
}

#[test]
fn te_06_both_spellings_of_an_unreserved_character_are_accepted() {
    // V-BASIC-6: `~` raw and as `%7E` decode to the same value, in the id and the secret.
    let h = Harness::new();
    for raw in ["c~1:s~2", "c%7E1:s%7E2", "c%7e1:s~2", "c~1:s%7E2"] {
        let response = h.token(&cc_with(basic_raw(raw)));
        assert_token(&response, "read");
    }
}

#[test]
fn te_06_scheme_name_is_case_insensitive_and_padding_optional() {
    let h = Harness::new();
    let encoded = basic(BACKEND.0, BACKEND.1);
    let token68 = encoded.strip_prefix("Basic ").unwrap();
    for header in [
        format!("basic {token68}"),
        format!("BASIC {token68}"),
        format!("Basic {}", token68.trim_end_matches('=')),
    ] {
        let response = h.token(&cc_with(header));
        assert_token(&response, "read");
    }
}

#[test]
fn te_06_v_basic_neg_unencoded_colon_in_the_id_fails() {
    let h = Harness::new();
    let response = h.token(&cc_with(V_BASIC_NEG));
    let body = assert_error(&response, 401, "invalid_client");
    assert_basic_challenge(&response);
    assert!(!body.contains_key("access_token"));
    // An id containing ':' works only when encoded.
    let response = h.token(&cc_with(basic_raw(
        "urn:example:client:s3cr3t%2Fwith%2Bplus%26amp%3Deq%25",
    )));
    assert_error(&response, 401, "invalid_client");
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_06_plus_in_a_secret_must_be_encoded() {
    // `s3cr3t/with+plus...` sent with a raw '+' decodes to a space: wrong secret.
    let h = Harness::new();
    let response = h.token(&cc_with(basic_raw(
        "urn%3Aexample%3Aclient:s3cr3t/with+plus&amp=eq%25",
    )));
    assert_error(&response, 401, "invalid_client");
}

// ---------------------------------------------------------------------------------------
// TE-07: client_secret_post, none, registered method only
// ---------------------------------------------------------------------------------------

#[test]
fn te_07_client_secret_post_authenticates_a_post_client() {
    let h = Harness::new();
    let response = h.token(&post_request(POSTER.0, POSTER.1, &cc_body(None)));
    let token = assert_token(&response, "read");
    assert_eq!(h.record(&token).unwrap().client_id.as_str(), POSTER.0);
    // Parameter order does not matter.
    let response = h.token(&post_form(format!(
        "client_secret={}&client_id={}&grant_type=client_credentials",
        enc(POSTER.1),
        POSTER.0
    )));
    assert_token(&response, "read");
}

#[test]
fn te_07_basic_client_sending_its_secret_in_the_body_is_invalid_client() {
    let h = Harness::new();
    let response = h.token(&post_request(BACKEND.0, BACKEND.1, &cc_body(None)));
    assert_error(&response, 401, "invalid_client");
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_07_post_client_using_basic_is_invalid_client() {
    let h = Harness::new();
    let response = h.token(&basic_request(POSTER.0, POSTER.1, cc_body(None)));
    assert_error(&response, 401, "invalid_client");
    assert_basic_challenge(&response);
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_07_confidential_client_sending_only_client_id_is_invalid_client() {
    let h = Harness::new();
    for id in [BACKEND.0, POSTER.0] {
        let response = h.token(&post_form(format!("{CC}&client_id={id}")));
        assert_error(&response, 401, "invalid_client");
    }
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_07_public_client_authenticates_with_none() {
    let h = Harness::new();
    // The public client is recognised with `none`: the refusal is about the grant
    // (400 unauthorized_client), not about authentication (401).
    let response = h.token(&post_form(format!("{CC}&client_id={SPA}")));
    assert_error(&response, 400, "unauthorized_client");
    // A public client cannot use a secret-based method.
    let response = h.token(&post_request(SPA, "anything", &cc_body(None)));
    assert_error(&response, 401, "invalid_client");
}

#[test]
fn te_07_client_secret_without_client_id_is_refused() {
    let h = Harness::new();
    let response = h.token(&post_form(format!("{CC}&client_secret={}", enc(POSTER.1))));
    assert!(
        [400, 401].contains(&response.status.as_u16()),
        "{response:?}"
    );
    let code = json(&response)["error"].as_str().unwrap().to_owned();
    assert!(
        code == "invalid_request" || code == "invalid_client",
        "{code}"
    );
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_07_wrong_post_secret_is_401_with_a_challenge() {
    // TE-09: body-credential failures may be 401, and then carry WWW-Authenticate.
    let h = Harness::new();
    let response = h.token(&post_request(POSTER.0, "wrong", &cc_body(None)));
    assert_error(&response, 401, "invalid_client");
    assert_basic_challenge(&response);
}

// ---------------------------------------------------------------------------------------
// TE-08: one method per request
// ---------------------------------------------------------------------------------------

#[test]
fn te_08_basic_plus_body_secret_is_invalid_request() {
    let h = Harness::new();
    let request = backend(format!("{CC}&client_secret={}", enc(BACKEND.1)));
    assert_error(&h.token(&request), 400, "invalid_request");
    // Also when the body repeats the same client's id and secret.
    let request = backend(format!(
        "{CC}&client_id={}&client_secret={}",
        BACKEND.0,
        enc(BACKEND.1)
    ));
    assert_error(&h.token(&request), 400, "invalid_request");
    assert_eq!(h.stored(), 0);
}

#[test]
fn ca_09_basic_plus_client_assertion_is_invalid_client() {
    let h = Harness::new();
    let request = backend(format!(
        "{CC}&client_assertion_type={}&client_assertion=eyJhbGciOiJub25lIn0.e30.",
        enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    ));
    assert_error(&h.token(&request), 401, "invalid_client");
}

#[test]
fn ca_09_basic_plus_client_assertion_type_alone_is_invalid_client() {
    let h = Harness::new();
    let request = backend(format!(
        "{CC}&client_assertion_type={}",
        enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    ));
    assert_error(&h.token(&request), 401, "invalid_client");
}

#[test]
fn ca_09_body_secret_plus_client_assertion_is_invalid_client() {
    let h = Harness::new();
    let request = post_form(format!(
        "{CC}&client_id={}&client_secret={}&client_assertion_type={}&client_assertion=eyJhbGciOiJub25lIn0.e30.",
        POSTER.0,
        enc(POSTER.1),
        enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    ));
    assert_error(&h.token(&request), 401, "invalid_client");
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_08_body_client_id_differing_from_basic_is_invalid_request() {
    let h = Harness::new();
    let request = backend(format!("{CC}&client_id={}", OTHER.0));
    assert_error(&h.token(&request), 400, "invalid_request");
    assert_eq!(h.stored(), 0);
    // The same client_id in the body is redundant, not a second method.
    let request = backend(format!("{CC}&client_id={}", BACKEND.0));
    assert_token(&h.token(&request), "read");
}

#[test]
fn te_08_two_authorization_headers_are_invalid_request() {
    let h = Harness::new();
    let request = backend_cc().with_header("Authorization", basic(BACKEND.0, BACKEND.1));
    assert_error(&h.token(&request), 400, "invalid_request");
    let request = backend_cc().with_header("authorization", basic(OTHER.0, OTHER.1));
    assert_error(&h.token(&request), 400, "invalid_request");
    assert_eq!(h.stored(), 0);
}

/// A header value that is not visible ASCII, as a framework hands it over: bytes of
/// `obs-text` that `http::HeaderValue::to_str` refuses.
const UNREADABLE: &[u8] = b"Basic \xff\xfe\x80";

/// The requests of issue 15's first finding, through `HttpRequest::from_http_parts` as the
/// axum and hyper adapters build them.
fn from_http(headers: &[&[u8]], body: &str) -> HttpRequest {
    let mut request = http::Request::post("/token").header("content-type", FORM);
    for value in headers {
        request = request.header(
            "authorization",
            http::HeaderValue::from_bytes(value).expect("obs-text is a valid header value"),
        );
    }
    let (parts, ()) = request.body(()).expect("a request").into_parts();
    HttpRequest::from_http_parts(&parts, body.as_bytes().to_vec())
}

#[test]
fn te_08_an_unreadable_second_authorization_header_is_still_a_repeat() {
    let h = Harness::new();
    let valid = basic(BACKEND.0, BACKEND.1);
    for headers in [
        [valid.as_bytes(), UNREADABLE],
        [UNREADABLE, valid.as_bytes()],
    ] {
        let response = h.token(&from_http(&headers, &cc_body(None)));
        let body = assert_error(&response, 400, "invalid_request");
        assert_eq!(body["error_description"], "repeated Authorization header");
    }
    // The same through the builder, the way the actix-web adapter passes raw bytes.
    let request = backend_cc().with_header_bytes("authorization", UNREADABLE);
    assert_error(&h.token(&request), 400, "invalid_request");
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_08_an_unreadable_authorization_header_is_refused_not_skipped() {
    let h = Harness::new();
    // The body alone would authenticate POSTER with client_secret_post; the unreadable
    // header is a second method, not nothing.
    let body = format!("{CC}&client_id={}&client_secret={}", POSTER.0, POSTER.1);
    let response = h.token(&from_http(&[UNREADABLE], &body));
    let json = assert_error(&response, 400, "invalid_request");
    assert_eq!(json["error_description"], "unreadable Authorization header");
    // Without client parameters in the body, the same: never "no credentials".
    let response = h.token(&from_http(&[UNREADABLE], &cc_body(None)));
    assert_error(&response, 400, "invalid_request");
    // An unreadable header counts as naming a client where a grant needs one (AC-06).
    let response = h.token(&from_http(
        &[UNREADABLE],
        "grant_type=authorization_code&code=x&code_verifier=y",
    ));
    assert_error(&response, 400, "invalid_request");
    assert_eq!(h.stored(), 0);
    // Other headers that are not visible ASCII are no one's business: a request with one
    // is served.
    let request = backend_cc().with_header_bytes("x-trace", b"caf\xc3\xa9");
    assert_token(&h.token(&request), "read");
}

// ---------------------------------------------------------------------------------------
// TE-09: 401 + WWW-Authenticate after a failed header attempt
// ---------------------------------------------------------------------------------------

#[test]
fn te_09_wrong_basic_secret_is_401_with_a_basic_challenge() {
    let h = Harness::new();
    let response = h.token(&basic_request(BACKEND.0, "wrong-secret", cc_body(None)));
    let body = assert_error(&response, 401, "invalid_client");
    let challenge = assert_basic_challenge(&response);
    assert!(
        challenge.starts_with(&format!("Basic realm=\"{ISSUER}\"")),
        "{challenge}"
    );
    assert!(!body.contains_key("access_token"));
    assert!(
        !String::from_utf8_lossy(&response.body).contains("wrong-secret"),
        "the presented secret is never echoed"
    );
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_09_realm_is_configurable() {
    let h = Harness::with(|b| b.realm("grantflow tests"));
    let response = h.token(&basic_request(BACKEND.0, "wrong", cc_body(None)));
    assert_error(&response, 401, "invalid_client");
    let challenge = assert_basic_challenge(&response);
    assert!(
        challenge.starts_with("Basic realm=\"grantflow tests\""),
        "{challenge}"
    );
}

#[test]
fn te_09_realm_that_would_break_the_challenge_is_refused_at_build() {
    for realm in ["a\"b", "back\\slash", "caf\u{e9}", "line\nbreak", ""] {
        let result = grantflow::Server::builder(
            ISSUER,
            std::sync::Arc::new(fixture_registry()),
            std::sync::Arc::new(grantflow::MemoryTokenStore::new()),
        )
        .realm(realm)
        .build();
        assert!(
            matches!(result, Err(grantflow::ConfigError::Setting(_))),
            "{realm:?}"
        );
    }
}

#[test]
fn te_09_malformed_basic_value_is_a_failed_header_attempt() {
    let h = Harness::new();
    let no_colon = basic_raw("backendbackend-secret");
    let bad_utf8 = basic_raw(b"backend:\xff\xfe");
    let bad_escape = basic_raw("backend:%zz");
    for header in [
        "Basic !!!not-base64!!!",
        "Basic",
        "Basic ",
        "Basic ====",
        "Basic YmFja2VuZDpiYWNr ZW5k",
        no_colon.as_str(),
        bad_utf8.as_str(),
        bad_escape.as_str(),
    ] {
        let response = h.token(&cc_with(header));
        assert_error(&response, 401, "invalid_client");
        assert_basic_challenge(&response);
    }
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_09_other_scheme_is_a_failed_header_attempt() {
    let h = Harness::new();
    for header in [
        "Bearer abc",
        "Digest username=\"backend\"",
        "czZCaGRSa3F0Mzo=",
    ] {
        let response = h.token(&cc_with(header));
        assert_error(&response, 401, "invalid_client");
        assert_basic_challenge(&response);
    }
}

#[test]
fn te_09_unknown_client_looks_exactly_like_a_wrong_secret() {
    let h = Harness::new();
    let wrong_secret = h.token(&basic_request(BACKEND.0, "nope", cc_body(None)));
    let unknown = h.token(&basic_request("no-such-client", "nope", cc_body(None)));
    assert_error(&unknown, 401, "invalid_client");
    assert_eq!(unknown.status, wrong_secret.status);
    assert_eq!(unknown.headers, wrong_secret.headers);
    assert_eq!(unknown.body, wrong_secret.body);
    // The same through client_secret_post.
    let wrong_secret = h.token(&post_request(POSTER.0, "nope", &cc_body(None)));
    let unknown = h.token(&post_request("no-such-client", "nope", &cc_body(None)));
    assert_eq!(unknown, wrong_secret);
    // And for a client using the wrong method.
    let wrong_method = h.token(&basic_request(POSTER.0, POSTER.1, cc_body(None)));
    let unknown = h.token(&basic_request("no-such-client", POSTER.1, cc_body(None)));
    assert_eq!(unknown, wrong_method);
}

// ---------------------------------------------------------------------------------------
// TE-10: brute-force protection
// ---------------------------------------------------------------------------------------

fn wrong(id: &str) -> HttpRequest {
    basic_request(id, "guess", cc_body(None))
}

/// Whether `response` is the limiter's refusal: `invalid_client` with `Retry-After`.
fn is_throttled(response: &HttpResponse) -> bool {
    response.header("retry-after").is_some()
}

/// The answer to a throttled attempt through the `Authorization` header: still 401
/// `invalid_client` with the Basic challenge (RFC 6749 §5.2 allows no other status for
/// it), plus `Retry-After` in whole seconds within `max`.
#[track_caller]
fn assert_throttled_basic(response: &HttpResponse, max: u64) {
    assert_error(response, 401, "invalid_client");
    assert_basic_challenge(response);
    let retry_after: u64 = response
        .header("retry-after")
        .expect("retry-after")
        .parse()
        .expect("retry-after in seconds");
    assert!((1..=max).contains(&retry_after), "{retry_after}");
}

/// Sends wrong secrets for `id` until the limiter refuses; returns how many attempts were
/// checked (and answered 401 without `Retry-After`) first.
fn fail_until_throttled(h: &Harness, id: &str) -> usize {
    for attempt in 0..100 {
        let response = h.token(&wrong(id));
        assert_error(&response, 401, "invalid_client");
        if is_throttled(&response) {
            return attempt;
        }
    }
    panic!("100 wrong secrets in a row were never throttled");
}

/// TE-10 with the **default** guard: `Harness::new` configures no attempt limiter.
#[test]
fn te_09_te_10_a_throttled_basic_attempt_is_401_with_the_challenge_and_retry_after() {
    let h = Harness::new();
    let failures = fail_until_throttled(&h, BACKEND.0);
    assert!(
        (3..=10).contains(&failures),
        "throttled after {failures} failures"
    );
    let response = h.token(&wrong(BACKEND.0));
    assert_throttled_basic(&response, 60);
    let body = json(&response);
    assert!(body.values().all(|v| v.as_str().is_some_and(is_er02)));
    assert_eq!(h.stored(), 0);
}

#[test]
fn te_10_right_secret_is_refused_while_throttled_and_accepted_after_the_window() {
    let h = Harness::new();
    let failures = fail_until_throttled(&h, BACKEND.0);
    assert!(failures >= 1);
    // The right secret is not even checked while throttled.
    assert_throttled_basic(&h.token(&backend_cc()), 60);
    assert_eq!(h.stored(), 0);
    // Retry-After counts down with the clock.
    h.clock.advance(Duration::from_secs(30));
    assert_throttled_basic(&h.token(&backend_cc()), 30);
    // After the window the right secret works again.
    h.clock.advance(Duration::from_secs(31));
    assert_token(&h.token(&backend_cc()), "read");
    assert_eq!(h.stored(), 1);
}

#[test]
fn te_10_other_clients_are_unaffected() {
    let h = Harness::new();
    fail_until_throttled(&h, BACKEND.0);
    assert_token(
        &h.token(&basic_request(OTHER.0, OTHER.1, cc_body(None))),
        "read",
    );
    assert_token(
        &h.token(&post_request(POSTER.0, POSTER.1, &cc_body(None))),
        "read",
    );
    assert_throttled_basic(&h.token(&backend_cc()), 60);
}

#[test]
fn te_10_client_secret_post_is_throttled_too() {
    let h = Harness::new();
    for _ in 0..100 {
        let response = h.token(&post_request(POSTER.0, "guess", &cc_body(None)));
        // `invalid_client` is 401 whatever the method (the crate always sends the
        // challenge, which RFC 6749 §5.2 allows for body credentials too).
        assert_error(&response, 401, "invalid_client");
        if is_throttled(&response) {
            let response = h.token(&post_request(POSTER.0, POSTER.1, &cc_body(None)));
            assert_error(&response, 401, "invalid_client");
            assert!(is_throttled(&response));
            return;
        }
    }
    panic!("never throttled");
}

#[test]
fn te_10_successes_do_not_wipe_out_failures() {
    let h = Harness::new();
    let limit = fail_until_throttled(&Harness::new(), BACKEND.0);
    // A guesser and the real client share the key: the real client's successes must not
    // reset the guesser's count, or a busy client would never be protected.
    for _ in 0..limit - 1 {
        assert_error(&h.token(&wrong(BACKEND.0)), 401, "invalid_client");
    }
    for _ in 0..5 {
        assert_token(&h.token(&backend_cc()), "read");
    }
    let last = h.token(&wrong(BACKEND.0));
    assert_error(&last, 401, "invalid_client");
    assert!(!is_throttled(&last));
    assert_throttled_basic(&h.token(&backend_cc()), 60);
}

#[test]
fn te_10_limiter_is_pluggable() {
    let h = Harness::with(|b| {
        b.attempt_limiter(std::sync::Arc::new(
            grantflow::limiter::MemoryAttemptLimiter::new(2, Duration::from_secs(5)),
        ))
    });
    assert_eq!(fail_until_throttled(&h, BACKEND.0), 2);
    h.clock.advance(Duration::from_secs(5));
    assert_token(&h.token(&backend_cc()), "read");
}

// ---------------------------------------------------------------------------------------
// TE-14: unguessable tokens
// ---------------------------------------------------------------------------------------

#[test]
fn te_14_issued_access_tokens_are_unique_256_bit_base64url() {
    let h = Harness::new();
    let mut seen = HashSet::new();
    for _ in 0..1000 {
        let token = assert_token(&h.token(&backend_cc()), "read");
        assert!(is_token_text(&token), "{token:?}");
        assert!(seen.insert(token), "duplicate token");
    }
    assert_eq!(h.stored(), 1000);
}

/// A registry whose secret check takes one round-trip (a database, or a slow KDF on a
/// worker thread, as [`ClientRegistry::verify_secret`]'s docs suggest for human-chosen
/// secrets): it returns `Pending` once before answering.
#[derive(Debug)]
struct RoundTripRegistry(grantflow::MemoryClientRegistry);

struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

#[async_trait::async_trait]
impl grantflow::ClientRegistry for RoundTripRegistry {
    async fn find(
        &self,
        client_id: &grantflow::ClientId,
    ) -> Result<Option<std::sync::Arc<grantflow::Client>>, grantflow::StorageError> {
        self.0.find(client_id).await
    }

    async fn verify_secret(
        &self,
        client: &grantflow::Client,
        secret: &grantflow::ClientSecret,
    ) -> Result<bool, grantflow::StorageError> {
        YieldOnce(false).await;
        Ok(client.verify_secret(secret))
    }
}

/// A server whose secret checks each take a round trip ([`RoundTripRegistry`]).
fn round_trip_server(tokens: std::sync::Arc<grantflow::MemoryTokenStore>) -> grantflow::Server {
    grantflow::Server::builder(
        ISSUER,
        std::sync::Arc::new(RoundTripRegistry(fixture_registry())),
        tokens,
    )
    .clock(std::sync::Arc::new(
        grantflow::clock::ManualClock::new(t0()),
    ))
    .build()
    .unwrap()
}

/// Runs every request's token call at once, polling them in turn until all are done, and
/// returns their responses.
fn all_at_once(server: &grantflow::Server, requests: &[HttpRequest]) -> Vec<HttpResponse> {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    type Pending<'a> = Pin<
        Box<dyn Future<Output = Result<grantflow::HttpResponse, grantflow::Error>> + Send + 'a>,
    >;
    let mut futures: Vec<Pending<'_>> = requests
        .iter()
        .map(|r| Box::pin(server.token(r)) as Pending<'_>)
        .collect();
    let mut results: Vec<Option<HttpResponse>> = vec![None; futures.len()];
    let mut cx = Context::from_waker(Waker::noop());
    while results.iter().any(Option::is_none) {
        for (future, result) in futures.iter_mut().zip(results.iter_mut()) {
            if result.is_none() {
                if let Poll::Ready(response) = future.as_mut().poll(&mut cx) {
                    *result = Some(response.unwrap());
                }
            }
        }
    }
    results.into_iter().map(Option::unwrap).collect()
}

#[test]
fn te_10_concurrent_guesses_cannot_exceed_the_limit() {
    let tokens = std::sync::Arc::new(grantflow::MemoryTokenStore::new());
    let server = round_trip_server(tokens.clone());
    // 49 wrong guesses and the right secret, all in flight at once (as an attacker with
    // 50 connections would send them).
    let requests: Vec<HttpRequest> = (0..50)
        .map(|i| {
            let secret = if i == 49 {
                BACKEND.1.to_owned()
            } else {
                format!("guess-{i}")
            };
            basic_request(BACKEND.0, &secret, cc_body(None))
        })
        .collect();
    let responses = all_at_once(&server, &requests);
    let verified_wrong = responses[..49].iter().filter(|r| !is_throttled(r)).count();
    assert!(
        verified_wrong <= 10,
        "{verified_wrong} wrong guesses were verified in one 10-per-minute window"
    );
    assert_ne!(
        responses[49].status.as_u16(),
        200,
        "the right secret was accepted after {verified_wrong} failed guesses"
    );
    assert_eq!(tokens.len(), 0);
}

#[test]
fn te_10_a_clients_own_concurrent_requests_are_never_throttled() {
    // 64 requests with the right secret in flight at once, each secret check a round
    // trip: only failures count, so none of them is throttled by the others.
    let tokens = std::sync::Arc::new(grantflow::MemoryTokenStore::new());
    let server = round_trip_server(tokens.clone());
    let requests: Vec<HttpRequest> = (0..64).map(|_| backend_cc()).collect();
    assert!(
        all_at_once(&server, &requests)
            .iter()
            .all(|r| r.status.as_u16() == 200)
    );
    assert_eq!(tokens.len(), 64);
}
