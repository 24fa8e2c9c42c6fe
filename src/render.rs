//! The one home of response rendering: every JSON body the crate sends is written by
//! [`JsonObject`], and every `WWW-Authenticate` challenge by [`challenge`]. Each makes its
//! own output well-formed whatever it is given, so no caller has to have checked anything:
//! the JSON writer escapes every string completely (RFC 8259 §7), and the challenge writer
//! keeps quoted values to the characters RFC 6750 §3 allows, which can never end the
//! quoted string.

/// Builds one JSON object: members that are strings, integers, booleans or arrays of
/// strings, written straight into one buffer. It cannot fail and skips serde's machinery on
/// the hot paths.
pub(crate) struct JsonObject {
    buf: Vec<u8>,
}

impl JsonObject {
    /// An object whose output is expected to be about `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity);
        buf.push(b'{');
        Self { buf }
    }

    fn key(&mut self, name: &str) {
        if self.buf.len() > 1 {
            self.buf.push(b',');
        }
        push_string(&mut self.buf, name);
        self.buf.push(b':');
    }

    /// Adds a string member.
    pub(crate) fn string(&mut self, name: &str, value: &str) -> &mut Self {
        self.key(name);
        push_string(&mut self.buf, value);
        self
    }

    /// Adds a string member when `value` is `Some`; leaves it out otherwise (never `null`).
    pub(crate) fn optional_string(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.string(name, value);
        }
        self
    }

    /// Adds an array-of-strings member when `values` is `Some`.
    pub(crate) fn optional_string_array(
        &mut self,
        name: &str,
        values: Option<&[&str]>,
    ) -> &mut Self {
        if let Some(values) = values {
            self.string_array(name, values.iter().copied());
        }
        self
    }

    /// Adds an array-of-strings member.
    pub(crate) fn string_array<'v>(
        &mut self,
        name: &str,
        values: impl IntoIterator<Item = &'v str>,
    ) -> &mut Self {
        self.key(name);
        self.buf.push(b'[');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            push_string(&mut self.buf, value);
        }
        self.buf.push(b']');
        self
    }

    /// Adds a boolean member.
    pub(crate) fn boolean(&mut self, name: &str, value: bool) -> &mut Self {
        self.key(name);
        self.buf
            .extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// Adds an integer member.
    pub(crate) fn number(&mut self, name: &str, value: u64) -> &mut Self {
        self.key(name);
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = value;
        loop {
            at -= 1;
            // `rest % 10` is below 10, so the cast cannot truncate.
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.buf.extend_from_slice(&digits[at..]);
        self
    }

    /// Adds an audience member (`aud`, [RFC 7519 §4.1.3](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3)):
    /// a string for one resource, an array for several, left out when empty.
    pub(crate) fn audience(&mut self, name: &str, audience: &crate::types::Resources) -> &mut Self {
        match audience.as_slice() {
            [] => self,
            [one] => self.string(name, one.as_str()),
            _ => self.string_array(name, audience.iter()),
        }
    }

    /// Adds a member whose value is the object `value` (for nested claims such as `act`).
    pub(crate) fn object(&mut self, name: &str, value: Self) -> &mut Self {
        self.key(name);
        let nested = value.finish();
        self.buf.extend_from_slice(&nested);
        self
    }

    /// Adds a boolean member when `value` is `Some`; leaves it out otherwise.
    pub(crate) fn optional_boolean(&mut self, name: &str, value: Option<bool>) -> &mut Self {
        if let Some(value) = value {
            self.boolean(name, value);
        }
        self
    }

    /// Closes the object and returns its bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buf.push(b'}');
        self.buf
    }
}

/// Writes `value` as a JSON string: `"` and `\` escaped, control characters as `\u00XX`,
/// everything else (including non-ASCII UTF-8) as is, per RFC 8259 §7.
fn push_string(buf: &mut Vec<u8>, value: &str) {
    buf.push(b'"');
    let bytes = value.as_bytes();
    // Tokens, codes and scopes never need escaping: check without branching per byte.
    let needs_escape = bytes.iter().fold(false, |acc, &b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        buf.extend_from_slice(bytes);
        buf.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        buf.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[usize::from(b >> 4)]);
                buf.push(HEX[usize::from(b & 0xf)]);
            }
        }
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
    buf.push(b'"');
}

/// Whether `c` may appear in an OAuth error text, `error_description` and `error_uri`
/// included ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2):
/// `%x20-21 / %x23-5B / %x5D-7E`, [RFC 6749 §4.1.2.1]), and so in a challenge attribute value
/// ([RFC 6750 §3](https://www.rfc-editor.org/rfc/rfc6750#section-3), [RFC 6750 §3]): printable
/// ASCII without `"` and `\`, so it can never end or escape a quoted string.
///
/// [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
/// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
pub(crate) fn is_error_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

/// A `WWW-Authenticate` challenge
/// ([RFC 9110 §11.6.1](https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1)):
/// `Scheme realm="…", name="value", …`, each attribute once, in the order given. Values are
/// quoted strings of the RFC 6750 §3 set: characters outside it are left out, so a value
/// can never end its quoted string or inject an attribute (the crate's values are all
/// within it already: a realm checked at build time, fixed descriptions, scope tokens).
pub(crate) fn challenge(scheme: &str, realm: &str, attributes: &[(&str, &str)]) -> String {
    let length: usize = attributes.iter().map(|(n, v)| n.len() + v.len() + 5).sum();
    let mut out = String::with_capacity(scheme.len() + realm.len() + 9 + length);
    out.push_str(scheme);
    out.push(' ');
    for (i, (name, value)) in [("realm", realm)].iter().chain(attributes).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push_str("=\"");
        out.extend(value.chars().filter(|c| is_error_char(*c)));
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn writes_flat_objects() {
        let mut object = JsonObject::with_capacity(16);
        object
            .string("a", "x\"y\\z\n\u{e9}")
            .number("n", 42)
            .optional_string("none", None);
        let mut numbers = JsonObject::with_capacity(8);
        numbers.number("zero", 0).number("max", u64::MAX);
        assert_eq!(
            numbers.finish(),
            br#"{"zero":0,"max":18446744073709551615}"#
        );
        let out = object.finish();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "{\"a\":\"x\\\"y\\\\z\\u000a\u{e9}\",\"n\":42}"
        );
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["a"], "x\"y\\z\n\u{e9}");
        assert_eq!(value["n"], 42);
        assert!(value.get("none").is_none());
    }

    proptest! {
        #[test]
        fn any_string_round_trips(s in "\\PC*|[\\x00-\\x1f\"\\\\]*") {
            let mut object = JsonObject::with_capacity(8);
            object.string("k", &s);
            let value: serde_json::Value = serde_json::from_slice(&object.finish()).unwrap();
            prop_assert_eq!(value["k"].as_str(), Some(s.as_str()));
        }
    }

    #[test]
    fn arrays_and_optional_booleans() {
        let mut object = JsonObject::with_capacity(16);
        object
            .string_array("a", ["x", "y\"z"])
            .string_array("empty", [])
            .optional_boolean("yes", Some(true))
            .optional_boolean("none", None);
        assert_eq!(
            object.finish(),
            br#"{"a":["x","y\"z"],"empty":[],"yes":true}"#
        );
    }

    #[test]
    fn bt_08_challenges_quote_only_allowed_characters() {
        assert_eq!(challenge("Bearer", "api", &[]), r#"Bearer realm="api""#);
        assert_eq!(
            challenge("Basic", "as", &[("charset", "UTF-8")]),
            r#"Basic realm="as", charset="UTF-8""#
        );
        assert_eq!(
            challenge("Bearer", "r\"\\", &[("error", "x\", y=\"1\u{e9}\n")]),
            r#"Bearer realm="r", error="x, y=1""#
        );
    }
}
