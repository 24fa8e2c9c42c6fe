//! Test vectors: CHECKLIST §24.2 (HTTP Basic, V-BASIC), §24.3 (RFC 6749 Appendix B form
//! encoding) and the RFC 6749 §2.3.1, §4.4.2, §4.4.3, §5.1 and §5.2 examples, all through
//! the token endpoint.

use std::sync::Arc;

use crate::support::token::*;
use grantflow::{AuthMethod, Client, ClientSecret, ClientType, GrantType, HttpRequest, Method};

// ---------------------------------------------------------------------------------------
// §24.2 V-BASIC (TE-06)
// ---------------------------------------------------------------------------------------

#[test]
fn te_06_v_basic_vectors_authenticate_through_the_endpoint() {
    let h = Harness::new();
    for (vector, header, id) in V_BASIC {
        let request =
            post_form("grant_type=client_credentials").with_header("Authorization", header);
        let response = h.token(&request);
        let token = assert_token(&response, "read");
        let record = h
            .record(&token)
            .unwrap_or_else(|| panic!("{vector}: not stored"));
        assert_eq!(record.client_id.as_str(), id, "{vector}");
        assert_eq!(record.subject, None, "{vector}");
    }
    assert_eq!(h.stored(), V_BASIC.len());
}

#[test]
fn te_06_v_basic_headers_match_the_form_encoding_rule() {
    // The table's "form-encoded" column is the WHATWG serializer, which the harness uses too,
    // except V-BASIC-3 (plain RFC 7617) and V-BASIC-6 (`~` sent raw).
    for (vector, id, secret) in [
        ("V-BASIC-1", RFC_CLIENT, RFC_SECRET_1),
        ("V-BASIC-2", RFC_CLIENT, RFC_SECRET_2),
        ("V-BASIC-3b", "Aladdin", "open sesame"),
        (
            "V-BASIC-4",
            "urn:example:client",
            "s3cr3t/with+plus&amp=eq%",
        ),
        ("V-BASIC-5", "client id with spaces", "p@ss:w0rd!"),
        ("V-BASIC-7 (OAuth-encoded)", "test", "123\u{a3}"),
    ] {
        let expected = V_BASIC
            .iter()
            .find(|(v, _, _)| *v == vector)
            .map(|(_, header, _)| *header)
            .unwrap();
        assert_eq!(basic(id, secret), expected, "{vector}");
    }
    assert_eq!(basic_raw("Aladdin:open sesame"), V_BASIC[2].1);
    assert_eq!(basic_raw("c~1:s%7E2"), V_BASIC[6].1);
    assert_eq!(basic_raw("test:123\u{a3}"), V_BASIC[7].1);
    assert_eq!(
        basic_raw("urn:example:client:s3cr3t/with+plus&amp=eq%"),
        V_BASIC_NEG
    );
}

#[test]
fn te_06_v_basic_neg_is_401_invalid_client() {
    let h = Harness::new();
    let request =
        post_form("grant_type=client_credentials").with_header("Authorization", V_BASIC_NEG);
    let response = h.token(&request);
    assert_error(&response, 401, "invalid_client");
    assert_basic_challenge(&response);
    assert_eq!(h.stored(), 0);
}

// ---------------------------------------------------------------------------------------
// §24.3 RFC 6749 Appendix B
// ---------------------------------------------------------------------------------------

#[test]
fn rfc6749_appendix_b_form_encoding_round_trips_through_the_endpoint() {
    // U+0020 U+0025 U+0026 U+002B U+00A3 U+20AC form-encoded.
    const ENCODED: &str = "+%25%26%2B%C2%A3%E2%82%AC";
    assert_eq!(enc(APPENDIX_B.1), ENCODED);
    let h = Harness::new();
    let request = post_form(format!(
        "grant_type=client_credentials&client_id={}&client_secret={ENCODED}",
        APPENDIX_B.0
    ));
    let token = assert_token(&h.token(&request), "read");
    assert_eq!(h.record(&token).unwrap().client_id.as_str(), APPENDIX_B.0);
    // Lower-case hex digits decode to the same bytes.
    let request = post_form(format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        APPENDIX_B.0,
        ENCODED.to_ascii_lowercase()
    ));
    assert_token(&h.token(&request), "read");
}

#[test]
fn rfc6749_appendix_b_plus_is_a_space_not_a_plus() {
    let h = Harness::new();
    // `%20` and `+` are both a space.
    let request = post_form(format!(
        "grant_type=client_credentials&client_id={}&client_secret=%20%25%26%2B%C2%A3%E2%82%AC",
        APPENDIX_B.0
    ));
    assert_token(&h.token(&request), "read");
    // A literal '+' where the secret has '+' decodes to a space: wrong secret.
    let request = post_form(format!(
        "grant_type=client_credentials&client_id={}&client_secret=+%25%26+%C2%A3%E2%82%AC",
        APPENDIX_B.0
    ));
    assert_error(&h.token(&request), 401, "invalid_client");
    // The characters sent unencoded are not a form at all ('%&' is a bad escape).
    let request = post_form(format!(
        "grant_type=client_credentials&client_id={}&client_secret= %&+\u{a3}\u{20ac}",
        APPENDIX_B.0
    ));
    assert_error(&h.token(&request), 400, "invalid_request");
    assert_eq!(h.stored(), 1);
}

#[test]
fn rfc6749_appendix_b_in_basic_credentials() {
    // The same characters in a client_secret_basic secret, through the Basic decoder.
    let h = single_client(
        "appendix-b-basic",
        APPENDIX_B.1,
        AuthMethod::ClientSecretBasic,
    );
    let request = post_form("grant_type=client_credentials").with_header(
        "Authorization",
        basic_raw("appendix-b-basic:+%25%26%2B%C2%A3%E2%82%AC"),
    );
    assert_token(&h.token(&request), "read");
}

/// A harness whose only client is confidential `id` with `secret` and `method`, allowed
/// client credentials for `read` (its default).
fn single_client(id: &str, secret: &str, method: AuthMethod) -> Harness {
    let client = Client::builder(id, ClientType::Confidential)
        .secret(&ClientSecret::from_presented(secret.to_owned()))
        .auth_method(method)
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .allowed_scope("read")
        .default_scope("read");
    Harness::builder(Arc::new(register([client]))).build(|b| b.access_token_ttl(TTL))
}

// ---------------------------------------------------------------------------------------
// RFC 6749 examples
// ---------------------------------------------------------------------------------------

/// RFC 6749 §4.4.2, byte for byte:
///
/// ```text
/// POST /token HTTP/1.1
/// Host: server.example.com
/// Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW
/// Content-Type: application/x-www-form-urlencoded
///
/// grant_type=client_credentials
/// ```
fn rfc6749_4_4_2_request() -> HttpRequest {
    HttpRequest::new(Method::from_name("POST"))
        .with_header("Host", "server.example.com")
        .with_header("Authorization", "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW")
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_body("grant_type=client_credentials")
}

#[test]
fn rfc6749_4_4_2_example_request_gets_the_4_4_3_response_shape() {
    let h = Harness::new();
    let response = h.token(&rfc6749_4_4_2_request());
    // §4.4.3 / §5.1: 200, application/json, no-store, no-cache, access_token, token_type,
    // expires_in; no refresh_token (CC-02); scope (SC-04: always included).
    let token = assert_token(&response, "read");
    let body = json(&response);
    assert!(
        body["token_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("bearer")
    );
    assert!(!body.contains_key("refresh_token"));
    let record = h.record(&token).unwrap();
    assert_eq!(record.client_id.as_str(), RFC_CLIENT);
    assert_eq!(record.expires_at, t0() + TTL);
}

#[test]
fn rfc6749_2_3_1_client_secret_post_example() {
    // §2.3.1: `client_id=s6BhdRkqt3&client_secret=7Fjfp0ZBr1KtDRbnfVdmIw` in the body, for a
    // client registered for client_secret_post.
    let h = single_client(RFC_CLIENT, RFC_SECRET_1, AuthMethod::ClientSecretPost);
    let request = post_form(
        "grant_type=client_credentials&client_id=s6BhdRkqt3&client_secret=7Fjfp0ZBr1KtDRbnfVdmIw",
    );
    assert_token(&h.token(&request), "read");
    // The §2.3.1 Basic form of the same credentials is refused: registered method only.
    let request = rfc6749_4_4_2_request();
    assert_error(&h.token(&request), 401, "invalid_client");
}

#[test]
fn rfc6749_5_2_example_error_shape() {
    // §5.2: HTTP/1.1 400, Content-Type: application/json, Cache-Control: no-store,
    // Pragma: no-cache, {"error":"invalid_request"}.
    let h = Harness::new();
    let response =
        h.token(&rfc6749_4_4_2_request().with_body("grant_type=client_credentials&grant_type=x"));
    let body = assert_error(&response, 400, "invalid_request");
    assert!(body["error"].is_string());
}
