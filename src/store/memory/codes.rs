//! [`MemoryCodeStore`]: authorization codes held in memory.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;

use super::expiry::ExpiryQueue;
use crate::error::StorageError;
use crate::hash::DigestMap as FastMap;
use crate::secret::TokenHash;
use crate::store::{AuthorizationGrant, CodeStore, Redemption};

/// How many expired codes an insert purges at most: enough to outpace issuing, small
/// enough that no insert pauses for a time that grows with the store.
const PURGE_PER_INSERT: usize = 4;

/// The in-memory [`CodeStore`], the default of [`ServerBuilder`](crate::ServerBuilder).
///
/// Redemption is atomic under one mutex. A used code stays, marked used, until it expires,
/// so replays are recognised ([RFC 6749 §4.1.2]). Expired codes are purged incrementally: each
/// insert
/// removes a few of the oldest expired entries (using the new code's `issued_at` as the
/// current time), so the store is bounded by the codes issued within one code lifetime;
/// [`purge_expired`](Self::purge_expired) removes them all at once.
///
/// # Deployments of several instances
/// A code issued by one instance must be redeemable, exactly once, at every other: such
/// deployments must set a shared store with
/// [`ServerBuilder::code_store`](crate::ServerBuilder::code_store).
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// use std::time::{Duration, SystemTime};
/// use grantflow::*;
/// use grantflow::secret::AuthorizationCode;
/// use grantflow::store::{AuthorizationGrant, GrantId, Redemption};
///
/// let store = MemoryCodeStore::new();
/// let code = AuthorizationCode::generate();
/// let now = SystemTime::now();
/// let grant = AuthorizationGrant::new(
///     GrantId::generate(), ClientId::new("app")?, Subject::new("alice"),
///     Scope::parse("read")?, "https://as.example.com", now, now + Duration::from_secs(60),
/// );
/// block_on(store.insert(code.hash(), grant.clone()))?;
/// assert_eq!(block_on(store.redeem(&code.hash()))?, Redemption::Redeemed(grant.clone()));
/// assert_eq!(block_on(store.redeem(&code.hash()))?, Redemption::AlreadyUsed(grant));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
#[derive(Debug, Default)]
pub struct MemoryCodeStore {
    inner: Mutex<CodeTables>,
}

#[derive(Default)]
struct CodeTables {
    codes: FastMap<TokenHash, Entry>,
    expiry: ExpiryQueue,
}

struct Entry {
    grant: AuthorizationGrant,
    used: bool,
}

impl std::fmt::Debug for CodeTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeTables")
            .field("codes", &self.codes.len())
            .finish()
    }
}

impl CodeTables {
    fn purge(&mut self, now: SystemTime, limit: usize) -> usize {
        let mut purged = 0;
        while purged < limit {
            let Some(code) = self.expiry.pop_due(now) else {
                break;
            };
            if self.codes.remove(&code).is_some() {
                purged += 1;
            }
        }
        purged
    }
}

impl MemoryCodeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many codes the store holds, used or not, including expired ones not yet purged.
    pub fn len(&self) -> usize {
        self.lock().codes.len()
    }

    /// Whether the store holds no code.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every code that expired at or before `now`; returns how many.
    pub fn purge_expired(&self, now: SystemTime) -> usize {
        self.lock().purge(now, usize::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, CodeTables> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl CodeStore for MemoryCodeStore {
    async fn insert(&self, code: TokenHash, grant: AuthorizationGrant) -> Result<(), StorageError> {
        let mut tables = self.lock();
        tables.purge(grant.issued_at, PURGE_PER_INSERT);
        tables.expiry.push(grant.expires_at, &code);
        tables.codes.insert(code, Entry { grant, used: false });
        Ok(())
    }

    async fn redeem(&self, code: &TokenHash) -> Result<Redemption, StorageError> {
        let mut tables = self.lock();
        Ok(match tables.codes.get_mut(code) {
            None => Redemption::NotFound,
            Some(entry) if entry.used => Redemption::AlreadyUsed(entry.grant.clone()),
            Some(entry) => {
                entry.used = true;
                Redemption::Redeemed(entry.grant.clone())
            }
        })
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        Ok(self.lock().purge(now, usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::test_support::block_on;
    use crate::types::{ClientId, GrantId, Scope, Subject};

    fn grant(issued: u64) -> AuthorizationGrant {
        let issued = UNIX_EPOCH + Duration::from_secs(issued);
        AuthorizationGrant::new(
            GrantId::generate(),
            ClientId::new("c").unwrap(),
            Subject::new("u"),
            Scope::empty(),
            "https://as.example.com",
            issued,
            issued + Duration::from_secs(60),
        )
    }

    #[test]
    fn ac_04_concurrent_redemptions_have_exactly_one_winner() {
        let store = MemoryCodeStore::new();
        let code = TokenHash::of("c1");
        block_on(store.insert(code, grant(0))).unwrap();
        let winners = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| scope.spawn(|| block_on(store.redeem(&code)).unwrap()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join())
                .filter(|r| matches!(r, Ok(Redemption::Redeemed(_))))
                .count()
        });
        assert_eq!(winners, 1);
    }

    #[test]
    fn ac_01_redeem_is_single_use() {
        let store = MemoryCodeStore::new();
        let g = grant(0);
        block_on(store.insert(TokenHash::of("c1"), g.clone())).unwrap();
        let redeem = |code: &str| block_on(store.redeem(&TokenHash::of(code))).unwrap();
        assert_eq!(redeem("c1"), Redemption::Redeemed(g.clone()));
        assert_eq!(redeem("c1"), Redemption::AlreadyUsed(g));
        assert_eq!(redeem("nope"), Redemption::NotFound);
    }

    #[test]
    fn expired_codes_are_purged_incrementally() {
        let store = MemoryCodeStore::new();
        for n in 0..100 {
            block_on(store.insert(TokenHash::of(&n.to_string()), grant(0))).unwrap();
        }
        assert_eq!(store.len(), 100);
        for n in 100..110 {
            block_on(store.insert(TokenHash::of(&n.to_string()), grant(120))).unwrap();
        }
        assert_eq!(store.len(), 100 - 10 * PURGE_PER_INSERT + 10);
        let now = UNIX_EPOCH + Duration::from_secs(61);
        assert_eq!(store.purge_expired(now), 100 - 10 * PURGE_PER_INSERT);
        assert_eq!(store.len(), 10);
    }
}
