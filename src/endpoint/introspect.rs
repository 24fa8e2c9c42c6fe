//! The introspection endpoint ([RFC 7662](https://www.rfc-editor.org/rfc/rfc7662)): a
//! resource server asks whether a token is active and what it allows.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::endpoint::{Authenticated, AuthenticatedEndpoint, token_parameter};
use crate::error::{Error, ErrorCode, OAuthError, Rejection};
use crate::http::{HttpRequest, HttpResponse, Status};
use crate::observe::EventKind;
use crate::observe::call::Endpoint;
use crate::render::JsonObject;
use crate::secret::TokenHash;
use crate::server::Server;
use crate::store::{TokenKind, TokenRecord};
use crate::types::Client;

/// The body for every token that is not active, whatever the reason ([RFC 7662 §2.2], [RFC 6749
/// §5.2]).
///
/// [RFC 7662 §2.2]: https://www.rfc-editor.org/rfc/rfc7662#section-2.2
/// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
const INACTIVE: &[u8] = br#"{"active":false}"#;

impl Server {
    /// The introspection endpoint: `POST /introspect`
    /// ([RFC 7662 §2](https://www.rfc-editor.org/rfc/rfc7662#section-2)).
    ///
    /// In order: the token-style front (POST only, so tokens stay out of URL logs: a
    /// `GET` gets 405, [RFC 7662 §2.1]); caller authentication with a client secret, exactly as at
    /// the token endpoint (a failure is 401 `invalid_client`, [RFC 7662 §2.1]); the caller's
    /// permission: only confidential clients registered with
    /// [`ClientBuilder::introspection`](crate::ClientBuilder::introspection) may
    /// introspect, others get **403** `unauthorized_client` (they authenticated, so 401
    /// would wrongly ask them to retry with other credentials; [RFC 7662 §2.1] allows 401 or 403);
    /// then a required `token`.
    ///
    /// A token that is unknown, expired, not yet valid (issued after the server's "now"),
    /// revoked, or restricted to an audience other than the caller's
    /// [`resource_audience`](crate::Client::resource_audience) is answered 200 with exactly
    /// `{"active":false}`, with no reason ([RFC 7662 §2.2], [RFC 7662 §4], [RFC 6749 §5.2]).
    /// `token_type_hint` never
    /// changes the answer: one digest lookup finds either kind.
    ///
    /// An active token gets `active`, `scope` (a string, left out when empty),
    /// `client_id`, `sub` (only for tokens issued for a resource owner), `aud` (when the
    /// token has one), `iss`, `exp` and `iat` (integer seconds) and `token_type`:
    /// `Bearer` for access tokens, `DPoP` for those bound to a DPoP key, which also get
    /// `cnf` with the key's thumbprint `jkt`
    /// ([RFC 9449 §6.2](https://www.rfc-editor.org/rfc/rfc9449#section-6.2)). Refresh tokens carry no `token_type` member: the
    /// member names an access token type (RFC 6749 §7.1), which a refresh token does not
    /// have ([RFC 7662 §2.2]). Every response carries `Cache-Control: no-store`.
    ///
    /// # Errors
    /// Only storage faults; every protocol outcome is an `Ok` response.
    ///
    /// [RFC 7662 §2.1]: https://www.rfc-editor.org/rfc/rfc7662#section-2.1
    /// [RFC 7662 §2.2]: https://www.rfc-editor.org/rfc/rfc7662#section-2.2
    /// [RFC 7662 §4]: https://www.rfc-editor.org/rfc/rfc7662#section-4
    /// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
    pub async fn introspect(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        self.token_style::<Introspection>(request).await
    }
}

/// The introspection endpoint, run by [`Server::token_style`].
pub(crate) enum Introspection {}

impl AuthenticatedEndpoint for Introspection {
    const ENDPOINT: Endpoint = Endpoint::Introspection;

    async fn serve(server: &Server, call: Authenticated<'_>) -> Result<HttpResponse, Rejection> {
        if !call.client.may_introspect() {
            call.call.refused(ErrorCode::UNAUTHORIZED_CLIENT);
            call.call
                .emit(call.now, || EventKind::IntrospectionRefused {
                    client_id: call.client.id().clone(),
                });
            return Ok(forbidden());
        }
        let token = token_parameter(call.form)?;
        let record = server
            .config()
            .tokens
            .store
            .find(&TokenHash::of(token))
            .await?;
        let Some(record) = record.filter(|r| is_active(r, &call.client, call.now)) else {
            return Ok(HttpResponse::json(Status::OK, INACTIVE.to_vec()));
        };
        let body = active_body(&record, server.issuer());
        Ok(HttpResponse::json(Status::OK, body))
    }
}

/// The body for an active token ([RFC 7662 §2.2](https://www.rfc-editor.org/rfc/rfc7662#section-2.2),
/// [RFC 7662 §2.2]): `scope` a space-separated string (left out when empty), `exp` and `iat`
/// integer seconds, `sub` and `aud` only when known, `token_type` only for access tokens.
/// Written with the crate's [`JsonObject`] rather than `serde_json`: this is the hot path of
/// every resource server that introspects, and the members are few and fixed.
///
/// [RFC 7662 §2.2]: https://www.rfc-editor.org/rfc/rfc7662#section-2.2
fn active_body(record: &TokenRecord, issuer: &str) -> Vec<u8> {
    let mut body = JsonObject::with_capacity(160 + record.scope.as_str().len());
    body.boolean("active", true)
        .optional_string(
            "scope",
            Some(record.scope.as_str()).filter(|s| !s.is_empty()),
        )
        .string("client_id", record.client_id.as_str())
        .optional_string("sub", record.subject.as_ref().map(|s| s.as_str()))
        .audience("aud", &record.audience)
        .string("iss", issuer)
        .number("exp", unix_seconds(record.expires_at))
        .number("iat", unix_seconds(record.issued_at))
        .optional_string(
            "token_type",
            (record.kind == TokenKind::Access).then_some(if record.dpop_jkt.is_some() {
                "DPoP"
            } else {
                "Bearer"
            }),
        );
    // EX-18: a DPoP-bound access token names its key (RFC 9449 §6.2).
    if let (TokenKind::Access, Some(jkt)) = (record.kind, &record.dpop_jkt) {
        let mut cnf = JsonObject::with_capacity(56);
        cnf.string("jkt", jkt);
        body.object("cnf", cnf);
    }
    // TX-11: a delegated token's actor chain, identity claims only.
    if let Some(actor) = &record.actor {
        body.object("act", actor.to_json_object());
    }
    body.finish()
}

/// [RFC 7662 §4]: every check before `active:true`. A revoked token has no record at all.
///
/// [RFC 7662 §4]: https://www.rfc-editor.org/rfc/rfc7662#section-4
fn is_active(record: &TokenRecord, caller: &Client, now: SystemTime) -> bool {
    if !record.is_valid_at(now) {
        return false;
    }
    // As at the bearer guard: a token restricted to an audience is active only for the
    // resource server of that audience, never for a caller that cannot say who it is.
    if record.audience.is_empty() {
        return true;
    }
    caller
        .resource_audience()
        .is_some_and(|caller| record.audience.contains(caller))
}

/// Seconds since the Unix epoch; times before it count as 0.
pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// 403 for an authenticated client that is not allowed to introspect ([RFC 7662 §2.1]).
///
/// [RFC 7662 §2.1]: https://www.rfc-editor.org/rfc/rfc7662#section-2.1
fn forbidden() -> HttpResponse {
    let mut response = OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
        .with_description("the client may not introspect tokens")
        .to_response();
    response.status = Status::FORBIDDEN;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::types::{ClientId, GrantId, Scope, Subject};

    #[test]
    fn in_04_active_body_is_valid_json_with_escaping() {
        let issued = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let record = TokenRecord::new(
            TokenKind::Access,
            GrantId::generate(),
            ClientId::new("we\"ird\\id").unwrap(),
            Scope::parse("b a").unwrap(),
            issued,
            issued + Duration::from_secs(60),
        )
        .with_subject(Some(Subject::new("caf\u{e9}\n\u{1}\"x")))
        .with_audience(crate::types::Resources::one(
            crate::types::ResourceUri::parse("https://rs.example").unwrap(),
        ));
        let body = active_body(&record, "https://as.example.com");
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "active": true, "scope": "a b", "client_id": "we\"ird\\id",
                "sub": "caf\u{e9}\n\u{1}\"x", "aud": "https://rs.example",
                "iss": "https://as.example.com", "exp": 1_700_000_060u64,
                "iat": 1_700_000_000u64, "token_type": "Bearer",
            })
        );
        let refresh = TokenRecord::new(
            TokenKind::Refresh,
            GrantId::generate(),
            ClientId::new("c").unwrap(),
            Scope::empty(),
            issued,
            issued,
        );
        assert_eq!(
            active_body(&refresh, "https://as"),
            br#"{"active":true,"client_id":"c","iss":"https://as","exp":1700000000,"iat":1700000000}"#
        );
    }
}
