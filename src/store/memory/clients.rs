//! [`MemoryClientRegistry`]: clients held in memory.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;

use crate::error::StorageError;
use crate::store::ClientRegistry;
use crate::types::{Client, ClientError, ClientId};

/// A registry of clients held in memory.
///
/// ```
/// use grantflow::{Client, ClientError, ClientType, GrantType, MemoryClientRegistry};
///
/// let registry = MemoryClientRegistry::new();
/// let client = Client::builder("spa", ClientType::Public)
///     .grant_type(GrantType::AUTHORIZATION_CODE)
///     .redirect_uri("http://127.0.0.1/callback")
///     .build()?;
/// registry.insert(client.clone())?;
/// // [OAuth 2.1 §2.1]: one registration per client_id.
/// assert_eq!(registry.insert(client), Err(ClientError::Duplicate));
/// # Ok::<(), ClientError>(())
/// ```
///
/// [OAuth 2.1 §2.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.1
#[derive(Debug, Default)]
pub struct MemoryClientRegistry {
    clients: RwLock<HashMap<ClientId, Arc<Client>>>,
}

impl MemoryClientRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a new client.
    ///
    /// # Errors
    /// [`ClientError::Duplicate`] when the `client_id` is taken: a client is registered as
    /// exactly one client ([OAuth 2.1 §2.1]).
    ///
    /// [OAuth 2.1 §2.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.1
    pub fn insert(&self, client: Client) -> Result<(), ClientError> {
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        if clients.contains_key(client.id()) {
            return Err(ClientError::Duplicate);
        }
        clients.insert(client.id().clone(), Arc::new(client));
        Ok(())
    }

    /// Replaces the registration of an existing client, for example to add or retire a
    /// secret during rotation.
    ///
    /// # Errors
    /// [`ClientError::Unknown`] when no client has this `client_id`.
    pub fn replace(&self, client: Client) -> Result<(), ClientError> {
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        match clients.get_mut(client.id()) {
            Some(slot) => {
                *slot = Arc::new(client);
                Ok(())
            }
            None => Err(ClientError::Unknown),
        }
    }

    /// Removes a client and returns it. Tokens already issued to it stay in the token
    /// store until they expire or are revoked, but the client can no longer authenticate.
    pub fn remove(&self, client_id: &str) -> Option<Arc<Client>> {
        self.clients
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(client_id)
    }

    /// How many clients are registered.
    pub fn len(&self) -> usize {
        self.clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no client is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl ClientRegistry for MemoryClientRegistry {
    async fn find(&self, client_id: &ClientId) -> Result<Option<Arc<Client>>, StorageError> {
        Ok(self
            .clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(client_id)
            .cloned())
    }
}
