//! The device code grant at the token endpoint: polling.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::clock::revoked_until;
use crate::error::Rejection;
use crate::error::{ErrorCode, OAuthError};
use crate::grant::device::{PollState, SLOW_DOWN_STEP, check_poll};
use crate::grant::{GrantHandler, GrantRequest, TokenGrant};
use crate::secret::TokenHash;
use crate::store::{DeviceRecord, DeviceRedemption, DeviceState, DeviceStore, TokenStore};
use crate::types::GrantType;

/// The device code grant at the token endpoint
/// ([RFC 8628 §3.4](https://www.rfc-editor.org/rfc/rfc8628#section-3.4),
/// [§3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5)): DG-09..DG-11. Registered
/// when a device store is configured.
#[derive(Debug)]
pub(crate) struct DeviceCodeGrant {
    pub(crate) store: Arc<dyn DeviceStore>,
    pub(crate) tokens: Arc<dyn TokenStore>,
    /// How long a revoked grant's tombstone is kept (the refresh token lifetime).
    pub(crate) revoked_for: Duration,
}

#[async_trait]
impl GrantHandler for DeviceCodeGrant {
    fn grant_type(&self) -> &str {
        GrantType::DEVICE_CODE.as_str()
    }

    fn requires_client_id(&self) -> bool {
        true
    }

    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
        let Some(code) = request.param("device_code") else {
            return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("device_code required")
                .into());
        };
        let hash = TokenHash::of(code);
        let client = request.client();
        let now = request.now();
        // Unknown and foreign device codes get the same answer (DG-11), and a foreign poll
        // changes nothing about the real client's polling state.
        let Some(poll) = self
            .store
            .poll(&hash, client.id(), now, SLOW_DOWN_STEP)
            .await?
        else {
            return Err(invalid_grant().into());
        };
        let state = match &poll.record.state {
            DeviceState::Pending => PollState::Pending,
            DeviceState::Approved { .. } => PollState::Approved,
            DeviceState::Denied => PollState::Denied,
            DeviceState::Redeemed => {
                // A replayed device code: like a replayed authorization code, it revokes
                // what the grant issued (DESIGN decision 3).
                self.tokens
                    .revoke_grant(&poll.record.grant_id, revoked_until(now, self.revoked_for))
                    .await?;
                PollState::Redeemed
            }
        };
        check_poll(state, poll.record.expires_at, poll.too_fast, now)?;
        match self.store.redeem(&hash, client.id()).await? {
            DeviceRedemption::Redeemed(DeviceRecord {
                grant_id,
                state: DeviceState::Approved { subject, scope },
                ..
            }) => {
                // The server issues the refresh token only to clients that may use one
                // (RT-08).
                Ok(TokenGrant::for_grant(grant_id, scope)
                    .with_subject(subject)
                    .with_refresh_token())
            }
            DeviceRedemption::AlreadyRedeemed { grant_id } => {
                // Redeemed between the poll and now (a concurrent poll of the same code):
                // exactly one wins, and the replay revokes, as above.
                self.tokens
                    .revoke_grant(&grant_id, revoked_until(now, self.revoked_for))
                    .await?;
                Err(invalid_grant().into())
            }
            DeviceRedemption::Redeemed(_) | DeviceRedemption::NotApproved => {
                Err(invalid_grant().into())
            }
        }
    }
}

fn invalid_grant() -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_GRANT)
}
