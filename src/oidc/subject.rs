//! Subject identifiers ([Core §8](https://openid.net/specs/openid-connect-core-1_0.html#SubjectIDTypes)):
//! the `sub` a client sees, public or pairwise.

use std::fmt;

use aws_lc_rs::hmac;

use crate::error::ConfigError;
use crate::jose::b64;
use crate::types::{Client, Subject, SubjectType};

/// The secret behind pairwise subject identifiers
/// ([Core §8.1](https://openid.net/specs/openid-connect-core-1_0.html#PairwiseAlg)).
///
/// A pairwise client sees `sub` = base64url(HMAC-SHA-256(secret, sector ‖ 0x00 ‖ user)):
/// stable for a user within a sector, unrelated across sectors, and reversible by nobody
/// who lacks the secret (the server maps back by recomputing, never by inverting). Every
/// instance of a deployment needs the same secret, for good: changing it changes every
/// pairwise `sub`, which clients take for new users. Keep it with the host's other
/// long-lived secrets. `Debug` shows nothing of it.
///
/// ```
/// use grantflow::oidc::PairwiseSecret;
///
/// let secret = PairwiseSecret::new(&[7u8; 32])?;
/// assert_eq!(format!("{secret:?}"), "PairwiseSecret(<redacted>)");
/// assert!(PairwiseSecret::new(b"too short").is_err());
/// # Ok::<(), grantflow::ConfigError>(())
/// ```
pub struct PairwiseSecret(hmac::Key);

impl PairwiseSecret {
    /// The secret from at least 32 random bytes.
    ///
    /// # Errors
    /// [`ConfigError::Setting`] for fewer than 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self, ConfigError> {
        if secret.len() < 32 {
            return Err(ConfigError::Setting(
                "the pairwise secret must have at least 32 bytes",
            ));
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    /// The pairwise `sub` of `subject` in `sector`.
    pub(crate) fn subject(&self, sector: &str, subject: &Subject) -> String {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(sector.as_bytes());
        context.update(&[0]);
        context.update(subject.as_str().as_bytes());
        b64::encode(context.sign().as_ref())
    }
}

impl fmt::Debug for PairwiseSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairwiseSecret(<redacted>)")
    }
}

/// Why no `sub` can be given to a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoSubject {
    /// A pairwise client, on a server without a pairwise secret.
    NoPairwiseSecret,
    /// A public `sub` must be at most 255 ASCII characters (Core §2), and the host's
    /// identifier is not.
    Unfit,
}

/// The `sub` `client` sees for `subject` ([OpenID Connect Core 1.0 §8]): the host's identifier for
/// public
/// clients, the pairwise value for pairwise ones.
///
/// [OpenID Connect Core 1.0 §8]: https://openid.net/specs/openid-connect-core-1_0.html
pub(crate) fn subject_identifier(
    client: &Client,
    subject: &Subject,
    secret: Option<&PairwiseSecret>,
) -> Result<String, NoSubject> {
    match (client.subject_type(), client.sector()) {
        (SubjectType::Pairwise, Some(sector)) => secret
            .map(|secret| secret.subject(sector, subject))
            .ok_or(NoSubject::NoPairwiseSecret),
        _ => {
            let id = subject.as_str();
            let fits =
                !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_graphic());
            fits.then(|| id.to_owned()).ok_or(NoSubject::Unfit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ClientType, GrantType};

    fn client(id: &str, redirect: &str, subject_type: SubjectType) -> Client {
        Client::builder(id, ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .redirect_uri(redirect)
            .subject_type(subject_type)
            .build()
            .unwrap()
    }

    #[test]
    fn oi_19_pairwise_subjects_differ_across_sectors_and_stay_within_one() {
        let secret = PairwiseSecret::new(&[1; 32]).unwrap();
        let alice = Subject::new("alice");
        let a1 = client("a1", "https://a.example/cb", SubjectType::Pairwise);
        let a2 = client("a2", "https://a.example/other", SubjectType::Pairwise);
        let b = client("b", "https://b.example/cb", SubjectType::Pairwise);
        let sub = |c: &Client| subject_identifier(c, &alice, Some(&secret)).unwrap();
        assert_eq!(sub(&a1), sub(&a1));
        assert_eq!(sub(&a1), sub(&a2));
        assert_ne!(sub(&a1), sub(&b));
        assert_ne!(sub(&a1), "alice");
        assert_eq!(sub(&a1).len(), 43);
        // Another user in the same sector, another secret: other values.
        assert_ne!(
            sub(&a1),
            subject_identifier(&a1, &Subject::new("bob"), Some(&secret)).unwrap()
        );
        let other = PairwiseSecret::new(&[2; 32]).unwrap();
        assert_ne!(
            sub(&a1),
            subject_identifier(&a1, &alice, Some(&other)).unwrap()
        );
        assert_eq!(
            subject_identifier(&a1, &alice, None),
            Err(NoSubject::NoPairwiseSecret)
        );
    }

    #[test]
    fn oi_09_a_public_sub_is_at_most_255_ascii_characters() {
        let public = client("p", "https://a.example/cb", SubjectType::Public);
        assert_eq!(
            subject_identifier(&public, &Subject::new("alice"), None).as_deref(),
            Ok("alice")
        );
        for bad in ["", "caf\u{e9}", "a b", &"x".repeat(256)] {
            assert_eq!(
                subject_identifier(&public, &Subject::new(bad), None),
                Err(NoSubject::Unfit)
            );
        }
    }
}
