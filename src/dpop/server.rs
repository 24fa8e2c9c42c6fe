//! The server's use of the proof checker at its own endpoints.

use std::time::SystemTime;

use super::{DpopProof, ProofTarget};
use crate::error::Rejection;
use crate::http::HttpRequest;
use crate::server::Server;

impl Server {
    /// The verified DPoP proof of `request`, a `POST` to `uri` (the endpoint's configured
    /// URL, never one rebuilt from the request's `Host`), its `jti` consumed in the
    /// server's single-use store. `None` when DPoP is off (the header is then ignored,
    /// [RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5)) or the request has
    /// no `DPoP` header; a proof that fails is `invalid_dpop_proof`.
    pub(crate) async fn dpop_proof(
        &self,
        request: &HttpRequest,
        uri: &str,
        now: SystemTime,
    ) -> Result<Option<DpopProof>, Rejection> {
        let config = self.config();
        let Some(checker) = &config.dpop.checker else {
            return Ok(None);
        };
        if request.header_count("dpop") == 0 {
            return Ok(None);
        }
        let target = ProofTarget::new("POST", uri);
        match checker
            .verify(request, &target, &*config.clients.single_use, now)
            .await?
        {
            Ok(proof) => Ok(Some(proof)),
            Err(error) => Err(error.to_oauth_error().into()),
        }
    }
}
