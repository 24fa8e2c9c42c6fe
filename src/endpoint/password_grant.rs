//! The legacy resource owner password credentials grant
//! ([RFC 6749 §4.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.3)): off by default,
//! enabled with [`ServerBuilder::password_grant`](crate::ServerBuilder::password_grant) and
//! then only for clients registered with [`GrantType::PASSWORD`].
//!
//! [RFC 9700 §2.4](https://www.rfc-editor.org/rfc/rfc9700#section-2.4): "The resource
//! owner password credentials grant MUST NOT be used." It exists for migrating legacy
//! clients only.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::endpoint::token::{GrantError, GrantHandler, GrantRequest, TokenGrant};
use crate::error::{ErrorCode, OAuthError, StorageError};
use crate::limiter::{AttemptLimiter, Outcome, limited};
use crate::secret::ResourceOwnerPassword;
use crate::server::Server;
use crate::types::{Client, GrantType, Subject};

/// Checks a resource owner's user name and password for the password grant (PW-02).
///
/// The host implements it over its user database, with its own password hashing (a slow
/// KDF). The server adds brute-force protection in front of it (PW-03), keyed by user name.
///
/// ```
/// use async_trait::async_trait;
/// use grantflow::{Client, ResourceOwnerPassword, ResourceOwnerVerifier, StorageError, Subject};
///
/// #[derive(Debug)]
/// struct Users;
///
/// #[async_trait]
/// impl ResourceOwnerVerifier for Users {
///     async fn verify(
///         &self,
///         _client: &Client,
///         username: &str,
///         password: &ResourceOwnerPassword,
///     ) -> Result<Option<Subject>, StorageError> {
///         // A real implementation compares against a stored Argon2 / scrypt hash.
///         let ok = username == "alice" && password.expose_secret() == "correct horse";
///         Ok(ok.then(|| Subject::new("user-42")))
///     }
/// }
/// ```
#[async_trait]
pub trait ResourceOwnerVerifier: Send + Sync + fmt::Debug {
    /// The subject whose credentials these are, or `None` when they are wrong (or the user
    /// is unknown or disabled: the client learns only `invalid_grant` either way).
    ///
    /// # Security
    /// Never log or store `password`.
    ///
    /// # Errors
    /// [`StorageError`] when the check could not run.
    async fn verify(
        &self,
        client: &Client,
        username: &str,
        password: &ResourceOwnerPassword,
    ) -> Result<Option<Subject>, StorageError>;
}

/// The deprecation warning reported by [`Server::warnings`] when the password grant is on.
pub(crate) const PASSWORD_GRANT_WARNING: &str = "the resource owner password credentials grant is enabled: RFC 9700 section 2.4 says it MUST NOT be used; enable it only to migrate legacy clients (PW-04)";

/// PW-01..PW-04.
#[derive(Debug)]
pub(crate) struct PasswordGrant {
    pub(crate) verifier: Arc<dyn ResourceOwnerVerifier>,
    pub(crate) limiter: Arc<dyn AttemptLimiter>,
}

#[async_trait]
impl GrantHandler for PasswordGrant {
    fn grant_type(&self) -> &str {
        GrantType::PASSWORD.as_str()
    }

    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, GrantError> {
        let (Some(username), Some(password)) =
            (request.param("username"), request.param("password"))
        else {
            return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("username and password required")
                .into());
        };
        let scope = request.requested_scope()?;
        // PW-03: throttle guessing per user name. A locked-out name is refused before the
        // (slow) check runs, and the check's outcome is answered only if the limiter lets
        // it (`limiter::limited`), so concurrent guesses get at most the limit of answers.
        let key = format!("password:{username}");
        let password = ResourceOwnerPassword::from_presented(password.to_owned());
        let verified = limited(&*self.limiter, &key, request.now(), async {
            let subject = self
                .verifier
                .verify(request.client(), username, &password)
                .await?;
            let outcome = if subject.is_some() {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            Ok::<_, GrantError>((outcome, subject))
        })
        .await?;
        let subject = match verified {
            Ok(subject) => subject,
            Err(retry_after) => {
                return Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                    .with_description("too many failed attempts")
                    .with_retry_after(retry_after.as_secs().max(1))
                    .into());
            }
        };
        match subject {
            Some(subject) => Ok(TokenGrant::new(scope)
                .with_subject(subject)
                .with_refresh_token()),
            None => Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                .with_description("invalid resource owner credentials")
                .into()),
        }
    }
}

impl Server {
    /// Configuration warnings: settings that are allowed but discouraged. Today, one
    /// entry when the password grant is enabled (PW-04). The crate has no logging
    /// dependency and prints nothing itself: log these at startup.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use grantflow::{MemoryClientRegistry, MemoryTokenStore, Server};
    ///
    /// let server = Server::builder(
    ///     "https://as.example.com",
    ///     Arc::new(MemoryClientRegistry::new()),
    ///     Arc::new(MemoryTokenStore::new()),
    /// )
    /// .build()?;
    /// assert!(server.warnings().is_empty());
    /// # Ok::<(), grantflow::ConfigError>(())
    /// ```
    pub fn warnings(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if self
            .grant_types()
            .any(|g| g == GrantType::PASSWORD.as_str())
        {
            warnings.push(PASSWORD_GRANT_WARNING);
        }
        warnings
    }
}
