//! User codes of the device authorization grant
//! ([RFC 8628 §6.1](https://www.rfc-editor.org/rfc/rfc8628#section-6.1)): their format,
//! generation and normalisation. Pure.

use std::fmt;

use rand::Rng as _;

use crate::error::ConfigError;
use crate::random::Random;

/// The most characters of user input [`UserCodeFormat::normalize`] looks at. Anything
/// longer is not a user code, and the work per entry stays bounded.
const MAX_INPUT_CHARS: usize = 128;

/// The shape of user codes: the alphabet they are drawn from, their length, and how they
/// are grouped with dashes for display
/// ([RFC 8628 §6.1](https://www.rfc-editor.org/rfc/rfc8628#section-6.1), [RFC 8628 §6.1]).
///
/// The default is the RFC's recommendation: 8 characters from the base-20 alphabet
/// `BCDFGHJKLMNPQRSTVWXZ` (no vowels, so no words; no look-alike digits), shown as
/// `XXXX-XXXX`. That gives 20^8 ≈ 2.56·10^10 codes, **34.6 bits** of entropy (V-DEV-1).
/// [`digits`](Self::digits) gives 9 digits shown as `XXX-XXX-XXX`: 10^9 codes, **29.9 bits**.
///
/// # Security
/// A user code is short by design; what keeps guessing unlikely is its short lifetime
/// and the rate limit on wrong entries ([RFC 8628 §5.1], see
/// [`DeviceVerifier::verify`](crate::device::DeviceVerifier::verify)). With the default
/// format and 5 wrong entries allowed per window, one window of guessing succeeds with
/// probability 5 / 20^8 ≈ 2^-32 per live code (V-DEV-3); multiply by the number of codes
/// live at once for the chance of hitting any. Shorter codes or larger budgets lower this;
/// [`new`](Self::new) refuses formats under 29 bits.
///
/// ```
/// use grantflow::device::UserCodeFormat;
///
/// let format = UserCodeFormat::default();
/// assert_eq!(format.normalize(" wdjb–mjht "), "WDJBMJHT");
/// assert_eq!(format.display("WDJBMJHT"), "WDJB-MJHT");
/// assert!((format.entropy_bits() - 34.58).abs() < 0.01);
///
/// let digits = UserCodeFormat::digits();
/// assert_eq!(digits.normalize("019-450-730"), "019450730");
/// assert_eq!(digits.display("019450730"), "019-450-730");
/// # Ok::<(), grantflow::ConfigError>(())
/// ```
///
/// [RFC 8628 §6.1]: https://www.rfc-editor.org/rfc/rfc8628#section-6.1
/// [RFC 8628 §5.1]: https://www.rfc-editor.org/rfc/rfc8628#section-5.1
#[derive(Clone, PartialEq, Eq)]
pub struct UserCodeFormat {
    alphabet: Box<[u8]>,
    length: usize,
    group: usize,
}

impl UserCodeFormat {
    /// The base-20 alphabet recommended by RFC 8628 §6.1: consonants only.
    pub const BASE20_ALPHABET: &'static str = "BCDFGHJKLMNPQRSTVWXZ";

    /// The default: 8 base-20 characters in two groups of 4 (`WDJB-MJHT`), 34.6 bits.
    pub fn base20() -> Self {
        Self {
            alphabet: Self::BASE20_ALPHABET.as_bytes().into(),
            length: 8,
            group: 4,
        }
    }

    /// 9 digits in three groups of 3 (`019-450-730`), 29.9 bits: easier to type on a
    /// numeric keypad, weaker against guessing.
    pub fn digits() -> Self {
        Self {
            alphabet: b"0123456789".as_slice().into(),
            length: 9,
            group: 3,
        }
    }

    /// A custom format: `length` characters drawn uniformly from `alphabet`, shown
    /// ungrouped (add groups with [`with_group`](Self::with_group)). Its entropy is
    /// `length × log2(alphabet size)` bits.
    ///
    /// # Errors
    /// [`ConfigError::Setting`] when the alphabet has fewer than 2 or repeated characters,
    /// or characters other than upper-case ASCII letters and digits (input is upper-cased
    /// before lookup, so lower-case characters could never match), when `length` is over
    /// 32, or when the entropy is under 29 bits.
    pub fn new(alphabet: &str, length: usize) -> Result<Self, ConfigError> {
        let bytes = alphabet.as_bytes();
        if bytes.len() < 2
            || !bytes
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(ConfigError::Setting(
                "user code alphabet: at least 2 upper-case ASCII letters or digits",
            ));
        }
        if bytes
            .iter()
            .enumerate()
            .any(|(i, b)| bytes[..i].contains(b))
        {
            return Err(ConfigError::Setting(
                "user code alphabet has a repeated character",
            ));
        }
        let format = Self {
            alphabet: bytes.into(),
            length,
            group: 0,
        };
        if length > 32 || format.entropy_bits() < 29.0 {
            return Err(ConfigError::Setting(
                "user codes need at least 29 bits of entropy and at most 32 characters",
            ));
        }
        Ok(format)
    }

    /// Shows the code in groups of `group` characters joined by `-` (0: no grouping).
    /// Grouping is for display only; input is normalised before lookup.
    #[must_use]
    pub fn with_group(mut self, group: usize) -> Self {
        self.group = group;
        self
    }

    /// The alphabet.
    pub fn alphabet(&self) -> &str {
        // Validated ASCII on construction.
        std::str::from_utf8(&self.alphabet).unwrap_or_default()
    }

    /// The number of significant characters.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The entropy of one code in bits: `length × log2(alphabet size)`.
    pub fn entropy_bits(&self) -> f64 {
        self.length as f64 * (self.alphabet.len() as f64).log2()
    }

    /// Normalises what a user typed ([RFC 8628 §6.1](https://www.rfc-editor.org/rfc/rfc8628#section-6.1),
    /// [RFC 8628 §6.1]): upper-cases it and drops every character outside the alphabet (dashes,
    /// spaces, en dashes, other punctuation). Looks at no more than 128 characters.
    ///
    /// [RFC 8628 §6.1]: https://www.rfc-editor.org/rfc/rfc8628#section-6.1
    pub fn normalize(&self, input: &str) -> String {
        let mut out = String::with_capacity(self.length);
        for c in input.chars().take(MAX_INPUT_CHARS) {
            let c = c.to_ascii_uppercase();
            if c.is_ascii() && self.alphabet.contains(&(c as u8)) {
                out.push(c);
            }
        }
        out
    }

    /// Formats a normalised code for display, with a dash between groups.
    pub fn display(&self, normalized: &str) -> String {
        let mut out = String::with_capacity(normalized.len() * 2);
        self.display_into(normalized, &mut out);
        out
    }

    /// [`display`](Self::display), appended to `out`.
    pub(crate) fn display_into(&self, normalized: &str, out: &mut String) {
        for (i, c) in normalized.chars().enumerate() {
            if self.group > 0 && i > 0 && i % self.group == 0 {
                out.push('-');
            }
            out.push(c);
        }
    }

    /// Whether `normalized` has the right length to be a code of this format.
    pub(crate) fn fits(&self, normalized: &str) -> bool {
        normalized.len() == self.length
    }

    /// A fresh code in normalised form, each character drawn uniformly (no modulo bias)
    /// from `random`.
    pub(crate) fn generate(&self, random: &dyn Random) -> String {
        let mut rng = crate::random::Rng(random);
        let mut code = String::with_capacity(self.length);
        for _ in 0..self.length {
            code.push(char::from(
                self.alphabet[rng.random_range(0..self.alphabet.len())],
            ));
        }
        code
    }
}

impl Default for UserCodeFormat {
    fn default() -> Self {
        Self::base20()
    }
}

impl fmt::Debug for UserCodeFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserCodeFormat")
            .field("alphabet", &self.alphabet())
            .field("length", &self.length)
            .field("group", &self.group)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn dg_06_normalisation_is_bounded_and_stays_in_the_alphabet(input in "\\PC{0,300}") {
            let format = UserCodeFormat::default();
            let out = format.normalize(&input);
            prop_assert!(out.len() <= MAX_INPUT_CHARS);
            prop_assert!(out.bytes().all(|b| UserCodeFormat::BASE20_ALPHABET.as_bytes().contains(&b)));
            // Normalising is idempotent, and display form normalises back.
            prop_assert_eq!(format.normalize(&out), out.clone());
            prop_assert_eq!(format.normalize(&format.display(&out)), out);
        }
    }

    #[test]
    fn dg_05_generated_codes_match_the_base20_pattern() {
        let format = UserCodeFormat::default();
        for _ in 0..1000 {
            let c = format.generate(&crate::random::SystemRandom);
            assert_eq!(c.len(), 8);
            assert!(
                c.bytes()
                    .all(|b| UserCodeFormat::BASE20_ALPHABET.as_bytes().contains(&b))
            );
            let shown = format.display(&c);
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
        }
    }

    #[test]
    fn dg_06_v_dev_2_normalisation() {
        let format = UserCodeFormat::default();
        for input in [
            "WDJB-MJHT",
            "wdjb-mjht",
            "wdjb mjht",
            " WDJB\u{2013}MJHT ",
            "WDJBMJHT",
        ] {
            assert_eq!(format.normalize(input), "WDJBMJHT", "{input:?}");
        }
        assert_eq!(
            UserCodeFormat::digits().normalize("019-450-730"),
            "019450730"
        );
        // Bounded: a huge input is cut before it is scanned.
        assert!(format.normalize(&"B".repeat(10_000)).len() <= MAX_INPUT_CHARS);
    }

    #[test]
    fn dg_05_v_dev_1_entropy_and_format_validation() {
        assert!((UserCodeFormat::base20().entropy_bits() - 34.58).abs() < 0.01);
        assert!((UserCodeFormat::digits().entropy_bits() - 29.9).abs() < 0.01);
        assert!(UserCodeFormat::new("BCDFGHJKLMNPQRSTVWXZ", 10).is_ok());
        assert!(UserCodeFormat::new("BCDFGHJKLMNPQRSTVWXZ", 6).is_err());
        assert!(UserCodeFormat::new("bcdf", 20).is_err());
        assert!(UserCodeFormat::new("BB", 40).is_err());
        assert!(UserCodeFormat::new("B", 40).is_err());
        assert!(UserCodeFormat::new("BC-D", 20).is_err());
    }
}
