//! The JOSE layer (`grantflow::jose`, feature `jwt`) through its public API: the RFC test
//! vectors, the checklist's JW rules and EX-07/EX-08, an independent JWT library as judge in
//! both directions, key rotation (in memory, and over PostgreSQL with `postgres` and
//! `testing` and a `DATABASE_URL`), and the offline access-token verifier.
//!
//! Run with `cargo test --features jwt --test jose`.

#[path = "jose/judge.rs"]
mod judge;
#[path = "jose/postgres.rs"]
mod postgres;
#[path = "jose/rotation.rs"]
mod rotation;
#[path = "jose/rules.rs"]
mod rules;
#[path = "jose/support.rs"]
mod support;
#[path = "jose/vectors.rs"]
mod vectors;
#[path = "jose/verifier.rs"]
mod verifier;
