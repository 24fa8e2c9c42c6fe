//! Authorization server metadata ([RFC 8414](https://www.rfc-editor.org/rfc/rfc8414)):
//! the discovery document, built from the configuration so that every enabled feature is
//! advertised and nothing disabled is, and the well-known URL rule.

use std::sync::Arc;

use crate::config::Config;
use crate::endpoint::cors;
use crate::error::ConfigError;
use crate::grant::GrantHandler;
use crate::http::{HttpRequest, HttpResponse, Method, Status, serve_get};
use crate::observe::call::{Endpoint, Outcome};
use crate::render::JsonObject;
use crate::server::Server;
use crate::types::GrantType;

/// The well-known suffix of [RFC 8414 §3](https://www.rfc-editor.org/rfc/rfc8414#section-3).
const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";

/// The metadata URL of `issuer`
/// ([RFC 8414 §3.1](https://www.rfc-editor.org/rfc/rfc8414#section-3.1), [RFC 8414 §3]): the
/// well-known suffix goes between the host and the issuer's path, after any trailing `/`
/// of the path is dropped.
///
/// ```
/// use grantflow::metadata::well_known_url;
///
/// // V-META-2
/// assert_eq!(
///     well_known_url("https://example.com")?,
///     "https://example.com/.well-known/oauth-authorization-server"
/// );
/// assert_eq!(
///     well_known_url("https://example.com/issuer1")?,
///     "https://example.com/.well-known/oauth-authorization-server/issuer1"
/// );
/// assert_eq!(
///     well_known_url("https://example.com/issuer1/")?,
///     "https://example.com/.well-known/oauth-authorization-server/issuer1"
/// );
/// # Ok::<(), grantflow::ConfigError>(())
/// ```
///
/// # Errors
/// [`ConfigError::Issuer`] when `issuer` is not an absolute `http(s)` URL with a host and
/// without query or fragment.
///
/// [RFC 8414 §3]: https://www.rfc-editor.org/rfc/rfc8414#section-3
pub fn well_known_url(issuer: &str) -> Result<String, ConfigError> {
    let (origin, path) = split_issuer(issuer)?;
    let mut url = String::with_capacity(issuer.len() + WELL_KNOWN.len());
    url.push_str(origin);
    url.push_str(WELL_KNOWN);
    url.push_str(path.trim_end_matches('/'));
    Ok(url)
}

/// The OpenID Provider configuration URL of `issuer`
/// ([OpenID Connect Discovery §4](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig)):
/// unlike [`well_known_url`], the suffix `/.well-known/openid-configuration` is
/// *appended* to the issuer, after any trailing `/` of its path is dropped ([OpenID Connect
/// Discovery 1.0 §3]).
///
/// ```
/// use grantflow::metadata::openid_configuration_url;
///
/// // V-META-3
/// assert_eq!(
///     openid_configuration_url("https://example.com")?,
///     "https://example.com/.well-known/openid-configuration"
/// );
/// assert_eq!(
///     openid_configuration_url("https://example.com/issuer1")?,
///     "https://example.com/issuer1/.well-known/openid-configuration"
/// );
/// assert_eq!(
///     openid_configuration_url("https://example.com/issuer1/")?,
///     "https://example.com/issuer1/.well-known/openid-configuration"
/// );
/// # Ok::<(), grantflow::ConfigError>(())
/// ```
///
/// # Errors
/// [`ConfigError::Issuer`] when `issuer` is not an absolute `http(s)` URL with a host and
/// without query or fragment.
///
/// [OpenID Connect Discovery 1.0 §3]: https://openid.net/specs/openid-connect-discovery-1_0.html
pub fn openid_configuration_url(issuer: &str) -> Result<String, ConfigError> {
    let (origin, path) = split_issuer(issuer)?;
    Ok(format!(
        "{origin}{}{OPENID_WELL_KNOWN}",
        path.trim_end_matches('/')
    ))
}

/// The well-known suffix of OpenID Connect Discovery §4.
const OPENID_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// The well-known suffix of [RFC 9728 §3](https://www.rfc-editor.org/rfc/rfc9728#section-3).
const RESOURCE_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The protected resource metadata URL of the resource identified by `resource`
/// ([RFC 9728 §3.1](https://www.rfc-editor.org/rfc/rfc9728#section-3.1)): the
/// well-known suffix goes between the host (and port) and the path and query, after a
/// terminating `/` right after the host is removed. Nothing else is normalised, so the
/// document's `resource` can be compared code point for code point with the identifier
/// the URL was made from.
///
/// ```
/// use grantflow::metadata::resource_metadata_url;
///
/// // V-PRM
/// assert_eq!(
///     resource_metadata_url("https://resource.example.com")?,
///     "https://resource.example.com/.well-known/oauth-protected-resource"
/// );
/// assert_eq!(
///     resource_metadata_url("https://resource.example.com/resource1")?,
///     "https://resource.example.com/.well-known/oauth-protected-resource/resource1"
/// );
/// assert_eq!(
///     resource_metadata_url("https://resource.example.com/api?tenant=a")?,
///     "https://resource.example.com/.well-known/oauth-protected-resource/api?tenant=a"
/// );
/// # Ok::<(), grantflow::ConfigError>(())
/// ```
///
/// # Errors
/// [`ConfigError::Setting`] when `resource` is not an absolute `http(s)` URL with a host
/// and without fragment.
pub fn resource_metadata_url(resource: &str) -> Result<String, ConfigError> {
    const BAD: ConfigError = ConfigError::Setting(
        "a resource identifier is an absolute https URL with a host and without fragment",
    );
    if resource.contains('#') {
        return Err(BAD);
    }
    let scheme_end = resource.find("://").ok_or(BAD)?;
    let scheme = &resource[..scheme_end];
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err(BAD);
    }
    let rest = &resource[scheme_end + 3..];
    let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
    if authority_len == 0 {
        return Err(BAD);
    }
    let split = scheme_end + 3 + authority_len;
    let (origin, mut tail) = resource.split_at(split);
    // A terminating `/` after the host, with nothing after it but a query, is removed.
    if tail == "/" || tail.starts_with("/?") {
        tail = &tail[1..];
    }
    let mut url = String::with_capacity(resource.len() + RESOURCE_WELL_KNOWN.len());
    url.push_str(origin);
    url.push_str(RESOURCE_WELL_KNOWN);
    url.push_str(tail);
    Ok(url)
}

/// Splits `scheme://authority` from the path, on the text itself: the issuer must be
/// compared code point for code point ([RFC 8414 §2]), so no URL normalisation is applied.
///
/// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
fn split_issuer(issuer: &str) -> Result<(&str, &str), ConfigError> {
    const BAD: ConfigError = ConfigError::Issuer("not an absolute URL with a host");
    if issuer.contains(['?', '#']) {
        return Err(ConfigError::Issuer("must have no query or fragment"));
    }
    let scheme_end = issuer.find("://").ok_or(BAD)?;
    let scheme = &issuer[..scheme_end];
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err(BAD);
    }
    let rest = &issuer[scheme_end + 3..];
    let authority_len = rest.find('/').unwrap_or(rest.len());
    if authority_len == 0 {
        return Err(BAD);
    }
    let split = scheme_end + 3 + authority_len;
    Ok((&issuer[..split], &issuer[split..]))
}

/// The resolved metadata: the document, rendered once at build time, and where it is
/// served.
#[derive(Debug)]
pub(crate) struct Metadata {
    body: Arc<[u8]>,
    path: String,
    url: String,
}

/// Every client authentication method the token-style endpoints accept.
const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// The JWT client authentication methods the server accepts (feature `jwt`), each only when
/// enabled, and the algorithms their assertions may use: `private_key_jwt` with every
/// asymmetric algorithm of the JOSE layer, `client_secret_jwt` with HS256, HS384 and HS512
/// ([RFC 8414 §2]). Never
/// `none`.
///
/// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
fn assertion_methods(config: &Config) -> (Vec<&'static str>, Vec<&'static str>) {
    #[cfg(feature = "jwt")]
    {
        let mut methods = Vec::new();
        let mut algorithms = Vec::new();
        if config.clients.private_key_jwt {
            methods.push("private_key_jwt");
            algorithms.extend(
                config
                    .clients
                    .client_jwt_algorithms
                    .iter()
                    .map(crate::jose::Algorithm::name),
            );
        }
        if config.clients.client_secret_jwt {
            methods.push("client_secret_jwt");
            algorithms.extend(crate::jose::jws::HmacAlg::ALL.iter().map(|alg| alg.name()));
        }
        (methods, algorithms)
    }
    #[cfg(not(feature = "jwt"))]
    {
        let _ = config;
        (Vec::new(), Vec::new())
    }
}

impl Metadata {
    /// Renders the document for a checked configuration and the server's grant handlers.
    pub(crate) fn render(
        config: &Config,
        grant_handlers: &[Arc<dyn GrantHandler>],
    ) -> Result<Self, ConfigError> {
        let url = well_known_url(&config.issuer)?;
        let (origin, _) = split_issuer(&url)?;
        let path = url[origin.len()..].to_owned();
        let mut document = JsonObject::with_capacity(1024);
        write_members(&mut document, config, grant_handlers)?;
        Ok(Self {
            body: document.finish().into(),
            path,
            url,
        })
    }

    /// 200, `Content-Type: application/json`, the document.
    pub(crate) fn to_response(&self) -> HttpResponse {
        HttpResponse::new(Status::OK)
            .with_header("content-type", "application/json")
            .with_body(self.body.to_vec())
    }

    /// The path it is served at.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Where it is served.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// A document rendered elsewhere (the OpenID Provider's), served at `url`.
    #[cfg(feature = "oidc")]
    pub(crate) fn from_parts(body: Vec<u8>, url: String) -> Result<Self, ConfigError> {
        let (origin, _) = split_issuer(&url)?;
        let path = url[origin.len()..].to_owned();
        Ok(Self {
            body: body.into(),
            path,
            url,
        })
    }
}

/// The scope values to publish: the configured ones, and `openid` when the server is an
/// OpenID Provider (empty when neither).
pub(crate) fn published_scopes(config: &Config) -> Result<Vec<String>, ConfigError> {
    let scopes: Vec<String> = config
        .metadata
        .scopes()?
        .iter()
        .map(str::to_owned)
        .collect();
    #[cfg(feature = "oidc")]
    if config.openid.is_enabled() && !scopes.iter().any(|s| s == "openid") {
        return Ok(std::iter::once("openid".to_owned()).chain(scopes).collect());
    }
    Ok(scopes)
}

/// Writes the members of the RFC 8414 document into `document` (which the OpenID
/// Provider's discovery document extends, so that the members both have are equal,
/// [RFC 9700 §2.6]): members left out rather than `null` or `[]` ([RFC 8414 §2]); the authorization
/// endpoint's members only with the code flow.
///
/// [RFC 9700 §2.6]: https://www.rfc-editor.org/rfc/rfc9700#section-2.6
/// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
pub(crate) fn write_members(
    document: &mut JsonObject,
    config: &Config,
    grant_handlers: &[Arc<dyn GrantHandler>],
) -> Result<(), ConfigError> {
    let issuer = config.issuer.as_str();
    let urls = &config.metadata;
    let scopes = published_scopes(config)?;
    let device_endpoint = config
        .device
        .store
        .as_ref()
        .map(|_| config.device.endpoint.as_str());
    // RFC 8414 §2: the server's JWK Set, when it has signing keys.
    #[cfg(feature = "jwt")]
    let jwks_uri = config
        .jwt
        .keys
        .as_ref()
        .map(|_| config.jwt.jwks_uri.as_str());
    #[cfg(not(feature = "jwt"))]
    let jwks_uri: Option<&str> = None;
    let grant_types: Vec<&str> = grant_handlers.iter().map(|h| h.grant_type()).collect();
    let code_flow = grant_types.contains(&GrantType::AUTHORIZATION_CODE.as_str());
    document
        .string("issuer", issuer)
        .optional_string(
            "authorization_endpoint",
            code_flow.then_some(urls.authorization_endpoint.as_str()),
        )
        .string("token_endpoint", &urls.token_endpoint)
        .optional_string("jwks_uri", jwks_uri)
        .optional_string("device_authorization_endpoint", device_endpoint);
    // RFC 8414 §2, RFC 7591 §3: only when registration is on.
    let registration = &config.registration;
    if registration.enabled.is_some() {
        document.string("registration_endpoint", &registration.endpoint);
    }
    // RFC 9126 §5: the endpoint and the flag, when pushed requests are on.
    let pushed = &config.pushed;
    if pushed.is_enabled() && code_flow {
        document
            .string("pushed_authorization_request_endpoint", &pushed.endpoint)
            .boolean("require_pushed_authorization_requests", pushed.required);
    }
    if code_flow {
        document
            .string_array("response_types_supported", ["code"])
            .string_array("response_modes_supported", ["query"]);
        // RFC 9101 §9.2, OpenID Connect Discovery §3: request objects by value (feature
        // `jwt`), never by reference but through pushed requests.
        document
            .boolean("request_parameter_supported", cfg!(feature = "jwt"))
            .boolean("request_uri_parameter_supported", false);
        #[cfg(feature = "jwt")]
        document
            .string_array(
                "request_object_signing_alg_values_supported",
                config
                    .clients
                    .client_jwt_algorithms
                    .iter()
                    .map(crate::jose::Algorithm::name),
            )
            .optional_boolean(
                "require_signed_request_object",
                config.clients.require_signed_request_object.then_some(true),
            );
    }
    document.string_array("grant_types_supported", grant_types);
    if code_flow {
        document.string_array(
            "code_challenge_methods_supported",
            config.dangerous.code_challenge_methods().iter().copied(),
        );
    }
    let (jwt_methods, jwt_algorithms) = assertion_methods(config);
    let with_jwt = |methods: &[&'static str]| -> Vec<&'static str> {
        methods.iter().chain(&jwt_methods).copied().collect()
    };
    let jwt_algorithms = (!jwt_algorithms.is_empty()).then_some(jwt_algorithms);
    document.string_array(
        "token_endpoint_auth_methods_supported",
        with_jwt(&AUTH_METHODS),
    );
    document.optional_string_array(
        "token_endpoint_auth_signing_alg_values_supported",
        jwt_algorithms.as_deref(),
    );
    if !scopes.is_empty() {
        document.string_array("scopes_supported", scopes.iter().map(String::as_str));
    }
    document
        .string("revocation_endpoint", &urls.revocation_endpoint)
        .string_array(
            "revocation_endpoint_auth_methods_supported",
            with_jwt(&AUTH_METHODS),
        )
        .optional_string_array(
            "revocation_endpoint_auth_signing_alg_values_supported",
            jwt_algorithms.as_deref(),
        )
        .string("introspection_endpoint", &urls.introspection_endpoint)
        .string_array(
            "introspection_endpoint_auth_methods_supported",
            with_jwt(&["client_secret_basic", "client_secret_post"]),
        )
        .optional_string_array(
            "introspection_endpoint_auth_signing_alg_values_supported",
            jwt_algorithms.as_deref(),
        )
        .optional_boolean(
            "authorization_response_iss_parameter_supported",
            code_flow.then_some(true),
        )
        .optional_boolean(
            "client_id_metadata_document_supported",
            config.clients.documents.then_some(true),
        )
        .optional_string(
            "service_documentation",
            urls.service_documentation.as_deref(),
        );
    // RFC 9728 §4: the protected resources tokens are issued for (URLs: a URN audience
    // publishes no resource metadata).
    let protected: Vec<&str> = config
        .resources
        .known
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !id.starts_with("urn:"))
        .collect();
    if !protected.is_empty() {
        document.string_array("protected_resources", protected);
    }
    // RFC 9449 §5.1: exactly the algorithms the proof checker accepts, when DPoP is on.
    #[cfg(feature = "dpop")]
    if let Some(checker) = &config.dpop.checker {
        document.string_array(
            "dpop_signing_alg_values_supported",
            checker.supported_algorithms().iter().map(|alg| alg.name()),
        );
    }
    Ok(())
}

impl Server {
    /// The authorization server metadata document
    /// ([RFC 8414 §3.2](https://www.rfc-editor.org/rfc/rfc8414#section-3.2)): 200,
    /// `Content-Type: application/json`. Serve it at [`metadata_path`](Self::metadata_path)
    /// (or let [`serve_metadata`](Self::serve_metadata) route).
    ///
    /// It is rendered once, at build time, from the configuration ([RFC 8414 §2]):
    ///
    /// - `issuer` exactly as configured, code point for code point ([RFC 8414 §2]);
    /// - `token_endpoint`, `revocation_endpoint` with `revocation_endpoint_auth_methods_supported`
    ///   (including `none`: public clients may revoke, [RFC 7009 §2.2.1]),
    ///   `introspection_endpoint` with
    ///   `introspection_endpoint_auth_methods_supported` (no `none`: only authenticated
    ///   resource servers may introspect);
    /// - `grant_types_supported`: the registered grant handlers, always explicit since the
    ///   RFC 8414 default (`authorization_code`, `implicit`) would be wrong ([RFC 8414 §2]);
    /// - `token_endpoint_auth_methods_supported`: `client_secret_basic`,
    ///   `client_secret_post`, `none`, and with the feature `jwt` `private_key_jwt` and
    ///   `client_secret_jwt` when enabled ([`ServerBuilder::private_key_jwt`](crate::ServerBuilder::private_key_jwt),
    ///   [`ServerBuilder::client_secret_jwt`](crate::ServerBuilder::client_secret_jwt)), with
    ///   `token_endpoint_auth_signing_alg_values_supported` listing the assertion algorithms
    ///   (never `none`); the revocation and introspection members likewise;
    /// - only when the `authorization_code` grant is registered: `authorization_endpoint`,
    ///   `response_types_supported: ["code"]` (never `token`: no implicit, [RFC 8414 §2]),
    ///   `response_modes_supported: ["query"]`, `code_challenge_methods_supported:
    ///   ["S256"]` ([RFC 9700 §2.1.1]) and `authorization_response_iss_parameter_supported: true`
    ///   (RFC 9207). A server without the code grant has no authorization endpoint and so
    ///   no response type to list; RFC 8414 calls `response_types_supported` required, but
    ///   an empty array is forbidden ([RFC 8414 §2]), so it is left out;
    /// - `jwks_uri` only when the server has signing keys (feature `jwt`);
    /// - `device_authorization_endpoint` only when the device grant is registered;
    /// - `registration_endpoint` only when dynamic client registration is enabled
    ///   ([`ServerBuilder::client_registration`](crate::ServerBuilder::client_registration));
    /// - `scopes_supported` and `service_documentation` when configured;
    /// - `protected_resources`
    ///   ([RFC 9728 §4](https://www.rfc-editor.org/rfc/rfc9728#section-4)): the resources
    ///   registered with [`ServerBuilder::resource`](crate::ServerBuilder::resource), if any.
    /// - `client_id_metadata_document_supported: true` only when client ID metadata
    ///   documents are accepted
    ///   ([`ServerBuilder::client_id_metadata_documents`](crate::ServerBuilder::client_id_metadata_documents)).
    /// - `dpop_signing_alg_values_supported`
    ///   ([RFC 9449 §5.1](https://www.rfc-editor.org/rfc/rfc9449#section-5.1)) only when
    ///   DPoP is enabled (feature `dpop`): the algorithms its proof checker accepts.
    ///
    /// No member is `null` or an empty array ([RFC 8414 §2]).
    ///
    /// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
    /// [RFC 7009 §2.2.1]: https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
    /// [RFC 9700 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1
    pub fn metadata(&self) -> HttpResponse {
        let call = self.call(Endpoint::Metadata);
        let response = self.state().metadata.to_response();
        call.finish(Outcome::Success);
        response
    }

    /// The path to route to [`metadata`](Self::metadata):
    /// `/.well-known/oauth-authorization-server` followed by the issuer's path without
    /// its trailing `/` ([RFC 8414 §3.1](https://www.rfc-editor.org/rfc/rfc8414#section-3.1),
    /// [RFC 8414 §3]).
    ///
    /// [RFC 8414 §3]: https://www.rfc-editor.org/rfc/rfc8414#section-3
    pub fn metadata_path(&self) -> &str {
        self.state().metadata.path()
    }

    /// The full metadata URL, as [`well_known_url`] computes it from the issuer.
    pub fn metadata_url(&self) -> &str {
        self.state().metadata.url()
    }

    /// Routes a request for well-known metadata: `GET` of exactly
    /// [`metadata_path`](Self::metadata_path) gets the document ([RFC 8414 §3]), and so does
    /// `HEAD` (the framework sends its headers, `Content-Length` included, without the
    /// body: see [`HttpResponse`]); another path, for example another tenant's, gets 404;
    /// another method gets 405 with `Allow: GET, HEAD`. `path` is the request path
    /// without the query. With [`ServerBuilder::cors`](crate::ServerBuilder::cors), any
    /// origin may read it, and `OPTIONS` answers the preflight.
    ///
    /// [RFC 8414 §3]: https://www.rfc-editor.org/rfc/rfc8414#section-3
    pub fn serve_metadata(&self, request: &HttpRequest, path: &str) -> HttpResponse {
        self.serve_document(Endpoint::Metadata, request, path, &self.state().metadata)
    }

    /// Routes a request for the well-known `document`, as the `endpoint` call: `GET` or
    /// `HEAD` of exactly its path gets it, another path 404, another method 405 with
    /// `Allow: GET, HEAD`; with CORS on, any origin may read it and `OPTIONS` answers the
    /// preflight.
    pub(crate) fn serve_document(
        &self,
        endpoint: Endpoint,
        request: &HttpRequest,
        path: &str,
        document: &Metadata,
    ) -> HttpResponse {
        let call = self.call(endpoint);
        let response = document_response(request, path, document, self.config().http.cors);
        call.finish_with(&response);
        response
    }
}

/// The answer of [`Server::serve_document`].
fn document_response(
    request: &HttpRequest,
    path: &str,
    document: &Metadata,
    cors: bool,
) -> HttpResponse {
    if path != document.path() {
        return HttpResponse::new(Status::NOT_FOUND);
    }
    if !cors {
        return serve_get(request, || document.to_response());
    }
    // A public document: any origin may read it (`ServerBuilder::cors`).
    if request.method() == Method::Options {
        return cors::public_preflight();
    }
    cors::public(serve_get(request, || document.to_response()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pr_03_resource_metadata_url() {
        let url = |r: &str| resource_metadata_url(r).ok();
        assert_eq!(
            url("https://r.example/").as_deref(),
            Some("https://r.example/.well-known/oauth-protected-resource")
        );
        assert_eq!(
            url("https://r.example/?t=1").as_deref(),
            Some("https://r.example/.well-known/oauth-protected-resource?t=1")
        );
        assert_eq!(
            url("https://r.example:8443/mcp/").as_deref(),
            Some("https://r.example:8443/.well-known/oauth-protected-resource/mcp/")
        );
        assert_eq!(url("https://r.example/mcp#x"), None);
        assert_eq!(url("urn:example:r"), None);
        assert_eq!(url("https:///mcp"), None);
    }

    #[test]
    fn md_01_well_known_url_rejects_bad_issuers() {
        assert!(well_known_url("example.com").is_err());
        assert!(well_known_url("https://").is_err());
        assert!(well_known_url("https://example.com?x").is_err());
        assert_eq!(
            well_known_url("https://example.com/a/b/").ok().as_deref(),
            Some("https://example.com/.well-known/oauth-authorization-server/a/b")
        );
    }
}
