//! # grantflow
//!
//! An embeddable engine for OAuth 2.0 / OAuth 2.1 authorization servers. A Rust service
//! that already runs on axum, actix-web or hyper adds grantflow, plugs in its storage, and
//! gets the protocol right: request parsing, client authentication, the grants' state
//! machines, token issuance and the exact HTTP responses, with OAuth 2.1 and RFC 9700
//! defaults.
//!
//! **What this crate does not do:** it is not an HTTP server (the host's framework is), it
//! has no sessions, login pages or user database (the host authenticates users), it opens
//! no sockets or files and picks no async runtime, and it reads time and draws random
//! values only through the injected [`Clock`](clock::Clock) and [`Random`](random::Random).
//!
//! ```text
//!  host framework (axum / actix-web / hyper): a thin adapter
//!    | builds HttpRequest                       ^ sends HttpResponse back
//!    v                                          |
//!  Server::authorize / token / revoke / ... ----+
//!    | parse once, check the rules (pure), decide
//!    v
//!  plug-ins, held as Arc<dyn _>: ClientRegistry, CodeStore, TokenStore,
//!  DeviceStore, TokenIssuer, AttemptLimiter, Clock, Random (defaults included)
//! ```
//!
//! ## The public interface
//!
//! The crate root has what wiring a server needs: [`Server`] and its [`ServerBuilder`], the
//! HTTP boundary ([`HttpRequest`], [`HttpResponse`]), the errors, clients and scopes, the
//! in-memory stores, and the four traits a server is built around ([`GrantRequest`],
//! [`ClientRegistry`], [`TokenIssuer`], [`CodeStore`]). The rest is in one module per
//! concern, each name in exactly one place:
//!
//! | module | for |
//! |---|---|
//! | [`authorize`] | the authorization endpoint's pending request and errors; redirect URIs |
//! | [`device`] | the device grant's user codes and the host's verification side |
//! | [`guard`] | resource servers: the bearer token guard |
//! | [`store`] | implementing a store: the other store traits and the records they hold |
//! | [`limiter`] | brute-force limiting of secret checks |
//! | [`grant`] | extension grants: the grant handler seam |
//! | [`issuer`] | token formats: what a [`TokenIssuer`] gets and the default one |
//! | [`secret`] | the secret value types (tokens, codes, verifiers) and their digest |
//! | [`observe`] | operating a server: audit events and their sink, health, log fingerprints |
//! | [`pkce`], [`clock`], [`random`], [`metadata`] | PKCE values, time, randomness, discovery |
//! | `postgres`, `testing` | the PostgreSQL stores and the store conformance suite (features) |
//!
//! ## Getting started
//!
//! A backend service gets an access token with the client credentials grant
//! ([RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)):
//!
//! ```
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> { block_on(async {
//! use std::sync::Arc;
//! use grantflow::*;
//!
//! // Register a confidential client. Only the digest of its secret is kept.
//! let clients = Arc::new(MemoryClientRegistry::new());
//! clients.insert(
//!     Client::builder("reporting-service", ClientType::Confidential)
//!         .secret(&ClientSecret::from_presented("a-long-random-secret".to_owned()))
//!         .auth_method(AuthMethod::ClientSecretPost)
//!         .grant_type(GrantType::CLIENT_CREDENTIALS)
//!         .allowed_scope("read:data write:data")
//!         .build()?,
//! )?;
//! let server = Server::builder("https://as.example.com", clients, Arc::new(MemoryTokenStore::new()))
//!     .build()?;
//!
//! // What an adapter builds from the framework's request to `POST /token`:
//! let request = HttpRequest::new(Method::Post)
//!     .with_header("content-type", "application/x-www-form-urlencoded")
//!     .with_body("grant_type=client_credentials&scope=read:data\
//!                 &client_id=reporting-service&client_secret=a-long-random-secret");
//! let response = server.token(&request).await?;
//!
//! // What the adapter sends back: status, headers and JSON, exactly.
//! assert_eq!(response.status, Status::OK);
//! assert_eq!(response.header("cache-control"), Some("no-store"));
//! let body: serde_json::Value = serde_json::from_slice(&response.body)?;
//! assert_eq!(body["token_type"], "Bearer");
//! assert_eq!(body["scope"], "read:data");
//! # Ok(()) }) }
//! ```
//!
//! ## Writing an adapter
//!
//! Fill an [`HttpRequest`] with the method, the raw query, the headers and the raw body;
//! call the endpoint; copy the [`HttpResponse`]'s status, headers and body back. An `Err`
//! from an endpoint is a storage or plug-in fault: log it and send
//! [`Error::to_response`]. With axum, the response half is:
//!
//! ```ignore
//! fn to_axum(res: grantflow::HttpResponse) -> axum::response::Response {
//!     let mut out = axum::http::Response::builder().status(res.status.as_u16());
//!     for h in &res.headers {
//!         out = out.header(h.name, &h.value);
//!     }
//!     out.body(axum::body::Body::from(res.body)).unwrap_or_default()
//! }
//! ```
//!
//! ## Implementing storage
//!
//! [`ClientRegistry`], [`CodeStore`] and [`TokenStore`](store::TokenStore) are async,
//! object-safe traits with `&self` methods. Their doc comments state each security
//! contract: stores are keyed by [`TokenHash`](secret::TokenHash) digests and never see
//! token values; [`TokenStore::insert`](store::TokenStore::insert) writes all the records of
//! one response or none; [`CodeStore::redeem`] hands a code's grant out exactly once and
//! then reports "already used, by grant X";
//! [`TokenStore::rotate`](store::TokenStore::rotate) is the compare-and-swap of refresh
//! token rotation; [`TokenStore::revoke_grant`](store::TokenStore::revoke_grant) leaves a
//! tombstone that makes a later insert or rotation of that grant's tokens fail.
//! [`MemoryClientRegistry`], [`MemoryCodeStore`] and [`MemoryTokenStore`] are the in-memory
//! implementations; a deployment of several instances needs shared ones: the `postgres`
//! feature has them for PostgreSQL (`grantflow::postgres::PgStores`). The `testing`
//! feature has the conformance suite (`grantflow::testing::Conformance`) that every store
//! implementation, the crate's and yours, can run. The types a store implementer needs
//! are in [`store`].
//!
//! ## The authorization endpoint
//!
//! [`Server::authorize`] validates a request and stops with a
//! [`PendingAuthorization`](authorize::PendingAuthorization): the host authenticates the
//! user, asks for consent, and then calls
//! [`approve`](authorize::PendingAuthorization::approve) or
//! [`deny`](authorize::PendingAuthorization::deny). Nothing redirects before that, and an
//! unverified client or redirect URI can never redirect at all
//! ([`AuthorizeError::Rejected`](authorize::AuthorizeError::Rejected)). See
//! `examples/in_memory_flow.rs` for the whole code + PKCE + refresh flow.
//!
//! [`DeviceStore`](store::DeviceStore) holds device authorization requests: every state
//! change (pending to approved or denied, approved to redeemed) is one compare-and-set, so
//! a device code is redeemed exactly once. [`MemoryDeviceStore`] is its bounded in-memory
//! implementation.
//!
//! ## Security model
//!
//! Enforced by the crate: exactly one client authentication method per request, the
//! registered method only, secrets compared as SHA-256 digests in constant time, failed
//! attempts throttled ([`AttemptLimiter`](limiter::AttemptLimiter)); no credentials in URLs; repeated parameters
//! refused and input size bounded; `Cache-Control: no-store` on every token response;
//! 256-bit random tokens stored only as digests; secret types with redacted `Debug` and no
//! `Display` or `Serialize`; an `https` issuer unless
//! [`ServerBuilder::dangerous`] says otherwise. For the code flow: PKCE required for every
//! client, `S256` only; exact redirect URI matching with only the loopback port free; no
//! implicit or hybrid response types; single-use, 60-second codes whose replay revokes
//! the grant; refresh tokens rotated with reuse detection; `iss` in every authorization
//! response; the password grant off unless enabled.
//!
//! The host's job: authenticating users (before any authorization response is sent),
//! consent pages and their CSRF protection, TLS termination, and logging [`Error`]s (whose
//! `source()` chain is never sent to clients) and [`Server::warnings`].
//!
//! Secrets are not zeroed in memory on drop: that would need `unsafe` or a dependency
//! outside the crate's set, and a manual `fill(0)` is no guarantee. The crate relies on
//! digests at rest, redaction and short lifetimes instead.
//!
//! ## Standards
//!
//! - [RFC 6749](https://www.rfc-editor.org/rfc/rfc6749): §2.3 client authentication, §3.1
//!   the authorization endpoint, §3.2 the token endpoint, §3.3 scope, §4.1 authorization
//!   code, §4.3 password (opt-in), §4.4 client credentials, §5 token responses and errors,
//!   §6 refreshing
//! - [RFC 6750](https://www.rfc-editor.org/rfc/rfc6750): bearer tokens at the resource
//!   server ([`BearerGuard`](guard::BearerGuard))
//! - [RFC 7009](https://www.rfc-editor.org/rfc/rfc7009): token revocation ([`Server::revoke`])
//! - [RFC 7617](https://www.rfc-editor.org/rfc/rfc7617): the Basic scheme
//! - [RFC 7636](https://www.rfc-editor.org/rfc/rfc7636): PKCE
//! - [RFC 7662](https://www.rfc-editor.org/rfc/rfc7662): token introspection
//!   ([`Server::introspect`])
//! - [RFC 8252](https://www.rfc-editor.org/rfc/rfc8252): loopback redirect URIs
//! - [RFC 8414](https://www.rfc-editor.org/rfc/rfc8414): authorization server metadata
//!   ([`Server::metadata`], [`well_known_url`](metadata::well_known_url))
//! - [RFC 8628](https://www.rfc-editor.org/rfc/rfc8628): the device authorization grant
//!   ([`Server::device_authorization`], [`Server::device_verifier`])
//! - [RFC 9207](https://www.rfc-editor.org/rfc/rfc9207): the `iss` response parameter
//! - [RFC 9700](https://www.rfc-editor.org/rfc/rfc9700): the OAuth 2.0 Security BCP
//! - [OAuth 2.1](https://datatracker.ietf.org/doc/draft-ietf-oauth-v2-1/): defaults
//! - With the `jwt` feature, in `grantflow::jose`:
//!   [RFC 7515](https://www.rfc-editor.org/rfc/rfc7515) (JWS, compact serialization),
//!   [RFC 7517](https://www.rfc-editor.org/rfc/rfc7517) (JWK),
//!   [RFC 7518](https://www.rfc-editor.org/rfc/rfc7518) (ES256, RS256, PS256),
//!   [RFC 7519](https://www.rfc-editor.org/rfc/rfc7519) (JWT),
//!   [RFC 7638](https://www.rfc-editor.org/rfc/rfc7638) (thumbprints),
//!   [RFC 8037](https://www.rfc-editor.org/rfc/rfc8037) (EdDSA),
//!   [RFC 8725](https://www.rfc-editor.org/rfc/rfc8725) (the JWT BCP),
//!   [RFC 9068](https://www.rfc-editor.org/rfc/rfc9068) (JWT access tokens)

// The lint wall (STYLE.md §3.14). `unsafe` is forbidden in the library itself (Cargo.toml
// only denies it, so the allocation-counting benchmark can opt in for its allocator);
// `missing_docs` and the other style lints are set in Cargo.toml for every target.
// Outside `cfg(test)`, nothing in library code may panic on purpose: no `unwrap`, `expect`,
// `panic!`, `unreachable!`, `todo!` or `unimplemented!` (the fuzz targets in `fuzz/` look
// for the panics no lint can see: slicing, arithmetic).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]
#![warn(clippy::missing_errors_doc, clippy::missing_panics_doc)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The public interface is, in tiers (rustls style): at the root, what wiring a server
// needs; below it, one module per kind of user (store implementers, limiter implementers,
// extension grants, resource servers, ...). Every public name has exactly one path.
#[cfg(feature = "jwt")]
mod client_assertion;
mod client_auth;
pub mod clock;
mod config;
#[cfg(feature = "dpop")]
#[cfg_attr(docsrs, doc(cfg(feature = "dpop")))]
pub mod dpop;
mod endpoint;
mod error;
pub mod fetch;
pub mod grant;
pub mod guard;
mod hash;
mod http;
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub mod jose;
pub mod limiter;
pub mod metadata;
pub mod observe;
#[cfg(feature = "oidc")]
#[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
pub mod oidc;
mod params;
pub mod pkce;
pub mod random;
pub mod registration;
mod render;
#[cfg(feature = "jwt")]
mod request_object;
pub mod secret;
mod server;
pub mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod token_issuer;
mod types;

pub use crate::config::{Dangerous, ServerBuilder};
pub use crate::error::{ConfigError, Error, ErrorCode, OAuthError, StorageError};
pub use crate::grant::handler::GrantRequest;
pub use crate::http::{Header, HttpRequest, HttpResponse, Method, Status};
pub use crate::params::FormLimits;
pub use crate::server::Server;
pub use crate::store::client::ClientRegistry;
pub use crate::store::code::CodeStore;
pub use crate::store::memory::{
    MemoryClientRegistry, MemoryCodeStore, MemoryDeviceStore, MemoryTokenStore,
};
pub use crate::token_issuer::TokenIssuer;
pub use crate::types::{
    AuthMethod, Client, ClientBuilder, ClientError, ClientId, ClientSecret, ClientType,
    DangerousClient, GrantType, InvalidScope, Scope, Subject, SubjectType,
};

pub mod authorize {
    //! The authorization endpoint
    //! ([RFC 6749 §4.1.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1)):
    //! [`Server::authorize`](crate::Server::authorize) validates a request into a
    //! [`PendingAuthorization`], which the host approves or denies once it has
    //! authenticated the user and asked for consent, or fails with an [`AuthorizeError`].
    //! Redirect URIs are registered and matched as [`RedirectUri`]s.
    pub use crate::endpoint::authorize::{
        ApproveError, AuthorizeError, PendingAuthorization, RedirectError,
    };
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub use crate::oidc::Authentication;
    pub use crate::types::{InvalidRedirectUri, LocalhostPort, RedirectUri};
}

pub mod resource {
    //! Resource identifiers ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2),
    //! [RFC 9728 §1.2](https://www.rfc-editor.org/rfc/rfc9728#section-1.2)): a
    //! [`ResourceUri`] names a protected resource, and [`Resources`] is the audience of
    //! every access token and the resources of every grant.
    pub use crate::types::{InvalidResource, ResourceUri, Resources};
}

pub mod device {
    //! The device authorization grant ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)):
    //! the user-code format, and the host's side of verification: the
    //! [`DeviceVerifier`] of a server with the grant enabled
    //! ([`Server::device_verifier`](crate::Server::device_verifier)) finds the
    //! [`PendingDeviceAuthorization`] an [`EnteredUserCode`] belongs to, for the user to
    //! approve or deny.
    pub use crate::endpoint::device::{
        DeviceVerificationError, DeviceVerifier, EnteredUserCode, PendingDeviceAuthorization,
    };
    pub use crate::grant::device::UserCodeFormat;
}

pub mod issuer {
    //! Token formats: what a [`TokenIssuer`](crate::TokenIssuer) is given ([`TokenClaims`])
    //! and how it fails ([`IssueError`]), the default issuer of opaque random tokens
    //! ([`OpaqueTokenIssuer`]), and the choice between opaque and JWT access tokens
    //! ([`AccessTokenFormat`]).
    pub use crate::token_issuer::{AccessTokenFormat, IssueError, OpaqueTokenIssuer, TokenClaims};
}

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres {
    //! The PostgreSQL backend (feature `postgres`): [`PgStores`] and the stores it holds
    //! (with `jwt`, the signing-key store `PgKeySetStore` too), and the `sqlx` pool types
    //! they are built from.
    //!
    //! Every store trait has a PostgreSQL implementation, for deployments of several
    //! instances over one database. Apply the schema with [`PgStores::migrate`], then hand
    //! the stores to [`Server::builder`](crate::Server::builder). The pool types are
    //! re-exported so the host's `sqlx` version cannot drift from the crate's; add sqlx's
    //! TLS features in the host's own `Cargo.toml` for a database reached over TLS.
    #[cfg(feature = "jwt")]
    pub use crate::store::postgres::PgKeySetStore;
    pub use crate::store::postgres::{
        PgAttemptLimiter, PgClientRegistry, PgCodeStore, PgDeviceStore, PgPushedRequestStore,
        PgSingleUseStore, PgStores, PgTokenStore,
    };
    pub use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
}

/// Entry points for the fuzz targets in `fuzz/`: not a public API (see the module docs).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(test)]
pub(crate) mod test_support {
    /// Drives a future that never waits on I/O (the memory stores never return `Pending`).
    pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return value;
            }
        }
    }
}
