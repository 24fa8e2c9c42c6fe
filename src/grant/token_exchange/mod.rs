//! Token exchange ([RFC 8693](https://www.rfc-editor.org/rfc/rfc8693)): the request's rules
//! as pure functions, and the types its policy plug-in sees.

pub(crate) mod handler;
mod policy;

pub use handler::TokenExchange;
pub use policy::{Exchange, ExchangeDecision, ExchangePolicy, Issuance, TokenType, ValidatedToken};

use crate::error::{ErrorCode, OAuthError};
use crate::grant::scope_within;
use crate::types::{Actor, Client, ResourceUri, Scope};

/// The most `resource` and `audience` values, together, one request may carry: more get
/// `invalid_target` ([RFC 8693 §2.2.2](https://www.rfc-editor.org/rfc/rfc8693#section-2.2.2)).
pub(crate) const MAX_TARGETS: usize = 16;

/// The parameters of a token exchange request, checked for shape ([RFC 8693 §2.1]..[RFC 8693 §3]).
///
/// [RFC 8693 §2.1]: https://www.rfc-editor.org/rfc/rfc8693#section-2.1
/// [RFC 8693 §3]: https://www.rfc-editor.org/rfc/rfc8693#section-3
#[derive(Debug)]
pub(crate) struct Params<'a> {
    pub(crate) subject_token: &'a str,
    pub(crate) subject_type: TokenType,
    pub(crate) actor: Option<(&'a str, TokenType)>,
    pub(crate) resources: Vec<&'a str>,
    pub(crate) audiences: Vec<&'a str>,
    pub(crate) scope: Option<Scope>,
    pub(crate) requested_type: TokenType,
}

fn invalid_request(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(description)
}

pub(crate) fn invalid_target(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_TARGET).with_description(description)
}

/// The type of a subject or actor token: one of the identifiers of
/// [RFC 8693 §3](https://www.rfc-editor.org/rfc/rfc8693#section-3), compared exactly, that
/// the library accepts ([RFC 8693 §3]). SAML assertions and unknown types → `invalid_request`.
///
/// [RFC 8693 §3]: https://www.rfc-editor.org/rfc/rfc8693#section-3
fn input_type(uri: &str, what: &'static str) -> Result<TokenType, OAuthError> {
    match TokenType::parse(uri) {
        Some(t @ (TokenType::AccessToken | TokenType::RefreshToken | TokenType::IdToken)) => Ok(t),
        Some(TokenType::Jwt) => Ok(TokenType::Jwt),
        _ => Err(invalid_request(what)),
    }
}

/// [RFC 8693 §2.1], [RFC 8693 §3]: the request's parameters, each checked for presence and shape.
///
/// `param` reads a single-valued parameter, `values` a repeatable one (`resource`,
/// `audience`).
///
/// [RFC 8693 §2.1]: https://www.rfc-editor.org/rfc/rfc8693#section-2.1
/// [RFC 8693 §3]: https://www.rfc-editor.org/rfc/rfc8693#section-3
pub(crate) fn parse<'a>(
    param: impl Fn(&str) -> Option<&'a str>,
    values: impl Fn(&'static str) -> Vec<&'a str>,
) -> Result<Params<'a>, OAuthError> {
    let (Some(subject_token), Some(subject_type)) =
        (param("subject_token"), param("subject_token_type"))
    else {
        return Err(invalid_request(
            "subject_token and subject_token_type are required",
        ));
    };
    let subject_type = input_type(subject_type, "unsupported subject_token_type")?;
    let actor = match (param("actor_token"), param("actor_token_type")) {
        (None, None) => None,
        (Some(token), Some(uri)) => Some((token, input_type(uri, "unsupported actor_token_type")?)),
        (Some(_), None) => {
            return Err(invalid_request(
                "actor_token_type is required with actor_token",
            ));
        }
        (None, Some(_)) => {
            return Err(invalid_request(
                "actor_token_type must not be sent without actor_token",
            ));
        }
    };
    let requested_type = match param("requested_token_type") {
        None => TokenType::AccessToken,
        Some(uri) if TokenType::parse(uri) == Some(TokenType::AccessToken) => {
            TokenType::AccessToken
        }
        Some(_) => return Err(invalid_request("unsupported requested_token_type")),
    };
    let resources = values("resource");
    let audiences = values("audience");
    if resources.len() + audiences.len() > MAX_TARGETS {
        return Err(invalid_target("too many resource and audience values"));
    }
    if !resources.iter().all(|r| ResourceUri::parse(r).is_ok()) {
        return Err(invalid_target(
            "resource must be an absolute URI without a fragment",
        ));
    }
    let scope = param("scope")
        .map(|text| {
            Scope::parse(text).map_err(|_| {
                OAuthError::new(ErrorCode::INVALID_SCOPE).with_description("malformed scope")
            })
        })
        .transpose()?;
    Ok(Params {
        subject_token,
        subject_type,
        actor,
        resources,
        audiences,
        scope,
        requested_type,
    })
}

/// [RFC 8693 §2.1]: the scope to issue when the policy does not set one. At most the subject
/// token's
/// scope intersected with the client's allowed scopes: a requested scope beyond that →
/// `invalid_scope`, never narrowed silently; without a request, all of it.
///
/// [RFC 8693 §2.1]: https://www.rfc-editor.org/rfc/rfc8693#section-2.1
pub(crate) fn narrowed_scope(
    subject: &Scope,
    client: &Client,
    requested: Option<&Scope>,
) -> Result<Scope, OAuthError> {
    scope_within(subject, client, requested)
}

/// [RFC 8693 §4.1]: the `act` of a delegated token: the current actor outermost, the subject
/// token's own chain nested inside it. A chain deeper than [`Actor::MAX_DEPTH`] →
/// `invalid_request`.
///
/// [RFC 8693 §4.1]: https://www.rfc-editor.org/rfc/rfc8693#section-4.1
pub(crate) fn delegated_chain(
    actor: Actor,
    subject_chain: Option<&Actor>,
) -> Result<Actor, OAuthError> {
    let Some(prior) = subject_chain else {
        return Ok(actor);
    };
    if prior.depth() >= Actor::MAX_DEPTH {
        return Err(invalid_request("delegation chain too deep"));
    }
    Ok(actor.acting_after(prior.clone()))
}

/// [RFC 8693 §4.4]: when the subject token carries `may_act`, the actor must be the party it names.
///
/// [RFC 8693 §4.4]: https://www.rfc-editor.org/rfc/rfc8693#section-4.4
pub(crate) fn check_may_act(may_act: Option<&Actor>, actor: &Actor) -> Result<(), OAuthError> {
    match may_act {
        Some(allowed) if !actor.matches(allowed) => Err(invalid_request(
            "the actor is not the one the subject token's may_act allows",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::types::{ClientSecret, ClientType, GrantType};

    fn run(form: &[(&'static str, &'static str)]) -> Result<Params<'static>, String> {
        let map: HashMap<&str, Vec<&'static str>> =
            form.iter().fold(HashMap::new(), |mut m, (k, v)| {
                m.entry(*k).or_default().push(*v);
                m
            });
        let single = |name: &str| map.get(name).and_then(|v| v.first().copied());
        let many = |name: &'static str| map.get(name).cloned().unwrap_or_default();
        parse(single, many).map_err(|e| e.code().as_str().to_owned())
    }

    /// The error code of `form`, or an empty string.
    fn error(form: &[(&'static str, &'static str)]) -> String {
        run(form).err().unwrap_or_default()
    }

    const AT: &str = "urn:ietf:params:oauth:token-type:access_token";

    #[test]
    fn tx_02_subject_token_and_type_are_required() {
        assert_eq!(error(&[("subject_token", "t")]), "invalid_request");
        assert_eq!(error(&[("subject_token_type", AT)]), "invalid_request");
        assert!(run(&[("subject_token", "t"), ("subject_token_type", AT)]).is_ok());
    }

    #[test]
    fn tx_02_actor_token_type_goes_with_actor_token() {
        let base = [("subject_token", "t"), ("subject_token_type", AT)];
        let with = |extra: &[(&'static str, &'static str)]| error(&[&base[..], extra].concat());
        assert_eq!(with(&[("actor_token_type", AT)]), "invalid_request");
        assert_eq!(with(&[("actor_token", "a")]), "invalid_request");
        assert_eq!(with(&[("actor_token", "a"), ("actor_token_type", AT)]), "");
    }

    #[test]
    fn tx_04_token_types_are_compared_exactly_and_saml_is_refused() {
        for uri in [
            "urn:ietf:params:oauth:token-type:saml2",
            "urn:ietf:params:oauth:token-type:saml1",
            "URN:IETF:PARAMS:OAUTH:TOKEN-TYPE:ACCESS_TOKEN",
            "urn:ietf:params:oauth:token-type:access_token ",
            "access_token",
        ] {
            assert_eq!(
                error(&[("subject_token", "t"), ("subject_token_type", uri)]),
                "invalid_request",
                "{uri}"
            );
        }
        assert_eq!(
            error(&[
                ("subject_token", "t"),
                ("subject_token_type", AT),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:id_token"
                ),
            ]),
            "invalid_request"
        );
    }

    #[test]
    fn tx_03_targets_repeat_and_resources_must_be_absolute_without_fragment() {
        let base = [("subject_token", "t"), ("subject_token_type", AT)];
        let ok = run(&[
            &base[..],
            &[
                ("audience", "a"),
                ("audience", "b"),
                ("resource", "https://x/api?q=1"),
            ],
        ]
        .concat())
        .unwrap();
        assert_eq!(ok.audiences, ["a", "b"]);
        assert_eq!(ok.resources, ["https://x/api?q=1"]);
        for bad in ["https://x/#f", "relative/path", "//x/y"] {
            assert_eq!(
                error(&[&base[..], &[("resource", bad)]].concat()),
                "invalid_target",
                "{bad}"
            );
        }
        let many: Vec<(&'static str, &'static str)> =
            std::iter::repeat_n(("audience", "a"), MAX_TARGETS + 1).collect();
        assert_eq!(error(&[&base[..], &many].concat()), "invalid_target");
    }

    fn client(allowed: &str) -> Client {
        Client::builder("c", ClientType::Confidential)
            .secret(&ClientSecret::from_presented("s".into()))
            .grant_type(GrantType::new(TokenExchange::GRANT_TYPE))
            .allowed_scope(allowed)
            .build()
            .unwrap()
    }

    #[test]
    fn tx_09_scope_is_narrowed_to_the_subject_and_the_client() {
        let subject = Scope::parse("a b").unwrap();
        let c = client("a b c");
        let ask = |s: &str| narrowed_scope(&subject, &c, Some(&Scope::parse(s).unwrap()));
        assert_eq!(ask("a").unwrap().as_str(), "a");
        assert_eq!(ask("a c").unwrap_err().code().as_str(), "invalid_scope");
        assert_eq!(
            narrowed_scope(&subject, &client("b c"), None)
                .unwrap()
                .as_str(),
            "b"
        );
    }

    #[test]
    fn tx_11_a_delegation_nests_the_subjects_chain() {
        let chain = delegated_chain(Actor::new("b"), Some(&Actor::new("a"))).unwrap();
        assert_eq!(chain.subject(), "b");
        assert_eq!(chain.prior().map(Actor::subject), Some("a"));
        let mut deep = Actor::new("0");
        for _ in 1..Actor::MAX_DEPTH {
            deep = Actor::new("n").acting_after(deep);
        }
        assert!(delegated_chain(Actor::new("x"), Some(&deep)).is_err());
    }
}
