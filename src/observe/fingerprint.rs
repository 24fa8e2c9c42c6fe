//! Correlation without secrets: the fingerprint of a credential is the first 8
//! bytes of its HMAC-SHA-256 under a per-deployment [`LogKey`], never the credential and
//! never a plain hash (the SHA-256 of a low-entropy user code or password can be brute
//! forced; an HMAC cannot without the key).

// Without `tracing` nothing is logged, so nothing is fingerprinted; the key is still
// configured the same way.
#![cfg_attr(not(feature = "tracing"), allow(dead_code))]

use std::fmt;

use sha2::{Digest, Sha256};

use crate::random::Random;

/// The SHA-256 block size, which is also the HMAC key size this module uses.
const BLOCK: usize = 64;

/// The key of log fingerprints
/// ([HMAC-SHA-256, RFC 2104](https://www.rfc-editor.org/rfc/rfc2104)): the same credential
/// has the same fingerprint in every log line and audit event made under one key, so an
/// operator can follow a token or a user code across events without the logs holding it.
///
/// Give every instance of a deployment the same key (from its secret store) to correlate
/// across instances; by default each server draws its own at build, and fingerprints then
/// match only within one process. Changing the key changes every fingerprint. The key is a
/// secret: it never reaches `Debug`, logs or metrics.
///
/// ```
/// use grantflow::observe::LogKey;
///
/// // 32 or more bytes from the deployment's secret store.
/// let key = LogKey::from_bytes(&[7u8; 32])?;
/// assert_eq!(format!("{key:?}"), "LogKey(<redacted>)");
/// assert!(LogKey::from_bytes(b"short").is_err());
/// # Ok::<(), grantflow::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct LogKey {
    /// The key XOR the HMAC inner pad.
    inner_pad: [u8; BLOCK],
    /// The key XOR the HMAC outer pad.
    outer_pad: [u8; BLOCK],
}

impl LogKey {
    /// A key from `bytes`: at least 32 of them (256 bits); longer keys are hashed first,
    /// as HMAC does.
    ///
    /// # Errors
    /// [`ConfigError::Setting`](crate::ConfigError::Setting) for fewer than 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::ConfigError> {
        if bytes.len() < 32 {
            return Err(crate::ConfigError::Setting(
                "a log key needs at least 32 bytes",
            ));
        }
        Ok(Self::hmac_key(bytes))
    }

    /// A fresh key drawn from `random`.
    pub(crate) fn generate_with(random: &dyn Random) -> Self {
        let mut bytes = [0u8; 32];
        random.fill(&mut bytes);
        Self::hmac_key(&bytes)
    }

    /// The HMAC pads of `key` (RFC 2104 §2).
    fn hmac_key(key: &[u8]) -> Self {
        let mut block = [0u8; BLOCK];
        if key.len() > BLOCK {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        Self {
            inner_pad: block.map(|b| b ^ 0x36),
            outer_pad: block.map(|b| b ^ 0x5c),
        }
    }

    /// HMAC-SHA-256 of `message` under this key.
    fn mac(&self, message: &[u8]) -> [u8; 32] {
        let inner = Sha256::new()
            .chain_update(self.inner_pad)
            .chain_update(message)
            .finalize();
        Sha256::new()
            .chain_update(self.outer_pad)
            .chain_update(inner)
            .finalize()
            .into()
    }

    /// The fingerprint of `credential`.
    pub(crate) fn fingerprint(&self, credential: &str) -> Fingerprint {
        let mac = self.mac(credential.as_bytes());
        let mut short = [0u8; 8];
        short.copy_from_slice(&mac[..8]);
        Fingerprint(short)
    }
}

impl fmt::Debug for LogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogKey(<redacted>)")
    }
}

/// The first 8 bytes of a credential's HMAC-SHA-256 under the [`LogKey`], as 16 hex
/// digits: what logs carry where one token or user code must be followed across events.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Fingerprint([u8; 8]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A credential's fingerprint, computed only when a subscriber formats it: a span records
/// this, so a request without a subscriber pays nothing for it.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) struct LazyFingerprint<'a> {
    pub(crate) key: &'a LogKey,
    pub(crate) credential: &'a str,
}

impl fmt::Display for LazyFingerprint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.key.fingerprint(self.credential), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 4231 §4.2 (a 20-byte key, under the 32 `from_bytes` asks for) and §4.7 (a key
    /// longer than the block, hashed first).
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let key = LogKey::hmac_key(&[0x0b; 20]);
        assert_eq!(
            hex(&key.mac(b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        let key = LogKey::hmac_key(&[0xaa; 131]);
        assert_eq!(
            hex(&key.mac(
                b"This is a test using a larger than block-size key and a larger than \
                  block-size data. The key needs to be hashed before being used by the HMAC \
                  algorithm."
            )),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        );
    }

    #[test]
    fn ob_02_fingerprints_are_keyed_and_short() {
        let a = LogKey::from_bytes(&[1; 32]).unwrap();
        let b = LogKey::from_bytes(&[2; 32]).unwrap();
        let fp = a.fingerprint("WDJBMJHT").to_string();
        assert_eq!(fp.len(), 16);
        assert_eq!(fp, a.fingerprint("WDJBMJHT").to_string());
        assert_ne!(fp, b.fingerprint("WDJBMJHT").to_string());
        // Not a prefix of the plain SHA-256 of the value.
        assert!(!hex(&Sha256::digest(b"WDJBMJHT")).starts_with(&fp));
        assert_eq!(
            LazyFingerprint {
                key: &a,
                credential: "WDJBMJHT"
            }
            .to_string(),
            fp
        );
    }
}
