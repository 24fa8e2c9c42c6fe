//! The JWT bearer authorization grant
//! ([RFC 7523 §2.1](https://www.rfc-editor.org/rfc/rfc7523#section-2.1)): its rules as pure
//! functions, and the host's [`AssertionPolicy`].

pub(crate) mod handler;

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

pub use handler::JwtBearer;

use crate::error::{ErrorCode, OAuthError, StorageError};
use crate::grant::scope_within;
use crate::jose::Claims;
use crate::types::{Client, Scope, Subject};

/// How far ahead an assertion's `exp` may be, and how old its `iat`: one hour.
pub(crate) const MAX_ASSERTION_AGE: Duration = Duration::from_secs(3600);

/// An assertion after every check of
/// [RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3), for the
/// [`AssertionPolicy`] to map.
#[derive(Debug)]
#[non_exhaustive]
pub struct Assertion<'a> {
    /// The authenticated, confidential client presenting it.
    pub client: &'a Client,
    /// Its issuer (`iss`): one of the trusted issuers, exactly.
    pub issuer: &'a str,
    /// Its subject (`sub`), in the issuer's namespace.
    pub subject: &'a str,
    /// All its claims.
    pub claims: &'a Claims,
}

/// The local subject an assertion's subject maps to, and the most scope it may be granted
/// through this issuer and client (also the scope granted when the request has none).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MappedSubject {
    /// The issued token's subject.
    pub subject: Subject,
    /// The scope limit, intersected with the client's allowed scopes.
    pub scope: Scope,
}

impl MappedSubject {
    /// Maps to `subject`, with at most `scope`.
    pub fn new(subject: Subject, scope: Scope) -> Self {
        Self { subject, scope }
    }
}

/// The host's mapping of assertion subjects to local subjects: which client may present
/// assertions of which issuer about whom, and for which scope
/// ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3), item 2;
/// [RFC 7521 §4.1](https://www.rfc-editor.org/rfc/rfc7521#section-4.1)). `None` refuses
/// the assertion (`invalid_grant`).
#[async_trait]
pub trait AssertionPolicy: Send + Sync + fmt::Debug {
    /// Maps one verified assertion, or refuses it with `None`.
    ///
    /// # Errors
    /// A fault of the policy's own backend; the client gets `server_error`.
    async fn map(&self, assertion: &Assertion<'_>) -> Result<Option<MappedSubject>, StorageError>;
}

pub(crate) fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_GRANT).with_description(description)
}

/// [RFC 7523 §3]: an `exp` more than [`MAX_ASSERTION_AGE`] ahead of `now` → `invalid_grant`.
///
/// [RFC 7523 §3]: https://www.rfc-editor.org/rfc/rfc7523#section-3
pub(crate) fn check_horizon(expires_at: SystemTime, now: SystemTime) -> Result<(), OAuthError> {
    match now.checked_add(MAX_ASSERTION_AGE) {
        Some(horizon) if expires_at <= horizon => Ok(()),
        _ => Err(invalid_grant("assertion expires too far in the future")),
    }
}

/// [RFC 7521 §4.1]: the scope to grant: the requested one within the mapped limit and the client's
/// allowed scopes (`invalid_scope` beyond them), or without a request all of that limit.
///
/// [RFC 7521 §4.1]: https://www.rfc-editor.org/rfc/rfc7521#section-4.1
pub(crate) fn granted_scope(
    limit: &Scope,
    client: &Client,
    requested: Option<&str>,
) -> Result<Scope, OAuthError> {
    let requested = requested.map(Scope::parse).transpose().map_err(|_| {
        OAuthError::new(ErrorCode::INVALID_SCOPE).with_description("malformed scope")
    })?;
    scope_within(limit, client, requested.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jb_06_exp_more_than_an_hour_ahead_is_refused() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(check_horizon(now + MAX_ASSERTION_AGE, now).is_ok());
        let far = check_horizon(now + MAX_ASSERTION_AGE + Duration::from_secs(1), now);
        assert_eq!(far.unwrap_err().code().as_str(), "invalid_grant");
    }
}
