//! Plug-ins whose every call fails, for the storage-fault tests: each is given the error
//! it fails with.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use grantflow::secret::TokenHash;
use grantflow::store::{AuthorizationGrant, GrantId, Insert, Redemption, TokenRecord, TokenStore};
use grantflow::{Client, ClientId, ClientRegistry, CodeStore, StorageError};

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
