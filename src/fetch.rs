//! Outbound fetches: the [`Fetcher`] plug-in through which the server reads documents on
//! other hosts (client ID metadata documents, the key sets of clients registered with a
//! `jwks_uri`), and the checks the server applies around it.
//!
//! grantflow opens no sockets. When it needs a document it validates the URL first
//! (`https` only, no user information, no fragment, no IP literal of a special-use range),
//! asks the host's [`Fetcher`] for the bytes, and then checks the answer itself: status
//! 200 only, the size limit, the content type, and the HTTP freshness within a floor and a
//! ceiling ([RFC 9111 §4.2](https://www.rfc-editor.org/rfc/rfc9111#section-4.2)) before it
//! caches anything.
//!
//! # Fetching safely
//! A URL comes from whoever presents it, so the fetcher is a server-side request forgery
//! target ([RFC 9700 §4.17](https://www.rfc-editor.org/rfc/rfc9700#section-4.17) spirit,
//! [client ID metadata documents §6.5](https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/)).
//! An implementation must:
//! - send a plain `GET` with `Accept: application/json`, no cookies and no credentials;
//! - **not follow redirects**: return the 3xx response as it is (grantflow refuses it);
//! - resolve the host itself and refuse to **connect** to an address for which
//!   [`is_special_use`] is true (loopback, private, link-local, unique-local, multicast,
//!   documentation, ...), checking the address actually connected to, so that DNS
//!   rebinding cannot slip in between a check and the connection;
//! - stop reading after [`FetchRequest::max_bytes`] + 1 bytes, and give up after
//!   [`FetchRequest::timeout`] for the whole exchange.
//!
//! ```
//! use grantflow::fetch::{FetchError, FetchRequest, FetchResponse, Fetcher};
//!
//! /// A fetcher that serves one fixed document (a test double; a real one wraps an HTTP
//! /// client configured by the rules above).
//! #[derive(Debug)]
//! struct Fixed(&'static str);
//!
//! #[async_trait::async_trait]
//! impl Fetcher for Fixed {
//!     async fn fetch(&self, request: &FetchRequest) -> Result<FetchResponse, FetchError> {
//!         assert!(request.url().starts_with("https://"));
//!         Ok(FetchResponse::new(200, self.0.as_bytes().to_vec())
//!             .with_content_type("application/json")
//!             .with_cache_control("max-age=600"))
//!     }
//! }
//! # let _ = Fixed("{}");
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use async_trait::async_trait;

/// How long a fetch may take in all, passed to the fetcher.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest URL fetched, in bytes.
const MAX_URL_BYTES: usize = 2048;

/// The host's outbound HTTP client, as grantflow sees it: given an `https` URL the server
/// has validated, answer the status, headers and body of one `GET`, following no
/// redirect. See the [module documentation](self) for the rules an implementation must
/// follow.
#[async_trait]
pub trait Fetcher: Send + Sync + fmt::Debug {
    /// Fetches `request.url()`.
    ///
    /// # Errors
    /// [`FetchError`] when no response was received (refused address, DNS failure,
    /// timeout, body over the limit). The server treats it as a document that cannot be
    /// used, never as a fault of its own.
    async fn fetch(&self, request: &FetchRequest) -> Result<FetchResponse, FetchError>;
}

/// One fetch the server asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    url: String,
    max_bytes: usize,
}

impl FetchRequest {
    /// Checks `url` (see [`FetchUrlError`]) and makes a request for at most `max_bytes`.
    pub(crate) fn new(url: &str, max_bytes: usize) -> Result<Self, FetchUrlError> {
        check_url(url)?;
        Ok(Self {
            url: url.to_owned(),
            max_bytes,
        })
    }

    /// The `https` URL to `GET`, exactly as it must be requested.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The largest body the server accepts: stop reading after one byte more.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// How long the whole exchange may take: 5 seconds.
    pub fn timeout(&self) -> Duration {
        FETCH_TIMEOUT
    }
}

/// What the fetcher received: status, body and the headers the server reads.
#[derive(Clone, PartialEq, Eq)]
pub struct FetchResponse {
    status: u16,
    body: Vec<u8>,
    content_type: Option<String>,
    cache_control: Option<String>,
}

impl fmt::Debug for FetchResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("content_type", &self.content_type)
            .field("cache_control", &self.cache_control)
            .finish()
    }
}

impl FetchResponse {
    /// A response with `status` and `body`.
    pub fn new(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            body,
            content_type: None,
            cache_control: None,
        }
    }

    /// The `Content-Type` header.
    #[must_use]
    pub fn with_content_type(mut self, value: &str) -> Self {
        self.content_type = Some(value.to_owned());
        self
    }

    /// The `Cache-Control` header ([RFC 9111 §5.2](https://www.rfc-editor.org/rfc/rfc9111#section-5.2)).
    #[must_use]
    pub fn with_cache_control(mut self, value: &str) -> Self {
        self.cache_control = Some(value.to_owned());
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// Why a fetch returned no response. The text is for the host's logs; the server answers
/// the request that needed the document as it would for an unknown client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fetch failed: {reason}")]
pub struct FetchError {
    reason: String,
}

impl FetchError {
    /// A failure described by `reason` (no secret: it may be logged).
    pub fn new(reason: impl fmt::Display) -> Self {
        Self {
            reason: reason.to_string(),
        }
    }
}

/// Why a URL is not fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchUrlError {
    /// Not an absolute `https` URL of at most 2,048 bytes with a host.
    #[error("only absolute https URLs are fetched")]
    NotHttps,
    /// The URL carries a user name or password.
    #[error("the URL must not carry user information")]
    UserInfo,
    /// The URL has a fragment.
    #[error("the URL must not have a fragment")]
    Fragment,
    /// The host is an IP literal of a special-use range ([`is_special_use`]).
    #[error("the URL names a special-use address")]
    SpecialUseAddress,
}

/// Why a fetched response is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ResponseError {
    /// A status other than 200 (redirects included: they are never followed).
    #[error("status other than 200")]
    Status,
    /// The body is larger than the limit.
    #[error("body over the size limit")]
    TooLarge,
    /// The content type is not `application/json` or `application/*+json`.
    #[error("not a JSON content type")]
    ContentType,
}

/// Checks a URL before any fetch: `https`, a host, no user information, no fragment, no
/// special-use IP literal.
pub(crate) fn check_url(raw: &str) -> Result<url::Url, FetchUrlError> {
    if raw.len() > MAX_URL_BYTES || !raw.starts_with("https://") {
        return Err(FetchUrlError::NotHttps);
    }
    if raw.contains('#') {
        return Err(FetchUrlError::Fragment);
    }
    let url = url::Url::parse(raw).map_err(|_| FetchUrlError::NotHttps)?;
    if !url.username().is_empty() || url.password().is_some() || authority(raw).contains('@') {
        return Err(FetchUrlError::UserInfo);
    }
    let special = match url.host() {
        None => return Err(FetchUrlError::NotHttps),
        Some(url::Host::Ipv4(ip)) => is_special_use(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_special_use(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
    };
    if special {
        return Err(FetchUrlError::SpecialUseAddress);
    }
    Ok(url)
}

/// The authority of an absolute URL, as written.
fn authority(raw: &str) -> &str {
    let rest = raw.split_once("://").map_or("", |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or("")
}

/// Checks a response: status 200, at most `max_bytes`, a JSON content type.
pub(crate) fn check_response(
    response: &FetchResponse,
    max_bytes: usize,
) -> Result<(), ResponseError> {
    if response.status != 200 {
        return Err(ResponseError::Status);
    }
    if response.body.len() > max_bytes {
        return Err(ResponseError::TooLarge);
    }
    let media_type = response
        .content_type
        .as_deref()
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let json = media_type == "application/json"
        || media_type
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json") && subtype.len() > "+json".len());
    if !json {
        return Err(ResponseError::ContentType);
    }
    Ok(())
}

/// How long a response may be cached: its `max-age` (`no-store` and `no-cache` count as
/// zero, a missing or malformed value too), kept within `[floor, ceiling]`. The floor
/// bounds how often one URL can make the server fetch.
pub(crate) fn freshness(response: &FetchResponse, floor: Duration, ceiling: Duration) -> Duration {
    let mut max_age = None;
    let mut forbidden = false;
    for directive in response.cache_control.as_deref().unwrap_or("").split(',') {
        let directive = directive.trim();
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "no-store" | "no-cache" => forbidden = true,
            "max-age" => max_age = value.trim().trim_matches('"').parse::<u64>().ok(),
            _ => {}
        }
    }
    let seconds = if forbidden { 0 } else { max_age.unwrap_or(0) };
    Duration::from_secs(seconds).clamp(floor, ceiling.max(floor))
}

/// Whether `address` is in a special-use range
/// ([RFC 6890](https://www.rfc-editor.org/rfc/rfc6890), and the IANA special-purpose
/// registries): loopback, private, shared (CGN), link-local, unique-local, multicast,
/// broadcast, unspecified, documentation, benchmarking, reserved, and IPv6 forms that
/// embed an IPv4 address of such a range. A fetcher refuses to connect to such an address.
///
/// ```
/// use grantflow::fetch::is_special_use;
///
/// assert!(is_special_use("10.0.0.5".parse()?));
/// assert!(is_special_use("169.254.169.254".parse()?));
/// assert!(is_special_use("::1".parse()?));
/// assert!(is_special_use("::ffff:127.0.0.1".parse()?));
/// assert!(!is_special_use("93.184.215.14".parse()?));
/// assert!(!is_special_use("2606:2800:21f:cb07:6820:80da:af6b:8b2c".parse()?));
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
pub fn is_special_use(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_special_v4(v4),
        IpAddr::V6(v6) => is_special_v6(v6),
    }
}

fn is_special_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // "this network"
        || a == 10
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || a == 127
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && (c == 0 || c == 2)) // protocol assignments, TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224 // multicast, reserved, broadcast
}

fn is_special_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_special_v4(v4);
    }
    // NAT64 (64:ff9b::/96) embeds an IPv4 address.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        return is_special_v4(Ipv4Addr::new(a, b, c, d));
    }
    let first = segments[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || segments[..5] == [0, 0, 0, 0, 0] // IPv4-compatible and other ::/80 forms
        || (first == 0x0064 && segments[1] == 0xff9b) // local-use NAT64 64:ff9b:1::/48
        || (first == 0x0100 && segments[1..4] == [0, 0, 0]) // discard-only
        || (first == 0x2001 && segments[1] < 0x0200) // IETF protocol assignments (Teredo, ...)
        || (first == 0x2001 && segments[1] == 0x0db8) // documentation
        || first == 0x2002 // 6to4
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (first & 0xff00) == 0xff00 // multicast
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cm_04_special_use_addresses_are_classified() {
        for special in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "2002:a00:1::1",
        ] {
            assert!(is_special_use(special.parse().unwrap()), "{special}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2606:4700::1111",
        ] {
            assert!(!is_special_use(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn cm_04_urls_are_checked_before_any_fetch() {
        assert!(check_url("https://app.example/c.json").is_ok());
        for (url, error) in [
            ("http://app.example/c", FetchUrlError::NotHttps),
            ("https://u:p@app.example/c", FetchUrlError::UserInfo),
            ("https://app.example/c#x", FetchUrlError::Fragment),
            ("https://127.0.0.1/c", FetchUrlError::SpecialUseAddress),
            ("https://[::1]/c", FetchUrlError::SpecialUseAddress),
            (
                "https://169.254.169.254/latest",
                FetchUrlError::SpecialUseAddress,
            ),
            ("https://10.0.0.5:8443/c", FetchUrlError::SpecialUseAddress),
            ("https://localhost/c", FetchUrlError::SpecialUseAddress),
        ] {
            assert_eq!(check_url(url).err(), Some(error), "{url}");
        }
    }

    #[test]
    fn cm_06_only_json_content_types_are_accepted() {
        let ok = |ct: &str| {
            check_response(
                &FetchResponse::new(200, b"{}".to_vec()).with_content_type(ct),
                10,
            )
        };
        assert_eq!(ok("application/json"), Ok(()));
        assert_eq!(ok("Application/JSON; charset=utf-8"), Ok(()));
        assert_eq!(ok("application/client-metadata+json"), Ok(()));
        for bad in [
            "text/html",
            "application/+json",
            "text/json",
            "application/jsonp",
        ] {
            assert_eq!(ok(bad), Err(ResponseError::ContentType), "{bad}");
        }
        let missing = FetchResponse::new(200, b"{}".to_vec());
        assert_eq!(
            check_response(&missing, 10),
            Err(ResponseError::ContentType)
        );
    }

    #[test]
    fn cm_03_only_status_200_is_success() {
        for status in [201, 204, 301, 302, 304, 404, 500] {
            let response =
                FetchResponse::new(status, b"{}".to_vec()).with_content_type("application/json");
            assert_eq!(
                check_response(&response, 10),
                Err(ResponseError::Status),
                "{status}"
            );
        }
    }

    #[test]
    fn cm_05_bodies_over_the_limit_are_refused() {
        let response =
            FetchResponse::new(200, vec![b' '; 11]).with_content_type("application/json");
        assert_eq!(check_response(&response, 10), Err(ResponseError::TooLarge));
        assert_eq!(check_response(&response, 11), Ok(()));
    }

    #[test]
    fn cm_09_freshness_is_kept_within_bounds() {
        let floor = Duration::from_secs(60);
        let ceiling = Duration::from_secs(86_400);
        let with = |cc: &str| {
            freshness(
                &FetchResponse::new(200, Vec::new()).with_cache_control(cc),
                floor,
                ceiling,
            )
        };
        assert_eq!(with("max-age=600"), Duration::from_secs(600));
        assert_eq!(with("public, max-age=\"900\""), Duration::from_secs(900));
        assert_eq!(with("max-age=5"), floor);
        assert_eq!(with("max-age=99999999"), ceiling);
        assert_eq!(with("no-store, max-age=600"), floor);
        assert_eq!(with("max-age=abc"), floor);
        assert_eq!(
            freshness(&FetchResponse::new(200, Vec::new()), floor, ceiling),
            floor
        );
    }
}
