//! Dynamic client registration storage
//! ([RFC 7591](https://www.rfc-editor.org/rfc/rfc7591),
//! [RFC 7592](https://www.rfc-editor.org/rfc/rfc7592)): the [`RegistrationStore`] plug-in
//! and the [`Registration`] it holds.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::StorageError;
use crate::secret::TokenHash;
use crate::types::{Client, ClientId};

/// A client that registered itself: the [`Client`] the server built from its metadata,
/// the metadata as registered, and when it registered.
///
/// `Debug` shows the client (whose own `Debug` holds no secret) and the time, not the
/// metadata.
#[derive(Clone)]
#[non_exhaustive]
pub struct Registration {
    /// The client, as [`ClientRegistry::find`](crate::ClientRegistry::find) must return
    /// it from then on. Its secret, if it has one, is a digest.
    pub client: Arc<Client>,
    /// The registered metadata, defaults included, as a JSON object
    /// ([RFC 7591 §3.2.1](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.1)), without
    /// `client_id`, secrets or the registration access token. The server returns it on
    /// reads; a store keeps it as opaque text.
    pub metadata: String,
    /// When the `client_id` was issued (`client_id_issued_at`).
    pub issued_at: SystemTime,
}

impl Registration {
    /// A registration record; stores use it to rebuild one.
    pub fn new(client: Arc<Client>, metadata: String, issued_at: SystemTime) -> Self {
        Self {
            client,
            metadata,
            issued_at,
        }
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("client", &self.client.id())
            .field("issued_at", &self.issued_at)
            .finish_non_exhaustive()
    }
}

/// What [`RegistrationStore::create`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Creation {
    /// The client is registered.
    Created,
    /// A client with this `client_id` exists already; nothing was stored.
    Duplicate,
    /// The store holds as many dynamically registered clients as it is allowed to;
    /// nothing was stored ([RFC 7591 §5](https://www.rfc-editor.org/rfc/rfc7591#section-5)
    /// lets a server limit registrations).
    Full,
}

/// The writes of dynamic client registration, in the registry that
/// [`ClientRegistry::find`](crate::ClientRegistry::find) reads: a client created here is
/// found there at once, one deleted here is gone there at once.
///
/// Each registration is reached by the [`TokenHash`] of its registration access token
/// ([RFC 7592 §3](https://www.rfc-editor.org/rfc/rfc7592#section-3)), never by the token
/// itself, so a leaked table holds no live credential. A token belongs to exactly one
/// client and one registration holds exactly one token at a time.
///
/// [`MemoryClientRegistry`](crate::MemoryClientRegistry) (bounded, see
/// [`with_registration_limit`](crate::MemoryClientRegistry::with_registration_limit)) and
/// `PgClientRegistry` implement it; the `testing` feature's conformance suite checks an
/// implementation (`registrations.*`).
#[async_trait]
pub trait RegistrationStore: Send + Sync + fmt::Debug {
    /// Stores a new registration whose registration access token has the digest `token`.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; then nothing is stored.
    async fn create(
        &self,
        registration: Registration,
        token: TokenHash,
    ) -> Result<Creation, StorageError>;

    /// The registration whose registration access token has the digest `token`, if any.
    ///
    /// # Errors
    /// [`StorageError`] only for a backend failure, never for "not found".
    async fn find_by_token(&self, token: &TokenHash) -> Result<Option<Registration>, StorageError>;

    /// In one atomic step: if a registration holds the token `token`, gives it the token
    /// `new_token` instead (the old one stops working at once,
    /// [RFC 7592 App. B](https://www.rfc-editor.org/rfc/rfc7592#appendix-B)), replaces its
    /// client and metadata with `replacement` when one is given (same `client_id`; its
    /// `issued_at` is kept), and returns the registration as it is now stored. `None`
    /// when no registration holds `token`: of two concurrent calls with one token, exactly
    /// one succeeds.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; then nothing changed.
    async fn update(
        &self,
        token: &TokenHash,
        new_token: TokenHash,
        replacement: Option<Registration>,
    ) -> Result<Option<Registration>, StorageError>;

    /// Deletes the registration holding the token `token`, client included, and returns
    /// its `client_id`; `None` when no registration holds it. The client, its secret and
    /// its registration access token stop working at once
    /// ([RFC 7592 §2.3](https://www.rfc-editor.org/rfc/rfc7592#section-2.3)).
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; then nothing was deleted.
    async fn delete(&self, token: &TokenHash) -> Result<Option<ClientId>, StorageError>;
}
