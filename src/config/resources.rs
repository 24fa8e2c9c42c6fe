//! The resource indicators' sub-config
//! ([RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)): the protected resources the server
//! issues tokens for, the scopes each understands, and what a request without `resource`
//! gets.

use super::UrlSchemes;
use crate::error::ConfigError;
use crate::types::{ResourceUri, Scope};

/// One protected resource the server issues tokens for.
#[derive(Debug, Clone)]
pub(crate) struct KnownResource {
    pub(crate) id: ResourceUri,
    /// The scopes the resource understands, or `None` for any scope.
    pub(crate) scopes: Option<Scope>,
}

/// The resource indicators' settings.
#[derive(Debug, Default)]
pub(crate) struct ResourceConfig {
    /// The resources, in the order they were configured; each identifier once.
    pub(crate) known: Vec<KnownResource>,
    /// The resource a request without `resource` is for ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub(crate) default: Option<ResourceUri>,
    /// Whether a request without `resource` is refused when there is no default ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub(crate) require: bool,
    /// The first malformed value a setter was given, reported by `check`.
    pub(crate) invalid: Option<&'static str>,
}

impl ResourceConfig {
    /// The resource configured as `id`, compared character for character.
    pub(crate) fn find(&self, id: &str) -> Option<&KnownResource> {
        self.known.iter().find(|r| r.id.as_str() == id)
    }

    /// Adds (or replaces) a resource.
    pub(super) fn add(&mut self, id: &str, scopes: Option<&str>) {
        let (Ok(id), Ok(scopes)) = (ResourceUri::parse(id), scopes.map(Scope::parse).transpose())
        else {
            self.invalid.get_or_insert(
                "resource identifiers must be absolute URIs without fragment, with valid scopes",
            );
            return;
        };
        self.known.retain(|r| r.id != id);
        self.known.push(KnownResource { id, scopes });
    }

    /// The resources are absolute `https` URIs (or `http` ones where the server's URLs may
    /// be `http`) without fragment ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2), [RFC 9728 §2](https://www.rfc-editor.org/rfc/rfc9728#section-2)), with a host, or URNs (RFC 8707 §2 allows
    /// any absolute URI: a URN names an audience that publishes no metadata, such as the
    /// logical targets of token exchange); the default is one of them; requiring a
    /// resource with a default configured says nothing, and is refused.
    pub(super) fn check(&self, schemes: UrlSchemes) -> Result<(), ConfigError> {
        if let Some(invalid) = self.invalid {
            return Err(ConfigError::Setting(invalid));
        }
        for resource in &self.known {
            let url = url::Url::parse(resource.id.as_str()).ok();
            let urn = url.as_ref().is_some_and(|u| u.scheme() == "urn");
            if !urn && !url.is_some_and(|u| schemes.allow(u.scheme()) && u.host().is_some()) {
                return Err(ConfigError::Setting(
                    "resource identifiers must be https URLs or URNs (see `dangerous().allow_http_issuer()`)",
                ));
            }
        }
        if let Some(default) = &self.default {
            if self.find(default.as_str()).is_none() {
                return Err(ConfigError::Setting(
                    "the default resource must be one of the configured resources",
                ));
            }
            if self.require {
                return Err(ConfigError::Setting(
                    "require_resource has no effect with a default resource: set one or the other",
                ));
            }
        }
        if self.require && self.known.is_empty() {
            return Err(ConfigError::Setting(
                "require_resource needs at least one configured resource",
            ));
        }
        Ok(())
    }
}
