//! The store suites that need Cargo features: the conformance suite against the memory
//! stores (feature `testing`) and the PostgreSQL stores against a real server (features
//! `postgres` and `testing`, and `DATABASE_URL`). Without them each suite is one ignored
//! test that says so.
//!
//! ```sh
//! DATABASE_URL=postgres://… cargo test --features postgres,testing --test stores
//! ```

mod postgres;
mod store_conformance;
