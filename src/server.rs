//! [`Server`]: the one async driver. It holds the plug-ins, fetches data through them and
//! calls the pure rule checks; the endpoints are its methods.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::clock::Clock;
use crate::config::ServerBuilder;
use crate::grant::GrantHandler;
use crate::grant::password::PASSWORD_GRANT_WARNING;
use crate::limiter::AttemptLimiter;
use crate::metadata::Metadata;
use crate::params::FormLimits;
use crate::store::{ClientRegistry, CodeStore, TokenStore};
use crate::token_issuer::TokenIssuer;
use crate::types::GrantType;

/// An OAuth 2.1 authorization server engine.
///
/// One non-generic type (DESIGN decision 1): it holds its plug-ins as `Arc<dyn Trait>`, is
/// cheap to [`Clone`] (one `Arc`), `Send`, `Sync` and `Debug`. Build it with
/// [`Server::builder`]; call its endpoint methods from the host's HTTP handlers, such as
/// [`Server::token`].
///
/// Endpoint methods return `Ok(HttpResponse)` for every protocol outcome, success or RFC
/// error; `Err` means a storage or plug-in fault, which the adapter answers with
/// [`Error::to_response`](crate::Error::to_response) after logging it.
#[derive(Debug, Clone)]
pub struct Server {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) issuer: String,
    pub(crate) clients: Arc<dyn ClientRegistry>,
    pub(crate) tokens: Arc<dyn TokenStore>,
    pub(crate) token_issuer: Arc<dyn TokenIssuer>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limiter: Arc<dyn AttemptLimiter>,
    pub(crate) access_token_ttl: Duration,
    pub(crate) refresh_token_ttl: Duration,
    pub(crate) form_limits: FormLimits,
    pub(crate) realm: String,
    pub(crate) grant_handlers: Vec<Arc<dyn GrantHandler>>,
    /// The device authorization grant, when enabled.
    pub(crate) device: Option<crate::endpoint::device::DeviceConfig>,
    pub(crate) revocation_hides_foreign_tokens: bool,
    pub(crate) metadata: Metadata,
    pub(crate) codes: Arc<dyn CodeStore>,
    pub(crate) code_ttl: Duration,
    pub(crate) localhost_any_port: bool,
    pub(crate) refresh_reuse_grace: Duration,
    pub(crate) allow_plain_pkce: bool,
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

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The access token lifetime.
    pub fn access_token_ttl(&self) -> Duration {
        self.inner.access_token_ttl
    }

    /// The grant types the token endpoint dispatches, built-in and extension.
    pub fn grant_types(&self) -> impl Iterator<Item = &str> + '_ {
        self.inner.grant_handlers.iter().map(|h| h.grant_type())
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    /// Configuration warnings: settings that are allowed but discouraged. Today, one
    /// entry when the password grant is enabled (PW-04). The crate has no logging
    /// dependency and prints nothing itself: log these at startup.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use grantflow::{MemoryClientRegistry, MemoryTokenStore, Server};
    ///
    /// let server = Server::builder(
    ///     "https://as.example.com",
    ///     Arc::new(MemoryClientRegistry::new()),
    ///     Arc::new(MemoryTokenStore::new()),
    /// )
    /// .build()?;
    /// assert!(server.warnings().is_empty());
    /// # Ok::<(), grantflow::ConfigError>(())
    /// ```
    pub fn warnings(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if self
            .grant_types()
            .any(|g| g == GrantType::PASSWORD.as_str())
        {
            warnings.push(PASSWORD_GRANT_WARNING);
        }
        warnings
    }
}
