//! [`PgKeySetStore`]: the signing-key sets of the JOSE layer in `grantflow_signing_keys`
//! (features `postgres` and `jwt`).

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgRow};

use super::{corrupt, from_ns, storage_error, to_ns};
use crate::error::StorageError;
use crate::jose::{Algorithm, KeyRecord, KeySetStore};

/// The first key of the advisory lock that serializes introductions into one key set (the
/// text `gfks`); the second is the hash of the set's name.
const KEY_SET_LOCK: i32 = 0x6766_6b73;

/// A [`KeySetStore`] in PostgreSQL, shared by every instance of a deployment.
///
/// [`introduce`](KeySetStore::introduce) is one transaction holding an advisory lock on the
/// set's name: the conflict check, the end of the keys it replaces and the insert cannot
/// interleave with another introduction into the same set. [`end`](KeySetStore::end) is
/// one `UPDATE` that only ever moves times earlier (`LEAST`), as the replacement in
/// `introduce` does, so the two commute.
#[derive(Clone)]
pub struct PgKeySetStore {
    pool: PgPool,
}

impl fmt::Debug for PgKeySetStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgKeySetStore").finish_non_exhaustive()
    }
}

impl PgKeySetStore {
    /// The store over `pool` (schema applied with
    /// [`PgStores::migrate`](super::PgStores::migrate)).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn record_from_row(row: &PgRow) -> Result<KeyRecord, StorageError> {
    let get = |e: sqlx::Error| storage_error(e);
    let algorithm: &str = row.try_get("algorithm").map_err(get)?;
    let algorithm = Algorithm::from_name(algorithm).ok_or(corrupt("key algorithm"))?;
    let time = |name: &str| -> Result<Option<SystemTime>, StorageError> {
        Ok(row
            .try_get::<Option<i64>, _>(name)
            .map_err(get)?
            .map(from_ns))
    };
    let mut record = KeyRecord::from_stored(
        row.try_get("kid").map_err(get)?,
        algorithm,
        row.try_get("public_jwk").map_err(get)?,
        time("published_ns")?.ok_or(corrupt("key schedule"))?,
        time("activates_ns")?.ok_or(corrupt("key schedule"))?,
    );
    record.retires_at = time("retires_ns")?;
    record.removes_at = time("removes_ns")?;
    Ok(record)
}

#[async_trait]
impl KeySetStore for PgKeySetStore {
    async fn load(&self, set: &str) -> Result<Vec<KeyRecord>, StorageError> {
        sqlx::query(
            "SELECT kid, algorithm, public_jwk, published_ns, activates_ns, retires_ns, \
             removes_ns FROM grantflow_signing_keys WHERE key_set = $1",
        )
        .bind(set)
        .fetch_all(&self.pool)
        .await
        .map_err(storage_error)?
        .iter()
        .map(record_from_row)
        .collect()
    }

    async fn introduce(
        &self,
        set: &str,
        record: KeyRecord,
        retention: Duration,
    ) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(KEY_SET_LOCK)
            .bind(set)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        let activates = to_ns(record.activates_at);
        let conflict: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM grantflow_signing_keys WHERE key_set = $1 \
             AND (kid = $2 OR (algorithm = $3 AND activates_ns > $4)) LIMIT 1",
        )
        .bind(set)
        .bind(&record.kid)
        .bind(record.algorithm.name())
        .bind(activates)
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage_error)?;
        if conflict.is_some() {
            tx.rollback().await.map_err(storage_error)?;
            return Ok(false);
        }
        // LEAST ignores a NULL: a removal time that overflows leaves the old one.
        let removal = record.activates_at.checked_add(retention).map(to_ns);
        sqlx::query(
            "UPDATE grantflow_signing_keys SET retires_ns = $3, \
             removes_ns = LEAST(removes_ns, $4) WHERE key_set = $1 AND algorithm = $2 \
             AND (retires_ns IS NULL OR retires_ns > $3)",
        )
        .bind(set)
        .bind(record.algorithm.name())
        .bind(activates)
        .bind(removal)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        sqlx::query(
            "INSERT INTO grantflow_signing_keys (key_set, kid, algorithm, public_jwk, \
             published_ns, activates_ns, retires_ns, removes_ns) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(set)
        .bind(&record.kid)
        .bind(record.algorithm.name())
        .bind(&record.public_jwk)
        .bind(to_ns(record.published_at))
        .bind(activates)
        .bind(record.retires_at.map(to_ns))
        .bind(record.removes_at.map(to_ns))
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    async fn end(
        &self,
        set: &str,
        kid: &str,
        retires_at: SystemTime,
        removes_at: SystemTime,
    ) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "UPDATE grantflow_signing_keys SET retires_ns = LEAST(retires_ns, $3), \
             removes_ns = LEAST(removes_ns, $4) WHERE key_set = $1 AND kid = $2",
        )
        .bind(set)
        .bind(kid)
        .bind(to_ns(retires_at))
        .bind(to_ns(removes_at))
        .execute(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn purge(&self, before: SystemTime) -> Result<usize, StorageError> {
        let done = sqlx::query("DELETE FROM grantflow_signing_keys WHERE removes_ns <= $1")
            .bind(to_ns(before))
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }
}
