//! Randomness, injected: every random value a [`Server`](crate::Server) draws (tokens,
//! authorization codes, device codes, user codes, grant ids) comes from its one [`Random`]
//! plug-in. The default, [`SystemRandom`], is the operating system-seeded CSPRNG; a test
//! gives the server a [`SeededRandom`] and can then predict every value, as a
//! [`ManualClock`](crate::clock::ManualClock) lets it predict every expiry.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng as _};

/// A source of random bytes. The server draws every token, code and identifier from the
/// one it was built with ([`ServerBuilder::random`](crate::ServerBuilder::random)).
///
/// # Security
/// Everything a client presents as proof (access and refresh tokens, authorization and
/// device codes) is only as unguessable as this source: an implementation must be a
/// cryptographically secure generator seeded from a secure source (the operating system,
/// an HSM), with at least 256 bits of state, and safe to call from many threads at once.
/// [`SeededRandom`] is none of that on purpose.
///
/// Filling cannot fail: the generators this is meant for (the operating system's, a
/// CSPRNG seeded from it or from hardware) do not fail once seeded, and an error path on
/// every token minted would only be dead code for them. A source that can fail (a remote
/// one) must reseed from its last good state or stop the process rather than return
/// predictable bytes.
pub trait Random: Send + Sync + fmt::Debug {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);
}

/// The default [`Random`]: the thread-local CSPRNG of the `rand` crate (ChaCha12, seeded
/// from the operating system and reseeded periodically).
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct SystemRandom;

impl Random for SystemRandom {
    fn fill(&self, dest: &mut [u8]) {
        rand::rng().fill_bytes(dest);
    }
}

/// A deterministic [`Random`] for tests: the same seed gives the same bytes, so a test can
/// predict every token and code a server issues (within one version of the crate: the
/// generator behind it may change between versions).
///
/// # Security
/// Anyone who knows or guesses the seed knows every token the server issues. For tests
/// only, never for a server that faces clients.
///
/// ```
/// use grantflow::random::{Random, SeededRandom};
///
/// let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
/// let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
/// a.fill(&mut x);
/// b.fill(&mut y);
/// assert_eq!(x, y);
/// ```
pub struct SeededRandom(Mutex<StdRng>);

impl SeededRandom {
    /// A generator whose output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl fmt::Debug for SeededRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The state would predict the server's next tokens.
        f.write_str("SeededRandom(..)")
    }
}

impl Random for SeededRandom {
    fn fill(&self, dest: &mut [u8]) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill_bytes(dest);
    }
}

/// A [`Random`] as a `rand` generator, so that `rand`'s unbiased sampling (user-code
/// characters) runs over the injected source.
pub(crate) struct Rng<'a>(pub(crate) &'a dyn Random);

impl RngCore for Rng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.0.fill(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        self.0.fill(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_sources_repeat_and_differ_by_seed() {
        let draw = |random: &dyn Random| {
            let mut bytes = [0u8; 32];
            random.fill(&mut bytes);
            bytes
        };
        assert_eq!(draw(&SeededRandom::new(1)), draw(&SeededRandom::new(1)));
        assert_ne!(draw(&SeededRandom::new(1)), draw(&SeededRandom::new(2)));
        let one = SeededRandom::new(1);
        assert_ne!(draw(&one), draw(&one));
        assert_ne!(draw(&SystemRandom), draw(&SystemRandom));
        assert_eq!(format!("{:?}", SeededRandom::new(1)), "SeededRandom(..)");
    }
}
