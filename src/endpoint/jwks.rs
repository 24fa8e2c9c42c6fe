//! The JWK Set endpoint (feature `jwt`): the server's public signing keys, for whoever
//! verifies what it signs ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5),
//! [RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2) `jwks_uri`).

use super::cors;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse, Method, Status};
use crate::jose::JwksSource;
use crate::observe::call::{Endpoint, Outcome};
use crate::server::Server;

impl Server {
    /// The JWK Set endpoint: `GET jwks_uri`
    /// ([`ServerBuilder::jwks_uri`](crate::ServerBuilder::jwks_uri)), the public halves of
    /// the server's [`signing_keys`](crate::ServerBuilder::signing_keys) that are published
    /// now (next, active and retired ones, [RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)).
    ///
    /// `GET` answers 200 with `Content-Type: application/json`, the document
    /// `{"keys":[…]}` (each key with `kty`, `kid`, `use: sig`, `alg` and its public
    /// members, never a private one) and `Cache-Control: public, max-age=<n>`, the key
    /// set's [`jwks_max_age`](crate::jose::KeySetBuilder::jwks_max_age): a new key is
    /// published at least that long before it signs, so a client that caches the set for
    /// that long never meets an unknown key. `HEAD` is answered as `GET` (the framework
    /// sends the headers without the body, see [`HttpResponse`]); another method gets 405
    /// with `Allow: GET, HEAD`; a server without signing keys 404. With
    /// [`ServerBuilder::cors`](crate::ServerBuilder::cors) the set is a public document
    /// like the metadata: any origin may read it, and `OPTIONS` answers the preflight.
    ///
    /// # Errors
    /// [`Error::Storage`] when the key set's store failed.
    pub async fn jwks(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let call = self.call(Endpoint::Jwks);
        let served = call.run(self.jwks_response(request)).await;
        match &served {
            Ok(response) => call.finish_with(response),
            Err(fault) => call.finish(Outcome::Fault(fault)),
        }
        served
    }

    /// The work of [`jwks`](Self::jwks), inside its span.
    async fn jwks_response(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let cors = self.config().http.cors;
        match request.method() {
            Method::Get | Method::Head => {}
            Method::Options if cors => return Ok(cors::public_preflight()),
            _ => {
                return Ok(
                    HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET, HEAD")
                );
            }
        }
        let Some(keys) = &self.config().jwt.keys else {
            return Ok(HttpResponse::new(Status::NOT_FOUND));
        };
        let response = JwksSource::fetch(keys, self.now()).await?.to_response();
        Ok(if cors {
            cors::public(response)
        } else {
            response
        })
    }
}
