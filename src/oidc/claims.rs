//! Claims: the host's [`ClaimsSource`], the claims each scope stands for
//! ([Core §5.4](https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims)), the
//! `claims` request parameter ([Core §5.5](https://openid.net/specs/openid-connect-core-1_0.html#ClaimsParameter)),
//! and the release rules: only the claims asked for, of their standard types, never `null`.

use std::fmt;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::{ErrorCode, OAuthError, StorageError};
use crate::jose::json;
use crate::types::{Client, Scope, Subject};

/// The host's user database, as the OpenID Provider reads it: the claims of a user, for an
/// ID token or a UserInfo response.
///
/// Return what the host is willing to release to this client about this user, as JSON
/// members; the server keeps only the claims the granted scope and the `claims` request
/// ask for ([`ClaimsQuery::names`]), type-checks the standard ones
/// ([Core §5.1](https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims)) and
/// leaves out `null`s and empty strings. `sub` is the server's, never the source's. A claim
/// the user has no value for is simply absent: that is not an error.
///
/// ```
/// use async_trait::async_trait;
/// use grantflow::StorageError;
/// use grantflow::oidc::{ClaimsQuery, ClaimsSource};
/// use serde_json::{Map, Value, json};
///
/// #[derive(Debug)]
/// struct Directory;
///
/// #[async_trait]
/// impl ClaimsSource for Directory {
///     async fn claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StorageError> {
///         let mut claims = Map::new();
///         if query.subject.as_str() == "alice" {
///             claims.insert("name".into(), json!("Alice Liddell"));
///             claims.insert("email".into(), json!("alice@example.com"));
///             claims.insert("email_verified".into(), json!(true));
///         }
///         Ok(claims)
///     }
/// }
/// ```
#[async_trait]
pub trait ClaimsSource: Send + Sync + fmt::Debug {
    /// The claims of `query.subject` that may be released to `query.client`.
    ///
    /// # Errors
    /// [`StorageError`] when the user database fails; the client then gets `server_error`.
    async fn claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StorageError>;
}

#[async_trait]
impl<T: ClaimsSource + ?Sized> ClaimsSource for std::sync::Arc<T> {
    async fn claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StorageError> {
        (**self).claims(query).await
    }
}

/// What a [`ClaimsSource`] is asked for.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ClaimsQuery<'a> {
    /// The user, as the host identified them when it approved.
    pub subject: &'a Subject,
    /// The client the claims go to.
    pub client: &'a Client,
    /// The granted scope.
    pub scope: &'a Scope,
    /// The claims that will be released if the source has them: the source may return
    /// only these, or more (the rest is dropped).
    pub names: &'a [&'a str],
}

/// The standard claims each scope value stands for
/// ([Core §5.4](https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims)).
pub(crate) const SCOPE_CLAIMS: [(&str, &[&str]); 4] = [
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// Claims the server writes itself into an ID token or UserInfo response: a source's or a
/// request's value for them is never used.
const SERVER_CLAIMS: [&str; 15] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
];

/// Which claims of a [`ClaimsRequest`] member: the ID token's or UserInfo's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    IdToken,
    UserInfo,
}

/// One requested claim (Core §5.5.1): `null`, or an object with `essential`, `value` and
/// `values`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ClaimRequest {
    pub(crate) name: String,
    pub(crate) essential: bool,
    pub(crate) value: Option<Value>,
    pub(crate) values: Option<Vec<Value>>,
}

impl ClaimRequest {
    /// Whether `candidate` may be released for this request: it equals `value`, or is one
    /// of `values`, when those were given (Core §5.5.1).
    pub(crate) fn accepts(&self, candidate: &Value) -> bool {
        if let Some(value) = &self.value {
            return value == candidate;
        }
        if let Some(values) = &self.values {
            return values.contains(candidate);
        }
        true
    }

    /// The values this request restricts the claim to, if any.
    pub(crate) fn wanted(&self) -> Option<Vec<&Value>> {
        match (&self.value, &self.values) {
            (Some(value), _) => Some(vec![value]),
            (None, Some(values)) => Some(values.iter().collect()),
            (None, None) => None,
        }
    }
}

/// The `claims` request parameter, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ClaimsRequest {
    pub(crate) id_token: Vec<ClaimRequest>,
    pub(crate) userinfo: Vec<ClaimRequest>,
}

fn malformed() -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_REQUEST).with_description("malformed claims parameter")
}

impl ClaimsRequest {
    /// Parses the parameter ([OpenID Connect Core 1.0 §5.5]): a strict JSON object (no duplicate
    /// member, bounded
    /// depth); its `id_token` and `userinfo` members, when present, objects mapping claim
    /// names to `null` or to an object whose `essential` is a boolean and `values` an
    /// array. Other members, at either level, are ignored.
    ///
    /// # Errors
    /// `invalid_request` for anything else.
    ///
    /// [OpenID Connect Core 1.0 §5.5]: https://openid.net/specs/openid-connect-core-1_0.html
    pub(crate) fn parse(text: &str) -> Result<Self, OAuthError> {
        let object = json::parse_object(text.as_bytes()).ok_or_else(malformed)?;
        let member = |name: &str| -> Result<Vec<ClaimRequest>, OAuthError> {
            match object.get(name) {
                None => Ok(Vec::new()),
                Some(Value::Object(claims)) => claims
                    .iter()
                    .map(|(name, request)| claim_request(name, request))
                    .collect(),
                Some(_) => Err(malformed()),
            }
        };
        Ok(Self {
            id_token: member("id_token")?,
            userinfo: member("userinfo")?,
        })
    }

    /// The members of `target`.
    pub(crate) fn of(&self, target: Target) -> &[ClaimRequest] {
        match target {
            Target::IdToken => &self.id_token,
            Target::UserInfo => &self.userinfo,
        }
    }

    /// The request for `name` in `target`, if any.
    pub(crate) fn get(&self, target: Target, name: &str) -> Option<&ClaimRequest> {
        self.of(target).iter().find(|r| r.name == name)
    }

    /// The request in its stored form: the checked members only, as compact JSON.
    pub(crate) fn to_json(&self) -> String {
        let member = |requests: &[ClaimRequest]| {
            let mut map = Map::new();
            for request in requests {
                let mut spec = Map::new();
                if request.essential {
                    spec.insert("essential".into(), Value::Bool(true));
                }
                if let Some(value) = &request.value {
                    spec.insert("value".into(), value.clone());
                }
                if let Some(values) = &request.values {
                    spec.insert("values".into(), Value::Array(values.clone()));
                }
                let spec = if spec.is_empty() {
                    Value::Null
                } else {
                    Value::Object(spec)
                };
                map.insert(request.name.clone(), spec);
            }
            Value::Object(map)
        };
        let mut object = Map::new();
        if !self.id_token.is_empty() {
            object.insert("id_token".into(), member(&self.id_token));
        }
        if !self.userinfo.is_empty() {
            object.insert("userinfo".into(), member(&self.userinfo));
        }
        Value::Object(object).to_string()
    }
}

/// One member of `id_token` or `userinfo`.
fn claim_request(name: &str, request: &Value) -> Result<ClaimRequest, OAuthError> {
    let mut parsed = ClaimRequest {
        name: name.to_owned(),
        essential: false,
        value: None,
        values: None,
    };
    match request {
        Value::Null => {}
        Value::Object(spec) => {
            match spec.get("essential") {
                None => {}
                Some(Value::Bool(essential)) => parsed.essential = *essential,
                Some(_) => return Err(malformed()),
            }
            match spec.get("values") {
                None => {}
                Some(Value::Array(values)) => parsed.values = Some(values.clone()),
                Some(_) => return Err(malformed()),
            }
            parsed.value = spec.get("value").cloned();
        }
        _ => return Err(malformed()),
    }
    Ok(parsed)
}

/// The claims the standard types of Core §5.1 make booleans.
const BOOLEAN_CLAIMS: [&str; 2] = ["email_verified", "phone_number_verified"];

/// A value of the source as it may be released ([OpenID Connect Core 1.0 §5.1]): `null` and `""`
/// are absent; the
/// standard claims have their standard types: `email_verified` and
/// `phone_number_verified` booleans (the strings `"true"` and `"false"` are read as
/// booleans), `updated_at` a non-negative integer, `address` an object, the other
/// standard claims strings. A value of the wrong type is withheld. Other claims are
/// released as the source gave them.
///
/// [OpenID Connect Core 1.0 §5.1]: https://openid.net/specs/openid-connect-core-1_0.html
pub(crate) fn releasable(name: &str, value: &Value) -> Option<Value> {
    match value {
        Value::Null => return None,
        Value::String(s) if s.is_empty() => return None,
        _ => {}
    }
    if BOOLEAN_CLAIMS.contains(&name) {
        return match value {
            Value::Bool(_) => Some(value.clone()),
            Value::String(s) if s == "true" => Some(Value::Bool(true)),
            Value::String(s) if s == "false" => Some(Value::Bool(false)),
            _ => None,
        };
    }
    match name {
        "updated_at" => value.as_u64().map(Value::from),
        "address" => value.is_object().then(|| value.clone()),
        _ if is_standard(name) => value.is_string().then(|| value.clone()),
        _ => Some(value.clone()),
    }
}

/// Whether `name` is a standard claim of Core §5.1 (`sub` aside).
fn is_standard(name: &str) -> bool {
    SCOPE_CLAIMS
        .iter()
        .any(|(_, claims)| claims.contains(&name))
}

/// The names of the claims `target` may carry for `scope`, with `requests` (the `claims`
/// request), in order and without duplicates or server claims. `with_scope` says whether
/// the scope's claims count (always for UserInfo; for an ID token, only for clients that
/// registered for it).
pub(crate) fn wanted_names<'a>(
    scope: &Scope,
    requests: Option<&'a ClaimsRequest>,
    target: Target,
    with_scope: bool,
) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    let mut push = |name: &'a str| {
        if !SERVER_CLAIMS.contains(&name) && !names.contains(&name) {
            names.push(name);
        }
    };
    if with_scope {
        for (scope_value, claims) in SCOPE_CLAIMS {
            if scope.contains(scope_value) {
                claims.iter().copied().for_each(&mut push);
            }
        }
    }
    if let Some(requests) = requests {
        for request in requests.of(target) {
            push(&request.name);
        }
    }
    names
}

/// The claims to release out of what the source returned: each wanted name the source
/// has a releasable value for, which matches the request's `value` or `values` if any.
pub(crate) fn release(
    source: &Map<String, Value>,
    names: &[&str],
    requests: Option<&ClaimsRequest>,
    target: Target,
) -> Vec<(String, Value)> {
    let mut released = Vec::with_capacity(names.len());
    for name in names {
        let Some(value) = source.get(*name).and_then(|v| releasable(name, v)) else {
            continue;
        };
        if let Some(request) = requests.and_then(|r| r.get(target, name)) {
            if !request.accepts(&value) {
                continue;
            }
        }
        released.push(((*name).to_owned(), value));
    }
    released
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn oi_17_claims_parameter_syntax() {
        let request = ClaimsRequest::parse(
            r#"{"userinfo":{"given_name":null,"email":{"essential":true}},
                "id_token":{"acr":{"values":["a","b"]},"sub":{"value":"248289761001"}},
                "foo":1}"#,
        )
        .unwrap();
        assert_eq!(request.userinfo.len(), 2);
        assert!(request.get(Target::UserInfo, "email").unwrap().essential);
        assert_eq!(
            request.get(Target::IdToken, "sub").unwrap().value,
            Some(json!("248289761001"))
        );
        for bad in [
            "{bad",
            "[]",
            r#""x""#,
            r#"{"id_token":[]}"#,
            r#"{"userinfo":{"email":true}}"#,
            r#"{"userinfo":{"email":{"essential":"yes"}}}"#,
            r#"{"userinfo":{"email":{"values":"a"}}}"#,
            r#"{"userinfo":{},"userinfo":{}}"#,
            r#"{"id_token":{}} x"#,
        ] {
            assert_eq!(
                ClaimsRequest::parse(bad).err().map(|e| e.code().clone()),
                Some(ErrorCode::INVALID_REQUEST),
                "{bad}"
            );
        }
        // Unknown members of a claim's object are ignored.
        assert!(ClaimsRequest::parse(r#"{"id_token":{"email":{"x":1}}}"#).is_ok());
    }

    #[test]
    fn oi_17_the_stored_form_parses_to_the_same_request() {
        let request = ClaimsRequest::parse(
            r#"{"id_token":{"email":{"essential":true},"acr":{"values":["x"]}},"userinfo":{"name":null},"z":[]}"#,
        )
        .unwrap();
        assert_eq!(ClaimsRequest::parse(&request.to_json()).unwrap(), request);
    }

    #[test]
    fn oi_15_standard_claims_have_their_standard_types() {
        for (name, value, released) in [
            ("email_verified", json!("true"), Some(json!(true))),
            ("email_verified", json!("yes"), None),
            ("email_verified", json!(1), None),
            (
                "updated_at",
                json!(1_700_000_000),
                Some(json!(1_700_000_000)),
            ),
            ("updated_at", json!("1700000000"), None),
            ("address", json!("Main St"), None),
            ("email", json!(["a@b"]), None),
            ("email", json!(""), None),
            ("name", Value::Null, None),
            ("tenant", json!({"a": 1}), Some(json!({"a": 1}))),
        ] {
            assert_eq!(releasable(name, &value), released, "{name}: {value}");
        }
    }

    #[test]
    fn oi_16_scope_claims_and_requests() {
        let scope = Scope::parse("openid email").unwrap();
        assert_eq!(
            wanted_names(&scope, None, Target::UserInfo, true),
            ["email", "email_verified"]
        );
        assert!(wanted_names(&scope, None, Target::IdToken, false).is_empty());
        let request =
            ClaimsRequest::parse(r#"{"id_token":{"email":null,"sub":null,"nonce":null}}"#).unwrap();
        assert_eq!(
            wanted_names(&scope, Some(&request), Target::IdToken, false),
            ["email"]
        );
        let source: Map<String, Value> = json!({
            "email": "alice@example.com", "email_verified": "false", "name": "Alice",
            "sub": "forged"
        })
        .as_object()
        .unwrap()
        .clone();
        let released = release(
            &source,
            &wanted_names(&scope, None, Target::UserInfo, true),
            None,
            Target::UserInfo,
        );
        assert_eq!(
            released,
            [
                ("email".to_owned(), json!("alice@example.com")),
                ("email_verified".to_owned(), json!(false))
            ]
        );
    }

    #[test]
    fn oi_17_value_and_values_filter_what_is_released() {
        let source: Map<String, Value> = json!({"locale": "fr-CA", "zoneinfo": "Europe/Paris"})
            .as_object()
            .unwrap()
            .clone();
        let request = ClaimsRequest::parse(
            r#"{"userinfo":{"locale":{"value":"en-US"},"zoneinfo":{"values":["Europe/Paris"]}}}"#,
        )
        .unwrap();
        let names = wanted_names(&Scope::empty(), Some(&request), Target::UserInfo, true);
        assert_eq!(
            release(&source, &names, Some(&request), Target::UserInfo),
            [("zoneinfo".to_owned(), json!("Europe/Paris"))]
        );
    }
}
