//! Server configuration: [`ServerBuilder`], with every default documented and the insecure
//! switches behind [`ServerBuilder::dangerous`].

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::endpoint::device::{DeviceConfig, DeviceSettings};
use crate::error::ConfigError;
use crate::grant::GrantHandler;
use crate::grant::authorization_code::handler::AuthorizationCodeGrant;
use crate::grant::client_credentials::handler::ClientCredentialsGrant;
use crate::grant::device::UserCodeFormat;
use crate::grant::password::handler::{PasswordGrant, ResourceOwnerVerifier};
use crate::grant::refresh_token::handler::RefreshTokenGrant;
use crate::limiter::AttemptLimiter;
use crate::metadata::MetadataSettings;
use crate::params::FormLimits;
use crate::server::{Inner, Server};
use crate::store::{
    ClientRegistry, CodeStore, DeviceStore, MemoryAttemptLimiter, MemoryCodeStore, TokenStore,
};
use crate::token_issuer::{OpaqueTokenIssuer, TokenIssuer};

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
    pub(crate) codes: Arc<dyn CodeStore>,
    pub(crate) code_ttl: Duration,
    pub(crate) localhost_any_port: bool,
    pub(crate) refresh_reuse_grace: Duration,
    pub(crate) allow_plain_pkce: bool,
    pub(crate) password_verifier: Option<Arc<dyn ResourceOwnerVerifier>>,
    pub(crate) password_limiter: Arc<dyn AttemptLimiter>,
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
            codes: Arc::new(MemoryCodeStore::new()),
            code_ttl: Duration::from_secs(60),
            localhost_any_port: true,
            refresh_reuse_grace: Duration::ZERO,
            allow_plain_pkce: false,
            password_verifier: None,
            password_limiter: Arc::new(MemoryAttemptLimiter::new(5, Duration::from_secs(300))),
        }
    }

    /// Enables the legacy resource owner password credentials grant
    /// ([RFC 6749 §4.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.3)), checking
    /// user credentials with `verifier`. Default: off, and `grant_type=password` is
    /// `unsupported_grant_type` (PW-01).
    ///
    /// Even when enabled, only clients registered with
    /// [`GrantType::PASSWORD`](crate::GrantType::PASSWORD) may use it; others get
    /// `unauthorized_client` (PW-02). Failed attempts are throttled per user name by the
    /// [`password_limiter`](Self::password_limiter) under the key `password:<username>`
    /// (PW-03).
    ///
    /// [RFC 9700 §2.4](https://www.rfc-editor.org/rfc/rfc9700#section-2.4): the grant
    /// "MUST NOT be used"; it exposes the user's password to the client and cannot do
    /// multi-factor authentication. Use it only to migrate legacy clients, give those
    /// clients a narrow allowed scope, and log [`Server::warnings`] at startup (PW-04).
    pub fn password_grant(mut self, verifier: Arc<dyn ResourceOwnerVerifier>) -> Self {
        self.password_verifier = Some(verifier);
        self
    }

    /// Replaces the limiter of password guesses (PW-03). Default:
    /// [`MemoryAttemptLimiter::new(5, 5 minutes)`](MemoryAttemptLimiter::new), per user
    /// name. It is separate from the client-secret limiter on purpose: user names are
    /// chosen by whoever calls the endpoint, and a flood of made-up names must not crowd
    /// registered clients out of the client limiter's table.
    pub fn password_limiter(mut self, limiter: Arc<dyn AttemptLimiter>) -> Self {
        self.password_limiter = limiter;
        self
    }

    /// Replaces the authorization code store. Default: a [`MemoryCodeStore`] private to
    /// this server.
    ///
    /// A deployment of more than one instance **must** set a store shared by all of them
    /// (a database backend): a code issued by one instance is redeemed at whichever
    /// instance the client's token request reaches, and single use (AC-01, AC-04) only
    /// holds within one store.
    pub fn code_store(mut self, codes: Arc<dyn CodeStore>) -> Self {
        self.codes = codes;
        self
    }

    /// How long an authorization code can be redeemed. Default: 60 seconds; at most 10
    /// minutes ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2):
    /// "A maximum authorization code lifetime of 10 minutes is RECOMMENDED", AC-05). A
    /// code only has to survive one redirect and one back-channel request; a short
    /// lifetime narrows the window for a stolen code.
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl;
        self
    }

    /// Whether a public client's `http://localhost` redirect URI matches with any port,
    /// like the `127.0.0.1` and `[::1]` literals do (RU-07). Default: `true`, because
    /// native apps listen on an ephemeral port and
    /// [RFC 9700 §2.1](https://www.rfc-editor.org/rfc/rfc9700#section-2.1) states the port
    /// exception for "localhost" URIs. Confidential clients never get it. Set `false` to
    /// hold `localhost` URIs to exact matching
    /// ([RFC 8252 §8.3](https://www.rfc-editor.org/rfc/rfc8252#section-8.3) calls
    /// `localhost` NOT RECOMMENDED).
    pub fn localhost_any_port(mut self, any_port: bool) -> Self {
        self.localhost_any_port = any_port;
        self
    }

    /// A grace period for concurrent refreshes. Default: zero, off.
    ///
    /// Refresh tokens are always rotated, and presenting a rotated-out token revokes the
    /// whole grant (reuse detection, [RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2),
    /// RT-06). A client that sends two refreshes at once (two browser tabs) loses the
    /// race with one of them and would then lose the grant. Within `grace` after the
    /// rotation, a reuse of the old token by the same client is only refused with
    /// `invalid_grant`, without revoking. It never mints a second successor. At most 60
    /// seconds.
    pub fn refresh_reuse_grace(mut self, grace: Duration) -> Self {
        self.refresh_reuse_grace = grace;
        self
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
    /// [`ManualClock`](crate::clock::ManualClock).
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
            allow_plain_pkce: self.allow_plain_pkce,
        };
        configure(&mut dangerous);
        self.allow_http_issuer = dangerous.allow_http_issuer;
        self.allow_plain_pkce = dangerous.allow_plain_pkce;
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
        self.check_settings()?;
        let grant_handlers = self.grant_handlers(device.as_ref())?;
        let metadata = self.metadata.resolve(
            &self.issuer,
            self.allow_http_issuer,
            &grant_handlers,
            device.as_ref().map(|d| d.endpoint.as_str()),
            crate::endpoint::authorize::code_challenge_methods(self.allow_plain_pkce),
        )?;
        Ok(Server::from_inner(Inner {
            realm: self.challenge_realm().to_owned(),
            issuer: self.issuer,
            clients: self.clients,
            tokens: self.tokens,
            token_issuer: self.token_issuer,
            clock: self.clock,
            limiter: self.limiter,
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            form_limits: self.form_limits,
            grant_handlers,
            device,
            revocation_hides_foreign_tokens: self.revocation_hides_foreign_tokens,
            metadata,
            codes: self.codes,
            code_ttl: self.code_ttl,
            localhost_any_port: self.localhost_any_port,
            refresh_reuse_grace: self.refresh_reuse_grace,
            allow_plain_pkce: self.allow_plain_pkce,
        }))
    }

    /// The lifetimes, the form limits and the realm are within their documented ranges.
    fn check_settings(&self) -> Result<(), ConfigError> {
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
        let realm = self.challenge_realm();
        if realm.is_empty() || !realm.chars().all(crate::render::is_error_char) {
            return Err(ConfigError::Setting(
                "realm must be printable ASCII without '\"' or '\\'",
            ));
        }
        if self.code_ttl < Duration::from_secs(1) || self.code_ttl > Duration::from_secs(600) {
            return Err(ConfigError::Setting(
                "code_ttl must be between 1 s and 10 minutes",
            ));
        }
        if self.refresh_reuse_grace > Duration::from_secs(60) {
            return Err(ConfigError::Setting(
                "refresh_reuse_grace must be at most 60 s",
            ));
        }
        Ok(())
    }

    /// The realm of the challenges: the one set, or the issuer.
    fn challenge_realm(&self) -> &str {
        self.realm.as_deref().unwrap_or(&self.issuer)
    }

    /// The token endpoint's handlers: the built-in grants that are enabled, then the
    /// extension grants, one per `grant_type`.
    fn grant_handlers(
        &self,
        device: Option<&DeviceConfig>,
    ) -> Result<Vec<Arc<dyn GrantHandler>>, ConfigError> {
        let mut handlers: Vec<Arc<dyn GrantHandler>> = vec![
            Arc::new(ClientCredentialsGrant),
            Arc::new(AuthorizationCodeGrant {
                codes: Arc::clone(&self.codes),
                tokens: Arc::clone(&self.tokens),
                revoked_for: self.refresh_token_ttl,
            }),
            Arc::new(RefreshTokenGrant {
                tokens: Arc::clone(&self.tokens),
                grace: self.refresh_reuse_grace,
                revoked_for: self.refresh_token_ttl,
            }),
        ];
        if let Some(device) = device {
            handlers.push(device.grant_handler(Arc::clone(&self.tokens), self.refresh_token_ttl));
        }
        if let Some(verifier) = &self.password_verifier {
            handlers.push(Arc::new(PasswordGrant {
                verifier: Arc::clone(verifier),
                limiter: Arc::clone(&self.password_limiter),
            }));
        }
        for handler in &self.grant_handlers {
            if handlers
                .iter()
                .any(|h| h.grant_type() == handler.grant_type())
            {
                return Err(ConfigError::DuplicateGrantHandler);
            }
            handlers.push(Arc::clone(handler));
        }
        Ok(handlers)
    }
}

/// The insecure settings of a [`ServerBuilder`], reached only through
/// [`ServerBuilder::dangerous`] so that every use is visible at the call site. Runtime
/// switches rather than Cargo features: features unify across the dependency graph, so
/// any dependency could turn one on silently.
#[derive(Debug)]
pub struct Dangerous {
    allow_http_issuer: bool,
    allow_plain_pkce: bool,
}

impl Dangerous {
    /// Accepts an `http` issuer (and so `http` endpoints). Every OAuth endpoint must be
    /// served over TLS in production (SEC-01); this is for local development on loopback.
    pub fn allow_http_issuer(&mut self) -> &mut Self {
        self.allow_http_issuer = true;
        self
    }

    /// Accepts the PKCE `plain` method, and so an authorization request with a
    /// `code_challenge` but no `code_challenge_method` (whose method is then `plain`,
    /// [RFC 7636 §4.3](https://www.rfc-editor.org/rfc/rfc7636#section-4.3), PK-04).
    /// `plain` gives no protection when the authorization request leaks; OAuth 2.1 and
    /// RFC 9700 want `S256`. For legacy clients only.
    pub fn allow_plain_pkce(&mut self) -> &mut Self {
        self.allow_plain_pkce = true;
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
