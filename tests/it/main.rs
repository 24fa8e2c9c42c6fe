//! The black-box tests: every endpoint on the memory stores, `HttpRequest` in and
//! `HttpResponse` out, and the example servers over real loopback HTTP. One module per
//! area; the harness they share is `tests/support/`.
//!
//! The crate's own dev-dependency on itself turns on every feature these tests need
//! (`http`, `jwt`, `postgres`, `testing`), so plain `cargo test` builds one binary with all
//! of them. The PostgreSQL modules need `DATABASE_URL` as well; without it each of their
//! tests says that it did not run.

#[path = "../support/mod.rs"]
#[allow(
    unreachable_pub,
    reason = "the harness's `pub` items are its interface to the tests"
)]
mod support;

mod authorization_code;
mod authorize_endpoint;
mod bearer_guard;
mod bearer_layer;
mod client_assertion;
mod client_auth;
mod client_credentials;
mod client_id_metadata;
mod cors;
mod device_grant;
mod dpop;
mod dpop_resource;
mod error_format;
mod example_servers;
mod hostile_corpus;
mod hostile_input;
mod introspection;
mod jose;
mod jwt_access_tokens;
mod jwt_bearer;
mod metadata;
mod observability;
mod openid;
mod openid_rp;
mod password_grant;
mod pkce;
mod postgres;
mod pushed_authorization;
mod refresh_token;
mod registration;
mod request_object;
mod resource_indicators;
mod resource_metadata;
mod revocation;
mod rfc_vectors;
mod rules_index;
mod secret_hygiene;
mod security;
mod store_conformance;
mod token_exchange;
mod type_properties;
mod wire_format;
