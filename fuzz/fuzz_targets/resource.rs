//! Resource indicators (RI-01, RI-02) and the protected resource metadata location
//! (PR-03, PR-04), on attacker-supplied `resource` values: parsing never panics; what
//! parses is visible ASCII, at most 2,048 characters, without fragment, kept exactly; a set
//! holds each value once in first-seen order; the metadata URL of an http(s) identifier
//! keeps its origin, has the well-known suffix right after it, and ends with the
//! identifier's path and query, so the document's `resource` can be compared exactly.
#![no_main]

use grantflow::metadata::resource_metadata_url;
use grantflow::resource::{ResourceUri, Resources};
use libfuzzer_sys::fuzz_target;

const SUFFIX: &str = "/.well-known/oauth-protected-resource";

fuzz_target!(|input: (&str, &str)| {
    let (a, b) = input;
    let Ok(resource) = ResourceUri::parse(a) else {
        return;
    };
    assert_eq!(resource.as_str(), a);
    assert!(a.len() <= 2048 && !a.contains('#'));
    assert!(a.bytes().all(|c| c.is_ascii_graphic()));
    assert!(a.contains(':'));
    let set = match ResourceUri::parse(b) {
        Ok(other) => Resources::new([resource.clone(), other.clone(), resource.clone()]),
        Err(_) => Resources::one(resource.clone()),
    };
    assert_eq!(set.iter().next(), Some(a));
    assert_eq!(set.len(), if set.contains(b) && a != b { 2 } else { 1 });
    assert!(Resources::one(resource.clone()).is_subset_of(&set));
    let Ok(url) = resource_metadata_url(a) else {
        return;
    };
    let authority_end = a.find("://").map(|i| i + 3).expect("an http(s) URL");
    let origin_len = a[authority_end..]
        .find(['/', '?'])
        .map_or(a.len(), |i| authority_end + i);
    let (origin, tail) = a.split_at(origin_len);
    assert!(url.starts_with(origin));
    assert!(url[origin.len()..].starts_with(SUFFIX), "{url}");
    let rest = &url[origin.len() + SUFFIX.len()..];
    assert!(
        rest == tail || (tail.starts_with('/') && rest == &tail[1..]),
        "{a} -> {url}"
    );
});
