//! Untrusted text on its way into logs and audit events: capped and escaped, so that a
//! value chosen by whoever sent the request can neither forge a log line nor flood one
//! ([RFC 6749 §10.14], [RFC 6749 §10.14](https://www.rfc-editor.org/rfc/rfc6749#section-10.14)).
//!
//! [RFC 6749 §10.14]: https://www.rfc-editor.org/rfc/rfc6749#section-10.14

use std::fmt::{self, Write as _};
use std::sync::Arc;

/// The most characters of an untrusted value that are recorded; longer values end in `…`.
pub(crate) const MAX_UNTRUSTED_CHARS: usize = 128;

/// An identifier a request claimed and nobody has verified, such as the `client_id` of a
/// failed client authentication, as it may be recorded: at most 128 characters (longer
/// values are cut and end in `…`), with control characters (CR and LF among them), `"`
/// and `\` escaped as in a Rust string literal, so that it cannot forge a log line
/// ([RFC 6749 §10.14](https://www.rfc-editor.org/rfc/rfc6749#section-10.14)).
///
/// Only identifiers are ever claimed here, never credentials. A request that claimed the
/// client `abc` CR LF `level=error` is recorded as `abc\r\nlevel=error`, on one line.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Claimed(Arc<str>);

impl Claimed {
    /// The capped and escaped form of `raw`.
    pub(crate) fn new(raw: &str) -> Self {
        let mut text = String::with_capacity(raw.len().min(MAX_UNTRUSTED_CHARS + 8));
        // Writing to a `String` cannot fail.
        let _ = write!(text, "{}", Untrusted(raw));
        Self(Arc::from(text))
    }

    /// The escaped, capped text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Claimed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Claimed(\"{}\")", self.0)
    }
}

impl fmt::Display for Claimed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Formats an untrusted value the way [`Claimed`] stores it, without allocating: what a
/// span records lazily (the work happens only if a subscriber formats the field).
#[derive(Clone, Copy)]
pub(crate) struct Untrusted<'a>(pub(crate) &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_UNTRUSTED_CHARS) {
            if c.is_control() || c == '"' || c == '\\' {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        if chars.next().is_some() {
            f.write_char('…')?;
        }
        Ok(())
    }
}

impl fmt::Debug for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Text already capped and escaped (a [`Claimed`]), recorded in quotes like any string
/// field, without escaping it a second time.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl fmt::Debug for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ob_04_control_characters_and_quotes_are_escaped() {
        let claimed = Claimed::new("abc\r\nlevel=error msg=\"forged\"\\\u{7}\u{1b}[31m");
        assert_eq!(
            claimed.as_str(),
            r#"abc\r\nlevel=error msg=\"forged\"\\\u{7}\u{1b}[31m"#
        );
        assert!(!claimed.as_str().contains(['\r', '\n', '\u{1b}']));
        // Printable text, non-ASCII included, is kept as it is.
        assert_eq!(Claimed::new("café-app").as_str(), "café-app");
    }

    #[test]
    fn ob_04_long_values_are_capped() {
        let long = "x".repeat(10_000);
        let claimed = Claimed::new(&long);
        assert_eq!(claimed.as_str().chars().count(), MAX_UNTRUSTED_CHARS + 1);
        assert!(claimed.as_str().ends_with('…'));
        let exact = "y".repeat(MAX_UNTRUSTED_CHARS);
        assert_eq!(Claimed::new(&exact).as_str(), exact);
    }
}
