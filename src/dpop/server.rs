//! The server's use of the proof checker at its own endpoints.

use std::time::SystemTime;

use super::{DpopProof, ProofTarget};
use crate::error::Rejection;
use crate::http::{HttpRequest, HttpResponse};
use crate::server::Server;

impl Server {
    /// The verified DPoP proof of `request`, a `POST` to `uri` (the endpoint's configured
    /// URL, never one rebuilt from the request's `Host`), its `jti` consumed in the
    /// server's single-use store. `None` when DPoP is off (the header is then ignored,
    /// [RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5)) or the request has
    /// no `DPoP` header. A proof that fails is `invalid_dpop_proof`; with nonces on, one
    /// without a fresh nonce is `use_dpop_nonce` with a new nonce in `DPoP-Nonce`
    /// ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)).
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
        let mut target = ProofTarget::new("POST", uri);
        if let Some(nonces) = &config.dpop.nonces {
            target = target.with_nonces(nonces);
        }
        match checker
            .verify(request, &target, &*config.clients.single_use, now)
            .await?
        {
            Ok(proof) => Ok(Some(proof)),
            Err(error) => {
                let mut refusal = error.to_oauth_error();
                if let (Some(nonces), true) = (
                    &config.dpop.nonces,
                    *refusal.code() == crate::error::ErrorCode::USE_DPOP_NONCE,
                ) {
                    refusal = refusal.with_dpop_nonce(nonces.issue(&*config.random, now));
                }
                Err(refusal.into())
            }
        }
    }

    /// `response` with the next nonce in `DPoP-Nonce`, when nonces are on
    /// ([RFC 9449 §8.2](https://www.rfc-editor.org/rfc/rfc9449#section-8.2)); token-style
    /// responses already carry `Cache-Control: no-store`.
    pub(crate) fn with_next_dpop_nonce(
        &self,
        mut response: HttpResponse,
        now: SystemTime,
    ) -> HttpResponse {
        let config = self.config();
        if let Some(nonces) = &config.dpop.nonces {
            response.push_header("dpop-nonce", nonces.issue(&*config.random, now));
        }
        response
    }
}
