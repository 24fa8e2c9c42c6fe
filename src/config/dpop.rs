//! DPoP's sub-config ([RFC 9449](https://www.rfc-editor.org/rfc/rfc9449)).

use std::time::Duration;

use crate::dpop::ProofChecker;
use crate::error::ConfigError;

/// DPoP at the token endpoint: on when it has a proof checker.
#[derive(Debug, Default)]
pub(crate) struct DpopConfig {
    /// The checker of `DPoP` headers; `None`: DPoP is off, the header is ignored and every
    /// token is a bearer token.
    pub(crate) checker: Option<ProofChecker>,
    /// Whether every token request must carry a proof.
    pub(crate) required: bool,
    /// Server-provided nonces, when every proof must carry one.
    pub(crate) nonces: Option<crate::dpop::DpopNonces>,
}

impl DpopConfig {
    /// A requirement needs the checker; the proof age is between 1 s and 5 minutes and
    /// some algorithm is accepted.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let Some(checker) = &self.checker else {
            return if self.required || self.nonces.is_some() {
                Err(ConfigError::Setting(
                    "require_dpop and dpop_nonces need DPoP enabled (ServerBuilder::dpop)",
                ))
            } else {
                Ok(())
            };
        };
        let age = checker.max_age_value();
        if age < Duration::from_secs(1) || age > Duration::from_secs(300) {
            return Err(ConfigError::Setting(
                "the DPoP proof max_age must be between 1 s and 5 minutes",
            ));
        }
        if checker.supported_algorithms().is_empty() {
            return Err(ConfigError::Setting(
                "the DPoP proof checker accepts no algorithm",
            ));
        }
        Ok(())
    }
}
