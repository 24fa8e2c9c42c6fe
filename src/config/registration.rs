//! Dynamic client registration's sub-config
//! ([RFC 7591](https://www.rfc-editor.org/rfc/rfc7591),
//! [RFC 7592](https://www.rfc-editor.org/rfc/rfc7592)).

use std::sync::Arc;

use super::{UrlSchemes, check_endpoint};
use crate::error::ConfigError;
use crate::registration::{MetadataLimits, RegistrationPolicy};
use crate::store::RegistrationStore;

/// Dynamic client registration: on when it has a store and an admission policy.
#[derive(Debug)]
pub(crate) struct RegistrationConfig {
    pub(crate) enabled: Option<(Arc<dyn RegistrationStore>, Arc<dyn RegistrationPolicy>)>,
    /// The registration endpoint's URL; each client's configuration URL is this URL, `/`
    /// and the `client_id`.
    pub(crate) endpoint: String,
    /// Bounds on a registration request's metadata.
    pub(crate) limits: MetadataLimits,
}

impl RegistrationConfig {
    /// The defaults, with the endpoint under `base` (the issuer without a trailing `/`).
    pub(super) fn new(base: &str) -> Self {
        Self {
            enabled: None,
            endpoint: format!("{base}/register"),
            limits: MetadataLimits::default(),
        }
    }

    /// The endpoint is a URL the metadata may publish, without query (client
    /// configuration URLs extend its path); only an enabled endpoint is checked.
    pub(super) fn check(&self, schemes: UrlSchemes) -> Result<(), ConfigError> {
        if self.enabled.is_none() {
            return Ok(());
        }
        check_endpoint(&self.endpoint, schemes)?;
        if self.endpoint.contains('?') || self.endpoint.ends_with('/') {
            return Err(ConfigError::Setting(
                "registration_endpoint must have no query and no trailing '/'",
            ));
        }
        if self.limits.max_bytes == 0 || self.limits.max_redirect_uris == 0 {
            return Err(ConfigError::Setting("registration limits must be positive"));
        }
        Ok(())
    }

    /// The configuration URL of the client `client_id`
    /// ([RFC 7592 §3](https://www.rfc-editor.org/rfc/rfc7592#section-3)).
    pub(crate) fn client_uri(&self, client_id: &str) -> String {
        let mut uri = String::with_capacity(self.endpoint.len() + 1 + client_id.len());
        uri.push_str(&self.endpoint);
        uri.push('/');
        uri.push_str(client_id);
        uri
    }
}
