//! The JOSE layer (`grantflow::jose`, feature `jwt`) through its public API: the RFC test
//! vectors, the checklist's JW rules and EX-07/EX-08, an independent JWT library as judge in
//! both directions, key rotation (in memory, and over PostgreSQL with `postgres` and
//! `testing` and a `DATABASE_URL`), and the offline access-token verifier.
//!
//! Part of the `it` test binary (`cargo test`).

mod judge;
mod postgres;
mod rotation;
mod rules;
mod support;
mod vectors;
mod verifier;
