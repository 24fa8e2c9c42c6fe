//! [`MemoryClientRegistry`]: clients held in memory.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::store::{ClientRegistry, Creation, Registration, RegistrationStore};
use crate::types::{Client, ClientError, ClientId};

/// The default bound on dynamically registered clients.
const DEFAULT_REGISTRATION_LIMIT: usize = 10_000;

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
///
/// # Dynamic registration
/// It is also a [`RegistrationStore`], for
/// [`ServerBuilder::client_registration`](crate::ServerBuilder::client_registration).
/// Dynamically registered clients are bounded
/// ([`with_registration_limit`](Self::with_registration_limit), default 10,000): once the
/// bound is reached, a new registration is refused until one is deleted, so a flood of
/// registrations cannot exhaust memory. Clients inserted by the host do not count.
///
/// [OAuth 2.1 §2.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.1
#[derive(Debug)]
pub struct MemoryClientRegistry {
    tables: RwLock<Tables>,
    registration_limit: usize,
}

/// The clients, and the registrations among them.
#[derive(Debug, Default)]
struct Tables {
    clients: HashMap<ClientId, Arc<Client>>,
    /// The dynamically registered clients: their registration access token's digest,
    /// metadata and time of registration.
    registrations: HashMap<ClientId, Dynamic>,
    /// The registrations by the digest of their registration access token.
    by_token: HashMap<TokenHash, ClientId>,
}

#[derive(Debug)]
struct Dynamic {
    token: TokenHash,
    metadata: String,
    issued_at: SystemTime,
}

impl Tables {
    fn registration(&self, id: &ClientId) -> Option<Registration> {
        let client = self.clients.get(id)?;
        let dynamic = self.registrations.get(id)?;
        Some(Registration::new(
            Arc::clone(client),
            dynamic.metadata.clone(),
            dynamic.issued_at,
        ))
    }

    fn remove(&mut self, id: &str) -> Option<Arc<Client>> {
        if let Some(dynamic) = self.registrations.remove(id) {
            self.by_token.remove(&dynamic.token);
        }
        self.clients.remove(id)
    }
}

impl Default for MemoryClientRegistry {
    fn default() -> Self {
        Self {
            tables: RwLock::default(),
            registration_limit: DEFAULT_REGISTRATION_LIMIT,
        }
    }
}

impl MemoryClientRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bounds the number of dynamically registered clients held at once
    /// ([RFC 7591 §5](https://www.rfc-editor.org/rfc/rfc7591#section-5)). Default: 10,000.
    /// A registration beyond it gets [`Creation::Full`], which the registration endpoint
    /// answers with 503 `temporarily_unavailable`. Each registered client takes roughly a
    /// kilobyte or two (its metadata twice: as a client and as the JSON returned on reads).
    #[must_use]
    pub fn with_registration_limit(mut self, limit: usize) -> Self {
        self.registration_limit = limit;
        self
    }

    /// How many clients registered themselves (dynamic registration).
    pub fn registrations(&self) -> usize {
        self.read().registrations.len()
    }

    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new client.
    ///
    /// # Errors
    /// [`ClientError::Duplicate`] when the `client_id` is taken: a client is registered as
    /// exactly one client ([OAuth 2.1 §2.1]).
    ///
    /// [OAuth 2.1 §2.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.1
    pub fn insert(&self, client: Client) -> Result<(), ClientError> {
        let mut tables = self.write();
        if tables.clients.contains_key(client.id()) {
            return Err(ClientError::Duplicate);
        }
        tables.clients.insert(client.id().clone(), Arc::new(client));
        Ok(())
    }

    /// Replaces the registration of an existing client, for example to add or retire a
    /// secret during rotation.
    ///
    /// # Errors
    /// [`ClientError::Unknown`] when no client has this `client_id`.
    pub fn replace(&self, client: Client) -> Result<(), ClientError> {
        let mut tables = self.write();
        match tables.clients.get_mut(client.id()) {
            Some(slot) => {
                *slot = Arc::new(client);
                Ok(())
            }
            None => Err(ClientError::Unknown),
        }
    }

    /// Removes a client and returns it (with its dynamic registration, if it has one).
    /// Tokens already issued to it stay in the token store until they expire or are
    /// revoked, but the client can no longer authenticate.
    pub fn remove(&self, client_id: &str) -> Option<Arc<Client>> {
        self.write().remove(client_id)
    }

    /// How many clients are registered.
    pub fn len(&self) -> usize {
        self.read().clients.len()
    }

    /// Whether no client is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl ClientRegistry for MemoryClientRegistry {
    async fn find(&self, client_id: &ClientId) -> Result<Option<Arc<Client>>, StorageError> {
        Ok(self.read().clients.get(client_id).cloned())
    }
}

#[async_trait]
impl RegistrationStore for MemoryClientRegistry {
    async fn create(
        &self,
        registration: Registration,
        token: TokenHash,
    ) -> Result<Creation, StorageError> {
        let mut tables = self.write();
        let id = registration.client.id().clone();
        if tables.clients.contains_key(&id) || tables.by_token.contains_key(&token) {
            return Ok(Creation::Duplicate);
        }
        if tables.registrations.len() >= self.registration_limit {
            return Ok(Creation::Full);
        }
        tables.by_token.insert(token, id.clone());
        tables.registrations.insert(
            id.clone(),
            Dynamic {
                token,
                metadata: registration.metadata,
                issued_at: registration.issued_at,
            },
        );
        tables.clients.insert(id, registration.client);
        Ok(Creation::Created)
    }

    async fn find_by_token(&self, token: &TokenHash) -> Result<Option<Registration>, StorageError> {
        let tables = self.read();
        Ok(tables
            .by_token
            .get(token)
            .and_then(|id| tables.registration(id)))
    }

    async fn update(
        &self,
        token: &TokenHash,
        new_token: TokenHash,
        replacement: Option<Registration>,
    ) -> Result<Option<Registration>, StorageError> {
        let mut tables = self.write();
        let Some(id) = tables.by_token.get(token).cloned() else {
            return Ok(None);
        };
        if let Some(replacement) = &replacement {
            if replacement.client.id() != &id {
                return Err(StorageError::new(
                    "a registration update must keep the client_id",
                ));
            }
        }
        if new_token != *token && tables.by_token.contains_key(&new_token) {
            return Err(StorageError::new("registration access token digest in use"));
        }
        tables.by_token.remove(token);
        tables.by_token.insert(new_token, id.clone());
        if let Some(replacement) = replacement {
            tables
                .clients
                .insert(id.clone(), Arc::clone(&replacement.client));
            if let Some(dynamic) = tables.registrations.get_mut(&id) {
                dynamic.metadata = replacement.metadata;
            }
        }
        if let Some(dynamic) = tables.registrations.get_mut(&id) {
            dynamic.token = new_token;
        }
        Ok(tables.registration(&id))
    }

    async fn delete(&self, token: &TokenHash) -> Result<Option<ClientId>, StorageError> {
        let mut tables = self.write();
        let Some(id) = tables.by_token.get(token).cloned() else {
            return Ok(None);
        };
        tables.remove(id.as_str());
        Ok(Some(id))
    }
}
