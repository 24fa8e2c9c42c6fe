//! Issued tokens: the [`TokenStore`] plug-in and the records it holds.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::store::OpenIdContext;
use crate::types::{Actor, ClientId, GrantId, Resources, Scope, Subject};

/// Which kind of token a [`TokenRecord`] describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

/// What the server knows about an issued token, stored under the token's [`TokenHash`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRecord {
    /// Access or refresh token.
    pub kind: TokenKind,
    /// The grant the token belongs to.
    pub grant_id: GrantId,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The resource owner, or `None` for tokens that act for the client itself.
    pub subject: Option<Subject>,
    /// The granted scope.
    pub scope: Scope,
    /// When the token was issued.
    pub issued_at: SystemTime,
    /// When the token stops being valid.
    pub expires_at: SystemTime,
    /// The resources the token is for (its `aud`,
    /// [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)), or empty for a
    /// token not restricted to a resource. A bearer guard refuses a token whose audience
    /// does not contain its own resource identifier ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1), [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)). For a refresh token:
    /// the resources of the whole grant, which later access tokens may name ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub audience: Resources,
    /// For a token of an OpenID Connect grant: what the grant's ID tokens say about the
    /// authentication (without the `nonce`), for the ID token of a refresh and for the
    /// UserInfo endpoint; `None` for plain OAuth.
    pub openid: Option<Arc<OpenIdContext>>,
    /// For a token issued by delegation (token exchange): who acts on the subject's
    /// behalf, with the actors before it (the `act` claim,
    /// [RFC 8693 §4.1](https://www.rfc-editor.org/rfc/rfc8693#section-4.1)). Stores keep
    /// it as [`Actor::to_json`] text.
    pub actor: Option<Actor>,
    /// For a token bound to a DPoP key: the key's
    /// [RFC 7638](https://www.rfc-editor.org/rfc/rfc7638) thumbprint (`jkt`,
    /// [RFC 9449 §6](https://www.rfc-editor.org/rfc/rfc9449#section-6)). An access token
    /// with one is a `DPoP` token; a refresh token with one is refreshed only with a proof
    /// by that key. `None` for a bearer token.
    pub dpop_jkt: Option<String>,
}

impl TokenRecord {
    /// A record without subject; add one with [`with_subject`](Self::with_subject).
    pub fn new(
        kind: TokenKind,
        grant_id: GrantId,
        client_id: ClientId,
        scope: Scope,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Self {
        Self {
            kind,
            grant_id,
            client_id,
            subject: None,
            scope,
            issued_at,
            expires_at,
            audience: Resources::empty(),
            openid: None,
            actor: None,
            dpop_jkt: None,
        }
    }

    /// Binds the token to the DPoP key with thumbprint `jkt`, or leaves it a bearer token.
    #[must_use]
    pub fn with_dpop_jkt(mut self, jkt: Option<String>) -> Self {
        self.dpop_jkt = jkt;
        self
    }

    /// Sets the OpenID Connect context of a token of an OpenID grant.
    #[must_use]
    pub fn with_openid(mut self, openid: Option<Arc<OpenIdContext>>) -> Self {
        self.openid = openid;
        self
    }

    /// Sets the actor chain.
    #[must_use]
    pub fn with_actor(mut self, actor: Option<Actor>) -> Self {
        self.actor = actor;
        self
    }

    /// Sets the audience.
    #[must_use]
    pub fn with_audience(mut self, audience: Resources) -> Self {
        self.audience = audience;
        self
    }

    /// Sets the subject.
    #[must_use]
    pub fn with_subject(mut self, subject: Option<Subject>) -> Self {
        self.subject = subject;
        self
    }

    /// Whether the token has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }

    /// Whether the token is valid at `now`: not expired, and not issued after `now`
    /// ([RFC 7662 §2.2], [OAuth 2.1 §5]). "After" allows [`CLOCK_SKEW`](Self::CLOCK_SKEW): the
    /// instances of
    /// one deployment share their tokens, and a token one of them has just issued must not
    /// look issued in the future to another whose clock is a little behind. Expiry has no
    /// such allowance.
    ///
    /// [RFC 7662 §2.2]: https://www.rfc-editor.org/rfc/rfc7662#section-2.2
    /// [OAuth 2.1 §5]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-5
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        !self.is_expired(now)
            && now
                .checked_add(Self::CLOCK_SKEW)
                .is_none_or(|latest| self.issued_at <= latest)
    }

    /// How far the clocks of instances sharing a store may differ: 60 seconds.
    pub const CLOCK_SKEW: Duration = Duration::from_secs(60);
}

/// Holds issued access and refresh tokens, keyed by digest.
///
/// # Contract
/// - Keys are [`TokenHash`]es: the store never sees a token value.
/// - [`insert`](Self::insert) writes all given records or none: a token response is only
///   sent once every token in it is stored, and a failed write leaves nothing behind.
/// - [`find`](Self::find) may return an expired record; the server checks expiry against
///   its own clock. Stores should purge expired records so they do not grow without bound.
/// - [`revoke_grant`](Self::revoke_grant) removes the tokens of a grant **and** marks the
///   grant revoked (a tombstone kept until the `until` the server passes, when every token
///   of the grant would have expired anyway). While the tombstone lasts,
///   [`insert`](Self::insert) and [`rotate`](Self::rotate) refuse, all or nothing, any
///   batch with a record of that grant ([`Insert::GrantRevoked`],
///   [`Rotation::GrantRevoked`]). The check and the write are one atomic step: a
///   revocation that runs between a code's redemption and the storing of its tokens
///   ([RFC 6749 §4.1.2]) still wins, whichever comes first.
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// Stores the records of one token response, all or nothing, unless one of them
    /// belongs to a grant revoked by [`revoke_grant`](Self::revoke_grant) whose tombstone
    /// is still kept: then nothing is stored and the answer is [`Insert::GrantRevoked`].
    ///
    /// The tombstone check and the write must be one atomic step. In SQL, with
    /// `revoke_grant` upserting `revoked_grants (grant_id, until)` and deleting the
    /// grant's tokens in one transaction, `insert` is one transaction of
    /// `INSERT INTO tokens (hash, grant_id, …) SELECT $1, $2, … WHERE NOT EXISTS (SELECT 1
    /// FROM revoked_grants WHERE grant_id = $2 AND until > $now)` (`$now`: the newest
    /// `issued_at` of the batch), rolled back unless every row went in. Under
    /// `READ COMMITTED` both transactions must also serialize per grant (for example both
    /// first take `pg_advisory_xact_lock` on the grant id, or both run `SERIALIZABLE` and
    /// retry): otherwise an insert that checked before the tombstone was committed can
    /// commit after the delete, and its tokens stay.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; then none of the records is stored.
    async fn insert(&self, tokens: Vec<(TokenHash, TokenRecord)>) -> Result<Insert, StorageError>;

    /// The record stored under `token`, if any.
    ///
    /// # Errors
    /// [`StorageError`] only for a backend failure, never for "not found".
    async fn find(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError>;

    /// Removes the record under `token` and returns it, if there was one.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn revoke(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError>;

    /// Revokes `grant`: removes every record of it (access and refresh tokens alike),
    /// returns how many there were, and remembers the grant as revoked (a tombstone) at
    /// least until `until`, so that a later [`insert`](Self::insert) or
    /// [`rotate`](Self::rotate) of a record of this grant is refused. The server passes
    /// the time when every token the grant could still receive would have expired (now
    /// plus its refresh token lifetime). A second call for the same grant keeps the later
    /// `until`. Tombstones past their `until` should be purged, like expired records.
    ///
    /// # Security
    /// Without the tombstone, a revocation that runs while another request is between
    /// redeeming a code and storing its tokens would revoke nothing, and those tokens
    /// would stay live ([RFC 6749 §4.1.2]).
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; then the grant may not be revoked, and the
    /// server answers the request with an error.
    ///
    /// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
    async fn revoke_grant(&self, grant: &GrantId, until: SystemTime)
    -> Result<usize, StorageError>;

    /// Removes every record issued to `client` (access and refresh tokens of all its
    /// grants) and returns how many there were. The server calls it when a dynamically
    /// registered client is deleted
    /// ([RFC 7592 §2.3](https://www.rfc-editor.org/rfc/rfc7592#section-2.3): its tokens
    /// should be revoked). The default removes nothing and returns 0, for stores that
    /// cannot find records by client: such a client's tokens then live until they expire.
    /// A token issued while the deletion runs may escape it; the client can no longer
    /// authenticate, so it cannot refresh one.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn revoke_client(&self, client: &ClientId) -> Result<usize, StorageError> {
        let _ = client;
        Ok(0)
    }

    /// Removes records that expired at or before `now`, and returns how many. Stores that
    /// purge on their own (as [`MemoryTokenStore`](crate::MemoryTokenStore) does) may leave the default, which does
    /// nothing.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        let _ = now;
        Ok(0)
    }

    /// Whether the store answers, for [`Server::health`](crate::Server::health). The
    /// default looks up the digest of a fixed text, which no issued token can have (one
    /// round trip); override it with a cheaper ping if there is one.
    ///
    /// # Errors
    /// [`StorageError`] when the backend does not answer.
    async fn check_health(&self) -> Result<(), StorageError> {
        self.find(&TokenHash::of(super::HEALTH_PROBE))
            .await
            .map(|_| ())
    }

    /// Looks a presented refresh token up, including tokens already rotated out: a
    /// rotated-out token is remembered (its digest, grant and client) until its original
    /// expiry, so that its reuse is recognised ([RFC 9700 §4.14.2]).
    ///
    /// The default maps [`find`](Self::find) to [`RefreshLookup::Active`], which never
    /// reports a rotated-out token; stores that implement [`rotate`](Self::rotate) must
    /// override it.
    ///
    /// # Errors
    /// [`StorageError`] only for a backend failure, never for "not found".
    ///
    /// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
    async fn find_refresh(&self, token: &TokenHash) -> Result<Option<RefreshLookup>, StorageError> {
        Ok(self.find(token).await?.map(RefreshLookup::Active))
    }

    /// Rotates a refresh token: a compare-and-swap that, **atomically**, checks that
    /// `old` is an active refresh token, replaces it by a rotated-out marker (kept until
    /// the old token's expiry, recording `now`), and stores `successors` (the new access
    /// and refresh token records), all or nothing.
    ///
    /// When a successor belongs to a revoked grant (see
    /// [`revoke_grant`](Self::revoke_grant)), nothing changes and the answer is
    /// [`Rotation::GrantRevoked`].
    ///
    /// Of any number of concurrent calls for one `old`, exactly one returns
    /// [`Rotation::Rotated`]; the others return [`Rotation::AlreadyRotated`], and none of
    /// their successors is stored. In SQL this is
    /// `UPDATE tokens SET rotated_at = $now WHERE hash = $old AND rotated_at IS NULL` (one
    /// row updated means this call won) followed by the inserts, in one transaction.
    ///
    /// The default refuses with a [`StorageError`], so a store that does not implement
    /// rotation fails closed: refresh requests get `server_error`, never a second
    /// successor.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; then nothing changed.
    async fn rotate(
        &self,
        old: &TokenHash,
        now: SystemTime,
        successors: Vec<(TokenHash, TokenRecord)>,
    ) -> Result<Rotation, StorageError> {
        let _ = (old, now, successors);
        Err(StorageError::new(
            "this TokenStore does not implement refresh token rotation",
        ))
    }
}

/// What [`TokenStore::find_refresh`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshLookup {
    /// A stored, not yet rotated token record (it may still be expired, or not be a
    /// refresh token: the server checks).
    Active(TokenRecord),
    /// A refresh token that was rotated out: presenting it again is reuse ([RFC 9700 §4.14.2]).
    ///
    /// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
    RotatedOut(RotatedOut),
}

/// The marker left by a rotated-out refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotatedOut {
    /// The grant the token belonged to; reuse revokes it.
    pub grant_id: GrantId,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// When it was rotated out.
    pub rotated_at: SystemTime,
    /// When the marker may be forgotten (the old token's expiry).
    pub expires_at: SystemTime,
}

impl RotatedOut {
    /// A marker, as rebuilt by a store.
    pub fn new(
        grant_id: GrantId,
        client_id: ClientId,
        rotated_at: SystemTime,
        expires_at: SystemTime,
    ) -> Self {
        Self {
            grant_id,
            client_id,
            rotated_at,
            expires_at,
        }
    }
}

/// The outcome of [`TokenStore::rotate`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rotation {
    /// This call rotated the token; the successors are stored.
    Rotated,
    /// Another call rotated it first; nothing was stored.
    AlreadyRotated(RotatedOut),
    /// No active token under that digest (revoked, purged or never issued); nothing was
    /// stored.
    NotFound,
    /// A successor belongs to a grant revoked by [`TokenStore::revoke_grant`]; nothing
    /// changed.
    GrantRevoked,
}

/// The outcome of [`TokenStore::insert`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Insert {
    /// Every record is stored.
    Stored,
    /// A record belongs to a grant revoked by [`TokenStore::revoke_grant`] (its tombstone
    /// is still kept); none of the records is stored.
    GrantRevoked,
}
