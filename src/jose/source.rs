//! [`JwksSource`]: where a resource server's guard gets the authorization server's JWK Set
//! again, when a token names a key it does not know or its copy has aged.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;

use super::keyset::{JwksDocument, KeySet, KeySetError};
use crate::error::StorageError;

/// The authorization server's JWK Set, fetched on demand, for a
/// [`BearerGuard`](crate::guard::BearerGuard) that verifies JWT access tokens offline
/// ([`BearerGuard::jwt`](crate::guard::BearerGuard::jwt)).
///
/// The crate opens no sockets: a resource server in another process implements this with
/// its HTTP client, fetching the authorization server's `jwks_uri` over `https` (no
/// redirects, a size limit of 64 KiB, a timeout) and returning the body with the `max-age`
/// of its `Cache-Control` header. The guard parses and checks the document, and decides when
/// to call: when its copy is older than that `max-age` (bounded to 1 minute..1 day), and
/// when a token names an unknown `kid`, at most once a minute
/// ([`AccessTokenVerifier::refetch_due`](super::AccessTokenVerifier::refetch_due)). In the
/// authorization server's own process, the [`KeySet`] is the source.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use async_trait::async_trait;
/// use grantflow::StorageError;
/// use grantflow::jose::{JwksDocument, JwksSource};
///
/// /// A JWK Set read from a file the deployment keeps up to date.
/// #[derive(Debug)]
/// struct FromFile(std::path::PathBuf);
///
/// #[async_trait]
/// impl JwksSource for FromFile {
///     async fn fetch(&self, _now: SystemTime) -> Result<JwksDocument, StorageError> {
///         let body = std::fs::read(&self.0).map_err(StorageError::transient)?;
///         Ok(JwksDocument::new(body, Duration::from_secs(300)))
///     }
/// }
/// ```
#[async_trait]
pub trait JwksSource: Send + Sync + fmt::Debug {
    /// The authorization server's current JWK Set document, and how long it may be cached.
    ///
    /// # Errors
    /// [`StorageError`] when the document cannot be had (transient when a later try may
    /// succeed): the guard keeps the keys it has, and refuses a token of an unknown key
    /// with this fault.
    async fn fetch(&self, now: SystemTime) -> Result<JwksDocument, StorageError>;
}

/// The server's own keys, for a guard in the same process: the published keys at `now`.
#[async_trait]
impl JwksSource for KeySet {
    async fn fetch(&self, now: SystemTime) -> Result<JwksDocument, StorageError> {
        self.jwks(now).await.map_err(|error| match error {
            KeySetError::Storage(error) => error,
            other => StorageError::new(other),
        })
    }
}
