//! Values accepted at most once: the [`SingleUseStore`] plug-in and the keys it holds.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use sha2::{Digest as _, Sha256};

use crate::error::StorageError;
use crate::secret::TokenHash;

/// What a single-use value is, so that equal values of different kinds (or of different
/// clients) never collide in one store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SingleUseKind {
    /// The `jti` of a client assertion
    /// ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3), item 7), scoped
    /// to the client that signed it.
    ClientAssertion,
    /// The `jti` of a JWT bearer grant assertion
    /// ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3), item 7), scoped
    /// to the issuer that signed it: a namespace apart from client assertions.
    JwtBearerAssertion,
    /// The `jti` of a DPoP proof
    /// ([RFC 9449 §11.1](https://www.rfc-editor.org/rfc/rfc9449#section-11.1)), scoped to
    /// the normalized target URI (`htu`) it was made for.
    DpopProof,
    /// The `jti` of a request object
    /// ([RFC 9101 §6](https://www.rfc-editor.org/rfc/rfc9101#section-6)), scoped to the
    /// client that signed it.
    RequestObject,
}

impl SingleUseKind {
    /// A stable name, part of the stored digest.
    const fn tag(self) -> &'static str {
        match self {
            Self::ClientAssertion => "client_assertion",
            Self::JwtBearerAssertion => "jwt_bearer_assertion",
            Self::DpopProof => "dpop_proof",
            Self::RequestObject => "request_object",
        }
    }

    /// The key under which `value`, used by `owner` (a client id, or an issuer), is
    /// recorded: the
    /// SHA-256 of the kind, the owner and the value, each length-prefixed so that no two
    /// triples share an encoding. The store sees only this digest, never the value.
    pub fn key(self, owner: &str, value: &str) -> TokenHash {
        let mut hash = Sha256::new();
        for part in [self.tag(), owner, value] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        TokenHash::from_bytes(hash.finalize().into())
    }
}

/// The outcome of [`SingleUseStore::consume`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Consumption {
    /// The key was not recorded (or only by a record that had expired): it is recorded
    /// now, and this is the one acceptance.
    First,
    /// The key is recorded and its record has not expired: a replay.
    Replayed,
}

/// Storage for values that may be accepted only once until they expire: the `jti` of
/// client assertions, of JWT bearer grant assertions and of DPoP proofs, keyed by
/// [`SingleUseKind::key`] digests.
///
/// # Contract
/// - Keys are digests: the store never sees the value.
/// - [`consume`](Self::consume) is **atomic**: of any number of concurrent calls for one
///   key, on any instance, exactly one gets [`Consumption::First`]; every other call,
///   then or later until the recorded `expires_at`, gets [`Consumption::Replayed`].
/// - A record whose `expires_at` is at or before the call's `now` counts as absent, and is
///   replaced; records may be purged once they have expired.
///
/// A SQL backend does `consume` in one statement, for example in PostgreSQL:
///
/// ```sql
/// INSERT INTO single_use (key, expires) VALUES ($1, $2)
/// ON CONFLICT (key) DO UPDATE SET expires = EXCLUDED.expires
/// WHERE single_use.expires <= $3      -- one row affected: First; none: Replayed
/// ```
///
/// and Redis with `SET key 1 NX PXAT <expires>`.
#[async_trait]
pub trait SingleUseStore: Send + Sync + fmt::Debug {
    /// Records `key` until `expires_at`, atomically, and says whether it was already
    /// recorded (see the trait contract).
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; the value is then not accepted.
    async fn consume(
        &self,
        key: &TokenHash,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> Result<Consumption, StorageError>;

    /// Removes records that expired at or before `now`, and returns how many. Stores that
    /// purge on their own (as [`MemorySingleUseStore`](crate::store::MemorySingleUseStore) does)
    /// may leave the default, which does nothing.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        let _ = now;
        Ok(0)
    }

    /// Whether the backend answers, for
    /// [`Server::health`](crate::Server::health). The default purges what expired before
    /// 1970, which is nothing: one round trip that changes nothing. Stores that purge on
    /// their own should override it with a read.
    ///
    /// # Errors
    /// [`StorageError`] when the backend does not answer.
    async fn check_health(&self) -> Result<(), StorageError> {
        self.purge_expired(std::time::UNIX_EPOCH).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_kind_owner_and_value() {
        let kind = SingleUseKind::ClientAssertion;
        assert_ne!(kind.key("ab", "c"), kind.key("a", "bc"));
        assert_ne!(kind.key("c1", "j"), kind.key("c2", "j"));
        assert_eq!(kind.key("c1", "j"), kind.key("c1", "j"));
    }
}
