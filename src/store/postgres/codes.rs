//! [`PgCodeStore`]: authorization codes in `grantflow_codes`.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgRow};

use super::{
    client_id, corrupt, from_ns, grant_id, openid_from_row, purge_in_batches, resources,
    resources_text, scope, storage_error, to_ns,
};
use crate::error::StorageError;
use crate::pkce::{CodeChallenge, PkceMethod};
use crate::secret::TokenHash;
use crate::store::{AuthorizationGrant, CodeStore, Redemption};
use crate::types::Subject;

/// A [`CodeStore`] in PostgreSQL, keyed by code digest.
///
/// [`redeem`](CodeStore::redeem) is one statement,
/// `UPDATE grantflow_codes SET redemptions = LEAST(redemptions + 1, 2) WHERE hash = $1
/// RETURNING redemptions, …`: concurrent redemptions queue on the row lock and each
/// re-reads the row as the previous one left it, so exactly one of them sees `1`
/// ([`Redemption::Redeemed`]); every other gets the grant back as
/// [`Redemption::AlreadyUsed`], whichever instance it runs on ([RFC 6749 §4.1.2]).
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
#[derive(Clone)]
pub struct PgCodeStore {
    pool: PgPool,
}

impl fmt::Debug for PgCodeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgCodeStore").finish_non_exhaustive()
    }
}

impl PgCodeStore {
    /// The store over `pool` (schema applied with
    /// [`PgStores::migrate`](super::PgStores::migrate)).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn grant_from_row(row: &PgRow) -> Result<AuthorizationGrant, StorageError> {
    let get = |e: sqlx::Error| storage_error(e);
    let challenge = match (
        row.try_get::<Option<&str>, _>("challenge_method")
            .map_err(get)?,
        row.try_get::<Option<&str>, _>("challenge").map_err(get)?,
    ) {
        (Some(method), Some(value)) => Some(
            PkceMethod::parse(method)
                .and_then(|method| CodeChallenge::new(method, value))
                .ok_or(corrupt("code challenge"))?,
        ),
        (None, None) => None,
        _ => return Err(corrupt("code challenge")),
    };
    Ok(AuthorizationGrant {
        grant_id: grant_id(row.try_get("grant_id").map_err(get)?)?,
        client_id: client_id(row.try_get("client_id").map_err(get)?)?,
        redirect_uri: row
            .try_get::<Option<&str>, _>("redirect_uri")
            .map_err(get)?
            .map(Arc::from),
        challenge,
        subject: Subject::new(row.try_get("subject").map_err(get)?),
        scope: scope(row.try_get("scope").map_err(get)?)?,
        resources: resources(row.try_get("resources").map_err(get)?)?,
        issuer: Arc::from(row.try_get::<&str, _>("issuer").map_err(get)?),
        issued_at: from_ns(row.try_get("issued_ns").map_err(get)?),
        expires_at: from_ns(row.try_get("expires_ns").map_err(get)?),
        openid: openid_from_row(row)?,
        dpop_jkt: row.try_get("dpop_jkt").map_err(get)?,
    })
}

#[async_trait]
impl CodeStore for PgCodeStore {
    async fn insert(&self, code: TokenHash, grant: AuthorizationGrant) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO grantflow_codes (hash, grant_id, client_id, redirect_uri, \
             challenge_method, challenge, subject, scope, issuer, issued_ns, expires_ns, \
             resources, openid, dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14)",
        )
        .bind(code.as_bytes().as_slice())
        .bind(grant.grant_id.as_bytes().as_slice())
        .bind(grant.client_id.as_str())
        .bind(grant.redirect_uri.as_deref())
        .bind(grant.challenge.as_ref().map(|c| c.method().as_str()))
        .bind(grant.challenge.as_ref().map(CodeChallenge::as_str))
        .bind(grant.subject.as_str())
        .bind(grant.scope.as_str())
        .bind(&*grant.issuer)
        .bind(to_ns(grant.issued_at))
        .bind(to_ns(grant.expires_at))
        .bind(resources_text(&grant.resources))
        .bind(grant.openid.as_ref().map(|o| o.to_json()))
        .bind(grant.dpop_jkt.as_deref())
        .execute(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn redeem(&self, code: &TokenHash) -> Result<Redemption, StorageError> {
        // The counter stops at 2 so it never overflows however often a code is replayed.
        let row = sqlx::query(
            "UPDATE grantflow_codes SET redemptions = LEAST(redemptions + 1, 2) WHERE hash = $1 \
             RETURNING redemptions, grant_id, client_id, redirect_uri, challenge_method, \
             challenge, subject, scope, issuer, issued_ns, expires_ns, resources, openid, dpop_jkt",
        )
        .bind(code.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        let Some(row) = row else {
            return Ok(Redemption::NotFound);
        };
        let grant = grant_from_row(&row)?;
        let redemptions: i16 = row.try_get("redemptions").map_err(storage_error)?;
        Ok(if redemptions == 1 {
            Redemption::Redeemed(grant)
        } else {
            Redemption::AlreadyUsed(grant)
        })
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        purge_in_batches(
            &self.pool,
            "WITH gone AS (DELETE FROM grantflow_codes WHERE hash IN (SELECT hash FROM \
             grantflow_codes WHERE expires_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING 1) SELECT count(*), count(*) FROM gone",
            to_ns(now),
        )
        .await
    }
}
