//! The JWT bearer grant at the token endpoint, written as any extension grant is: a
//! [`GrantHandler`] over public API only.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    Assertion, AssertionPolicy, MAX_ASSERTION_AGE, check_horizon, granted_scope, invalid_grant,
};
use crate::error::{ErrorCode, OAuthError, Rejection};
use crate::grant::trusted::{TrustedIssuer, issuer_of};
use crate::grant::{GrantHandler, GrantRequest, TokenGrant};
use crate::store::{Consumption, SingleUseKind, SingleUseStore};

/// How long a `jti` is remembered past the assertion's `exp`: the longest clock leeway
/// the JOSE layer can be set to, so an assertion accepted within the leeway is still
/// recognised when replayed.
const REPLAY_MARGIN: Duration = Duration::from_secs(300);

/// The JWT bearer authorization grant
/// ([RFC 7523 §2.1](https://www.rfc-editor.org/rfc/rfc7523#section-2.1),
/// `urn:ietf:params:oauth:grant-type:jwt-bearer`): a client presents a JWT `assertion`
/// signed by an issuer the host trusts (another identity provider, a workload identity
/// system) and gets an access token for the subject it names.
///
/// It is an ordinary [`GrantHandler`]: register it with
/// [`ServerBuilder::grant_handler`](crate::ServerBuilder::grant_handler) and allow the
/// grant type on the clients that may use it. The metadata then lists it.
///
/// What it checks, in order, answering `invalid_grant` for any assertion failure
/// ([RFC 7523 §3.1](https://www.rfc-editor.org/rfc/rfc7523#section-3.1)):
/// 1. The client is confidential, authenticated by the token endpoint (a public client
///    gets `unauthorized_client`). The assertion never authenticates the client, and a
///    client assertion is never accepted as a grant (its `typ` and audience differ).
/// 2. `assertion` is present (`invalid_request` otherwise) and is a compact JWS.
/// 3. Its `iss` is exactly a [`TrustedIssuer`]'s, and the signature verifies with that
///    issuer's keys and algorithms only (never `none`); `typ` is absent or `JWT`.
/// 4. `aud` names this server: its issuer identifier, or the token endpoint URL given with
///    [`token_endpoint`](Self::token_endpoint).
/// 5. `exp` is required and not past (with the JOSE layer's leeway), and at most an hour
///    ahead; `nbf` is honoured; `iat` is required and at most an hour old.
/// 6. `sub` is required and the [`AssertionPolicy`] maps it (with the issuer and the
///    client) to a local subject and a scope limit, or refuses.
/// 7. The requested `scope` is within that limit and the client's allowed scopes
///    (`invalid_scope` beyond them).
/// 8. The `resource` values, if any, name registered resources the client may use, as for
///    every grant ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2);
///    `invalid_target` otherwise); the token is for them.
/// 9. `jti` is required and accepted once per issuer until the assertion expires, in the
///    [`SingleUseStore`] given here (shared by every instance).
///
/// The access token expires no later than the assertion's `exp` plus a margin (five
/// minutes by default), and no refresh token is issued.
#[derive(Debug, Clone)]
pub struct JwtBearer {
    single_use: Arc<dyn SingleUseStore>,
    policy: Arc<dyn AssertionPolicy>,
    trusted: Vec<TrustedIssuer>,
    token_endpoint: Option<Arc<str>>,
    margin: Duration,
}

impl JwtBearer {
    /// The grant type identifier, `urn:ietf:params:oauth:grant-type:jwt-bearer`.
    pub const GRANT_TYPE: &'static str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

    /// The grant, recording assertion `jti`s in `single_use` and mapping subjects with
    /// `policy`. It accepts no assertion until it [`trust`](Self::trust)s an issuer.
    pub fn new(single_use: Arc<dyn SingleUseStore>, policy: Arc<dyn AssertionPolicy>) -> Self {
        Self {
            single_use,
            policy,
            trusted: Vec::new(),
            token_endpoint: None,
            margin: Duration::from_secs(300),
        }
    }

    /// Accepts assertions signed by `issuer`.
    #[must_use]
    pub fn trust(mut self, issuer: TrustedIssuer) -> Self {
        self.trusted.push(issuer);
        self
    }

    /// Accepts the token endpoint URL as an assertion's `aud`, besides the issuer
    /// identifier ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3), item
    /// 3). Compared exactly.
    #[must_use]
    pub fn token_endpoint(mut self, url: &str) -> Self {
        self.token_endpoint = Some(Arc::from(url));
        self
    }

    /// How long the access token may outlive the assertion (default five minutes).
    #[must_use]
    pub fn lifetime_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }
}

#[async_trait]
impl GrantHandler for JwtBearer {
    fn grant_type(&self) -> &str {
        Self::GRANT_TYPE
    }

    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
        let client = request.client();
        // JB-02: only for authenticated confidential clients.
        if client.is_public() {
            return Err(OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
                .with_description("the JWT bearer grant is for confidential clients only")
                .into());
        }
        // JB-01
        let Some(jwt) = request.param("assertion") else {
            return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("assertion required")
                .into());
        };
        let now = request.now();
        // JB-03, JB-05, JB-06 (exp, nbf, iat age), JB-08: one verification with the named
        // issuer's keys only.
        let trusted = issuer_of(&self.trusted, jwt)
            .ok_or_else(|| invalid_grant("assertion from an unknown issuer"))?;
        let audiences = std::iter::once(request.issuer()).chain(self.token_endpoint.as_deref());
        let verified = trusted
            .verify(jwt, now, audiences, Some(MAX_ASSERTION_AGE))
            .map_err(|_| invalid_grant("invalid assertion"))?;
        let claims = verified.claims();
        let (Some(subject), Some(expires_at)) = (claims.subject(), claims.expires_at()) else {
            return Err(invalid_grant("invalid assertion").into());
        };
        check_horizon(expires_at, now)?;
        // JB-07: a `jti` is required.
        let Some(jti) = claims.jwt_id() else {
            return Err(invalid_grant("assertion without jti").into());
        };
        // JB-04: the host maps the subject, or refuses.
        let assertion = Assertion {
            client,
            issuer: trusted.issuer(),
            subject,
            claims,
        };
        let Some(mapped) = self.policy.map(&assertion).await? else {
            return Err(invalid_grant("assertion subject not accepted").into());
        };
        // JB-10
        let scope = granted_scope(&mapped.scope, client, request.param("scope"))?;
        // RFC 8707 §2: the `resource` values, as for every grant, before the `jti` is spent.
        let audience = request.requested_resources(&scope)?;
        // JB-07: single use per issuer, until the assertion can no longer be accepted.
        let key = SingleUseKind::JwtBearerAssertion.key(trusted.issuer(), jti);
        let until = expires_at.checked_add(REPLAY_MARGIN).unwrap_or(expires_at);
        if self.single_use.consume(&key, until, now).await? == Consumption::Replayed {
            return Err(invalid_grant("assertion already used").into());
        }
        // JB-11: no longer than the assertion plus the margin; no refresh token.
        let not_after = expires_at.checked_add(self.margin).unwrap_or(expires_at);
        Ok(TokenGrant::new(scope)
            .with_subject(mapped.subject)
            .with_audience(audience)
            .expiring_by(not_after))
    }
}
