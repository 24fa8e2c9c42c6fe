//! Protected resource metadata ([RFC 9728](https://www.rfc-editor.org/rfc/rfc9728)): the
//! document a guarded resource publishes, derived from the guard so that it says what the
//! guard does, and its well-known location.

use std::time::Duration;

use super::BearerGuard;
use crate::error::ConfigError;
use crate::http::{HttpRequest, HttpResponse, Method, Status};
use crate::metadata::resource_metadata_url;
use crate::render::JsonObject;
use crate::types::{Scope, is_display_text, is_display_uri};

/// What a protected resource says about itself beyond what its guard implies
/// ([RFC 9728 §2](https://www.rfc-editor.org/rfc/rfc9728#section-2)), for
/// [`BearerGuard::publish_metadata`].
///
/// The guard fills in the rest: `resource` (its resource identifier, exactly),
/// `authorization_servers` (the issuer of its [`Server`](crate::Server), or for an offline
/// guard the issuer its verifier expects) and
/// `bearer_methods_supported` (`["header"]`, with `"body"` when it accepts form-body
/// tokens; never `"query"`). Members that nothing implements are left out ([RFC 9728 §2](https://www.rfc-editor.org/rfc/rfc9728#section-2)).
///
/// ```
/// use grantflow::guard::ResourceMetadata;
///
/// let metadata = ResourceMetadata::new()
///     .scopes_supported("read:data")
///     .resource_name("Example API")
///     .resource_documentation("https://api.example.com/docs");
/// # let _ = metadata;
/// ```
#[derive(Debug, Clone)]
#[must_use = "a ResourceMetadata does nothing until it is published"]
pub struct ResourceMetadata {
    scopes_supported: Option<String>,
    resource_name: Option<String>,
    documentation: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
    max_age: Duration,
}

impl Default for ResourceMetadata {
    fn default() -> Self {
        Self::new()
    }
}

impl ResourceMetadata {
    /// No optional member, and a cache lifetime of one hour.
    pub fn new() -> Self {
        Self {
            scopes_supported: None,
            resource_name: None,
            documentation: None,
            policy_uri: None,
            tos_uri: None,
            max_age: Duration::from_secs(3600),
        }
    }

    /// `scopes_supported` (RECOMMENDED): the scopes, space-separated, that clients should
    /// request for this resource.
    pub fn scopes_supported(mut self, scopes: &str) -> Self {
        self.scopes_supported = Some(scopes.to_owned());
        self
    }

    /// `resource_name` (RECOMMENDED): a name for people.
    pub fn resource_name(mut self, name: &str) -> Self {
        self.resource_name = Some(name.to_owned());
        self
    }

    /// `resource_documentation`: an `https` URL of documentation for developers.
    pub fn resource_documentation(mut self, url: &str) -> Self {
        self.documentation = Some(url.to_owned());
        self
    }

    /// `resource_policy_uri`: an `https` URL of the data use policy.
    pub fn resource_policy_uri(mut self, url: &str) -> Self {
        self.policy_uri = Some(url.to_owned());
        self
    }

    /// `resource_tos_uri`: an `https` URL of the terms of service.
    pub fn resource_tos_uri(mut self, url: &str) -> Self {
        self.tos_uri = Some(url.to_owned());
        self
    }

    /// How long clients may cache the document: `Cache-Control: max-age` of its response
    /// ([RFC 9728 §3.2](https://www.rfc-editor.org/rfc/rfc9728#section-3.2), [RFC 9728 §5.2](https://www.rfc-editor.org/rfc/rfc9728#section-5.2)).
    /// Default: one hour. At most a day.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }
}

/// The rendered document and where it is served.
#[derive(Debug)]
pub(super) struct PublishedMetadata {
    body: Box<[u8]>,
    url: String,
    /// The path the document is served at.
    path: String,
    /// The query it is served with, if the resource identifier has one.
    query: Option<String>,
    cache_control: String,
    /// What it was rendered from, to render it again when the guard changes.
    pub(super) source: ResourceMetadata,
}

impl PublishedMetadata {
    /// The document's URL, for `resource_metadata` in challenges.
    pub(super) fn url(&self) -> &str {
        &self.url
    }
}

impl BearerGuard {
    /// Publishes the resource's metadata
    /// ([RFC 9728](https://www.rfc-editor.org/rfc/rfc9728)): the document is rendered
    /// once, here, and from now on every 401 and 403 challenge of the guard carries
    /// `resource_metadata="<its URL>"` ([RFC 9728 §5.1](https://www.rfc-editor.org/rfc/rfc9728#section-5.1)), which is how a client that only knows the
    /// resource's URL finds the authorization server (the flow of the Model Context
    /// Protocol). Serve the document with [`serve_metadata`](Self::serve_metadata) at
    /// [`metadata_path`](Self::metadata_path).
    ///
    /// The document has `resource` (the guard's identifier, exactly: the URL and the
    /// member come from the one value, [RFC 9728 §3.3](https://www.rfc-editor.org/rfc/rfc9728#section-3.3)), `authorization_servers` (this server's
    /// issuer, or the issuer an offline guard's verifier expects),
    /// `bearer_methods_supported` (what the guard accepts), and the members of
    /// `metadata`. No member is empty.
    ///
    /// # Errors
    /// [`ConfigError::Setting`] when the guard has no
    /// [`resource`](Self::resource) identifier yet, or a member of `metadata` is
    /// malformed: scopes that are not scope tokens, a name that is empty, long or with
    /// control characters, a URL that is not `https`, a cache lifetime over a day.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use grantflow::guard::ResourceMetadata;
    /// use grantflow::{HttpRequest, MemoryClientRegistry, MemoryTokenStore, Method, Server, Status};
    ///
    /// let server = Server::builder(
    ///     "https://as.example.com",
    ///     Arc::new(MemoryClientRegistry::new()),
    ///     Arc::new(MemoryTokenStore::new()),
    /// )
    /// .resource("https://api.example.com/mcp")
    /// .build()?;
    /// let guard = server
    ///     .bearer_guard()
    ///     .resource("https://api.example.com/mcp")?
    ///     .publish_metadata(ResourceMetadata::new().scopes_supported("read"))?;
    /// assert_eq!(
    ///     guard.metadata_url(),
    ///     Some("https://api.example.com/.well-known/oauth-protected-resource/mcp")
    /// );
    /// let response = guard.serve_metadata(
    ///     &HttpRequest::new(Method::Get),
    ///     "/.well-known/oauth-protected-resource/mcp",
    /// );
    /// assert_eq!(response.status, Status::OK);
    /// let document: serde_json::Value = serde_json::from_slice(&response.body)?;
    /// assert_eq!(document["resource"], "https://api.example.com/mcp");
    /// assert_eq!(document["authorization_servers"][0], "https://as.example.com");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publish_metadata(mut self, metadata: ResourceMetadata) -> Result<Self, ConfigError> {
        self.metadata = Some(std::sync::Arc::new(self.render_metadata(metadata)?));
        Ok(self)
    }

    /// The document of `metadata` for this guard as it is now.
    pub(super) fn render_metadata(
        &self,
        metadata: ResourceMetadata,
    ) -> Result<PublishedMetadata, ConfigError> {
        let Some(resource) = self.resource_identifier() else {
            return Err(ConfigError::Setting(
                "publish_metadata needs the guard's resource identifier (BearerGuard::resource)",
            ));
        };
        let Some(issuer) = self.issuer.as_deref() else {
            return Err(ConfigError::Setting(
                "publish_metadata needs the authorization server's issuer",
            ));
        };
        let url = resource_metadata_url(resource.as_str())?;
        let scopes = match &metadata.scopes_supported {
            Some(text) => Some(Scope::parse(text).map_err(|_| {
                ConfigError::Setting("scopes_supported must be valid scope tokens")
            })?),
            None => None,
        };
        if metadata
            .resource_name
            .as_deref()
            .is_some_and(|name| !is_display_text(name, 200))
        {
            return Err(ConfigError::Setting(
                "resource_name must be 1 to 200 characters without control characters",
            ));
        }
        let uris = [
            &metadata.documentation,
            &metadata.policy_uri,
            &metadata.tos_uri,
        ];
        if uris
            .iter()
            .any(|u| u.as_deref().is_some_and(|u| !is_display_uri(u)))
        {
            return Err(ConfigError::Setting(
                "resource metadata URLs must be absolute https URLs",
            ));
        }
        if metadata.max_age > Duration::from_secs(86_400) {
            return Err(ConfigError::Setting("max_age must be at most one day"));
        }
        let methods: &[&str] = if self.form_body {
            &["header", "body"]
        } else {
            &["header"]
        };
        let mut document = JsonObject::with_capacity(256);
        document
            .string("resource", resource.as_str())
            .string_array("authorization_servers", [issuer])
            .string_array("bearer_methods_supported", methods.iter().copied());
        if let Some(scopes) = scopes.filter(|s| !s.is_empty()) {
            document.string_array("scopes_supported", scopes.iter());
        }
        document
            .optional_string("resource_name", metadata.resource_name.as_deref())
            .optional_string("resource_documentation", metadata.documentation.as_deref())
            .optional_string("resource_policy_uri", metadata.policy_uri.as_deref())
            .optional_string("resource_tos_uri", metadata.tos_uri.as_deref());
        let after_origin = url
            .find("://")
            .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j))
            .unwrap_or(url.len());
        let (path, query) = match url[after_origin..].split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (url[after_origin..].to_owned(), None),
        };
        Ok(PublishedMetadata {
            body: document.finish().into_boxed_slice(),
            url,
            path,
            query,
            cache_control: format!("max-age={}", metadata.max_age.as_secs()),
            source: metadata,
        })
    }

    /// The URL of the published metadata document, if any.
    pub fn metadata_url(&self) -> Option<&str> {
        self.metadata.as_deref().map(PublishedMetadata::url)
    }

    /// The path to route to [`serve_metadata`](Self::serve_metadata), if metadata is
    /// published: `/.well-known/oauth-protected-resource` followed by the path of the
    /// resource identifier ([RFC 9728 §3.1](https://www.rfc-editor.org/rfc/rfc9728#section-3.1)). A resource identifier with a query is served with that
    /// query too.
    pub fn metadata_path(&self) -> Option<&str> {
        self.metadata.as_deref().map(|m| m.path.as_str())
    }

    /// Answers a request for the protected resource metadata at `path` (the request path
    /// without the query): `GET` of [`metadata_path`](Self::metadata_path) (with the
    /// resource identifier's query, if it has one) gets 200 with the document,
    /// `Content-Type: application/json` and `Cache-Control: max-age=…` ([RFC 9728 §3.2](https://www.rfc-editor.org/rfc/rfc9728#section-3.2)), `HEAD` the
    /// same headers; another method gets 405 with `Allow: GET, HEAD`; another path, or a
    /// guard without published metadata, 404 ([RFC 9728 §3.1](https://www.rfc-editor.org/rfc/rfc9728#section-3.1)).
    pub fn serve_metadata(&self, request: &HttpRequest, path: &str) -> HttpResponse {
        let Some(metadata) = self
            .metadata
            .as_deref()
            .filter(|m| m.path == path && m.query.as_deref() == request.query())
        else {
            return HttpResponse::new(Status::NOT_FOUND);
        };
        match request.method() {
            Method::Get | Method::Head => {
                let mut response = HttpResponse::new(Status::OK)
                    .with_header("content-type", "application/json")
                    .with_header("cache-control", metadata.cache_control.clone());
                if request.method() == Method::Get {
                    response = response.with_body(metadata.body.to_vec());
                }
                response
            }
            _ => HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET, HEAD"),
        }
    }
}
