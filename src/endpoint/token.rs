//! The token endpoint ([RFC 6749 §3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2)):
//! read the request, authenticate the client, dispatch by `grant_type` to a
//! [`GrantHandler`](crate::grant::GrantHandler), then mint, store and render the tokens.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::client_auth;
use crate::clock::expiry;
use crate::endpoint::{Authenticated, TokenStyleEndpoint};
use crate::error::{Error, ErrorCode, OAuthError, Rejection};
use crate::grant::refresh_token::handler::reuse_detected;
use crate::grant::{GrantHandler, GrantRequest, TokenGrant};
use crate::http::{HttpRequest, HttpResponse, Status};
use crate::observe::EventKind;
use crate::observe::call::{Call, Endpoint, grant_type_of};
use crate::params::Form;
use crate::render::JsonObject;
use crate::secret::{AccessToken, RefreshToken, TokenHash};
use crate::server::Server;
use crate::store::{Insert, Rotation, TokenKind, TokenRecord};
use crate::token_issuer::TokenClaims;
use crate::types::{Client, GrantId, GrantType, Resources, Scope};

impl Server {
    /// The token endpoint: `POST /token`
    /// ([RFC 6749 §3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2)).
    ///
    /// In order: POST only ([RFC 6749 §3.2], else 405 with `Allow: POST`); no credentials in the
    /// query ([RFC 6749 §2.3.1]); a form body in UTF-8 ([RFC 6749 §4.1.3]); no repeated parameter,
    /// empty values
    /// absent ([RFC 6749 §3.2]); a known `grant_type` ([RFC 6749 §5.2]); exactly one client
    /// authentication
    /// method ([RFC 6749 §2.3.1]..[RFC 6749 §2.3.1]); a grant type the client may use ([RFC 6749
    /// §5.2]); then the grant's own
    /// rules. Every response carries `Cache-Control: no-store` and `Pragma: no-cache`
    /// ([RFC 6749 §5.1]).
    ///
    /// An authorization code is consumed by the first request that reaches it: one that is
    /// well formed and whose client authenticated. Any later failure (another client, an
    /// expired code, a redirect URI or `code_verifier` that is missing, malformed or wrong)
    /// leaves the code used, since a code presented with the wrong binding may be a stolen
    /// or injected one ([RFC 9700 §4.5](https://www.rfc-editor.org/rfc/rfc9700#section-4.5),
    /// [RFC 6749 §10.5](https://www.rfc-editor.org/rfc/rfc6749#section-10.5)); the client
    /// starts the flow again. A request refused before that leaves the code alone.
    ///
    /// # Errors
    /// Only storage and plug-in faults; every protocol failure is an `Ok` response with
    /// its RFC status and JSON body.
    ///
    /// [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    /// [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
    /// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
    /// [RFC 6749 §5.1]: https://www.rfc-editor.org/rfc/rfc6749#section-5.1
    pub async fn token(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        self.token_style::<TokenEndpoint>(request).await
    }

    /// Mints, stores (all or nothing) and renders the tokens of `grant`. For a refresh,
    /// storing is the rotation's compare-and-swap; losing it is `invalid_grant`.
    async fn issue(
        &self,
        client: &Client,
        grant: TokenGrant,
        grant_type: &str,
        now: SystemTime,
        call: &Call<'_>,
        dpop_jkt: Option<&str>,
    ) -> Result<HttpResponse, Rejection> {
        let config = self.config();
        let grant_id = grant
            .grant_id
            .unwrap_or_else(|| GrantId::generate_with(&*config.random));
        let Minted {
            access_token,
            refresh_token,
            records,
        } = self.mint(client, &grant, grant_id, now, dpop_jkt).await?;
        // The ID token of an OpenID grant (feature `oidc`), signed before anything is
        // stored: a signing failure leaves no tokens behind.
        #[cfg(feature = "oidc")]
        let id_token = self.id_token(client, &grant, &access_token, now).await?;
        #[cfg(not(feature = "oidc"))]
        let id_token: Option<String> = None;
        self.store_tokens(client, &grant, records, now, call)
            .await?;
        let lifetime = access_expiry(&grant, now, config.tokens.access_ttl)?
            .duration_since(now)
            .unwrap_or_default();
        let response = token_response(
            &access_token,
            refresh_token.as_ref(),
            &grant,
            lifetime,
            id_token.as_deref(),
            dpop_jkt.is_some(),
        );
        let refreshed = refresh_token.is_some();
        let signed_in = id_token.is_some();
        call.emit(now, || {
            let (client_id, subject, scope) = (client.id().clone(), grant.subject, grant.scope);
            if grant.rotate.is_some() {
                EventKind::TokenRefreshed {
                    client_id,
                    subject,
                    grant_id,
                    scope,
                    refresh_token: refreshed,
                    id_token: signed_in,
                }
            } else {
                EventKind::TokenIssued {
                    grant_type: grant_type_of(grant_type),
                    client_id,
                    subject,
                    grant_id,
                    scope,
                    refresh_token: refreshed,
                    id_token: signed_in,
                }
            }
        });
        Ok(response)
    }

    /// Mints the access token of `grant`, and its refresh token when the client may have
    /// one, with the records to store under their digests.
    async fn mint(
        &self,
        client: &Client,
        grant: &TokenGrant,
        grant_id: GrantId,
        now: SystemTime,
        dpop_jkt: Option<&str>,
    ) -> Result<Minted, Rejection> {
        let config = self.config();
        let (tokens, random) = (&config.tokens, &*config.random);
        let expires_at = access_expiry(grant, now, tokens.access_ttl)?;
        let claims = TokenClaims {
            issuer: &config.issuer,
            client_id: client.id(),
            subject: grant.subject.as_ref(),
            scope: &grant.scope,
            audience: &grant.audience,
            grant_id: &grant_id,
            issued_at: now,
            expires_at,
            actor: grant.actor.as_ref(),
            auth_time: grant.auth_time,
            acr: grant.acr.as_deref(),
            dpop_jkt,
        };
        let access_token = self
            .access_token_issuer(client, claims.audience)
            .access_token(&claims, random)
            .await?;
        // RT-08: a refresh token only for a client registered to receive them and allowed
        // the refresh_token grant, whatever grant asked for one.
        // OI-18: a client registered for it gets refresh tokens of an OpenID grant only
        // for granted offline access.
        let offline_ok = grant.openid.is_none()
            || !client.refresh_needs_offline_access()
            || grant.refresh_bounds().0.contains("offline_access");
        let refresh_token = if grant.refresh_token
            && offline_ok
            && client.issues_refresh_tokens()
            && client.allows_grant_type(GrantType::REFRESH_TOKEN.as_str())
        {
            let (scope, audience) = grant.refresh_bounds();
            let refresh_claims = TokenClaims {
                expires_at: expiry(now, tokens.refresh_ttl)?,
                scope,
                audience,
                dpop_jkt: None,
                ..claims
            };
            let token = tokens
                .token_issuer
                .refresh_token(&refresh_claims, random)
                .await?;
            Some((token, refresh_claims.expires_at))
        } else {
            None
        };
        let records = token_records(
            client,
            grant,
            grant_id,
            now,
            (&access_token, expires_at),
            refresh_token.as_ref().map(|(token, until)| (token, *until)),
            dpop_jkt,
        );
        Ok(Minted {
            access_token,
            refresh_token: refresh_token.map(|(token, _)| token),
            records,
        })
    }

    /// Stores the records of one response, all or nothing: an insert, or for a refresh the
    /// rotation's compare-and-swap.
    async fn store_tokens(
        &self,
        client: &Client,
        grant: &TokenGrant,
        records: Vec<(TokenHash, TokenRecord)>,
        now: SystemTime,
        call: &Call<'_>,
    ) -> Result<(), Rejection> {
        let tokens = &self.config().tokens;
        let Some(old) = &grant.rotate else {
            return match tokens.store.insert(records).await? {
                Insert::Stored => Ok(()),
                // AC-02: the grant was revoked (a replayed code) while this request was
                // between redeeming and storing: no tokens.
                Insert::GrantRevoked => Err(grant_revoked().into()),
            };
        };
        match tokens.store.rotate(old, now, records).await? {
            Rotation::Rotated => Ok(()),
            // RT-06: another request rotated this token first (a concurrent refresh, or a
            // replay): reuse.
            Rotation::AlreadyRotated(marker) => Err(reuse_detected(
                call,
                &*tokens.store,
                &marker,
                client.id(),
                now,
                tokens.refresh_reuse_grace,
                tokens.refresh_ttl,
            )
            .await),
            Rotation::GrantRevoked => Err(grant_revoked().into()),
            Rotation::NotFound => Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                .with_description("unknown, revoked or expired refresh token")
                .into()),
        }
    }
}

impl Server {
    /// The DPoP proof of a token request
    /// ([RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5)): the thumbprint of
    /// its key when the request carries a valid one; `None` without a `DPoP` header, or
    /// when DPoP is off (the header is then ignored). A proof that fails is
    /// `invalid_dpop_proof`; a missing one, where the server or the client requires DPoP,
    /// `invalid_request`.
    async fn token_request_proof(
        &self,
        call: &Authenticated<'_>,
    ) -> Result<Option<String>, Rejection> {
        #[cfg(feature = "dpop")]
        let (jkt, required) = {
            let config = self.config();
            let proof = self
                .dpop_proof(call.request, &config.metadata.token_endpoint, call.now)
                .await?;
            (proof.map(|p| p.jkt().to_owned()), config.dpop.required)
        };
        #[cfg(not(feature = "dpop"))]
        let (jkt, required): (Option<String>, bool) = (None, false);
        // EX-11: a client registered for DPoP, or any client where the server requires
        // it, gets no bearer token (RFC 9449 §5.2).
        if jkt.is_none() && (required || call.client.requires_dpop_bound_access_tokens()) {
            return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("a DPoP proof is required")
                .into());
        }
        Ok(jkt)
    }

    /// The issuer of `client`'s access tokens for `audience`: the JWT issuer when the
    /// server issues JWT access tokens and the client's format is JWT, else the server's
    /// [`TokenIssuer`](crate::TokenIssuer).
    fn access_token_issuer(
        &self,
        client: &Client,
        audience: &Resources,
    ) -> &dyn crate::TokenIssuer {
        #[cfg(feature = "jwt")]
        if let Some(jwt) = &self.state().jwt_access_tokens {
            if jwt.format_for(client, audience) == crate::issuer::AccessTokenFormat::Jwt {
                return jwt;
            }
        }
        let _ = (client, audience);
        &*self.config().tokens.token_issuer
    }
}

/// The records of the tokens minted for `grant`, with their expiry, to store under their
/// digests.
fn token_records(
    client: &Client,
    grant: &TokenGrant,
    grant_id: GrantId,
    now: SystemTime,
    access: (&AccessToken, SystemTime),
    refresh: Option<(&RefreshToken, SystemTime)>,
    dpop_jkt: Option<&str>,
) -> Vec<(TokenHash, TokenRecord)> {
    let record = |kind, scope: &Scope, audience: &Resources, expires_at| {
        TokenRecord::new(
            kind,
            grant_id,
            client.id().clone(),
            scope.clone(),
            now,
            expires_at,
        )
        .with_subject(grant.subject.clone())
        .with_audience(audience.clone())
        // The grant's tokens keep its OpenID context without the nonce, which belongs to
        // the first ID token only (OI-20).
        .with_openid(grant.openid.as_ref().map(|o| {
            if o.nonce.is_some() {
                Arc::new(o.without_nonce())
            } else {
                Arc::clone(o)
            }
        }))
        .with_actor(grant.actor.clone())
    };
    let mut records = Vec::with_capacity(2);
    records.push((
        access.0.hash(),
        record(TokenKind::Access, &grant.scope, &grant.audience, access.1)
            .with_dpop_jkt(dpop_jkt.map(str::to_owned)),
    ));
    if let Some((token, expires_at)) = refresh {
        let (scope, audience) = grant.refresh_bounds();
        // EX-12: a public client's refresh token is bound to its DPoP key (RFC 9449 §5);
        // a confidential client's is bound by its authentication, and it may switch keys.
        let bound = dpop_jkt.filter(|_| client.is_public());
        records.push((
            token.hash(),
            record(TokenKind::Refresh, scope, audience, expires_at)
                .with_dpop_jkt(bound.map(str::to_owned)),
        ));
    }
    records
}

/// When the access token of `grant` expires: the server's lifetime from `now`, or the
/// grant's cap when that is earlier.
fn access_expiry(
    grant: &TokenGrant,
    now: SystemTime,
    lifetime: Duration,
) -> Result<SystemTime, Rejection> {
    let expires_at = expiry(now, lifetime)?;
    Ok(grant
        .not_after
        .map_or(expires_at, |cap| cap.min(expires_at)))
}

/// The tokens of one response, and the records to store under their digests.
struct Minted {
    access_token: AccessToken,
    refresh_token: Option<RefreshToken>,
    records: Vec<(TokenHash, TokenRecord)>,
}

/// The success body ([RFC 6749 §5.1](https://www.rfc-editor.org/rfc/rfc6749#section-5.1),
/// [RFC 6749 §5.1]): members left out rather than `null`, `expires_in` a number, `scope` a string,
/// always present when non-empty ([RFC 6749 §3.3]); the `id_token` of an OpenID grant
/// ([OpenID Connect Core §3.1.3.3](https://openid.net/specs/openid-connect-core-1_0.html#TokenResponse)).
///
/// [RFC 6749 §5.1]: https://www.rfc-editor.org/rfc/rfc6749#section-5.1
/// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
fn token_response(
    access_token: &AccessToken,
    refresh_token: Option<&RefreshToken>,
    grant: &TokenGrant,
    lifetime: Duration,
    id_token: Option<&str>,
    dpop_bound: bool,
) -> HttpResponse {
    let scope = &grant.scope;
    let mut body = JsonObject::with_capacity(192);
    body.string("access_token", access_token.expose_secret())
        .optional_string("issued_token_type", grant.issued_token_type)
        // EX-04: a token bound to a DPoP key is of type `DPoP` (RFC 9449 §5).
        .string("token_type", if dpop_bound { "DPoP" } else { "Bearer" })
        .number("expires_in", lifetime.as_secs())
        .optional_string("scope", Some(scope.as_str()).filter(|s| !s.is_empty()))
        .optional_string("refresh_token", refresh_token.map(|t| t.expose_secret()))
        .optional_string("id_token", id_token);
    HttpResponse::json(Status::OK, body.finish())
}

/// The answer when the grant was revoked before the new tokens could be stored ([RFC 6749 §4.1.2]).
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
fn grant_revoked() -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_GRANT).with_description("the grant was revoked")
}

/// The token endpoint, run by [`Server::token_style`].
pub(crate) enum TokenEndpoint {}

impl TokenStyleEndpoint for TokenEndpoint {
    const ENDPOINT: Endpoint = Endpoint::Token;
    const CORS: bool = true;

    type Route<'s> = &'s dyn GrantHandler;

    /// A `grant_type` ([RFC 6749 §5.2]) the server has a handler for, and a named client where the
    /// grant needs one ([RFC 6749 §3.2.1]): refused before client authentication.
    ///
    /// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
    /// [RFC 6749 §3.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2.1
    fn route<'s>(
        server: &'s Server,
        request: &HttpRequest,
        form: &Form<'_>,
        call: &Call<'_>,
    ) -> Result<&'s dyn GrantHandler, Rejection> {
        let Some(grant_type) = form.get("grant_type") else {
            return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("grant_type required")
                .into());
        };
        let Some(handler) = server
            .state()
            .grant_handlers
            .iter()
            .find(|h| h.grant_type() == grant_type)
        else {
            // OB-10: a grant type nobody registered is `other`, whatever its text.
            call.grant_type(None);
            return Err(OAuthError::new(ErrorCode::UNSUPPORTED_GRANT_TYPE).into());
        };
        call.grant_type(Some(handler.grant_type()));
        if handler.requires_client_id() && !client_auth::identifies_client(request, form) {
            return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("client_id required when the client does not authenticate")
                .into());
        }
        Ok(&**handler)
    }

    /// A grant type the client may use ([RFC 6749 §5.2]), then the grant's own rules, then the
    /// tokens.
    ///
    /// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
    async fn serve<'s>(
        server: &'s Server,
        call: Authenticated<'_>,
        handler: &'s dyn GrantHandler,
    ) -> Result<HttpResponse, Rejection> {
        let grant_type = handler.grant_type();
        if !call.client.allows_grant_type(grant_type) {
            return Err(OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
                .with_description("the client may not use this grant type")
                .into());
        }
        let proof = server.token_request_proof(&call).await?;
        let dpop_jkt = proof.as_deref();
        let grant_request = GrantRequest {
            grant_type,
            client: &call.client,
            form: call.form,
            now: call.now,
            issuer: server.issuer(),
            resources: &server.config().resources,
            call: call.call,
            dpop_jkt,
        };
        let grant = handler.handle(&grant_request).await?;
        let response = server
            .issue(
                &call.client,
                grant,
                grant_type,
                call.now,
                call.call,
                dpop_jkt,
            )
            .await?;
        // EX-09: the next nonce, on the success of a request with a proof.
        #[cfg(feature = "dpop")]
        if dpop_jkt.is_some() {
            return Ok(server.with_next_dpop_nonce(response, call.now));
        }
        Ok(response)
    }
}
