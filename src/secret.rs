//! Secret values: tokens, codes, verifiers and passwords, and their digest
//! ([`TokenHash`]). [`ClientSecret`](crate::ClientSecret), the one a host registering
//! clients needs, is at the crate root.
//!
//! # Security
//!
//! Secret types are inert: no `Display`, no `Serialize`, no
//! `PartialEq`, and a `Debug` that prints `<redacted>`. Stores only ever see a
//! [`TokenHash`], the SHA-256 digest of a secret, so a leaked table holds no live
//! credential. Digests are compared in constant time.
//!
//! The crate does not zero secrets in memory when they are dropped: that would need a
//! dependency outside the allowed set or `unsafe`, which the crate forbids, and a manual
//! `fill(0)` is no guarantee (the optimiser and earlier copies defeat it). It relies on
//! hashing at rest, redaction and short lifetimes instead.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::random::Random;

/// The SHA-256 digest of a secret: the only form in which stores see codes, tokens and
/// client secrets.
///
/// Equality is plain byte equality, so digests work as map keys at full speed: timing can
/// at most reveal how many leading bytes of two SHA-256 digests agree, which says nothing
/// about the secrets behind them (finding a token whose digest extends a matching prefix is
/// a preimage search). Secret *verification* ([`Client::verify_secret`](crate::Client::verify_secret))
/// compares in constant time all the same. `Debug` shows only an 8-hex-digit prefix.
///
/// ```
/// use grantflow::secret::{AccessToken, TokenHash};
///
/// let token = AccessToken::from_presented("mF_9.B5f-4.1JqM".to_owned());
/// let hash = token.hash();
/// assert_eq!(hash, TokenHash::of("mF_9.B5f-4.1JqM"));
/// assert_eq!(format!("{hash:?}").len(), "TokenHash(12345678…)".len());
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

/// SHA-256 of `bytes`. With the `jwt` feature, through aws-lc-rs, which the feature builds
/// anyway: its assembly uses the CPU's SHA extensions where there are some, like the `sha2`
/// crate, and AVX2 or SSSE3 code where there are none, where `sha2` runs portable Rust
/// (about 1.7 times the instructions per block). A JWT access token is hashed over its
/// whole length (eight blocks for a typical ES256 token), so that is where it shows. The
/// digest is the same either way.
#[cfg(feature = "jwt")]
fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// SHA-256 of `bytes`.
#[cfg(not(feature = "jwt"))]
fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

impl TokenHash {
    /// SHA-256 of `secret`'s UTF-8 bytes.
    pub fn of(secret: &str) -> Self {
        Self(sha256(secret.as_bytes()))
    }

    /// Wraps a digest read back from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest bytes, for writing to storage.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest as 64 lower-case hex digits, for storage that wants text.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for b in self.0 {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl std::hash::Hash for TokenHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        write!(f, "TokenHash({}…)", &hex[..8])
    }
}

/// Draws 32 bytes (256 bits) from `random` and encodes them as base64url without padding:
/// 43 characters, safe in URLs, headers and forms as-is ([RFC 6749 §10.3], [RFC 6749 §10.10]).
///
/// [RFC 6749 §10.3]: https://www.rfc-editor.org/rfc/rfc6749#section-10.3
/// [RFC 6749 §10.10]: https://www.rfc-editor.org/rfc/rfc6749#section-10.10
pub(crate) fn random_secret(random: &dyn Random) -> String {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Generates the secret newtypes: private field, redacted `Debug`, no `Display`,
/// `Serialize` or `PartialEq`. Used here and for [`ClientSecret`](crate::ClientSecret),
/// which lives with the clients.
macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident, generate: $generate:literal) => {
        $(#[$meta])*
        pub struct $name(String);

        impl $name {
            /// Wraps a value presented by a client or read from configuration.
            pub fn from_presented(value: String) -> Self {
                Self(value)
            }

            /// The secret text, for writing into a response.
            ///
            /// # Security
            /// Anyone holding this value can use it. Do not log it.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

            /// The SHA-256 digest used as the storage key; stores never see the value.
            pub fn hash(&self) -> $crate::secret::TokenHash {
                $crate::secret::TokenHash::of(&self.0)
            }

            /// Generates a fresh value: 256 bits from the
            /// [`SystemRandom`](crate::random::SystemRandom) CSPRNG, base64url without
            /// padding. A server draws its values from its own
            /// [`Random`](crate::random::Random) instead
            /// ([`generate_with`](Self::generate_with)).
            #[doc = $generate]
            pub fn generate() -> Self {
                Self::generate_with(&$crate::random::SystemRandom)
            }

            /// Generates a fresh value, 256 bits drawn from `random`, base64url without
            /// padding.
            pub fn generate_with(random: &dyn $crate::random::Random) -> Self {
                Self($crate::secret::random_secret(random))
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}
pub(crate) use secret_type;

secret_type!(
    /// A bearer access token ([RFC 6749 §1.4](https://www.rfc-editor.org/rfc/rfc6749#section-1.4)).
    /// Opaque by default: 256 random bits that only refer to the stored record.
    ///
    /// ```
    /// use grantflow::secret::AccessToken;
    /// let token = AccessToken::generate();
    /// assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
    /// ```
    AccessToken,
    generate: "The default [`OpaqueTokenIssuer`](crate::issuer::OpaqueTokenIssuer) uses this."
);

secret_type!(
    /// A refresh token ([RFC 6749 §1.5](https://www.rfc-editor.org/rfc/rfc6749#section-1.5)).
    ///
    /// ```
    /// use grantflow::secret::RefreshToken;
    /// assert_eq!(format!("{:?}", RefreshToken::generate()), "RefreshToken(<redacted>)");
    /// ```
    RefreshToken,
    generate: "The default [`OpaqueTokenIssuer`](crate::issuer::OpaqueTokenIssuer) uses this."
);

secret_type!(
    /// An authorization code ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2)).
    /// Single use: it is not `Clone`.
    ///
    /// ```
    /// use grantflow::secret::AuthorizationCode;
    /// assert_eq!(format!("{:?}", AuthorizationCode::generate()), "AuthorizationCode(<redacted>)");
    /// ```
    AuthorizationCode,
    generate: "Codes carry 256 bits, above the 128 bits AC-08 asks for."
);

secret_type!(
    /// A PKCE code verifier ([RFC 7636 §4.1](https://www.rfc-editor.org/rfc/rfc7636#section-4.1)).
    /// Not `Clone`.
    ///
    /// ```
    /// use grantflow::secret::CodeVerifier;
    /// assert_eq!(format!("{:?}", CodeVerifier::generate()), "CodeVerifier(<redacted>)");
    /// ```
    CodeVerifier,
    generate: "43 characters, the shortest verifier RFC 7636 allows, with 256 bits."
);

secret_type!(
    /// A device code ([RFC 8628 §3.2](https://www.rfc-editor.org/rfc/rfc8628#section-3.2)):
    /// what a device polls the token endpoint with. Never shown to the user; bound to the
    /// client that asked for it ([RFC 8628 §5.2]). Single use: it is not `Clone`.
    ///
    /// ```
    /// use grantflow::secret::DeviceCode;
    /// let code = DeviceCode::generate();
    /// assert_eq!(code.expose_secret().len(), 43);
    /// assert_eq!(format!("{code:?}"), "DeviceCode(<redacted>)");
    /// ```
    ///
    /// [RFC 8628 §5.2]: https://www.rfc-editor.org/rfc/rfc8628#section-5.2
    DeviceCode,
    generate: "256 bits, above the 128 bits DG-04 asks for."
);

secret_type!(
    /// A resource owner's password, presented with the legacy password grant
    /// ([RFC 6749 §4.3.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2)). Handed
    /// to the [`ResourceOwnerVerifier`](crate::grant::ResourceOwnerVerifier), never stored or
    /// logged by the crate ([RFC 6749 §4.3.2]).
    ///
    /// ```
    /// use grantflow::secret::ResourceOwnerPassword;
    /// let password = ResourceOwnerPassword::from_presented("hunter2".to_owned());
    /// assert_eq!(format!("{password:?}"), "ResourceOwnerPassword(<redacted>)");
    /// ```
    ///
    /// [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
    ResourceOwnerPassword,
    generate: "Only useful in tests: real passwords are chosen by people."
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandom;

    /// The digest stores are keyed by is SHA-256 whichever implementation computes it: the
    /// known answers of FIPS 180-4 examples, and agreement with the `sha2` crate over every
    /// length up to a few blocks (the padding's edge cases included).
    #[test]
    fn token_hash_is_sha256() {
        assert_eq!(
            TokenHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            TokenHash::of("").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let text: String = (0..700u32)
            .map(|i| char::from(b'A' + u8::try_from(i % 26).unwrap()))
            .collect();
        for len in 0..=text.len() {
            let input = &text[..len];
            let expected: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(input).into();
            assert_eq!(TokenHash::of(input).as_bytes(), &expected, "length {len}");
        }
    }

    #[test]
    fn te_14_generated_secrets_are_256_bit_base64url() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let s = random_secret(&SystemRandom);
            assert_eq!(s.len(), 43);
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert!(seen.insert(s));
        }
    }

    #[test]
    fn token_hash_equality() {
        let a = TokenHash::of("a");
        assert_eq!(a, TokenHash::of("a"));
        for i in 0..32 {
            let mut bytes = *a.as_bytes();
            bytes[i] ^= 0x80;
            assert_ne!(a, TokenHash::from_bytes(bytes), "byte {i}");
        }
    }

    #[test]
    fn hash_is_sha256() {
        // SHA-256("abc"), FIPS 180-2 example.
        assert_eq!(
            TokenHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let token = AccessToken::from_presented("super-secret-value".into());
        assert!(!format!("{token:?}").contains("super"));
        assert!(!format!("{:?}", token.hash()).contains(&token.hash().to_hex()));
    }
}
