//! The fuzz targets' harness: a structured request ([`FuzzRequest`]) decoded from the
//! fuzzer's bytes, over the hostile-input world and invariants of
//! `tests/support/hostile.rs`, built by the test harness of `tests/support/harness.rs`
//! (both included by path, so the corpus test in `cargo test` and the fuzzers check
//! exactly the same rules).

use std::time::Duration;

use base64::Engine as _;
use grantflow::{HttpRequest, Method};
pub use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};

#[path = "../../tests/support/harness.rs"]
#[allow(
    dead_code,
    reason = "the targets use the server builder and a few values"
)]
mod harness;
#[path = "../../tests/support/hostile.rs"]
mod world;

pub use world::*;

/// Drives a future on the memory stores, which never wait.
pub use harness::block_on;

/// A compact JWS signed by `key` over the fuzzer's own header and claims bytes: `rest` is
/// split at the first `0xff` into a JOSE header and a claims set, each base64url-encoded as
/// it is. The targets of signed JWTs (client assertions, request objects) use it to reach
/// the checks behind the signature. Returns the JWS and the claims bytes.
pub fn signed_by<'a>(key: &grantflow::jose::SigningKey, rest: &'a [u8]) -> (String, &'a [u8]) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use grantflow::jose::Signer as _;
    let split = rest.iter().position(|b| *b == 0xff).unwrap_or(rest.len());
    let (header, claims) = (&rest[..split], rest.get(split + 1..).unwrap_or(&[]));
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = block_on(key.sign(input.as_bytes())).expect("sign");
    (
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)),
        claims,
    )
}

// ---------------------------------------------------------------------------------------
// Structured requests
// ---------------------------------------------------------------------------------------

/// A parameter name: the ones the endpoints read, or anything.
#[derive(Arbitrary, Debug, Clone)]
pub enum Name {
    /// `grant_type`
    GrantType,
    /// `client_id`
    ClientId,
    /// `client_secret`
    ClientSecret,
    /// `code`
    Code,
    /// `redirect_uri`
    RedirectUri,
    /// `code_verifier`
    CodeVerifier,
    /// `refresh_token`
    RefreshToken,
    /// `scope`
    Scope,
    /// `state`
    State,
    /// `response_type`
    ResponseType,
    /// `code_challenge`
    CodeChallenge,
    /// `code_challenge_method`
    CodeChallengeMethod,
    /// `token`
    Token,
    /// `token_type_hint`
    TokenTypeHint,
    /// `device_code`
    DeviceCode,
    /// `username`
    Username,
    /// `password`
    Password,
    /// `access_token`
    AccessToken,
    /// `client_assertion`
    ClientAssertion,
    /// `client_assertion_type`
    ClientAssertionType,
    /// Any other text, sent as is.
    Raw(String),
}

impl Name {
    fn text(&self) -> &str {
        match self {
            Self::GrantType => "grant_type",
            Self::ClientId => "client_id",
            Self::ClientSecret => "client_secret",
            Self::Code => "code",
            Self::RedirectUri => "redirect_uri",
            Self::CodeVerifier => "code_verifier",
            Self::RefreshToken => "refresh_token",
            Self::Scope => "scope",
            Self::State => "state",
            Self::ResponseType => "response_type",
            Self::CodeChallenge => "code_challenge",
            Self::CodeChallengeMethod => "code_challenge_method",
            Self::Token => "token",
            Self::TokenTypeHint => "token_type_hint",
            Self::DeviceCode => "device_code",
            Self::Username => "username",
            Self::Password => "password",
            Self::AccessToken => "access_token",
            Self::ClientAssertion => "client_assertion",
            Self::ClientAssertionType => "client_assertion_type",
            Self::Raw(raw) => raw,
        }
    }
}

/// A value the endpoints know, so the fuzzer reaches the paths behind them.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Known {
    /// `client_credentials`
    ClientCredentials,
    /// `authorization_code`
    AuthorizationCode,
    /// `refresh_token`
    RefreshTokenGrant,
    /// The device grant type.
    DeviceGrant,
    /// `password`
    PasswordGrant,
    /// A client id.
    Conf,
    /// Its secret.
    ConfSecret,
    /// A client id.
    Post,
    /// Its secret.
    PostSecret,
    /// A client id.
    Spa,
    /// A client id.
    Rs,
    /// Its secret.
    RsSecret,
    /// A live token.
    AccessToken,
    /// A live token.
    AudienceToken,
    /// A live token.
    RefreshToken,
    /// A live token.
    SpaRefreshToken,
    /// The live code.
    Code,
    /// Its verifier.
    Verifier,
    /// Its challenge.
    Challenge,
    /// `S256`
    S256,
    /// `plain`
    Plain,
    /// `code`
    CodeResponseType,
    /// `token`
    TokenResponseType,
    /// `read`
    Read,
    /// `read write`
    ReadWrite,
    /// `admin`
    Admin,
    /// A registered redirect.
    ConfRedirect,
    /// A registered redirect.
    SpaRedirect,
    /// The loopback redirect with a port.
    Loopback(u16),
    /// `http://localhost:<port>/cb`
    Localhost(u16),
    /// The live device code.
    DeviceCode,
    /// Its user code.
    UserCode,
    /// `access_token`
    HintAccess,
    /// `refresh_token`
    HintRefresh,
    /// `alice`
    Alice,
    /// `correct horse`
    AlicePassword,
    /// HTML metacharacters.
    Html,
    /// SQL metacharacters.
    Sql,
}

impl Known {
    fn text(self) -> String {
        let fixed = match self {
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshTokenGrant => "refresh_token",
            Self::DeviceGrant => "urn:ietf:params:oauth:grant-type:device_code",
            Self::PasswordGrant => "password",
            Self::Conf => CONF.0,
            Self::ConfSecret => CONF.1,
            Self::Post => POST.0,
            Self::PostSecret => POST.1,
            Self::Spa => SPA,
            Self::Rs => RS.0,
            Self::RsSecret => RS.1,
            Self::AccessToken => ACCESS_TOKEN,
            Self::AudienceToken => AUDIENCE_TOKEN,
            Self::RefreshToken => REFRESH_TOKEN,
            Self::SpaRefreshToken => SPA_REFRESH_TOKEN,
            Self::Code => CODE,
            Self::Verifier => VERIFIER,
            Self::Challenge => CHALLENGE,
            Self::S256 => "S256",
            Self::Plain => "plain",
            Self::CodeResponseType => "code",
            Self::TokenResponseType => "token",
            Self::Read => "read",
            Self::ReadWrite => "read write",
            Self::Admin => "admin",
            Self::ConfRedirect => CONF_REDIRECT,
            Self::SpaRedirect => SPA_REDIRECT,
            Self::Loopback(port) => return format!("http://127.0.0.1:{port}/cb"),
            Self::Localhost(port) => return format!("http://localhost:{port}/cb"),
            Self::DeviceCode => DEVICE_CODE,
            Self::UserCode => "WDJB-MJHT",
            Self::HintAccess => "access_token",
            Self::HintRefresh => "refresh_token",
            Self::Alice => "alice",
            Self::AlicePassword => "correct horse",
            Self::Html => "<script>alert(\"x\")</script>&<img src=x onerror=1>",
            Self::Sql => "' OR '1'='1'; DROP TABLE tokens; --\\",
        };
        fixed.to_owned()
    }
}

/// A parameter value.
#[derive(Arbitrary, Debug, Clone)]
pub enum Value {
    /// A known value.
    Known(Known),
    /// Any text.
    Raw(String),
    /// Any bytes (sent percent-encoded, so invalid UTF-8 reaches the decoder).
    Bytes(Vec<u8>),
    /// A long run of one character.
    Long(u16, char),
}

impl Value {
    fn decoded(&self) -> Vec<u8> {
        match self {
            Self::Known(known) => known.text().into_bytes(),
            Self::Raw(raw) => raw.clone().into_bytes(),
            Self::Bytes(bytes) => bytes.clone(),
            Self::Long(n, c) => std::iter::repeat_n(*c, usize::from(*n) % 6000)
                .collect::<String>()
                .into_bytes(),
        }
    }
}

/// How a name or value is written into the form.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Encoding {
    /// Form-encoded, as a client would.
    Encoded,
    /// As is (bytes that are not UTF-8 are encoded anyway).
    Plain,
    /// Encoded twice.
    Double,
}

fn encode(bytes: &[u8], encoding: Encoding) -> String {
    let once: String = url::form_urlencoded::byte_serialize(bytes).collect();
    match encoding {
        Encoding::Encoded => once,
        Encoding::Plain => String::from_utf8(bytes.to_vec()).unwrap_or(once),
        Encoding::Double => url::form_urlencoded::byte_serialize(once.as_bytes()).collect(),
    }
}

/// One `name=value` pair and what follows it.
#[derive(Arbitrary, Debug, Clone)]
pub struct Param {
    name: Name,
    value: Value,
    encoding: Encoding,
    /// No `=` at all.
    bare: bool,
    /// `&&` instead of `&`.
    double_separator: bool,
}

fn form(params: &[Param]) -> Vec<u8> {
    let mut out = String::new();
    for param in params {
        if !out.is_empty() {
            out.push('&');
            if param.double_separator {
                out.push('&');
            }
        }
        out.push_str(&encode(param.name.text().as_bytes(), param.encoding));
        if !param.bare {
            out.push('=');
            out.push_str(&encode(&param.value.decoded(), param.encoding));
        }
    }
    out.into_bytes()
}

/// A request body.
#[derive(Arbitrary, Debug, Clone)]
pub enum Body {
    /// A form.
    Form(Vec<Param>),
    /// Raw bytes.
    Raw(Vec<u8>),
    /// A form followed by raw bytes.
    FormThenRaw(Vec<Param>, Vec<u8>),
}

/// The `Content-Type` header.
#[derive(Arbitrary, Debug, Clone)]
pub enum ContentType {
    /// `application/x-www-form-urlencoded`
    Form,
    /// With `charset=UTF-8`.
    FormUtf8,
    /// With a charset the endpoints refuse.
    FormLatin1,
    /// `application/json`
    Json,
    /// Any text.
    Raw(String),
}

/// An `Authorization` header.
#[derive(Arbitrary, Debug, Clone)]
pub enum Auth {
    /// `Basic` with an id and a secret, form-encoded as RFC 6749 §2.3.1 says.
    Basic(Value, Value),
    /// `Basic` with base64 of raw bytes.
    BasicRaw(Vec<u8>),
    /// `Bearer` with a value.
    Bearer(Value),
    /// Any text.
    Raw(String),
}

impl Auth {
    fn header(&self) -> String {
        match self {
            Self::Basic(id, secret) => {
                let pair = format!(
                    "{}:{}",
                    encode(&id.decoded(), Encoding::Encoded),
                    encode(&secret.decoded(), Encoding::Encoded)
                );
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            Self::BasicRaw(raw) => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ),
            Self::Bearer(value) => {
                format!("Bearer {}", String::from_utf8_lossy(&value.decoded()))
            }
            Self::Raw(raw) => raw.clone(),
        }
    }
}

/// The request method.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum FuzzMethod {
    /// `POST`
    Post,
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
    /// Anything else.
    Other,
}

/// A whole request, decoded from the fuzzer's bytes.
#[derive(Arbitrary, Debug, Clone)]
pub struct FuzzRequest {
    method: FuzzMethod,
    content_type: Option<ContentType>,
    authorization: Vec<Auth>,
    query: Option<Vec<Param>>,
    raw_query: Option<String>,
    body: Body,
    /// Seconds the clock moves before the request (so expiry paths are reached).
    advance: u16,
}

impl FuzzRequest {
    /// The request as an adapter would build it.
    pub fn to_http(&self) -> HttpRequest {
        let method = match self.method {
            FuzzMethod::Post => Method::Post,
            FuzzMethod::Get => Method::Get,
            FuzzMethod::Head => Method::Head,
            FuzzMethod::Options => Method::Options,
            FuzzMethod::Other => Method::Other,
        };
        let mut request = HttpRequest::new(method);
        if let Some(content_type) = &self.content_type {
            let value = match content_type {
                ContentType::Form => "application/x-www-form-urlencoded".to_owned(),
                ContentType::FormUtf8 => {
                    "application/x-www-form-urlencoded; charset=UTF-8".to_owned()
                }
                ContentType::FormLatin1 => {
                    "application/x-www-form-urlencoded; charset=ISO-8859-1".to_owned()
                }
                ContentType::Json => "application/json".to_owned(),
                ContentType::Raw(raw) => raw.clone(),
            };
            request = request.with_header("Content-Type", value);
        }
        for auth in self.authorization.iter().take(3) {
            request = request.with_header("Authorization", auth.header());
        }
        match (&self.query, &self.raw_query) {
            (Some(params), _) => {
                request = request.with_query(String::from_utf8_lossy(&form(params)).into_owned());
            }
            (None, Some(raw)) => request = request.with_query(raw.clone()),
            (None, None) => {}
        }
        let body = match &self.body {
            Body::Form(params) => form(params),
            Body::Raw(raw) => raw.clone(),
            Body::FormThenRaw(params, raw) => {
                let mut body = form(params);
                body.extend_from_slice(raw);
                body
            }
        };
        request.with_body(body)
    }

    /// Moves the world's clock as the request asks.
    pub fn advance_clock(&self, world: &World) {
        world
            .clock
            .advance(Duration::from_secs(u64::from(self.advance) % 4000));
    }
}
