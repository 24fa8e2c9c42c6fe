//! Property test (issue 2 "Bad input", ER-02, ER-05, TE-12): hostile input to
//! `Server::token` never panics, never yields a 5xx, always yields no-store JSON with
//! ER-02-clean errors and no echoed secret, and stores a token only on a 200.

use crate::support::token::*;
use grantflow::{HttpRequest, Method};
use proptest::prelude::*;
use serde_json::Value;

/// Parameter names: the ones the endpoint reads, plus noise.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("grant_type".to_owned()),
        Just("scope".to_owned()),
        Just("client_id".to_owned()),
        Just("client_secret".to_owned()),
        Just("client_assertion".to_owned()),
        Just("code".to_owned()),
        Just("gr%61nt_type".to_owned()),
        Just(String::new()),
        "[a-z_%+0-9A-F]{0,12}",
    ]
}

/// Parameter values: useful ones, encoded specials, and noise.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("client_credentials".to_owned()),
        Just("read".to_owned()),
        Just("read+write".to_owned()),
        Just("admin".to_owned()),
        Just(BACKEND.0.to_owned()),
        Just(POSTER.0.to_owned()),
        Just(enc(POSTER.1)),
        Just(SPA.to_owned()),
        Just("%FF".to_owned()),
        Just("%22%5C".to_owned()),
        Just("%".to_owned()),
        Just(String::new()),
        "\\PC{0,24}",
        "[ -~]{0,24}",
    ]
}

/// A body: raw bytes, or a form-like string built from names and values.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => proptest::collection::vec(any::<u8>(), 0..600),
        3 => proptest::collection::vec((name(), value(), prop_oneof!["&", "&&", "=", ";"]), 0..8)
            .prop_map(|parts| {
                let mut out = String::new();
                for (n, v, sep) in parts {
                    out.push_str(&n);
                    out.push('=');
                    out.push_str(&v);
                    out.push_str(&sep);
                }
                out.into_bytes()
            }),
        2 => Just(cc_body(None).into_bytes()),
        3 => value().prop_map(|scope| format!("grant_type=client_credentials&scope={scope}").into_bytes()),
        2 => (name(), value()).prop_map(|(n, v)| format!("grant_type=client_credentials&{n}={v}").into_bytes()),
    ]
}

fn authorization() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        4 => Just(Some(basic(BACKEND.0, BACKEND.1))),
        1 => Just(Some(basic(POSTER.0, POSTER.1))),
        1 => "\\PC{0,80}".prop_map(Some),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|raw| Some(basic_raw(raw))),
        1 => ("[ -~]{0,20}", "[ -~]{0,20}").prop_map(|(id, secret)| Some(basic_raw(format!("{id}:{secret}")))),
        1 => "\\PC{0,30}".prop_map(|secret| Some(basic(BACKEND.0, &secret))),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        16 => Just(Some(FORM.to_owned())),
        1 => Just(Some("application/x-www-form-urlencoded;charset=UTF-8".to_owned())),
        1 => Just(Some("application/json".to_owned())),
        1 => Just(None),
        1 => "\\PC{0,40}".prop_map(Some),
        1 => "application/x-www-form-urlencoded;[ -~]{0,20}".prop_map(Some),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        12 => Just(Method::Post),
        1 => Just(Method::Get),
        1 => Just(Method::Other),
    ]
}

fn query() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        10 => Just(None),
        1 => "[ -~]{0,40}".prop_map(Some),
        1 => Just(Some("client_secret=x".to_owned())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hostile_requests_get_clean_4xx_json_and_store_only_on_200(
        method in method(),
        body in body(),
        authorization in authorization(),
        content_type in content_type(),
        query in query(),
        second_authorization in proptest::option::weighted(0.05, "\\PC{0,20}"),
    ) {
        let h = Harness::new();
        let mut request = HttpRequest::new(method).with_body(body);
        if let Some(content_type) = content_type {
            request = request.with_header("Content-Type", content_type);
        }
        if let Some(authorization) = authorization {
            request = request.with_header("Authorization", authorization);
        }
        if let Some(second) = second_authorization {
            request = request.with_header("Authorization", second);
        }
        if let Some(query) = query {
            request = request.with_query(query);
        }
        let before = h.stored();
        let response = block_on(h.server.token(&request));
        let response = match response {
            Ok(response) => response,
            Err(error) => return Err(TestCaseError::fail(format!("memory stores never fail: {error}"))),
        };
        let status = response.status.as_u16();
        prop_assert!((200..300).contains(&status) || (400..500).contains(&status), "status {}", status);
        prop_assert_eq!(response.header("cache-control"), Some("no-store"));
        prop_assert_eq!(response.header("content-type"), Some("application/json"));
        let body: Value = serde_json::from_slice(&response.body)
            .map_err(|e| TestCaseError::fail(format!("body is not JSON: {e}")))?;
        let body = body.as_object().ok_or_else(|| TestCaseError::fail("body is not an object"))?;
        if status == 200 {
            prop_assert_eq!(h.stored(), before + 1);
            let token = body["access_token"].as_str().unwrap_or("");
            prop_assert!(is_token_text(token));
            prop_assert!(h.record(token).is_some());
        } else {
            prop_assert_eq!(h.stored(), before);
            prop_assert!(!body.contains_key("access_token"));
            let error = body.get("error").and_then(Value::as_str);
            prop_assert!(error.is_some_and(|e| !e.is_empty() && is_er02(e)), "{:?}", body);
            if let Some(description) = body.get("error_description") {
                let description = description.as_str();
                prop_assert!(description.is_some_and(is_er02), "{:?}", description);
            }
            // No presented secret is echoed.
            let text = String::from_utf8_lossy(&response.body);
            prop_assert!(!text.contains(BACKEND.1) && !text.contains(POSTER.1));
        }
    }
}
