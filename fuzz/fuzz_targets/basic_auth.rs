//! The `Authorization: Basic` decoder (TE-06, TE-09): never panics, splits at the first
//! colon of the decoded credential, and form-decodes both halves exactly as the `url` crate
//! does; and every id / secret pair survives the encode-then-decode round trip.
#![no_main]

use base64::Engine as _;
use grantflow::fuzzing::decode_basic;
use libfuzzer_sys::fuzz_target;

/// The oracle, written independently of the crate: a `%` must start a valid escape, `+` is
/// a space, and the decoded bytes must be UTF-8 (the crate refuses what a lenient decoder
/// would replace). `&` and `=` are plain bytes inside a credential.
fn strict_form_decode(raw: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let ok = raw.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && raw.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return None;
            }
            i += 2;
        }
        i += 1;
    }
    String::from_utf8(percent_bytes(raw)).ok()
}

fn percent_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fuzz_target!(|input: (&str, &str, &[u8])| {
    let (id, secret, raw) = input;
    // Arbitrary header text.
    let _ = decode_basic(id);
    // Arbitrary credential bytes, base64-encoded as a client would.
    let token = base64::engine::general_purpose::STANDARD.encode(raw);
    let ours = decode_basic(&token);
    let expected = raw.iter().position(|b| *b == b':').and_then(|colon| {
        Some((
            strict_form_decode(&raw[..colon])?,
            strict_form_decode(&raw[colon + 1..])?,
        ))
    });
    if token.len() <= 4096 && !token.is_empty() {
        assert_eq!(ours, expected, "{raw:?}");
    } else {
        assert_eq!(ours, None);
    }
    // Unpadded input decodes the same.
    let unpadded = token.trim_end_matches('=');
    if !unpadded.is_empty() && token.len() <= 4096 {
        assert_eq!(decode_basic(unpadded), ours);
    }
    // Round trip: formenc(id) ":" formenc(secret).
    if !id.is_empty() {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let token = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(id),
            enc(secret)
        ));
        if token.len() <= 4096 {
            assert_eq!(
                decode_basic(&token),
                Some((id.to_owned(), secret.to_owned()))
            );
        }
    }
});
