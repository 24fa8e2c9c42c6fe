//! DPoP, demonstrating proof of possession
//! ([RFC 9449](https://www.rfc-editor.org/rfc/rfc9449)), feature `dpop`: a client proves,
//! with a fresh JWT signed by a key it holds, that it is the party a token was bound to.
//!
//! [`ProofChecker`] verifies the `DPoP` header of a request against the request it was
//! made for ([`ProofTarget`]) and consumes the proof's `jti` in the server's
//! [`SingleUseStore`](crate::store::SingleUseStore); the [`DpopProof`] it returns names
//! the key by its thumbprint ([`DpopProof::jkt`]), which a bound token carries as
//! `cnf.jkt`.

mod htu;
mod proof;

pub use proof::{
    DEFAULT_LEEWAY, DEFAULT_MAX_AGE, DpopError, DpopProof, MAX_JTI_LEN, ProofChecker, ProofTarget,
};
