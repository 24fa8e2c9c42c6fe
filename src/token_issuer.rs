//! Minting tokens: the [`TokenIssuer`] plug-in and its default, opaque random tokens.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::random::Random;
use crate::secret::{AccessToken, RefreshToken};
use crate::types::{Actor, ClientId, GrantId, Resources, Scope, Subject};

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
    /// The token's audience: the resources it is for (`aud`,
    /// [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2),
    /// [RFC 9068 §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)), or empty for
    /// a token not restricted to a resource. A self-contained format writes them as `aud`.
    /// For a refresh token, the resources of the whole grant.
    pub audience: &'a Resources,
    /// The grant the token belongs to.
    pub grant_id: &'a GrantId,
    /// When the token is issued.
    pub issued_at: SystemTime,
    /// When it expires.
    pub expires_at: SystemTime,
    /// For a delegated token: the actor chain (the `act` claim,
    /// [RFC 8693 §4.1](https://www.rfc-editor.org/rfc/rfc8693#section-4.1)). A
    /// self-contained format must carry it.
    pub actor: Option<&'a Actor>,
    /// When the resource owner authenticated, when the grant knows it.
    pub auth_time: Option<SystemTime>,
    /// The authentication context class the resource owner's authentication satisfied,
    /// when the grant knows it.
    pub acr: Option<&'a str>,
    /// For a DPoP-bound access token: the thumbprint of the client's key, which a
    /// self-contained format must carry as `cnf.jkt`
    /// ([RFC 9449 §6.1](https://www.rfc-editor.org/rfc/rfc9449#section-6.1)). `None` for
    /// a bearer token, and for refresh tokens.
    pub dpop_jkt: Option<&'a str>,
}

/// The format of the access tokens a client receives.
///
/// Opaque tokens are random strings that mean something only to the server's token store:
/// resource servers ask the authorization server about them (introspection, or the
/// in-process [`BearerGuard`](crate::guard::BearerGuard)), and revoking one takes effect
/// at once. JWT access tokens ([RFC 9068](https://www.rfc-editor.org/rfc/rfc9068), feature
/// `jwt`) are signed: a resource server verifies them offline with the server's published
/// keys, and revoking one reaches only the resource servers that ask the authorization
/// server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccessTokenFormat {
    /// Opaque random tokens, from the server's [`TokenIssuer`]: the default.
    Opaque,
    /// RFC 9068 JWT access tokens, signed with the server's signing keys.
    Jwt,
}

impl AccessTokenFormat {
    /// The format's name in storage and configuration: `opaque` or `jwt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Jwt => "jwt",
        }
    }

    /// The format named `name` (`opaque` or `jwt`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "opaque" => Some(Self::Opaque),
            "jwt" => Some(Self::Jwt),
            _ => None,
        }
    }
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
/// Async, like every other plug-in: an issuer of signed tokens may need a round trip to a
/// KMS or an HSM. `random` is the server's [`Random`]: draw whatever the format needs from
/// it (an opaque value, a `jti`), so that a test with a
/// [`SeededRandom`](crate::random::SeededRandom) can predict every token.
///
/// Implementations must make values unguessable: at least 128 bits of CSPRNG output
/// ([RFC 6749 §10.3]), and integrity protection for any self-contained format.
///
/// ```
/// use async_trait::async_trait;
/// use grantflow::TokenIssuer;
/// use grantflow::issuer::{IssueError, TokenClaims};
/// use grantflow::random::Random;
/// use grantflow::secret::{AccessToken, RefreshToken};
///
/// /// Opaque tokens with a prefix that tells them apart in the host's logs and scanners.
/// #[derive(Debug)]
/// struct Prefixed;
///
/// #[async_trait]
/// impl TokenIssuer for Prefixed {
///     async fn access_token(
///         &self,
///         _claims: &TokenClaims<'_>,
///         random: &dyn Random,
///     ) -> Result<AccessToken, IssueError> {
///         let value = AccessToken::generate_with(random);
///         Ok(AccessToken::from_presented(format!("at_{}", value.expose_secret())))
///     }
///
///     async fn refresh_token(
///         &self,
///         _claims: &TokenClaims<'_>,
///         random: &dyn Random,
///     ) -> Result<RefreshToken, IssueError> {
///         let value = RefreshToken::generate_with(random);
///         Ok(RefreshToken::from_presented(format!("rt_{}", value.expose_secret())))
///     }
/// }
/// ```
///
/// [RFC 6749 §10.3]: https://www.rfc-editor.org/rfc/rfc6749#section-10.3
#[async_trait]
pub trait TokenIssuer: Send + Sync + fmt::Debug {
    /// Mints an access token.
    ///
    /// # Errors
    /// [`IssueError`] when minting failed.
    async fn access_token(
        &self,
        claims: &TokenClaims<'_>,
        random: &dyn Random,
    ) -> Result<AccessToken, IssueError>;

    /// Mints a refresh token.
    ///
    /// # Errors
    /// [`IssueError`] when minting failed.
    async fn refresh_token(
        &self,
        claims: &TokenClaims<'_>,
        random: &dyn Random,
    ) -> Result<RefreshToken, IssueError>;

    /// Whether the issuer can mint, for [`Server::health`](crate::Server::health): an
    /// issuer that signs through a remote KMS or HSM checks that it answers. The default,
    /// right for an issuer that needs nothing outside the process, says yes.
    ///
    /// # Errors
    /// [`IssueError`] when it cannot mint.
    async fn check_health(&self) -> Result<(), IssueError> {
        Ok(())
    }
}

/// The default [`TokenIssuer`]: opaque tokens of 256 random bits, base64url without
/// padding. They mean nothing on their own and refer only to the stored record.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct OpaqueTokenIssuer;

#[async_trait]
impl TokenIssuer for OpaqueTokenIssuer {
    async fn access_token(
        &self,
        _claims: &TokenClaims<'_>,
        random: &dyn Random,
    ) -> Result<AccessToken, IssueError> {
        Ok(AccessToken::generate_with(random))
    }

    async fn refresh_token(
        &self,
        _claims: &TokenClaims<'_>,
        random: &dyn Random,
    ) -> Result<RefreshToken, IssueError> {
        Ok(RefreshToken::generate_with(random))
    }
}
