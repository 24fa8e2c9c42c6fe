//! Strict JSON for JOSE headers, claims sets and JWKs: one object, UTF-8, no bytes after
//! it, **no duplicate member names** (rejected rather than resolved to the last value,
//! [RFC 7515 §5.2](https://www.rfc-editor.org/rfc/rfc7515#section-5.2) and
//! [RFC 8725 §3.7](https://www.rfc-editor.org/rfc/rfc8725#section-3.7)), bounded nesting
//! and a bounded number of values.
//!
//! serde_json parses; a seed of our own builds the value, so duplicates and the bounds are
//! checked while parsing, before anything is kept.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The deepest nesting accepted (the document's own object counts as one level).
pub(crate) const MAX_DEPTH: usize = 16;

/// Values accepted in one document: the document itself, every member value and every
/// array element, at any depth.
pub(crate) const MAX_VALUES: usize = 4096;

/// Parses `bytes` as one strict JSON object, or `None`.
pub(crate) fn parse_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    let budget = Cell::new(MAX_VALUES);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict {
        depth: MAX_DEPTH,
        budget: &budget,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Builds one value, counting down the remaining depth and the shared value budget.
#[derive(Clone, Copy)]
struct Strict<'b> {
    depth: usize,
    budget: &'b Cell<usize>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    /// Charges the value to the budget, then parses it.
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let left = self.budget.get();
        if left == 0 {
            return Err(D::Error::custom("too many JSON values"));
        }
        self.budget.set(left - 1);
        deserializer.deserialize_any(self)
    }
}

impl Strict<'_> {
    /// The seed for the values inside a container at this level.
    fn enter<E: serde::de::Error>(self) -> Result<Self, E> {
        match self.depth.checked_sub(1) {
            Some(depth) => Ok(Self { depth, ..self }),
            None => Err(E::custom("JSON nested too deeply")),
        }
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut out = Vec::new();
        while let Some(value) = seq.next_element_seed(inner)? {
            out.push(value);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut out = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(A::Error::custom("duplicate member name"));
            }
            let value = access.next_value_seed(inner)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A member that must be a string when present: `Ok(None)` when absent, `Err(error)` when
/// of another type.
pub(crate) fn opt_str<'m, E>(
    map: &'m Map<String, Value>,
    name: &str,
    error: E,
) -> Result<Option<&'m str>, E> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jw_02_strict_objects() {
        assert!(parse_object(br#"{"alg":"ES256","kid":"a"}"#).is_some());
        assert!(
            parse_object(b" {\"a\":1} \r\n").is_some(),
            "whitespace around"
        );
        assert!(parse_object(br#"{"alg":"ES256","alg":"none"}"#).is_none());
        assert!(
            parse_object(br#"{"a":{"b":1,"b":2}}"#).is_none(),
            "nested duplicate"
        );
        assert!(
            parse_object(br#"{"sub":"a"}ABCD"#).is_none(),
            "bytes after the object"
        );
        assert!(parse_object(br#"["a"]"#).is_none());
        assert!(parse_object(br#""a""#).is_none());
        assert!(parse_object(b"1").is_none());
        assert!(parse_object(b"\xef\xbb\xbf{}").is_none(), "byte order mark");
        // {"a":1} in UTF-16LE.
        let utf16: Vec<u8> = "{\"a\":1}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(parse_object(&utf16).is_none());
        assert!(parse_object(b"{\"a\":\"\xff\"}").is_none(), "invalid UTF-8");
        assert!(
            parse_object(br#"{"a":"\ud800"}"#).is_none(),
            "lone surrogate"
        );
    }

    #[test]
    fn jw_03_depth_and_count_are_bounded() {
        let nest = |n: usize| {
            format!(
                "{}{}",
                r#"{"a":"#.repeat(n),
                "1".to_owned() + &"}".repeat(n)
            )
        };
        assert!(parse_object(nest(MAX_DEPTH).as_bytes()).is_some());
        assert!(parse_object(nest(MAX_DEPTH + 1).as_bytes()).is_none());
        assert!(parse_object(nest(10_000).as_bytes()).is_none());
        let arrays = format!(r#"{{"a":{}1{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_object(arrays.as_bytes()).is_none());
        let many = |n: usize| format!(r#"{{"a":[{}]}}"#, vec!["0"; n].join(","));
        // The document, the member "a" and its elements.
        assert!(parse_object(many(MAX_VALUES - 2).as_bytes()).is_some());
        assert!(parse_object(many(MAX_VALUES - 1).as_bytes()).is_none());
    }
}
