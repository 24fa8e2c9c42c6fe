//! [`PgPushedRequestStore`]: pushed authorization requests in `grantflow_pushed_requests`.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use sqlx::postgres::PgPool;

use super::{client_id, from_ns, purge_in_batches, storage_error, to_ns};
use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::store::{PushedRequest, PushedRequestStore};

/// A [`PushedRequestStore`] in PostgreSQL, keyed by the digest of the `request_uri`.
///
/// [`consume`](PushedRequestStore::consume) is one statement, `DELETE … WHERE hash = $1
/// AND expires_ns > now`: of concurrent calls for one key, whichever instance runs them,
/// the first deletes the row and every other affects none.
#[derive(Clone)]
pub struct PgPushedRequestStore {
    pool: PgPool,
}

impl fmt::Debug for PgPushedRequestStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgPushedRequestStore")
            .finish_non_exhaustive()
    }
}

impl PgPushedRequestStore {
    /// The store over `pool` (schema applied with
    /// [`PgStores::migrate`](super::PgStores::migrate)).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl PushedRequestStore for PgPushedRequestStore {
    async fn insert(&self, key: &TokenHash, request: PushedRequest) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO grantflow_pushed_requests (hash, client_id, parameters, expires_ns) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(key.as_bytes().as_slice())
        .bind(request.client_id.as_str())
        .bind(&request.parameters)
        .bind(to_ns(request.expires_at))
        .execute(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn find(
        &self,
        key: &TokenHash,
        now: SystemTime,
    ) -> Result<Option<PushedRequest>, StorageError> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT client_id, parameters, expires_ns FROM grantflow_pushed_requests \
             WHERE hash = $1 AND expires_ns > $2",
        )
        .bind(key.as_bytes().as_slice())
        .bind(to_ns(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        row.map(|(client, parameters, expires)| {
            Ok(PushedRequest::new(
                client_id(&client)?,
                parameters,
                from_ns(expires),
            ))
        })
        .transpose()
    }

    async fn consume(&self, key: &TokenHash, now: SystemTime) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "DELETE FROM grantflow_pushed_requests WHERE hash = $1 AND expires_ns > $2",
        )
        .bind(key.as_bytes().as_slice())
        .bind(to_ns(now))
        .execute(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        purge_in_batches(
            &self.pool,
            "WITH gone AS (DELETE FROM grantflow_pushed_requests WHERE hash IN (SELECT hash \
             FROM grantflow_pushed_requests WHERE expires_ns <= $1 LIMIT $2 FOR UPDATE SKIP \
             LOCKED) RETURNING 1) SELECT count(*), count(*) FROM gone",
            to_ns(now),
        )
        .await
    }
}
