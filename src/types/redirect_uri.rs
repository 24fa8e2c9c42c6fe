//! Registered redirect URIs: registration-time validation and exact matching
//! ([RFC 6749 §3.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2),
//! [RFC 9700 §2.1](https://www.rfc-editor.org/rfc/rfc9700#section-2.1),
//! [RFC 8252 §7.3](https://www.rfc-editor.org/rfc/rfc8252#section-7.3)).

use std::fmt;

/// Query parameter names a registered redirect URI may not use, because the authorization
/// response adds them and response parameters must not repeat ([RFC 6749 §3.1]).
///
/// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
const RESERVED_RESPONSE_PARAMETERS: [&str; 6] = [
    "code",
    "state",
    "iss",
    "error",
    "error_description",
    "error_uri",
];

/// The longest redirect URI accepted, at registration and in requests.
pub(crate) const MAX_REDIRECT_URI_LEN: usize = 2048;

/// A redirect URI as registered for a client.
///
/// Registration checks ([RFC 6749 §3.1.2], [RFC 9700 §2.6], [RFC 6749 §3.1]): the URI is absolute,
/// has no fragment, no
/// wildcard and no user information; `https` or, for loopback hosts only (`127.0.0.1`,
/// `[::1]`, `localhost`), `http`; private-use schemes must be reverse-DNS names (with a
/// `.`); a registered query may not use a response parameter name.
///
/// Matching is character for character against the registered string ([RFC 9700 §2.1]): no case
/// folding, percent-decoding, dot-segment removal or default-port normalisation. The one
/// exception is the port of `http` loopback URIs ([RFC 8252 §7.3]).
///
/// ```
/// use grantflow::authorize::RedirectUri;
///
/// use grantflow::authorize::LocalhostPort::Exact;
///
/// let uri = RedirectUri::parse("https://client.example.com/cb")?;
/// assert!(uri.matches("https://client.example.com/cb", Exact));
/// assert!(!uri.matches("https://client.example.com/cb/", Exact));
///
/// let native = RedirectUri::parse("http://127.0.0.1/callback")?;
/// assert!(native.matches("http://127.0.0.1:51004/callback", Exact));
///
/// assert!(RedirectUri::parse("https://c.example/cb#x").is_err());
/// assert!(RedirectUri::parse("http://client.example.com/cb").is_err());
/// # Ok::<(), grantflow::authorize::InvalidRedirectUri>(())
/// ```
///
/// [RFC 6749 §3.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
/// [RFC 9700 §2.6]: https://www.rfc-editor.org/rfc/rfc9700#section-2.6
/// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
/// [RFC 9700 §2.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1
/// [RFC 8252 §7.3]: https://www.rfc-editor.org/rfc/rfc8252#section-7.3
#[derive(Clone, PartialEq, Eq)]
pub struct RedirectUri {
    raw: Box<str>,
    loopback: Option<LoopbackHost>,
}

/// Which loopback host a registered `http` URI names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoopbackHost {
    V4,
    V6,
    Localhost,
}

impl LoopbackHost {
    fn literal(self) -> &'static str {
        match self {
            Self::V4 => "127.0.0.1",
            Self::V6 => "[::1]",
            Self::Localhost => "localhost",
        }
    }
}

/// Whether the port of an `http://localhost` redirect URI may differ from the registered
/// one. The loopback literals `127.0.0.1` and `[::1]` match on any port whatever
/// this says ([RFC 8252 §7.3](https://www.rfc-editor.org/rfc/rfc8252#section-7.3)); the
/// name `localhost` is the question, since
/// [RFC 8252 §8.3](https://www.rfc-editor.org/rfc/rfc8252#section-8.3) calls it NOT
/// RECOMMENDED and [RFC 9700 §2.1](https://www.rfc-editor.org/rfc/rfc9700#section-2.1)
/// grants it the same port exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[expect(
    clippy::exhaustive_enums,
    reason = "a port matches exactly or it does not: there is no third answer"
)]
pub enum LocalhostPort {
    /// The port must match the registered one exactly, like the rest of the URI.
    Exact,
    /// Any port, or none, as for the loopback literals.
    Any,
}

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRedirectUri {
    /// Not an absolute URI, or longer than 2048 characters, or with spaces, control or
    /// non-ASCII characters ([RFC 6749 §3.1.2]).
    ///
    /// [RFC 6749 §3.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
    #[error("redirect URI must be an absolute URI")]
    NotAbsolute,
    /// The URI has a fragment ([RFC 6749 §3.1.2]).
    ///
    /// [RFC 6749 §3.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
    #[error("redirect URI must not have a fragment")]
    Fragment,
    /// The URI has a `*` wildcard or user information ([RFC 6749 §3.1.2], [RFC 9700 §4.1.1]).
    ///
    /// [RFC 6749 §3.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
    /// [RFC 9700 §4.1.1]: https://www.rfc-editor.org/rfc/rfc9700#section-4.1.1
    #[error("redirect URI must not contain wildcards or user information")]
    Pattern,
    /// Plain `http` to a host that is not a loopback literal, or a private-use scheme that
    /// is not a reverse-DNS name ([RFC 9700 §2.6]).
    ///
    /// [RFC 9700 §2.6]: https://www.rfc-editor.org/rfc/rfc9700#section-2.6
    #[error("redirect URI scheme not allowed")]
    Scheme,
    /// The registered query uses a response parameter name ([RFC 6749 §3.1]).
    ///
    /// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
    #[error("redirect URI query uses a reserved response parameter name")]
    ReservedParameter,
}

impl RedirectUri {
    /// Validates a redirect URI for registration.
    ///
    /// # Errors
    /// [`InvalidRedirectUri`] naming the rule the URI breaks.
    pub fn parse(raw: &str) -> Result<Self, InvalidRedirectUri> {
        // Visible ASCII only: anything else could not travel in a `Location` header as is.
        if raw.len() > MAX_REDIRECT_URI_LEN || raw.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(InvalidRedirectUri::NotAbsolute);
        }
        if raw.contains('#') {
            return Err(InvalidRedirectUri::Fragment);
        }
        let url = url::Url::parse(raw).map_err(|_| InvalidRedirectUri::NotAbsolute)?;
        let mut loopback = None;
        match url.scheme() {
            "https" | "http" => {
                let authority = authority(raw).ok_or(InvalidRedirectUri::NotAbsolute)?;
                if authority.contains('@') || authority.contains('*') {
                    return Err(InvalidRedirectUri::Pattern);
                }
                if url.host().is_none() {
                    return Err(InvalidRedirectUri::NotAbsolute);
                }
                if url.scheme() == "http" {
                    let (host, _) = split_port(authority).ok_or(InvalidRedirectUri::Scheme)?;
                    loopback = Some(match host {
                        "127.0.0.1" => LoopbackHost::V4,
                        "[::1]" => LoopbackHost::V6,
                        "localhost" => LoopbackHost::Localhost,
                        _ => return Err(InvalidRedirectUri::Scheme),
                    });
                }
            }
            // Private-use URI schemes must be reverse-DNS names (RFC 8252 §7.1, RU-08).
            scheme if scheme.contains('.') => {}
            _ => return Err(InvalidRedirectUri::Scheme),
        }
        if url
            .query_pairs()
            .any(|(name, _)| RESERVED_RESPONSE_PARAMETERS.contains(&name.as_ref()))
        {
            return Err(InvalidRedirectUri::ReservedParameter);
        }
        Ok(Self {
            raw: raw.into(),
            loopback,
        })
    }

    /// The URI exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether `requested` names this URI: exact string equality ([RFC 9700 §2.1], [RFC 9700
    /// §4.1.1]), except
    /// that for `http://127.0.0.1` and `http://[::1]` any port, or none, is accepted while
    /// scheme, host literal, path and query still match exactly ([RFC 8252 §7.3]). The port
    /// of `http://localhost` may vary only with [`LocalhostPort::Any`] ([RFC 8252 §8.3]).
    ///
    /// [RFC 9700 §2.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1
    /// [RFC 9700 §4.1.1]: https://www.rfc-editor.org/rfc/rfc9700#section-4.1.1
    /// [RFC 8252 §7.3]: https://www.rfc-editor.org/rfc/rfc8252#section-7.3
    /// [RFC 8252 §8.3]: https://www.rfc-editor.org/rfc/rfc8252#section-8.3
    pub fn matches(&self, requested: &str, localhost: LocalhostPort) -> bool {
        if *self.raw == *requested {
            return true;
        }
        let Some(host) = self.loopback else {
            return false;
        };
        if host == LoopbackHost::Localhost && localhost == LocalhostPort::Exact {
            return false;
        }
        match (loopback_parts(&self.raw), loopback_parts(requested)) {
            (Some((h1, rest1)), Some((h2, rest2))) => {
                h1 == host.literal() && h1 == h2 && rest1 == rest2
            }
            _ => false,
        }
    }
}

impl RedirectUri {
    /// Whether `origin`, the value of a browser's `Origin` header
    /// ([RFC 6454 §7](https://www.rfc-editor.org/rfc/rfc6454#section-7)), is the origin of
    /// this URI: scheme, host and port as a browser serialises them (default port left
    /// out). The port of a loopback literal is free, as it is for the URI itself ([RFC 8252 §7.3]),
    /// and so is that of `localhost` with [`LocalhostPort::Any`]. Private-use schemes have
    /// no origin a browser would send.
    ///
    /// [RFC 8252 §7.3]: https://www.rfc-editor.org/rfc/rfc8252#section-7.3
    pub(crate) fn is_origin_of(&self, origin: &str, localhost: LocalhostPort) -> bool {
        let Ok(url) = url::Url::parse(&self.raw) else {
            return false;
        };
        if !matches!(url.scheme(), "https" | "http") {
            return false;
        }
        if url.origin().ascii_serialization() == origin {
            return true;
        }
        let port_free = match self.loopback {
            None => false,
            Some(LoopbackHost::Localhost) => localhost == LocalhostPort::Any,
            Some(_) => true,
        };
        port_free
            && matches!(
                (loopback_parts(&self.raw), loopback_parts(origin)),
                (Some((own, _)), Some((host, ""))) if own == host
            )
    }
}

/// The authority of an `http(s)://` URI: the text between `//` and the next `/`, `?` or end.
fn authority(raw: &str) -> Option<&str> {
    let rest = raw.split_once("://")?.1;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Splits `host[:port]` where the port, if present, is a decimal number from 1 to 65535
/// ([RFC 6335 §6](https://www.rfc-editor.org/rfc/rfc6335#section-6): port 0 is reserved
/// and names no endpoint a browser could reach).
fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    let colon = if authority.starts_with('[') {
        let close = authority.find(']')?;
        match &authority[close + 1..] {
            "" => return Some((authority, None)),
            rest if rest.starts_with(':') => close + 1,
            _ => return None,
        }
    } else {
        match authority.rfind(':') {
            Some(i) => i,
            None => return Some((authority, None)),
        }
    };
    let (host, port) = (&authority[..colon], &authority[colon + 1..]);
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !matches!(port.parse::<u16>(), Ok(n) if n != 0) {
        return None;
    }
    Some((host, Some(port)))
}

/// For an `http://` URI: its host literal and everything after the authority.
fn loopback_parts(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return None;
    }
    let (host, _) = split_port(authority)?;
    Some((host, tail))
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedirectUri({:?})", &*self.raw)
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ru_01_registration_requires_absolute_uri_without_fragment_or_pattern() {
        for (uri, error) in [
            ("https://c.example/cb#x", InvalidRedirectUri::Fragment),
            ("/cb", InvalidRedirectUri::NotAbsolute),
            ("https://*.c.example/cb", InvalidRedirectUri::Pattern),
            ("https://user@c.example/cb", InvalidRedirectUri::Pattern),
            ("https://c.example/ cb", InvalidRedirectUri::NotAbsolute),
            // Non-ASCII could not travel in a `Location` header as is.
            (
                "https://c.example/caf\u{e9}",
                InvalidRedirectUri::NotAbsolute,
            ),
        ] {
            assert_eq!(RedirectUri::parse(uri), Err(error), "{uri}");
        }
        assert!(RedirectUri::parse("https://c.example/cb?tenant=a").is_ok());
    }

    #[test]
    fn ru_08_scheme_rules_at_registration() {
        for uri in [
            "http://client.example.com/cb",
            "myapp:/cb",
            "http://127.0.0.1.nip.io/cb",
        ] {
            assert_eq!(RedirectUri::parse(uri), Err(InvalidRedirectUri::Scheme));
        }
        assert!(RedirectUri::parse("com.example.app:/oauth2redirect").is_ok());
        assert!(RedirectUri::parse("http://127.0.0.1/cb").is_ok());
        assert!(RedirectUri::parse("http://[::1]:8080/cb").is_ok());
        assert!(RedirectUri::parse("http://localhost:3000/callback").is_ok());
    }

    #[test]
    fn ru_10_reserved_query_names_are_refused() {
        for name in RESERVED_RESPONSE_PARAMETERS {
            let uri = format!("https://c.example/cb?{name}=1");
            assert_eq!(
                RedirectUri::parse(&uri),
                Err(InvalidRedirectUri::ReservedParameter)
            );
        }
    }

    #[test]
    fn ru_05_loopback_port_is_free_but_nothing_else() {
        let uri = RedirectUri::parse("http://127.0.0.1/callback").unwrap();
        assert!(uri.matches("http://127.0.0.1:51004/callback", LocalhostPort::Exact));
        assert!(!uri.matches("http://127.0.0.1:51004/callback/x", LocalhostPort::Exact));
        assert!(!uri.matches("https://127.0.0.1:51004/callback", LocalhostPort::Exact));
        assert!(!uri.matches(
            "http://127.0.0.1.nip.io:51004/callback",
            LocalhostPort::Exact
        ));
        assert!(!uri.matches("http://localhost:51004/callback", LocalhostPort::Any));
        assert!(!uri.matches("http://127.0.0.1:x/callback", LocalhostPort::Exact));
        let v6 = RedirectUri::parse("http://[::1]:8080/cb").unwrap();
        assert!(v6.matches("http://[::1]:61023/cb", LocalhostPort::Exact));
    }

    #[test]
    fn ru_07_localhost_port_follows_the_switch() {
        let uri = RedirectUri::parse("http://localhost/cb").unwrap();
        assert!(uri.matches("http://localhost:7777/cb", LocalhostPort::Any));
        assert!(!uri.matches("http://localhost:7777/cb", LocalhostPort::Exact));
    }
}
