//! The device authorization grant's sub-config
//! ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)).

use std::sync::Arc;
use std::time::Duration;

use super::{UrlSchemes, published_url};
use crate::error::ConfigError;
use crate::grant::device::UserCodeFormat;
use crate::limiter::AttemptLimiter;
use crate::store::{DeviceStore, MemoryAttemptLimiter};

/// The device grant: on when it has a store.
#[derive(Debug)]
pub(crate) struct DeviceConfig {
    pub(crate) store: Option<Arc<dyn DeviceStore>>,
    /// How long device codes and user codes live (`expires_in`).
    pub(crate) code_ttl: Duration,
    /// The minimum polling interval sent to devices (`interval`).
    pub(crate) interval: Duration,
    pub(crate) verification_uri: String,
    /// The device authorization endpoint's URL, for metadata.
    pub(crate) endpoint: String,
    pub(crate) user_code_format: UserCodeFormat,
    /// The limiter of user-code entries ([RFC 8628 §5.1]).
    ///
    /// [RFC 8628 §5.1]: https://www.rfc-editor.org/rfc/rfc8628#section-5.1
    pub(crate) limiter: Arc<dyn AttemptLimiter>,
}

impl DeviceConfig {
    /// The defaults, with URLs under `base` (the issuer without a trailing `/`).
    pub(super) fn new(base: &str) -> Self {
        Self {
            store: None,
            code_ttl: Duration::from_secs(600),
            interval: Duration::from_secs(5),
            verification_uri: format!("{base}/device"),
            endpoint: format!("{base}/device_authorization"),
            user_code_format: UserCodeFormat::default(),
            limiter: Arc::new(MemoryAttemptLimiter::new(5, Duration::from_secs(600))),
        }
    }

    /// The lifetimes and the URLs are within their documented ranges. Only an enabled
    /// grant is checked (the builder refuses settings of a disabled one).
    pub(super) fn check(&self, schemes: UrlSchemes) -> Result<(), ConfigError> {
        if self.store.is_none() {
            return Ok(());
        }
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
        check_uri(&self.verification_uri, schemes)?;
        check_uri(&self.endpoint, schemes)
    }
}

/// An absolute URL of an allowed scheme with a host, no query, fragment or user
/// information. For `verification_uri` the missing query is the point of [RFC 8628 §4]: the user
/// code goes only into `verification_uri_complete`.
///
/// [RFC 8628 §4]: https://www.rfc-editor.org/rfc/rfc8628#section-4
fn check_uri(uri: &str, schemes: UrlSchemes) -> Result<(), ConfigError> {
    let ok = published_url(uri, schemes).is_some_and(|url| {
        url.username().is_empty()
            && !uri.contains('?')
            && uri
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    });
    if !ok {
        return Err(ConfigError::Setting(
            "device URIs must be absolute https URLs without query, fragment or user information",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dg_12_device_uris_have_no_query_or_fragment() {
        use UrlSchemes::{HttpAllowed, HttpsOnly};
        assert!(check_uri("https://as.example.com/device", HttpsOnly).is_ok());
        assert!(check_uri("https://as.example.com/device?user_code=X", HttpsOnly).is_err());
        assert!(check_uri("https://as.example.com/device#x", HttpsOnly).is_err());
        assert!(check_uri("http://as.example.com/device", HttpsOnly).is_err());
        assert!(check_uri("http://127.0.0.1/device", HttpAllowed).is_ok());
        assert!(check_uri("https://u@as.example.com/device", HttpsOnly).is_err());
        assert!(check_uri("/device", HttpsOnly).is_err());
        assert!(check_uri("https://as.example.com/de\"vice", HttpsOnly).is_err());
        assert!(check_uri("https://as.example.com/de\\vice", HttpsOnly).is_err());
    }
}
