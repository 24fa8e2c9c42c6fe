//! The password grant at the token endpoint, and the host's [`ResourceOwnerVerifier`].

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Rejection;
use crate::error::{ErrorCode, OAuthError, StorageError};
use crate::grant::password::credentials;
use crate::grant::{GrantHandler, GrantRequest, TokenGrant};
use crate::limiter::{AttemptKey, AttemptLimiter, Limited, Outcome, limited};
use crate::observe::{EventKind, Limiter};
use crate::secret::ResourceOwnerPassword;
use crate::types::{Client, GrantType, Subject};

/// Checks a resource owner's user name and password for the password grant ([RFC 6749 §4.3]).
///
/// The host implements it over its user database, with its own password hashing (a slow
/// KDF). The server adds brute-force protection in front of it ([RFC 6749 §4.3.2]), keyed by user
/// name.
///
/// ```
/// use async_trait::async_trait;
/// use grantflow::{Client, StorageError, Subject};
/// use grantflow::grant::ResourceOwnerVerifier;
/// use grantflow::secret::ResourceOwnerPassword;
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
///
/// [RFC 6749 §4.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3
/// [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
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

    /// Whether the user database answers, for [`Server::health`](crate::Server::health).
    /// The default says yes: override it with a ping of the host's user store.
    ///
    /// # Errors
    /// [`StorageError`] when it does not answer.
    async fn check_health(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// [RFC 9700 §2.4]..[RFC 6749 §10.7].
///
/// [RFC 9700 §2.4]: https://www.rfc-editor.org/rfc/rfc9700#section-2.4
/// [RFC 6749 §10.7]: https://www.rfc-editor.org/rfc/rfc6749#section-10.7
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

    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
        let (username, password) =
            credentials(request.param("username"), request.param("password"))?;
        let scope = request.requested_scope()?;
        let audience = request.requested_resources(&scope)?;
        // PW-03: throttle guessing per user name. A locked-out name is refused before the
        // (slow) check runs, and the check's outcome is answered only if the limiter lets
        // it (`limiter::limited`), so concurrent guesses get at most the limit of answers.
        let key = AttemptKey::username(username);
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
            Ok::<_, Rejection>((outcome, subject))
        })
        .await?;
        let subject = match verified {
            Limited::Answer(subject) => subject,
            Limited::Throttled(retry_after) => {
                request.call.emit(request.now(), || EventKind::LockedOut {
                    limiter: Limiter::Password,
                    client_id: Some(request.client().id().clone()),
                    client_id_claimed: None,
                });
                return Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                    .with_description("too many failed attempts")
                    .with_retry_after(retry_after.as_secs().max(1))
                    .into());
            }
        };
        match subject {
            Some(subject) => Ok(TokenGrant::new(scope)
                .with_audience(audience)
                .with_subject(subject)
                .with_refresh_token()),
            None => Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                .with_description("invalid resource owner credentials")
                .into()),
        }
    }
}
