//! Base64url without padding (RFC 7515 §2), strict: the alphabet `A–Z a–z 0–9 - _` only,
//! no `=`, no whitespace, and no non-zero bits left over in the last character, so every
//! byte string has exactly one accepted encoding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Whether every byte of `segment` belongs to the base64url alphabet. Branch-free over the
/// bytes, so the compiler can check many at once.
pub(crate) fn is_segment(segment: &[u8]) -> bool {
    segment.iter().fold(true, |ok, &b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_'))
    })
}

/// Decodes `text`, or `None` for anything but canonical unpadded base64url.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Decodes `text` into exactly `N` bytes.
pub(crate) fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    // An encoding of N bytes has exactly this many characters; checking first keeps a long
    // input from being decoded at all.
    if text.len() != (N * 4).div_ceil(3) {
        return None;
    }
    match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
        Ok(n) if n == N => Some(out),
        _ => None,
    }
}

/// Encodes `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the encoding of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_decoding() {
        assert_eq!(decode("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(decode("YQ=="), None, "padding");
        assert_eq!(decode("YR"), None, "non-zero trailing bits");
        assert_eq!(decode("Y Q"), None, "whitespace");
        assert_eq!(decode("YQ+/"), None, "standard alphabet");
        assert_eq!(decode("Y"), None, "impossible length");
        assert_eq!(decode_array::<1>("YQ"), Some(*b"a"));
        assert_eq!(decode_array::<2>("YQ"), None);
        assert_eq!(encode(b"a"), "YQ");
    }
}
