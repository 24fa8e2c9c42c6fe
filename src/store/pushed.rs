//! Pushed authorization requests
//! ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)): the [`PushedRequestStore`]
//! plug-in and the [`PushedRequest`] it holds.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::types::ClientId;

/// An authorization request a client pushed
/// ([RFC 9126 §2](https://www.rfc-editor.org/rfc/rfc9126#section-2)), stored under the
/// [`TokenHash`] of its `request_uri`.
///
/// `Debug` shows the client and the expiry, not the parameters.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushedRequest {
    /// The authenticated client that pushed the request: the only one that may use it
    /// ([RFC 9126 §4](https://www.rfc-editor.org/rfc/rfc9126#section-4)).
    pub client_id: ClientId,
    /// The authorization request parameters, form-encoded
    /// (`application/x-www-form-urlencoded`), without the client's credentials. They are
    /// validated again, against the registry as it is then, when the `request_uri` is
    /// used.
    pub parameters: String,
    /// When the `request_uri` stops being usable.
    pub expires_at: SystemTime,
}

impl PushedRequest {
    /// A record; stores use it to rebuild one.
    pub fn new(client_id: ClientId, parameters: String, expires_at: SystemTime) -> Self {
        Self {
            client_id,
            parameters,
            expires_at,
        }
    }

    /// Whether the request has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }
}

impl fmt::Debug for PushedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushedRequest")
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Storage for pushed authorization requests, keyed by the [`TokenHash`] of their
/// `request_uri` ([RFC 9126 §2.2](https://www.rfc-editor.org/rfc/rfc9126#section-2.2)).
///
/// The authorization endpoint reads a request with [`find`](Self::find) each time its page
/// loads (the host calls [`Server::authorize`](crate::Server::authorize) again after login
/// and consent), and [`consume`](Self::consume)s it when the user approves: the request is
/// used once, when the authorization completes
/// ([RFC 9126 §4](https://www.rfc-editor.org/rfc/rfc9126#section-4)).
///
/// # Contract
/// - Keys are digests: the store never sees a `request_uri`.
/// - [`find`](Self::find) returns the record exactly as inserted while it is neither
///   expired (`expires_at` at or before `now`) nor consumed, and `None` otherwise.
/// - [`consume`](Self::consume) is **atomic**: of any number of concurrent calls for one
///   key, on any instance, at most one returns `true`, and only while the record is
///   neither expired nor consumed; afterwards `find` returns `None`.
/// - Records may be purged once they have expired.
///
/// In SQL, `consume` is one statement, for example in PostgreSQL:
///
/// ```sql
/// DELETE FROM pushed_requests WHERE key = $1 AND expires > $2  -- one row: true
/// ```
#[async_trait]
pub trait PushedRequestStore: Send + Sync + fmt::Debug {
    /// Stores `request` under `key`, a fresh random digest.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; the client then gets `server_error`.
    async fn insert(&self, key: &TokenHash, request: PushedRequest) -> Result<(), StorageError>;

    /// The unexpired, unconsumed record under `key`, if any.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn find(
        &self,
        key: &TokenHash,
        now: SystemTime,
    ) -> Result<Option<PushedRequest>, StorageError>;

    /// Uses the record under `key` up, atomically: `true` for the one call that found it
    /// unexpired and unconsumed (see the trait contract).
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; no code is then issued.
    async fn consume(&self, key: &TokenHash, now: SystemTime) -> Result<bool, StorageError>;

    /// Removes records that expired at or before `now`, and returns how many. Stores that
    /// purge on their own may leave the default, which does nothing.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        let _ = now;
        Ok(0)
    }
}
