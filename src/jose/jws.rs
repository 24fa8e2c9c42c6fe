//! JWS Compact Serialization ([RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1)):
//! the parser every received JWT goes through, and the encoder of the JWTs the crate signs.
//!
//! The parser checks, in this order and before any key is looked at: the length, the
//! three-segment shape and alphabet, the header as one strict JSON object, `alg` against
//! the use's allow-list, `crit`, nesting and encryption, `typ`, and the key-carrying header
//! parameters. The signature is then verified over the *received* `header.payload` bytes,
//! never over a re-serialization.

use serde_json::{Map, Value};

use super::alg::{Algorithm, AlgorithmSet};
use super::error::JwtError;
use super::jwk::{AlgChoice, Parsed, PublicJwk, parse_object};
use super::{b64, json};
use crate::render::JsonObject;

/// The signature algorithm a header names, once allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderAlg {
    Signature(Algorithm),
    Hmac(HmacAlg),
}

impl HeaderAlg {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Signature(alg) => alg.name(),
            Self::Hmac(alg) => alg.name(),
        }
    }
}

/// The HMAC algorithms of `client_secret_jwt`
/// ([RFC 7518 §3.2](https://www.rfc-editor.org/rfc/rfc7518#section-3.2)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HmacAlg {
    Hs256,
    Hs384,
    Hs512,
}

impl HmacAlg {
    /// Every one, in the order the metadata lists them.
    pub(crate) const ALL: [Self; 3] = [Self::Hs256, Self::Hs384, Self::Hs512];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
        }
    }
}

/// How a use treats `typ` ([RFC 8725 §3.11](https://www.rfc-editor.org/rfc/rfc8725#section-3.11)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TypRule {
    /// Exactly this media type (as `x` or `application/x`, any case).
    Exactly(&'static str),
    /// This type, the generic `JWT`, or none.
    OwnOrGeneric(&'static str),
    /// The generic `JWT`, or none.
    Generic,
}

impl TypRule {
    fn admits(self, typ: Option<&str>) -> bool {
        let typ = typ.map(|t| {
            // A value without '/' stands for application/<value> (RFC 7515 §4.1.9).
            match t.get(..12) {
                Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &t[12..],
                _ => t,
            }
        });
        let is = |name: &str| typ.is_some_and(|t| t.eq_ignore_ascii_case(name));
        match self {
            Self::Exactly(own) => is(own),
            Self::OwnOrGeneric(own) => typ.is_none() || is(own) || is("JWT"),
            Self::Generic => typ.is_none() || is("JWT"),
        }
    }
}

/// Where the verification key may come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// A trusted key set; a key in the header is refused.
    Trusted,
    /// The header's own `jwk`, which must be there (DPoP proofs).
    Embedded,
}

/// What a use admits in a JOSE header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeaderRules {
    pub(crate) max_len: usize,
    pub(crate) algorithms: AlgorithmSet,
    /// Whether the HMAC algorithms are admitted (client assertions only).
    pub(crate) hmac: bool,
    pub(crate) typ: TypRule,
    pub(crate) key_source: KeySource,
}

/// A parsed compact JWS whose header passed the use's rules; the signature is not yet
/// verified.
#[derive(Debug)]
pub(crate) struct Compact<'a> {
    /// `header.payload` exactly as received: what the signature covers.
    pub(crate) signing_input: &'a [u8],
    /// The payload segment, still encoded.
    pub(crate) payload: &'a str,
    pub(crate) signature: Vec<u8>,
    pub(crate) alg: HeaderAlg,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
    pub(crate) jwk: Option<PublicJwk>,
}

/// Parses `token` under `rules` (see the module docs for the order of the checks).
pub(crate) fn parse<'a>(token: &'a str, rules: &HeaderRules) -> Result<Compact<'a>, JwtError> {
    if token.len() > rules.max_len {
        return Err(JwtError::TooLarge);
    }
    // Exactly three segments, each non-empty (the payload may be empty) and base64url
    // only: a third '.' would fail the alphabet check of the signature segment.
    let bytes = token.as_bytes();
    let first = token.find('.').ok_or(JwtError::Malformed)?;
    let second = token[first + 1..]
        .find('.')
        .map(|at| first + 1 + at)
        .ok_or(JwtError::Malformed)?;
    let header = &token[..first];
    let payload = &token[first + 1..second];
    let signature = &token[second + 1..];
    if header.is_empty()
        || signature.is_empty()
        || !(b64::is_segment(header.as_bytes())
            & b64::is_segment(payload.as_bytes())
            & b64::is_segment(signature.as_bytes()))
    {
        return Err(JwtError::Malformed);
    }
    let header = b64::decode(header).ok_or(JwtError::Malformed)?;
    let header = json::parse_object(&header).ok_or(JwtError::InvalidHeader)?;
    let alg = check_alg(&header, rules)?;
    check_header(&header, rules)?;
    let typ = string(&header, "typ")?;
    if !rules.typ.admits(typ) {
        return Err(JwtError::WrongType);
    }
    let jwk = embedded_key(&header, rules.key_source, alg)?;
    let kid = string(&header, "kid")?.map(str::to_owned);
    let typ = typ.map(str::to_owned);
    let signature = b64::decode(signature).ok_or(JwtError::Malformed)?;
    Ok(Compact {
        signing_input: &bytes[..second],
        payload,
        signature,
        alg,
        kid,
        typ,
        jwk,
    })
}

/// A header parameter that must be a string when present.
fn string<'m>(header: &'m Map<String, Value>, name: &str) -> Result<Option<&'m str>, JwtError> {
    json::opt_str(header, name, JwtError::InvalidHeader)
}

/// `alg`: present, and in the allow-list exactly as written
/// ([RFC 7515 §4.1.1](https://www.rfc-editor.org/rfc/rfc7515#section-4.1.1)).
fn check_alg(header: &Map<String, Value>, rules: &HeaderRules) -> Result<HeaderAlg, JwtError> {
    let Some(name) = string(header, "alg")? else {
        return Err(JwtError::AlgorithmNotAllowed);
    };
    if rules.hmac
        && let Some(alg) = HmacAlg::ALL.into_iter().find(|alg| alg.name() == name)
    {
        return Ok(HeaderAlg::Hmac(alg));
    }
    match Algorithm::from_name(name) {
        Some(alg) if rules.algorithms.contains(alg) => Ok(HeaderAlg::Signature(alg)),
        _ => Err(JwtError::AlgorithmNotAllowed),
    }
}

/// `crit`, nesting and encryption, and headers that point to keys.
fn check_header(header: &Map<String, Value>, rules: &HeaderRules) -> Result<(), JwtError> {
    // No critical extension is understood (RFC 7515 §4.1.11).
    if header.contains_key("crit") {
        return Err(JwtError::CriticalHeader);
    }
    // JWE header parameters, and a nested JWT (RFC 7519 §5.2).
    if header.contains_key("enc") || header.contains_key("zip") {
        return Err(JwtError::Unsupported);
    }
    let nested =
        |cty: &str| cty.eq_ignore_ascii_case("JWT") || cty.eq_ignore_ascii_case("application/jwt");
    if string(header, "cty")?.is_some_and(nested) {
        return Err(JwtError::Unsupported);
    }
    // A JWT never supplies or points to its own verification key (RFC 8725 §3.10), except
    // a DPoP proof's `jwk`.
    if ["jku", "x5u", "x5c"]
        .iter()
        .any(|name| header.contains_key(*name))
        || (rules.key_source == KeySource::Trusted && header.contains_key("jwk"))
    {
        return Err(JwtError::KeyInHeader);
    }
    Ok(())
}

/// The embedded public `jwk` of a use that takes its key from the header.
fn embedded_key(
    header: &Map<String, Value>,
    source: KeySource,
    alg: HeaderAlg,
) -> Result<Option<PublicJwk>, JwtError> {
    if source == KeySource::Trusted {
        return Ok(None);
    }
    let (Some(Value::Object(jwk)), HeaderAlg::Signature(alg)) = (header.get("jwk"), alg) else {
        return Err(JwtError::KeyInHeader);
    };
    match parse_object(jwk, AlgChoice::Exactly(alg)) {
        Ok(Parsed::Key(key)) => Ok(Some(key)),
        _ => Err(JwtError::KeyInHeader),
    }
}

/// The base64url of the JWS header of a JWT the crate signs: `alg`, `kid` and `typ`, and
/// nothing that points to a key ([RFC 8725 §3.10](https://www.rfc-editor.org/rfc/rfc8725#section-3.10)).
pub(crate) fn encoded_header(alg: Algorithm, kid: &str, typ: &str) -> String {
    let mut header = JsonObject::with_capacity(96);
    header
        .string("alg", alg.name())
        .string("kid", kid)
        .string("typ", typ);
    b64::encode(&header.finish())
}

/// `header.payload`, from the encoded header and the claims' JSON, with room for the
/// `.signature` of `signature_len` bytes that [`finish`] appends.
pub(crate) fn signing_input(encoded_header: &str, claims: &[u8], signature_len: usize) -> String {
    let mut out = String::with_capacity(
        encoded_header.len() + claims.len().div_ceil(3) * 4 + signature_len.div_ceil(3) * 4 + 2,
    );
    out.push_str(encoded_header);
    out.push('.');
    b64::encode_into(claims, &mut out);
    out
}

/// Appends `.signature` to a signing input.
pub(crate) fn finish(mut signing_input: String, signature: &[u8]) -> String {
    signing_input.push('.');
    b64::encode_into(signature, &mut signing_input);
    signing_input
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: HeaderRules = HeaderRules {
        max_len: 16 * 1024,
        algorithms: AlgorithmSet::ALL,
        hmac: false,
        typ: TypRule::Generic,
        key_source: KeySource::Trusted,
    };

    fn token(header: &str) -> String {
        format!("{}.e30.c2ln", b64::encode(header.as_bytes()))
    }

    #[test]
    fn jw_01_compact_shape() {
        let ok = token(r#"{"alg":"ES256"}"#);
        assert!(parse(&ok, &RULES).is_ok());
        let err = |t: &str| parse(t, &RULES).unwrap_err();
        assert_eq!(err("a.b"), JwtError::Malformed);
        assert_eq!(err(&format!("{ok}.x.y")), JwtError::Malformed);
        assert_eq!(err(&format!("{ok}.")), JwtError::Malformed);
        assert_eq!(err(&ok.replacen('.', "=.", 1)), JwtError::Malformed);
        assert_eq!(err(&ok.replacen('.', " .", 1)), JwtError::Malformed);
        assert_eq!(err(r#"{"alg":"ES256"}.p.s"#), JwtError::Malformed);
        assert_eq!(
            err(ok.trim_end_matches("c2ln")),
            JwtError::Malformed,
            "empty signature"
        );
        assert_eq!(
            err(&ok[ok.find('.').unwrap()..]),
            JwtError::Malformed,
            "empty header"
        );
        assert_eq!(err(&format!("{ok}\n")), JwtError::Malformed);
    }

    #[test]
    fn jw_03_length_is_checked_first() {
        let long = "!".repeat(RULES.max_len + 1);
        assert_eq!(parse(&long, &RULES).unwrap_err(), JwtError::TooLarge);
    }

    #[test]
    fn jw_04_alg_is_exact_and_allow_listed() {
        let err = |h: &str| parse(&token(h), &RULES).unwrap_err();
        for alg in ["none", "None", "noNE", "es256", "RS512", "HS256", ""] {
            assert_eq!(
                err(&format!(r#"{{"alg":"{alg}"}}"#)),
                JwtError::AlgorithmNotAllowed,
                "{alg}"
            );
        }
        assert_eq!(err(r#"{"typ":"JWT"}"#), JwtError::AlgorithmNotAllowed);
        assert_eq!(err(r#"{"alg":["ES256"]}"#), JwtError::InvalidHeader);
        let only_ed = HeaderRules {
            algorithms: AlgorithmSet::only(Algorithm::EdDsa),
            ..RULES
        };
        assert_eq!(
            parse(&token(r#"{"alg":"ES256"}"#), &only_ed).unwrap_err(),
            JwtError::AlgorithmNotAllowed
        );
    }

    #[test]
    fn jw_09_jw_11_crit_nesting_and_key_urls_are_refused() {
        let err = |h: &str| parse(&token(h), &RULES).unwrap_err();
        assert_eq!(
            err(r#"{"alg":"ES256","crit":[]}"#),
            JwtError::CriticalHeader
        );
        assert_eq!(
            err(r#"{"alg":"ES256","crit":["exp"],"exp":1}"#),
            JwtError::CriticalHeader
        );
        assert_eq!(err(r#"{"alg":"ES256","cty":"JWT"}"#), JwtError::Unsupported);
        assert_eq!(err(r#"{"alg":"ES256","cty":"jwt"}"#), JwtError::Unsupported);
        assert_eq!(
            err(r#"{"alg":"ES256","enc":"A128GCM"}"#),
            JwtError::Unsupported
        );
        for member in ["jku", "x5u", "x5c", "jwk"] {
            assert_eq!(
                err(&format!(
                    r#"{{"alg":"ES256","{member}":"https://attacker.test/k"}}"#
                )),
                JwtError::KeyInHeader,
                "{member}"
            );
        }
        assert_eq!(
            err(r#"{"alg":"ES256","alg":"none"}"#),
            JwtError::InvalidHeader
        );
        assert_eq!(err(r#"{"alg":"ES256","kid":1}"#), JwtError::InvalidHeader);
    }

    #[test]
    fn jw_10_typ_rules() {
        let at = TypRule::Exactly("at+jwt");
        for ok in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "application/AT+JWT",
            "Application/at+jwt",
        ] {
            assert!(at.admits(Some(ok)), "{ok}");
        }
        for bad in [
            None,
            Some("JWT"),
            Some("dpop+jwt"),
            Some("text/at+jwt"),
            Some("at+jwt "),
        ] {
            assert!(!at.admits(bad), "{bad:?}");
        }
        let assertion = TypRule::OwnOrGeneric("client-authentication+jwt");
        assert!(assertion.admits(None));
        assert!(assertion.admits(Some("JWT")));
        assert!(assertion.admits(Some("client-authentication+jwt")));
        assert!(!assertion.admits(Some("dpop+jwt")));
        assert!(!assertion.admits(Some("at+jwt")));
        assert!(TypRule::Generic.admits(Some("application/jwt")));
        assert!(!TypRule::Generic.admits(Some("at+jwt")));
    }

    #[test]
    fn signing_input_shape() {
        let header = encoded_header(Algorithm::Es256, "k1", "at+jwt");
        let input = signing_input(&header, b"{}", 64);
        let capacity = input.capacity();
        let (header, payload) = input.split_once('.').unwrap();
        assert_eq!(
            b64::decode(header).unwrap(),
            br#"{"alg":"ES256","kid":"k1","typ":"at+jwt"}"#
        );
        assert_eq!(payload, "e30");
        // The signature is appended without growing the buffer.
        let token = finish(input, &[0u8; 64]);
        assert!(token.len() <= capacity);
        assert_eq!(token.capacity(), capacity);
    }
}
