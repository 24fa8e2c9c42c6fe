//! `application/x-www-form-urlencoded` parsing with duplicate poisoning and size bounds
//! ([RFC 6749 §3.1, §3.2, Appendix B](https://www.rfc-editor.org/rfc/rfc6749#appendix-B)).
//!
//! The crate parses forms itself (never into a map) so that a repeated parameter is seen
//! and refused ([RFC 6749 §3.2], [RFC 6749 §3.1]), and so that hostile input is bounded before any
//! allocation grows with it. The parameters a protocol defines as repeatable
//! ([`MAY_REPEAT`]) are the one exception, read with [`Form::get_all`].
//!
//! [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2
//! [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1

use std::borrow::Cow;

/// Size bounds for request parsing. Oversized input is refused with `invalid_request`
/// before it is decoded, so a request can never make the server allocate more than these
/// bounds allow.
///
/// ```
/// use grantflow::FormLimits;
///
/// let limits = FormLimits::default();
/// assert_eq!(limits.max_body_bytes, 16 * 1024);
/// let strict = FormLimits { max_parameters: 16, ..FormLimits::default() };
/// assert_eq!(strict.max_parameters, 16);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "plain settings; new bounds go in a major release"
)]
pub struct FormLimits {
    /// The largest body (and query string) accepted, in bytes. Default: 16 KiB, far above
    /// any legitimate OAuth request.
    pub max_body_bytes: usize,
    /// The most parameters in one body or query string. Default: 32.
    pub max_parameters: usize,
    /// The longest parameter value, in bytes before percent-decoding. Default: 4 KiB
    /// (a `state` is capped lower, at 2 KiB, by its own rule).
    pub max_value_bytes: usize,
}

impl Default for FormLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024,
            max_parameters: 32,
            max_value_bytes: 4 * 1024,
        }
    }
}

/// The parameters that may appear more than once in one request: `resource`
/// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)) and `audience`
/// ([RFC 8693 §2.1](https://www.rfc-editor.org/rfc/rfc8693#section-2.1)), exceptions to
/// the repeated-parameter rule of RFC 6749 §3.1 and §3.2 ([RFC 6749 §3.2], [RFC 8693 §2.1]). Every
/// other name
/// is refused when repeated.
///
/// [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2
/// [RFC 8693 §2.1]: https://www.rfc-editor.org/rfc/rfc8693#section-2.1
pub(crate) const MAY_REPEAT: [&str; 2] = ["resource", "audience"];

/// Whether `name` is one of the repeatable parameters of [`MAY_REPEAT`].
pub(crate) fn may_repeat(name: &str) -> bool {
    MAY_REPEAT.contains(&name)
}

/// A parsed form: each name at most once (except those of [`MAY_REPEAT`]), empty values
/// dropped. `Debug` lists the
/// parameter names only: values may be secrets.
pub(crate) struct Form<'a> {
    pairs: Pairs<'a>,
}

impl std::fmt::Debug for Form<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(name, _)| name))
            .finish()
    }
}

/// Why a form was refused. Rendered as `invalid_request` (`From<FormError> for
/// OAuthError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormError {
    TooLarge,
    TooManyParameters,
    ValueTooLong,
    Malformed,
    Repeated(String),
}

/// Whether `name` has the shape of an OAuth parameter name (1 to 32 ASCII letters, digits,
/// `_`, `-` or `.`), and so is safe to show: in an error description, and in `Debug` output,
/// where the length bound keeps out a bare 43-character token sent as `?<token>`.
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl<'a> Form<'a> {
    /// Parses a form body or query string: each name at most once ([RFC 6749 §3.2]) except
    /// the names of [`MAY_REPEAT`], empty values dropped.
    ///
    /// [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2
    pub(crate) fn parse(input: &'a [u8], limits: &FormLimits) -> Result<Self, FormError> {
        let mut pairs = parse_pairs(input, limits)?;
        // A name sent twice is refused even when one of the values is empty: the
        // parameter was still "included more than once" (RFC 6749 §3.1).
        if let Some(name) = first_repeated(&pairs) {
            return Err(FormError::Repeated(name.to_owned()));
        }
        // Parameters sent without a value are treated as omitted (RFC 6749 §3.1).
        pairs.retain(|(_, v)| !v.is_empty());
        Ok(Self { pairs })
    }

    /// The value of `name`, if present and non-empty. For a name of [`MAY_REPEAT`], use
    /// [`get_all`](Self::get_all): this returns only its first value.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Every non-empty value of `name`, in request order: for the parameters of
    /// [`MAY_REPEAT`].
    pub(crate) fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Whether `name` is present with a non-empty value.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All pairs, in request order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }
}

/// [`decode`] for text already known to be UTF-8: borrowed as is when there is nothing
/// to decode.
fn decode_str(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Some(Cow::Borrowed(raw));
    }
    decode(raw.as_bytes())
}

/// Every name-value pair of a form, in request order, decoded, with repeated names and
/// empty values kept, within `limits`. [`Form::parse`] builds on it; the authorization
/// endpoint uses it directly, because there a repeated `client_id` is a local error and
/// any other repeat a redirect error.
pub(crate) fn parse_pairs<'a>(
    input: &'a [u8],
    limits: &FormLimits,
) -> Result<Pairs<'a>, FormError> {
    if input.len() > limits.max_body_bytes {
        return Err(FormError::TooLarge);
    }
    // Raw UTF-8 is checked once for the whole input; only percent-decoded values are
    // checked again, after decoding.
    let input = std::str::from_utf8(input).map_err(|_| FormError::Malformed)?;
    let mut pairs: Pairs<'a> = Vec::with_capacity(8);
    for part in input.split('&') {
        if part.is_empty() {
            continue;
        }
        if pairs.len() >= limits.max_parameters {
            return Err(FormError::TooManyParameters);
        }
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        if name.len() > limits.max_value_bytes || value.len() > limits.max_value_bytes {
            return Err(FormError::ValueTooLong);
        }
        let name = decode_str(name).ok_or(FormError::Malformed)?;
        let value = decode_str(value).ok_or(FormError::Malformed)?;
        if !name.is_empty() {
            pairs.push((name, value));
        }
    }
    Ok(pairs)
}

/// Whether the query string `query` has one of `names` with a non-empty value. Nothing else
/// about the query matters and nothing in it is refused: repeated names, malformed escapes
/// and invalid UTF-8 belong to whoever put them in the endpoint's URL
/// ([RFC 6749 §3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2) allows an endpoint
/// URI with a query). A name with a malformed escape is none of `names`.
pub(crate) fn query_names_any(query: &str, names: &[&str]) -> bool {
    query.split('&').any(|part| {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        !value.is_empty() && decode_str(name).is_some_and(|name| names.contains(&&*name))
    })
}

/// Decoded name-value pairs, in request order.
pub(crate) type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// The first name that appears more than once, if any, leaving out the names that may
/// repeat ([`MAY_REPEAT`]).
pub(crate) fn first_repeated<'p>(pairs: &'p Pairs<'_>) -> Option<&'p str> {
    pairs.iter().enumerate().find_map(|(i, (name, _))| {
        (!may_repeat(name) && pairs[..i].iter().any(|(n, _)| n == name)).then_some(name.as_ref())
    })
}

/// Form-url-decodes one name or value: `+` becomes a space, `%XX` a byte, and the result
/// must be UTF-8. Returns `None` for a malformed escape or invalid UTF-8.
pub(crate) fn decode(raw: &[u8]) -> Option<Cow<'_, str>> {
    if !raw.iter().any(|b| *b == b'%' || *b == b'+') {
        return std::str::from_utf8(raw).ok().map(Cow::Borrowed);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex(*raw.get(i + 1)?)?;
                let lo = hex(*raw.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// The value of a hex digit, either case.
pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::OAuthError;
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<Form<'_>, FormError> {
        Form::parse(s.as_bytes(), &FormLimits::default())
    }

    #[test]
    fn te_03_repeated_parameter_is_refused() {
        assert_eq!(
            parse("code=a&code=b").err(),
            Some(FormError::Repeated("code".into()))
        );
        assert!(matches!(parse("code=a&code="), Err(FormError::Repeated(_))));
        // The same name spelled with an escape is the same parameter.
        assert!(matches!(
            parse("code=a&c%6Fde=b"),
            Err(FormError::Repeated(_))
        ));
    }

    #[test]
    fn sec_06_er_02_repeated_names_are_echoed_only_when_plain() {
        let description = |input: &str| {
            parse(input)
                .err()
                .map(|e| OAuthError::from(e).description().unwrap_or("").to_owned())
        };
        assert_eq!(
            description("code=a&code=b").as_deref(),
            Some("repeated parameter: code")
        );
        for hostile in [
            "%3Cscript%3E=1&%3Cscript%3E=2",
            "a%22b=1&a%22b=2",
            "caf%C3%A9=1&caf%C3%A9=2",
            "x%27%20OR%201=1&x%27%20OR%201=2",
        ] {
            assert_eq!(
                description(hostile).as_deref(),
                Some("repeated parameter"),
                "{hostile}"
            );
        }
        let long = format!("{0}=1&{0}=2", "n".repeat(65));
        assert_eq!(description(&long).as_deref(), Some("repeated parameter"));
    }

    #[test]
    fn ri_02_resource_may_repeat_and_nothing_else() {
        let form = parse("resource=https%3A%2F%2Fa.example%2F&scope=x&resource=&resource=urn%3Ab")
            .unwrap();
        assert_eq!(
            form.get_all("resource").collect::<Vec<_>>(),
            ["https://a.example/", "urn:b"]
        );
        assert_eq!(form.get("scope"), Some("x"));
        assert!(matches!(
            parse("resource=a&scope=x&scope=y"),
            Err(FormError::Repeated(name)) if name == "scope"
        ));
        // The exception is by exact name: a look-alike is still refused.
        assert!(parse("Resource=a&Resource=b").is_err());
    }

    #[test]
    fn te_03_empty_values_are_absent_and_unknown_kept_aside() {
        let form = parse("scope=&state=x&foo&&bar=1").unwrap();
        assert_eq!(form.get("scope"), None);
        assert_eq!(form.get("foo"), None);
        assert_eq!(form.get("state"), Some("x"));
        assert_eq!(form.get("bar"), Some("1"));
    }

    #[test]
    fn rfc6749_appendix_b_form_decoding() {
        let form = parse("v=+%25%26%2B%C2%A3%E2%82%AC").unwrap();
        assert_eq!(form.get("v"), Some(" %&+\u{a3}\u{20ac}"));
    }

    #[test]
    fn debug_shows_names_only() {
        let form = parse("client_secret=hunter2&code=abc").unwrap();
        assert_eq!(format!("{form:?}"), r#"["client_secret", "code"]"#);
    }

    #[test]
    fn malformed_input_is_refused() {
        assert_eq!(parse("a=%zz").err(), Some(FormError::Malformed));
        assert_eq!(parse("a=%4").err(), Some(FormError::Malformed));
        assert_eq!(parse("a=%C3%28").err(), Some(FormError::Malformed)); // invalid UTF-8
        assert_eq!(
            Form::parse(b"a=\xff", &FormLimits::default()).err(),
            Some(FormError::Malformed)
        );
    }

    #[test]
    fn limits_are_enforced() {
        let limits = FormLimits {
            max_body_bytes: 64,
            max_parameters: 3,
            max_value_bytes: 8,
        };
        for (body, error) in [
            (&[b'a'; 65][..], FormError::TooLarge),
            (b"a=1&b=2&c=3&d=4", FormError::TooManyParameters),
            (b"a=123456789", FormError::ValueTooLong),
        ] {
            assert_eq!(Form::parse(body, &limits).err(), Some(error));
        }
        assert!(Form::parse(b"a=12345678", &limits).is_ok());
    }

    fn encode(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    proptest! {
        #[test]
        fn form_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Form::parse(&bytes, &FormLimits::default());
        }

        #[test]
        fn form_parser_round_trips(pairs in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{1,40}", 0..10)) {
            let body = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            let form = Form::parse(body.as_bytes(), &FormLimits::default()).unwrap();
            let back: std::collections::BTreeMap<String, String> =
                form.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
            prop_assert_eq!(back, pairs);
        }
    }
}
