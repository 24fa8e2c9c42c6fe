//! JWT claims sets ([RFC 7519 §4](https://www.rfc-editor.org/rfc/rfc7519#section-4)) as
//! typed values: the registered claims with their exact JSON types, and every other claim
//! kept as JSON.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::ser::{Serialize, SerializeMap as _, Serializer};
use serde_json::{Map, Value};

use super::error::JwtError;

/// The latest NumericDate accepted: 9999-12-31T23:59:59Z.
const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// The registered claim names with typed accessors.
const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// A JWT claims set.
///
/// Parsed from a verified JWT ([`VerifiedJwt::claims`](super::VerifiedJwt::claims)), the
/// registered claims have been type-checked: `iss`, `sub` and `jti` are strings, `aud` is a
/// string or a non-empty array of strings, `exp`, `nbf` and `iat` are JSON numbers (a
/// string such as `"1700000000"` is refused). Every other claim is kept as JSON and grants
/// nothing by itself ([RFC 7519 §4](https://www.rfc-editor.org/rfc/rfc7519#section-4)).
///
/// Built with the `with_*` methods, it is what a [`KeySet`](super::KeySet) signs.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use grantflow::jose::Claims;
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let claims = Claims::new()
///     .with_subject("alice")
///     .with_audience(["https://rs.example.com"])
///     .with_issued_at(now)
///     .with_expires_at(now + Duration::from_secs(300))
///     .with_claim("tenant", "blue")?;
/// assert_eq!(claims.subject(), Some("alice"));
/// assert_eq!(claims.get("tenant").and_then(|v| v.as_str()), Some("blue"));
/// assert!(Claims::new().with_claim("exp", 1).is_err()); // typed setters only
/// # Ok::<(), grantflow::jose::InvalidClaimName>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claims {
    issuer: Option<String>,
    subject: Option<String>,
    audience: Vec<String>,
    expires_at: Option<SystemTime>,
    not_before: Option<SystemTime>,
    issued_at: Option<SystemTime>,
    jwt_id: Option<String>,
    other: Map<String, Value>,
}

/// [`Claims::with_claim`] was given a registered claim name (`iss`, `sub`, `aud`, `exp`,
/// `nbf`, `iat`, `jti`), which has a typed setter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("registered claims are set with their typed setters")]
pub struct InvalidClaimName(());

impl InvalidClaimName {
    pub(crate) fn new() -> Self {
        Self(())
    }
}

impl Claims {
    /// An empty claims set.
    pub fn new() -> Self {
        Self::default()
    }

    /// `iss`, the issuer.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// `sub`, the subject.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// `aud`, the audiences (empty when absent).
    pub fn audience(&self) -> &[String] {
        &self.audience
    }

    /// `exp`, the expiry.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// `nbf`, the start of validity.
    pub fn not_before(&self) -> Option<SystemTime> {
        self.not_before
    }

    /// `iat`, the issue time.
    pub fn issued_at(&self) -> Option<SystemTime> {
        self.issued_at
    }

    /// `jti`, the JWT id.
    pub fn jwt_id(&self) -> Option<&str> {
        self.jwt_id.as_deref()
    }

    /// Any other claim, as JSON.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.other.get(name)
    }

    /// A claim that must be a string when present.
    ///
    /// # Errors
    /// [`JwtError::InvalidClaim`] when it is present with another JSON type.
    pub(crate) fn string(&self, name: &'static str) -> Result<Option<&str>, JwtError> {
        match self.other.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(JwtError::InvalidClaim(name)),
        }
    }

    /// A claim that must be a NumericDate when present.
    ///
    /// # Errors
    /// [`JwtError::InvalidClaim`] when it is present and not a NumericDate.
    pub(crate) fn date(&self, name: &'static str) -> Result<Option<SystemTime>, JwtError> {
        self.other
            .get(name)
            .map(|value| numeric_date(value, name))
            .transpose()
    }

    /// Sets `iss`.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets `sub`.
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets `aud`: a single audience is written as a string, several as an array
    /// ([RFC 7519 §4.1.3](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3)).
    #[must_use]
    pub fn with_audience<I, S>(mut self, audience: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = audience.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `exp`.
    #[must_use]
    pub fn with_expires_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Sets `nbf`.
    #[must_use]
    pub fn with_not_before(mut self, at: SystemTime) -> Self {
        self.not_before = Some(at);
        self
    }

    /// Sets `iat`.
    #[must_use]
    pub fn with_issued_at(mut self, at: SystemTime) -> Self {
        self.issued_at = Some(at);
        self
    }

    /// Sets `jti`.
    #[must_use]
    pub fn with_jwt_id(mut self, id: impl Into<String>) -> Self {
        self.jwt_id = Some(id.into());
        self
    }

    /// Sets any other claim.
    ///
    /// # Errors
    /// [`InvalidClaimName`] for a registered claim name: those have typed setters.
    pub fn with_claim(
        mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<Self, InvalidClaimName> {
        let name = name.into();
        if REGISTERED.contains(&name.as_str()) {
            return Err(InvalidClaimName(()));
        }
        self.other.insert(name, value.into());
        Ok(self)
    }

    /// The claims other than the registered ones, in the order of their names.
    pub(crate) fn others(&self) -> &Map<String, Value> {
        &self.other
    }

    /// Sets a claim whose name the caller knows is not registered.
    pub(crate) fn insert_other(&mut self, name: String, value: Value) {
        self.other.insert(name, value);
    }

    /// Reads a claims set from a strictly parsed JSON object, type-checking the registered
    /// claims.
    pub(crate) fn from_object(mut map: Map<String, Value>) -> Result<Self, JwtError> {
        let mut take_string = |name: &'static str| match map.remove(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(JwtError::InvalidClaim(name)),
        };
        let issuer = take_string("iss")?;
        let subject = take_string("sub")?;
        let jwt_id = take_string("jti")?;
        let audience = match map.remove("aud") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(values)) if !values.is_empty() => values
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(JwtError::InvalidClaim("aud")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(JwtError::InvalidClaim("aud")),
        };
        let mut take_date = |name: &'static str| {
            map.remove(name)
                .map(|value| numeric_date(&value, name))
                .transpose()
        };
        let expires_at = take_date("exp")?;
        let not_before = take_date("nbf")?;
        let issued_at = take_date("iat")?;
        Ok(Self {
            issuer,
            subject,
            audience,
            expires_at,
            not_before,
            issued_at,
            jwt_id,
            other: map,
        })
    }

    /// The claims set as JSON.
    #[cfg(test)]
    pub(crate) fn to_json(&self) -> Vec<u8> {
        // Serializing strings, numbers and JSON values into a Vec cannot fail.
        serde_json::to_vec(&WithIssuer(self, None)).unwrap_or_default()
    }

    /// The claims set as JSON with `iss` set to `issuer`, for signing.
    pub(crate) fn to_json_with_issuer(&self, issuer: &str) -> Vec<u8> {
        serde_json::to_vec(&WithIssuer(self, Some(issuer))).unwrap_or_default()
    }
}

/// The claims, with `iss` replaced when the second field is `Some`.
struct WithIssuer<'a>(&'a Claims, Option<&'a str>);

impl Serialize for WithIssuer<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Self(claims, issuer) = self;
        let mut map = serializer.serialize_map(None)?;
        if let Some(iss) = issuer.or(claims.issuer.as_deref()) {
            map.serialize_entry("iss", iss)?;
        }
        let this = claims;
        if let Some(sub) = &this.subject {
            map.serialize_entry("sub", sub)?;
        }
        match this.audience.as_slice() {
            [] => {}
            [one] => map.serialize_entry("aud", one)?,
            many => map.serialize_entry("aud", many)?,
        }
        for (name, at) in [
            ("exp", this.expires_at),
            ("nbf", this.not_before),
            ("iat", this.issued_at),
        ] {
            if let Some(at) = at {
                map.serialize_entry(name, &seconds(at))?;
            }
        }
        if let Some(jti) = &this.jwt_id {
            map.serialize_entry("jti", jti)?;
        }
        for (name, value) in &this.other {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Whole seconds since the epoch (0 before it): the NumericDate the crate writes.
pub(crate) fn seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A NumericDate ([RFC 7519 §2](https://www.rfc-editor.org/rfc/rfc7519#section-2)): a JSON
/// number, integer or fractional, from 1970 to the year 9999.
fn numeric_date(value: &Value, name: &'static str) -> Result<SystemTime, JwtError> {
    let Value::Number(number) = value else {
        return Err(JwtError::InvalidClaim(name));
    };
    let since = match (number.as_u64(), number.as_f64()) {
        (Some(secs), _) if secs <= MAX_NUMERIC_DATE => Duration::from_secs(secs),
        (None, Some(secs)) if (0.0..=MAX_NUMERIC_DATE as f64).contains(&secs) => {
            Duration::try_from_secs_f64(secs).map_err(|_| JwtError::InvalidClaim(name))?
        }
        _ => return Err(JwtError::InvalidClaim(name)),
    };
    Ok(UNIX_EPOCH + since)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> Result<Claims, JwtError> {
        Claims::from_object(super::super::json::parse_object(json.as_bytes()).unwrap())
    }

    #[test]
    fn jw_14_times_are_json_numbers() {
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        let parsed = claims(r#"{"exp":1700000000,"nbf":1.5,"iat":0}"#).unwrap();
        assert_eq!(parsed.expires_at(), Some(at(1_700_000_000)));
        assert_eq!(
            parsed.not_before(),
            Some(UNIX_EPOCH + Duration::from_millis(1500))
        );
        assert_eq!(parsed.issued_at(), Some(at(0)));
        for bad in [
            r#"{"exp":"1700000000"}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":-0.5}"#,
            r#"{"exp":1e300}"#,
            r#"{"exp":true}"#,
            r#"{"nbf":null}"#,
            r#"{"iat":[1]}"#,
            r#"{"exp":253402300800}"#,
        ] {
            assert!(claims(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jw_15_audience_is_a_string_or_an_array_of_strings() {
        assert_eq!(claims(r#"{"aud":"a"}"#).unwrap().audience(), ["a"]);
        assert_eq!(
            claims(r#"{"aud":["a","b"]}"#).unwrap().audience(),
            ["a", "b"]
        );
        for bad in [
            r#"{"aud":[]}"#,
            r#"{"aud":["a",1]}"#,
            r#"{"aud":1}"#,
            r#"{"aud":{}}"#,
        ] {
            assert_eq!(claims(bad), Err(JwtError::InvalidClaim("aud")), "{bad}");
        }
        assert_eq!(claims(r#"{"iss":7}"#), Err(JwtError::InvalidClaim("iss")));
        assert_eq!(
            claims(r#"{"jti":null}"#),
            Err(JwtError::InvalidClaim("jti"))
        );
    }

    #[test]
    fn round_trip_through_json() {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let original = Claims::new()
            .with_issuer("https://as.example.com")
            .with_subject("alice")
            .with_audience(["a", "b"])
            .with_expires_at(at)
            .with_not_before(at)
            .with_issued_at(at)
            .with_jwt_id("j")
            .with_claim("scope", "read")
            .unwrap();
        assert_eq!(
            claims(std::str::from_utf8(&original.to_json()).unwrap()).unwrap(),
            original
        );
        let single = Claims::new().with_audience(["a"]).to_json();
        assert_eq!(single, br#"{"aud":"a"}"#);
    }
}
