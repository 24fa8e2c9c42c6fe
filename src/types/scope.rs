//! Scope: a set of case-sensitive scope tokens
//! ([RFC 6749 §3.3](https://www.rfc-editor.org/rfc/rfc6749#section-3.3)).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A set of scope tokens ([RFC 6749 §3.3](https://www.rfc-editor.org/rfc/rfc6749#section-3.3),
/// [RFC 6749 §3.3]).
///
/// Tokens are case-sensitive (`read` and `READ` differ), order does not matter and
/// duplicates collapse. The value is kept in canonical form (sorted, single spaces), so
/// equal sets compare equal, display identically and clone for the price of a reference
/// count.
///
/// ```
/// use grantflow::Scope;
///
/// let scope: Scope = "write read  read".parse()?;
/// assert_eq!(scope.to_string(), "read write");
/// assert!(scope.contains("read") && !scope.contains("READ"));
/// assert!("read".parse::<Scope>()?.is_subset_of(&scope));
/// assert!("bad\"token".parse::<Scope>().is_err());
/// # Ok::<(), grantflow::InvalidScope>(())
/// ```
///
/// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Scope(Arc<str>);

/// A scope string is malformed: a token has a character outside `%x21 / %x23-5B / %x5D-7E`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed scope: tokens are printable ASCII without '\"', '\\' or spaces")]
pub struct InvalidScope(());

/// Whether `c` may appear in a scope token ([RFC 6749 §3.3]).
///
/// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
fn is_scope_char(c: u8) -> bool {
    matches!(c, 0x21 | 0x23..=0x5b | 0x5d..=0x7e)
}

impl Scope {
    /// The empty scope.
    pub fn empty() -> Self {
        Self(Arc::from(""))
    }

    /// Parses a space-separated list. Runs of spaces are accepted as one separator; an
    /// empty string gives the empty scope.
    ///
    /// # Errors
    /// [`InvalidScope`] for a token with a forbidden character.
    pub fn parse(text: &str) -> Result<Self, InvalidScope> {
        if !text.bytes().all(|b| b == b' ' || is_scope_char(b)) {
            return Err(InvalidScope(()));
        }
        if is_canonical(text) {
            return Ok(Self(Arc::from(text)));
        }
        let mut tokens: Vec<&str> = text.split(' ').filter(|t| !t.is_empty()).collect();
        tokens.sort_unstable();
        tokens.dedup();
        Ok(Self(Arc::from(tokens.join(" "))))
    }

    /// The tokens, in canonical (sorted) order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.split(' ').filter(|t| !t.is_empty())
    }

    /// Whether the set holds `token`.
    pub fn contains(&self, token: &str) -> bool {
        self.iter().any(|t| t == token)
    }

    /// Whether every token of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Self) -> bool {
        self.iter().all(|t| other.contains(t))
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The canonical space-separated form, as sent in responses.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `text` is already sorted, duplicate-free and single-spaced (the common case: one
/// token, or a list a client sends back as it received it), so parsing can keep it as is.
fn is_canonical(text: &str) -> bool {
    let mut previous: Option<&str> = None;
    for token in text.split(' ') {
        if token.is_empty() || previous.is_some_and(|p| p >= token) {
            return text.is_empty();
        }
        previous = Some(token);
    }
    true
}

impl FromStr for Scope {
    type Err = InvalidScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", &*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sc_01_tokens_are_case_sensitive_and_deduplicated() {
        let scope = Scope::parse("read READ read").unwrap();
        assert_eq!(scope.iter().count(), 2);
        assert_eq!(scope.as_str(), "READ read");
    }

    #[test]
    fn canonical_input_is_kept_and_other_input_canonicalised() {
        assert!(is_canonical("") && is_canonical("a") && is_canonical("a b c"));
        assert!(
            !is_canonical("b a")
                && !is_canonical("a a")
                && !is_canonical(" a")
                && !is_canonical("a  b")
        );
        assert_eq!(Scope::parse(" b  a ").unwrap().as_str(), "a b");
        assert_eq!(Scope::parse("").unwrap(), Scope::empty());
    }

    #[test]
    fn sc_01_forbidden_characters_are_refused() {
        for bad in ["a\"b", "a\\b", "caf\u{e9}", "a\tb", "a\u{7f}"] {
            assert_eq!(Scope::parse(bad), Err(InvalidScope(())), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn canonical_form_is_stable(tokens in proptest::collection::vec("[!#-\\[\\]-~]{1,8}", 0..8)) {
            let joined = tokens.join(" ");
            let scope = Scope::parse(&joined).unwrap();
            prop_assert_eq!(Scope::parse(scope.as_str()).unwrap(), scope.clone());
            for t in &tokens {
                prop_assert!(scope.contains(t));
            }
        }
    }
}
