//! The server's configuration: one [`Config`], made of one sub-config per concern, that
//! [`ServerBuilder`] fills with secure defaults and checks at
//! [`build`](ServerBuilder::build), and that the [`Server`](crate::Server) then holds as it
//! is. Nothing is copied field by field and nothing is checked at request time: a request
//! only reads settings that `build` already accepted.
//!
//! - `mod.rs` (here): [`Config`], its sub-configs and their checks;
//! - `builder.rs`: [`ServerBuilder`], the one place for setters, and `build`;
//! - `device.rs`: the device grant's sub-config, the largest.

// How it grows. A feature of a later issue (JWT access tokens and their signing keys,
// OpenID Connect, dynamic registration, resource indicators, PAR, DPoP, client assertions,
// event sinks) is one more sub-config field of `Config`: a struct with its defaults (set in
// `Config::new`), its setters on `ServerBuilder` in builder.rs, and a `check` that
// `Config::check` calls, with what it needs from the rest (the issuer, the URL schemes).
// An optional feature is an `Option<FeatureConfig>` or, like the device and password
// grants, a sub-config whose plug-in is optional; `build` refuses its settings without the
// feature. A profile (FAPI 2.0) is a validated preset: a builder method that sets several
// sub-configs at once and a check here that the result is consistent; it never adds a
// code path at request time.

mod builder;
mod device;
#[cfg(feature = "dpop")]
mod dpop;
#[cfg(feature = "jwt")]
mod jwt;
#[cfg(feature = "oidc")]
mod openid;
mod par;
mod registration;
mod resources;

use std::sync::Arc;
use std::time::Duration;

pub use builder::ServerBuilder;
pub(crate) use device::DeviceConfig;
#[cfg(feature = "dpop")]
pub(crate) use dpop::DpopConfig;
#[cfg(feature = "jwt")]
pub(crate) use jwt::JwtConfig;
#[cfg(feature = "oidc")]
pub(crate) use openid::OpenIdConfig;
#[cfg(test)]
pub(crate) use resources::KnownResource;
pub(crate) use resources::ResourceConfig;

use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::grant::GrantHandler;
use crate::grant::password::handler::ResourceOwnerVerifier;
use crate::limiter::AttemptLimiter;
use crate::observe::{AuditSink, LogKey};
use crate::params::FormLimits;
use crate::random::{Random, SystemRandom};
use crate::store::{
    ClientRegistry, CodeStore, MemoryAttemptLimiter, MemoryCodeStore, MemorySingleUseStore,
    SingleUseStore, TokenStore,
};
use crate::token_issuer::{OpaqueTokenIssuer, TokenIssuer};
use crate::types::{ClientId, LocalhostPort, Scope};

/// Everything a [`Server`](crate::Server) is configured with. See the module notes.
#[derive(Debug)]
pub(crate) struct Config {
    /// The issuer identifier: `iss`, the metadata `issuer`, the base of default URLs.
    pub(crate) issuer: String,
    /// The source of time.
    pub(crate) clock: Arc<dyn Clock>,
    /// The source of every random value the server draws.
    pub(crate) random: Arc<dyn Random>,
    /// Client lookup and client authentication.
    pub(crate) clients: ClientConfig,
    /// Token minting, storage and lifetimes.
    pub(crate) tokens: TokenConfig,
    /// The authorization code flow.
    pub(crate) code_flow: CodeFlowConfig,
    /// The device authorization grant, off unless it has a store.
    pub(crate) device: DeviceConfig,
    /// The password grant, off unless it has a verifier.
    pub(crate) password: PasswordConfig,
    /// The OpenID Provider (feature `oidc`), off unless it has a claims source.
    #[cfg(feature = "oidc")]
    pub(crate) openid: OpenIdConfig,
    /// Pushed authorization requests, off unless they have a store.
    pub(crate) pushed: par::PushedConfig,
    /// Dynamic client registration, off unless it has a store and a policy.
    pub(crate) registration: registration::RegistrationConfig,
    /// The revocation endpoint.
    pub(crate) revocation: RevocationConfig,
    /// The protected resources tokens are issued for (resource indicators).
    pub(crate) resources: ResourceConfig,
    /// The published URLs and metadata members.
    pub(crate) metadata: MetadataConfig,
    /// HTTP-level settings of every endpoint.
    pub(crate) http: HttpConfig,
    /// Audit events, log fingerprints and metric labels.
    pub(crate) observe: ObserveConfig,
    /// Extension grant handlers, after the built-in ones.
    pub(crate) extension_grants: Vec<Arc<dyn GrantHandler>>,
    /// The signing keys, their JWK Set and JWT access tokens.
    #[cfg(feature = "jwt")]
    pub(crate) jwt: JwtConfig,
    /// DPoP proofs and key-bound tokens, off unless they have a checker.
    #[cfg(feature = "dpop")]
    pub(crate) dpop: DpopConfig,
    /// The insecure switches.
    pub(crate) dangerous: Dangerous,
}

/// Client lookup and client authentication at the token-style endpoints.
#[derive(Debug)]
pub(crate) struct ClientConfig {
    pub(crate) registry: Arc<dyn ClientRegistry>,
    /// The brute-force limiter of client secrets ([RFC 6749 §2.3.1]).
    ///
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    pub(crate) secret_limiter: Arc<dyn AttemptLimiter>,
    /// Where values accepted once (client assertion `jti`s) are recorded.
    pub(crate) single_use: Arc<dyn SingleUseStore>,
    /// The host's outbound fetcher, if given.
    pub(crate) fetcher: Option<Arc<dyn crate::fetch::Fetcher>>,
    /// Whether client ID metadata documents are accepted (through the fetcher).
    pub(crate) documents: bool,
    /// The key sets fetched from clients' `jwks_uri`s.
    #[cfg(feature = "jwt")]
    pub(crate) remote_keys: Arc<crate::client_assertion::RemoteKeys>,
    /// Whether `private_key_jwt` is accepted (off by default: metadata advertises only
    /// what is on, [RFC 8414 §2]).
    ///
    /// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
    #[cfg(feature = "jwt")]
    pub(crate) private_key_jwt: bool,
    /// Whether `client_secret_jwt` is accepted (off by default: it needs the plain
    /// secret, [OpenID Connect Core 1.0 §9]).
    ///
    /// [OpenID Connect Core 1.0 §9]: https://openid.net/specs/openid-connect-core-1_0.html
    #[cfg(feature = "jwt")]
    pub(crate) client_secret_jwt: bool,
    /// Whether every authorization request must come as a signed request object
    /// (`require_signed_request_object`, [RFC 9101 §10.5]).
    ///
    /// [RFC 9101 §10.5]: https://www.rfc-editor.org/rfc/rfc9101#section-10.5
    #[cfg(feature = "jwt")]
    pub(crate) require_signed_request_object: bool,
    /// The algorithms accepted on the JWTs clients sign (`private_key_jwt` assertions,
    /// request objects), unless the client registered one.
    #[cfg(feature = "jwt")]
    pub(crate) client_jwt_algorithms: crate::jose::AlgorithmSet,
}

impl ClientConfig {
    /// The fetcher and the cache of clients' `jwks_uri` key sets, when a fetcher is given.
    #[cfg(feature = "jwt")]
    pub(crate) fn remote_source(&self) -> crate::client_assertion::RemoteSource<'_> {
        self.fetcher
            .as_deref()
            .map(|fetcher| (fetcher, &*self.remote_keys))
    }
}

/// Token minting, storage and lifetimes.
#[derive(Debug)]
pub(crate) struct TokenConfig {
    pub(crate) store: Arc<dyn TokenStore>,
    pub(crate) token_issuer: Arc<dyn TokenIssuer>,
    pub(crate) access_ttl: Duration,
    /// Also how long a revoked grant's tombstone is kept: no token of it outlives this.
    pub(crate) refresh_ttl: Duration,
    pub(crate) refresh_reuse_grace: Duration,
    /// Whether confidential clients' refresh tokens are rotated (public clients' always are).
    pub(crate) rotate_confidential_refresh: bool,
}

/// The authorization code flow.
#[derive(Debug)]
pub(crate) struct CodeFlowConfig {
    pub(crate) store: Arc<dyn CodeStore>,
    pub(crate) code_ttl: Duration,
    /// Whether a public client's `http://localhost` redirect URI matches on any port.
    pub(crate) localhost_port: LocalhostPort,
}

/// The legacy password grant: on when it has a verifier.
#[derive(Debug)]
pub(crate) struct PasswordConfig {
    pub(crate) verifier: Option<Arc<dyn ResourceOwnerVerifier>>,
    pub(crate) limiter: Arc<dyn AttemptLimiter>,
}

/// The revocation endpoint.
#[derive(Debug)]
pub(crate) struct RevocationConfig {
    /// Answer another client's token as an unknown one (200) rather than `invalid_grant`.
    pub(crate) hide_foreign_tokens: bool,
}

/// The URLs the metadata document publishes, defaults derived from the issuer, and its
/// optional members.
#[derive(Debug)]
pub(crate) struct MetadataConfig {
    pub(crate) authorization_endpoint: String,
    pub(crate) token_endpoint: String,
    pub(crate) revocation_endpoint: String,
    pub(crate) introspection_endpoint: String,
    pub(crate) scopes_supported: Option<String>,
    pub(crate) service_documentation: Option<String>,
}

/// HTTP-level settings shared by the endpoints.
#[derive(Debug)]
pub(crate) struct HttpConfig {
    pub(crate) form_limits: FormLimits,
    /// The `realm` of `WWW-Authenticate` challenges.
    pub(crate) realm: String,
    /// Whether browser-based clients may call the token and revocation endpoints and read
    /// the metadata cross-origin.
    pub(crate) cors: bool,
}

/// Audit events, log fingerprints and metric labels (the `observe` module).
#[derive(Debug)]
pub(crate) struct ObserveConfig {
    pub(crate) audit_sink: Option<Arc<dyn AuditSink>>,
    /// How many audit events wait for the sink before new ones are dropped.
    pub(crate) audit_capacity: usize,
    /// The key of log fingerprints; `None`: one drawn at build.
    pub(crate) log_key: Option<LogKey>,
    /// The clients that get a `client_id` metric label.
    pub(crate) metric_clients: Vec<ClientId>,
}

impl ObserveConfig {
    fn check(&self) -> Result<(), ConfigError> {
        if self.audit_capacity == 0 || self.audit_capacity > 1 << 20 {
            return Err(ConfigError::Setting(
                "audit_queue_capacity must be between 1 and 1,048,576",
            ));
        }
        Ok(())
    }
}

/// The insecure settings of a [`ServerBuilder`], reached only through
/// [`ServerBuilder::dangerous`] so that every use is visible at the call site. Runtime
/// switches rather than Cargo features: features unify across the dependency graph, so
/// any dependency could turn one on silently.
#[derive(Debug, Clone, Default)]
pub struct Dangerous {
    allow_http_issuer: bool,
    allow_plain_pkce: bool,
}

impl Dangerous {
    /// Accepts an `http` issuer (and so `http` endpoints and `http` resource identifiers).
    /// Every OAuth endpoint and protected resource must be served over TLS in production
    /// ([RFC 6749 §3.1]); this is for local development on loopback.
    ///
    /// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
    pub fn allow_http_issuer(&mut self) -> &mut Self {
        self.allow_http_issuer = true;
        self
    }

    /// Accepts the PKCE `plain` method, and so an authorization request with a
    /// `code_challenge` but no `code_challenge_method` (whose method is then `plain`,
    /// [RFC 7636 §4.3](https://www.rfc-editor.org/rfc/rfc7636#section-4.3), [RFC 7636 §4.3]).
    /// `plain` gives no protection when the authorization request leaks; OAuth 2.1 and
    /// RFC 9700 want `S256`. For legacy clients only.
    ///
    /// [RFC 7636 §4.3]: https://www.rfc-editor.org/rfc/rfc7636#section-4.3
    pub fn allow_plain_pkce(&mut self) -> &mut Self {
        self.allow_plain_pkce = true;
        self
    }

    /// Whether `plain` PKCE is accepted.
    pub(crate) fn plain_pkce(&self) -> bool {
        self.allow_plain_pkce
    }

    /// The PKCE methods the authorization endpoint accepts: `S256`, and `plain` only when
    /// [`allow_plain_pkce`](Self::allow_plain_pkce) says so.
    pub(crate) fn code_challenge_methods(&self) -> &'static [&'static str] {
        if self.allow_plain_pkce {
            &["S256", "plain"]
        } else {
            &["S256"]
        }
    }

    /// The URL schemes the server's own URLs may use.
    pub(crate) fn schemes(&self) -> UrlSchemes {
        if self.allow_http_issuer {
            UrlSchemes::HttpAllowed
        } else {
            UrlSchemes::HttpsOnly
        }
    }
}

/// Which schemes the server's own URLs (issuer, endpoints) may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UrlSchemes {
    /// `https` only ([RFC 6749 §3.1]).
    ///
    /// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
    HttpsOnly,
    /// `http` too: [`Dangerous::allow_http_issuer`], for local development.
    HttpAllowed,
}

impl UrlSchemes {
    pub(crate) fn allow(self, scheme: &str) -> bool {
        scheme == "https" || (self == Self::HttpAllowed && scheme == "http")
    }
}

/// The warning of [`Server::warnings`](crate::Server::warnings) for a server whose code
/// store was not given.
pub(crate) const IN_PROCESS_CODES_WARNING: &str = "no code store was given (ServerBuilder::code_store): authorization codes live in this process's memory, so a code issued by one instance cannot be redeemed at another and single use holds only within this process; give every instance one shared code store";

impl Config {
    /// The defaults, for `issuer` and its required plug-ins. URLs derived from the issuer
    /// are filled in here: the issuer cannot change afterwards.
    fn new(issuer: String, clients: Arc<dyn ClientRegistry>, tokens: Arc<dyn TokenStore>) -> Self {
        let base = issuer.trim_end_matches('/');
        let url = |path: &str| format!("{base}{path}");
        Self {
            clients: ClientConfig {
                registry: clients,
                secret_limiter: Arc::new(MemoryAttemptLimiter::default()),
                single_use: Arc::new(MemorySingleUseStore::new()),
                fetcher: None,
                documents: false,
                #[cfg(feature = "jwt")]
                remote_keys: Arc::default(),
                #[cfg(feature = "jwt")]
                private_key_jwt: false,
                #[cfg(feature = "jwt")]
                client_secret_jwt: false,
                #[cfg(feature = "jwt")]
                require_signed_request_object: false,
                #[cfg(feature = "jwt")]
                client_jwt_algorithms: crate::jose::AlgorithmSet::ALL,
            },
            tokens: TokenConfig {
                store: tokens,
                token_issuer: Arc::new(OpaqueTokenIssuer),
                access_ttl: Duration::from_secs(3600),
                refresh_ttl: Duration::from_secs(14 * 86_400),
                refresh_reuse_grace: Duration::ZERO,
                rotate_confidential_refresh: true,
            },
            code_flow: CodeFlowConfig {
                store: Arc::new(MemoryCodeStore::new()),
                code_ttl: Duration::from_secs(60),
                localhost_port: LocalhostPort::Any,
            },
            device: DeviceConfig::new(base),
            pushed: par::PushedConfig::new(base),
            registration: registration::RegistrationConfig::new(base),
            #[cfg(feature = "jwt")]
            jwt: JwtConfig::new(base),
            #[cfg(feature = "dpop")]
            dpop: DpopConfig::default(),
            #[cfg(feature = "oidc")]
            openid: OpenIdConfig::new(base),
            password: PasswordConfig {
                verifier: None,
                limiter: Arc::new(MemoryAttemptLimiter::new(5, Duration::from_secs(300))),
            },
            revocation: RevocationConfig {
                hide_foreign_tokens: false,
            },
            resources: ResourceConfig::default(),
            metadata: MetadataConfig {
                authorization_endpoint: url("/authorize"),
                token_endpoint: url("/token"),
                revocation_endpoint: url("/revoke"),
                introspection_endpoint: url("/introspect"),
                scopes_supported: None,
                service_documentation: None,
            },
            http: HttpConfig {
                form_limits: FormLimits::default(),
                realm: issuer.clone(),
                cors: false,
            },
            observe: ObserveConfig {
                audit_sink: None,
                audit_capacity: 1024,
                log_key: None,
                metric_clients: Vec::new(),
            },
            clock: Arc::new(SystemClock),
            random: Arc::new(SystemRandom),
            extension_grants: Vec::new(),
            dangerous: Dangerous::default(),

            issuer,
        }
    }

    /// Checks every sub-config, in the order a reader of the builder meets them.
    fn check(&self) -> Result<(), ConfigError> {
        let schemes = self.dangerous.schemes();
        check_issuer(&self.issuer, schemes)?;
        self.tokens.check()?;
        self.code_flow.check()?;
        self.device.check(schemes)?;
        self.resources.check(schemes)?;
        self.pushed.check(schemes)?;
        self.registration.check(schemes)?;
        self.metadata.check(schemes)?;
        #[cfg(feature = "jwt")]
        self.jwt
            .check(&self.issuer, self.tokens.access_ttl, schemes)?;
        #[cfg(feature = "oidc")]
        self.openid.check(schemes, self.jwt.keys.as_ref())?;
        #[cfg(feature = "dpop")]
        self.dpop.check()?;
        self.http.check()?;
        self.observe.check()
    }
}

impl TokenConfig {
    fn check(&self) -> Result<(), ConfigError> {
        if self.access_ttl < Duration::from_secs(1) || self.access_ttl > Duration::from_secs(86_400)
        {
            return Err(ConfigError::Setting(
                "access_token_ttl must be between 1 s and 1 day",
            ));
        }
        if self.refresh_ttl < self.access_ttl
            || self.refresh_ttl > Duration::from_secs(366 * 86_400)
        {
            return Err(ConfigError::Setting(
                "refresh_token_ttl must be between the access token lifetime and 1 year",
            ));
        }
        if self.refresh_reuse_grace > Duration::from_secs(60) {
            return Err(ConfigError::Setting(
                "refresh_reuse_grace must be at most 60 s",
            ));
        }
        Ok(())
    }
}

impl CodeFlowConfig {
    fn check(&self) -> Result<(), ConfigError> {
        if self.code_ttl < Duration::from_secs(1) || self.code_ttl > Duration::from_secs(600) {
            return Err(ConfigError::Setting(
                "code_ttl must be between 1 s and 10 minutes",
            ));
        }
        Ok(())
    }
}

impl MetadataConfig {
    /// Every URL is absolute, of an allowed scheme, with a host and no fragment
    /// ([RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2)); the
    /// documentation may be `http` whatever the issuer; the scopes are scope tokens.
    fn check(&self, schemes: UrlSchemes) -> Result<(), ConfigError> {
        for url in [
            &self.authorization_endpoint,
            &self.token_endpoint,
            &self.revocation_endpoint,
            &self.introspection_endpoint,
        ] {
            check_endpoint(url, schemes)?;
        }
        if let Some(docs) = &self.service_documentation {
            check_endpoint(docs, UrlSchemes::HttpAllowed)?;
        }
        self.scopes()?;
        Ok(())
    }

    /// `scopes_supported`, parsed (empty when not configured).
    pub(crate) fn scopes(&self) -> Result<Scope, ConfigError> {
        match &self.scopes_supported {
            Some(text) => Scope::parse(text)
                .map_err(|_| ConfigError::Setting("scopes_supported must be valid scope tokens")),
            None => Ok(Scope::empty()),
        }
    }
}

impl HttpConfig {
    fn check(&self) -> Result<(), ConfigError> {
        let limits = &self.form_limits;
        if limits.max_body_bytes == 0 || limits.max_parameters == 0 || limits.max_value_bytes == 0 {
            return Err(ConfigError::Setting("form limits must be positive"));
        }
        if self.realm.is_empty() || !self.realm.chars().all(crate::render::is_error_char) {
            return Err(ConfigError::Setting(
                "realm must be printable ASCII without '\"' or '\\'",
            ));
        }
        Ok(())
    }
}

/// The issuer is an absolute URL of an allowed scheme with a host and no query or fragment
/// ([RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2), [RFC 8414 §2], [RFC 6749
/// §3.1]).
///
/// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
/// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
fn check_issuer(issuer: &str, schemes: UrlSchemes) -> Result<(), ConfigError> {
    let url = url::Url::parse(issuer).map_err(|_| ConfigError::Issuer("not an absolute URL"))?;
    match url.scheme() {
        scheme if schemes.allow(scheme) => {}
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

/// An endpoint URL is absolute, of an allowed scheme, with a host and no fragment
/// (RFC 8414 §2).
fn check_endpoint(value: &str, schemes: UrlSchemes) -> Result<(), ConfigError> {
    published_url(value, schemes)
        .map(|_| ())
        .ok_or(ConfigError::Setting(
            "metadata URLs must be absolute https URLs without fragment",
        ))
}

/// `value` parsed, when it is what every URL the server publishes must be: absolute, of
/// an allowed scheme, with a host and without fragment
/// ([RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2)).
fn published_url(value: &str, schemes: UrlSchemes) -> Option<url::Url> {
    let url = url::Url::parse(value).ok()?;
    (schemes.allow(url.scheme()) && url.host().is_some() && !value.contains('#')).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_01_issuer_must_be_https_unless_dangerous() {
        use UrlSchemes::{HttpAllowed, HttpsOnly};
        assert!(check_issuer("https://as.example.com", HttpsOnly).is_ok());
        assert!(check_issuer("https://as.example.com/tenant1", HttpsOnly).is_ok());
        assert!(check_issuer("http://as.example.com", HttpsOnly).is_err());
        assert!(check_issuer("http://127.0.0.1:8080", HttpAllowed).is_ok());
        assert!(check_issuer("https://as.example.com?x=1", HttpsOnly).is_err());
        assert!(check_issuer("https://as.example.com#f", HttpsOnly).is_err());
        assert!(check_issuer("ftp://as.example.com", HttpAllowed).is_err());
        assert!(check_issuer("as.example.com", HttpsOnly).is_err());
    }
}
