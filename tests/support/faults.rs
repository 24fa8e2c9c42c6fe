//! Plug-ins whose every call fails, for the storage-fault tests: each is given the error
//! it fails with; and a token store without rotation, for the contract-breach tests.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use grantflow::secret::TokenHash;
use grantflow::store::{AuthorizationGrant, GrantId, Insert, Redemption, TokenRecord, TokenStore};
use grantflow::{Client, ClientId, ClientRegistry, CodeStore, MemoryTokenStore, StorageError};

/// A secret-looking internal detail that must never reach a client.
pub const DETAIL: &str = "connect to db.internal:5432 failed: password=hunter2";

/// A token store whose every call fails with `self.0()`.
#[derive(Debug)]
pub struct FailingTokens(pub fn() -> StorageError);

#[async_trait]
impl TokenStore for FailingTokens {
    async fn insert(&self, _: Vec<(TokenHash, TokenRecord)>) -> Result<Insert, StorageError> {
        Err(self.0())
    }
    async fn find(&self, _: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        Err(self.0())
    }
    async fn revoke(&self, _: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        Err(self.0())
    }
    async fn revoke_grant(&self, _: &GrantId, _: SystemTime) -> Result<usize, StorageError> {
        Err(self.0())
    }
    async fn purge_expired(&self, _: SystemTime) -> Result<usize, StorageError> {
        Err(self.0())
    }
}

/// A client registry whose every lookup fails with `self.0()`.
#[derive(Debug)]
pub struct FailingClients(pub fn() -> StorageError);

#[async_trait]
impl ClientRegistry for FailingClients {
    async fn find(&self, _: &ClientId) -> Result<Option<Arc<Client>>, StorageError> {
        Err(self.0())
    }
}

/// A code store whose every call fails with `self.0()`.
#[derive(Debug)]
pub struct FailingCodes(pub fn() -> StorageError);

#[async_trait]
impl CodeStore for FailingCodes {
    async fn insert(&self, _: TokenHash, _: AuthorizationGrant) -> Result<(), StorageError> {
        Err(self.0())
    }
    async fn redeem(&self, _: &TokenHash) -> Result<Redemption, StorageError> {
        Err(self.0())
    }
}

/// A token store that implements the required methods and `purge_expired` over a memory
/// store, but not rotation (the trait's default refuses it).
#[derive(Debug, Default)]
pub struct NoRotation(pub Arc<MemoryTokenStore>);

#[async_trait]
impl TokenStore for NoRotation {
    async fn insert(&self, tokens: Vec<(TokenHash, TokenRecord)>) -> Result<Insert, StorageError> {
        self.0.insert(tokens).await
    }
    async fn find(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        self.0.find(token).await
    }
    async fn revoke(&self, token: &TokenHash) -> Result<Option<TokenRecord>, StorageError> {
        self.0.revoke(token).await
    }
    async fn revoke_grant(
        &self,
        grant: &GrantId,
        until: SystemTime,
    ) -> Result<usize, StorageError> {
        self.0.revoke_grant(grant, until).await
    }
    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        self.0.purge_expired(now).await
    }
}

/// The text of every cause behind `error`, which the host may log.
pub fn causes(error: &dyn std::error::Error) -> String {
    let mut chain = String::new();
    let mut cause = error.source();
    while let Some(current) = cause {
        chain.push_str(&current.to_string());
        cause = current.source();
    }
    chain
}
