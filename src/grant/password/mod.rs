//! The legacy resource owner password credentials grant
//! ([RFC 6749 §4.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.3)): off by default,
//! enabled with [`ServerBuilder::password_grant`](crate::ServerBuilder::password_grant) and
//! then only for clients registered with [`GrantType::PASSWORD`](crate::GrantType::PASSWORD).
//!
//! [RFC 9700 §2.4](https://www.rfc-editor.org/rfc/rfc9700#section-2.4): "The resource
//! owner password credentials grant MUST NOT be used." It exists for migrating legacy
//! clients only.

pub(crate) mod handler;

use crate::error::{ErrorCode, OAuthError};

/// The deprecation warning reported by [`Server::warnings`](crate::Server::warnings) when the password grant is on.
pub(crate) const PASSWORD_GRANT_WARNING: &str = "the resource owner password credentials grant is enabled: RFC 9700 section 2.4 says it MUST NOT be used; enable it only to migrate legacy clients (PW-04)";

/// [RFC 6749 §4.3]: the request must carry both `username` and `password` (else `invalid_request`).
///
/// [RFC 6749 §4.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3
pub(crate) fn credentials<'a>(
    username: Option<&'a str>,
    password: Option<&'a str>,
) -> Result<(&'a str, &'a str), OAuthError> {
    match (username, password) {
        (Some(username), Some(password)) => Ok((username, password)),
        _ => Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
            .with_description("username and password required")),
    }
}
