//! The store suites that need Cargo features: the conformance suite against the memory
//! stores (feature `testing`) and the PostgreSQL stores against a real server (features
//! `postgres` and `testing`, and `DATABASE_URL`). Without them each suite is one ignored
//! test that says so.
//!
//! ```sh
//! DATABASE_URL=postgres://… cargo test --features postgres,testing --test stores
//! ```

#[cfg(all(feature = "postgres", feature = "testing"))]
#[path = "../support/harness.rs"]
#[allow(
    dead_code,
    unreachable_pub,
    reason = "the PostgreSQL suite uses the harness's values and request helpers only"
)]
mod harness;

mod postgres;
mod store_conformance;
