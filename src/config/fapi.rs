//! The FAPI 2.0 Security Profile
//! ([FAPI 2.0 Security Profile §5](https://openid.net/specs/fapi-security-profile-2_0-final.html#section-5)):
//! a validated preset. [`ServerBuilder::fapi2_security_profile`](super::ServerBuilder::fapi2_security_profile)
//! sets what the profile requires of an authorization server, and `build` refuses a
//! configuration that contradicts it, naming the rule. No code path of its own: every
//! setting it turns on is an ordinary setting of the server.

use std::time::Duration;

use super::Config;
use crate::error::ConfigError;
use crate::jose::{Algorithm, AlgorithmSet};

/// The algorithms of JWTs created or accepted under the profile (§5.4.1): PS256, ES256 and
/// EdDSA (Ed25519).
pub(crate) const FAPI_ALGORITHMS: AlgorithmSet = AlgorithmSet::only(Algorithm::Ps256)
    .with(Algorithm::Es256)
    .with(Algorithm::EdDsa);

/// The longest life of an authorization code (§5.3.2.1).
const MAX_CODE_TTL: Duration = Duration::from_secs(60);

impl Config {
    /// Turns the profile on: PAR required (with a redirect URI), `private_key_jwt` the only client
    /// authentication, the issuer as a string audience, PS256/ES256/EdDSA only, codes of
    /// at most 60 s, refresh tokens not rotated, DPoP-bound access tokens required.
    pub(super) fn set_fapi(&mut self) {
        self.fapi = true;
        self.pushed.required = true;
        self.pushed.redirect_uri_required = true;
        self.clients.private_key_jwt = true;
        self.clients.client_secret_jwt = false;
        self.clients.private_key_jwt_only = true;
        self.clients.string_audience = true;
        self.clients.client_jwt_algorithms = FAPI_ALGORITHMS;
        self.code_flow.code_ttl = self.code_flow.code_ttl.min(MAX_CODE_TTL);
        self.tokens.rotate_confidential_refresh = false;
    }

    /// What the profile forbids, checked at `build` after every setter ran: the first
    /// contradiction, named.
    pub(super) fn check_fapi(&self) -> Result<(), ConfigError> {
        let refuse = |rule: &'static str| Err(ConfigError::Setting(rule));
        if !self.issuer.starts_with("https://") {
            return refuse("FAPI 2.0 (§5.2.2): the issuer must be an https URL");
        }
        if !self.pushed.is_enabled() || !self.pushed.required {
            return refuse(
                "FAPI 2.0 (§5.3.2.2): pushed authorization requests must be on and required",
            );
        }
        if self.dangerous.plain_pkce() {
            return refuse("FAPI 2.0 (§5.3.2.2): PKCE must use S256 only");
        }
        if !self.clients.private_key_jwt
            || !self.clients.private_key_jwt_only
            || self.clients.client_secret_jwt
        {
            return refuse(
                "FAPI 2.0 (§5.3.2.1): private_key_jwt must be the only client authentication",
            );
        }
        if !self.clients.string_audience
            || self
                .clients
                .client_jwt_algorithms
                .iter()
                .any(|alg| !FAPI_ALGORITHMS.contains(alg))
        {
            return refuse("FAPI 2.0 (§5.4.1): client JWTs must use PS256, ES256 or EdDSA");
        }
        if self.code_flow.code_ttl > MAX_CODE_TTL {
            return refuse("FAPI 2.0 (§5.3.2.1): code_ttl must be at most 60 s");
        }
        if self.tokens.rotate_confidential_refresh {
            return refuse("FAPI 2.0 (§5.3.2.1): refresh tokens must not be rotated");
        }
        if self.password.verifier.is_some() {
            return refuse("FAPI 2.0 (§5.3.2.1): the password grant must be off");
        }
        if self
            .jwt
            .keys
            .as_ref()
            .is_some_and(|keys| !FAPI_ALGORITHMS.contains(keys.default_algorithm()))
        {
            return refuse(
                "FAPI 2.0 (§5.4.1): the signing keys must sign with PS256, ES256 or EdDSA",
            );
        }
        Ok(())
    }
}
