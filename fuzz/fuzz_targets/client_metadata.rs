//! Client metadata (RFC 7591 §2) and client ID metadata documents: never a panic; accepted
//! metadata has no redirect URI with a fragment, `http` redirect URIs only to loopback
//! hosts, `code` exactly when the code grant is registered, never both `jwks` and
//! `jwks_uri`, and renders to JSON that validates again to the same JSON (DR-03..DR-07); an
//! accepted document names exactly its URL, which is `https` without query, fragment or
//! user information, and authenticates with `none` or `private_key_jwt` (CM-02, CM-06,
//! CM-07).
#![no_main]

use grantflow::registration::ClientMetadata;
use libfuzzer_sys::fuzz_target;

const URLS: [&str; 4] = [
    "https://app.example/client.json",
    "https://app.example:8443/c",
    "https://app.example/a/../c",
    "http://app.example/c",
];

fuzz_target!(|input: (u8, &[u8])| {
    let (choice, data) = input;
    if let Ok(metadata) = ClientMetadata::parse(data) {
        for uri in metadata.redirect_uris() {
            assert!(!uri.as_str().contains('#'));
            if let Some(rest) = uri.as_str().strip_prefix("http://") {
                assert!(
                    rest.starts_with("127.0.0.1")
                        || rest.starts_with("[::1]")
                        || rest.starts_with("localhost"),
                    "{uri:?}"
                );
            }
        }
        let code = metadata
            .grant_types()
            .iter()
            .any(|g| g.as_str() == "authorization_code");
        assert_eq!(code, metadata.response_types() == ["code"]);
        assert!(!(metadata.jwks().is_some() && metadata.jwks_uri().is_some()));
        let json = serde_json::Value::Object(metadata.to_json()).to_string();
        let again = ClientMetadata::parse(json.as_bytes()).expect("rendered metadata validates");
        assert_eq!(again.to_json(), metadata.to_json());
    }
    // The document for one of the URLs: the raw bytes, and the bytes as the value of a
    // document whose `client_id` is right, so the fuzzer reaches the metadata rules.
    let url = URLS[usize::from(choice) % URLS.len()];
    let mut accepted = Vec::new();
    if let Ok(found) = grantflow::fuzzing::client_id_document(url, data) {
        accepted.push(found);
    }
    if let Ok(serde_json::Value::Object(mut object)) = serde_json::from_slice(data) {
        object.insert("client_id".into(), url.into());
        let document = serde_json::Value::Object(object).to_string();
        if let Ok(found) = grantflow::fuzzing::client_id_document(url, document.as_bytes()) {
            accepted.push(found);
        }
    }
    for (id, method) in accepted {
        assert_eq!(id, url);
        assert!(url.starts_with("https://") && !url.contains(['?', '#', '@']));
        assert!(!url.contains("/../"));
        assert!(method == "none" || method == "private_key_jwt", "{method}");
    }
});
