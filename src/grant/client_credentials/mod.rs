//! The client credentials grant
//! ([RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)): pure checks.

pub(crate) mod handler;

use crate::error::{ErrorCode, OAuthError};
use crate::grant::resolve_scope;
use crate::types::{Client, Scope};

/// Checks a client credentials request of an authenticated client and returns the scope to
/// grant.
///
/// - [RFC 6749 §4.4]: only confidential clients may use the grant; a public one gets
///   `unauthorized_client`. (Authentication itself happened before: a confidential client
///   cannot get here without it.)
/// - [RFC 6749 §3.3]: the scope is limited to the client's allowed scopes (`invalid_scope`).
///
/// [RFC 6749 §4.4.3] (no refresh token) and [RFC 9700 §4.15.1] (no subject) are properties of what
/// the handler
/// issues.
///
/// [RFC 6749 §4.4]: https://www.rfc-editor.org/rfc/rfc6749#section-4.4
/// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
/// [RFC 6749 §4.4.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.4.3
/// [RFC 9700 §4.15.1]: https://www.rfc-editor.org/rfc/rfc9700#section-4.15.1
pub(crate) fn check(client: &Client, requested_scope: Option<&str>) -> Result<Scope, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
            .with_description("client_credentials is for confidential clients only"));
    }
    resolve_scope(client, requested_scope)
}
