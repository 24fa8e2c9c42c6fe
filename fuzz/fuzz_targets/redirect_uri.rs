//! Redirect URI registration and matching (RU-01..RU-08): never panics; what registers is
//! visible ASCII with no fragment, wildcard or user information; a match is the exact
//! string, or for loopback `http` URIs the same string up to the port (RU-05..RU-07).
#![no_main]

use grantflow::authorize::{LocalhostPort, RedirectUri};
use libfuzzer_sys::fuzz_target;

/// `uri` with the port of its `http://host:port` authority removed.
fn without_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    };
    Some(format!("http://{host}{tail}"))
}

fuzz_target!(|input: (&str, &str, bool)| {
    let (registered, requested, localhost_any_port) = input;
    let localhost = if localhost_any_port {
        LocalhostPort::Any
    } else {
        LocalhostPort::Exact
    };
    let Ok(uri) = RedirectUri::parse(registered) else {
        return;
    };
    assert_eq!(uri.as_str(), registered);
    assert!(registered.len() <= 2048);
    assert!(
        registered.bytes().all(|b| b > b' ' && b < 0x7f),
        "{registered:?}"
    );
    assert!(!registered.contains('#'));
    assert!(uri.matches(registered, localhost));
    if uri.matches(requested, localhost) && requested != registered {
        // Only the port of an http loopback URI may differ.
        assert!(
            registered.starts_with("http://"),
            "{registered:?} ~ {requested:?}"
        );
        let host = |u: &str| {
            let rest = u.strip_prefix("http://").unwrap_or("");
            let end = rest.find(['/', '?', ':']).unwrap_or(rest.len());
            let end = if rest.starts_with('[') {
                rest.find(']').map_or(end, |i| i + 1)
            } else {
                end
            };
            rest[..end].to_owned()
        };
        let h = host(registered);
        assert!(
            h == "127.0.0.1" || h == "[::1]" || (h == "localhost" && localhost_any_port),
            "{registered:?} ~ {requested:?}"
        );
        assert_eq!(host(requested), h);
        assert_eq!(
            without_port(registered),
            without_port(requested),
            "{registered:?} ~ {requested:?}"
        );
        assert!(!requested.contains('@'));
    }
    let again = RedirectUri::parse(uri.as_str()).expect("a registered URI parses again");
    assert!(again == uri);
});
