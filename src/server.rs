//! [`Server`]: the one async driver. It holds the plug-ins, fetches data through them and
//! calls the pure rule checks; the endpoints are its methods.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::{Config, ServerBuilder};
use crate::grant::GrantHandler;
use crate::metadata::Metadata;
use crate::observe::Events;
use crate::store::{ClientRegistry, TokenStore};

/// An OAuth 2.1 authorization server engine.
///
/// One non-generic type: it holds its plug-ins as `Arc<dyn Trait>`, is cheap to [`Clone`]
/// (one `Arc`), `Send`, `Sync` and `Debug`. Build it with [`Server::builder`]; call its
/// endpoint methods from the host's HTTP handlers, such as [`Server::token`].
///
/// Endpoint methods return `Ok(HttpResponse)` for every protocol outcome, success or RFC
/// error; `Err` means a storage or plug-in fault, which the adapter answers with
/// [`Error::to_response`](crate::Error::to_response) after logging it.
#[derive(Debug, Clone)]
pub struct Server {
    inner: Arc<ServerState>,
}

/// What a built server holds: the configuration [`ServerBuilder::build`] checked, as it
/// was given, and what `build` derived from it once.
#[derive(Debug)]
pub(crate) struct ServerState {
    pub(crate) config: Config,
    /// The token endpoint's handlers, built-in and extension, one per `grant_type`.
    pub(crate) grant_handlers: Vec<Arc<dyn GrantHandler>>,
    /// The metadata document, rendered once.
    pub(crate) metadata: Metadata,
    /// The OpenID Provider's discovery document, rendered once (feature `oidc`).
    #[cfg(feature = "oidc")]
    pub(crate) openid_configuration: Option<Metadata>,
    /// What [`Server::warnings`] reports.
    pub(crate) warnings: Vec<&'static str>,
    /// The event stream: logs, audit sink and metrics.
    pub(crate) events: Events,
    /// The issuer of JWT access tokens, when the server issues them.
    #[cfg(feature = "jwt")]
    pub(crate) jwt_access_tokens: Option<crate::jose::JwtAccessTokenIssuer>,
}

impl Server {
    /// Starts building a server for `issuer` (an `https` URL, the value of `iss` and of
    /// the metadata `issuer`), with its client registry and token store.
    pub fn builder(
        issuer: impl Into<String>,
        clients: Arc<dyn ClientRegistry>,
        tokens: Arc<dyn TokenStore>,
    ) -> ServerBuilder {
        ServerBuilder::new(issuer.into(), clients, tokens)
    }

    pub(crate) fn new(state: ServerState) -> Self {
        Self {
            inner: Arc::new(state),
        }
    }

    /// The configuration the server was built with.
    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    /// What `build` derived from the configuration.
    pub(crate) fn state(&self) -> &ServerState {
        &self.inner
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.inner.config.issuer
    }

    /// The access token lifetime.
    pub fn access_token_ttl(&self) -> Duration {
        self.inner.config.tokens.access_ttl
    }

    /// The grant types the token endpoint dispatches, built-in and extension.
    pub fn grant_types(&self) -> impl Iterator<Item = &str> + '_ {
        self.inner.grant_handlers.iter().map(|h| h.grant_type())
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.inner.config.clock.now()
    }

    /// Configuration warnings: settings that are allowed but discouraged, found by
    /// [`ServerBuilder::build`]. One entry when the password grant is enabled ([RFC 6749 §10.7]),
    /// and
    /// one when no [`code_store`](ServerBuilder::code_store) was given, so that
    /// authorization codes live in this process only. The crate has no logging dependency
    /// and prints nothing itself: log these at startup.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use grantflow::{MemoryClientRegistry, MemoryCodeStore, MemoryTokenStore, Server};
    ///
    /// let builder = || Server::builder(
    ///     "https://as.example.com",
    ///     Arc::new(MemoryClientRegistry::new()),
    ///     Arc::new(MemoryTokenStore::new()),
    /// );
    /// let server = builder().build()?;
    /// assert!(server.warnings()[0].starts_with("no code store was given"));
    /// // One instance: the memory store, given explicitly.
    /// let server = builder().code_store(Arc::new(MemoryCodeStore::new())).build()?;
    /// assert!(server.warnings().is_empty());
    /// # Ok::<(), grantflow::ConfigError>(())
    /// ```
    ///
    /// [RFC 6749 §10.7]: https://www.rfc-editor.org/rfc/rfc6749#section-10.7
    pub fn warnings(&self) -> Vec<&'static str> {
        self.inner.warnings.clone()
    }
}
