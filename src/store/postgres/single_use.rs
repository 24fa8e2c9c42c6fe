//! [`PgSingleUseStore`]: single-use records in `grantflow_single_use`.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use sqlx::postgres::PgPool;

use super::{purge_in_batches, storage_error, to_ns};
use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::store::{Consumption, SingleUseStore};

/// A [`SingleUseStore`] in PostgreSQL, keyed by digest.
///
/// [`consume`](SingleUseStore::consume) is one statement, `INSERT … ON CONFLICT (key_hash)
/// DO UPDATE … WHERE expires_ns <= now`: concurrent calls for one key queue on the row, and
/// each re-checks the row as the previous one left it, so exactly one of them inserts (or
/// replaces an expired record) and every other affects no row, whichever instance it runs
/// on.
#[derive(Clone)]
pub struct PgSingleUseStore {
    pool: PgPool,
}

impl fmt::Debug for PgSingleUseStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgSingleUseStore").finish_non_exhaustive()
    }
}

impl PgSingleUseStore {
    /// The store over `pool` (schema applied with
    /// [`PgStores::migrate`](super::PgStores::migrate)).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl SingleUseStore for PgSingleUseStore {
    async fn consume(
        &self,
        key: &TokenHash,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> Result<Consumption, StorageError> {
        let done = sqlx::query(
            "INSERT INTO grantflow_single_use (key_hash, expires_ns) VALUES ($1, $2) \
             ON CONFLICT (key_hash) DO UPDATE SET expires_ns = EXCLUDED.expires_ns \
             WHERE grantflow_single_use.expires_ns <= $3",
        )
        .bind(key.as_bytes().as_slice())
        .bind(to_ns(expires_at))
        .bind(to_ns(now))
        .execute(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(if done.rows_affected() == 1 {
            Consumption::First
        } else {
            Consumption::Replayed
        })
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        purge_in_batches(
            &self.pool,
            "WITH gone AS (DELETE FROM grantflow_single_use WHERE key_hash IN (SELECT key_hash \
             FROM grantflow_single_use WHERE expires_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING 1) SELECT count(*), count(*) FROM gone",
            to_ns(now),
        )
        .await
    }
}
