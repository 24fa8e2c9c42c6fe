//! Identifiers of resource owners and authorization grants.

use std::fmt;
use std::sync::Arc;

use crate::random::{Random, SystemRandom};

/// The resource owner a token was issued for: the host's user identifier, as it gives it
/// to an approval. Tokens from the client credentials grant have no subject: they act for
/// the client itself, so a client can never pass for a user ([RFC 9700 §4.15.1]).
///
/// ```
/// use grantflow::Subject;
/// let alice = Subject::new("alice");
/// assert_eq!(alice.as_str(), "alice");
/// ```
///
/// [RFC 9700 §4.15.1]: https://www.rfc-editor.org/rfc/rfc9700#section-4.15.1
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Subject(Arc<str>);

impl Subject {
    /// Wraps the host's identifier of a user.
    pub fn new(id: &str) -> Self {
        Self(Arc::from(id))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subject({:?})", &*self.0)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identifier of one authorization grant.
///
/// Every artifact of a grant (its code, access tokens, refresh tokens, device code)
/// carries the same grant id, so a replayed code or a reused refresh token means one thing:
/// revoke everything with this id. 128 random bits; not a secret (it never authorizes
/// anything on its own), so it prints in full.
///
/// ```
/// use grantflow::store::GrantId;
/// let id = GrantId::generate();
/// assert_eq!(id.to_string().len(), 32);
/// assert_eq!(GrantId::from_bytes(*id.as_bytes()), id);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId([u8; 16]);

impl GrantId {
    /// A fresh random grant id from the [`SystemRandom`] CSPRNG. A server draws its grant
    /// ids from its own [`Random`] instead ([`generate_with`](Self::generate_with)).
    pub fn generate() -> Self {
        Self::generate_with(&SystemRandom)
    }

    /// A fresh grant id, 128 bits drawn from `random`.
    pub fn generate_with(random: &dyn Random) -> Self {
        let mut bytes = [0u8; 16];
        random.fill(&mut bytes);
        Self(bytes)
    }

    /// Wraps a grant id read back from storage.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for storage.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId({self})")
    }
}
