//! The device grant's settings: what the builder collects, and what a built server holds.

use std::sync::Arc;
use std::time::Duration;

use crate::error::ConfigError;
use crate::grant::GrantHandler;
use crate::grant::device::UserCodeFormat;
use crate::grant::device::handler::DeviceCodeGrant;
use crate::limiter::AttemptLimiter;
use crate::server::Server;
use crate::store::{DeviceStore, MemoryAttemptLimiter, TokenStore};

/// The device grant settings a [`ServerBuilder`](crate::ServerBuilder) collects.
#[derive(Debug)]
pub(crate) struct DeviceSettings {
    pub(crate) store: Option<Arc<dyn DeviceStore>>,
    pub(crate) code_ttl: Duration,
    pub(crate) interval: Duration,
    pub(crate) verification_uri: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) user_code_format: UserCodeFormat,
    pub(crate) limiter: Arc<dyn AttemptLimiter>,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            store: None,
            code_ttl: Duration::from_secs(600),
            interval: Duration::from_secs(5),
            verification_uri: None,
            endpoint: None,
            user_code_format: UserCodeFormat::default(),
            limiter: Arc::new(MemoryAttemptLimiter::new(5, Duration::from_secs(600))),
        }
    }
}

/// The device grant configuration of a built [`Server`].
#[derive(Debug)]
pub(crate) struct DeviceConfig {
    pub(super) store: Arc<dyn DeviceStore>,
    pub(super) code_ttl: Duration,
    pub(super) interval: Duration,
    pub(super) verification_uri: String,
    pub(crate) endpoint: String,
    pub(super) user_code_format: UserCodeFormat,
    pub(super) limiter: Arc<dyn AttemptLimiter>,
}

impl DeviceSettings {
    /// Validates the settings. `None` when no device store was given: the grant is off.
    pub(crate) fn build(
        &self,
        issuer: &str,
        allow_http: bool,
    ) -> Result<Option<DeviceConfig>, ConfigError> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        if self.code_ttl < Duration::from_secs(60) || self.code_ttl > Duration::from_secs(3600) {
            return Err(ConfigError::Setting(
                "device_code_ttl must be between 60 s and 1 hour",
            ));
        }
        if self.interval < Duration::from_secs(1)
            || self.interval > Duration::from_secs(60)
            || self.interval.subsec_nanos() != 0
        {
            return Err(ConfigError::Setting(
                "device_poll_interval must be whole seconds between 1 and 60",
            ));
        }
        let base = issuer.trim_end_matches('/');
        let verification_uri = self
            .verification_uri
            .clone()
            .unwrap_or_else(|| format!("{base}/device"));
        validate_uri(&verification_uri, allow_http)?;
        let endpoint = self
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("{base}/device_authorization"));
        validate_uri(&endpoint, allow_http)?;
        Ok(Some(DeviceConfig {
            store: Arc::clone(store),
            code_ttl: self.code_ttl,
            interval: self.interval,
            verification_uri,
            endpoint,
            user_code_format: self.user_code_format.clone(),
            limiter: Arc::clone(&self.limiter),
        }))
    }
}

impl DeviceConfig {
    /// The token endpoint handler for the device grant.
    pub(crate) fn grant_handler(
        &self,
        tokens: Arc<dyn TokenStore>,
        revoked_for: Duration,
    ) -> Arc<dyn GrantHandler> {
        Arc::new(DeviceCodeGrant {
            store: Arc::clone(&self.store),
            tokens,
            revoked_for,
        })
    }
}

/// An absolute `https` URL (or `http` in development) with a host, no query, fragment or
/// user information. For `verification_uri` the missing query is the point of DG-12: the
/// user code goes only into `verification_uri_complete`.
fn validate_uri(uri: &str, allow_http: bool) -> Result<(), ConfigError> {
    const MESSAGE: &str =
        "device URIs must be absolute https URLs without query, fragment or user information";
    let url = url::Url::parse(uri).map_err(|_| ConfigError::Setting(MESSAGE))?;
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok
        || url.host().is_none()
        || uri.contains(['?', '#'])
        || !url.username().is_empty()
        || !uri
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    {
        return Err(ConfigError::Setting(MESSAGE));
    }
    Ok(())
}

impl Server {
    /// The URL of the device authorization endpoint, for the metadata member
    /// `device_authorization_endpoint` ([RFC 8628 §4](https://www.rfc-editor.org/rfc/rfc8628#section-4),
    /// DG-12). `None` when the device grant is not enabled. Default: the issuer followed by
    /// `/device_authorization`.
    pub fn device_authorization_endpoint(&self) -> Option<&str> {
        self.inner.device.as_ref().map(|d| d.endpoint.as_str())
    }

    /// The `verification_uri` sent to devices: the host's verification page. It never
    /// has a query string (DG-12); the user code goes only into
    /// `verification_uri_complete`. `None` when the device grant is not enabled. Default:
    /// the issuer followed by `/device`.
    pub fn device_verification_uri(&self) -> Option<&str> {
        self.inner
            .device
            .as_ref()
            .map(|d| d.verification_uri.as_str())
    }

    /// The user code format, for hosts that normalise or display codes themselves.
    /// `None` when the device grant is not enabled.
    pub fn user_code_format(&self) -> Option<&UserCodeFormat> {
        self.inner.device.as_ref().map(|d| &d.user_code_format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dg_12_device_uris_have_no_query_or_fragment() {
        assert!(validate_uri("https://as.example.com/device", false).is_ok());
        assert!(validate_uri("https://as.example.com/device?user_code=X", false).is_err());
        assert!(validate_uri("https://as.example.com/device#x", false).is_err());
        assert!(validate_uri("http://as.example.com/device", false).is_err());
        assert!(validate_uri("http://127.0.0.1/device", true).is_ok());
        assert!(validate_uri("https://u@as.example.com/device", false).is_err());
        assert!(validate_uri("/device", false).is_err());
        assert!(validate_uri("https://as.example.com/de\"vice", false).is_err());
        assert!(validate_uri("https://as.example.com/de\\vice", false).is_err());
    }
}
