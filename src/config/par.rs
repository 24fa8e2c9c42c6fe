//! The pushed authorization request endpoint's sub-config
//! ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)).

use std::sync::Arc;
use std::time::Duration;

use super::{UrlSchemes, check_endpoint};
use crate::error::ConfigError;
use crate::store::PushedRequestStore;

/// Pushed authorization requests: on when they have a store.
#[derive(Debug)]
pub(crate) struct PushedConfig {
    pub(crate) store: Option<Arc<dyn PushedRequestStore>>,
    /// How long a `request_uri` lives (`expires_in`).
    pub(crate) ttl: Duration,
    /// The endpoint's URL, for metadata.
    pub(crate) endpoint: String,
    /// Whether every client must push its authorization requests.
    pub(crate) required: bool,
}

impl PushedConfig {
    /// The defaults, with the endpoint under `base` (the issuer without a trailing `/`).
    pub(super) fn new(base: &str) -> Self {
        Self {
            store: None,
            ttl: Duration::from_secs(90),
            endpoint: format!("{base}/par"),
            required: false,
        }
    }

    /// Whether the endpoint is on.
    pub(crate) fn is_enabled(&self) -> bool {
        self.store.is_some()
    }

    /// The lifetime is under 10 minutes
    /// ([FAPI 2.0 Security Profile §5.3.2.2](https://openid.net/specs/fapi-security-profile-2_0-final.html#section-5.3.2.2))
    /// and the URL is one the metadata may publish. Only an enabled endpoint is checked.
    pub(super) fn check(&self, schemes: UrlSchemes) -> Result<(), ConfigError> {
        if !self.is_enabled() {
            return Ok(());
        }
        if self.ttl < Duration::from_secs(1) || self.ttl >= Duration::from_secs(600) {
            return Err(ConfigError::Setting(
                "pushed_request_ttl must be at least 1 s and under 10 minutes",
            ));
        }
        check_endpoint(&self.endpoint, schemes)
    }
}
