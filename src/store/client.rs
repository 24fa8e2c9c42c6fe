//! Clients: the [`ClientRegistry`] plug-in and the one lookup of a presented `client_id`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::StorageError;
use crate::types::ClientSecret;
use crate::types::{Client, ClientId};

/// Looks clients up by `client_id`.
///
/// ```
/// use std::sync::Arc;
/// use grantflow::{Client, ClientRegistry, ClientType, GrantType, MemoryClientRegistry};
///
/// let registry = MemoryClientRegistry::new();
/// registry.insert(Client::builder("tv", ClientType::Public).grant_type(GrantType::DEVICE_CODE).build()?)?;
/// let registry: Arc<dyn ClientRegistry> = Arc::new(registry);
/// # let _ = registry;
/// # Ok::<(), grantflow::ClientError>(())
/// ```
#[async_trait]
pub trait ClientRegistry: Send + Sync + fmt::Debug {
    /// The client registered as `client_id`, if any. A presented identifier reaches the
    /// registry only as a [`ClientId`], which
    /// [`ClientId::new`](crate::ClientId::new) validated: the server answers anything
    /// else as an unknown client without asking.
    ///
    /// # Errors
    /// [`StorageError`] only for a backend failure, never for "not found".
    async fn find(&self, client_id: &ClientId) -> Result<Option<Arc<Client>>, StorageError>;

    /// Checks a presented client secret. The default compares SHA-256 digests in constant
    /// time ([`Client::verify_secret`]), which is right for the high-entropy secrets an
    /// authorization server generates. Override it to use a slow KDF for human-chosen
    /// secrets, or a secret manager.
    ///
    /// # Errors
    /// [`StorageError`] when the check itself could not run.
    async fn verify_secret(
        &self,
        client: &Client,
        secret: &ClientSecret,
    ) -> Result<bool, StorageError> {
        Ok(client.verify_secret(secret))
    }

    /// Whether the registry answers, for [`Server::health`](crate::Server::health). The
    /// default looks up a client nobody registers (one round trip); override it with a
    /// cheaper ping if there is one.
    ///
    /// # Errors
    /// [`StorageError`] when the backend does not answer.
    async fn check_health(&self) -> Result<(), StorageError> {
        let probe = ClientId::new(super::HEALTH_PROBE).map_err(StorageError::new)?;
        self.find(&probe).await.map(|_| ())
    }
}

/// Looks up a `client_id` a request presented. An identifier no client can have (one
/// [`ClientId::new`] refuses) is unknown without asking the registry: a backend may treat
/// such input as a fault (PostgreSQL refuses NUL bytes in text). Every lookup of a
/// presented identifier goes through here.
pub(crate) async fn find_presented_client(
    registry: &dyn ClientRegistry,
    client_id: &str,
) -> Result<Option<Arc<Client>>, StorageError> {
    match ClientId::new(client_id) {
        Ok(id) => registry.find(&id).await,
        Err(_) => Ok(None),
    }
}
