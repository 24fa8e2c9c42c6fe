//! [`PgTokenStore`]: access and refresh tokens in `grantflow_tokens`, with the per-grant
//! rows of `grantflow_grants` that carry revocation tombstones.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgRow};

use super::{
    client_id, from_ns, grant_id, openid_from_row, purge_in_batches, resources, resources_text,
    scope, storage_error, to_ns,
};
use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::store::{
    Insert, RefreshLookup, RotatedOut, Rotation, TokenKind, TokenRecord, TokenStore,
};
use crate::types::{Actor, GrantId, Subject};

/// The batch of records as rows (`batch`), and the upsert that locks the row of each of
/// their grants in `grantflow_grants` (`grants`): it returns a grant only when that grant
/// has no tombstone in force at `$10`. The upsert waits for a concurrent revocation of the
/// grant and then reads the row as the revocation left it, which is what serializes
/// inserts and revocations per grant under `READ COMMITTED`. Rows are locked in grant id
/// order, so two batches with the same grants cannot deadlock.
macro_rules! batch_and_grants {
    () => {
        "WITH batch AS (\
           SELECT * FROM unnest($1::bytea[], $2::text[], $3::bytea[], $4::text[], $5::text[], \
             $6::text[], $7::text[], $8::int8[], $9::int8[], $11::text[], $12::text[], $13::text[]) \
           AS t(hash, kind, grant_id, client_id, subject, scope, audience, issued_ns, expires_ns, \
             openid, actor, dpop_jkt)\
         ), grants AS (\
           INSERT INTO grantflow_grants AS g (grant_id, revoked_until_ns, purge_ns) \
           SELECT grant_id, NULL, max(expires_ns) FROM batch GROUP BY grant_id ORDER BY grant_id \
           ON CONFLICT (grant_id) DO UPDATE SET purge_ns = GREATEST(g.purge_ns, EXCLUDED.purge_ns) \
           WHERE g.revoked_until_ns IS NULL OR g.revoked_until_ns <= $10 \
           RETURNING g.grant_id\
         ), grants_ok AS (\
           SELECT (SELECT count(*) FROM grants) = (SELECT count(DISTINCT grant_id) FROM batch) AS ok\
         )"
    };
}

/// Inserts the batch only if no grant of it is revoked; returns how many rows went in.
const INSERT: &str = concat!(
    batch_and_grants!(),
    ", stored AS (INSERT INTO grantflow_tokens (hash, kind, grant_id, client_id, subject, \
     scope, audience, issued_ns, expires_ns, openid, actor, dpop_jkt) SELECT hash, kind, \
     grant_id, client_id, subject, scope, audience, issued_ns, expires_ns, openid, actor, \
     dpop_jkt FROM batch WHERE \
     (SELECT ok FROM grants_ok) RETURNING 1) SELECT count(*) FROM stored"
);

/// The compare-and-swap of rotation: marks `$14` rotated out at `$10` only if it is an
/// active refresh token and no successor's grant is revoked, and stores the successors
/// only if it did. Concurrent rotations of one token queue on its row lock; each re-reads
/// the row as the previous left it, so exactly one finds `rotated_ns IS NULL`.
const ROTATE: &str = concat!(
    batch_and_grants!(),
    ", old AS (UPDATE grantflow_tokens SET rotated_ns = $10 WHERE hash = $14 AND \
     kind = 'refresh' AND rotated_ns IS NULL AND (SELECT ok FROM grants_ok) RETURNING 1), \
     stored AS (INSERT INTO grantflow_tokens (hash, kind, grant_id, client_id, subject, \
     scope, audience, issued_ns, expires_ns, openid, actor, dpop_jkt) SELECT hash, kind, \
     grant_id, client_id, subject, scope, audience, issued_ns, expires_ns, openid, actor, \
     dpop_jkt FROM batch WHERE \
     EXISTS (SELECT 1 FROM old) RETURNING 1) SELECT (SELECT ok FROM grants_ok), \
     (SELECT count(*) FROM old)"
);

/// The columns of a record, in the order `record_from_row` reads them.
macro_rules! record_columns {
    () => {
        "kind, grant_id, client_id, subject, scope, audience, issued_ns, expires_ns, openid, actor, \
         dpop_jkt"
    };
}

/// A [`TokenStore`] in PostgreSQL, keyed by token digest.
///
/// Round trips: [`insert`](TokenStore::insert), [`find`](TokenStore::find),
/// [`find_refresh`](TokenStore::find_refresh), [`revoke`](TokenStore::revoke) and a
/// winning [`rotate`](TokenStore::rotate) are one statement each; a losing rotation reads
/// the winner's marker with a second; [`revoke_grant`](TokenStore::revoke_grant) is a
/// transaction of two statements.
///
/// # Tombstones
/// Each grant has a row in `grantflow_grants`. An insert or rotation upserts the rows of
/// its records' grants in the same statement that writes the records, and writes nothing
/// when one carries a tombstone still in force; a revocation first upserts the tombstone,
/// then, in a second statement of the same transaction, deletes the grant's tokens. The
/// row lock orders the two: an insert that got the lock first has committed its tokens
/// before the revocation's delete runs (which then sees and deletes them); one that waits
/// for the revocation reads its tombstone and stores nothing ([RFC 6749 §4.1.2]).
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
#[derive(Clone)]
pub struct PgTokenStore {
    pool: PgPool,
}

impl fmt::Debug for PgTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTokenStore").finish_non_exhaustive()
    }
}

impl PgTokenStore {
    /// The store over `pool` (schema applied with
    /// [`PgStores::migrate`](super::PgStores::migrate)).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Runs `sql` (which takes the digest as `$1` and returns the record columns) and
    /// decodes the record it returns, if any.
    async fn record(
        &self,
        sql: &'static str,
        token: &TokenHash,
    ) -> Result<Option<TokenRecord>, StorageError> {
        sqlx::query(sql)
            .bind(token.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?
            .map(|row| record_from_row(&row))
            .transpose()
    }
}

fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds `$1..$13`: the records as column arrays (`$1..$9`, then their OpenID contexts as
/// `$11`, actor chains as `$12` and DPoP key thumbprints as `$13`), and `now` for the
/// tombstone check (`$10`).
fn bind_batch<'q>(
    query: Query<'q>,
    tokens: &[(TokenHash, TokenRecord)],
    now: SystemTime,
) -> Query<'q> {
    let n = tokens.len();
    let mut hashes = Vec::with_capacity(n);
    let mut kinds = Vec::with_capacity(n);
    let mut grants = Vec::with_capacity(n);
    let mut clients = Vec::with_capacity(n);
    let mut subjects = Vec::with_capacity(n);
    let mut scopes = Vec::with_capacity(n);
    let mut audiences = Vec::with_capacity(n);
    let mut issued = Vec::with_capacity(n);
    let mut expires = Vec::with_capacity(n);
    let mut openid = Vec::with_capacity(n);
    let mut actors = Vec::with_capacity(n);
    let mut jkts = Vec::with_capacity(n);
    for (hash, record) in tokens {
        hashes.push(hash.as_bytes().to_vec());
        kinds.push(kind_name(record.kind));
        grants.push(record.grant_id.as_bytes().to_vec());
        clients.push(record.client_id.as_str().to_owned());
        subjects.push(record.subject.as_ref().map(|s| s.as_str().to_owned()));
        scopes.push(record.scope.as_str().to_owned());
        audiences.push((!record.audience.is_empty()).then(|| resources_text(&record.audience)));
        issued.push(to_ns(record.issued_at));
        expires.push(to_ns(record.expires_at));
        openid.push(record.openid.as_ref().map(|o| o.to_json()));
        actors.push(record.actor.as_ref().map(Actor::to_json));
        jkts.push(record.dpop_jkt.clone());
    }
    query
        .bind(hashes)
        .bind(kinds)
        .bind(grants)
        .bind(clients)
        .bind(subjects)
        .bind(scopes)
        .bind(audiences)
        .bind(issued)
        .bind(expires)
        .bind(to_ns(now))
        .bind(openid)
        .bind(actors)
        .bind(jkts)
}

fn record_from_row(row: &PgRow) -> Result<TokenRecord, StorageError> {
    let get = |e: sqlx::Error| storage_error(e);
    let kind = match row.try_get::<&str, _>("kind").map_err(get)? {
        "access" => TokenKind::Access,
        "refresh" => TokenKind::Refresh,
        _ => return Err(super::corrupt("token kind")),
    };
    Ok(TokenRecord {
        kind,
        grant_id: grant_id(row.try_get("grant_id").map_err(get)?)?,
        client_id: client_id(row.try_get("client_id").map_err(get)?)?,
        subject: row
            .try_get::<Option<&str>, _>("subject")
            .map_err(get)?
            .map(Subject::new),
        scope: scope(row.try_get("scope").map_err(get)?)?,
        issued_at: from_ns(row.try_get("issued_ns").map_err(get)?),
        expires_at: from_ns(row.try_get("expires_ns").map_err(get)?),
        audience: resources(
            row.try_get::<Option<&str>, _>("audience")
                .map_err(get)?
                .unwrap_or(""),
        )?,
        openid: openid_from_row(row)?,
        actor: row
            .try_get::<Option<&str>, _>("actor")
            .map_err(get)?
            .map(|json| Actor::from_json(json).ok_or_else(|| super::corrupt("actor")))
            .transpose()?,
        dpop_jkt: row.try_get("dpop_jkt").map_err(get)?,
    })
}

fn marker_from_row(row: &PgRow, rotated_ns: i64) -> Result<RotatedOut, StorageError> {
    let get = |e: sqlx::Error| storage_error(e);
    Ok(RotatedOut::new(
        grant_id(row.try_get("grant_id").map_err(get)?)?,
        client_id(row.try_get("client_id").map_err(get)?)?,
        from_ns(rotated_ns),
        from_ns(row.try_get("expires_ns").map_err(get)?),
    ))
}

/// `grant_id, client_id, expires_ns, rotated_ns` plus the record columns of one token row,
/// rotated out or not.
const FIND_ANY: &str = concat!(
    "SELECT ",
    record_columns!(),
    ", rotated_ns FROM grantflow_tokens WHERE hash = $1"
);

#[async_trait]
impl TokenStore for PgTokenStore {
    async fn insert(&self, tokens: Vec<(TokenHash, TokenRecord)>) -> Result<Insert, StorageError> {
        // The newest issue time stands for "now", as in the memory store.
        let Some(now) = tokens.iter().map(|(_, r)| r.issued_at).max() else {
            return Ok(Insert::Stored);
        };
        let stored: i64 = bind_batch(sqlx::query(INSERT), &tokens, now)
            .fetch_one(&self.pool)
            .await
            .map_err(storage_error)?
            .try_get(0)
            .map_err(storage_error)?;
        Ok(if stored > 0 {
            Insert::Stored
        } else {
            Insert::GrantRevoked
        })
    }

    async fn find(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        const FIND: &str = concat!(
            "SELECT ",
            record_columns!(),
            " FROM grantflow_tokens WHERE hash = $1 AND rotated_ns IS NULL"
        );
        self.record(FIND, token).await
    }

    async fn revoke(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        const REVOKE: &str = concat!(
            "DELETE FROM grantflow_tokens WHERE hash = $1 AND rotated_ns IS NULL RETURNING ",
            record_columns!()
        );
        self.record(REVOKE, token).await
    }

    async fn revoke_grant(
        &self,
        grant: &GrantId,
        until: SystemTime,
    ) -> Result<usize, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        // First the tombstone: from here on, inserts and rotations of the grant wait for
        // this transaction and then refuse.
        sqlx::query(
            "INSERT INTO grantflow_grants AS g (grant_id, revoked_until_ns, purge_ns) \
             VALUES ($1, $2, $2) ON CONFLICT (grant_id) DO UPDATE SET \
             revoked_until_ns = GREATEST(g.revoked_until_ns, EXCLUDED.revoked_until_ns), \
             purge_ns = GREATEST(g.purge_ns, EXCLUDED.purge_ns)",
        )
        .bind(grant.as_bytes().as_slice())
        .bind(to_ns(until))
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        // A new statement, so a new snapshot: it sees the tokens of every insert that held
        // the grant's row before us. Rotated-out markers stay, for reuse detection.
        let deleted =
            sqlx::query("DELETE FROM grantflow_tokens WHERE grant_id = $1 AND rotated_ns IS NULL")
                .bind(grant.as_bytes().as_slice())
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?
                .rows_affected();
        tx.commit().await.map_err(storage_error)?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    /// One statement over the `client_id` index (schema version 9); rotated-out markers
    /// of the client go too, and are not counted.
    async fn revoke_client(&self, client: &crate::types::ClientId) -> Result<usize, StorageError> {
        let deleted: i64 = sqlx::query_scalar(
            "WITH gone AS (DELETE FROM grantflow_tokens WHERE client_id = $1 \
             RETURNING rotated_ns) SELECT count(*) FILTER (WHERE rotated_ns IS NULL) FROM gone",
        )
        .bind(client.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(usize::try_from(deleted).unwrap_or(0))
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        let now = to_ns(now);
        let tokens = purge_in_batches(
            &self.pool,
            "WITH gone AS (DELETE FROM grantflow_tokens WHERE hash IN (SELECT hash FROM \
             grantflow_tokens WHERE expires_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING 1) SELECT count(*), count(*) FROM gone",
            now,
        )
        .await?;
        // A grant's row goes once its last token expired and its tombstone ended; only
        // tombstones count as records.
        let tombstones = purge_in_batches(
            &self.pool,
            "WITH gone AS (DELETE FROM grantflow_grants WHERE grant_id IN (SELECT grant_id \
             FROM grantflow_grants WHERE purge_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING revoked_until_ns) SELECT count(*), count(revoked_until_ns) FROM gone",
            now,
        )
        .await?;
        Ok(tokens + tombstones)
    }

    async fn find_refresh(&self, token: &TokenHash) -> Result<Option<RefreshLookup>, StorageError> {
        let Some(row) = sqlx::query(FIND_ANY)
            .bind(token.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?
        else {
            return Ok(None);
        };
        let lookup = match row
            .try_get::<Option<i64>, _>("rotated_ns")
            .map_err(storage_error)?
        {
            Some(rotated_ns) => RefreshLookup::RotatedOut(marker_from_row(&row, rotated_ns)?),
            None => RefreshLookup::Active(record_from_row(&row)?),
        };
        Ok(Some(lookup))
    }

    async fn rotate(
        &self,
        old: &TokenHash,
        now: SystemTime,
        successors: Vec<(TokenHash, TokenRecord)>,
    ) -> Result<Rotation, StorageError> {
        let row = bind_batch(sqlx::query(ROTATE), &successors, now)
            .bind(old.as_bytes().as_slice())
            .fetch_one(&self.pool)
            .await
            .map_err(storage_error)?;
        let grants_ok: bool = row.try_get(0).map_err(storage_error)?;
        let rotated: i64 = row.try_get(1).map_err(storage_error)?;
        if rotated > 0 {
            return Ok(Rotation::Rotated);
        }
        // Lost, or nothing to rotate. A fresh read (a new snapshot) sees the winner's
        // marker; the outcomes are ranked as in the memory store.
        let current = sqlx::query(FIND_ANY)
            .bind(old.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?;
        if let Some(row) = &current {
            if let Some(rotated_ns) = row
                .try_get::<Option<i64>, _>("rotated_ns")
                .map_err(storage_error)?
            {
                return Ok(Rotation::AlreadyRotated(marker_from_row(row, rotated_ns)?));
            }
        }
        Ok(if grants_ok {
            Rotation::NotFound
        } else {
            Rotation::GrantRevoked
        })
    }
}
