//! Health: whether each store and plug-in of a server answers, and nothing else.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use crate::http::{HttpResponse, Status};
use crate::server::Server;

/// Whether each dependency of a [`Server`] answers, from [`Server::health`].
///
/// It names each component and says `up` or `down`, and nothing else: no configuration,
/// keys, client lists, token counts or error text, so the host can expose
/// [`to_response`](Self::to_response) to its load balancer or orchestrator. (The
/// errors themselves are for the host's logs, through the endpoints' `Err`s.)
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    checks: Vec<HealthCheck>,
}

/// One component of a [`Health`] report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthCheck {
    /// The component: `clients`, `tokens`, `codes`, `devices`, `client_limiter`,
    /// `password_limiter`, `user_code_limiter`, `token_issuer` or `password_verifier`
    /// (the last ones only where the grant that uses them is enabled).
    pub component: &'static str,
    /// Whether it answered.
    pub up: bool,
}

impl Health {
    /// Whether every component answered.
    pub fn is_up(&self) -> bool {
        self.checks.iter().all(|check| check.up)
    }

    /// Each component, in a fixed order.
    pub fn checks(&self) -> &[HealthCheck] {
        &self.checks
    }

    /// The report as an HTTP response: 200 when every component answered, else 503; a
    /// JSON body such as `{"status":"down","checks":{"clients":"up","tokens":"down"}}`,
    /// with `Cache-Control: no-store`.
    pub fn to_response(&self) -> HttpResponse {
        let word = |up: bool| if up { "up" } else { "down" };
        // Component names are fixed ASCII words: nothing to escape.
        let mut body = format!("{{\"status\":\"{}\",\"checks\":{{", word(self.is_up()));
        for (i, check) in self.checks.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            body.push_str(&format!(
                "{comma}\"{}\":\"{}\"",
                check.component,
                word(check.up)
            ));
        }
        body.push_str("}}");
        let status = if self.is_up() {
            Status::OK
        } else {
            Status::SERVICE_UNAVAILABLE
        };
        HttpResponse::json(status, body.into_bytes())
    }
}

/// A check in progress: whether the component answered.
type Check<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

impl Server {
    /// Asks every store and plug-in of the server whether it answers: the client
    /// registry, the token, code and device stores, the attempt limiters, the token issuer
    /// and the password grant's verifier, each through its `check_health` method (for the
    /// stores by default a read of a key that cannot exist, one round trip). The checks
    /// run concurrently.
    ///
    /// A check that never answers keeps this future pending: run it under the runtime's
    /// timeout (`tokio::time::timeout`), and report a timeout as down.
    ///
    /// ```
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// use std::sync::Arc;
    /// use grantflow::{MemoryClientRegistry, MemoryTokenStore, Server, Status};
    ///
    /// let server = Server::builder(
    ///     "https://as.example.com",
    ///     Arc::new(MemoryClientRegistry::new()),
    ///     Arc::new(MemoryTokenStore::new()),
    /// )
    /// .build()?;
    /// let health = block_on(server.health());
    /// assert!(health.is_up());
    /// let response = health.to_response();
    /// assert_eq!(response.status, Status::OK);
    /// assert!(response.body.starts_with(br#"{"status":"up","checks":{"clients":"up","#));
    /// # Ok::<(), grantflow::ConfigError>(())
    /// ```
    pub async fn health(&self) -> Health {
        let config = self.config();
        let mut checks: Vec<(&'static str, Check<'_>)> = vec![
            (
                "clients",
                Box::pin(async { config.clients.registry.check_health().await.is_ok() }),
            ),
            (
                "tokens",
                Box::pin(async { config.tokens.store.check_health().await.is_ok() }),
            ),
            (
                "codes",
                Box::pin(async { config.code_flow.store.check_health().await.is_ok() }),
            ),
        ];
        if let Some(devices) = &config.device.store {
            checks.push((
                "devices",
                Box::pin(async { devices.check_health().await.is_ok() }),
            ));
        }
        #[cfg(feature = "jwt")]
        if config.clients.private_key_jwt || config.clients.client_secret_jwt {
            checks.push((
                "single_use",
                Box::pin(async { config.clients.single_use.check_health().await.is_ok() }),
            ));
        }
        checks.push((
            "client_limiter",
            Box::pin(async { config.clients.secret_limiter.check_health().await.is_ok() }),
        ));
        if let Some(verifier) = &config.password.verifier {
            checks.push((
                "password_limiter",
                Box::pin(async { config.password.limiter.check_health().await.is_ok() }),
            ));
            checks.push((
                "password_verifier",
                Box::pin(async { verifier.check_health().await.is_ok() }),
            ));
        }
        if config.device.store.is_some() {
            checks.push((
                "user_code_limiter",
                Box::pin(async { config.device.limiter.check_health().await.is_ok() }),
            ));
        }
        checks.push((
            "token_issuer",
            Box::pin(async { config.tokens.token_issuer.check_health().await.is_ok() }),
        ));
        Health {
            checks: all(checks).await,
        }
    }
}

/// Runs every check at once; the results in the checks' order.
async fn all(mut checks: Vec<(&'static str, Check<'_>)>) -> Vec<HealthCheck> {
    let mut results: Vec<Option<bool>> = vec![None; checks.len()];
    poll_fn(|cx| {
        let mut pending = false;
        for ((_, check), result) in checks.iter_mut().zip(results.iter_mut()) {
            if result.is_none() {
                match check.as_mut().poll(cx) {
                    Poll::Ready(up) => *result = Some(up),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    checks
        .iter()
        .zip(results)
        .map(|((component, _), up)| HealthCheck {
            component,
            up: up.unwrap_or(false),
        })
        .collect()
}
