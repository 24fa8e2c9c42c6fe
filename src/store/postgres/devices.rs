//! [`PgDeviceStore`]: device authorization requests in `grantflow_devices`, with the user
//! code claims of `grantflow_device_user_codes`.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgRow};

use super::{
    client_id, corrupt, duration_ns, from_ns, grant_id, ns_duration, purge_in_batches, resources,
    resources_text, scope, storage_error, to_ns, token_hash,
};
use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::store::{
    DeviceDecision, DeviceInsert, DevicePolling, DeviceRecord, DeviceRedemption, DeviceState,
    DeviceStore,
};
use crate::types::{ClientId, Subject};

/// The columns of a request, in the order `record_from_row` reads them by name.
macro_rules! device_columns {
    () => {
        "d.device_hash, d.grant_id, d.client_id, d.scope, d.user_code, d.created_ns, \
         d.expires_ns, d.interval_ns, d.last_poll_ns, d.state, d.subject, d.granted_scope, \
         d.resources"
    };
}

/// A [`DeviceStore`] in PostgreSQL, keyed by device code digest.
///
/// Every state change is one statement over the request's row: `decide`, `redeem` and
/// `record_poll` are `UPDATE … WHERE …` compare-and-sets (of concurrent redemptions on any
/// number of instances exactly one changes the row; the others then read it and learn
/// "already redeemed, by grant X"). A user code is claimed in `grantflow_device_user_codes`
/// by an upsert that takes it over only from an expired holder, in the statement that
/// inserts the request, so a code belongs to at most one live request.
///
/// Expired requests are kept for `retention` (default 5 minutes, as
/// [`MemoryDeviceStore`](crate::MemoryDeviceStore)) so late polls get `expired_token`, and
/// then purged by [`DeviceStore::purge_expired`].
#[derive(Clone)]
pub struct PgDeviceStore {
    pool: PgPool,
    retention: Duration,
}

impl fmt::Debug for PgDeviceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgDeviceStore")
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl PgDeviceStore {
    /// The store over `pool` (schema applied with
    /// [`PgStores::migrate`](super::PgStores::migrate)), with a retention of 5 minutes.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            retention: Duration::from_secs(300),
        }
    }

    /// Sets how long expired requests are kept so late polls get `expired_token` rather
    /// than `invalid_grant`. Default: 5 minutes. It applies to requests inserted from now
    /// on.
    #[must_use]
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }
}

fn state_name(state: &DeviceState) -> &'static str {
    match state {
        DeviceState::Pending => "pending",
        DeviceState::Approved { .. } => "approved",
        DeviceState::Denied => "denied",
        DeviceState::Redeemed => "redeemed",
    }
}

fn record_from_row(row: &PgRow) -> Result<DeviceRecord, StorageError> {
    let get = |e: sqlx::Error| storage_error(e);
    let state = match row.try_get::<&str, _>("state").map_err(get)? {
        "pending" => DeviceState::Pending,
        "approved" => approved_state(row)?,
        "denied" => DeviceState::Denied,
        "redeemed" => DeviceState::Redeemed,
        _ => return Err(corrupt("device state")),
    };
    Ok(DeviceRecord {
        grant_id: grant_id(row.try_get("grant_id").map_err(get)?)?,
        client_id: client_id(row.try_get("client_id").map_err(get)?)?,
        scope: scope(row.try_get("scope").map_err(get)?)?,
        resources: resources(row.try_get("resources").map_err(get)?)?,
        user_code: row.try_get("user_code").map_err(get)?,
        created_at: from_ns(row.try_get("created_ns").map_err(get)?),
        expires_at: from_ns(row.try_get("expires_ns").map_err(get)?),
        interval: ns_duration(row.try_get("interval_ns").map_err(get)?),
        last_poll: row
            .try_get::<Option<i64>, _>("last_poll_ns")
            .map_err(get)?
            .map(from_ns),
        state,
    })
}

/// The approval a row records (kept after redemption, for [`DeviceRedemption::Redeemed`]).
fn approved_state(row: &PgRow) -> Result<DeviceState, StorageError> {
    let get = |e: sqlx::Error| storage_error(e);
    match (
        row.try_get::<Option<&str>, _>("subject").map_err(get)?,
        row.try_get::<Option<&str>, _>("granted_scope")
            .map_err(get)?,
    ) {
        (Some(subject), Some(granted)) => Ok(DeviceState::Approved {
            subject: Subject::new(subject),
            scope: scope(granted)?,
        }),
        _ => Err(corrupt("device approval")),
    }
}

#[async_trait]
impl DeviceStore for PgDeviceStore {
    async fn insert(
        &self,
        device_code: TokenHash,
        record: DeviceRecord,
    ) -> Result<DeviceInsert, StorageError> {
        let purge_at = record
            .expires_at
            .checked_add(self.retention)
            .unwrap_or(record.expires_at);
        let (subject, granted) = match &record.state {
            DeviceState::Approved { subject, scope } => {
                (Some(subject.as_str()), Some(scope.as_str()))
            }
            _ => (None, None),
        };
        // The claim takes the code over only from a holder expired at the new request's
        // creation; the request is inserted only with its claim. One statement.
        let inserted = sqlx::query(
            "WITH claim AS (\
               INSERT INTO grantflow_device_user_codes AS u (user_code, device_hash, \
               expires_ns, purge_ns) VALUES ($5, $1, $7, $13) \
               ON CONFLICT (user_code) DO UPDATE SET device_hash = EXCLUDED.device_hash, \
               expires_ns = EXCLUDED.expires_ns, purge_ns = EXCLUDED.purge_ns \
               WHERE u.expires_ns <= $6 RETURNING 1\
             ) INSERT INTO grantflow_devices (device_hash, grant_id, client_id, scope, \
             user_code, created_ns, expires_ns, interval_ns, last_poll_ns, state, subject, \
             granted_scope, purge_ns, resources) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14 WHERE EXISTS (SELECT 1 FROM claim)",
        )
        .bind(device_code.as_bytes().as_slice())
        .bind(record.grant_id.as_bytes().as_slice())
        .bind(record.client_id.as_str())
        .bind(record.scope.as_str())
        .bind(record.user_code.as_str())
        .bind(to_ns(record.created_at))
        .bind(to_ns(record.expires_at))
        .bind(duration_ns(record.interval))
        .bind(record.last_poll.map(to_ns))
        .bind(state_name(&record.state))
        .bind(subject)
        .bind(granted)
        .bind(to_ns(purge_at))
        .bind(resources_text(&record.resources))
        .execute(&self.pool)
        .await
        .map_err(storage_error)?
        .rows_affected();
        Ok(if inserted == 1 {
            DeviceInsert::Inserted
        } else {
            DeviceInsert::UserCodeTaken
        })
    }

    async fn find_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<(TokenHash, DeviceRecord)>, StorageError> {
        const FIND: &str = concat!(
            "SELECT ",
            device_columns!(),
            " FROM grantflow_device_user_codes u JOIN grantflow_devices d \
             ON d.device_hash = u.device_hash WHERE u.user_code = $1 AND d.user_code = $1"
        );
        let Some(row) = sqlx::query(FIND)
            .bind(user_code)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?
        else {
            return Ok(None);
        };
        let hash = token_hash(row.try_get("device_hash").map_err(storage_error)?)?;
        Ok(Some((hash, record_from_row(&row)?)))
    }

    async fn find(&self, device_code: &TokenHash) -> Result<Option<DeviceRecord>, StorageError> {
        const FIND: &str = concat!(
            "SELECT ",
            device_columns!(),
            " FROM grantflow_devices d WHERE d.device_hash = $1"
        );
        sqlx::query(FIND)
            .bind(device_code.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?
            .map(|row| record_from_row(&row))
            .transpose()
    }

    async fn decide(
        &self,
        device_code: &TokenHash,
        decision: DeviceDecision,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let (state, subject, granted) = match &decision {
            DeviceDecision::Approve { subject, scope } => {
                ("approved", Some(subject.as_str()), Some(scope.as_str()))
            }
            DeviceDecision::Deny => ("denied", None, None),
        };
        let changed = sqlx::query(
            "UPDATE grantflow_devices SET state = $2, subject = $3, granted_scope = $4 \
             WHERE device_hash = $1 AND state = 'pending' AND expires_ns > $5",
        )
        .bind(device_code.as_bytes().as_slice())
        .bind(state)
        .bind(subject)
        .bind(granted)
        .bind(to_ns(now))
        .execute(&self.pool)
        .await
        .map_err(storage_error)?
        .rows_affected();
        Ok(changed == 1)
    }

    async fn record_poll(
        &self,
        device_code: &TokenHash,
        client_id: &ClientId,
        seen: DevicePolling,
        next: DevicePolling,
    ) -> Result<bool, StorageError> {
        let changed = sqlx::query(
            "UPDATE grantflow_devices SET last_poll_ns = $5, interval_ns = $6 \
             WHERE device_hash = $1 AND client_id = $2 \
             AND last_poll_ns IS NOT DISTINCT FROM $3 AND interval_ns = $4",
        )
        .bind(device_code.as_bytes().as_slice())
        .bind(client_id.as_str())
        .bind(seen.last_poll.map(to_ns))
        .bind(duration_ns(seen.interval))
        .bind(next.last_poll.map(to_ns))
        .bind(duration_ns(next.interval))
        .execute(&self.pool)
        .await
        .map_err(storage_error)?
        .rows_affected();
        Ok(changed == 1)
    }

    async fn redeem(
        &self,
        device_code: &TokenHash,
        client_id: &ClientId,
    ) -> Result<DeviceRedemption, StorageError> {
        const REDEEM: &str = concat!(
            "UPDATE grantflow_devices AS d SET state = 'redeemed' WHERE d.device_hash = $1 \
             AND d.client_id = $2 AND d.state = 'approved' RETURNING ",
            device_columns!()
        );
        let row = sqlx::query(REDEEM)
            .bind(device_code.as_bytes().as_slice())
            .bind(client_id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?;
        if let Some(row) = row {
            // The record as it was: approved, with the subject and scope to issue for.
            let mut before = record_from_row(&row)?;
            before.state = approved_state(&row)?;
            return Ok(DeviceRedemption::Redeemed(before));
        }
        // Nothing changed: read the row as it is now to tell a replay from the rest.
        let current = sqlx::query(
            "SELECT state, grant_id FROM grantflow_devices WHERE device_hash = $1 \
             AND client_id = $2",
        )
        .bind(device_code.as_bytes().as_slice())
        .bind(client_id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        match current {
            Some(row) if row.try_get::<&str, _>("state").map_err(storage_error)? == "redeemed" => {
                Ok(DeviceRedemption::AlreadyRedeemed {
                    grant_id: grant_id(row.try_get("grant_id").map_err(storage_error)?)?,
                })
            }
            _ => Ok(DeviceRedemption::NotApproved),
        }
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        let now = to_ns(now);
        let requests = purge_in_batches(
            &self.pool,
            "WITH gone AS (DELETE FROM grantflow_devices WHERE device_hash IN (SELECT \
             device_hash FROM grantflow_devices WHERE purge_ns <= $1 LIMIT $2 \
             FOR UPDATE SKIP LOCKED) RETURNING 1) SELECT count(*), count(*) FROM gone",
            now,
        )
        .await?;
        // Claims of purged requests; not records of their own.
        purge_in_batches(
            &self.pool,
            "WITH gone AS (DELETE FROM grantflow_device_user_codes WHERE user_code IN (SELECT \
             user_code FROM grantflow_device_user_codes WHERE purge_ns <= $1 LIMIT $2 \
             FOR UPDATE SKIP LOCKED) RETURNING 1) SELECT count(*), 0::int8 FROM gone",
            now,
        )
        .await?;
        Ok(requests)
    }
}
