//! The `refresh_token` grant at the token endpoint
//! ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6)), with rotation and
//! reuse detection ([RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2)).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::clock::revoked_until;
use crate::error::Rejection;
use crate::error::{ErrorCode, OAuthError};
use crate::grant::refresh_token::{Reuse, check_refresh, on_reuse};
use crate::grant::resource::token_audience;
use crate::grant::{GrantHandler, GrantRequest, TokenGrant};
use crate::observe::call::Call;
use crate::observe::{EventKind, RevocationCause};
use crate::secret::TokenHash;
use crate::store::{RefreshLookup, RotatedOut, TokenStore};
use crate::types::{ClientId, GrantType};

/// Refreshes: [RFC 6749 §6]..[RFC 9700 §4.14.2]. Registered by
/// [`ServerBuilder::build`](crate::ServerBuilder::build). The rotation itself (a
/// compare-and-swap in the token store) happens when the new tokens are stored, in
/// `Server::issue`, so that exactly one successor is ever stored.
///
/// [RFC 6749 §6]: https://www.rfc-editor.org/rfc/rfc6749#section-6
/// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
#[derive(Debug)]
pub(crate) struct RefreshTokenGrant {
    pub(crate) tokens: Arc<dyn TokenStore>,
    pub(crate) grace: Duration,
    /// How long a revoked grant's tombstone is kept (the refresh token lifetime).
    pub(crate) revoked_for: Duration,
    /// Whether confidential clients' refresh tokens are rotated.
    pub(crate) rotate_confidential: bool,
}

/// A rotated-out refresh token came back ([RFC 9700 §4.14.2]): revoke every token of its grant,
/// unless
/// the policy says to only refuse; either way the answer is `invalid_grant` (or the fault
/// of a revocation that failed).
///
/// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
pub(crate) async fn reuse_detected(
    call: &Call<'_>,
    tokens: &dyn TokenStore,
    marker: &RotatedOut,
    client: &ClientId,
    now: SystemTime,
    grace: Duration,
    revoked_for: Duration,
) -> Rejection {
    let revoke = on_reuse(marker, client, now, grace) == Reuse::Revoke;
    call.emit(now, || EventKind::RefreshReuseDetected {
        client_id: client.clone(),
        grant_id: marker.grant_id,
        revoked: revoke,
    });
    if revoke {
        let until = revoked_until(now, revoked_for);
        if let Err(fault) = tokens.revoke_grant(&marker.grant_id, until).await {
            return fault.into();
        }
        call.emit(now, || EventKind::GrantRevoked {
            grant_id: marker.grant_id,
            client_id: client.clone(),
            cause: RevocationCause::RefreshReuse,
        });
    }
    OAuthError::new(ErrorCode::INVALID_GRANT)
        .with_description("refresh token already used")
        .into()
}

#[async_trait]
impl GrantHandler for RefreshTokenGrant {
    fn grant_type(&self) -> &str {
        GrantType::REFRESH_TOKEN.as_str()
    }

    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
        let Some(token) = request.param("refresh_token") else {
            return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("refresh_token required")
                .into());
        };
        let hash = TokenHash::of(token);
        let record = match self.tokens.find_refresh(&hash).await? {
            Some(RefreshLookup::Active(record)) => record,
            Some(RefreshLookup::RotatedOut(marker)) => {
                return Err(reuse_detected(
                    request.call,
                    &*self.tokens,
                    &marker,
                    request.client().id(),
                    request.now(),
                    self.grace,
                    self.revoked_for,
                )
                .await);
            }
            _ => {
                return Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                    .with_description("unknown, revoked or expired refresh token")
                    .into());
            }
        };
        let scope = check_refresh(
            &record,
            request.client().id(),
            request.param("scope"),
            request.now(),
        )?;
        // EX-12: a refresh token bound to a DPoP key (a public client's) is refreshed only
        // with a proof by that key (RFC 9449 §5).
        if record
            .dpop_jkt
            .as_deref()
            .is_some_and(|bound| request.dpop_jkt() != Some(bound))
        {
            return Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                .with_description(
                    "the refresh token is bound to a DPoP key the request does not prove",
                )
                .into());
        }
        // RI-07: the access token may name fewer of the granted resources, never more.
        let (audience, access_scope) = token_audience(
            request.resources,
            request.client(),
            &record.audience,
            request.resource_values(),
            &scope,
        )?;
        // RT-03, RI-07: the new refresh token keeps the scope and resources of the one
        // presented, even when the access token is narrowed.
        let mut issued = TokenGrant::for_grant(record.grant_id, access_scope)
            .with_audience(audience)
            .with_openid(record.openid);
        issued.subject = record.subject;
        // A confidential client may keep its refresh token (no rotation): an access token
        // only. Public clients' tokens always rotate (RFC 9700 §4.14.2).
        if self.rotate_confidential || request.client().is_public() {
            issued = issued.with_refresh_token();
            issued.whole_grant = Some((record.scope, record.audience));
            issued.rotate = Some(hash);
        }
        Ok(issued)
    }
}
