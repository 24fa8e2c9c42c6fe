//! The client credentials grant
//! ([RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)): pure checks.

pub(crate) mod handler;

use crate::error::{ErrorCode, OAuthError};
use crate::grant::resolve_scope;
use crate::types::{Client, Scope};

/// Checks a client credentials request of an authenticated client and returns the scope to
/// grant.
///
/// - CC-01: only confidential clients may use the grant; a public one gets
///   `unauthorized_client`. (Authentication itself happened before: a confidential client
///   cannot get here without it.)
/// - CC-03: the scope is limited to the client's allowed scopes (`invalid_scope`).
///
/// CC-02 (no refresh token) and CC-04 (no subject) are properties of what the handler
/// issues.
pub(crate) fn check(client: &Client, requested_scope: Option<&str>) -> Result<Scope, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
            .with_description("client_credentials is for confidential clients only"));
    }
    resolve_scope(client, requested_scope)
}
