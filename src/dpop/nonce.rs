//! Server-provided DPoP nonces ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)):
//! stateless, MACed, rotating with time.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac::{self, HMAC_SHA256, Key};

use crate::jose::b64;
use crate::random::Random;

/// The shortest secret [`DpopNonces`] accepts: 32 bytes.
pub const MIN_NONCE_SECRET: usize = 32;

/// Bytes of a nonce: the time step (8), a random part (16), the MAC (32).
const NONCE_BYTES: usize = 8 + 16 + 32;

/// Issues and checks DPoP nonces for one server
/// ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8),
/// [§9](https://www.rfc-editor.org/rfc/rfc9449#section-9)), without storing any.
///
/// A nonce is the base64url of a time step, 128 random bits, and an HMAC-SHA256 over them
/// and the server's identifier under a secret: unpredictable without the secret, in the
/// `1*NQCHAR` syntax, and accepted only by a server with the same identifier and secret.
/// Instances of one server share both, so a nonce issued by one is accepted by all; an
/// authorization server and a resource server use different identifiers, so neither
/// accepts the other's nonces. A nonce is accepted during its time step and the next one
/// (a window that lets rotation happen under requests in flight), and during the step
/// before its own, for instances whose clocks differ a little.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use grantflow::dpop::DpopNonces;
/// use grantflow::random::SystemRandom;
///
/// let secret = [7u8; 32]; // in production: 32 random bytes shared by every instance
/// let nonces = DpopNonces::new(&secret, "https://as.example.com").unwrap();
/// let now = SystemTime::now();
/// let nonce = nonces.issue(&SystemRandom::default(), now);
/// assert!(nonces.accepts(&nonce, now));
/// assert!(!nonces.accepts(&nonce, now + Duration::from_secs(600)));
/// let resource = DpopNonces::new(&secret, "https://rs.example.com").unwrap();
/// assert!(!resource.accepts(&nonce, now));
/// ```
#[derive(Clone)]
pub struct DpopNonces {
    key: Key,
    server: String,
    step: Duration,
}

impl fmt::Debug for DpopNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopNonces")
            .field("server", &self.server)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

/// The secret given to [`DpopNonces::new`] is shorter than [`MIN_NONCE_SECRET`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a DPoP nonce secret must be at least 32 bytes")]
pub struct WeakNonceSecret(());

impl DpopNonces {
    /// Nonces of the server named `server` (its issuer identifier, or a resource server's
    /// URL), MACed with `secret`, rotating every 60 s.
    ///
    /// # Errors
    /// [`WeakNonceSecret`] for a secret of fewer than 32 bytes.
    pub fn new(secret: &[u8], server: &str) -> Result<Self, WeakNonceSecret> {
        if secret.len() < MIN_NONCE_SECRET {
            return Err(WeakNonceSecret(()));
        }
        Ok(Self {
            key: Key::new(HMAC_SHA256, secret),
            server: server.to_owned(),
            step: Duration::from_secs(60),
        })
    }

    /// How often a new nonce is due (default 60 s, at least 1 s). A nonce is accepted for
    /// up to two steps after it was issued.
    #[must_use]
    pub fn rotate_every(mut self, step: Duration) -> Self {
        self.step = step.max(Duration::from_secs(1));
        self
    }

    /// The rotation period.
    pub fn rotation(&self) -> Duration {
        self.step
    }

    /// A fresh nonce for `now`.
    pub fn issue(&self, random: &dyn Random, now: SystemTime) -> String {
        let step = self.step_of(now);
        let mut bytes = [0u8; NONCE_BYTES];
        bytes[..8].copy_from_slice(&step.to_be_bytes());
        random.fill(&mut bytes[8..24]);
        let tag = hmac::sign(&self.key, &self.signed(&bytes[..24]));
        bytes[24..].copy_from_slice(tag.as_ref());
        b64::encode(&bytes)
    }

    /// Whether `nonce` is one this server issued, in the current time step, the one
    /// before, or the one after.
    pub fn accepts(&self, nonce: &str, now: SystemTime) -> bool {
        let Some(bytes) = b64::decode_array::<NONCE_BYTES>(nonce) else {
            return false;
        };
        let mut step = [0u8; 8];
        step.copy_from_slice(&bytes[..8]);
        let step = u64::from_be_bytes(step);
        let current = self.step_of(now);
        let recent = step.saturating_add(1) >= current && step <= current.saturating_add(1);
        recent && hmac::verify(&self.key, &self.signed(&bytes[..24]), &bytes[24..]).is_ok()
    }

    /// What the MAC covers: the server identifier (length-prefixed) and the nonce's
    /// step and random part.
    fn signed(&self, nonce: &[u8]) -> Vec<u8> {
        let mut message = Vec::with_capacity(8 + self.server.len() + nonce.len());
        message.extend_from_slice(&(self.server.len() as u64).to_be_bytes());
        message.extend_from_slice(self.server.as_bytes());
        message.extend_from_slice(nonce);
        message
    }

    fn step_of(&self, now: SystemTime) -> u64 {
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let step = self.step.as_millis().max(1);
        u64::try_from(since.as_millis() / step).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandom;

    const SECRET: [u8; 32] = [9; 32];

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn ex_09_nonces_are_unpredictable_nqchar_and_rotate() {
        let nonces = DpopNonces::new(&SECRET, "https://as.example.com").unwrap();
        let (a, b) = (
            nonces.issue(&SystemRandom, at(6000)),
            nonces.issue(&SystemRandom, at(6000)),
        );
        assert_ne!(a, b);
        // NQCHAR: %x21 / %x23-5B / %x5D-7E.
        assert!(
            a.bytes()
                .all(|c| c == 0x21 || (0x23..=0x5b).contains(&c) || (0x5d..=0x7e).contains(&c))
        );
        for (now, accepted) in [
            (6000, true),
            (6059, true),
            (6119, true),
            (6120, false),
            (5940, true),
            (5939, false),
        ] {
            assert_eq!(nonces.accepts(&a, at(now)), accepted, "{now}");
        }
    }

    #[test]
    fn ex_10_a_nonce_is_accepted_only_by_its_own_server() {
        let nonces = DpopNonces::new(&SECRET, "https://as.example.com").unwrap();
        let nonce = nonces.issue(&SystemRandom, at(6000));
        let rs = DpopNonces::new(&SECRET, "https://rs.example.com").unwrap();
        assert!(!rs.accepts(&nonce, at(6000)));
        let other_secret = DpopNonces::new(&[8; 32], "https://as.example.com").unwrap();
        assert!(!other_secret.accepts(&nonce, at(6000)));
        // Tampered, truncated, not base64url.
        let mut tampered = nonce.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        for bad in [tampered.as_str(), &nonce[1..], "", "!!!!"] {
            assert!(!nonces.accepts(bad, at(6000)), "{bad}");
        }
        assert!(DpopNonces::new(&[1; 31], "x").is_err());
        assert!(!format!("{nonces:?}").contains("9, 9"));
    }
}
