//! Storage of device authorization requests
//! ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)): the [`DeviceStore`] trait and the
//! records it holds.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::types::{ClientId, GrantId, Resources, Scope, Subject};

/// Where a device authorization request stands. The only transitions are
/// `Pending → Approved | Denied` ([`DeviceStore::decide`]) and `Approved → Redeemed`
/// ([`DeviceStore::redeem`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_enums,
    reason = "the RFC 8628 state machine: backends persist every state, so a new one is a breaking change anyway"
)]
pub enum DeviceState {
    /// Waiting for the user.
    Pending,
    /// The user approved; tokens not yet issued.
    Approved {
        /// The user who approved.
        subject: Subject,
        /// The scope the user granted (within the requested scope).
        scope: Scope,
    },
    /// The user denied.
    Denied,
    /// Tokens were issued; the device code is used up.
    Redeemed,
}

/// What the server keeps about one device authorization request, stored under the
/// [`TokenHash`] of its device code.
///
/// `Debug` leaves the user code out: while the request is pending, it is what a user
/// types to approve it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceRecord {
    /// The grant the tokens will belong to.
    pub grant_id: GrantId,
    /// The client that asked; only it may poll with the device code ([RFC 8628 §5.2], [RFC 8628
    /// §3.5]).
    ///
    /// [RFC 8628 §5.2]: https://www.rfc-editor.org/rfc/rfc8628#section-5.2
    /// [RFC 8628 §3.5]: https://www.rfc-editor.org/rfc/rfc8628#section-3.5
    pub client_id: ClientId,
    /// The scope the client requested.
    pub scope: Scope,
    /// The resources the client named (`resource`,
    /// [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)), or empty; they
    /// apply to the resulting grant ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub resources: Resources,
    /// The user code in normalised form (no dashes). It is not stored as a digest: with
    /// 35 bits a digest would not hide it, and it is shown on screen anyway. What protects
    /// it is its lifetime and the rate limit on wrong entries ([RFC 8628 §5.1]).
    ///
    /// [RFC 8628 §5.1]: https://www.rfc-editor.org/rfc/rfc8628#section-5.1
    pub user_code: String,
    /// When the request was made.
    pub created_at: SystemTime,
    /// When the device code and the user code expire.
    pub expires_at: SystemTime,
    /// The current minimum polling interval; it grows by 5 s with every `slow_down`.
    pub interval: Duration,
    /// When the device last polled, if it has.
    pub last_poll: Option<SystemTime>,
    /// Where the request stands.
    pub state: DeviceState,
}

impl fmt::Debug for DeviceRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceRecord")
            .field("grant_id", &self.grant_id)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("resources", &self.resources)
            .field("user_code", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("interval", &self.interval)
            .field("last_poll", &self.last_poll)
            .field("state", &self.state)
            .finish()
    }
}

impl DeviceRecord {
    /// A new pending request that has not been polled yet.
    pub fn new(
        grant_id: GrantId,
        client_id: ClientId,
        scope: Scope,
        user_code: String,
        created_at: SystemTime,
        expires_at: SystemTime,
        interval: Duration,
    ) -> Self {
        Self {
            grant_id,
            client_id,
            scope,
            resources: Resources::empty(),
            user_code,
            created_at,
            expires_at,
            interval,
            last_poll: None,
            state: DeviceState::Pending,
        }
    }

    /// Sets the resources.
    #[must_use]
    pub fn with_resources(mut self, resources: Resources) -> Self {
        self.resources = resources;
        self
    }

    /// Whether the request has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }
}

/// The answer of [`DeviceStore::insert`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceInsert {
    /// Stored.
    Inserted,
    /// A live request already uses this user code; nothing was stored. The server draws
    /// another code and tries again.
    UserCodeTaken,
}

/// The user's decision, applied with [`DeviceStore::decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_enums,
    reason = "a user approves or denies; nothing else"
)]
pub enum DeviceDecision {
    /// Approve for `subject` with `scope`.
    Approve {
        /// The user who approved.
        subject: Subject,
        /// The scope granted.
        scope: Scope,
    },
    /// Deny.
    Deny,
}

/// The polling state of a device authorization request, which
/// [`DeviceStore::record_poll`] compares and sets as one value: when the device last
/// polled, and the interval it must keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DevicePolling {
    /// When the device last polled, if it has.
    pub last_poll: Option<SystemTime>,
    /// The current minimum polling interval.
    pub interval: Duration,
}

impl DevicePolling {
    /// A polling state.
    pub fn new(last_poll: Option<SystemTime>, interval: Duration) -> Self {
        Self {
            last_poll,
            interval,
        }
    }

    /// The polling state of `record`.
    pub fn of(record: &DeviceRecord) -> Self {
        Self::new(record.last_poll, record.interval)
    }
}

/// The answer of [`DeviceStore::redeem`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceRedemption {
    /// This call redeemed the request. The record is as it was before: state
    /// [`DeviceState::Approved`], with the subject and scope to issue for.
    Redeemed(DeviceRecord),
    /// The request was redeemed before, for this grant: a replayed device code.
    AlreadyRedeemed {
        /// The grant whose tokens were issued.
        grant_id: GrantId,
    },
    /// Unknown, bound to another client, or not approved.
    NotApproved,
}

/// Holds device authorization requests
/// ([RFC 8628 §3.2](https://www.rfc-editor.org/rfc/rfc8628#section-3.2)), keyed by the
/// digest of the device code, with a second lookup by user code.
///
/// # Contract
/// - Keys are [`TokenHash`]es of device codes: the store never sees a device code.
/// - Every state change is one atomic compare-and-set on the state, which a SQL backend
///   does in one `UPDATE … WHERE state = …` statement:
///   [`decide`](Self::decide) moves `Pending → Approved | Denied`, and
///   [`redeem`](Self::redeem) moves `Approved → Redeemed`. Of N concurrent redemptions,
///   exactly one succeeds; the others learn "already redeemed, by grant X".
/// - [`record_poll`](Self::record_poll) is a compare-and-set of the polling state; the
///   server applies the `slow_down` rule ([RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5))
///   itself and only asks the store to keep the times.
/// - A user code belongs to at most one unexpired request at a time.
/// - Lookups may return expired records, so late polls still get `expired_token`;
///   stores purge them some time after expiry so they do not grow without bound.
///
/// "Not found" is `Ok(None)` (or [`DeviceRedemption::NotApproved`]); a [`StorageError`]
/// means the backend failed.
#[async_trait]
pub trait DeviceStore: Send + Sync + fmt::Debug {
    /// Stores a new pending request under its device code digest, unless a request that
    /// has not expired at `record.created_at` already uses `record.user_code`.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure, or when the store is full (then
    /// [`StorageError::transient`], which the client sees as `temporarily_unavailable`).
    async fn insert(
        &self,
        device_code: TokenHash,
        record: DeviceRecord,
    ) -> Result<DeviceInsert, StorageError>;

    /// The request with this (normalised) user code, with its device code digest.
    ///
    /// # Errors
    /// [`StorageError`] only for a backend failure, never for "not found".
    async fn find_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<(TokenHash, DeviceRecord)>, StorageError>;

    /// The request stored under `device_code`.
    ///
    /// # Errors
    /// [`StorageError`] only for a backend failure, never for "not found".
    async fn find(&self, device_code: &TokenHash) -> Result<Option<DeviceRecord>, StorageError>;

    /// Applies the user's decision, atomically and only if the request is still
    /// [`DeviceState::Pending`] and has not expired at `now`. Returns whether it did.
    ///
    /// In SQL: `UPDATE … SET state = …, subject = …, scope = … WHERE device_hash = $1 AND
    /// state = 'pending' AND expires_at > $now`, then check the row count.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn decide(
        &self,
        device_code: &TokenHash,
        decision: DeviceDecision,
        now: SystemTime,
    ) -> Result<bool, StorageError>;

    /// Records a poll: sets the polling state of the request of `client_id` stored under
    /// `device_code` to `next`, atomically and only if it is still `seen` (both fields
    /// equal). Returns whether it did; `false` also for an unknown code or another
    /// client's.
    ///
    /// The server reads the record with [`find`](Self::find), decides with the
    /// `slow_down` rule whether the poll is too fast and what the interval becomes, and
    /// records its decision here; when a concurrent poll of the same code recorded itself
    /// first, the compare fails and the server decides again on what that poll left. So
    /// of N concurrent polls with the same `seen`, exactly one must succeed.
    ///
    /// In SQL: `UPDATE … SET last_poll = $next_poll, interval = $next_interval WHERE
    /// device_hash = $1 AND client_id = $2 AND last_poll IS NOT DISTINCT FROM $seen_poll
    /// AND interval = $seen_interval`, then check the row count.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn record_poll(
        &self,
        device_code: &TokenHash,
        client_id: &ClientId,
        seen: DevicePolling,
        next: DevicePolling,
    ) -> Result<bool, StorageError>;

    /// Moves an approved request of `client_id` to [`DeviceState::Redeemed`], atomically
    /// and exactly once.
    ///
    /// In SQL: `UPDATE … SET state = 'redeemed' WHERE device_hash = $1 AND client_id = $2
    /// AND state = 'approved' RETURNING …`; when no row changed, read the row to tell
    /// [`DeviceRedemption::AlreadyRedeemed`] from [`DeviceRedemption::NotApproved`].
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn redeem(
        &self,
        device_code: &TokenHash,
        client_id: &ClientId,
    ) -> Result<DeviceRedemption, StorageError>;

    /// Removes requests that expired at or before `now` (and are past any retention the
    /// store keeps for late polls), and returns how many. Stores that purge on their own
    /// (as [`MemoryDeviceStore`](crate::MemoryDeviceStore) does) may leave the default, which does nothing.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        let _ = now;
        Ok(0)
    }

    /// Whether the store answers, for [`Server::health`](crate::Server::health). The
    /// default looks up the digest of a fixed text, which no device code can have (one
    /// round trip); override it with a cheaper ping if there is one.
    ///
    /// # Errors
    /// [`StorageError`] when the backend does not answer.
    async fn check_health(&self) -> Result<(), StorageError> {
        self.find(&TokenHash::of(super::HEALTH_PROBE))
            .await
            .map(|_| ())
    }
}
