//! Comparing `htu` with the request's target URI
//! ([RFC 9449 §4.3](https://www.rfc-editor.org/rfc/rfc9449#section-4.3), items 8 and 9).

use crate::params::hex;

/// `uri` in the form `htu` values are compared in: an absolute `http` or `https` URI with a
/// host and no user information, its query and fragment removed, after the syntax- and
/// scheme-based normalization of
/// [RFC 3986 §6.2.2 and §6.2.3](https://www.rfc-editor.org/rfc/rfc3986#section-6.2.2):
/// scheme and host lower-cased, the default port and dot segments removed, an empty path
/// made `/`, percent-encoded unreserved characters decoded and the hex digits of every
/// other percent-encoding upper-cased. `None` for anything else.
pub(crate) fn normalize(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "https" | "http")
        || url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let origin = &url[..url::Position::BeforePath];
    let path = url.path();
    let mut out = String::with_capacity(origin.len() + path.len());
    out.push_str(origin);
    let bytes = path.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        let escaped = (byte == b'%')
            .then(|| Some((hex(*bytes.get(at + 1)?)?, hex(*bytes.get(at + 2)?)?)))
            .flatten();
        match escaped {
            Some((high, low)) => {
                let decoded = high << 4 | low;
                if is_unreserved(decoded) {
                    out.push(char::from(decoded));
                } else {
                    out.push('%');
                    out.push(char::from(HEX[usize::from(high)]));
                    out.push(char::from(HEX[usize::from(low)]));
                }
                at += 3;
            }
            None => {
                out.push(char::from(byte));
                at += 1;
            }
        }
    }
    Some(out)
}

/// Whether `uri` carries a query or a fragment, which an `htu` must not
/// ([RFC 9449 §4.2](https://www.rfc-editor.org/rfc/rfc9449#section-4.2)).
pub(crate) fn has_query_or_fragment(uri: &str) -> bool {
    uri.contains(['?', '#'])
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// `unreserved` of [RFC 3986 §2.3](https://www.rfc-editor.org/rfc/rfc3986#section-2.3).
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ex_15_normalization() {
        let token = normalize("https://as.example.com/token").unwrap();
        assert_eq!(token, "https://as.example.com/token");
        for same in [
            "https://AS.example.com:443/token",
            "HTTPS://as.EXAMPLE.com/token",
            "https://as.example.com/%74oken",
            "https://as.example.com/a/../token",
            "https://as.example.com/token?x=1",
            "https://as.example.com/token#f",
        ] {
            assert_eq!(normalize(same).as_deref(), Some(token.as_str()), "{same}");
        }
        for other in [
            "https://as.example.com/token2",
            "https://as.example.com/Token",
            "http://as.example.com/token",
            "https://as.example.com:8443/token",
            "https://as.example.com/token/",
        ] {
            assert_ne!(normalize(other).as_deref(), Some(token.as_str()), "{other}");
        }
        assert_eq!(
            normalize("https://as.example.com/a%2fb").unwrap(),
            "https://as.example.com/a%2Fb"
        );
        assert_eq!(
            normalize("https://as.example.com").unwrap(),
            "https://as.example.com/"
        );
        assert_eq!(
            normalize("http://localhost:80/x").unwrap(),
            "http://localhost/x"
        );
        for bad in [
            "/token",
            "urn:x:y",
            "ftp://as.example.com/token",
            "https://user@as.example.com/token",
            "",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
