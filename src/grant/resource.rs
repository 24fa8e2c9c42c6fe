//! Resource indicators ([RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)): the pure
//! rules that turn the `resource` values of a request into the resources of a grant or the
//! audience of a token, for every grant alike.

use crate::config::ResourceConfig;
use crate::error::{ErrorCode, OAuthError};
use crate::types::{Client, MAX_RESOURCES, ResourceUri, Resources, Scope};

/// What the `resource` values of a request are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Requested {
    /// A grant the user approves (an authorization or device authorization request): it
    /// may name several resources, and later token requests choose among them
    /// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    Grant,
    /// A token issued at once (client credentials, password, extension grants): at most
    /// one resource unless the client opted in to multi-audience tokens ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    Token,
}

/// `invalid_target` with `description` ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
pub(crate) fn invalid_target(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_TARGET).with_description(description)
}

/// The `resource` values as a set: each one an absolute URI without fragment, identical
/// values collapsed ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)), at most [`MAX_RESOURCES`] distinct ones.
fn parse_values<'v>(values: impl Iterator<Item = &'v str>) -> Result<Resources, OAuthError> {
    let mut parsed = Vec::new();
    for value in values {
        let resource =
            ResourceUri::parse(value).map_err(|_| invalid_target("malformed resource"))?;
        if !parsed.contains(&resource) {
            if parsed.len() == MAX_RESOURCES {
                return Err(invalid_target("too many resources"));
            }
            parsed.push(resource);
        }
    }
    Ok(Resources::new(parsed))
}

/// Each resource is registered with the server and one the client may use, compared
/// character for character ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
fn check_known(
    config: &ResourceConfig,
    client: &Client,
    resources: &Resources,
) -> Result<(), OAuthError> {
    for resource in resources.iter() {
        if !is_known_for(config, client, resource) {
            return Err(invalid_target(
                "unknown resource, or one this client may not use",
            ));
        }
    }
    Ok(())
}

/// The `resource` values of a request whose audience a policy decides later (token
/// exchange): each well-formed, registered and allowed for the client, as for every grant
/// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)), so that the policy never sees a resource the server would refuse.
pub(crate) fn known_resources<'v>(
    config: &ResourceConfig,
    client: &Client,
    values: impl Iterator<Item = &'v str>,
) -> Result<Resources, OAuthError> {
    let resources = parse_values(values)?;
    check_known(config, client, &resources)?;
    Ok(resources)
}

/// Whether `value` is the identifier of a resource the server registers and `client` may
/// use.
pub(crate) fn is_known_for(config: &ResourceConfig, client: &Client, value: &str) -> bool {
    let allowed = client.allowed_resources();
    config.find(value).is_some() && (allowed.is_empty() || allowed.contains(value))
}

/// The scopes the resources of `audience` understand together, or `None` when one of
/// them accepts any scope (or the audience is empty).
fn understood_scopes<'c>(config: &'c ResourceConfig, audience: &Resources) -> Option<Vec<&'c str>> {
    if audience.is_empty() {
        return None;
    }
    let mut understood = Vec::new();
    for resource in audience.iter() {
        understood.extend(config.find(resource)?.scopes.as_ref()?.iter());
    }
    Some(understood)
}

/// Resolves the `resource` values of a request that starts a grant or asks a token for a
/// new one, for `scope` ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)):
///
/// - each value well-formed, registered and allowed for the client, else `invalid_target`;
/// - none: the server's default resource (if the client may use it), else `invalid_target`
///   where the server requires a resource, else no restriction;
/// - a token request (`Requested::Token`) names at most one, unless the client opted in
///   to multi-audience tokens;
/// - `scope` within the scopes the resources define, where they define any.
pub(crate) fn resolve_resources<'v>(
    config: &ResourceConfig,
    client: &Client,
    values: impl Iterator<Item = &'v str>,
    scope: &Scope,
    requested: Requested,
) -> Result<Resources, OAuthError> {
    let mut resources = parse_values(values)?;
    if resources.is_empty() {
        if let Some(default) = &config.default {
            resources = Resources::one(default.clone());
        } else if config.require {
            return Err(invalid_target("resource required"));
        }
    }
    check_known(config, client, &resources)?;
    if requested == Requested::Token && resources.len() > 1 && !client.allows_multiple_audiences() {
        return Err(invalid_target("one resource per token request"));
    }
    if let Some(understood) = understood_scopes(config, &resources) {
        if !scope.iter().all(|token| understood.contains(&token)) {
            return Err(invalid_target(
                "the scope is not defined for the requested resource",
            ));
        }
    }
    Ok(resources)
}

/// The audience and scope of an access token from an existing grant (a code, a refresh
/// token, an approved device request) whose resources are `granted`
/// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)):
///
/// - `resource` values, if any, must be granted ones (never a widening); without any, the
///   whole grant;
/// - at most one resource, unless the client opted in to multi-audience tokens;
/// - each still registered and allowed for the client;
/// - the scope narrowed to what the resources define, where they define any; nothing
///   left is `invalid_target`.
pub(crate) fn token_audience<'v>(
    config: &ResourceConfig,
    client: &Client,
    granted: &Resources,
    values: impl Iterator<Item = &'v str>,
    scope: &Scope,
) -> Result<(Resources, Scope), OAuthError> {
    let requested = parse_values(values)?;
    let audience = if requested.is_empty() {
        granted.clone()
    } else if requested.is_subset_of(granted) {
        requested
    } else {
        return Err(invalid_target("resource not granted"));
    };
    if audience.len() > 1 && !client.allows_multiple_audiences() {
        return Err(invalid_target(
            "several resources were granted: name one with resource",
        ));
    }
    check_known(config, client, &audience)?;
    let Some(understood) = understood_scopes(config, &audience) else {
        return Ok((audience, scope.clone()));
    };
    if scope.iter().all(|token| understood.contains(&token)) {
        return Ok((audience, scope.clone()));
    }
    let kept: Vec<&str> = scope.iter().filter(|t| understood.contains(t)).collect();
    let narrowed = Scope::parse(&kept.join(" "))
        .map_err(|_| invalid_target("the scope is not defined for the requested resource"))?;
    if narrowed.is_empty() {
        return Err(invalid_target(
            "the scope is not defined for the requested resource",
        ));
    }
    Ok((audience, narrowed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KnownResource;
    use crate::types::{ClientSecret, ClientType, GrantType};

    const CAL: &str = "https://cal.example.com/";
    const CONTACTS: &str = "https://contacts.example.com/";

    fn config() -> ResourceConfig {
        let known = |id: &str, scopes: Option<&str>| KnownResource {
            id: ResourceUri::parse(id).unwrap(),
            scopes: scopes.map(|s| Scope::parse(s).unwrap()),
        };
        ResourceConfig {
            known: vec![
                known(CAL, Some("cal:read cal:write")),
                known(CONTACTS, None),
            ],
            ..ResourceConfig::default()
        }
    }

    fn client(allowed: &[&str], multi: bool) -> Client {
        let mut builder = Client::builder("c", ClientType::Confidential)
            .secret(&ClientSecret::from_presented("s".into()))
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("cal:read cal:write profile");
        for resource in allowed {
            builder = builder.allowed_resource(resource);
        }
        if multi {
            builder = builder.dangerous(|d| d.allow_multiple_audiences());
        }
        builder.build().unwrap()
    }

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    /// The error code of `result`, or `ok`.
    fn code(result: Result<impl Sized, OAuthError>) -> String {
        result.map_or_else(|e| e.code().as_str().to_owned(), |_| "ok".to_owned())
    }

    fn resolve(
        values: &[&str],
        client: &Client,
        s: &str,
        r: Requested,
    ) -> Result<Resources, OAuthError> {
        resolve_resources(&config(), client, values.iter().copied(), &scope(s), r)
    }

    #[test]
    fn ri_01_ri_03_unknown_malformed_or_disallowed_is_invalid_target() {
        let any = client(&[], false);
        for bad in [
            "/api",
            "https://cal.example.com/#x",
            "https://unknown.example/",
            "https://cal.example.com",
        ] {
            assert_eq!(
                code(resolve(&[bad], &any, "cal:read", Requested::Grant)),
                "invalid_target",
                "{bad}"
            );
        }
        let only_contacts = client(&[CONTACTS], false);
        assert_eq!(
            code(resolve(
                &[CAL],
                &only_contacts,
                "cal:read",
                Requested::Grant
            )),
            "invalid_target"
        );
        assert!(resolve(&[CONTACTS], &only_contacts, "profile", Requested::Grant).is_ok());
    }

    #[test]
    fn ri_03_a_scope_the_resource_does_not_define_is_invalid_target() {
        let any = client(&[], false);
        assert_eq!(
            code(resolve(&[CAL], &any, "profile", Requested::Token)),
            "invalid_target"
        );
        assert!(resolve(&[CAL], &any, "cal:read", Requested::Token).is_ok());
        // A resource without configured scopes takes any.
        assert!(resolve(&[CONTACTS], &any, "profile", Requested::Token).is_ok());
        assert!(resolve(&[CAL, CONTACTS], &any, "profile", Requested::Grant).is_ok());
    }

    #[test]
    fn ri_04_default_or_required_resource() {
        let any = client(&[], false);
        assert_eq!(
            resolve(&[], &any, "profile", Requested::Grant).unwrap(),
            Resources::empty()
        );
        let mut with_default = config();
        with_default.default = Some(ResourceUri::parse(CONTACTS).unwrap());
        let resolved = resolve_resources(
            &with_default,
            &any,
            [].into_iter(),
            &scope("profile"),
            Requested::Grant,
        )
        .unwrap();
        assert_eq!(resolved.iter().collect::<Vec<_>>(), [CONTACTS]);
        let mut required = config();
        required.require = true;
        let refused = resolve_resources(
            &required,
            &any,
            [].into_iter(),
            &scope("profile"),
            Requested::Grant,
        );
        assert_eq!(code(refused), "invalid_target");
    }

    #[test]
    fn ri_10_one_resource_per_token_unless_opted_in() {
        let single = client(&[], false);
        assert_eq!(
            code(resolve(
                &[CAL, CONTACTS],
                &single,
                "cal:read",
                Requested::Token
            )),
            "invalid_target"
        );
        assert_eq!(
            resolve(&[CAL, CONTACTS], &single, "cal:read", Requested::Grant)
                .unwrap()
                .len(),
            2
        );
        let multi = client(&[], true);
        assert_eq!(
            resolve(&[CAL, CONTACTS], &multi, "cal:read", Requested::Token)
                .unwrap()
                .len(),
            2
        );
        // Identical values collapse first (RI-02).
        assert_eq!(
            resolve(&[CAL, CAL], &single, "cal:read", Requested::Token)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn ri_06_ri_07_tokens_narrow_the_grant_never_widen_it() {
        let any = client(&[], false);
        let granted = Resources::new([
            ResourceUri::parse(CAL).unwrap(),
            ResourceUri::parse(CONTACTS).unwrap(),
        ]);
        let cfg = config();
        let audience = |values: &[&str], s: &str| {
            token_audience(&cfg, &any, &granted, values.iter().copied(), &scope(s))
        };
        // Narrowed to one resource, and the scope to what it defines (RI-09).
        let (aud, narrowed) = audience(&[CAL], "cal:read profile").unwrap();
        assert_eq!(aud.iter().collect::<Vec<_>>(), [CAL]);
        assert_eq!(narrowed.as_str(), "cal:read");
        let (aud, kept) = audience(&[CONTACTS], "cal:read profile").unwrap();
        assert_eq!(aud.iter().collect::<Vec<_>>(), [CONTACTS]);
        assert_eq!(kept.as_str(), "cal:read profile");
        // Never widened, never two at once by default, nothing left is invalid_target.
        assert_eq!(
            code(audience(&["https://other.example/"], "profile")),
            "invalid_target"
        );
        assert_eq!(code(audience(&[], "profile")), "invalid_target");
        assert_eq!(code(audience(&[CAL], "profile")), "invalid_target");
        // A grant without resources gives tokens without audience, and cannot gain one.
        let none = token_audience(
            &cfg,
            &any,
            &Resources::empty(),
            [].into_iter(),
            &scope("profile"),
        );
        assert_eq!(none.unwrap().0, Resources::empty());
        let widened = token_audience(
            &cfg,
            &any,
            &Resources::empty(),
            [CAL].into_iter(),
            &scope("cal:read"),
        );
        assert_eq!(code(widened), "invalid_target");
    }
}
