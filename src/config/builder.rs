//! [`ServerBuilder`]: every setting of a server, its default documented, the insecure
//! ones behind [`ServerBuilder::dangerous`].

use std::sync::Arc;
use std::time::Duration;

use super::{Config, Dangerous, IN_PROCESS_CODES_WARNING};
use crate::clock::Clock;
use crate::error::ConfigError;
use crate::grant::GrantHandler;
use crate::grant::authorization_code::handler::AuthorizationCodeGrant;
use crate::grant::client_credentials::handler::ClientCredentialsGrant;
use crate::grant::device::UserCodeFormat;
use crate::grant::device::handler::DeviceCodeGrant;
use crate::grant::password::PASSWORD_GRANT_WARNING;
use crate::grant::password::handler::{PasswordGrant, ResourceOwnerVerifier};
use crate::grant::refresh_token::handler::RefreshTokenGrant;
use crate::limiter::AttemptLimiter;
use crate::metadata::Metadata;
use crate::observe::{AuditSink, Events, LogKey};
use crate::params::FormLimits;
use crate::random::Random;
use crate::registration::{MetadataLimits, RegistrationPolicy};
use crate::server::{Server, ServerState};
use crate::store::{
    ClientRegistry, CodeStore, DeviceStore, PushedRequestStore, RegistrationStore, SingleUseStore,
    TokenStore,
};
use crate::token_issuer::TokenIssuer;
#[cfg(feature = "metrics")]
use crate::types::ClientId;
use crate::types::LocalhostPort;

/// Builds a [`Server`]. Created by [`Server::builder`] with the required parts; every
/// other setting has a secure default. [`build`](Self::build) checks the whole
/// configuration, so a server that builds never meets a configuration error at request
/// time.
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
    config: Config,
    given: Given,
}

/// What the builder was told explicitly, where a default or a missing part needs a word
/// at [`ServerBuilder::build`].
#[derive(Debug, Default)]
struct Given {
    code_store: bool,
    /// A device grant setting, which needs [`ServerBuilder::device_store`].
    device_setting: bool,
    /// A pushed authorization request setting, which needs
    /// [`ServerBuilder::pushed_authorization`].
    pushed_setting: bool,
    /// A registration setting, which needs [`ServerBuilder::client_registration`].
    registration_setting: bool,
    /// The password limiter, which needs [`ServerBuilder::password_grant`].
    password_limiter: bool,
    /// An OpenID Provider setting, which needs [`ServerBuilder::openid_provider`].
    #[cfg(feature = "oidc")]
    openid_setting: bool,
    /// A `jwks_uri`, which needs signing keys.
    #[cfg(feature = "jwt")]
    jwks_uri: bool,
}

impl ServerBuilder {
    pub(crate) fn new(
        issuer: String,
        clients: Arc<dyn ClientRegistry>,
        tokens: Arc<dyn TokenStore>,
    ) -> Self {
        Self {
            config: Config::new(issuer, clients, tokens),
            given: Given::default(),
        }
    }

    // ------------------------------------------------------------------ plug-ins

    /// Replaces the token issuer. Default: [`OpaqueTokenIssuer`](crate::issuer::OpaqueTokenIssuer),
    /// 256-bit random tokens.
    pub fn token_issuer(mut self, issuer: Arc<dyn TokenIssuer>) -> Self {
        self.config.tokens.token_issuer = issuer;
        self
    }

    /// Replaces the clock. Default: [`SystemClock`](crate::clock::SystemClock). Tests use a
    /// [`ManualClock`](crate::clock::ManualClock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.config.clock = clock;
        self
    }

    /// Replaces the source of randomness from which the server draws every token, code,
    /// user code and grant id. Default: [`SystemRandom`](crate::random::SystemRandom), the
    /// operating system-seeded CSPRNG. Tests use a
    /// [`SeededRandom`](crate::random::SeededRandom) to predict every value; see
    /// [`Random`] for what a production source must be.
    pub fn random(mut self, random: Arc<dyn Random>) -> Self {
        self.config.random = random;
        self
    }

    /// Replaces the brute-force limiter for client secrets ([RFC 6749 §2.3.1]). Default:
    /// [`MemoryAttemptLimiter::default`](crate::limiter::MemoryAttemptLimiter::default),
    /// 10 failures per client per minute. Deployments of several instances should share
    /// one limiter through their store.
    ///
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    pub fn attempt_limiter(mut self, limiter: Arc<dyn AttemptLimiter>) -> Self {
        self.config.clients.secret_limiter = limiter;
        self
    }

    /// Replaces the store of values accepted only once: the `jti`s of client assertions
    /// (`private_key_jwt`, `client_secret_jwt`). Default: a
    /// [`MemorySingleUseStore`](crate::store::MemorySingleUseStore) of this process. A
    /// deployment of more than one instance **must** share one store (a database backend,
    /// such as `PgStores::single_use`): otherwise an assertion accepted by one instance
    /// could be replayed at another.
    pub fn single_use_store(mut self, store: Arc<dyn SingleUseStore>) -> Self {
        self.config.clients.single_use = store;
        self
    }

    /// Accepts `private_key_jwt` client authentication (a JWT signed with one of the
    /// client's registered keys, [RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2))
    /// from clients registered for it ([`ClientBuilder::jwks`](crate::ClientBuilder::jwks)),
    /// at every endpoint that authenticates clients, and advertises it in the metadata.
    /// Default: off. Feature `jwt`.
    #[cfg(feature = "jwt")]
    pub fn private_key_jwt(mut self, enabled: bool) -> Self {
        self.config.clients.private_key_jwt = enabled;
        self
    }

    /// Accepts `client_secret_jwt` client authentication (HS256, HS384 or HS512 assertions keyed with the
    /// client secret, [RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2))
    /// from clients registered for it. Default: off, because the server must hold those
    /// clients' secrets in recoverable form rather than as digests; prefer
    /// [`private_key_jwt`](Self::private_key_jwt).
    /// Feature `jwt`.
    #[cfg(feature = "jwt")]
    pub fn client_secret_jwt(mut self, enabled: bool) -> Self {
        self.config.clients.client_secret_jwt = enabled;
        self
    }

    /// Requires every authorization request to come as a signed request object
    /// (`require_signed_request_object`,
    /// [RFC 9101 §10.5](https://www.rfc-editor.org/rfc/rfc9101#section-10.5)), by value
    /// (`request`) at the authorization endpoint or pushed: a request of plain parameters
    /// is refused with `invalid_request`, and the metadata says so. Clients can be held to
    /// it one by one with
    /// [`ClientBuilder::require_signed_request_object`](crate::ClientBuilder::require_signed_request_object).
    /// Default: off (request objects are accepted, not required). Feature `jwt`.
    #[cfg(feature = "jwt")]
    pub fn require_signed_request_object(mut self, required: bool) -> Self {
        self.config.clients.require_signed_request_object = required;
        self
    }

    /// Gives the server the host's outbound HTTP client, through which it reads
    /// documents on other hosts (client ID metadata documents, the key sets of clients
    /// registered with a [`jwks_uri`](crate::ClientBuilder::jwks_uri)). The server validates every
    /// URL before asking and every answer after; see [`grantflow::fetch`](crate::fetch)
    /// for the rules the fetcher itself must follow (no redirects, no special-use
    /// addresses, size and time limits). Default: none, and nothing is fetched.
    pub fn fetcher(mut self, fetcher: Arc<dyn crate::fetch::Fetcher>) -> Self {
        self.config.clients.fetcher = Some(fetcher);
        self
    }

    /// Accepts client ID metadata documents
    /// ([draft-ietf-oauth-client-id-metadata-document](https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/)):
    /// a `client_id` that is an `https` URL with a path, and that the client registry does
    /// not know, names the client's metadata, which the [`fetcher`](Self::fetcher)
    /// retrieves and the server validates like registration metadata
    /// ([`ClientMetadata`](crate::registration::ClientMetadata)). The document's
    /// `client_id` must equal the URL exactly; its client is public (`none`) or uses
    /// `private_key_jwt` (with `jwks` or `jwks_uri`), never a shared secret. Documents of at most
    /// 5 KiB are accepted and cached for their HTTP freshness lifetime, kept between
    /// 1 minute and 1 day. The metadata advertises `client_id_metadata_document_supported`.
    /// A URL that is refused, a failed fetch or an invalid document makes an unknown
    /// client (a local error at the authorization endpoint, `invalid_client` at the
    /// token endpoint). Consent pages learn that such a client was registered by no
    /// administrator ([`PendingAuthorization::client_id_host`](crate::authorize::PendingAuthorization::client_id_host)).
    /// Default: off; needs a [`fetcher`](Self::fetcher).
    pub fn client_id_metadata_documents(mut self, enabled: bool) -> Self {
        self.config.clients.documents = enabled;
        self
    }

    // ------------------------------------------------------------------ tokens

    /// How long access tokens live. Default: 1 hour. Shorter lifetimes limit the damage of
    /// a leaked bearer token ([RFC 9700 §4.10](https://www.rfc-editor.org/rfc/rfc9700#section-4.10));
    /// clients with refresh tokens renew them without the user. Must be between 1 second
    /// and 1 day.
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.config.tokens.access_ttl = ttl;
        self
    }

    /// How long refresh tokens live without use. Default: 14 days. Each rotation starts a
    /// new lifetime, so an active client keeps access while an idle refresh token expires
    /// ([RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2), [RFC 9700
    /// §4.14.2]).
    /// Must be at least the access token lifetime and at most 1 year.
    ///
    /// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.config.tokens.refresh_ttl = ttl;
        self
    }

    /// A grace period for concurrent refreshes. Default: zero, off.
    ///
    /// Refresh tokens are always rotated, and presenting a rotated-out token revokes the
    /// whole grant (reuse detection, [RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2),
    /// [RFC 9700 §4.14.2]). A client that sends two refreshes at once (two browser tabs) loses the
    /// race with one of them and would then lose the grant. Within `grace` after the
    /// rotation, a reuse of the old token by the same client is only refused with
    /// `invalid_grant`, without revoking. It never mints a second successor. At most 60
    /// seconds.
    ///
    /// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
    pub fn refresh_reuse_grace(mut self, grace: Duration) -> Self {
        self.config.tokens.refresh_reuse_grace = grace;
        self
    }

    /// Whether the refresh tokens of confidential clients are rotated on use. Default: `true`.
    ///
    /// With `false`, a confidential client's refresh request returns a new access token
    /// and no new refresh token: the one it holds stays valid until it expires or its grant
    /// is revoked, as the [FAPI 2.0 Security Profile §5.3.2.1](https://openid.net/specs/fapi-security-profile-2_0-final.html#section-5.3.2.1)
    /// requires. Its refresh tokens are bound to it by client authentication
    /// ([RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2)).
    /// Public clients' refresh tokens are always rotated, with reuse detection.
    pub fn refresh_token_rotation(mut self, rotate_confidential: bool) -> Self {
        self.config.tokens.rotate_confidential_refresh = rotate_confidential;
        self
    }

    // ------------------------------------------------------------------ signing keys

    /// The server's signing keys (feature `jwt`): they sign the JWTs the server issues
    /// ([`jwt_access_tokens`](Self::jwt_access_tokens)), and their public halves are
    /// published as a JWK Set ([`Server::jwks`], at [`jwks_uri`](Self::jwks_uri), which the
    /// metadata then advertises). Default: none.
    ///
    /// The key set's issuer must be the server's ([`build`](Self::build) checks it). Keys
    /// rotate on the schedule of the key set's store, which every instance of a deployment
    /// shares ([`KeySet`](crate::jose::KeySet)).
    #[cfg(feature = "jwt")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
    pub fn signing_keys(mut self, keys: crate::jose::KeySet) -> Self {
        self.config.jwt.keys = Some(keys);
        self
    }

    /// The `jwks_uri` URL where [`Server::jwks`] is served (feature `jwt`; [RFC 8414
    /// §2](https://www.rfc-editor.org/rfc/rfc8414#section-2), an absolute `https` URL like
    /// every metadata URL). Default: the issuer + `/jwks`. Needs
    /// [`signing_keys`](Self::signing_keys).
    #[cfg(feature = "jwt")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
    pub fn jwks_uri(mut self, url: &str) -> Self {
        url.clone_into(&mut self.config.jwt.jwks_uri);
        self.given.jwks_uri = true;
        self
    }

    /// Issues JWT access tokens ([RFC 9068](https://www.rfc-editor.org/rfc/rfc9068),
    /// feature `jwt`) signed with the [`signing_keys`](Self::signing_keys), to every client
    /// or to those registered for them ([`JwtAccessTokens`](crate::jose::JwtAccessTokens)
    /// says which, and what `aud` a token without a resource gets). Default: off, every
    /// access token is opaque.
    ///
    /// A resource server can then verify the tokens offline with the published keys, and
    /// introspection and revocation keep working (the server stores every token's record
    /// under its digest, whatever the format). What revocation means for a resource server
    /// that verifies offline: see [`Server::revoke`]. [`build`](Self::build) checks that
    /// there are signing keys and that the [`access_token_ttl`](Self::access_token_ttl) is
    /// within the keys' maximum token lifetime.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use grantflow::jose::{JwtAccessTokens, KeySet, MemoryKeySetStore};
    /// use grantflow::{MemoryClientRegistry, MemoryTokenStore, Server};
    ///
    /// let keys = KeySet::builder("https://as.example.com", Arc::new(MemoryKeySetStore::new()))
    ///     .build()?;
    /// let server = Server::builder(
    ///     "https://as.example.com",
    ///     Arc::new(MemoryClientRegistry::new()),
    ///     Arc::new(MemoryTokenStore::new()),
    /// )
    /// .access_token_ttl(Duration::from_secs(300))
    /// .signing_keys(keys)
    /// .jwt_access_tokens(JwtAccessTokens::new("https://api.example.com"))
    /// .build()?;
    /// # let _ = server;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "jwt")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
    pub fn jwt_access_tokens(mut self, tokens: crate::jose::JwtAccessTokens) -> Self {
        self.config.jwt.access_tokens = Some(tokens);
        self
    }

    // ------------------------------------------------------------------ code flow

    /// Sets the authorization code store. Default: a
    /// [`MemoryCodeStore`](crate::MemoryCodeStore) private to this server, which
    /// [`Server::warnings`] then reports.
    ///
    /// A deployment of more than one instance **must** set a store shared by all of them
    /// (a database backend): a code issued by one instance is redeemed at whichever
    /// instance the client's token request reaches, and single use ([RFC 6749 §4.1.2]) only
    /// holds within one store. A single instance silences the warning by passing a
    /// `MemoryCodeStore` here.
    ///
    /// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
    pub fn code_store(mut self, codes: Arc<dyn CodeStore>) -> Self {
        self.config.code_flow.store = codes;
        self.given.code_store = true;
        self
    }

    /// How long an authorization code can be redeemed. Default: 60 seconds; at most 10
    /// minutes ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2):
    /// "A maximum authorization code lifetime of 10 minutes is RECOMMENDED", [RFC 6749 §4.1.2]). A
    /// code only has to survive one redirect and one back-channel request; a short
    /// lifetime narrows the window for a stolen code.
    ///
    /// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.config.code_flow.code_ttl = ttl;
        self
    }

    /// Whether a public client's `http://localhost` redirect URI matches with any port,
    /// like the `127.0.0.1` and `[::1]` literals do ([RFC 8252 §8.3]). Default:
    /// [`LocalhostPort::Any`], because native apps listen on an ephemeral port and
    /// [RFC 9700 §2.1](https://www.rfc-editor.org/rfc/rfc9700#section-2.1) states the port
    /// exception for "localhost" URIs. Confidential clients never get it. Set
    /// [`LocalhostPort::Exact`] to hold `localhost` URIs to exact matching
    /// ([RFC 8252 §8.3](https://www.rfc-editor.org/rfc/rfc8252#section-8.3) calls
    /// `localhost` NOT RECOMMENDED).
    ///
    /// [RFC 8252 §8.3]: https://www.rfc-editor.org/rfc/rfc8252#section-8.3
    pub fn localhost_port(mut self, port: LocalhostPort) -> Self {
        self.config.code_flow.localhost_port = port;
        self
    }

    // ------------------------------------------------------------------ pushed requests

    /// Enables pushed authorization requests
    /// ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)) with `store` holding them:
    /// [`Server::pushed_authorization`] answers at the endpoint, the authorization endpoint
    /// accepts the `request_uri` it returns, and the metadata advertises
    /// `pushed_authorization_request_endpoint`.
    /// [`MemoryPushedRequestStore`](crate::store::MemoryPushedRequestStore) suits one
    /// instance; several instances need a shared store. Default: off.
    pub fn pushed_authorization(mut self, store: Arc<dyn PushedRequestStore>) -> Self {
        self.config.pushed.store = Some(store);
        self
    }

    /// How long a pushed request's `request_uri` can be used (`expires_in`,
    /// [RFC 9126 §2.2](https://www.rfc-editor.org/rfc/rfc9126#section-2.2)). It must cover
    /// the user's login and consent: the request is used up when the user approves, not
    /// when the authorization page first loads. Default: 90 seconds. Must be at least 1 s
    /// and under 10 minutes.
    pub fn pushed_request_ttl(mut self, ttl: Duration) -> Self {
        self.config.pushed.ttl = ttl;
        self.given.pushed_setting = true;
        self
    }

    /// The `pushed_authorization_request_endpoint` URL, as advertised in metadata.
    /// Default: the issuer followed by `/par`.
    pub fn pushed_authorization_request_endpoint(mut self, url: &str) -> Self {
        url.clone_into(&mut self.config.pushed.endpoint);
        self.given.pushed_setting = true;
        self
    }

    /// Requires every client to push its authorization requests: the authorization
    /// endpoint refuses any request without a pushed `request_uri`, and the metadata says
    /// `require_pushed_authorization_requests: true`
    /// ([RFC 9126 §5](https://www.rfc-editor.org/rfc/rfc9126#section-5)). Clients can be
    /// held to it one by one with
    /// [`ClientBuilder::require_pushed_authorization_requests`](crate::ClientBuilder::require_pushed_authorization_requests).
    /// Default: `false`.
    pub fn require_pushed_authorization_requests(mut self, required: bool) -> Self {
        self.config.pushed.required = required;
        self.given.pushed_setting = true;
        self
    }

    // ------------------------------------------------------------------ registration

    /// Enables dynamic client registration
    /// ([RFC 7591](https://www.rfc-editor.org/rfc/rfc7591)) and management
    /// ([RFC 7592](https://www.rfc-editor.org/rfc/rfc7592)): [`Server::register`] answers
    /// at the registration endpoint, [`Server::client_configuration`] at each client's
    /// configuration URL, and the metadata advertises `registration_endpoint`. `store`
    /// writes the clients the server's [`ClientRegistry`] reads (give the same registry:
    /// [`MemoryClientRegistry`](crate::MemoryClientRegistry), bounded, or
    /// `PgClientRegistry`); `policy` decides who may register
    /// ([`OpenRegistration`](crate::registration::OpenRegistration), rate limited,
    /// [`InitialAccessTokens`](crate::registration::InitialAccessTokens), or the host's
    /// own [`RegistrationPolicy`](crate::registration::RegistrationPolicy)). Default: off.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use grantflow::{MemoryClientRegistry, MemoryTokenStore, Server};
    /// use grantflow::limiter::MemoryAttemptLimiter;
    /// use grantflow::registration::OpenRegistration;
    ///
    /// let clients = Arc::new(MemoryClientRegistry::new().with_registration_limit(1000));
    /// let server = Server::builder("https://as.example.com", clients.clone(), Arc::new(MemoryTokenStore::new()))
    ///     .client_registration(
    ///         clients,
    ///         Arc::new(OpenRegistration::new(Arc::new(MemoryAttemptLimiter::new(100, Duration::from_secs(3600))))),
    ///     )
    ///     .build()?;
    /// assert_eq!(server.registration_endpoint(), Some("https://as.example.com/register"));
    /// # Ok::<(), grantflow::ConfigError>(())
    /// ```
    pub fn client_registration(
        mut self,
        store: Arc<dyn RegistrationStore>,
        policy: Arc<dyn RegistrationPolicy>,
    ) -> Self {
        self.config.registration.enabled = Some((store, policy));
        self
    }

    /// The `registration_endpoint` URL, as advertised in metadata; each client's
    /// `registration_client_uri` is this URL, `/` and its `client_id`. Default: the issuer
    /// followed by `/register`. No query, no trailing `/`.
    pub fn registration_endpoint(mut self, url: &str) -> Self {
        url.clone_into(&mut self.config.registration.endpoint);
        self.given.registration_setting = true;
        self
    }

    /// Bounds on the metadata of a registration or update request, checked before it is
    /// parsed. Default: [`MetadataLimits::default`] (16 KiB, 16 redirect URIs).
    pub fn registration_limits(mut self, limits: MetadataLimits) -> Self {
        self.config.registration.limits = limits;
        self.given.registration_setting = true;
        self
    }

    // ------------------------------------------------------------------ DPoP

    /// Enables DPoP ([RFC 9449](https://www.rfc-editor.org/rfc/rfc9449)) with `checker`:
    /// a token request with a valid `DPoP` proof gets an access token bound to the proof's
    /// key (`token_type: DPoP`, `cnf.jkt` in JWT access tokens and in introspection), a
    /// public client's refresh token is bound to that key, and an invalid proof is refused
    /// with `invalid_dpop_proof`. The metadata lists the checker's algorithms as
    /// `dpop_signing_alg_values_supported`. Default: off, and a `DPoP` header is ignored.
    #[cfg(feature = "dpop")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dpop")))]
    pub fn dpop(mut self, checker: crate::dpop::ProofChecker) -> Self {
        self.config.dpop.checker = Some(checker);
        self
    }

    /// Requires a DPoP proof on every token request: one without gets `invalid_request`
    /// ([RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5)). Clients can be
    /// held to it one by one with
    /// [`ClientBuilder::dpop_bound_access_tokens`](crate::ClientBuilder::dpop_bound_access_tokens).
    /// Needs [`dpop`](Self::dpop). Default: `false`.
    #[cfg(feature = "dpop")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dpop")))]
    pub fn require_dpop(mut self, required: bool) -> Self {
        self.config.dpop.required = required;
        self
    }

    /// Requires a server-provided nonce in every DPoP proof
    /// ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)), issued and
    /// checked by `nonces` (give every instance the same secret): a proof without a fresh
    /// one gets 400 `use_dpop_nonce` with a `DPoP-Nonce` header, and each success of a
    /// request with a proof carries the next nonce in `DPoP-Nonce`. Use the issuer
    /// identifier as the nonces' server name. Needs [`dpop`](Self::dpop). Default: off.
    #[cfg(feature = "dpop")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dpop")))]
    pub fn dpop_nonces(mut self, nonces: crate::dpop::DpopNonces) -> Self {
        self.config.dpop.nonces = Some(nonces);
        self
    }

    // ------------------------------------------------------------------ device grant

    /// Enables the device authorization grant
    /// ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)) with `store` holding its
    /// requests: [`Server::device_authorization`],
    /// [`Server::device_verifier`] and
    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` at the token endpoint.
    /// Default: off, and then the other device settings are refused at
    /// [`build`](Self::build). [`MemoryDeviceStore`](crate::MemoryDeviceStore) suits one
    /// instance; several instances need a shared store.
    pub fn device_store(mut self, store: Arc<dyn DeviceStore>) -> Self {
        self.config.device.store = Some(store);
        self
    }

    /// How long device codes and user codes live (`expires_in`). Default: 10 minutes,
    /// long enough to find a phone and sign in, short enough to keep user-code guessing
    /// unlikely ([RFC 8628 §5.1](https://www.rfc-editor.org/rfc/rfc8628#section-5.1),
    /// [RFC 8628 §5.1]). Must be between 60 s and 1 hour.
    ///
    /// [RFC 8628 §5.1]: https://www.rfc-editor.org/rfc/rfc8628#section-5.1
    pub fn device_code_ttl(mut self, ttl: Duration) -> Self {
        self.config.device.code_ttl = ttl;
        self.given.device_setting = true;
        self
    }

    /// The minimum polling interval sent to devices (`interval`). Default: 5 seconds, the
    /// value clients assume when none is sent
    /// ([RFC 8628 §3.2](https://www.rfc-editor.org/rfc/rfc8628#section-3.2)). Each
    /// too-fast poll adds 5 seconds for that device code ([RFC 8628 §3.5]). Whole seconds, 1 to 60.
    ///
    /// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
    pub fn device_poll_interval(mut self, interval: Duration) -> Self {
        self.config.device.interval = interval;
        self.given.device_setting = true;
        self
    }

    /// The `verification_uri`: the host's page where users enter user codes. Default: the
    /// issuer followed by `/device`. It must be an `https` URL without query or fragment
    /// ([RFC 8628 §4]: the user code goes only into `verification_uri_complete`).
    ///
    /// [RFC 8628 §4]: https://www.rfc-editor.org/rfc/rfc8628#section-4
    pub fn device_verification_uri(mut self, uri: &str) -> Self {
        uri.clone_into(&mut self.config.device.verification_uri);
        self.given.device_setting = true;
        self
    }

    /// The URL of the device authorization endpoint, as advertised in metadata. Default:
    /// the issuer followed by `/device_authorization`.
    pub fn device_authorization_endpoint(mut self, uri: &str) -> Self {
        uri.clone_into(&mut self.config.device.endpoint);
        self.given.device_setting = true;
        self
    }

    /// The user code format. Default: [`UserCodeFormat::base20`], 8 characters from
    /// `BCDFGHJKLMNPQRSTVWXZ` shown as `XXXX-XXXX`, 34.6 bits ([RFC 8628 §6.1]). See
    /// [`UserCodeFormat`] for the entropy of other choices.
    ///
    /// [RFC 8628 §6.1]: https://www.rfc-editor.org/rfc/rfc8628#section-6.1
    pub fn user_code_format(mut self, format: UserCodeFormat) -> Self {
        self.config.device.user_code_format = format;
        self.given.device_setting = true;
        self
    }

    /// Replaces the limiter of user-code entries ([RFC 8628 §5.1]). Default:
    /// [`MemoryAttemptLimiter::new(5, 10 minutes)`](crate::limiter::MemoryAttemptLimiter::new):
    /// after 5 wrong entries for one key within 10 minutes, the next is refused, right or
    /// wrong (right entries count nothing). Keys are
    /// [`AttemptKey::user_code_entry`](crate::limiter::AttemptKey::user_code_entry) of who
    /// entered the code. With the default format, 5 guesses find a given live code with
    /// probability 5 / 20^8 ≈ 2^-32 (V-DEV-3).
    ///
    /// [RFC 8628 §5.1]: https://www.rfc-editor.org/rfc/rfc8628#section-5.1
    pub fn user_code_limiter(mut self, limiter: Arc<dyn AttemptLimiter>) -> Self {
        self.config.device.limiter = limiter;
        self.given.device_setting = true;
        self
    }

    // ------------------------------------------------------------------ password grant

    /// Enables the legacy resource owner password credentials grant
    /// ([RFC 6749 §4.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.3)), checking
    /// user credentials with `verifier`. Default: off, and `grant_type=password` is
    /// `unsupported_grant_type` ([RFC 9700 §2.4]).
    ///
    /// Even when enabled, only clients registered with
    /// [`GrantType::PASSWORD`](crate::GrantType::PASSWORD) may use it; others get
    /// `unauthorized_client` ([RFC 6749 §4.3]). Failed attempts are throttled per user name by the
    /// [`password_limiter`](Self::password_limiter), keyed by
    /// [`AttemptKey::username`](crate::limiter::AttemptKey::username) ([RFC 6749 §4.3.2]).
    ///
    /// [RFC 9700 §2.4](https://www.rfc-editor.org/rfc/rfc9700#section-2.4): the grant
    /// "MUST NOT be used"; it exposes the user's password to the client and cannot do
    /// multi-factor authentication. Use it only to migrate legacy clients, give those
    /// clients a narrow allowed scope, and log [`Server::warnings`] at startup ([RFC 6749 §10.7]).
    ///
    /// [RFC 9700 §2.4]: https://www.rfc-editor.org/rfc/rfc9700#section-2.4
    /// [RFC 6749 §4.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3
    /// [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
    /// [RFC 6749 §10.7]: https://www.rfc-editor.org/rfc/rfc6749#section-10.7
    pub fn password_grant(mut self, verifier: Arc<dyn ResourceOwnerVerifier>) -> Self {
        self.config.password.verifier = Some(verifier);
        self
    }

    /// Replaces the limiter of password guesses ([RFC 6749 §4.3.2]). Default:
    /// [`MemoryAttemptLimiter::new(5, 5 minutes)`](crate::limiter::MemoryAttemptLimiter::new),
    /// per user name. It is separate from the client-secret limiter on purpose: user names
    /// are chosen by whoever calls the endpoint, and a flood of made-up names must not
    /// crowd registered clients out of the client limiter's table. Needs
    /// [`password_grant`](Self::password_grant).
    ///
    /// [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
    pub fn password_limiter(mut self, limiter: Arc<dyn AttemptLimiter>) -> Self {
        self.config.password.limiter = limiter;
        self.given.password_limiter = true;
        self
    }

    // ------------------------------------------------------------------ other grants

    /// Registers a handler for an extension grant type
    /// ([RFC 6749 §4.5](https://www.rfc-editor.org/rfc/rfc6749#section-4.5)). The token
    /// endpoint dispatches to it by `grant_type`; built-in grants use the same mechanism.
    pub fn grant_handler(mut self, handler: Arc<dyn GrantHandler>) -> Self {
        self.config.extension_grants.push(handler);
        self
    }

    // ------------------------------------------------------------------ resources

    /// Registers a protected resource this server issues tokens for, by its resource
    /// identifier ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)): an
    /// absolute `https` URI without fragment, or a URN for an audience that publishes no
    /// metadata (`urn:example:billing`), compared character for character (a trailing
    /// `/` makes another resource). Tokens for it accept any scope the client may have; see
    /// [`resource_with_scopes`](Self::resource_with_scopes) for a resource with scopes of
    /// its own. Default: none.
    ///
    /// A client names the resources it wants with the `resource` parameter, at the
    /// authorization endpoint and at the token endpoint for every grant. A value that is
    /// not registered here, or that the client may not use
    /// ([`ClientBuilder::allowed_resource`](crate::ClientBuilder::allowed_resource)), is
    /// refused with `invalid_target`. The access token's audience is the resource
    /// the request named: [`TokenRecord::audience`](crate::store::TokenRecord::audience),
    /// `aud` at introspection, and what a [`BearerGuard`](crate::guard::BearerGuard) checks
    /// against its own identifier. The `https` resources are listed in the metadata as
    /// `protected_resources`
    /// ([RFC 9728 §4](https://www.rfc-editor.org/rfc/rfc9728#section-4)).
    pub fn resource(mut self, identifier: &str) -> Self {
        self.config.resources.add(identifier, None);
        self
    }

    /// Registers a protected resource, as [`resource`](Self::resource), that understands
    /// only `scopes` (space-separated). A request that names it with a scope it does not
    /// define is refused with `invalid_target` ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)); an access token for it from an
    /// existing grant gets the granted scope narrowed to those scopes, and the token
    /// response says so ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub fn resource_with_scopes(mut self, identifier: &str, scopes: &str) -> Self {
        self.config.resources.add(identifier, Some(scopes));
        self
    }

    /// The resource a request without `resource` is for, one of the registered resources
    /// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2), [RFC 8707 §2.1](https://www.rfc-editor.org/rfc/rfc8707#section-2.1)).
    /// Default: none: a request without `resource` gets a token without audience, which
    /// only a guard without a resource identifier accepts, unless
    /// [`require_resource`](Self::require_resource) refuses it.
    pub fn default_resource(mut self, identifier: &str) -> Self {
        match crate::types::ResourceUri::parse(identifier) {
            Ok(resource) => self.config.resources.default = Some(resource),
            Err(_) => {
                self.config
                    .resources
                    .invalid
                    .get_or_insert("the default resource must be an absolute URI");
            }
        }
        self
    }

    /// Whether a request that names no `resource` is refused with `invalid_target`
    /// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)). Default: `false`. Refused at [`build`](Self::build) together with a
    /// [`default_resource`](Self::default_resource), or without any registered resource.
    pub fn require_resource(mut self, require: bool) -> Self {
        self.config.resources.require = require;
        self
    }

    // ------------------------------------------------------------------ endpoints

    /// How the revocation endpoint answers a client that presents another client's token
    /// ([RFC 7009 §2.1]). Either way nothing is revoked. Default: `false`, answer 400
    /// `invalid_grant`, as [RFC 7009 §2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.1)
    /// asks ("the request is refused and the client is informed of the error"). `true`
    /// answers 200 as for an unknown token, so the response does not reveal that the token
    /// exists.
    ///
    /// [RFC 7009 §2.1]: https://www.rfc-editor.org/rfc/rfc7009#section-2.1
    pub fn revocation_hides_foreign_tokens(mut self, hide: bool) -> Self {
        self.config.revocation.hide_foreign_tokens = hide;
        self
    }

    /// Sets the size bounds of request parsing. Default: [`FormLimits::default`]
    /// (16 KiB body, 32 parameters, 4 KiB per value).
    pub fn form_limits(mut self, limits: FormLimits) -> Self {
        self.config.http.form_limits = limits;
        self
    }

    /// Lets browser-based clients (single-page apps) call the token and revocation
    /// endpoints and read the metadata from their own origin, through CORS
    /// ([Fetch, CORS protocol](https://fetch.spec.whatwg.org/#http-cors-protocol)).
    /// Default: `false`, no CORS headers anywhere.
    ///
    /// With `true`:
    /// - the metadata may be read from any origin (`Access-Control-Allow-Origin: *`);
    /// - at the token and revocation endpoints, `OPTIONS` (the preflight) is answered for
    ///   any origin with the methods and headers the endpoint takes, revealing nothing
    ///   about clients. A request with an `Origin` is served only if that origin is the
    ///   origin of one of the client's registered redirect URIs (any port for a loopback
    ///   one); its response then allows that origin. A request from another origin is
    ///   refused with `invalid_request` before anything is done, and its response allows
    ///   no origin. Requests without `Origin` (servers, native apps) are unaffected.
    /// - `Access-Control-Allow-Credentials` is never sent: these endpoints use no
    ///   cookies. The authorization endpoint never sends CORS headers: it is navigated
    ///   to, not fetched.
    pub fn cors(mut self, enabled: bool) -> Self {
        self.config.http.cors = enabled;
        self
    }

    /// Sets the `realm` of `WWW-Authenticate` challenges. Default: the issuer. It must be
    /// printable ASCII without `"` or `\`.
    pub fn realm(mut self, realm: &str) -> Self {
        realm.clone_into(&mut self.config.http.realm);
        self
    }

    // ------------------------------------------------------------------ metadata

    /// The `authorization_endpoint` URL
    /// ([RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2), as every metadata
    /// URL: absolute `https`, checked at [`build`](Self::build)). Default: the issuer +
    /// `/authorize`. Published only when the `authorization_code` grant is registered.
    pub fn authorization_endpoint(mut self, url: &str) -> Self {
        url.clone_into(&mut self.config.metadata.authorization_endpoint);
        self
    }

    /// The `token_endpoint` URL. Default: the issuer + `/token`.
    pub fn token_endpoint(mut self, url: &str) -> Self {
        url.clone_into(&mut self.config.metadata.token_endpoint);
        self
    }

    /// The `revocation_endpoint` URL ([RFC 7009](https://www.rfc-editor.org/rfc/rfc7009)).
    /// Default: the issuer + `/revoke`.
    pub fn revocation_endpoint(mut self, url: &str) -> Self {
        url.clone_into(&mut self.config.metadata.revocation_endpoint);
        self
    }

    /// The `introspection_endpoint` URL ([RFC 7662](https://www.rfc-editor.org/rfc/rfc7662)).
    /// Default: the issuer + `/introspect`.
    pub fn introspection_endpoint(mut self, url: &str) -> Self {
        url.clone_into(&mut self.config.metadata.introspection_endpoint);
        self
    }

    /// The `scopes_supported` to publish, space-separated ([RFC 8414 §2] recommends it). Default:
    /// none, and the member is left out ([RFC 8414 §2]).
    ///
    /// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
    pub fn scopes_supported(mut self, scopes: &str) -> Self {
        self.config.metadata.scopes_supported = Some(scopes.to_owned());
        self
    }

    /// The `service_documentation` URL, for developers. Default: none.
    pub fn service_documentation(mut self, url: &str) -> Self {
        self.config.metadata.service_documentation = Some(url.to_owned());
        self
    }

    // ------------------------------------------------------------------ OpenID Connect

    /// Makes the server an OpenID Provider (feature `oidc`,
    /// [OpenID Connect Core 1.0](https://openid.net/specs/openid-connect-core-1_0.html)):
    /// an authorization request whose scope holds `openid` is an authentication request,
    /// its code yields an ID token, and UserInfo, discovery and logout are served, with the
    /// users' claims read from `claims`. Needs [`signing_keys`](Self::signing_keys) with an active
    /// RS256 key (and one for every other algorithm of
    /// [`id_token_signing_algorithms`](Self::id_token_signing_algorithms)). Default: off,
    /// and `openid` is a scope value like any other.
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub fn openid_provider(mut self, claims: Arc<dyn crate::oidc::ClaimsSource>) -> Self {
        self.config.openid.claims = Some(claims);
        self
    }

    /// How long ID tokens (and signed UserInfo responses) are valid. Default: 5 minutes: a
    /// client checks an ID token when it receives it, and an expired one still works as an
    /// `id_token_hint`. Between 1 second and 1 day, and within the key set's maximum token
    /// lifetime. Needs [`openid_provider`](Self::openid_provider).
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub fn id_token_ttl(mut self, ttl: Duration) -> Self {
        self.config.openid.id_token_ttl = ttl;
        self.given.openid_setting = true;
        self
    }

    /// The algorithms clients may register for their ID tokens and UserInfo responses,
    /// published as `id_token_signing_alg_values_supported`. Default: RS256 only, which
    /// every OpenID Provider must support
    /// ([Core §15.1](https://openid.net/specs/openid-connect-core-1_0.html#ServerMTI)), so
    /// it must be in the set; the key set needs an active key for each. A client whose
    /// registered algorithm is not in the set is refused at the authorization endpoint.
    /// Needs [`openid_provider`](Self::openid_provider).
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub fn id_token_signing_algorithms(mut self, algorithms: crate::jose::AlgorithmSet) -> Self {
        self.config.openid.signing_algorithms = algorithms;
        self.given.openid_setting = true;
        self
    }

    /// Enables pairwise subject identifiers
    /// ([Core §8.1](https://openid.net/specs/openid-connect-core-1_0.html#PairwiseAlg)) with
    /// `secret`, which every instance must share, for good. Default: none, and
    /// `subject_types_supported` lists `public` only; a pairwise client is then refused at
    /// the authorization endpoint. Needs [`openid_provider`](Self::openid_provider).
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub fn pairwise_secret(mut self, secret: crate::oidc::PairwiseSecret) -> Self {
        self.config.openid.pairwise_secret = Some(secret);
        self.given.openid_setting = true;
        self
    }

    /// The `userinfo_endpoint` URL, served by [`Server::userinfo`]. Default: the issuer +
    /// `/userinfo`. Needs [`openid_provider`](Self::openid_provider).
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub fn userinfo_endpoint(mut self, url: &str) -> Self {
        url.clone_into(&mut self.config.openid.userinfo_endpoint);
        self.given.openid_setting = true;
        self
    }

    /// Publishes `url` as the `end_session_endpoint` of RP-initiated logout, where the
    /// host serves [`Server::end_session`] and its confirmation page. Default: none, and
    /// discovery does not advertise logout. Needs
    /// [`openid_provider`](Self::openid_provider).
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub fn end_session_endpoint(mut self, url: &str) -> Self {
        self.config.openid.end_session_endpoint = Some(url.to_owned());
        self.given.openid_setting = true;
        self
    }

    /// The `acr` values the host's authentication can achieve, space-separated, published
    /// as `acr_values_supported`. Default: none, and the member is left out. Needs
    /// [`openid_provider`](Self::openid_provider).
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub fn acr_values_supported(mut self, values: &str) -> Self {
        self.config.openid.acr_values_supported = Some(values.to_owned());
        self.given.openid_setting = true;
        self
    }

    // ------------------------------------------------------------------ observability

    /// Sends every [`AuditEvent`](crate::observe::AuditEvent) to `sink`: tokens issued
    /// and refreshed, reuse and replay detected, grants revoked, failed client
    /// authentications, lockouts, consent and device decisions, revocations. Default: none,
    /// and events only reach the logs and metrics.
    ///
    /// The server never waits for the sink: events queue up (see
    /// [`audit_queue_capacity`](Self::audit_queue_capacity)) and the task of
    /// [`Server::audit_delivery`], which the host spawns, delivers them in order. See
    /// [`AuditSink`] for what a sink may and may not do.
    pub fn audit_sink(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.config.observe.audit_sink = Some(sink);
        self
    }

    /// How many audit events may wait for the sink; further ones are dropped and counted
    /// ([`Server::dropped_audit_events`]) rather than delay a request. Default: 1,024;
    /// between 1 and 1,048,576. Each waiting event holds a few hundred bytes.
    pub fn audit_queue_capacity(mut self, capacity: usize) -> Self {
        self.config.observe.audit_capacity = capacity;
        self
    }

    /// The key under which logs fingerprint credentials they must correlate (a bearer
    /// token at the guard, an entered user code): see [`LogKey`]. Default: a key drawn
    /// from the server's [`Random`] at [`build`](Self::build), so fingerprints match only
    /// within one process; give every instance the same key to correlate across them.
    pub fn log_key(mut self, key: LogKey) -> Self {
        self.config.observe.log_key = Some(key);
        self
    }

    /// The clients whose requests the metrics label with their `client_id`; requests of
    /// other clients are labelled `other`, those without an accepted client `none`.
    /// Default: none, and the metrics have no `client_id` label: every label value comes
    /// from a closed set, since a label per client grows the series with the registry.
    /// List only a bounded set of clients worth watching one by one.
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn metric_client_labels(mut self, clients: impl IntoIterator<Item = ClientId>) -> Self {
        self.config.observe.metric_clients = clients.into_iter().collect();
        self
    }

    // ------------------------------------------------------------------ dangerous

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
        configure(&mut self.config.dangerous);
        self
    }

    // ------------------------------------------------------------------ build

    /// Checks the configuration and builds the server.
    ///
    /// # Errors
    /// [`ConfigError`] when the issuer is not an `https` URL without query or fragment
    /// ([RFC 6749 §3.1], [RFC 8414 §2]), a lifetime or URL is out of range, a setting is given for
    /// a grant
    /// that is not enabled (a device setting without
    /// [`device_store`](Self::device_store), a password limiter without
    /// [`password_grant`](Self::password_grant)), or two grant handlers claim the same
    /// `grant_type`. With the `jwt` feature also when the signing keys' issuer is not the
    /// server's, or JWT access tokens are enabled without signing keys, with a default
    /// audience that is not an absolute URI, or with an access token lifetime beyond the
    /// keys' maximum token lifetime.
    ///
    /// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
    /// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
    pub fn build(self) -> Result<Server, ConfigError> {
        let Self { mut config, given } = self;
        if config.clients.documents {
            let Some(fetcher) = config.clients.fetcher.clone() else {
                return Err(ConfigError::Setting(
                    "client ID metadata documents need a fetcher (ServerBuilder::fetcher)",
                ));
            };
            config.clients.registry = Arc::new(crate::registration::DocumentRegistry::new(
                Arc::clone(&config.clients.registry),
                fetcher,
                Arc::clone(&config.clock),
            ));
        }
        if given.device_setting && config.device.store.is_none() {
            return Err(ConfigError::Setting(
                "a device grant setting was given, but the device grant is not enabled (ServerBuilder::device_store)",
            ));
        }
        if given.pushed_setting && !config.pushed.is_enabled() {
            return Err(ConfigError::Setting(
                "a pushed authorization request setting was given, but pushed requests are not enabled (ServerBuilder::pushed_authorization)",
            ));
        }
        if given.registration_setting && config.registration.enabled.is_none() {
            return Err(ConfigError::Setting(
                "a registration setting was given, but registration is not enabled (ServerBuilder::client_registration)",
            ));
        }
        if given.password_limiter && config.password.verifier.is_none() {
            return Err(ConfigError::Setting(
                "a password limiter was given, but the password grant is not enabled (ServerBuilder::password_grant)",
            ));
        }
        #[cfg(feature = "oidc")]
        if given.openid_setting && !config.openid.is_enabled() {
            return Err(ConfigError::Setting(
                "an OpenID Provider setting was given, but the provider is not enabled (ServerBuilder::openid_provider)",
            ));
        }
        #[cfg(feature = "jwt")]
        if given.jwks_uri && config.jwt.keys.is_none() {
            return Err(ConfigError::Setting(
                "a jwks_uri was given, but the server has no signing keys (ServerBuilder::signing_keys)",
            ));
        }
        config.check()?;
        let grant_handlers = grant_handlers(&config)?;
        let metadata = Metadata::render(&config, &grant_handlers)?;
        #[cfg(feature = "oidc")]
        let openid_configuration = crate::oidc::discovery::render(&config, &grant_handlers)?;
        let mut warnings = Vec::new();
        if config.password.verifier.is_some() {
            warnings.push(PASSWORD_GRANT_WARNING);
        }
        if !given.code_store {
            warnings.push(IN_PROCESS_CODES_WARNING);
        }
        let observe = &config.observe;
        let events = Events::new(
            &config.issuer,
            observe
                .audit_sink
                .as_ref()
                .map(|sink| (Arc::clone(sink), observe.audit_capacity)),
            observe
                .log_key
                .clone()
                .unwrap_or_else(|| LogKey::generate_with(&*config.random)),
            observe.metric_clients.clone(),
        );
        #[cfg(feature = "jwt")]
        let jwt_access_tokens = match (&config.jwt.keys, &config.jwt.access_tokens) {
            (Some(keys), Some(tokens)) => Some(crate::jose::JwtAccessTokenIssuer::new(
                keys.clone(),
                tokens.clone(),
            )),
            _ => None,
        };
        Ok(Server::new(ServerState {
            config,
            grant_handlers,
            metadata,
            #[cfg(feature = "oidc")]
            openid_configuration,
            warnings,
            events,
            #[cfg(feature = "jwt")]
            jwt_access_tokens,
        }))
    }
}

/// The token endpoint's handlers: the built-in grants that are enabled, then the
/// extension grants, one per `grant_type`.
fn grant_handlers(config: &Config) -> Result<Vec<Arc<dyn GrantHandler>>, ConfigError> {
    let tokens = &config.tokens;
    let mut handlers: Vec<Arc<dyn GrantHandler>> = vec![
        Arc::new(ClientCredentialsGrant),
        Arc::new(AuthorizationCodeGrant {
            codes: Arc::clone(&config.code_flow.store),
            tokens: Arc::clone(&tokens.store),
            revoked_for: tokens.refresh_ttl,
        }),
        Arc::new(RefreshTokenGrant {
            tokens: Arc::clone(&tokens.store),
            grace: tokens.refresh_reuse_grace,
            revoked_for: tokens.refresh_ttl,
            rotate_confidential: tokens.rotate_confidential_refresh,
        }),
    ];
    if let Some(store) = &config.device.store {
        handlers.push(Arc::new(DeviceCodeGrant {
            store: Arc::clone(store),
            tokens: Arc::clone(&tokens.store),
            revoked_for: tokens.refresh_ttl,
        }));
    }
    if let Some(verifier) = &config.password.verifier {
        handlers.push(Arc::new(PasswordGrant {
            verifier: Arc::clone(verifier),
            limiter: Arc::clone(&config.password.limiter),
        }));
    }
    for handler in &config.extension_grants {
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

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::clock::ManualClock;
    use crate::http::{HttpRequest, Method};
    use crate::random::SeededRandom;
    use crate::secret::AccessToken;
    use crate::store::memory::{
        MemoryAttemptLimiter, MemoryClientRegistry, MemoryCodeStore, MemoryDeviceStore,
        MemoryTokenStore,
    };
    use crate::test_support::block_on;
    use crate::types::{AuthMethod, Client, ClientSecret, ClientType, GrantId, GrantType};

    fn builder() -> ServerBuilder {
        let clients = Arc::new(MemoryClientRegistry::new());
        clients
            .insert(
                Client::builder("backend", ClientType::Confidential)
                    .secret(&ClientSecret::from_presented("s3cr3t".to_owned()))
                    .auth_method(AuthMethod::ClientSecretPost)
                    .grant_type(GrantType::CLIENT_CREDENTIALS)
                    .allowed_scope("read")
                    .build()
                    .unwrap(),
            )
            .unwrap();
        Server::builder(
            "https://as.example.com",
            clients,
            Arc::new(MemoryTokenStore::new()),
        )
    }

    #[derive(Debug)]
    struct NoUsers;

    #[async_trait::async_trait]
    impl ResourceOwnerVerifier for NoUsers {
        async fn verify(
            &self,
            _: &crate::types::Client,
            _: &str,
            _: &crate::secret::ResourceOwnerPassword,
        ) -> Result<Option<crate::types::Subject>, crate::error::StorageError> {
            Ok(None)
        }
    }

    #[test]
    fn settings_of_a_grant_that_is_not_enabled_fail_at_build() {
        let limiter = || Arc::new(MemoryAttemptLimiter::default());
        let device_settings: [fn(ServerBuilder) -> ServerBuilder; 6] = [
            |b| b.device_code_ttl(Duration::from_secs(300)),
            |b| b.device_poll_interval(Duration::from_secs(10)),
            |b| b.device_verification_uri("https://as.example.com/activate"),
            |b| b.device_authorization_endpoint("https://as.example.com/da"),
            |b| b.user_code_format(UserCodeFormat::digits()),
            |b| b.user_code_limiter(Arc::new(MemoryAttemptLimiter::default())),
        ];
        for setting in device_settings {
            assert!(matches!(
                setting(builder()).build(),
                Err(ConfigError::Setting(message)) if message.contains("device_store")
            ));
            let enabled = setting(builder()).device_store(Arc::new(MemoryDeviceStore::new()));
            assert!(enabled.build().is_ok());
        }
        assert!(matches!(
            builder().password_limiter(limiter()).build(),
            Err(ConfigError::Setting(message)) if message.contains("password_grant")
        ));
        let enabled = builder()
            .password_limiter(limiter())
            .password_grant(Arc::new(NoUsers));
        assert!(enabled.build().is_ok());
    }

    #[test]
    fn codes_kept_in_this_process_are_reported_unless_chosen() {
        let server = builder().build().unwrap();
        assert_eq!(server.warnings(), [IN_PROCESS_CODES_WARNING]);
        let server = builder()
            .code_store(Arc::new(MemoryCodeStore::new()))
            .build()
            .unwrap();
        assert!(server.warnings().is_empty());
        let server = builder()
            .code_store(Arc::new(MemoryCodeStore::new()))
            .password_grant(Arc::new(NoUsers))
            .build()
            .unwrap();
        assert_eq!(server.warnings(), [PASSWORD_GRANT_WARNING]);
    }

    /// [RFC 6749 §10.3] with injected randomness: a server draws every value from its `Random`, so
    /// a
    /// seeded one issues tokens a test can predict (here: the log key at build, the new
    /// grant's id, then the access token).
    ///
    /// [RFC 6749 §10.3]: https://www.rfc-editor.org/rfc/rfc6749#section-10.3
    #[test]
    fn te_14_a_seeded_server_issues_predictable_tokens() {
        let issue = |seed| {
            let server = builder()
                .clock(Arc::new(ManualClock::new(UNIX_EPOCH)))
                .random(Arc::new(SeededRandom::new(seed)))
                .build()
                .unwrap();
            let request = HttpRequest::new(Method::Post)
                .with_header("content-type", "application/x-www-form-urlencoded")
                .with_body(
                    "grant_type=client_credentials&scope=read&client_id=backend&client_secret=s3cr3t",
                );
            let response = block_on(server.token(&request)).unwrap();
            let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
            body["access_token"].as_str().unwrap().to_owned()
        };
        let expected = SeededRandom::new(7);
        // The log key, drawn at build.
        expected.fill(&mut [0u8; 32]);
        let _grant = GrantId::generate_with(&expected);
        let token = AccessToken::generate_with(&expected);
        assert_eq!(issue(7), token.expose_secret());
        assert_eq!(issue(7), issue(7));
        assert_ne!(issue(7), issue(8));
    }
}
