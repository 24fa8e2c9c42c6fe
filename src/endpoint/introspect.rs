//! The introspection endpoint ([RFC 7662](https://www.rfc-editor.org/rfc/rfc7662)): a
//! resource server asks whether a token is active and what it allows.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::endpoint::read_token_style_form;
use crate::error::{Error, ErrorCode, OAuthError};
use crate::http::{HttpRequest, HttpResponse, Status};
use crate::issuer::IssueError;
use crate::params::Form;
use crate::secret::TokenHash;
use crate::server::Server;
use crate::store::{TokenKind, TokenRecord};
use crate::types::Client;

/// The body for every token that is not active, whatever the reason (IN-03, ER-05).
const INACTIVE: &[u8] = br#"{"active":false}"#;

/// An active token's members ([RFC 7662 §2.2](https://www.rfc-editor.org/rfc/rfc7662#section-2.2),
/// IN-04): `scope` a space-separated string, times integer seconds, members left out
/// rather than `null`.
#[derive(serde::Serialize)]
struct Active<'a> {
    active: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    iss: &'a str,
    exp: u64,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
}

impl Server {
    /// The introspection endpoint: `POST /introspect`
    /// ([RFC 7662 §2](https://www.rfc-editor.org/rfc/rfc7662#section-2)).
    ///
    /// In order: the token-style front (POST only, so tokens stay out of URL logs: a
    /// `GET` gets 405, IN-01); caller authentication with a client secret, exactly as at
    /// the token endpoint (a failure is 401 `invalid_client`, IN-02); the caller's
    /// permission: only confidential clients registered with
    /// [`ClientBuilder::introspection`](crate::ClientBuilder::introspection) may
    /// introspect, others get **403** `unauthorized_client` (they authenticated, so 401
    /// would wrongly ask them to retry with other credentials; IN-02 allows 401 or 403);
    /// then a required `token`.
    ///
    /// A token that is unknown, expired, not yet valid (issued after the server's "now"),
    /// revoked, or restricted to an audience other than the caller's
    /// [`resource_audience`](crate::Client::resource_audience) is answered 200 with exactly
    /// `{"active":false}`, with no reason (IN-03, IN-05, ER-05). `token_type_hint` never
    /// changes the answer: one digest lookup finds either kind.
    ///
    /// An active token gets `active`, `scope` (a string, left out when empty),
    /// `client_id`, `sub` (only for tokens issued for a resource owner), `aud` (when the
    /// token has one), `iss`, `exp` and `iat` (integer seconds) and `token_type`:
    /// `Bearer` for access tokens. Refresh tokens carry no `token_type` member: the
    /// member names an access token type (RFC 6749 §7.1), which a refresh token does not
    /// have (IN-04). Every response carries `Cache-Control: no-store`.
    ///
    /// # Errors
    /// Only storage faults; every protocol outcome is an `Ok` response.
    pub async fn introspect(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let form = match read_token_style_form(request, &self.inner.form_limits) {
            Ok(form) => form,
            Err(response) => return Ok(response),
        };
        let now = self.now();
        let client = match self.authenticate_client(request, &form, now).await? {
            Ok(client) if client.may_introspect() => client,
            Ok(_) => return Ok(forbidden()),
            Err(error) => return Ok(error.to_response()),
        };
        self.introspect_token(&client, &form, now).await
    }

    async fn introspect_token(
        &self,
        client: &Client,
        form: &Form<'_>,
        now: SystemTime,
    ) -> Result<HttpResponse, Error> {
        let Some(token) = form.get("token") else {
            return Ok(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("token required")
                .to_response());
        };
        let record = self.inner.tokens.find(&TokenHash::of(token)).await?;
        let Some(record) = record.filter(|r| is_active(r, client, now)) else {
            return Ok(HttpResponse::json(Status::OK, INACTIVE.to_vec()));
        };
        let body = Active {
            active: true,
            scope: record.scope.as_str(),
            client_id: record.client_id.as_str(),
            sub: record.subject.as_ref().map(|s| s.as_str()),
            aud: record.audience.as_deref(),
            iss: &self.inner.issuer,
            exp: unix_seconds(record.expires_at),
            iat: unix_seconds(record.issued_at),
            token_type: match record.kind {
                TokenKind::Access => Some("Bearer"),
                TokenKind::Refresh => None,
            },
        };
        // Serialising strings and integers cannot fail; should it, nothing was sent yet.
        let body = serde_json::to_vec(&body).map_err(IssueError::new)?;
        Ok(HttpResponse::json(Status::OK, body))
    }
}

/// IN-05: every check before `active:true`. A revoked token has no record at all.
fn is_active(record: &TokenRecord, caller: &Client, now: SystemTime) -> bool {
    if record.is_expired(now) || record.issued_at > now {
        return false;
    }
    match (record.audience.as_deref(), caller.resource_audience()) {
        (Some(token), Some(caller)) => token == caller,
        _ => true,
    }
}

/// Seconds since the Unix epoch; times before it count as 0.
pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// 403 for an authenticated client that is not allowed to introspect (IN-02).
fn forbidden() -> HttpResponse {
    let mut response = OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
        .with_description("the client may not introspect tokens")
        .to_response();
    response.status = Status::FORBIDDEN;
    response
}
