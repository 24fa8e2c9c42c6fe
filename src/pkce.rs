//! PKCE, Proof Key for Code Exchange ([RFC 7636](https://www.rfc-editor.org/rfc/rfc7636)):
//! challenge and verifier syntax, and verification. Pure functions, no I/O.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::secret::CodeVerifier;

/// A `code_challenge_method`
/// ([RFC 7636 §4.3](https://www.rfc-editor.org/rfc/rfc7636#section-4.3)).
///
/// Names are compared exactly, case included ([RFC 7636 §4.4.1]): `s256` is not `S256`.
///
/// ```
/// use grantflow::pkce::PkceMethod;
/// assert_eq!(PkceMethod::parse("S256"), Some(PkceMethod::S256));
/// assert_eq!(PkceMethod::parse("s256"), None);
/// assert_eq!(PkceMethod::Plain.as_str(), "plain");
/// ```
///
/// [RFC 7636 §4.4.1]: https://www.rfc-editor.org/rfc/rfc7636#section-4.4.1
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PkceMethod {
    /// `S256`: the challenge is BASE64URL(SHA-256(verifier)). The only method accepted by
    /// default.
    S256,
    /// `plain`: the challenge is the verifier itself. Refused unless enabled through
    /// [`Dangerous::allow_plain_pkce`](crate::Dangerous::allow_plain_pkce).
    Plain,
}

impl PkceMethod {
    /// Parses a method name, exactly ([RFC 7636 §4.4.1]).
    ///
    /// [RFC 7636 §4.4.1]: https://www.rfc-editor.org/rfc/rfc7636#section-4.4.1
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "S256" => Some(Self::S256),
            "plain" => Some(Self::Plain),
            _ => None,
        }
    }

    /// The method name as sent on the wire and in metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }
}

/// A PKCE code challenge bound to an authorization code
/// ([RFC 7636 §4.2](https://www.rfc-editor.org/rfc/rfc7636#section-4.2)).
///
/// # Security
/// The challenge must never appear in a response ([RFC 7636 §4.4]). `Debug` prints only the method,
/// so records holding it are safe to print.
///
/// ```
/// use grantflow::pkce::{CodeChallenge, PkceMethod};
/// use grantflow::secret::CodeVerifier;
///
/// // RFC 7636 Appendix B.
/// let challenge = CodeChallenge::new(PkceMethod::S256, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
///     .expect("valid challenge");
/// let verifier = CodeVerifier::from_presented("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned());
/// assert!(challenge.verify(&verifier));
/// assert_eq!(format!("{challenge:?}"), "CodeChallenge { method: S256, .. }");
/// ```
///
/// [RFC 7636 §4.4]: https://www.rfc-editor.org/rfc/rfc7636#section-4.4
#[derive(Clone, PartialEq, Eq)]
pub struct CodeChallenge {
    method: PkceMethod,
    value: Arc<str>,
}

impl CodeChallenge {
    /// Checks the challenge syntax: 43 to 128 characters from `[A-Za-z0-9-._~]`, and for
    /// `S256` exactly 43 base64url characters, the encoding of a SHA-256 digest ([RFC 7636 §4.2]).
    /// Returns `None` when it is malformed.
    ///
    /// [RFC 7636 §4.2]: https://www.rfc-editor.org/rfc/rfc7636#section-4.2
    pub fn new(method: PkceMethod, value: &str) -> Option<Self> {
        let well_formed = match method {
            PkceMethod::S256 => {
                value.len() == 43
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            }
            PkceMethod::Plain => is_unreserved_43_128(value),
        };
        well_formed.then(|| Self {
            method,
            value: value.into(),
        })
    }

    /// The method the code was bound to; it alone decides verification ([RFC 7636 §4.5]).
    ///
    /// [RFC 7636 §4.5]: https://www.rfc-editor.org/rfc/rfc7636#section-4.5
    pub fn method(&self) -> PkceMethod {
        self.method
    }

    /// The challenge text, for writing to storage.
    ///
    /// # Security
    /// Never send it back to a client ([RFC 7636 §4.4]).
    ///
    /// [RFC 7636 §4.4]: https://www.rfc-editor.org/rfc/rfc7636#section-4.4
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Verifies a presented verifier
    /// ([RFC 7636 §4.6](https://www.rfc-editor.org/rfc/rfc7636#section-4.6), [RFC 7636 §4.6]): for
    /// `S256`, BASE64URL-without-padding of SHA-256 over the ASCII verifier must equal the
    /// challenge; for `plain`, the verifier itself. Compared in constant time. A verifier
    /// that breaks the RFC 7636 §4.1 syntax never verifies.
    ///
    /// [RFC 7636 §4.6]: https://www.rfc-editor.org/rfc/rfc7636#section-4.6
    pub fn verify(&self, verifier: &CodeVerifier) -> bool {
        self.verify_str(verifier.expose_secret())
    }

    /// [`verify`](Self::verify) on the presented text, without wrapping it.
    pub(crate) fn verify_str(&self, verifier: &str) -> bool {
        if !is_unreserved_43_128(verifier) {
            return false;
        }
        match self.method {
            PkceMethod::S256 => {
                let digest = Sha256::digest(verifier.as_bytes());
                let mut encoded = [0u8; 43];
                match URL_SAFE_NO_PAD.encode_slice(digest, &mut encoded) {
                    Ok(43) => encoded.ct_eq(self.value.as_bytes()).into(),
                    _ => false,
                }
            }
            PkceMethod::Plain => {
                verifier.len() == self.value.len()
                    && bool::from(verifier.as_bytes().ct_eq(self.value.as_bytes()))
            }
        }
    }
}

impl fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeChallenge")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// The S256 challenge of `verifier`: BASE64URL(SHA-256(ASCII(verifier))), for clients and
/// tests.
///
/// ```
/// assert_eq!(
///     grantflow::pkce::s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
///     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
/// );
/// ```
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `code-verifier = 43*128unreserved` ([RFC 7636 §4.1](https://www.rfc-editor.org/rfc/rfc7636#section-4.1),
/// [RFC 7636 §4.1]), also the syntax of a `plain` challenge.
///
/// [RFC 7636 §4.1]: https://www.rfc-editor.org/rfc/rfc7636#section-4.1
pub(crate) fn is_unreserved_43_128(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier(s: &str) -> CodeVerifier {
        CodeVerifier::from_presented(s.to_owned())
    }

    #[test]
    fn pk_08_rfc7636_appendix_b_vector() {
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256_challenge(v),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let c = CodeChallenge::new(PkceMethod::S256, &s256_challenge(v)).unwrap();
        assert!(c.verify(&verifier(v)));
        assert!(!c.verify(&verifier("eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")));
    }

    #[test]
    fn pk_06_malformed_challenges_are_refused() {
        let good = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(CodeChallenge::new(PkceMethod::S256, good).is_some());
        for bad in [
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM=",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMM",
            "13d31e961a1ad8ec2f16b10c4c982e0876a878ad6df144566ee1894acb70f9c3",
        ] {
            assert!(CodeChallenge::new(PkceMethod::S256, bad).is_none(), "{bad}");
        }
        assert!(CodeChallenge::new(PkceMethod::Plain, &"a".repeat(42)).is_none());
        assert!(CodeChallenge::new(PkceMethod::Plain, &"a".repeat(128)).is_some());
    }

    #[test]
    fn pk_07_verifier_syntax() {
        assert!(is_unreserved_43_128(&"a".repeat(43)));
        assert!(is_unreserved_43_128(&"a".repeat(128)));
        assert!(!is_unreserved_43_128(&"a".repeat(42)));
        assert!(!is_unreserved_43_128(&"a".repeat(129)));
        assert!(!is_unreserved_43_128(
            "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk"
        ));
        // A plain challenge equal to a malformed verifier still never verifies.
        let c = CodeChallenge {
            method: PkceMethod::Plain,
            value: "a b".repeat(20).into(),
        };
        assert!(!c.verify(&verifier(&"a b".repeat(20))));
    }

    #[test]
    fn pk_09_plain_compares_directly() {
        let c = CodeChallenge::new(PkceMethod::Plain, &"x".repeat(50)).unwrap();
        assert!(c.verify(&verifier(&"x".repeat(50))));
        assert!(!c.verify(&verifier(&"x".repeat(51))));
    }
}
