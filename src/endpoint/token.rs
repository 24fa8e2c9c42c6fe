//! The token endpoint ([RFC 6749 §3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2)):
//! read the request, authenticate the client, dispatch by `grant_type` to a
//! [`GrantHandler`], then mint, store and render the tokens.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::client_auth;
use crate::clock::expiry;
use crate::endpoint::read_token_style_form;
use crate::endpoint::refresh_grant::reuse_detected;
use crate::error::{Error, ErrorCode, OAuthError, StorageError};
use crate::grant::{client_credentials, resolve_scope};
use crate::http::{HttpRequest, HttpResponse, Status};
use crate::issuer::TokenClaims;
use crate::json::JsonObject;
use crate::params::Form;
use crate::secret::TokenHash;
use crate::server::Server;
use crate::store::{Insert, Rotation, TokenKind, TokenRecord};
use crate::types::{Client, GrantId, GrantType, Scope, Subject};

/// A token request after the common checks, handed to the [`GrantHandler`] of its
/// `grant_type`.
///
/// By the time a handler sees it, the method, content type and form syntax are checked
/// (TE-01..TE-04), the client is authenticated (TE-06..TE-10) and allowed this grant type
/// (TE-05). The handler reads its own parameters with [`param`](Self::param) and applies
/// its grant's rules.
///
/// (DESIGN.md sketches `GrantRequest` as an enum with one variant per grant type. A closed
/// enum would make every extension grant an edit of the core, against DESIGN decision 11,
/// so it is this struct, and the "variant" is the handler the registry picks.)
pub struct GrantRequest<'a> {
    grant_type: &'a str,
    client: &'a Client,
    form: &'a Form<'a>,
    now: SystemTime,
    issuer: &'a str,
}

impl GrantRequest<'_> {
    /// The `grant_type`.
    pub fn grant_type(&self) -> &str {
        self.grant_type
    }

    /// The authenticated client.
    pub fn client(&self) -> &Client {
        self.client
    }

    /// The value of body parameter `name`: present once and non-empty, form-decoded.
    ///
    /// # Security
    /// Parameters may carry secrets (codes, refresh tokens, passwords). Do not log them.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form.get(name)
    }

    /// The server's current time.
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// The server's issuer identifier.
    pub fn issuer(&self) -> &str {
        self.issuer
    }

    /// The `scope` parameter resolved against the client's registration: malformed or not
    /// allowed gives `invalid_scope`, absent gives the client's default scope (SC-01..03).
    ///
    /// # Errors
    /// `invalid_scope`, ready to return from a handler.
    pub fn requested_scope(&self) -> Result<Scope, OAuthError> {
        resolve_scope(self.client, self.param("scope"))
    }
}

impl fmt::Debug for GrantRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Parameter values are left out: they may be secrets.
        f.debug_struct("GrantRequest")
            .field("grant_type", &self.grant_type)
            .field("client_id", self.client.id())
            .finish_non_exhaustive()
    }
}

/// What a [`GrantHandler`] decided to issue. The server mints the tokens, stores their
/// records and renders the response, the same way for every grant.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenGrant {
    /// The grant the tokens belong to.
    pub grant_id: GrantId,
    /// The resource owner, or `None` when the client acts for itself.
    pub subject: Option<Subject>,
    /// The scope to grant; always reported in the response (SC-04).
    pub scope: Scope,
    /// Whether to issue a refresh token too (only if the client is registered to receive
    /// them, RT-08).
    pub refresh_token: bool,
    /// The resource server the tokens are meant for (`aud`), or `None` for tokens any of
    /// this server's resource servers may accept.
    pub audience: Option<Arc<str>>,
    /// Set by the refresh grant: the presented refresh token to rotate out atomically
    /// when the new tokens are stored.
    pub(crate) rotate: Option<Rotate>,
}

/// The rotation part of a refresh: which token to swap out, and the scope the successor
/// keeps (RT-03).
#[derive(Debug, Clone)]
pub(crate) struct Rotate {
    pub(crate) old: TokenHash,
    pub(crate) refresh_scope: Scope,
}

impl TokenGrant {
    /// A new grant for `scope`: a fresh grant id, no subject, no refresh token.
    pub fn new(scope: Scope) -> Self {
        Self::for_grant(GrantId::generate(), scope)
    }

    /// Tokens for an existing grant (a code's or a refresh token's).
    pub(crate) fn for_grant(grant_id: GrantId, scope: Scope) -> Self {
        Self {
            grant_id,
            subject: None,
            scope,
            refresh_token: false,
            rotate: None,
            audience: None,
        }
    }

    /// Restricts the tokens to one resource server (`aud`), which its
    /// [`BearerGuard`](crate::BearerGuard) checks (BT-09).
    #[must_use]
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.audience = Some(Arc::from(audience));
        self
    }

    /// Sets the subject.
    #[must_use]
    pub fn with_subject(mut self, subject: Subject) -> Self {
        self.subject = Some(subject);
        self
    }

    /// Asks for a refresh token.
    #[must_use]
    pub fn with_refresh_token(mut self) -> Self {
        self.refresh_token = true;
        self
    }
}

/// Why a [`GrantHandler`] did not issue: a protocol refusal the client sees, or an internal
/// fault. Both convert with `?`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// Refuse the request with this error (`invalid_grant`, `invalid_scope`, ...).
    #[error(transparent)]
    Rejected(#[from] OAuthError),
    /// A storage or plug-in fault; the client sees `server_error`.
    #[error(transparent)]
    Internal(#[from] Error),
}

impl From<StorageError> for GrantError {
    fn from(error: StorageError) -> Self {
        Self::Internal(error.into())
    }
}

/// The rules of one grant type at the token endpoint (DESIGN decision 11). Built-in grants
/// are handlers too; extension grants (token exchange, JWT bearer, ...) register theirs with
/// [`ServerBuilder::grant_handler`](crate::ServerBuilder::grant_handler).
///
/// ```
/// use async_trait::async_trait;
/// use grantflow::{GrantError, GrantHandler, GrantRequest, TokenGrant};
///
/// /// A toy extension grant: issues the requested scope to any client allowed to use it.
/// #[derive(Debug)]
/// struct Example;
///
/// #[async_trait]
/// impl GrantHandler for Example {
///     fn grant_type(&self) -> &str {
///         "urn:example:grant"
///     }
///
///     async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, GrantError> {
///         Ok(TokenGrant::new(request.requested_scope()?))
///     }
/// }
/// ```
#[async_trait]
pub trait GrantHandler: Send + Sync + fmt::Debug {
    /// The `grant_type` value this handler serves.
    fn grant_type(&self) -> &str;

    /// Whether a client that does not authenticate must still name itself with
    /// `client_id`, as in the authorization code grant (RFC 6749 §3.2.1, §4.1.3) and the
    /// device code grant (RFC 8628 §3.4). For such a grant, a request with no client
    /// identification at all lacks a required parameter: it gets `invalid_request`
    /// (AC-06) rather than the 401 `invalid_client` of a failed authentication. Default:
    /// `false`.
    fn requires_client_id(&self) -> bool {
        false
    }

    /// Applies the grant's rules and decides what to issue.
    ///
    /// # Errors
    /// [`GrantError::Rejected`] to refuse the request, [`GrantError::Internal`] for a fault.
    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, GrantError>;
}

/// The client credentials grant ([RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)):
/// CC-01..CC-04. Always registered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientCredentialsGrant;

#[async_trait]
impl GrantHandler for ClientCredentialsGrant {
    fn grant_type(&self) -> &str {
        GrantType::CLIENT_CREDENTIALS.as_str()
    }

    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, GrantError> {
        let scope = client_credentials::check(request.client(), request.param("scope"))?;
        // CC-02: no refresh token; CC-04: no subject, the token acts for the client.
        Ok(TokenGrant::new(scope))
    }
}

impl Server {
    /// The token endpoint: `POST /token`
    /// ([RFC 6749 §3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2)).
    ///
    /// In order: POST only (TE-01, else 405 with `Allow: POST`); no credentials in the
    /// query (TE-04); a form body in UTF-8 (TE-02); no repeated parameter, empty values
    /// absent (TE-03); a known `grant_type` (TE-05); exactly one client authentication
    /// method (TE-06..TE-10); a grant type the client may use (TE-05); then the grant's own
    /// rules. Every response carries `Cache-Control: no-store` and `Pragma: no-cache`
    /// (TE-12).
    ///
    /// # Errors
    /// Only storage and plug-in faults; every protocol failure is an `Ok` response with
    /// its RFC status and JSON body.
    pub async fn token(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let form = match read_token_style_form(request, &self.inner.form_limits) {
            Ok(form) => form,
            Err(response) => return Ok(response),
        };
        match self.token_with_form(request, &form).await? {
            Ok(response) => Ok(response),
            Err(error) => Ok(error.to_response()),
        }
    }

    async fn token_with_form(
        &self,
        request: &HttpRequest,
        form: &Form<'_>,
    ) -> Result<Result<HttpResponse, OAuthError>, Error> {
        let inner = &self.inner;
        let Some(grant_type) = form.get("grant_type") else {
            return Ok(Err(
                OAuthError::new(ErrorCode::INVALID_REQUEST).with_description("grant_type required")
            ));
        };
        let Some(handler) = inner
            .grant_handlers
            .iter()
            .find(|h| h.grant_type() == grant_type)
        else {
            return Ok(Err(OAuthError::new(ErrorCode::UNSUPPORTED_GRANT_TYPE)));
        };
        if handler.requires_client_id() && !client_auth::identifies_client(request, form) {
            return Ok(Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description(
                    "client_id required when the client does not authenticate",
                )));
        }
        let now = self.now();
        let client = match self.authenticate_client(request, form, now).await? {
            Ok(client) => client,
            Err(error) => return Ok(Err(error)),
        };
        if !client.allows_grant_type(grant_type) {
            return Ok(Err(OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
                .with_description("the client may not use this grant type")));
        }
        let grant_request = GrantRequest {
            grant_type,
            client: &client,
            form,
            now,
            issuer: &inner.issuer,
        };
        let grant = match handler.handle(&grant_request).await {
            Ok(grant) => grant,
            Err(GrantError::Rejected(error)) => return Ok(Err(error)),
            Err(GrantError::Internal(error)) => return Err(error),
        };
        self.issue(&client, grant, now).await
    }

    /// Mints, stores (all or nothing) and renders the tokens of `grant`. For a refresh,
    /// storing is the rotation's compare-and-swap; losing it is `invalid_grant`.
    async fn issue(
        &self,
        client: &Client,
        grant: TokenGrant,
        now: SystemTime,
    ) -> Result<Result<HttpResponse, OAuthError>, Error> {
        let inner = &self.inner;
        let expires_at = expiry(now, inner.access_token_ttl)?;
        let claims = TokenClaims {
            issuer: &inner.issuer,
            client_id: client.id(),
            subject: grant.subject.as_ref(),
            scope: &grant.scope,
            grant_id: &grant.grant_id,
            issued_at: now,
            expires_at,
        };
        let access_token = inner.token_issuer.access_token(&claims)?;
        let record = |kind, expires_at| {
            TokenRecord::new(
                kind,
                grant.grant_id,
                client.id().clone(),
                grant.scope.clone(),
                now,
                expires_at,
            )
            .with_subject(grant.subject.clone())
            .with_audience(grant.audience.clone())
        };
        let mut records = Vec::with_capacity(2);
        records.push((access_token.hash(), record(TokenKind::Access, expires_at)));
        // RT-08: a refresh token only for a client registered to receive them and allowed
        // the refresh_token grant, whatever grant asked for one.
        let refresh_token = if grant.refresh_token
            && client.issues_refresh_tokens()
            && client.allows_grant_type(GrantType::REFRESH_TOKEN.as_str())
        {
            let refresh_expires_at = expiry(now, inner.refresh_token_ttl)?;
            let refresh_scope = grant
                .rotate
                .as_ref()
                .map_or(&grant.scope, |r| &r.refresh_scope);
            let token = inner.token_issuer.refresh_token(&TokenClaims {
                expires_at: refresh_expires_at,
                scope: refresh_scope,
                ..claims
            })?;
            let mut refresh = record(TokenKind::Refresh, refresh_expires_at);
            refresh.scope = refresh_scope.clone();
            records.push((token.hash(), refresh));
            Some(token)
        } else {
            None
        };
        match &grant.rotate {
            None => match inner.tokens.insert(records).await? {
                Insert::Stored => {}
                // AC-02: the grant was revoked (a replayed code) while this request was
                // between redeeming and storing: no tokens.
                Insert::GrantRevoked => return Ok(Err(grant_revoked())),
            },
            Some(rotate) => match inner.tokens.rotate(&rotate.old, now, records).await? {
                Rotation::Rotated => {}
                // RT-06: another request rotated this token first (a concurrent refresh,
                // or a replay): reuse.
                Rotation::AlreadyRotated(marker) => {
                    let refusal = reuse_detected(
                        &*inner.tokens,
                        &marker,
                        client.id(),
                        now,
                        inner.refresh_reuse_grace,
                        inner.refresh_token_ttl,
                    )
                    .await?;
                    return Ok(Err(refusal));
                }
                Rotation::GrantRevoked => return Ok(Err(grant_revoked())),
                Rotation::NotFound => {
                    return Ok(Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                        .with_description("unknown, revoked or expired refresh token")));
                }
            },
        }
        // The success body (RFC 6749 §5.1, TE-11): members left out rather than `null`,
        // `expires_in` a number, `scope` a string, always present when non-empty (SC-04).
        let mut body = JsonObject::with_capacity(192);
        body.string("access_token", access_token.expose_secret())
            .string("token_type", "Bearer")
            .number("expires_in", inner.access_token_ttl.as_secs())
            .optional_string(
                "scope",
                Some(grant.scope.as_str()).filter(|s| !s.is_empty()),
            )
            .optional_string(
                "refresh_token",
                refresh_token.as_ref().map(|t| t.expose_secret()),
            );
        Ok(Ok(HttpResponse::json(Status::OK, body.finish())))
    }
}

/// The answer when the grant was revoked before the new tokens could be stored (AC-02).
fn grant_revoked() -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_GRANT).with_description("the grant was revoked")
}
