//! The revocation endpoint ([RFC 7009](https://www.rfc-editor.org/rfc/rfc7009)): a client
//! tells the server it no longer needs a token, for example when its user signs out.

use crate::clock::revoked_until;
use crate::endpoint::{Authenticated, AuthenticatedEndpoint, token_parameter};
use crate::error::{Error, ErrorCode, OAuthError, Rejection};
use crate::http::{HttpRequest, HttpResponse, Status};
use crate::observe::call::Endpoint;
use crate::observe::{EventKind, RevocationCause};
use crate::secret::TokenHash;
use crate::server::Server;
use crate::store::TokenKind;

impl Server {
    /// The revocation endpoint: `POST /revoke`
    /// ([RFC 7009 §2](https://www.rfc-editor.org/rfc/rfc7009#section-2)).
    ///
    /// In order: the token-style front (POST only, form body, no credentials in the
    /// query, no repeated parameter: [RFC 7009 §2.1], [RFC 6749 §3.2]..[RFC 6749 §2.3.1]); client
    /// authentication exactly as
    /// at the token endpoint, including the brute-force limiter ([RFC 7009 §2.2.1]), with public
    /// clients sending only `client_id` (`none`); then a required `token` ([RFC 7009 §2.1]).
    ///
    /// > The authorization server responds with HTTP status code 200 if the token has been
    /// > revoked successfully or if the client submitted an invalid token.
    ///
    /// So a token that is unknown, malformed, expired or already revoked gets 200 ([RFC 7009
    /// §2.2]).
    /// `token_type_hint` is never an error and never narrows the search: access and
    /// refresh tokens share one digest-keyed store, so a single lookup finds either kind
    /// whatever the hint says ([RFC 7009 §2.1]).
    ///
    /// Revoking a refresh token revokes every token of its grant, access tokens included
    /// ([`TokenStore::revoke_grant`](crate::store::TokenStore::revoke_grant), [RFC 7009 §2], [RFC
    /// 7009 §2.1]).
    /// Revoking an access token revokes that token only. Both take effect at once: the
    /// records are removed before the response is sent.
    ///
    /// **JWT access tokens** (feature `jwt`) are revoked the same way, and what asks the
    /// server learns it at once: introspection answers `{"active":false}`, and a
    /// [`BearerGuard`](crate::guard::BearerGuard) on the token store refuses the token. A
    /// resource server that verifies JWTs offline asks nobody: it accepts a revoked token
    /// until the token's `exp`, since the signature and claims are all it checks
    /// ([RFC 9068 §1](https://www.rfc-editor.org/rfc/rfc9068#section-1)). The access token
    /// lifetime ([`ServerBuilder::access_token_ttl`](crate::ServerBuilder::access_token_ttl))
    /// bounds that window; keep it short (minutes) where offline verification is used, and
    /// let refresh tokens, which are always checked here, carry the longer session.
    ///
    /// Only the client the token was issued to may revoke it ([RFC 7009 §2.1]). A request from
    /// another client revokes nothing and, by default, is answered 400 `invalid_grant`;
    /// with
    /// [`ServerBuilder::revocation_hides_foreign_tokens`](crate::ServerBuilder::revocation_hides_foreign_tokens)
    /// it is answered 200 instead, so the response does not reveal that the token exists.
    ///
    /// The success response is 200 with an empty body and `Cache-Control: no-store`.
    ///
    /// # Errors
    /// Only storage faults; every protocol outcome is an `Ok` response.
    ///
    /// [RFC 7009 §2.1]: https://www.rfc-editor.org/rfc/rfc7009#section-2.1
    /// [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    /// [RFC 7009 §2.2.1]: https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
    /// [RFC 7009 §2.2]: https://www.rfc-editor.org/rfc/rfc7009#section-2.2
    /// [RFC 7009 §2]: https://www.rfc-editor.org/rfc/rfc7009#section-2
    pub async fn revoke(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        self.token_style::<Revocation>(request).await
    }
}

/// The revocation endpoint, run by [`Server::token_style`].
pub(crate) enum Revocation {}

impl AuthenticatedEndpoint for Revocation {
    const ENDPOINT: Endpoint = Endpoint::Revocation;
    const CORS: bool = true;

    async fn serve(server: &Server, call: Authenticated<'_>) -> Result<HttpResponse, Rejection> {
        let token = token_parameter(call.form)?;
        // `token_type_hint` is deliberately not read: one lookup covers both kinds, and an
        // unknown hint value must not change the response (RV-03, RV-04).
        let tokens = &*server.config().tokens.store;
        let hash = TokenHash::of(token);
        let Some(record) = tokens.find(&hash).await? else {
            return Ok(revoked());
        };
        if record.client_id != *call.client.id() {
            if server.config().revocation.hide_foreign_tokens {
                return Ok(revoked());
            }
            return Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                .with_description("the token was not issued to this client")
                .into());
        }
        match record.kind {
            TokenKind::Refresh => {
                let until = revoked_until(call.now, server.config().tokens.refresh_ttl);
                tokens.revoke_grant(&record.grant_id, until).await?;
            }
            TokenKind::Access => {
                tokens.revoke(&hash).await?;
            }
        }
        call.call.emit(call.now, || EventKind::TokenRevoked {
            client_id: record.client_id.clone(),
            grant_id: record.grant_id,
            kind: record.kind,
        });
        if record.kind == TokenKind::Refresh {
            call.call.emit(call.now, || EventKind::GrantRevoked {
                grant_id: record.grant_id,
                client_id: record.client_id,
                cause: RevocationCause::RefreshTokenRevoked,
            });
        }
        Ok(revoked())
    }
}

/// 200, empty body: "the content of the response body is ignored by the client"
/// ([RFC 7009 §2.2](https://www.rfc-editor.org/rfc/rfc7009#section-2.2)).
fn revoked() -> HttpResponse {
    HttpResponse::new(Status::OK)
        .with_header("cache-control", "no-store")
        .with_header("pragma", "no-cache")
}
