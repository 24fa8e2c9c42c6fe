//! [`PgClientRegistry`]: client registrations in `grantflow_clients`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgRow};

use super::{corrupt, from_ns, resources, resources_text, storage_error, to_ns, token_hash};
use crate::error::{ConfigError, Error, StorageError};
use crate::secret::TokenHash;
use crate::store::{ClientRegistry, Creation, Registration, RegistrationStore};
use crate::token_issuer::AccessTokenFormat;
use crate::types::{
    AuthMethod, Client, ClientBuilder, ClientError, ClientId, ClientType, GrantType, SubjectType,
};

/// The columns of a client row, in the order of `bind_client` and `client_from_row`.
macro_rules! columns {
    () => {
        "client_id, client_type, auth_method, secret_hashes, redirect_uris, grant_types, \
         allowed_scope, default_scope, issue_refresh_tokens, name, introspection, \
         resource_audience, pkce_exempt, id_token_signed_response_alg, \
         userinfo_signed_response_alg, subject_type, sector_identifier_uri, \
         sector_identifier_document, post_logout_redirect_uris, refresh_needs_offline_access, \
         scope_claims_in_id_token, access_token_format, jwks, token_endpoint_auth_signing_alg, \
         allowed_resources, multiple_audiences, client_uri, logo_uri, tos_uri, policy_uri, contacts, \
         require_pushed_authorization_requests, jwks_uri, dpop_bound_access_tokens, \
         request_object_signing_alg, require_signed_request_object"
    };
}

/// `column = $n` for every column of [`columns!`] but the key, for updates.
macro_rules! assignments {
    () => {
        "client_type = $2, auth_method = $3, \
         secret_hashes = $4, redirect_uris = $5, grant_types = $6, allowed_scope = $7, \
         default_scope = $8, issue_refresh_tokens = $9, name = $10, introspection = $11, \
         resource_audience = $12, pkce_exempt = $13, id_token_signed_response_alg = $14, \
         userinfo_signed_response_alg = $15, subject_type = $16, \
         sector_identifier_uri = $17, sector_identifier_document = $18, \
         post_logout_redirect_uris = $19, refresh_needs_offline_access = $20, \
         scope_claims_in_id_token = $21, access_token_format = $22, jwks = $23, \
         token_endpoint_auth_signing_alg = $24, allowed_resources = $25, \
         multiple_audiences = $26, client_uri = $27, logo_uri = $28, tos_uri = $29, \
         policy_uri = $30, contacts = $31, \
         require_pushed_authorization_requests = $32, jwks_uri = $33, \
         dpop_bound_access_tokens = $34, request_object_signing_alg = $35, \
         require_signed_request_object = $36"
    };
}

/// The values of [`columns!`], as placeholders.
macro_rules! placeholders {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36"
    };
}

/// What a registration read returns: the client's columns, then its metadata and time.
macro_rules! registration_columns {
    () => {
        concat!(columns!(), ", registration_metadata, registered_ns")
    };
}

/// A [`ClientRegistry`] in PostgreSQL: one row per client, secrets as SHA-256 digests only.
///
/// Every lookup is one primary-key read. It is not cached: a client removed, or a secret
/// retired, at one instance stops authenticating at every instance at once.
#[derive(Clone)]
pub struct PgClientRegistry {
    pool: PgPool,
}

impl fmt::Debug for PgClientRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgClientRegistry").finish_non_exhaustive()
    }
}

impl PgClientRegistry {
    /// The registry over `pool` (schema applied with
    /// [`PgStores::migrate`](super::PgStores::migrate)).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Registers a new client.
    ///
    /// # Errors
    /// [`Error::Config`] with [`ClientError::Duplicate`] when the `client_id` is taken
    /// ([OAuth 2.1 §2.1]), [`Error::Storage`] for a backend failure.
    ///
    /// [OAuth 2.1 §2.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.1
    pub async fn insert(&self, client: &Client) -> Result<(), Error> {
        storable(client)?;
        const INSERT: &str = concat!(
            "INSERT INTO grantflow_clients (",
            columns!(),
            ") VALUES (",
            placeholders!(),
            ") ON CONFLICT (client_id) DO NOTHING"
        );
        let done = bind_client(sqlx::query(INSERT), client)
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        if done.rows_affected() == 0 {
            return Err(Error::Config(ConfigError::Client(ClientError::Duplicate)));
        }
        Ok(())
    }

    /// Replaces the registration of an existing client, for example to add or retire a
    /// secret during rotation.
    ///
    /// # Errors
    /// [`Error::Config`] with [`ClientError::Unknown`] when no client has this
    /// `client_id`, [`Error::Storage`] for a backend failure.
    pub async fn replace(&self, client: &Client) -> Result<(), Error> {
        storable(client)?;
        let done = bind_client(
            sqlx::query(concat!(
                "UPDATE grantflow_clients SET ",
                assignments!(),
                " WHERE client_id = $1"
            )),
            client,
        )
        .execute(&self.pool)
        .await
        .map_err(storage_error)?;
        if done.rows_affected() == 0 {
            return Err(Error::Config(ConfigError::Client(ClientError::Unknown)));
        }
        Ok(())
    }

    /// Removes a client; returns whether there was one. Tokens already issued to it stay
    /// until they expire or are revoked, but it can no longer authenticate.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    pub async fn remove(&self, client_id: &str) -> Result<bool, StorageError> {
        let done = sqlx::query("DELETE FROM grantflow_clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(done.rows_affected() > 0)
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

fn bind_client<'q>(query: Query<'q>, client: &Client) -> Query<'q> {
    let client_type = if client.is_public() {
        "public"
    } else {
        "confidential"
    };
    query
        .bind(client.id().as_str().to_owned())
        .bind(client_type)
        .bind(client.auth_method().as_str())
        .bind(
            client
                .secret_hashes()
                .iter()
                .map(|h| h.as_bytes().to_vec())
                .collect::<Vec<_>>(),
        )
        .bind(
            client
                .redirect_uris()
                .iter()
                .map(|u| u.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(
            client
                .grant_types()
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(client.allowed_scope().as_str().to_owned())
        .bind(client.default_scope().map(|s| s.as_str().to_owned()))
        .bind(client.issues_refresh_tokens())
        .bind(client.name().map(str::to_owned))
        .bind(client.may_introspect())
        .bind(client.resource_audience().map(str::to_owned))
        .bind(client.is_pkce_exempt())
        // The OpenID registration: a stored NULL algorithm is the default, RS256.
        .bind(registered_id_token_alg(client))
        .bind(client.userinfo_signing_alg())
        .bind(client.subject_type().as_str())
        .bind(
            client
                .sector_identifier_uri()
                .map(|(uri, _)| uri.to_owned()),
        )
        .bind(
            client
                .sector_identifier_uri()
                .map(|(_, doc)| doc.to_owned()),
        )
        .bind(
            client
                .post_logout_redirect_uris()
                .iter()
                .map(|u| u.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(client.refresh_needs_offline_access())
        .bind(client.scope_claims_in_id_token())
        .bind(client.access_token_format().map(AccessTokenFormat::as_str))
        .bind(client_jwks(client))
        .bind(client_signing_alg(client))
        .bind(resources_text(client.allowed_resources()))
        .bind(client.allows_multiple_audiences())
        .bind(client.client_uri().map(str::to_owned))
        .bind(client.logo_uri().map(str::to_owned))
        .bind(client.tos_uri().map(str::to_owned))
        .bind(client.policy_uri().map(str::to_owned))
        .bind(client.contacts().map(str::to_owned).collect::<Vec<_>>())
        .bind(client.requires_pushed_authorization_requests())
        .bind(client_jwks_uri(client))
        .bind(client.requires_dpop_bound_access_tokens())
        .bind(request_objects(client).0)
        .bind(request_objects(client).1)
}

/// The client's `jwks_uri`, if any.
fn client_jwks_uri(client: &Client) -> Option<String> {
    #[cfg(feature = "jwt")]
    return client.jwks_uri().map(str::to_owned);
    #[cfg(not(feature = "jwt"))]
    {
        let _ = client;
        None
    }
}

/// The client's `request_object_signing_alg` and `require_signed_request_object`.
fn request_objects(client: &Client) -> (Option<&'static str>, bool) {
    #[cfg(feature = "jwt")]
    return (
        client
            .request_object_signing_alg()
            .map(crate::jose::Algorithm::name),
        client.requires_signed_request_object(),
    );
    #[cfg(not(feature = "jwt"))]
    {
        let _ = client;
        (None, false)
    }
}

/// The client's `jwks` as JSON, if any.
fn client_jwks(client: &Client) -> Option<String> {
    #[cfg(feature = "jwt")]
    return client.jwks().map(crate::jose::JwkSet::to_json);
    #[cfg(not(feature = "jwt"))]
    {
        let _ = client;
        None
    }
}

/// The client's `token_endpoint_auth_signing_alg`, if any.
fn client_signing_alg(client: &Client) -> Option<&'static str> {
    #[cfg(feature = "jwt")]
    return client
        .token_endpoint_auth_signing_alg()
        .map(crate::jose::Algorithm::name);
    #[cfg(not(feature = "jwt"))]
    {
        let _ = client;
        None
    }
}

/// A `client_secret_jwt` client needs its secret in recoverable form, which the table does
/// not hold (it keeps digests only): such clients are refused rather than stored without
/// what authenticates them.
fn storable(client: &Client) -> Result<(), Error> {
    match client.auth_method() {
        AuthMethod::ClientSecretJwt => Err(Error::Storage(StorageError::new(
            "PgClientRegistry stores secrets as digests only, so it cannot hold a client_secret_jwt client",
        ))),
        _ => Ok(()),
    }
}

/// The client's ID token algorithm as stored: `NULL` for the default.
fn registered_id_token_alg(client: &Client) -> Option<&'static str> {
    Some(client.id_token_signing_alg()).filter(|alg| *alg != "RS256")
}

fn auth_method(name: &str) -> Option<AuthMethod> {
    [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::None,
        AuthMethod::PrivateKeyJwt,
    ]
    .into_iter()
    .find(|m| m.as_str() == name)
}

/// A [`ClientBuilder`] setter of a display URL.
type DisplaySetter = fn(ClientBuilder, &str) -> ClientBuilder;

/// Rebuilds a client through [`ClientBuilder`](crate::ClientBuilder), so a stored
/// registration passes the same validation as a new one.
fn client_from_row(row: &PgRow, self_registered: bool) -> Result<Client, StorageError> {
    let get = |e: sqlx::Error| storage_error(e);
    let id: String = row.try_get(0).map_err(get)?;
    let client_type = match row.try_get::<&str, _>(1).map_err(get)? {
        "public" => ClientType::Public,
        "confidential" => ClientType::Confidential,
        _ => return Err(corrupt("client type")),
    };
    let method = auth_method(row.try_get(2).map_err(get)?).ok_or(corrupt("auth method"))?;
    let mut builder = Client::builder(&id, client_type)
        .auth_method(method)
        .self_registered(self_registered);
    for hash in row.try_get::<Vec<Vec<u8>>, _>(3).map_err(get)? {
        builder = builder.secret_hash(token_hash(&hash)?);
    }
    for uri in row.try_get::<Vec<String>, _>(4).map_err(get)? {
        builder = builder.redirect_uri(&uri);
    }
    for grant_type in row.try_get::<Vec<String>, _>(5).map_err(get)? {
        builder = builder.grant_type(GrantType::new(grant_type));
    }
    builder = builder.allowed_scope(row.try_get(6).map_err(get)?);
    if let Some(scope) = row.try_get::<Option<&str>, _>(7).map_err(get)? {
        builder = builder.default_scope(scope);
    }
    builder = builder.issue_refresh_tokens(row.try_get(8).map_err(get)?);
    if let Some(name) = row.try_get::<Option<&str>, _>(9).map_err(get)? {
        builder = builder.name(name);
    }
    builder = builder.introspection(row.try_get(10).map_err(get)?);
    if let Some(audience) = row.try_get::<Option<&str>, _>(11).map_err(get)? {
        builder = builder.resource_audience(audience);
    }
    if row.try_get::<bool, _>(12).map_err(get)? {
        builder = builder.dangerous(|d| d.allow_missing_pkce());
    }
    if let Some(alg) = row.try_get::<Option<&str>, _>(13).map_err(get)? {
        builder = builder.id_token_signing_alg(alg);
    }
    if let Some(alg) = row.try_get::<Option<&str>, _>(14).map_err(get)? {
        builder = builder.userinfo_signing_alg(alg);
    }
    builder = builder.subject_type(match row.try_get::<&str, _>(15).map_err(get)? {
        "public" => SubjectType::Public,
        "pairwise" => SubjectType::Pairwise,
        _ => return Err(corrupt("subject type")),
    });
    if let (Some(uri), Some(document)) = (
        row.try_get::<Option<&str>, _>(16).map_err(get)?,
        row.try_get::<Option<&str>, _>(17).map_err(get)?,
    ) {
        builder = builder.sector_identifier_uri(uri, document);
    }
    for uri in row.try_get::<Vec<String>, _>(18).map_err(get)? {
        builder = builder.post_logout_redirect_uri(&uri);
    }
    builder = builder
        .refresh_needs_offline_access(row.try_get(19).map_err(get)?)
        .scope_claims_in_id_token(row.try_get(20).map_err(get)?);
    if let Some(format) = row.try_get::<Option<&str>, _>(21).map_err(get)? {
        let format = AccessTokenFormat::from_name(format).ok_or(corrupt("access token format"))?;
        builder = builder.access_token_format(format);
    }
    #[cfg(feature = "jwt")]
    {
        if let Some(jwks) = row.try_get::<Option<&str>, _>(22).map_err(get)? {
            let jwks = crate::jose::JwkSet::parse(jwks.as_bytes()).map_err(|_| corrupt("jwks"))?;
            builder = builder.jwks(jwks);
        }
        if let Some(alg) = row.try_get::<Option<&str>, _>(23).map_err(get)? {
            let alg = crate::jose::Algorithm::from_name(alg)
                .ok_or(corrupt("token_endpoint_auth_signing_alg"))?;
            builder = builder.token_endpoint_auth_signing_alg(alg);
        }
        if let Some(uri) = row.try_get::<Option<&str>, _>(32).map_err(get)? {
            builder = builder.jwks_uri(uri);
        }
    }
    for resource in resources(row.try_get(24).map_err(get)?)?.iter() {
        builder = builder.allowed_resource(resource);
    }
    if row.try_get::<bool, _>(25).map_err(get)? {
        builder = builder.dangerous(|d| d.allow_multiple_audiences());
    }
    let display: [(usize, DisplaySetter); 4] = [
        (26, ClientBuilder::client_uri),
        (27, ClientBuilder::logo_uri),
        (28, ClientBuilder::tos_uri),
        (29, ClientBuilder::policy_uri),
    ];
    for (column, set) in display {
        if let Some(uri) = row.try_get::<Option<&str>, _>(column).map_err(get)? {
            builder = set(builder, uri);
        }
    }
    for contact in row.try_get::<Vec<String>, _>(30).map_err(get)? {
        builder = builder.contact(&contact);
    }
    builder = builder.require_pushed_authorization_requests(row.try_get(31).map_err(get)?);
    builder = builder.dpop_bound_access_tokens(row.try_get(33).map_err(get)?);
    // Read by name: the columns of schema version 11 (RFC 9101 request objects).
    let require_object: bool = row.try_get("require_signed_request_object").map_err(get)?;
    let object_alg: Option<&str> = row.try_get("request_object_signing_alg").map_err(get)?;
    #[cfg(feature = "jwt")]
    {
        if let Some(alg) = object_alg {
            let alg = crate::jose::Algorithm::from_name(alg)
                .ok_or(corrupt("request_object_signing_alg"))?;
            builder = builder.request_object_signing_alg(alg);
        }
        builder = builder.require_signed_request_object(require_object);
    }
    #[cfg(not(feature = "jwt"))]
    if require_object || object_alg.is_some() {
        return Err(corrupt("request object setting (the jwt feature is off)"));
    }
    builder.build().map_err(|_| corrupt("client registration"))
}

#[async_trait]
impl ClientRegistry for PgClientRegistry {
    async fn find(&self, client_id: &ClientId) -> Result<Option<Arc<Client>>, StorageError> {
        const FIND: &str = concat!(
            "SELECT ",
            columns!(),
            ", registration_token_hash IS NOT NULL FROM grantflow_clients WHERE client_id = $1"
        );
        let row = sqlx::query(FIND)
            .bind(client_id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?;
        row.map(|row| {
            let self_registered: bool = row.try_get(36).map_err(storage_error)?;
            client_from_row(&row, self_registered).map(Arc::new)
        })
        .transpose()
    }
}

/// A registration read back: the client's columns, then `registration_metadata` and
/// `registered_ns`.
fn registration_from_row(row: &PgRow) -> Result<Registration, StorageError> {
    const METADATA: usize = 36;
    let client = client_from_row(row, true)?;
    let metadata: Option<String> = row.try_get(METADATA).map_err(storage_error)?;
    let registered: Option<i64> = row.try_get(METADATA + 1).map_err(storage_error)?;
    match (metadata, registered) {
        (Some(metadata), Some(ns)) => {
            Ok(Registration::new(Arc::new(client), metadata, from_ns(ns)))
        }
        _ => Err(corrupt("registration")),
    }
}

/// The dynamic registrations among the clients: rows with a registration access token
/// digest. Each operation is one statement, so the token compare-and-swap of `update` and
/// the single winner of concurrent calls come from the row lock.
#[async_trait]
impl RegistrationStore for PgClientRegistry {
    async fn create(
        &self,
        registration: Registration,
        token: TokenHash,
    ) -> Result<Creation, StorageError> {
        storable(&registration.client).map_err(into_storage)?;
        const CREATE: &str = concat!(
            "INSERT INTO grantflow_clients (",
            columns!(),
            ", registration_token_hash, registration_metadata, registered_ns) VALUES (",
            placeholders!(),
            ", $37, $38, $39) ON CONFLICT DO NOTHING"
        );
        let done = bind_client(sqlx::query(CREATE), &registration.client)
            .bind(token.as_bytes().to_vec())
            .bind(registration.metadata)
            .bind(to_ns(registration.issued_at))
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(if done.rows_affected() == 0 {
            Creation::Duplicate
        } else {
            Creation::Created
        })
    }

    async fn find_by_token(&self, token: &TokenHash) -> Result<Option<Registration>, StorageError> {
        const FIND: &str = concat!(
            "SELECT ",
            registration_columns!(),
            " FROM grantflow_clients WHERE registration_token_hash = $1"
        );
        sqlx::query(FIND)
            .bind(token.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?
            .map(|row| registration_from_row(&row))
            .transpose()
    }

    async fn update(
        &self,
        token: &TokenHash,
        new_token: TokenHash,
        replacement: Option<Registration>,
    ) -> Result<Option<Registration>, StorageError> {
        let row = match replacement {
            Some(replacement) => {
                storable(&replacement.client).map_err(into_storage)?;
                const REPLACE: &str = concat!(
                    "UPDATE grantflow_clients SET ",
                    assignments!(),
                    ", registration_token_hash = $37, registration_metadata = $38 \
                     WHERE client_id = $1 AND registration_token_hash = $39 RETURNING ",
                    registration_columns!()
                );
                bind_client(sqlx::query(REPLACE), &replacement.client)
                    .bind(new_token.as_bytes().to_vec())
                    .bind(replacement.metadata)
                    .bind(token.as_bytes().to_vec())
                    .fetch_optional(&self.pool)
                    .await
            }
            None => {
                const ROTATE: &str = concat!(
                    "UPDATE grantflow_clients SET registration_token_hash = $2 \
                     WHERE registration_token_hash = $1 RETURNING ",
                    registration_columns!()
                );
                sqlx::query(ROTATE)
                    .bind(token.as_bytes().to_vec())
                    .bind(new_token.as_bytes().to_vec())
                    .fetch_optional(&self.pool)
                    .await
            }
        }
        .map_err(storage_error)?;
        row.map(|row| registration_from_row(&row)).transpose()
    }

    async fn delete(&self, token: &TokenHash) -> Result<Option<ClientId>, StorageError> {
        let id: Option<String> = sqlx::query_scalar(
            "DELETE FROM grantflow_clients WHERE registration_token_hash = $1 \
             RETURNING client_id",
        )
        .bind(token.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        id.map(|id| super::client_id(&id)).transpose()
    }
}

/// An [`Error`] of this registry as the [`StorageError`] a store trait returns.
fn into_storage(error: Error) -> StorageError {
    match error {
        Error::Storage(e) => e,
        other => StorageError::new(other),
    }
}

#[cfg(feature = "testing")]
#[async_trait]
impl crate::testing::ClientRegistrar for PgClientRegistry {
    async fn register(&self, client: Client) -> Result<(), StorageError> {
        self.insert(&client).await.map_err(into_storage)
    }
}
