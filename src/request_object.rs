//! Signed request objects ([RFC 9101](https://www.rfc-editor.org/rfc/rfc9101)): an
//! authorization request sent as a JWT (`request`) signed by the client, at the
//! authorization endpoint or pushed.
//!
//! Rules, in order: the object is a compact JWS within 16 KiB, of type
//! `oauth-authz-req+jwt`, `JWT` or untyped, signed with one of the client's registered
//! public keys (`jwks`, or the set at its `jwks_uri`) by the client's registered
//! `request_object_signing_alg`, or else an algorithm of the server's list (asymmetric
//! only: never `none`, never HMAC); `iss` is the client, `aud` holds the issuer
//! identifier; `exp` is required and the object lives at most 10 minutes; the object's
//! `client_id` is the client's. Until all of that passed, nothing in the object is
//! trusted, so failures are local errors. Then the object's members become the request's
//! parameters, and only they (RFC 9101 §6.3): a member of the wrong type, or a `request`
//! or `request_uri` inside the object, is an error the redirect URI may carry. A `jti`
//! makes the object single-use (recorded until `exp` plus the leeway).

use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::client_assertion::{RemoteSource, verify_with_client_keys};
use crate::jose::{AlgorithmSet, JwkSet, JwtError, Validation, VerifiedJwt};
use crate::secret::TokenHash;
use crate::store::SingleUseKind;
use crate::types::Client;

/// The longest life of a request object: `exp` − `nbf`, else `exp` − `iat`, else
/// `exp` − now.
const MAX_LIFETIME: Duration = Duration::from_secs(600);

/// The clock leeway for `exp`, `nbf` and `iat`, and how long past `exp` a `jti` stays
/// recorded.
pub(crate) const LEEWAY: Duration = Duration::from_secs(30);

/// The longest `jti` accepted.
const MAX_JTI: usize = 256;

/// Authorization request parameters whose value in a request object is a JSON string
/// ([RFC 9101 §4](https://www.rfc-editor.org/rfc/rfc9101#section-4)). Other members that
/// are strings are passed on too (extensions the server ignores); other members of another
/// type are ignored.
const STRING_PARAMETERS: [&str; 18] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "nonce",
    "display",
    "prompt",
    "ui_locales",
    "claims_locales",
    "id_token_hint",
    "login_hint",
    "acr_values",
    "dpop_jkt",
    "registration",
];

/// What checking a request object needs from the server.
pub(crate) struct ObjectCheck<'a> {
    /// The issuer identifier: the audience the object must name.
    pub(crate) issuer: &'a str,
    /// The server's algorithms, for clients without a registered one.
    pub(crate) algorithms: AlgorithmSet,
    /// The fetcher and cache of `jwks_uri` key sets.
    pub(crate) remote: RemoteSource<'a>,
    pub(crate) now: SystemTime,
}

/// A request object whose signature and claims verified.
pub(crate) struct RequestObject {
    /// Its parameters, form-encoded: the authorization request.
    pub(crate) parameters: String,
    /// A member of the wrong type, or a nested `request` or `request_uri`: the request
    /// is refused with `invalid_request_object`, through the redirect URI if it verifies.
    pub(crate) problem: Option<&'static str>,
    /// The single-use key of its `jti`, and until when to record it.
    pub(crate) jti: Option<(TokenHash, SystemTime)>,
}

/// Without the parameters: they carry `state`, `nonce` and the PKCE challenge.
impl fmt::Debug for RequestObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestObject")
            .field("problem", &self.problem)
            .field("single_use", &self.jti.is_some())
            .finish_non_exhaustive()
    }
}

impl ObjectCheck<'_> {
    /// Verifies `token`, a request object of `client`: `Ok` with its parameters, or the
    /// `error_description` of a local `invalid_request_object` (a category, never a
    /// value).
    pub(crate) async fn verify(
        &self,
        client: &Client,
        token: &str,
    ) -> Result<RequestObject, &'static str> {
        let algorithms = self
            .algorithms
            .restricted_to(client.request_object_signing_alg());
        let validation = Validation::request_object(client.id(), self.issuer)
            .algorithms(algorithms)
            .leeway(LEEWAY);
        let verified = verify_with_client_keys(
            client,
            self.remote,
            self.now,
            |remote: Option<&JwkSet>| match remote.or(client.jwks()) {
                Some(keys) => validation.verify(token, keys, self.now),
                None => Err(JwtError::UnknownKey),
            },
            |error| *error == JwtError::UnknownKey,
        )
        .await
        .map_err(describe)?;
        let jti = self.lifetime(client, &verified)?;
        let claims = verified.claims();
        match claims.get("client_id") {
            Some(Value::String(id)) if id == client.id().as_str() => {}
            _ => return Err("request object client_id does not match the request"),
        }
        let (parameters, problem) = parameters(claims.others());
        Ok(RequestObject {
            parameters,
            problem,
            jti,
        })
    }

    /// `exp` required, the life at most [`MAX_LIFETIME`], the `jti` at most 256
    /// characters: its single-use key.
    fn lifetime(
        &self,
        client: &Client,
        verified: &VerifiedJwt,
    ) -> Result<Option<(TokenHash, SystemTime)>, &'static str> {
        let claims = verified.claims();
        let exp = claims.expires_at().ok_or("request object exp required")?;
        let start = claims
            .not_before()
            .or(claims.issued_at())
            .unwrap_or(self.now);
        if exp.duration_since(start).unwrap_or_default() > MAX_LIFETIME {
            return Err("request object lifetime too long");
        }
        match claims.jwt_id() {
            None => Ok(None),
            Some(jti) if !jti.is_empty() && jti.len() <= MAX_JTI => {
                let key = SingleUseKind::RequestObject.key(client.id().as_str(), jti);
                Ok(Some((key, exp + LEEWAY)))
            }
            Some(_) => Err("request object jti invalid"),
        }
    }
}

/// The `error_description` of a failed JWT check: a category.
fn describe(error: JwtError) -> &'static str {
    match error {
        JwtError::Expired => "request object expired",
        JwtError::NotYetValid | JwtError::IssuedInFuture => "request object not yet valid",
        JwtError::WrongIssuer | JwtError::WrongAudience => {
            "request object issuer or audience invalid"
        }
        JwtError::BadSignature | JwtError::UnknownKey | JwtError::KeyMismatch => {
            "request object signature does not verify"
        }
        JwtError::AlgorithmNotAllowed => "request object algorithm not allowed",
        JwtError::WrongType => "request object type not allowed",
        JwtError::Unsupported => "encrypted or nested request objects are not supported",
        _ => "request object invalid",
    }
}

/// The members of a verified object as form-encoded request parameters
/// ([RFC 9101 §6.3](https://www.rfc-editor.org/rfc/rfc9101#section-6.3)), and the first
/// problem with them: strings stay strings, `max_age` is a non-negative integer, `claims`
/// a JSON object, `resource` a string or an array of strings; `request` and
/// `request_uri` are refused.
pub(crate) fn parameters(
    members: &serde_json::Map<String, Value>,
) -> (String, Option<&'static str>) {
    const WRONG_TYPE: &str = "request object parameter of the wrong type";
    let mut out = url::form_urlencoded::Serializer::new(String::with_capacity(512));
    let mut problem = None;
    let mut refuse = |why| {
        problem.get_or_insert(why);
    };
    for (name, value) in members {
        match (name.as_str(), value) {
            ("request" | "request_uri", _) => {
                refuse("request object must not contain request or request_uri");
            }
            ("max_age", Value::Number(n)) => match n.as_u64() {
                Some(seconds) => {
                    out.append_pair(name, &seconds.to_string());
                }
                None => refuse(WRONG_TYPE),
            },
            ("claims", Value::Object(_)) => {
                out.append_pair(name, &value.to_string());
            }
            ("resource", Value::Array(items)) => {
                for item in items {
                    match item {
                        Value::String(text) => {
                            out.append_pair(name, text);
                        }
                        _ => refuse(WRONG_TYPE),
                    }
                }
            }
            (_, Value::String(text)) if name != "max_age" && name != "claims" => {
                out.append_pair(name, text);
            }
            ("max_age" | "claims" | "resource", _) => refuse(WRONG_TYPE),
            (known, _) if STRING_PARAMETERS.contains(&known) => refuse(WRONG_TYPE),
            // An extension member that is not a string: ignored, like an unknown
            // parameter.
            _ => {}
        }
    }
    (out.finish(), problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(json: &str) -> serde_json::Map<String, Value> {
        match serde_json::from_str(json) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn jr_06_members_become_parameters_by_type() {
        let (text, problem) = parameters(&members(
            r#"{"scope":"read","max_age":60,"claims":{"userinfo":{}},"resource":["https://a","https://b"],"x-ext":{"a":1}}"#,
        ));
        assert_eq!(problem, None);
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
            .into_owned()
            .collect();
        let has = |n: &str, v: &str| pairs.iter().any(|(a, b)| a == n && b == v);
        assert!(has("scope", "read"));
        assert!(has("max_age", "60"));
        assert!(has("claims", r#"{"userinfo":{}}"#));
        assert!(has("resource", "https://a") && has("resource", "https://b"));
        assert!(!pairs.iter().any(|(n, _)| n == "x-ext"));
    }

    #[test]
    fn jr_06_wrong_types_and_nested_references_are_problems() {
        for json in [
            r#"{"request_uri":"urn:x"}"#,
            r#"{"request":"a.b.c"}"#,
            r#"{"max_age":"60"}"#,
            r#"{"max_age":-1}"#,
            r#"{"max_age":1.5}"#,
            r#"{"claims":"{}"}"#,
            r#"{"scope":["read"]}"#,
            r#"{"state":7}"#,
            r#"{"resource":[1]}"#,
            r#"{"resource":{}}"#,
        ] {
            assert!(parameters(&members(json)).1.is_some(), "{json}");
        }
    }
}
