//! Server configuration: [`ServerBuilder`], with every default documented and the insecure
//! switches behind [`ServerBuilder::dangerous`].

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::endpoint::device::DeviceSettings;
use crate::endpoint::token::{ClientCredentialsGrant, GrantHandler};
use crate::error::ConfigError;
use crate::grant::device::UserCodeFormat;
use crate::issuer::{OpaqueTokenIssuer, TokenIssuer};
use crate::limiter::{AttemptLimiter, MemoryAttemptLimiter};
use crate::metadata::MetadataSettings;
use crate::params::FormLimits;
use crate::server::{Inner, Server};
use crate::store::{ClientRegistry, DeviceStore, TokenStore};

/// Builds a [`Server`]. Created by [`Server::builder`] with the required parts; every
/// other setting has a secure default.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use grantflow::{MemoryClientRegistry, MemoryTokenStore, Server};
///
/// let server = Server::builder(
///     "https://as.example.com",
///     Arc::new(MemoryClientRegistry::new()),
///     Arc::new(MemoryTokenStore::new()),
/// )
/// .access_token_ttl(Duration::from_secs(600))
/// .build()?;
/// assert_eq!(server.issuer(), "https://as.example.com");
/// # Ok::<(), grantflow::ConfigError>(())
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ServerBuilder {
    pub(crate) issuer: String,
    pub(crate) clients: Arc<dyn ClientRegistry>,
    pub(crate) tokens: Arc<dyn TokenStore>,
    pub(crate) token_issuer: Arc<dyn TokenIssuer>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limiter: Arc<dyn AttemptLimiter>,
    pub(crate) access_token_ttl: Duration,
    pub(crate) refresh_token_ttl: Duration,
    pub(crate) form_limits: FormLimits,
    pub(crate) realm: Option<String>,
    pub(crate) grant_handlers: Vec<Arc<dyn GrantHandler>>,
    pub(crate) allow_http_issuer: bool,
    pub(crate) device: DeviceSettings,
    pub(crate) revocation_hides_foreign_tokens: bool,
    pub(crate) metadata: MetadataSettings,
}

impl ServerBuilder {
    pub(crate) fn new(
        issuer: String,
        clients: Arc<dyn ClientRegistry>,
        tokens: Arc<dyn TokenStore>,
    ) -> Self {
        Self {
            issuer,
            clients,
            tokens,
            token_issuer: Arc::new(OpaqueTokenIssuer),
            clock: Arc::new(SystemClock),
            limiter: Arc::new(MemoryAttemptLimiter::default()),
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(14 * 86_400),
            form_limits: FormLimits::default(),
            realm: None,
            grant_handlers: Vec::new(),
            allow_http_issuer: false,
            device: DeviceSettings::default(),
            revocation_hides_foreign_tokens: false,
            metadata: MetadataSettings::default(),
        }
    }

    /// How long access tokens live. Default: 1 hour. Shorter lifetimes limit the damage of
    /// a leaked bearer token ([RFC 9700 §4.10](https://www.rfc-editor.org/rfc/rfc9700#section-4.10));
    /// clients with refresh tokens renew them without the user. Must be between 1 second
    /// and 1 day.
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// How long refresh tokens live without use. Default: 14 days. Each rotation starts a
    /// new lifetime, so an active client keeps access while an idle refresh token expires
    /// ([RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2), RT-08).
    /// Must be at least the access token lifetime and at most 1 year.
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_token_ttl = ttl;
        self
    }

    /// Replaces the token issuer. Default: [`OpaqueTokenIssuer`], 256-bit random tokens.
    pub fn token_issuer(mut self, issuer: Arc<dyn TokenIssuer>) -> Self {
        self.token_issuer = issuer;
        self
    }

    /// Replaces the clock. Default: [`SystemClock`]. Tests use a
    /// [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the brute-force limiter for client secrets (TE-10). Default:
    /// [`MemoryAttemptLimiter::default`], 10 failures per client per minute. Deployments
    /// of several instances should share one limiter through their store.
    pub fn attempt_limiter(mut self, limiter: Arc<dyn AttemptLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// Sets the size bounds of request parsing. Default: [`FormLimits::default`]
    /// (16 KiB body, 32 parameters, 4 KiB per value).
    pub fn form_limits(mut self, limits: FormLimits) -> Self {
        self.form_limits = limits;
        self
    }

    /// Sets the `realm` of `WWW-Authenticate` challenges. Default: the issuer. It must be
    /// printable ASCII without `"` or `\`.
    pub fn realm(mut self, realm: &str) -> Self {
        self.realm = Some(realm.to_owned());
        self
    }

    /// Registers a handler for an extension grant type (DESIGN decision 11). The token
    /// endpoint dispatches to it by `grant_type`; built-in grants use the same mechanism.
    pub fn grant_handler(mut self, handler: Arc<dyn GrantHandler>) -> Self {
        self.grant_handlers.push(handler);
        self
    }

    /// Enables the device authorization grant
    /// ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)) with `store` holding its
    /// requests: [`Server::device_authorization`], [`Server::device_verification`] and
    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` at the token endpoint.
    /// Default: off. [`MemoryDeviceStore`](crate::MemoryDeviceStore) suits one instance;
    /// several instances need a shared store.
    pub fn device_store(mut self, store: Arc<dyn DeviceStore>) -> Self {
        self.device.store = Some(store);
        self
    }

    /// How long device codes and user codes live (`expires_in`). Default: 10 minutes,
    /// long enough to find a phone and sign in, short enough to keep user-code guessing
    /// unlikely ([RFC 8628 §5.1](https://www.rfc-editor.org/rfc/rfc8628#section-5.1),
    /// DG-07). Must be between 60 s and 1 hour.
    pub fn device_code_ttl(mut self, ttl: Duration) -> Self {
        self.device.code_ttl = ttl;
        self
    }

    /// The minimum polling interval sent to devices (`interval`). Default: 5 seconds, the
    /// value clients assume when none is sent
    /// ([RFC 8628 §3.2](https://www.rfc-editor.org/rfc/rfc8628#section-3.2)). Each
    /// too-fast poll adds 5 seconds for that device code (DG-10). Whole seconds, 1 to 60.
    pub fn device_poll_interval(mut self, interval: Duration) -> Self {
        self.device.interval = interval;
        self
    }

    /// The `verification_uri`: the host's page where users enter user codes. Default: the
    /// issuer followed by `/device`. It must be an `https` URL without query or fragment
    /// (DG-12: the user code goes only into `verification_uri_complete`).
    pub fn device_verification_uri(mut self, uri: &str) -> Self {
        self.device.verification_uri = Some(uri.to_owned());
        self
    }

    /// The URL of the device authorization endpoint, as advertised in metadata. Default:
    /// the issuer followed by `/device_authorization`.
    pub fn device_authorization_endpoint(mut self, uri: &str) -> Self {
        self.device.endpoint = Some(uri.to_owned());
        self
    }

    /// The user code format. Default: [`UserCodeFormat::base20`], 8 characters from
    /// `BCDFGHJKLMNPQRSTVWXZ` shown as `XXXX-XXXX`, 34.6 bits (DG-05). See
    /// [`UserCodeFormat`] for the entropy of other choices.
    pub fn user_code_format(mut self, format: UserCodeFormat) -> Self {
        self.device.user_code_format = format;
        self
    }

    /// Replaces the limiter of user-code entries (DG-07). Default:
    /// [`MemoryAttemptLimiter::new(5, 10 minutes)`](MemoryAttemptLimiter::new): the 6th
    /// entry for one key within 10 minutes is refused, right or wrong. Keys are
    /// `user_code:<key the host passes>`. With the default format, 5 guesses find a given
    /// live code with probability 5 / 20^8 ≈ 2^-32 (V-DEV-3).
    pub fn user_code_limiter(mut self, limiter: Arc<dyn AttemptLimiter>) -> Self {
        self.device.limiter = limiter;
        self
    }

    /// How the revocation endpoint answers a client that presents another client's token
    /// (RV-05). Either way nothing is revoked. Default: `false`, answer 400
    /// `invalid_grant`, as [RFC 7009 §2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.1)
    /// asks ("the request is refused and the client is informed of the error"). `true`
    /// answers 200 as for an unknown token, so the response does not reveal that the token
    /// exists.
    pub fn revocation_hides_foreign_tokens(mut self, hide: bool) -> Self {
        self.revocation_hides_foreign_tokens = hide;
        self
    }

    /// Settings that weaken security, each named for what it gives up. Use them for local
    /// development and tests only.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use grantflow::{MemoryClientRegistry, MemoryTokenStore, Server};
    ///
    /// let server = Server::builder(
    ///     "http://127.0.0.1:8080",
    ///     Arc::new(MemoryClientRegistry::new()),
    ///     Arc::new(MemoryTokenStore::new()),
    /// )
    /// .dangerous(|d| d.allow_http_issuer())
    /// .build()?;
    /// # let _ = server;
    /// # Ok::<(), grantflow::ConfigError>(())
    /// ```
    pub fn dangerous(mut self, configure: impl FnOnce(&mut Dangerous) -> &mut Dangerous) -> Self {
        let mut dangerous = Dangerous {
            allow_http_issuer: self.allow_http_issuer,
        };
        configure(&mut dangerous);
        self.allow_http_issuer = dangerous.allow_http_issuer;
        self
    }

    /// Checks the configuration and builds the server.
    ///
    /// # Errors
    /// [`ConfigError`] when the issuer is not an `https` URL without query or fragment
    /// (SEC-01, MD-02), a lifetime is out of range, a device grant setting is invalid, or
    /// two grant handlers claim the same `grant_type`.
    pub fn build(self) -> Result<Server, ConfigError> {
        validate_issuer(&self.issuer, self.allow_http_issuer)?;
        let device = self.device.build(&self.issuer, self.allow_http_issuer)?;
        if self.access_token_ttl < Duration::from_secs(1)
            || self.access_token_ttl > Duration::from_secs(86_400)
        {
            return Err(ConfigError::Setting(
                "access_token_ttl must be between 1 s and 1 day",
            ));
        }
        if self.refresh_token_ttl < self.access_token_ttl
            || self.refresh_token_ttl > Duration::from_secs(366 * 86_400)
        {
            return Err(ConfigError::Setting(
                "refresh_token_ttl must be between the access token lifetime and 1 year",
            ));
        }
        let limits = &self.form_limits;
        if limits.max_body_bytes == 0 || limits.max_parameters == 0 || limits.max_value_bytes == 0 {
            return Err(ConfigError::Setting("form limits must be positive"));
        }
        let realm = self.realm.unwrap_or_else(|| self.issuer.clone());
        if realm.is_empty() || !realm.chars().all(crate::error::is_error_char) {
            return Err(ConfigError::Setting(
                "realm must be printable ASCII without '\"' or '\\'",
            ));
        }
        let mut grant_handlers: Vec<Arc<dyn GrantHandler>> = vec![Arc::new(ClientCredentialsGrant)];
        if let Some(device) = &device {
            grant_handlers.push(device.grant_handler(Arc::clone(&self.tokens)));
        }
        for handler in self.grant_handlers {
            if grant_handlers
                .iter()
                .any(|h| h.grant_type() == handler.grant_type())
            {
                return Err(ConfigError::DuplicateGrantHandler);
            }
            grant_handlers.push(handler);
        }
        let device_endpoint = device.as_ref().map(|d| d.endpoint.as_str());
        let metadata = self.metadata.resolve(
            &self.issuer,
            self.allow_http_issuer,
            &grant_handlers,
            device_endpoint,
        )?;
        Ok(Server::from_inner(Inner {
            issuer: self.issuer,
            clients: self.clients,
            tokens: self.tokens,
            token_issuer: self.token_issuer,
            clock: self.clock,
            limiter: self.limiter,
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            form_limits: self.form_limits,
            realm,
            grant_handlers,
            device,
            revocation_hides_foreign_tokens: self.revocation_hides_foreign_tokens,
            metadata,
        }))
    }
}

/// The insecure settings of a [`ServerBuilder`], reached only through
/// [`ServerBuilder::dangerous`] so that every use is visible at the call site. Runtime
/// switches rather than Cargo features: features unify across the dependency graph, so
/// any dependency could turn one on silently.
#[derive(Debug)]
pub struct Dangerous {
    allow_http_issuer: bool,
}

impl Dangerous {
    /// Accepts an `http` issuer (and so `http` endpoints). Every OAuth endpoint must be
    /// served over TLS in production (SEC-01); this is for local development on loopback.
    pub fn allow_http_issuer(&mut self) -> &mut Self {
        self.allow_http_issuer = true;
        self
    }
}

/// The issuer is an absolute `https` URL with a host and no query or fragment
/// ([RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2), MD-02, SEC-01).
fn validate_issuer(issuer: &str, allow_http: bool) -> Result<(), ConfigError> {
    let url = url::Url::parse(issuer).map_err(|_| ConfigError::Issuer("not an absolute URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(ConfigError::Issuer(
                "must use https (see `dangerous().allow_http_issuer()`)",
            ));
        }
        _ => return Err(ConfigError::Issuer("must use https")),
    }
    if url.host().is_none() || issuer.contains(['?', '#']) || !url.username().is_empty() {
        return Err(ConfigError::Issuer(
            "needs a host and no query, fragment or user information",
        ));
    }
    if !issuer.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ConfigError::Issuer("must be printable ASCII"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_01_issuer_must_be_https_unless_dangerous() {
        assert!(validate_issuer("https://as.example.com", false).is_ok());
        assert!(validate_issuer("https://as.example.com/tenant1", false).is_ok());
        assert!(validate_issuer("http://as.example.com", false).is_err());
        assert!(validate_issuer("http://127.0.0.1:8080", true).is_ok());
        assert!(validate_issuer("https://as.example.com?x=1", false).is_err());
        assert!(validate_issuer("https://as.example.com#f", false).is_err());
        assert!(validate_issuer("ftp://as.example.com", true).is_err());
        assert!(validate_issuer("as.example.com", false).is_err());
    }
}
