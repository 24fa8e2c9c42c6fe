//! Minting tokens: the [`TokenIssuer`] plug-in and its default, opaque random tokens.

use std::fmt;
use std::time::SystemTime;

use crate::secret::{AccessToken, RefreshToken};
use crate::types::{ClientId, GrantId, Scope, Subject};

/// What a token is about, handed to a [`TokenIssuer`] when it mints one.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TokenClaims<'a> {
    /// The issuer identifier of the server.
    pub issuer: &'a str,
    /// The client the token is issued to.
    pub client_id: &'a ClientId,
    /// The resource owner, or `None` for client credentials tokens.
    pub subject: Option<&'a Subject>,
    /// The granted scope.
    pub scope: &'a Scope,
    /// The grant the token belongs to.
    pub grant_id: &'a GrantId,
    /// When the token is issued.
    pub issued_at: SystemTime,
    /// When it expires.
    pub expires_at: SystemTime,
}

/// A token issuer failed (for example a signing key was unavailable). The client sees
/// only `server_error`.
#[derive(Debug, thiserror::Error)]
#[error("token issuer failed")]
pub struct IssueError(#[source] Box<dyn std::error::Error + Send + Sync + 'static>);

impl IssueError {
    /// Wraps the cause.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self(source.into())
    }
}

/// Mints token values. The server stores every token's record under its digest whatever
/// the format, so revocation and introspection work for self-contained tokens too.
///
/// Implementations must make values unguessable: at least 128 bits of CSPRNG output
/// (TE-14), and integrity protection for any self-contained format.
pub trait TokenIssuer: Send + Sync + fmt::Debug {
    /// Mints an access token.
    ///
    /// # Errors
    /// [`IssueError`] when minting failed.
    fn access_token(&self, claims: &TokenClaims<'_>) -> Result<AccessToken, IssueError>;

    /// Mints a refresh token.
    ///
    /// # Errors
    /// [`IssueError`] when minting failed.
    fn refresh_token(&self, claims: &TokenClaims<'_>) -> Result<RefreshToken, IssueError>;
}

/// The default [`TokenIssuer`]: opaque tokens of 256 random bits, base64url without
/// padding. They mean nothing on their own and refer only to the stored record.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct OpaqueTokenIssuer;

impl TokenIssuer for OpaqueTokenIssuer {
    fn access_token(&self, _claims: &TokenClaims<'_>) -> Result<AccessToken, IssueError> {
        Ok(AccessToken::generate())
    }

    fn refresh_token(&self, _claims: &TokenClaims<'_>) -> Result<RefreshToken, IssueError> {
        Ok(RefreshToken::generate())
    }
}
