//! The revocation endpoint ([RFC 7009](https://www.rfc-editor.org/rfc/rfc7009)): a client
//! tells the server it no longer needs a token, for example when its user signs out.

use crate::clock::revoked_until;
use crate::endpoint::read_token_style_form;
use crate::error::{Error, ErrorCode, OAuthError};
use crate::http::{HttpRequest, HttpResponse, Status};
use crate::params::Form;
use crate::secret::TokenHash;
use crate::server::Server;
use crate::store::TokenKind;

impl Server {
    /// The revocation endpoint: `POST /revoke`
    /// ([RFC 7009 §2](https://www.rfc-editor.org/rfc/rfc7009#section-2)).
    ///
    /// In order: the token-style front (POST only, form body, no credentials in the
    /// query, no repeated parameter: RV-01, TE-01..TE-04); client authentication exactly as
    /// at the token endpoint, including the brute-force limiter (RV-07), with public
    /// clients sending only `client_id` (`none`); then a required `token` (RV-01).
    ///
    /// > The authorization server responds with HTTP status code 200 if the token has been
    /// > revoked successfully or if the client submitted an invalid token.
    ///
    /// So a token that is unknown, malformed, expired or already revoked gets 200 (RV-03).
    /// `token_type_hint` is never an error and never narrows the search: access and
    /// refresh tokens share one digest-keyed store, so a single lookup finds either kind
    /// whatever the hint says (RV-04).
    ///
    /// Revoking a refresh token revokes every token of its grant, access tokens included
    /// ([`TokenStore::revoke_grant`](crate::TokenStore::revoke_grant), RV-02, RV-06).
    /// Revoking an access token revokes that token only. Both take effect at once: the
    /// records are removed before the response is sent.
    ///
    /// Only the client the token was issued to may revoke it (RV-05). A request from
    /// another client revokes nothing and, by default, is answered 400 `invalid_grant`;
    /// with
    /// [`ServerBuilder::revocation_hides_foreign_tokens`](crate::ServerBuilder::revocation_hides_foreign_tokens)
    /// it is answered 200 instead, so the response does not reveal that the token exists.
    ///
    /// The success response is 200 with an empty body and `Cache-Control: no-store`.
    ///
    /// # Errors
    /// Only storage faults; every protocol outcome is an `Ok` response.
    pub async fn revoke(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let form = match read_token_style_form(request, &self.inner.form_limits) {
            Ok(form) => form,
            Err(response) => return Ok(response),
        };
        match self.revoke_with_form(request, &form).await? {
            Ok(()) => Ok(revoked()),
            Err(error) => Ok(error.to_response()),
        }
    }

    async fn revoke_with_form(
        &self,
        request: &HttpRequest,
        form: &Form<'_>,
    ) -> Result<Result<(), OAuthError>, Error> {
        let now = self.now();
        let client = match self.authenticate_client(request, form, now).await? {
            Ok(client) => client,
            Err(error) => return Ok(Err(error)),
        };
        let Some(token) = form.get("token") else {
            return Ok(Err(
                OAuthError::new(ErrorCode::INVALID_REQUEST).with_description("token required")
            ));
        };
        // `token_type_hint` is deliberately not read: one lookup covers both kinds, and an
        // unknown hint value must not change the response (RV-03, RV-04).
        let hash = TokenHash::of(token);
        let Some(record) = self.inner.tokens.find(&hash).await? else {
            return Ok(Ok(()));
        };
        if record.client_id != *client.id() {
            if self.inner.revocation_hides_foreign_tokens {
                return Ok(Ok(()));
            }
            return Ok(Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                .with_description("the token was not issued to this client")));
        }
        match record.kind {
            TokenKind::Refresh => {
                self.inner
                    .tokens
                    .revoke_grant(
                        &record.grant_id,
                        revoked_until(now, self.inner.refresh_token_ttl),
                    )
                    .await?;
            }
            TokenKind::Access => {
                self.inner.tokens.revoke(&hash).await?;
            }
        }
        Ok(Ok(()))
    }
}

/// 200, empty body: "the content of the response body is ignored by the client"
/// ([RFC 7009 §2.2](https://www.rfc-editor.org/rfc/rfc7009#section-2.2)).
fn revoked() -> HttpResponse {
    HttpResponse::new(Status::OK)
        .with_header("cache-control", "no-store")
        .with_header("pragma", "no-cache")
}
