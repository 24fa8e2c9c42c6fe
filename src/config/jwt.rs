//! The JOSE sub-config (feature `jwt`): the server's signing keys, the URL their JWK Set is
//! published at, and JWT access tokens.

use crate::error::ConfigError;
use crate::jose::{JwtAccessTokens, KeySet};

use super::{UrlSchemes, check_endpoint};

/// The server's signing keys and what they sign.
#[derive(Debug)]
pub(crate) struct JwtConfig {
    /// The keys: published at `jwks_uri`, signing JWT access tokens.
    pub(crate) keys: Option<KeySet>,
    /// Where the JWK Set is published (metadata `jwks_uri`).
    pub(crate) jwks_uri: String,
    /// JWT access tokens, when the server issues them.
    pub(crate) access_tokens: Option<JwtAccessTokens>,
}

impl JwtConfig {
    /// The defaults: no keys; the JWK Set at `base` + `/jwks`.
    pub(crate) fn new(base: &str) -> Self {
        Self {
            keys: None,
            jwks_uri: format!("{base}/jwks"),
            access_tokens: None,
        }
    }

    /// The keys sign for this issuer; JWT access tokens have keys, a default audience and a
    /// lifetime the keys accept; the JWK Set URL is a URL the server may publish.
    pub(crate) fn check(
        &self,
        issuer: &str,
        access_ttl: std::time::Duration,
        schemes: UrlSchemes,
    ) -> Result<(), ConfigError> {
        check_endpoint(&self.jwks_uri, schemes)?;
        if let Some(keys) = &self.keys {
            if keys.issuer() != issuer {
                return Err(ConfigError::Setting(
                    "the signing keys' issuer must be the server's issuer",
                ));
            }
        }
        let Some(access_tokens) = &self.access_tokens else {
            return Ok(());
        };
        access_tokens.check()?;
        let Some(keys) = &self.keys else {
            return Err(ConfigError::Setting(
                "JWT access tokens need signing keys (ServerBuilder::signing_keys)",
            ));
        };
        if access_ttl > keys.max_token_lifetime() {
            return Err(ConfigError::Setting(
                "access_token_ttl must be at most the signing keys' maximum token lifetime",
            ));
        }
        Ok(())
    }
}
