//! JOSE for the authorization server (feature `jwt`): compact JWS, JWKs and JWK Sets, JWT
//! claim checks, signing keys with rotation, and RFC 9068 JWT access tokens with their
//! offline verification.
//!
//! Every JWT the crate receives comes from an attacker until proven otherwise, so this
//! layer is the crate's own code over one audited crypto backend (aws-lc-rs), with one
//! strict path per use:
//!
//! - **Parsing** ([RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1)):
//!   the compact serialization only, length-checked before any decoding, canonical
//!   base64url, header and claims as single strict JSON objects (no duplicate member, bounded
//!   depth and size).
//! - **Algorithms** ([RFC 8725 §3.1](https://www.rfc-editor.org/rfc/rfc8725#section-3.1)):
//!   an allow-list per use ([`Validation::algorithms`]); never `none`; every key verifies
//!   with exactly one [`Algorithm`], and the header's `alg` must be it; `kid` chooses the
//!   key, never the algorithm. HMAC exists only as [`HmacKey`] for `client_secret_jwt`, on
//!   a path of its own, so a public key can never serve as an HMAC secret.
//! - **Headers**: `crit` refused, nested and encrypted JWTs refused, `typ` checked per use
//!   ([`JwtUse`], [RFC 8725 §3.11](https://www.rfc-editor.org/rfc/rfc8725#section-3.11)),
//!   `jku`, `x5u` and `x5c` refused and never fetched, an embedded `jwk` only for DPoP
//!   proofs and never a private one.
//! - **Claims** ([RFC 7519 §4.1](https://www.rfc-editor.org/rfc/rfc7519#section-4.1)):
//!   typed checks of `iss`, `aud` (string or array), `sub`, `exp`, `nbf` and `iat` with a
//!   bounded leeway (30 s by default, at most 300 s), maximum ages, required claims
//!   ([`Claims`], [`JwtError`]).
//! - **Keys**: [`PublicJwk`] and [`JwkSet`] parse and render public keys (EC P-256, Ed25519,
//!   RSA of 2048 bits or more) with their RFC 7638 thumbprints; [`SigningKey`] holds a
//!   private key in memory behind the async [`Signer`] plug-in a KMS can implement too;
//!   [`KeySet`] signs with the active key, publishes the JWK Set ([`JwksDocument`]) and
//!   rotates keys on a schedule that every instance reads from a [`KeySetStore`].
//! - **Access tokens** ([RFC 9068](https://www.rfc-editor.org/rfc/rfc9068)):
//!   [`AccessTokenClaims`] and [`KeySet::sign_access_token`] on the server's side,
//!   [`AccessTokenVerifier`] with its verified-token cache on the resource server's side.
//!
//! Errors name the failed check and nothing else; private keys, HMAC keys and exported
//! PKCS#8 documents are redacted in `Debug` and wiped on drop.
//!
//! ```
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> { block_on(async {
//! use std::sync::Arc;
//! use std::time::{Duration, SystemTime};
//! use grantflow::jose::*;
//!
//! let keys = KeySet::builder("https://as.example.com", Arc::new(MemoryKeySetStore::new()))
//!     .build()?;
//! let now = SystemTime::now();
//! keys.bootstrap(Arc::new(SigningKey::generate(Algorithm::Es256)?), now).await?;
//! let id_token = keys
//!     .sign(
//!         JwtUse::IdToken,
//!         &Claims::new()
//!             .with_subject("alice")
//!             .with_audience(["client-1"])
//!             .with_issued_at(now)
//!             .with_expires_at(now + Duration::from_secs(300)),
//!         now,
//!     )
//!     .await?;
//!
//! // An ID token is refused wherever an access token is expected (RFC 9068 §4).
//! let published = keys.public_keys(now).await?;
//! let as_access_token = Validation::access_token("https://as.example.com", "client-1")
//!     .verify(&id_token, &published, now);
//! assert_eq!(as_access_token.unwrap_err(), JwtError::WrongType);
//! # Ok(()) }) }
//! ```

mod access_token;
mod alg;
pub(crate) mod b64;
mod claims;
mod error;
mod issuer;
pub(crate) mod json;
mod jwk;
mod jwks;
pub(crate) mod jws;
mod keyset;
mod signer;
mod source;
mod validation;

pub use access_token::{AccessTokenClaims, AccessTokenVerifier, VerifiedAccessToken};
pub use alg::{Algorithm, AlgorithmSet};
#[cfg(feature = "oidc")]
pub(crate) use claims::seconds;
pub use claims::{Claims, InvalidClaimName};
pub use error::{JwtError, KeyError};
pub(crate) use issuer::JwtAccessTokenIssuer;
pub use issuer::JwtAccessTokens;
pub use jwk::PublicJwk;
pub use jwks::JwkSet;
pub use keyset::{
    JwksDocument, KeyRecord, KeySet, KeySetBuilder, KeySetError, KeySetStore, KeyState, KeyStatus,
    MemoryKeySetStore,
};
pub use signer::{HmacKey, Pkcs8Der, SignError, Signer, SigningKey};
pub use source::JwksSource;
pub(crate) use validation::unverified_assertion_issuer;
pub use validation::{JwtUse, Validation, VerifiedJwt};
