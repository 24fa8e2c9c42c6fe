//! The resource side's fixtures (revocation, introspection, the bearer guard, metadata,
//! the error format): confidential clients and resource servers, a test-only extension
//! grant that issues user tokens with refresh tokens, and request builders. Everything
//! goes through `HttpRequest` in and `HttpResponse` out.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use grantflow::grant::{GrantHandler, Rejection, TokenGrant};
use grantflow::resource::{ResourceUri, Resources};
use grantflow::{
    AuthMethod, Client, ClientSecret, ClientType, ConfigError, GrantRequest, GrantType,
    HttpRequest, HttpResponse, MemoryClientRegistry, Method, Server, ServerBuilder, Subject,
};
use grantflow::{ErrorCode, OAuthError};
use serde_json::Value;

pub use super::harness::is_er02 as is_error_text;
pub use super::harness::*;

/// Verifies `token` with the judge (`jsonwebtoken`) and the key its `kid` names in the
/// server's JWK Set, for `audience`; returns the claims. The judge checks `exp` against the
/// system clock and the test servers run in 2023: the times are left to the caller.
pub fn judge(server: &Server, token: &str, audience: &str) -> Value {
    let jwks = block_on(server.jwks(&HttpRequest::new(Method::Get))).expect("a JWK Set");
    let keys: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&jwks.body).expect("JSON");
    let header = jsonwebtoken::decode_header(token).expect("a JWS header");
    let jwk = keys
        .find(header.kid.as_deref().expect("a kid"))
        .expect("the kid names a published key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[ISSUER]);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud", "sub", "exp"]);
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("a usable JWK");
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the judge accepts the token")
        .claims
}

/// The harness of the resource side suites: [`registry`], [`TTL`] and [`UserGrant`].
pub type Harness = super::harness::Harness<Resource>;

/// The resource side suites' area of [`Harness`].
#[derive(Debug)]
pub enum Resource {}

/// The access token lifetime the harness configures.
pub const TTL: Duration = Duration::from_secs(900);

/// Confidential `client_secret_basic` client: client credentials and the user grant.
pub const BACKEND: (&str, &str) = ("backend", "backend-secret-Zq3vX0");
/// A second confidential client, like [`BACKEND`].
pub const OTHER: (&str, &str) = ("other-backend", "other-secret-77aQ");
/// Confidential `client_secret_post` client, like [`BACKEND`].
pub const POSTER: (&str, &str) = ("poster", "poster-secret-9sLk2");
/// A resource server allowed to introspect.
pub const RS: (&str, &str) = ("resource-server", "rs-secret-Hh71");
/// A resource server allowed to introspect, with audience [`API`].
pub const RS_API: (&str, &str) = ("api-rs", "api-rs-secret-3");
/// A public client (`none`) using the user grant.
pub const SPA: &str = "spa";
/// The audience of the API resource server.
pub const API: &str = "https://api.example.com";
/// The test-only grant type that issues user tokens with a refresh token.
pub const USER_GRANT: &str = "urn:test:user";

/// A test-only extension grant: issues `scope` for subject `sub` (required), optionally
/// restricted to audience `aud`, with a refresh token: a quick way to user tokens without
/// going through the authorization endpoint.
#[derive(Debug)]
pub struct UserGrant;

#[async_trait]
impl GrantHandler for UserGrant {
    fn grant_type(&self) -> &str {
        USER_GRANT
    }

    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
        let scope = request.requested_scope()?;
        let sub = request.param("sub").unwrap_or("alice");
        let mut grant = TokenGrant::new(scope)
            .with_subject(Subject::new(sub))
            .with_refresh_token();
        if let Some(aud) = request.param("aud") {
            let aud = ResourceUri::parse(aud).map_err(|_| {
                OAuthError::new(ErrorCode::INVALID_REQUEST).with_description("bad aud")
            })?;
            grant = grant.with_audience(Resources::one(aud));
        }
        Ok(grant)
    }
}

/// A handler that claims `grant_type`, to switch features on in the metadata for grants
/// the crate does not build in.
#[derive(Debug)]
pub struct Claims(pub &'static str);

#[async_trait]
impl GrantHandler for Claims {
    fn grant_type(&self) -> &str {
        self.0
    }

    async fn handle(&self, _request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
        Err(Rejection::Refused(grantflow::OAuthError::new(
            grantflow::ErrorCode::INVALID_GRANT,
        )))
    }
}

/// Adds a handler claiming `grant_type` unless the server already registers one (once the
/// built-in grant exists, registering it again is a configuration error).
pub fn build_with(
    make: impl Fn() -> ServerBuilder,
    grant_types: &[&'static str],
) -> Result<Server, ConfigError> {
    // Device settings need the device grant: build the plain server with it.
    let plain = make()
        .device_store(Arc::new(grantflow::MemoryDeviceStore::new()))
        .build()?;
    let mut builder = make();
    for grant_type in grant_types {
        if *grant_type == GrantType::DEVICE_CODE.as_str() {
            // The device grant is built in, switched on by giving it a store.
            builder = builder.device_store(Arc::new(grantflow::MemoryDeviceStore::new()));
        } else if !plain.grant_types().any(|g| g == *grant_type) {
            builder = builder.grant_handler(Arc::new(Claims(grant_type)));
        }
    }
    builder.build()
}

/// Registers a client of the extension grant `grant_type` with `scope`: confidential with
/// `secret`, or public (with a redirect URI) without one.
pub fn add_grant_client(
    clients: &MemoryClientRegistry,
    id: &str,
    secret: Option<&str>,
    grant_type: &'static str,
    scope: &str,
) {
    let builder = match secret {
        Some(secret) => Client::builder(id, ClientType::Confidential)
            .secret(&ClientSecret::from_presented(secret.to_owned())),
        None => {
            Client::builder(id, ClientType::Public).redirect_uri("https://public.example.com/cb")
        }
    };
    let client = builder
        .grant_type(GrantType::new(grant_type))
        .allowed_scope(scope)
        .build()
        .expect("a valid fixture client");
    clients.insert(client).expect("a new client id");
}

/// The fixture clients.
pub fn registry() -> Arc<MemoryClientRegistry> {
    let confidential = |(id, secret): (&str, &str), method| {
        Client::builder(id, ClientType::Confidential)
            .secret(&ClientSecret::from_presented(secret.to_owned()))
            .auth_method(method)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .grant_type(GrantType::new(USER_GRANT))
            .grant_type(GrantType::REFRESH_TOKEN)
            .allowed_scope("read write")
            .default_scope("read")
    };
    Arc::new(register([
        confidential(BACKEND, AuthMethod::ClientSecretBasic),
        confidential(OTHER, AuthMethod::ClientSecretBasic),
        confidential(POSTER, AuthMethod::ClientSecretPost),
        confidential(RS, AuthMethod::ClientSecretBasic).introspection(true),
        confidential(RS_API, AuthMethod::ClientSecretBasic)
            .introspection(true)
            .resource_audience(API),
        Client::builder(SPA, ClientType::Public)
            .grant_type(GrantType::new(USER_GRANT))
            .grant_type(GrantType::REFRESH_TOKEN)
            .allowed_scope("read write")
            .default_scope("read"),
    ]))
}

impl Harness {
    /// The default harness.
    pub fn new() -> Self {
        Self::with(|b| b)
    }

    /// A harness whose builder is adjusted by `configure`.
    pub fn with(configure: impl Fn(ServerBuilder) -> ServerBuilder) -> Self {
        Self::builder(registry()).build(|builder| {
            configure(
                builder
                    .access_token_ttl(TTL)
                    .grant_handler(Arc::new(UserGrant)),
            )
        })
    }

    /// Moves the clock.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// `POST /revoke`.
    pub fn revoke(&self, request: &HttpRequest) -> HttpResponse {
        block_on(self.server.revoke(request)).expect("no storage fault")
    }

    /// `POST /introspect`.
    pub fn introspect(&self, request: &HttpRequest) -> HttpResponse {
        block_on(self.server.introspect(request)).expect("no storage fault")
    }

    /// A client credentials access token for a Basic client.
    pub fn cc_token(&self, client: (&str, &str), scope: &str) -> String {
        let response = self.token(
            &basic(client).with_body(format!("grant_type=client_credentials&scope={scope}")),
        );
        assert_eq!(response.status.as_u16(), 200, "{:?}", json(&response));
        json(&response)["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// A user access token and refresh token for a Basic client.
    pub fn user_tokens(&self, client: (&str, &str), extra: &str) -> (String, String) {
        self.user_tokens_with(basic(client), extra)
    }

    /// A user access token and refresh token for the public client.
    pub fn spa_tokens(&self) -> (String, String) {
        self.user_tokens_with(form(), &format!("client_id={SPA}"))
    }

    /// A user access token and refresh token for the public client, with `extra` form
    /// fields (`scope=...`).
    pub fn spa_tokens_with(&self, extra: &str) -> (String, String) {
        self.user_tokens_with(form(), &format!("client_id={SPA}&{extra}"))
    }

    fn user_tokens_with(&self, request: HttpRequest, extra: &str) -> (String, String) {
        let body = format!("grant_type={}&{extra}", enc(USER_GRANT));
        let response = self.token(&request.with_body(body));
        assert_eq!(response.status.as_u16(), 200, "{:?}", json(&response));
        let body = json(&response);
        (
            body["access_token"].as_str().expect("access").to_owned(),
            body["refresh_token"].as_str().expect("refresh").to_owned(),
        )
    }

    /// Whether the metadata lists `grant_type` in `grant_types_supported`.
    pub fn advertises_grant_type(&self, grant_type: &str) -> bool {
        let doc: Value = serde_json::from_slice(&self.server.metadata().body).expect("JSON");
        doc["grant_types_supported"]
            .as_array()
            .expect("an array")
            .iter()
            .any(|g| g == grant_type)
    }

    /// Introspects `token` as the resource server [`RS`].
    pub fn introspect_as_rs(&self, token: &str) -> Value {
        let response = self.introspect(&basic(RS).with_body(format!("token={}", enc(token))));
        assert_eq!(response.status.as_u16(), 200);
        json(&response)
    }

    /// Whether [`RS`] sees `token` as active.
    pub fn is_active(&self, token: &str) -> bool {
        self.introspect_as_rs(token)["active"] == Value::Bool(true)
    }
}

/// A form POST without credentials.
pub fn form() -> HttpRequest {
    HttpRequest::new(Method::Post).with_header("content-type", FORM)
}

/// A form POST with `client_secret_basic` credentials.
pub fn basic((id, secret): (&str, &str)) -> HttpRequest {
    form().with_header("authorization", basic_header(id, secret))
}

/// All values of header `name`.
pub fn headers<'a>(response: &'a HttpResponse, name: &str) -> Vec<&'a str> {
    response
        .headers
        .iter()
        .filter(|h| h.name == name)
        .map(|h| h.value.as_ref())
        .collect()
}

/// Asserts the token-style JSON headers (ER-03).
pub fn assert_json_no_store(response: &HttpResponse) {
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
}
