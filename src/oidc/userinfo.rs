//! The UserInfo endpoint
//! ([Core §5.3](https://openid.net/specs/openid-connect-core-1_0.html#UserInfo)).

use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::endpoint::cors;
use crate::error::{Error, Rejection};
use crate::guard::GuardRejection;
use crate::http::{HttpRequest, HttpResponse, Method, Status};
use crate::jose::{Algorithm, Claims, JwtUse};
use crate::observe::call::{Call, Endpoint, Outcome};
use crate::oidc::Target;
use crate::oidc::tokens::signing_fault;
use crate::server::Server;
use crate::types::Scope;

impl Server {
    /// The UserInfo endpoint: `GET` or `POST /userinfo` with an access token of an OpenID
    /// Connect grant ([Core §5.3](https://openid.net/specs/openid-connect-core-1_0.html#UserInfo)).
    ///
    /// The token is read as the [`BearerGuard`](crate::guard::BearerGuard) reads it (from
    /// the `Authorization` header, never the query) and must be active, not restricted to
    /// a resource server, of a grant from an OpenID request, with `openid` in its scope.
    /// Failures are the RFC 6750 challenges
    /// ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)): 401
    /// `invalid_token`, 403 `insufficient_scope`, 400 `invalid_request`. Another method
    /// gets 405 with `Allow: GET, POST`.
    ///
    /// The answer is 200 `application/json` with `sub` (the same as the grant's ID tokens)
    /// and the claims the granted scope and the `claims` request release
    /// ([Core §5.3.2](https://openid.net/specs/openid-connect-core-1_0.html#UserInfoResponse));
    /// for a client registered for signed responses, `application/jwt` with `iss` and
    /// `aud` too.
    ///
    /// With [`ServerBuilder::cors`](crate::ServerBuilder::cors), browser clients of other
    /// origins may call it as they call the token endpoint: `OPTIONS` answers the
    /// preflight, and a request with an `Origin` that is one of the token's client's
    /// origins (those of its redirect URIs) gets a response that allows it; another
    /// origin is refused with `invalid_request`.
    ///
    /// # Errors
    /// A fault of the token store, client registry, claims source or signer.
    pub async fn userinfo(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let cors = self.config().http.cors;
        if cors && request.method() == Method::Options {
            return Ok(cors::preflight(request, "GET, POST"));
        }
        let mut origin = None;
        let call = self.call(Endpoint::Userinfo);
        let served = call
            .run(self.userinfo_response(request, &mut origin, &call))
            .await;
        let response = match served {
            Ok(response) | Err(GuardRejection::Refused(response)) => {
                call.finish_with(&response);
                response
            }
            Err(GuardRejection::Fault(fault)) => {
                call.finish(Outcome::Fault(&fault));
                return Err(fault);
            }
        };
        let response = if cors {
            cors::per_client(response, origin)
        } else {
            response
        };
        if response.header("cache-control").is_some() {
            return Ok(response);
        }
        Ok(response.with_header("cache-control", "no-store"))
    }

    /// The response of [`userinfo`](Self::userinfo); `origin` is set to the request's
    /// allowed `Origin` once the token's client is known (with CORS on).
    async fn userinfo_response<'r>(
        &self,
        request: &'r HttpRequest,
        origin: &mut Option<&'r str>,
        call: &Call<'_>,
    ) -> Result<HttpResponse, GuardRejection> {
        if !matches!(request.method(), Method::Get | Method::Post) {
            return Ok(
                HttpResponse::new(Status::METHOD_NOT_ALLOWED).with_header("allow", "GET, POST")
            );
        }
        let config = self.config();
        let required = Scope::parse("openid").unwrap_or_else(|_| Scope::empty());
        let guard = self.bearer_guard();
        let record = guard.check_record(request, &required, call).await?;
        let (Some(context), Some(subject)) = (&record.openid, &record.subject) else {
            return Err(guard.invalid_token(&required, call));
        };
        let Some(client) = config.clients.registry.find(&record.client_id).await? else {
            return Err(guard.invalid_token(&required, call));
        };
        if config.http.cors {
            let localhost = config.code_flow.localhost_port;
            match cors::allowed_origin(request, &client, &config.issuer, localhost) {
                Ok(allowed) => *origin = allowed,
                Err(Rejection::Refused(refusal)) => {
                    call.refused(refusal.code().clone());
                    return Ok(refusal.to_response());
                }
                Err(Rejection::Fault(fault)) => return Err(GuardRejection::Fault(fault)),
            }
        }
        let released = self
            .released_claims(&client, subject, &record.scope, context, Target::UserInfo)
            .await?;
        let Some(alg) = client.userinfo_signing_alg() else {
            let mut body = Map::with_capacity(released.len() + 1);
            body.insert("sub".into(), Value::from(&*context.subject_identifier));
            body.extend(released);
            return Ok(HttpResponse::json(
                Status::OK,
                Value::Object(body).to_string().into_bytes(),
            ));
        };
        let (Some(alg), Some(keys)) = (Algorithm::from_name(alg), &config.jwt.keys) else {
            return Err(guard.invalid_token(&required, call));
        };
        let now: SystemTime = self.now();
        let mut claims = Claims::new()
            .with_subject(&*context.subject_identifier)
            .with_audience([client.id().as_str()])
            .with_issued_at(now)
            .with_expires_at(now.checked_add(config.openid.id_token_ttl).unwrap_or(now));
        for (name, value) in released {
            claims.insert_other(name, value);
        }
        let signed = keys
            .sign_with(alg, JwtUse::UserInfo, &claims, now)
            .await
            .map_err(signing_fault)?;
        Ok(HttpResponse::new(Status::OK)
            .with_header("content-type", "application/jwt")
            .with_body(signed.into_bytes()))
    }
}
