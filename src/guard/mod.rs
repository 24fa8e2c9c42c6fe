//! The bearer-token guard for resource servers
//! ([RFC 6750](https://www.rfc-editor.org/rfc/rfc6750)): check the token before serving a
//! protected resource, or answer with the exact challenge; and the resource's metadata
//! ([RFC 9728](https://www.rfc-editor.org/rfc/rfc9728)) that lets a client find out,
//! from a bare 401, where to get a token. A guard checks tokens in the authorization
//! server's token store (a resource server in the same process), or, with the `jwt`
//! feature, verifies JWT access tokens offline with the authorization server's published
//! keys (anywhere).

mod metadata;
#[cfg(feature = "jwt")]
mod offline;

#[cfg(feature = "tower")]
mod tower;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use crate::clock::Clock;
use crate::config::UrlSchemes;
use crate::endpoint::is_form_content_type;
#[cfg(feature = "oidc")]
use crate::error::ErrorCode;
use crate::error::{ConfigError, Error, StorageError};
use crate::http::{HttpRequest, HttpResponse, Method, Status};
use crate::observe::Events;
use crate::observe::call::{Call, Endpoint, Outcome};
use crate::params::{Form, FormError, FormLimits};
use crate::render::{self, is_error_char};
use crate::secret::TokenHash;
use crate::server::Server;
use crate::store::{TokenKind, TokenRecord, TokenStore};
use crate::types::{Actor, ClientId, GrantId, ResourceUri, Resources, Scope, Subject};

use metadata::PublishedMetadata;
pub use metadata::ResourceMetadata;

#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use tower::{BearerCheck, BearerLayer, BearerService};

/// What a resource server learns about a valid access token. It holds no token value.
///
/// Client tokens and user tokens stay apart: a token the client obtained for itself
/// (client credentials) has no `subject`, whether it was found in the token store or
/// verified offline, where its JWT's `sub` is the client's id
/// ([RFC 9068 §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The resource owner, or `None` when the client acts for itself.
    pub subject: Option<Subject>,
    /// The granted scope (which contains the required scope).
    pub scope: Scope,
    /// When the token was issued.
    pub issued_at: SystemTime,
    /// When the token expires.
    pub expires_at: SystemTime,
    /// The grant the token belongs to, when the token store was asked; `None` for a JWT
    /// access token verified offline (the grant is the authorization server's business).
    pub grant_id: Option<GrantId>,
    /// The resources the token is for (`aud`), or empty for a token not restricted to a
    /// resource. For a JWT access token verified offline, this resource's identifier,
    /// which its `aud` holds (the guard's [`resource`](BearerGuard::resource), else the
    /// verifier's audience); the whole `aud` is in [`jwt`](Self::jwt).
    pub audience: Resources,
    /// The verified JWT access token, for its other claims (`jti`, `auth_time`, `acr`,
    /// a confirmation `cnf`): `None` when the token store was asked.
    #[cfg(feature = "jwt")]
    pub jwt: Option<Arc<crate::jose::VerifiedAccessToken>>,
    /// The thumbprint of the DPoP key the token is bound to (`cnf.jkt`,
    /// [RFC 9449 §6](https://www.rfc-editor.org/rfc/rfc9449#section-6)), or `None` for a
    /// bearer token. A bound token passed the guard only with a proof signed by that key.
    pub dpop_jkt: Option<String>,
    /// A delegated token's actor chain.
    act: Option<Actor>,
}

impl TokenInfo {
    /// The current actor of a delegated token (the outermost `act`), with its identity
    /// claims: the party acting on the subject's behalf, the one to base access decisions
    /// on ([RFC 8693 §4.1](https://www.rfc-editor.org/rfc/rfc8693#section-4.1)). `None`
    /// for a token that is not delegated.
    pub fn actor(&self) -> Option<ActorIdentity<'_>> {
        self.act.as_ref().map(|a| ActorIdentity {
            subject: a.subject(),
            issuer: a.issuer(),
        })
    }

    /// Every actor of the delegation chain, current first, then the earlier ones.
    /// Informational only (auditing, logs): earlier actors must not be used for access
    /// decisions.
    pub fn actor_chain(&self) -> impl Iterator<Item = ActorIdentity<'_>> + '_ {
        self.act
            .iter()
            .flat_map(Actor::chain)
            .map(|a| ActorIdentity {
                subject: a.subject(),
                issuer: a.issuer(),
            })
    }
}

/// The identity claims of one actor of a delegated token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActorIdentity<'a> {
    /// The actor's `sub`.
    pub subject: &'a str,
    /// The actor's `iss`, when it was needed to make `sub` unique.
    pub issuer: Option<&'a str>,
}

impl TokenInfo {
    /// What the token store's record of a valid access token tells a resource server.
    fn of_record(record: TokenRecord) -> Self {
        Self {
            client_id: record.client_id,
            subject: record.subject,
            scope: record.scope,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            grant_id: Some(record.grant_id),
            audience: record.audience,
            act: record.actor,
            dpop_jkt: record.dpop_jkt,
            #[cfg(feature = "jwt")]
            jwt: None,
        }
    }
}

/// Checks bearer access tokens for a resource server
/// ([RFC 6750](https://www.rfc-editor.org/rfc/rfc6750), [RFC 6750 §2.1]..[OAuth 2.1 §5]); cheap to
/// clone.
///
/// Two ways to check a token, the same challenges either way:
///
/// - in the token store, for a resource server in the [`Server`]'s process
///   ([`Server::bearer_guard`]): any access token the server issued, opaque or JWT, and a
///   revoked token is refused at once;
/// - offline, for JWT access tokens ([RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4),
///   feature `jwt`): with the authorization server's published keys, in its process
///   (`Server::jwt_bearer_guard`) or anywhere else (`BearerGuard::jwt`). No store is asked,
///   so a revoked token passes until it expires; see `Server::revoke`.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use grantflow::*;
///
/// let server = Server::builder(
///     "https://as.example.com",
///     Arc::new(MemoryClientRegistry::new()),
///     Arc::new(MemoryTokenStore::new()),
/// )
/// .build()?;
/// let guard = server.bearer_guard().realm("api")?;
///
/// // No credentials: 401 with a challenge and no error attribute ([RFC 6750 §3]).
/// let request = HttpRequest::new(Method::Get);
/// let denied = block_on(guard.check(&request, &Scope::parse("read")?)).unwrap_err().into_response();
/// assert_eq!(denied.status, Status::UNAUTHORIZED);
/// assert_eq!(denied.header("www-authenticate"), Some("Bearer realm=\"api\""));
/// # Ok(()) }
/// ```
///
/// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
/// [OAuth 2.1 §5]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-5
/// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
#[derive(Debug, Clone)]
pub struct BearerGuard {
    /// Where the guard's calls are observed.
    observer: Observer,
    tokens: Tokens,
    clock: Arc<dyn Clock>,
    realm: Arc<str>,
    /// The authorization server's issuer, for the metadata's `authorization_servers`.
    issuer: Option<Arc<str>>,
    /// The URL schemes a resource identifier may have.
    schemes: UrlSchemes,
    /// The guard's resource identifier: empty, or the one resource.
    resource: Resources,
    form_body: bool,
    form_limits: FormLimits,
    metadata: Option<Arc<PublishedMetadata>>,
    /// How DPoP proofs are checked, when the guard accepts the `DPoP` scheme.
    #[cfg(feature = "dpop")]
    dpop: Option<Arc<GuardDpop>>,
}

/// A guard's DPoP settings.
#[cfg(feature = "dpop")]
#[derive(Debug)]
struct GuardDpop {
    checker: crate::dpop::ProofChecker,
    /// The resource's URL as proofs name it (`htu`), never rebuilt from `Host`.
    url: String,
    replay: Arc<dyn crate::store::SingleUseStore>,
}

/// The scheme a token came in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    #[cfg(feature = "dpop")]
    Dpop,
}

/// Where a [`BearerGuard`] checks tokens.
#[derive(Debug, Clone)]
enum Tokens {
    /// The server's token store, by digest.
    Store(Arc<dyn TokenStore>),
    /// Offline, by signature.
    #[cfg(feature = "jwt")]
    Offline(Arc<offline::OfflineTokens>),
}

/// Why [`BearerGuard::check`] did not let a request through: the request was refused, or
/// the token store failed.
///
/// Either way, [`into_response`](Self::into_response) is the response to send: for a
/// refusal the RFC 6750 §3 challenge
/// ([RFC 6750 §3](https://www.rfc-editor.org/rfc/rfc6750#section-3)), for a fault the 500
/// or 503 of [`Error::to_response`]. Log a fault first; its `source()` chain has the cause.
///
/// ```
/// use grantflow::{Error, HttpResponse};
/// use grantflow::guard::GuardRejection;
///
/// fn respond(rejection: GuardRejection) -> HttpResponse {
///     if let GuardRejection::Fault(error) = &rejection {
///         eprintln!("token store failed: {error}");
///     }
///     rejection.into_response()
/// }
/// # let _ = respond;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuardRejection {
    /// The request has no usable bearer token, or one that does not allow the operation:
    /// send this response, the challenge (401, 400 or 403 with `WWW-Authenticate`, empty
    /// body).
    #[error("bearer token refused ({})", .0.status.as_u16())]
    Refused(HttpResponse),
    /// The token store failed; the client sees `server_error` (or
    /// `temporarily_unavailable`).
    #[error(transparent)]
    Fault(#[from] Error),
}

impl GuardRejection {
    /// The response to send: the challenge of a refusal, or [`Error::to_response`] of a
    /// fault.
    pub fn into_response(self) -> HttpResponse {
        match self {
            Self::Refused(response) => response,
            Self::Fault(error) => error.to_response(),
        }
    }
}

impl From<StorageError> for GuardRejection {
    fn from(error: StorageError) -> Self {
        Self::Fault(error.into())
    }
}

/// Why a request is refused.
enum Refusal {
    /// No bearer credentials at all ([OAuth 2.1 §5.1], [RFC 6750 §3]).
    ///
    /// [OAuth 2.1 §5.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-5.1
    /// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
    NoToken,
    /// The request is malformed, e.g. a token sent two ways ([RFC 6750 §2]).
    ///
    /// [RFC 6750 §2]: https://www.rfc-editor.org/rfc/rfc6750#section-2
    InvalidRequest(&'static str),
    /// The token is not active for this resource server ([RFC 6750 §3.1], [OAuth 2.1 §5]).
    ///
    /// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
    /// [OAuth 2.1 §5]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-5
    InvalidToken,
    /// The token lacks the required scope ([RFC 6750 §3.1]).
    ///
    /// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
    InsufficientScope,
    /// The DPoP proof is missing or wrong, or not signed by the token's key
    /// ([RFC 9449 §7.1](https://www.rfc-editor.org/rfc/rfc9449#section-7.1)).
    #[cfg(feature = "dpop")]
    InvalidDpopProof,
}

/// How [`BearerGuard::verify`] ended, short of a token.
/// The event stream of a guard's calls: its server's, or one of its own for a guard
/// without a server in the process.
#[derive(Debug, Clone)]
enum Observer {
    Server(Server),
    #[cfg_attr(not(feature = "jwt"), allow(dead_code))]
    Alone(Arc<Events>),
}

enum Checked {
    Refused(Refusal),
    Fault(Error),
}

impl From<Refusal> for Checked {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

impl From<Error> for Checked {
    fn from(fault: Error) -> Self {
        Self::Fault(fault)
    }
}

impl From<StorageError> for Checked {
    fn from(fault: StorageError) -> Self {
        Self::Fault(fault.into())
    }
}

impl Refusal {
    /// The `error` attribute of the challenge, if it has one.
    fn error(&self) -> Option<&'static str> {
        match self {
            Self::NoToken => None,
            Self::InvalidRequest(_) => Some("invalid_request"),
            Self::InvalidToken => Some("invalid_token"),
            Self::InsufficientScope => Some("insufficient_scope"),
            #[cfg(feature = "dpop")]
            Self::InvalidDpopProof => Some("invalid_dpop_proof"),
        }
    }
}

impl Server {
    /// A [`BearerGuard`] for a resource server in this process: its realm defaults to the
    /// server's realm ([`ServerBuilder::realm`](crate::ServerBuilder::realm)), no resource
    /// identifier, tokens only from the `Authorization` header, no published metadata.
    pub fn bearer_guard(&self) -> BearerGuard {
        BearerGuard::with_tokens(Tokens::Store(Arc::clone(&self.config().tokens.store)), self)
    }
}

impl BearerGuard {
    /// A guard checking tokens in `tokens`, with the settings of `server`.
    fn with_tokens(tokens: Tokens, server: &Server) -> Self {
        let config = server.config();
        Self {
            observer: Observer::Server(server.clone()),
            tokens,
            clock: Arc::clone(&config.clock),
            realm: Arc::from(config.http.realm.as_str()),
            issuer: Some(Arc::from(server.issuer())),
            schemes: config.dangerous.schemes(),
            resource: Resources::empty(),
            form_body: false,
            form_limits: config.http.form_limits,
            metadata: None,
            #[cfg(feature = "dpop")]
            dpop: None,
        }
    }

    /// Sets the `realm` of the challenges.
    ///
    /// # Errors
    /// [`ConfigError::Setting`] when `realm` is empty or not printable ASCII without `"`
    /// or `\` ([RFC 6750 §3]).
    ///
    /// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
    pub fn realm(mut self, realm: &str) -> Result<Self, ConfigError> {
        if realm.is_empty() || !realm.chars().all(is_error_char) {
            return Err(ConfigError::Setting(
                "realm must be printable ASCII without '\"' or '\\'",
            ));
        }
        self.realm = Arc::from(realm);
        Ok(self)
    }

    /// Names the protected resource this guard stands in front of, by its resource
    /// identifier ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2),
    /// [RFC 9728 §1.2](https://www.rfc-editor.org/rfc/rfc9728#section-1.2)): for an HTTP
    /// API, the exact URL clients call, without query (an MCP server's endpoint URL, for
    /// example). Tokens whose audience does not contain it, character for character, are
    /// refused with `invalid_token` ([RFC 8707 §2], [RFC 6750 §3.1]): a token for `https://api.example.com/t1/`
    /// is no good at `https://api.example.com/t2/`. Tokens without an audience are accepted.
    ///
    /// Default: none. A guard without a resource identifier refuses every token that has
    /// an audience: a token restricted to some resource is not meant for a resource that
    /// cannot say which it is. Register the same identifier with
    /// [`ServerBuilder::resource`](crate::ServerBuilder::resource) so that clients can ask
    /// tokens for it.
    ///
    /// A guard that verifies JWT access tokens offline always checks `aud` against the
    /// audience its verifier expects ([RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4));
    /// the identifier set here must then be in `aud` as well. Name the same one to both.
    ///
    /// [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2
    /// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
    ///
    /// # Errors
    /// [`ConfigError::Setting`] when `identifier` is not an absolute `https` URL (or `http`
    /// where the server allows it, or for [`BearerGuard::jwt`] where the authorization
    /// server's issuer is an `http` URL) with a host and without fragment
    /// ([RFC 9728 §2](https://www.rfc-editor.org/rfc/rfc9728#section-2)).
    pub fn resource(mut self, identifier: &str) -> Result<Self, ConfigError> {
        const REFUSED: ConfigError =
            ConfigError::Setting("a resource identifier is an absolute https URL without fragment");
        let resource = ResourceUri::parse(identifier).map_err(|_| REFUSED)?;
        let url = url::Url::parse(identifier).map_err(|_| REFUSED)?;
        if !self.schemes.allow(url.scheme()) || url.host().is_none() {
            return Err(REFUSED);
        }
        self.resource = Resources::one(resource);
        // Published metadata follows the guard: rendered again for the new identifier.
        if let Some(published) = self.metadata.take() {
            let rendered = self.render_metadata(published.source.clone())?;
            self.metadata = Some(Arc::new(rendered));
        }
        Ok(self)
    }

    /// The guard's resource identifier, if set.
    pub fn resource_identifier(&self) -> Option<&ResourceUri> {
        self.resource.as_slice().first()
    }

    /// Replaces the clock that decides whether a token has expired. Default: the server's
    /// clock, or for [`BearerGuard::jwt`] the system's.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Accepts the token in an `access_token` form-body parameter too
    /// ([RFC 6750 §2.2](https://www.rfc-editor.org/rfc/rfc6750#section-2.2), [RFC 6750 §2.2]): only
    /// on methods other than `GET`, and only in an `application/x-www-form-urlencoded`
    /// body. Default: `false`, the token is read from the `Authorization` header only and
    /// a body token is ignored. Tokens in the URL query are always ignored ([OAuth 2.1 §5.1]).
    ///
    /// [RFC 6750 §2.2]: https://www.rfc-editor.org/rfc/rfc6750#section-2.2
    /// [OAuth 2.1 §5.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-5.1
    pub fn form_body_tokens(mut self, accept: bool) -> Self {
        self.form_body = accept;
        // Published metadata follows the guard (`bearer_methods_supported`, PR-02).
        if let Some(published) = self.metadata.take() {
            self.metadata = self
                .render_metadata(published.source.clone())
                .ok()
                .map(Arc::new);
        }
        self
    }

    /// Checks the request's bearer token against `required`, the scope the operation
    /// needs ([RFC 6750 §3](https://www.rfc-editor.org/rfc/rfc6750#section-3)).
    ///
    /// Returns the token's [`TokenInfo`] to serve the request, or a [`GuardRejection`]
    /// whose [`into_response`](GuardRejection::into_response) is the exact response to
    /// send instead:
    ///
    /// - no bearer credentials (no `Authorization` header, another scheme, or a token only
    ///   in the URL query, which is ignored, [OAuth 2.1 §5.1]) → 401 with
    ///   `WWW-Authenticate: Bearer realm="…"` and no `error` attribute ([RFC 6750 §3]);
    /// - a token sent more than one way, a repeated or unreadable (not visible ASCII)
    ///   `Authorization` header, or an empty `Bearer` credential → 400,
    ///   `error="invalid_request"` ([RFC 6750 §2]);
    /// - a token that is unknown, malformed, expired, revoked, not yet valid, a refresh
    ///   token, or restricted to another audience → 401, `error="invalid_token"`, with
    ///   the same description whatever the reason ([RFC 6750 §3.1], [OAuth 2.1 §5],
    ///   [RFC 6749 §5.2]);
    /// - a valid token without every token of `required` → 403,
    ///   `error="insufficient_scope", scope="…"` naming the required scope ([RFC 6750 §3.1]).
    ///
    /// The scheme name is matched case-insensitively ([RFC 6750 §2.1]). Each challenge attribute
    /// appears once, with values in the RFC 6749 §5.2 character set ([RFC 6750 §3]). Challenge
    /// responses have an empty body.
    ///
    /// # Errors
    /// [`GuardRejection::Refused`] for every case above, [`GuardRejection::Fault`] when the
    /// token store failed.
    ///
    /// [OAuth 2.1 §5.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-5.1
    /// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
    /// [RFC 6750 §2]: https://www.rfc-editor.org/rfc/rfc6750#section-2
    /// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
    /// [OAuth 2.1 §5]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-5
    /// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
    /// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
    pub async fn check(
        &self,
        request: &HttpRequest,
        required: &Scope,
    ) -> Result<TokenInfo, GuardRejection> {
        let call = match &self.observer {
            Observer::Server(server) => server.call(Endpoint::Bearer),
            Observer::Alone(events) => Call::new(events, &*self.clock, Endpoint::Bearer),
        };
        let mut scheme = Scheme::Bearer;
        let checked = call
            .run(self.verify(request, required, &call, &mut scheme))
            .await;
        match checked {
            Ok(info) => {
                call.finish(Outcome::Success);
                Ok(info)
            }
            Err(Checked::Refused(refusal)) => {
                call.finish(Outcome::Refused(refusal.error()));
                Err(GuardRejection::Refused(
                    self.challenge_for(&refusal, required, scheme),
                ))
            }
            Err(Checked::Fault(fault)) => {
                call.finish(Outcome::Fault(&fault));
                Err(GuardRejection::Fault(fault))
            }
        }
    }

    /// The checks of [`check`](Self::check), inside its span.
    async fn verify(
        &self,
        request: &HttpRequest,
        required: &Scope,
        call: &Call<'_>,
        scheme: &mut Scheme,
    ) -> Result<TokenInfo, Checked> {
        let (token, used) = self.find_scheme_token(request)?;
        *scheme = used;
        // OB-02: the token's keyed fingerprint, never the token.
        call.token(&token);
        let now = self.clock.now();
        // A token outside the `b64token` syntax is `invalid_token` (BT-01). The offline
        // verifier checks a stricter one, the JWS compact serialization's, and answers a
        // token it verified before without reading it again.
        let info = match &self.tokens {
            Tokens::Store(_) if !is_token68(&token) => None,
            Tokens::Store(store) => self
                .look_up(&**store, &token, now)
                .await?
                .map(TokenInfo::of_record),
            #[cfg(feature = "jwt")]
            Tokens::Offline(offline) => offline.check(&token, &self.resource, now).await?,
        };
        let Some(info) = info else {
            return Err(Refusal::InvalidToken.into());
        };
        call.accepted(&info.client_id);
        if let Some(grant_id) = info.grant_id {
            call.grant_id(grant_id);
        }
        self.check_binding(request, &token, &info, used, now)
            .await?;
        if !required.is_subset_of(&info.scope) {
            return Err(Refusal::InsufficientScope.into());
        }
        Ok(info)
    }

    /// Whether `info`'s key binding matches the scheme `token` came in: a DPoP-bound
    /// token only as `DPoP` with a valid proof for this request signed by its key, an
    /// unbound one only as `Bearer`
    /// ([RFC 9449 §7](https://www.rfc-editor.org/rfc/rfc9449#section-7)).
    #[cfg_attr(not(feature = "dpop"), allow(clippy::unused_async, unused_variables))]
    async fn check_binding(
        &self,
        request: &HttpRequest,
        token: &str,
        info: &TokenInfo,
        scheme: Scheme,
        now: SystemTime,
    ) -> Result<(), Checked> {
        match (scheme, &info.dpop_jkt) {
            (Scheme::Bearer, None) => Ok(()),
            // EX-06: a bound token is never a bearer token.
            (Scheme::Bearer, Some(_)) => Err(Refusal::InvalidToken.into()),
            #[cfg(feature = "dpop")]
            (Scheme::Dpop, None) => Err(Refusal::InvalidToken.into()),
            #[cfg(feature = "dpop")]
            (Scheme::Dpop, Some(jkt)) => {
                let Some(dpop) = &self.dpop else {
                    return Err(Refusal::InvalidToken.into());
                };
                let method = match request.method() {
                    Method::Get => "GET",
                    Method::Post => "POST",
                    Method::Head => "HEAD",
                    Method::Options => "OPTIONS",
                    // No name to match `htm` against: refused.
                    _ => "",
                };
                let target =
                    crate::dpop::ProofTarget::new(method, &dpop.url).with_access_token(token);
                let proof = dpop
                    .checker
                    .verify(request, &target, &*dpop.replay, now)
                    .await?
                    .map_err(|_| Refusal::InvalidDpopProof)?;
                // EX-17: the proof's key is the token's.
                if !bool::from(subtle::ConstantTimeEq::ct_eq(
                    proof.jkt().as_bytes(),
                    jkt.as_bytes(),
                )) {
                    return Err(Refusal::InvalidDpopProof.into());
                }
                Ok(())
            }
        }
    }

    /// Accepts DPoP-bound access tokens in the `DPoP` scheme
    /// ([RFC 9449 §7](https://www.rfc-editor.org/rfc/rfc9449#section-7)): each request
    /// carries a proof checked by `checker` for its method and `url` (the resource's URL
    /// as clients name it in `htu`, never rebuilt from the request's `Host`), with `ath`
    /// the token's hash and the key the token's `cnf.jkt`; each proof's `jti` is consumed
    /// in `replay` (share it between instances). Challenges then offer both schemes,
    /// `Bearer` and `DPoP` with the `algs` of `checker`. Without this, a `DPoP`
    /// credential is no bearer token; either way, a DPoP-bound token sent as `Bearer` is
    /// `invalid_token`. Requests with methods other than `GET`, `POST`, `HEAD` and
    /// `OPTIONS` cannot be matched to a proof's `htm` and are refused.
    ///
    /// # Errors
    /// [`ConfigError::Setting`] when `url` is not an absolute `https` (or, where the
    /// guard allows it, `http`) URL.
    #[cfg(feature = "dpop")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dpop")))]
    pub fn dpop(
        mut self,
        checker: crate::dpop::ProofChecker,
        url: &str,
        replay: Arc<dyn crate::store::SingleUseStore>,
    ) -> Result<Self, ConfigError> {
        let parsed = url::Url::parse(url)
            .map_err(|_| ConfigError::Setting("the DPoP resource URL is not an absolute URL"))?;
        if !self.schemes.allow(parsed.scheme()) || parsed.host_str().is_none() {
            return Err(ConfigError::Setting(
                "the DPoP resource URL must be an https URL",
            ));
        }
        self.dpop = Some(Arc::new(GuardDpop {
            checker,
            url: url.to_owned(),
            replay,
        }));
        Ok(self)
    }

    /// The refusal of a token that is not active for this use: 401 `invalid_token`,
    /// recorded in `call`.
    #[cfg(feature = "oidc")]
    pub(crate) fn invalid_token(&self, required: &Scope, call: &Call<'_>) -> GuardRejection {
        self.refuse(Refusal::InvalidToken, required, call)
    }

    /// The challenge of `refusal`, recorded in `call`.
    #[cfg(feature = "oidc")]
    fn refuse(&self, refusal: Refusal, required: &Scope, call: &Call<'_>) -> GuardRejection {
        call.refused(refusal.error().map(ErrorCode::from_static));
        GuardRejection::Refused(self.challenge(&refusal, required))
    }

    /// [`check`](Self::check) in the token store, with the whole record of the token (a
    /// guard that verifies offline has no record, and refuses every token here), as part
    /// of the endpoint `call`.
    #[cfg(feature = "oidc")]
    pub(crate) async fn check_record(
        &self,
        request: &HttpRequest,
        required: &Scope,
        call: &Call<'_>,
    ) -> Result<TokenRecord, GuardRejection> {
        let refuse = |refusal| self.refuse(refusal, required, call);
        let token = self.find_token(request).map_err(refuse)?;
        // OB-02: the token's keyed fingerprint, never the token.
        call.token(&token);
        let record = match &self.tokens {
            Tokens::Store(store) if is_token68(&token) => {
                self.look_up(&**store, &token, self.clock.now()).await?
            }
            _ => None,
        };
        // A DPoP-bound token is never a bearer token (RFC 9449 §7.1); this path takes
        // bearer tokens only.
        let Some(record) = record.filter(|record| record.dpop_jkt.is_none()) else {
            return Err(refuse(Refusal::InvalidToken));
        };
        call.accepted(&record.client_id);
        call.grant_id(record.grant_id);
        if !required.is_subset_of(&record.scope) {
            return Err(refuse(Refusal::InsufficientScope));
        }
        Ok(record)
    }

    /// The token's record in the store, if it is an access token valid at `now` for this
    /// guard's resource ([RFC 6750 §3.1], [OAuth 2.1 §5]).
    ///
    /// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
    /// [OAuth 2.1 §5]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-5
    async fn look_up(
        &self,
        store: &dyn TokenStore,
        token: &str,
        now: SystemTime,
    ) -> Result<Option<TokenRecord>, StorageError> {
        let Some(record) = store.find(&TokenHash::of(token)).await? else {
            return Ok(None);
        };
        // RI-11: a token restricted to resources is good only at one of them.
        let audience_ok = record.audience.is_empty()
            || self
                .resource_identifier()
                .is_some_and(|mine| record.audience.contains(mine.as_str()));
        if record.kind != TokenKind::Access || !record.is_valid_at(now) || !audience_ok {
            return Ok(None);
        }
        Ok(Some(record))
    }

    /// The one token the request carries ([RFC 6750 §2.1]..[RFC 6750 §2]).
    ///
    /// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
    /// [RFC 6750 §2]: https://www.rfc-editor.org/rfc/rfc6750#section-2
    #[cfg(feature = "oidc")]
    fn find_token<'r>(&self, request: &'r HttpRequest) -> Result<Cow<'r, str>, Refusal> {
        let (token, scheme) = self.find_scheme_token(request)?;
        if scheme != Scheme::Bearer {
            // Only `check` verifies DPoP proofs.
            return Err(Refusal::InvalidToken);
        }
        Ok(token)
    }

    /// The one token the request carries and its scheme: `Bearer` (header or form body),
    /// or `DPoP` when the guard accepts it; a token sent in two ways or schemes is 400
    /// ([RFC 6750 §2], [RFC 9449 §7.2](https://www.rfc-editor.org/rfc/rfc9449#section-7.2)).
    ///
    /// [RFC 6750 §2]: https://www.rfc-editor.org/rfc/rfc6750#section-2
    fn find_scheme_token<'r>(
        &self,
        request: &'r HttpRequest,
    ) -> Result<(Cow<'r, str>, Scheme), Refusal> {
        // A repeated or unreadable header is refused, never skipped: skipping one would let
        // a token through that was sent in more than one way (RFC 6750 §2).
        let authorization = request
            .authorization()
            .map_err(|bad| Refusal::InvalidRequest(bad.description()))?;
        let header_token = match authorization {
            Some(header) if header.is("bearer") => {
                let token = header.credentials.trim_end_matches(' ');
                if token.is_empty() {
                    return Err(Refusal::InvalidRequest("empty bearer token"));
                }
                Some((token, Scheme::Bearer))
            }
            #[cfg(feature = "dpop")]
            Some(header) if header.is("dpop") && self.dpop.is_some() => {
                let token = header.credentials.trim_end_matches(' ');
                if token.is_empty() {
                    return Err(Refusal::InvalidRequest("empty DPoP token"));
                }
                Some((token, Scheme::Dpop))
            }
            // Another scheme: no bearer credentials (RFC 6750 §3.1).
            _ => None,
        };
        let body_token = if self.form_body {
            self.body_token(request)?
        } else {
            None
        };
        let token = match (header_token, body_token) {
            (Some(_), Some(_)) => {
                return Err(Refusal::InvalidRequest(
                    "the token was sent in more than one way",
                ));
            }
            (Some((token, scheme)), None) => (Cow::Borrowed(token), scheme),
            (None, Some(token)) => (Cow::Owned(token), Scheme::Bearer),
            (None, None) => return Err(Refusal::NoToken),
        };
        Ok(token)
    }

    /// The `access_token` form-body parameter, where [RFC 6750 §2.2] allows one.
    ///
    /// [RFC 6750 §2.2]: https://www.rfc-editor.org/rfc/rfc6750#section-2.2
    fn body_token(&self, request: &HttpRequest) -> Result<Option<String>, Refusal> {
        if request.method() == Method::Get {
            return Ok(None);
        }
        if !is_form_content_type(request.header("content-type")) {
            return Ok(None);
        }
        // The body belongs to the application: a form the crate's parser would refuse
        // (too large, a repeated field of the application's own) simply carries no token
        // for the guard. Only a repeated `access_token` is the client's mistake.
        let form = match Form::parse(request.body(), &self.form_limits) {
            Ok(form) => form,
            Err(FormError::Repeated(name)) if name == "access_token" => {
                return Err(Refusal::InvalidRequest(
                    "the token was sent in more than one way",
                ));
            }
            Err(_) => return Ok(None),
        };
        Ok(form.get("access_token").map(str::to_owned))
    }

    /// The response for `refusal`, with its `WWW-Authenticate` challenge. With published
    /// metadata, 401 and 403 challenges carry `resource_metadata` ([RFC 9728 §5.1](https://www.rfc-editor.org/rfc/rfc9728#section-5.1)).
    #[cfg(feature = "oidc")]
    fn challenge(&self, refusal: &Refusal, required: &Scope) -> HttpResponse {
        self.challenge_for(refusal, required, Scheme::Bearer)
    }

    /// The response for `refusal` of a token that came in `scheme`: the error is in that
    /// scheme's challenge only; a guard accepting DPoP also offers the `DPoP` scheme with
    /// its `algs` ([RFC 9449 §7.1](https://www.rfc-editor.org/rfc/rfc9449#section-7.1)).
    fn challenge_for(&self, refusal: &Refusal, required: &Scope, scheme: Scheme) -> HttpResponse {
        let (status, attributes): (Status, &[(&str, &str)]) = match refusal {
            Refusal::NoToken => (Status::UNAUTHORIZED, &[]),
            Refusal::InvalidRequest(description) => (
                Status::BAD_REQUEST,
                &[
                    ("error", "invalid_request"),
                    ("error_description", description),
                ],
            ),
            Refusal::InvalidToken => (
                Status::UNAUTHORIZED,
                &[
                    ("error", "invalid_token"),
                    ("error_description", "the access token is not active"),
                ],
            ),
            Refusal::InsufficientScope => (
                Status::FORBIDDEN,
                &[
                    ("error", "insufficient_scope"),
                    ("scope", required.as_str()),
                ],
            ),
            #[cfg(feature = "dpop")]
            Refusal::InvalidDpopProof => (
                Status::UNAUTHORIZED,
                &[
                    ("error", "invalid_dpop_proof"),
                    (
                        "error_description",
                        "the DPoP proof is not valid for this request",
                    ),
                ],
            ),
        };
        let metadata = self
            .metadata
            .as_ref()
            .filter(|_| status != Status::BAD_REQUEST)
            .map(|m| ("resource_metadata", m.url()));
        // The error goes in the challenge of the scheme the token came in.
        let of = |used: Scheme| {
            let mut all = if used == scheme {
                attributes.to_vec()
            } else {
                Vec::new()
            };
            all.extend(metadata);
            all
        };
        #[cfg_attr(not(feature = "dpop"), allow(unused_mut))]
        let mut challenge = render::challenge("Bearer", &self.realm, &of(Scheme::Bearer));
        #[cfg(feature = "dpop")]
        if let Some(dpop) = &self.dpop {
            let algs = dpop.checker.supported_algorithms().to_string();
            let mut all = of(Scheme::Dpop);
            all.push(("algs", &algs));
            challenge.push_str(", ");
            challenge.push_str(&render::challenge("DPoP", &self.realm, &all));
        }
        HttpResponse::new(status).with_header("www-authenticate", challenge)
    }
}

/// `b64token` of [RFC 6750 §2.1](https://www.rfc-editor.org/rfc/rfc6750#section-2.1):
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bt_01_token68_syntax() {
        assert!(is_token68("mF_9.B5f-4.1JqM"));
        assert!(is_token68("abc=="));
        assert!(!is_token68("=="));
        assert!(!is_token68("a b"));
        assert!(!is_token68("a\"b"));
        assert!(!is_token68("caf\u{e9}"));
    }
}
