//! The `authorization_code` grant at the token endpoint
//! ([RFC 6749 §4.1.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3)).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::Rejection;
use crate::error::{ErrorCode, OAuthError};
use crate::grant::authorization_code::{CodeUse, Exchange, check_exchange, parse_verifier};
use crate::grant::{GrantHandler, GrantRequest, TokenGrant, revoke_replayed};
use crate::observe::ReplayedCode;
use crate::secret::TokenHash;
use crate::store::{CodeStore, Redemption, TokenStore};
use crate::types::GrantType;

/// Redeems authorization codes: [RFC 6749 §4.1.2]..[RFC 6749 §10.10], [RFC 7636 §4.1]..[RFC 9700
/// §2.1.1], [RFC 9700 §4.4.1]. Registered by
/// [`ServerBuilder::build`](crate::ServerBuilder::build).
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
/// [RFC 6749 §10.10]: https://www.rfc-editor.org/rfc/rfc6749#section-10.10
/// [RFC 7636 §4.1]: https://www.rfc-editor.org/rfc/rfc7636#section-4.1
/// [RFC 9700 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1
/// [RFC 9700 §4.4.1]: https://www.rfc-editor.org/rfc/rfc9700#section-4.4.1
#[derive(Debug)]
pub(crate) struct AuthorizationCodeGrant {
    pub(crate) codes: Arc<dyn CodeStore>,
    pub(crate) tokens: Arc<dyn TokenStore>,
    /// How long a revoked grant's tombstone is kept (the refresh token lifetime).
    pub(crate) revoked_for: Duration,
}

#[async_trait]
impl GrantHandler for AuthorizationCodeGrant {
    fn grant_type(&self) -> &str {
        GrantType::AUTHORIZATION_CODE.as_str()
    }

    fn requires_client_id(&self) -> bool {
        true
    }

    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
        let Some(code) = request.param("code") else {
            return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("code required")
                .into());
        };
        // PK-07: the verifier's syntax is checked without comparing it to anything, but
        // only once the code is consumed: every failure burns the code (see the module).
        let verifier = parse_verifier(request.param("code_verifier"));
        // AC-01, AC-04: one atomic store operation decides single use.
        let redemption = self.codes.redeem(&TokenHash::of(code)).await?;
        let exchange = Exchange {
            client_id: request.client().id(),
            registered_redirect_uris: request.client().redirect_uris(),
            redirect_uri: request.param("redirect_uri"),
            code_verifier: verifier?,
            issuer: request.issuer(),
            now: request.now(),
            dpop_jkt: request.dpop_jkt(),
        };
        match redemption {
            Redemption::Redeemed(grant) => {
                check_exchange(&grant, &exchange, CodeUse::First)?;
                // RI-06: the access token is for the named resources among the granted
                // ones (or all of them); the refresh token keeps the whole grant.
                Ok(request
                    .tokens_of_grant(grant.grant_id, grant.scope, grant.resources)?
                    .with_subject(grant.subject)
                    .with_refresh_token()
                    .with_openid(grant.openid))
            }
            Redemption::AlreadyUsed(grant) => {
                // AC-03: only a replay that passes client authentication (already done)
                // and every binding check, PKCE included, revokes. Someone holding just
                // the code cannot revoke the victim's tokens.
                check_exchange(&grant, &exchange, CodeUse::Replay)?;
                // AC-02: the code was used before, so whoever redeemed it first may not
                // be the client: revoke every token of the grant.
                // The tombstone also refuses the tokens of a first redemption that is still
                // between its redeem and its insert.
                revoke_replayed(
                    request,
                    &*self.tokens,
                    grant.grant_id,
                    ReplayedCode::AuthorizationCode,
                    self.revoked_for,
                )
                .await?;
                Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                    .with_description("code already used")
                    .into())
            }
            Redemption::NotFound => Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                .with_description("unknown or expired code")
                .into()),
        }
    }
}
