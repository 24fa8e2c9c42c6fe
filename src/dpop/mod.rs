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
mod nonce;
mod proof;
mod server;

/// Whether `value` has the syntax of a `jkt`: the base64url (no padding) of a SHA-256
/// digest, 43 characters ([RFC 9449 §10](https://www.rfc-editor.org/rfc/rfc9449#section-10),
/// [RFC 7638 §3](https://www.rfc-editor.org/rfc/rfc7638#section-3)).
pub(crate) fn is_thumbprint(value: &str) -> bool {
    crate::jose::b64::decode_array::<32>(value).is_some()
}

pub use nonce::{DpopNonces, MIN_NONCE_SECRET, WeakNonceSecret};
pub use proof::{
    DEFAULT_LEEWAY, DEFAULT_MAX_AGE, DpopError, DpopProof, MAX_JTI_LEN, ProofChecker, ProofTarget,
};
