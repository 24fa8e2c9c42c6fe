//! Scope parsing (SC-01): never panics; what parses holds only scope-token characters, has
//! a canonical form that parses to itself, contains each token it was given, and relates to
//! other scopes consistently.
#![no_main]

use grantflow::Scope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (a, b) = input;
    let Ok(scope) = Scope::parse(a) else {
        assert!(a.bytes().any(|c| !(c == b' '
            || c == 0x21
            || (0x23..=0x5b).contains(&c)
            || (0x5d..=0x7e).contains(&c))));
        return;
    };
    let canonical = scope.as_str();
    assert_eq!(Scope::parse(canonical).as_ref(), Ok(&scope));
    assert_eq!(scope.to_string(), canonical);
    assert!(!canonical.starts_with(' ') && !canonical.ends_with(' ') && !canonical.contains("  "));
    let tokens: Vec<&str> = scope.iter().collect();
    assert!(
        tokens.windows(2).all(|w| w[0] < w[1]),
        "not sorted and unique: {canonical:?}"
    );
    for token in a.split(' ').filter(|t| !t.is_empty()) {
        assert!(scope.contains(token));
    }
    assert_eq!(scope.is_empty(), tokens.is_empty());
    assert!(scope.is_subset_of(&scope));
    if let Ok(other) = Scope::parse(b) {
        let sub = other.is_subset_of(&scope);
        assert_eq!(sub, other.iter().all(|t| scope.contains(t)));
        if sub && scope.is_subset_of(&other) {
            assert!(scope == other);
        }
    }
});
