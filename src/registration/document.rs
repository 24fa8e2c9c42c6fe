//! Client ID metadata documents
//! ([draft-ietf-oauth-client-id-metadata-document](https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/)):
//! a `client_id` that is an `https` URL names the JSON metadata the client publishes
//! there.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde_json::Value;

use super::metadata::{ClientMetadata, MetadataError, MetadataLimits, parse_object};
use crate::clock::Clock;
use crate::error::StorageError;
use crate::fetch::{FetchRequest, Fetcher, check_response, check_url, freshness};
use crate::store::ClientRegistry;
use crate::types::{AuthMethod, Client, ClientId, ClientSecret};

/// The largest document accepted, in bytes (the draft recommends 5 KB).
pub(crate) const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// The shortest time a document is cached, whatever its headers say.
const CACHE_FLOOR: Duration = Duration::from_secs(60);
/// The longest time a document is cached, whatever its headers say.
const CACHE_CEILING: Duration = Duration::from_secs(86_400);
/// The most documents cached at once.
const CACHE_CAPACITY: usize = 1024;

/// Where a client that no administrator registered comes from: the client ID metadata
/// document it was resolved from. Reached through
/// [`Client::metadata_document`](crate::Client::metadata_document); consent pages show it
/// so that the user sees who is asking
/// ([client ID metadata documents §6.4](https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/)).
#[derive(Debug, Clone)]
pub struct MetadataDocument {
    host: Box<str>,
    metadata: ClientMetadata,
}

impl MetadataDocument {
    /// The host of the `client_id` URL: the one name the client cannot choose freely.
    /// Show it on the consent page, beside any name or logo.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The validated metadata, with its self-asserted `client_name`, `client_uri` and
    /// `logo_uri` (escape them when rendering).
    pub fn metadata(&self) -> &ClientMetadata {
        &self.metadata
    }
}

/// Why a `client_id` URL or its document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum DocumentError {
    #[error("the client_id URL is not a valid client ID metadata document URL")]
    Url,
    #[error("the document could not be fetched")]
    Fetch,
    #[error("the document response is unusable")]
    Response,
    #[error("the document's client_id differs from its URL")]
    ClientIdMismatch,
    #[error("client ID metadata documents cannot use shared secrets")]
    SharedSecret,
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error("the document does not make a valid client")]
    Client,
}

/// Checks the form of a `client_id` URL (draft §3): `https`, a path other than `/`, no
/// `.` or `..` segment, no query, no fragment, no user information, at most 2,048 bytes,
/// and already in the form a URL parser writes it, so that the string compared with the
/// document's `client_id` is the one that was fetched. Returns the host.
pub(crate) fn check_client_id_url(raw: &str) -> Result<String, DocumentError> {
    let url = check_url(raw).map_err(|_| DocumentError::Url)?;
    if raw.contains('?') || url.query().is_some() {
        return Err(DocumentError::Url);
    }
    let path = url.path();
    if path.is_empty() || path == "/" {
        return Err(DocumentError::Url);
    }
    let dot_segment = path.split('/').any(|segment| {
        let lower = segment.to_ascii_lowercase().replace("%2e", ".");
        lower == "." || lower == ".."
    });
    if dot_segment || url.as_str() != raw {
        return Err(DocumentError::Url);
    }
    url.host_str().map(str::to_owned).ok_or(DocumentError::Url)
}

/// Validates a fetched document for `url` into the [`Client`] it describes.
pub(crate) fn client_from_document(
    url: &str,
    host: &str,
    body: &[u8],
) -> Result<Client, DocumentError> {
    let limits = MetadataLimits {
        max_bytes: MAX_DOCUMENT_BYTES,
        ..MetadataLimits::default()
    };
    let object = parse_object(body, &limits)?;
    match object.get("client_id") {
        Some(Value::String(id)) if id == url => {}
        _ => return Err(DocumentError::ClientIdMismatch),
    }
    if object.contains_key("client_secret") || object.contains_key("client_secret_expires_at") {
        return Err(DocumentError::SharedSecret);
    }
    // The draft's default method would be a shared secret: the document must say.
    if !object.contains_key("token_endpoint_auth_method") {
        return Err(DocumentError::SharedSecret);
    }
    let metadata = ClientMetadata::from_object(&object, &limits)?;
    if !matches!(
        metadata.token_endpoint_auth_method(),
        AuthMethod::None | AuthMethod::PrivateKeyJwt
    ) {
        return Err(DocumentError::SharedSecret);
    }
    let document = MetadataDocument {
        host: host.into(),
        metadata,
    };
    let builder = document.metadata.client_builder(url)?;
    builder
        .metadata_document(Arc::new(document))
        .build()
        .map_err(|_| DocumentError::Client)
}

/// A cached document client and until when it is fresh.
#[derive(Debug)]
struct Cached {
    client: Arc<Client>,
    until: SystemTime,
}

/// The client registry of a server that accepts client ID metadata documents: an
/// `https://` `client_id` is resolved through the fetcher (and cached), every other one
/// goes to the host's registry. Every lookup of a presented client goes through the
/// registry, so every endpoint sees document clients the same way.
pub(crate) struct DocumentRegistry {
    inner: Arc<dyn ClientRegistry>,
    fetcher: Arc<dyn Fetcher>,
    clock: Arc<dyn Clock>,
    cache: Mutex<HashMap<Box<str>, Cached>>,
}

impl fmt::Debug for DocumentRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentRegistry")
            .field("inner", &self.inner)
            .field("fetcher", &self.fetcher)
            .finish_non_exhaustive()
    }
}

impl DocumentRegistry {
    pub(crate) fn new(
        inner: Arc<dyn ClientRegistry>,
        fetcher: Arc<dyn Fetcher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner,
            fetcher,
            clock,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, url: &str, now: SystemTime) -> Option<Arc<Client>> {
        let cache = self.cache.lock().ok()?;
        cache
            .get(url)
            .filter(|entry| entry.until > now)
            .map(|entry| Arc::clone(&entry.client))
    }

    fn remember(&self, url: &str, client: Arc<Client>, until: SystemTime, now: SystemTime) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(url) {
            cache.retain(|_, entry| entry.until > now);
            if cache.len() >= CACHE_CAPACITY {
                let soonest = cache
                    .iter()
                    .min_by_key(|(_, entry)| entry.until)
                    .map(|(key, _)| key.clone());
                if let Some(key) = soonest {
                    cache.remove(&key);
                }
            }
        }
        cache.insert(url.into(), Cached { client, until });
    }

    /// Resolves a document client: from the cache while fresh, else by fetching. A
    /// refused URL, a failed fetch or an invalid document is an unknown client (never
    /// cached).
    async fn resolve(&self, url: &str) -> Result<Option<Arc<Client>>, DocumentError> {
        let host = check_client_id_url(url)?;
        let now = self.clock.now();
        if let Some(client) = self.cached(url, now) {
            return Ok(Some(client));
        }
        let request = FetchRequest::new(url, MAX_DOCUMENT_BYTES).map_err(|_| DocumentError::Url)?;
        let response = self
            .fetcher
            .fetch(&request)
            .await
            .map_err(|_| DocumentError::Fetch)?;
        check_response(&response, MAX_DOCUMENT_BYTES).map_err(|_| DocumentError::Response)?;
        let client = Arc::new(client_from_document(url, &host, response.body())?);
        let lifetime = freshness(&response, CACHE_FLOOR, CACHE_CEILING);
        if let Some(until) = now.checked_add(lifetime) {
            self.remember(url, Arc::clone(&client), until, now);
        }
        Ok(Some(client))
    }
}

#[async_trait]
impl ClientRegistry for DocumentRegistry {
    async fn find(&self, client_id: &ClientId) -> Result<Option<Arc<Client>>, StorageError> {
        let id = client_id.as_str();
        // A URL the host registered itself behaves like any registered client.
        let registered = self.inner.find(client_id).await?;
        if registered.is_some() || !id.starts_with("https://") {
            return Ok(registered);
        }
        match self.resolve(id).await {
            Ok(client) => Ok(client),
            Err(_refused) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(target: "grantflow", reason = %_refused, "client ID metadata document refused");
                Ok(None)
            }
        }
    }

    async fn verify_secret(
        &self,
        client: &Client,
        secret: &ClientSecret,
    ) -> Result<bool, StorageError> {
        if client.metadata_document().is_some() {
            return Ok(false);
        }
        self.inner.verify_secret(client, secret).await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.inner.check_health().await
    }
}
