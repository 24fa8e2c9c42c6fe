//! The device code grant at the token endpoint: polling.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::Rejection;
use crate::error::{ErrorCode, OAuthError, StorageError};
use crate::grant::device::{PollState, SLOW_DOWN_STEP, check_poll, is_too_fast, slowed_down};
use crate::grant::{GrantHandler, GrantRequest, TokenGrant, revoke_replayed};
use crate::observe::ReplayedCode;
use crate::secret::TokenHash;
use crate::store::{
    DevicePolling, DeviceRecord, DeviceRedemption, DeviceState, DeviceStore, TokenStore,
};
use crate::types::{ClientId, GrantType};

/// How often one poll tries to record itself when concurrent polls of the same device
/// code keep recording first. A poll that loses every time is answered as too fast.
const POLL_ATTEMPTS: usize = 8;

/// One poll, recorded: the request as the poll left it, and whether the poll came too
/// soon after the previous one.
#[derive(Debug)]
pub(crate) struct Poll {
    pub(crate) record: DeviceRecord,
    pub(crate) too_fast: bool,
}

/// Records a poll of `device_code` by `client` at `now`, applying the `slow_down` rule
/// ([RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5), [RFC 8628 §3.5]): the
/// poll is too fast when it comes sooner than the interval after the previous poll, and
/// then the interval grows by [`SLOW_DOWN_STEP`]; either way the poll's time is kept. The
/// rule is decided here, once for every backend; the store only compares and sets the
/// times ([`DeviceStore::record_poll`]), so concurrent polls are counted one by one.
///
/// `None` for an unknown device code or another client's: that client's polling state is
/// left alone ([RFC 8628 §3.5]).
///
/// # Errors
/// [`StorageError`] when the store fails.
///
/// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
pub(crate) async fn record_poll(
    store: &dyn DeviceStore,
    device_code: &TokenHash,
    client: &ClientId,
    now: SystemTime,
) -> Result<Option<Poll>, StorageError> {
    let mut last_read = None;
    for _ in 0..POLL_ATTEMPTS {
        let Some(mut record) = store.find(device_code).await? else {
            return Ok(None);
        };
        if record.client_id != *client {
            return Ok(None);
        }
        let seen = DevicePolling::of(&record);
        let too_fast = is_too_fast(seen.last_poll, seen.interval, now);
        let interval = if too_fast {
            slowed_down(seen.interval, SLOW_DOWN_STEP)
        } else {
            seen.interval
        };
        let next = DevicePolling::new(Some(now), interval);
        if store.record_poll(device_code, client, seen, next).await? {
            record.last_poll = next.last_poll;
            record.interval = next.interval;
            return Ok(Some(Poll { record, too_fast }));
        }
        last_read = Some(record);
    }
    // Every attempt lost to another poll of this code that recorded itself meanwhile:
    // this one came right with them, too soon.
    Ok(last_read.map(|record| Poll {
        record,
        too_fast: true,
    }))
}

/// The device code grant at the token endpoint
/// ([RFC 8628 §3.4](https://www.rfc-editor.org/rfc/rfc8628#section-3.4),
/// [§3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5)): [RFC 8628 §3.4]..[RFC 8628 §3.5].
/// Registered
/// when a device store is configured.
///
/// [RFC 8628 §3.4]: https://www.rfc-editor.org/rfc/rfc8628#section-3.4
/// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
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
        let Some(poll) = record_poll(&*self.store, &hash, client.id(), now).await? else {
            return Err(invalid_grant().into());
        };
        let state = match &poll.record.state {
            DeviceState::Pending => PollState::Pending,
            DeviceState::Approved { .. } => PollState::Approved,
            DeviceState::Denied => PollState::Denied,
            DeviceState::Redeemed => {
                // A replayed device code: like a replayed authorization code, it revokes
                // what the grant issued (DESIGN decision 3).
                revoke_replayed(
                    request,
                    &*self.tokens,
                    poll.record.grant_id,
                    ReplayedCode::DeviceCode,
                    self.revoked_for,
                )
                .await?;
                PollState::Redeemed
            }
        };
        check_poll(state, poll.record.expires_at, poll.too_fast, now)?;
        match self.store.redeem(&hash, client.id()).await? {
            DeviceRedemption::Redeemed(DeviceRecord {
                grant_id,
                resources,
                state: DeviceState::Approved { subject, scope },
                ..
            }) => {
                // RI-08: the resources named at the device authorization endpoint are the
                // grant's. The server issues the refresh token only to clients that may use
                // one (RT-08).
                Ok(request
                    .tokens_of_grant(grant_id, scope, resources)?
                    .with_subject(subject)
                    .with_refresh_token())
            }
            DeviceRedemption::AlreadyRedeemed { grant_id } => {
                // Redeemed between the poll and now (a concurrent poll of the same code):
                // exactly one wins, and the replay revokes, as above.
                revoke_replayed(
                    request,
                    &*self.tokens,
                    grant_id,
                    ReplayedCode::DeviceCode,
                    self.revoked_for,
                )
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

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::store::memory::MemoryDeviceStore;
    use crate::store::{DeviceDecision, DeviceInsert};
    use crate::test_support::block_on;
    use crate::types::{GrantId, Scope};

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + s)
    }

    fn tv() -> ClientId {
        ClientId::new("tv").unwrap()
    }

    fn store_with_request() -> (MemoryDeviceStore, TokenHash) {
        let store = MemoryDeviceStore::new();
        let hash = TokenHash::of("device-code");
        let record = DeviceRecord::new(
            GrantId::generate(),
            tv(),
            Scope::parse("a").unwrap(),
            "BCDFGHJK".to_owned(),
            at(0),
            at(600),
            Duration::from_secs(5),
        );
        assert_eq!(
            block_on(store.insert(hash, record)).unwrap(),
            DeviceInsert::Inserted
        );
        (store, hash)
    }

    /// [RFC 8628 §3.5] under concurrency: polls at one instant, one interval after the last, are
    /// recorded one by one through the store's compare-and-set: exactly one is in time and
    /// each of the others adds a step.
    ///
    /// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
    #[test]
    fn dg_10_concurrent_polls_are_counted_one_by_one() {
        const POLLS: usize = 4;
        let (store, hash) = store_with_request();
        block_on(record_poll(&store, &hash, &tv(), at(0))).unwrap();
        let barrier = Barrier::new(POLLS);
        let too_fast: Vec<bool> = std::thread::scope(|scope| {
            let polls: Vec<_> = (0..POLLS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        let poll = block_on(record_poll(&store, &hash, &tv(), at(5)));
                        poll.unwrap().unwrap().too_fast
                    })
                })
                .collect();
            polls.into_iter().map(|p| p.join().unwrap()).collect()
        });
        assert_eq!(too_fast.iter().filter(|fast| !**fast).count(), 1);
        let record = block_on(store.find(&hash)).unwrap().unwrap();
        let slowed = u32::try_from(POLLS - 1).unwrap();
        assert_eq!(
            record.interval,
            Duration::from_secs(5) + SLOW_DOWN_STEP * slowed
        );
        assert_eq!(record.last_poll, Some(at(5)));
    }

    /// A store whose compare-and-set of polls never succeeds, as if other polls of the
    /// code always recorded first.
    #[derive(Debug)]
    struct AlwaysRaced(MemoryDeviceStore);

    #[async_trait]
    impl DeviceStore for AlwaysRaced {
        async fn insert(
            &self,
            code: TokenHash,
            record: DeviceRecord,
        ) -> Result<DeviceInsert, StorageError> {
            self.0.insert(code, record).await
        }
        async fn find_by_user_code(
            &self,
            code: &str,
        ) -> Result<Option<(TokenHash, DeviceRecord)>, StorageError> {
            self.0.find_by_user_code(code).await
        }
        async fn find(&self, code: &TokenHash) -> Result<Option<DeviceRecord>, StorageError> {
            self.0.find(code).await
        }
        async fn decide(
            &self,
            code: &TokenHash,
            decision: DeviceDecision,
            now: SystemTime,
        ) -> Result<bool, StorageError> {
            self.0.decide(code, decision, now).await
        }
        async fn record_poll(
            &self,
            _: &TokenHash,
            _: &ClientId,
            _: DevicePolling,
            _: DevicePolling,
        ) -> Result<bool, StorageError> {
            Ok(false)
        }
        async fn redeem(
            &self,
            code: &TokenHash,
            client: &ClientId,
        ) -> Result<DeviceRedemption, StorageError> {
            self.0.redeem(code, client).await
        }
    }

    #[test]
    fn dg_10_a_poll_that_never_gets_recorded_is_too_fast() {
        let (store, hash) = store_with_request();
        let raced = AlwaysRaced(store);
        let poll = block_on(record_poll(&raced, &hash, &tv(), at(100)))
            .unwrap()
            .unwrap();
        assert!(poll.too_fast);
        assert_eq!(poll.record.last_poll, None);
        let other = ClientId::new("other").unwrap();
        assert!(
            block_on(record_poll(&raced, &hash, &other, at(100)))
                .unwrap()
                .is_none()
        );
    }
}
