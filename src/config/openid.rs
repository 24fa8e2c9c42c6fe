//! The OpenID Provider's sub-config (feature `oidc`,
//! [OpenID Connect Core 1.0](https://openid.net/specs/openid-connect-core-1_0.html)).

use std::sync::Arc;
use std::time::Duration;

use super::{UrlSchemes, check_endpoint};
use crate::error::ConfigError;
use crate::jose::{Algorithm, AlgorithmSet, KeySet};
use crate::oidc::{ClaimsSource, PairwiseSecret};

/// The OpenID Provider: on when it has a claims source (and the server a key set).
#[derive(Debug)]
pub(crate) struct OpenIdConfig {
    pub(crate) claims: Option<Arc<dyn ClaimsSource>>,
    /// How long an ID token (and a signed UserInfo response) is valid.
    pub(crate) id_token_ttl: Duration,
    /// The algorithms ID tokens and UserInfo responses may be signed with: the key set
    /// must have an active key for each.
    pub(crate) signing_algorithms: AlgorithmSet,
    pub(crate) pairwise_secret: Option<PairwiseSecret>,
    pub(crate) userinfo_endpoint: String,
    /// Published only when the host routes it.
    pub(crate) end_session_endpoint: Option<String>,
    /// The `acr` values the host's authentication can achieve, for discovery.
    pub(crate) acr_values_supported: Option<String>,
}

impl OpenIdConfig {
    /// The defaults, with URLs under `base` (the issuer without a trailing `/`).
    pub(super) fn new(base: &str) -> Self {
        Self {
            claims: None,
            id_token_ttl: Duration::from_secs(300),
            signing_algorithms: AlgorithmSet::only(Algorithm::Rs256),
            pairwise_secret: None,
            userinfo_endpoint: format!("{base}/userinfo"),
            end_session_endpoint: None,
            acr_values_supported: None,
        }
    }

    /// Whether the server is an OpenID Provider.
    pub(crate) fn is_enabled(&self) -> bool {
        self.claims.is_some()
    }

    /// The settings are in range. Only an enabled provider is checked (the builder refuses
    /// settings of a disabled one).
    pub(super) fn check(
        &self,
        schemes: UrlSchemes,
        keys: Option<&KeySet>,
    ) -> Result<(), ConfigError> {
        if !self.is_enabled() {
            return Ok(());
        }
        let Some(keys) = keys else {
            return Err(ConfigError::Setting(
                "an OpenID Provider signs ID tokens: give the server signing keys (ServerBuilder::signing_keys)",
            ));
        };
        if self.id_token_ttl < Duration::from_secs(1)
            || self.id_token_ttl > Duration::from_secs(86_400)
            || self.id_token_ttl > keys.max_token_lifetime()
        {
            return Err(ConfigError::Setting(
                "id_token_ttl must be between 1 s and 1 day, and within the key set's maximum token lifetime",
            ));
        }
        if !self.signing_algorithms.contains(Algorithm::Rs256) {
            return Err(ConfigError::Setting(
                "the ID token signing algorithms must include RS256 (OpenID Connect Core §15.1)",
            ));
        }
        check_endpoint(&self.userinfo_endpoint, schemes)?;
        if let Some(url) = &self.end_session_endpoint {
            check_endpoint(url, schemes)?;
        }
        if let Some(values) = &self.acr_values_supported {
            if values
                .split(' ')
                .any(|v| v.is_empty() || !v.bytes().all(|b| b.is_ascii_graphic()))
            {
                return Err(ConfigError::Setting(
                    "acr_values_supported must be space-separated printable ASCII values",
                ));
            }
        }
        Ok(())
    }
}
