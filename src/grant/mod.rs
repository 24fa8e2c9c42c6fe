//! Extension grants: the token endpoint dispatches each request by `grant_type` to a
//! [`GrantHandler`], which gets a [`GrantRequest`] (the client already
//! authenticated) and decides a [`TokenGrant`] or a [`Rejection`]; the server then mints,
//! stores and renders the tokens the same way for every grant
//! ([RFC 6749 §4.5](https://www.rfc-editor.org/rfc/rfc6749#section-4.5)). The built-in
//! grants are handlers too. Register one with
//! [`ServerBuilder::grant_handler`](crate::ServerBuilder::grant_handler).
//!
//! Two extension grants ship here, written exactly as a grant of your own would be, with
//! nothing but this module's public API: [`TokenExchange`]
//! ([RFC 8693](https://www.rfc-editor.org/rfc/rfc8693)) and, with feature `jwt`,
//! `JwtBearer` ([RFC 7523 §2.1](https://www.rfc-editor.org/rfc/rfc7523#section-2.1)).
//! Read their source (`src/grant/token_exchange/handler.rs`,
//! `src/grant/jwt_bearer/handler.rs`) as the examples to follow.
//!
//! # Writing a grant
//!
//! 1. **One type, one `grant_type`.** Implement [`GrantHandler`]: `grant_type` returns the
//!    absolute URI of your grant (an extension grant type is a URI,
//!    [RFC 6749 §4.5](https://www.rfc-editor.org/rfc/rfc6749#section-4.5)), `handle`
//!    decides. The handler holds what it needs as `Arc<dyn _>` plug-ins: the token store
//!    to look tokens up (token exchange), a single-use store for replay protection (JWT
//!    bearer), trusted issuers' keys.
//! 2. **What is already checked.** The method, content type and form syntax, the client's
//!    authentication, and that the client is registered for your grant type. Decide
//!    whether public clients may use it (both shipped grants refuse them with
//!    `unauthorized_client`: they mint tokens from a bearer credential).
//! 3. **Read parameters** with [`GrantRequest::param`]. A parameter sent twice is refused
//!    before your handler runs, except `resource` and `audience`, which may repeat: read
//!    them with [`GrantRequest::param_values`]. Parameters can be secrets: never log them.
//! 4. **Refuse with the RFC's error.** Return an [`OAuthError`] with the
//!    code your grant's RFC names (`invalid_request` for a bad subject token in token
//!    exchange, `invalid_grant` for a bad assertion in JWT bearer, `invalid_scope`,
//!    `invalid_target`, `unauthorized_client`); it converts into [`Rejection`] with `?`.
//!    Say which check failed in the description, never the value. A failing store or
//!    plug-in is a fault (`?` on its error), answered `server_error`.
//! 5. **Leave host decisions to a plug-in whose default refuses.** Who may exchange what
//!    ([`ExchangePolicy`]), which assertion subject is which local user
//!    (`AssertionPolicy`): an async trait the host implements. Without one, refuse.
//! 6. **Describe the tokens** with [`TokenGrant`]: the scope (use
//!    [`GrantRequest::requested_scope`] for the client's registration rules, or narrow
//!    from an upper limit), [`with_subject`](TokenGrant::with_subject),
//!    [`with_audience`](TokenGrant::with_audience), a refresh token only if your grant
//!    should have one, [`expiring_by`](TokenGrant::expiring_by) to cap the lifetime at
//!    what the input allows, [`in_grant`](TokenGrant::in_grant) to join an existing grant
//!    so that revoking it revokes the new tokens (only with a grant id from a record you
//!    validated), [`with_actor`](TokenGrant::with_actor) for delegation and
//!    [`with_issued_token_type`](TokenGrant::with_issued_token_type). The server mints,
//!    stores (all or nothing) and renders them.
//! 7. **Register and allow.** `ServerBuilder::grant_handler(Arc::new(handler))` and
//!    `ClientBuilder::grant_type(GrantType::new(URI))` on each client that may use it.
//!    The metadata's `grant_types_supported` lists every registered handler.
//! 8. **Test the negative paths** through `Server::token`, with the other side of the
//!    protocol built by an independent library.
//!
//! The password grant's plug-in, [`ResourceOwnerVerifier`], is here as well.

// Every grant has the same two parts, under its own name:
// - grant/<grant>/mod.rs: its rules, as pure functions over plain data. No store trait, no
//   server, nothing async: each takes everything it needs as arguments, `now` included, so
//   it is unit-testable without a runtime.
// - grant/<grant>/handler.rs: its GrantHandler, the async side that fetches what the rules
//   need through the stores, applies them and decides what to issue.
// handler.rs here holds the seam itself: GrantRequest in, TokenGrant out.

pub(crate) mod authorization_code;
pub(crate) mod client_credentials;
pub(crate) mod device;
pub(crate) mod handler;
#[cfg(feature = "jwt")]
pub(crate) mod jwt_bearer;
pub(crate) mod password;
pub(crate) mod refresh_token;
pub(crate) mod resource;
pub(crate) mod token_exchange;
#[cfg(feature = "jwt")]
pub(crate) mod trusted;

pub use crate::error::{InvalidErrorCode, Rejection};
pub use crate::types::Actor;
pub use handler::{GrantHandler, TokenGrant};
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub use jwt_bearer::{Assertion, AssertionPolicy, JwtBearer, MappedSubject};
pub use password::handler::ResourceOwnerVerifier;
pub use token_exchange::{
    Exchange, ExchangeDecision, ExchangePolicy, Issuance, TokenExchange, TokenType, ValidatedToken,
};
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub use trusted::TrustedIssuer;

// `GrantRequest` is public at the crate root (a name of the design card).
pub(crate) use handler::GrantRequest;

use std::time::Duration;

use crate::clock::revoked_until;
use crate::error::{ErrorCode, OAuthError, StorageError};
use crate::observe::{EventKind, ReplayedCode, RevocationCause};
use crate::store::TokenStore;
use crate::types::{Client, GrantId, Scope};

/// A code of `grant_id` came back after it was redeemed ([RFC 6749 §4.1.2], and the device code's
/// equivalent): revokes every token of the grant, with a tombstone kept for
/// `revoked_for`, and records `code_replay_detected` then `grant_revoked`.
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
pub(crate) async fn revoke_replayed(
    request: &GrantRequest<'_>,
    tokens: &dyn TokenStore,
    grant_id: GrantId,
    code: ReplayedCode,
    revoked_for: Duration,
) -> Result<(), StorageError> {
    let (call, now, client_id) = (request.call, request.now(), request.client().id());
    call.emit(now, || EventKind::CodeReplayDetected {
        client_id: client_id.clone(),
        grant_id,
        code,
    });
    tokens
        .revoke_grant(&grant_id, revoked_until(now, revoked_for))
        .await?;
    call.emit(now, || EventKind::GrantRevoked {
        grant_id,
        client_id: client_id.clone(),
        cause: RevocationCause::CodeReplay,
    });
    Ok(())
}

/// Resolves the `scope` of a request against what the client may be granted
/// ([RFC 6749 §3.3](https://www.rfc-editor.org/rfc/rfc6749#section-3.3)).
///
/// - [RFC 6749 §3.3]: malformed → `invalid_scope`.
/// - [RFC 6749 §3.3]: a token the client is not allowed → `invalid_scope`. The request is refused,
///   never silently narrowed, so the client learns at once that its registration and its
///   requests disagree.
/// - [RFC 6749 §3.3]: absent → the client's registered default scope, or `invalid_scope`
///   when it has none.
///
/// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
pub(crate) fn resolve_scope(client: &Client, requested: Option<&str>) -> Result<Scope, OAuthError> {
    let Some(text) = requested else {
        return client.default_scope().cloned().ok_or_else(|| {
            OAuthError::new(ErrorCode::INVALID_SCOPE)
                .with_description("scope required: the client has no default scope")
        });
    };
    let scope = Scope::parse(text).map_err(|_| {
        OAuthError::new(ErrorCode::INVALID_SCOPE).with_description("malformed scope")
    })?;
    if scope.is_empty() {
        return Err(OAuthError::new(ErrorCode::INVALID_SCOPE).with_description("empty scope"));
    }
    if !scope.is_subset_of(client.allowed_scope()) {
        return Err(OAuthError::new(ErrorCode::INVALID_SCOPE)
            .with_description("scope not allowed for this client"));
    }
    Ok(scope)
}

/// The scope an extension grant issues from an upper `limit` (a subject token's scope, an
/// assertion's mapped scope): the requested scope when it is within `limit` and the
/// client's allowed scopes (`invalid_scope` otherwise: never narrowed silently); without a
/// request, all of `limit` the client is allowed.
pub(crate) fn scope_within(
    limit: &Scope,
    client: &Client,
    requested: Option<&Scope>,
) -> Result<Scope, OAuthError> {
    let allowed = client.allowed_scope();
    match requested {
        Some(scope) if scope.is_subset_of(limit) && scope.is_subset_of(allowed) => {
            Ok(scope.clone())
        }
        Some(_) => Err(OAuthError::new(ErrorCode::INVALID_SCOPE)
            .with_description("scope beyond what this grant may issue")),
        None => {
            let kept: Vec<&str> = limit.iter().filter(|t| allowed.contains(t)).collect();
            Scope::parse(&kept.join(" ")).map_err(|_| {
                OAuthError::new(ErrorCode::INVALID_SCOPE).with_description("malformed scope")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ClientSecret;
    use crate::types::{ClientType, GrantType};

    fn client(default: Option<&str>) -> Client {
        let mut builder = Client::builder("c", ClientType::Confidential)
            .secret(&ClientSecret::from_presented("s".into()))
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("read write");
        if let Some(d) = default {
            builder = builder.default_scope(d);
        }
        builder.build().unwrap()
    }

    /// The scope `requested` resolves to for a client with `default`, or the error code.
    fn resolved(default: Option<&str>, requested: Option<&str>) -> String {
        resolve_scope(&client(default), requested)
            .map_or_else(|e| e.code().as_str().to_owned(), |s| s.to_string())
    }

    #[test]
    fn sc_02_unknown_or_disallowed_scope_is_invalid_scope() {
        for requested in ["admin", "read admin", "READ"] {
            assert_eq!(resolved(None, Some(requested)), "invalid_scope");
        }
        assert_eq!(resolved(None, Some("write read")), "read write");
    }

    #[test]
    fn sc_03_absent_scope_uses_the_default_or_fails() {
        assert_eq!(resolved(Some("read"), None), "read");
        assert_eq!(resolved(None, None), "invalid_scope");
    }

    #[test]
    fn sc_01_malformed_scope_is_invalid_scope() {
        assert_eq!(resolved(None, Some("re\"ad")), "invalid_scope");
        assert_eq!(resolved(None, Some("   ")), "invalid_scope");
    }
}
