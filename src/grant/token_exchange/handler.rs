//! The token exchange grant at the token endpoint, written as any extension grant is: a
//! [`GrantHandler`] over public API only.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use super::policy::{
    Exchange, ExchangeDecision, ExchangePolicy, Issuance, TokenType, ValidatedToken,
};
use super::{Params, check_may_act, delegated_chain, invalid_target, narrowed_scope, parse};
use crate::error::{ErrorCode, OAuthError, Rejection};
#[cfg(feature = "oidc")]
use crate::grant::trusted::unverified_issuer;
#[cfg(feature = "jwt")]
use crate::grant::trusted::{TrustedIssuer, issuer_of};
use crate::grant::{GrantHandler, GrantRequest, TokenGrant};
#[cfg(feature = "oidc")]
use crate::jose::{KeySet, Validation};
use crate::secret::TokenHash;
use crate::store::{RefreshLookup, TokenKind, TokenRecord, TokenStore};
use crate::types::{Actor, Client};

/// The token exchange grant
/// ([RFC 8693](https://www.rfc-editor.org/rfc/rfc8693),
/// `urn:ietf:params:oauth:grant-type:token-exchange`): a client presents a subject token
/// (and optionally an actor token) and gets an access token for another audience or a
/// narrower scope, on the subject's behalf.
///
/// It is an ordinary [`GrantHandler`]: register it with
/// [`ServerBuilder::grant_handler`](crate::ServerBuilder::grant_handler) and allow the
/// grant type on the clients that may use it
/// ([`ClientBuilder::grant_type`](crate::ClientBuilder::grant_type)). The metadata then
/// lists it in `grant_types_supported`; without it, the grant does not exist.
///
/// What it does, in order:
/// 1. Only confidential clients (authenticated by the token endpoint) may exchange; a
///    public client gets `unauthorized_client`. Without an [`ExchangePolicy`], every
///    request gets `unauthorized_client`.
/// 2. The parameters of [RFC 8693 §2.1](https://www.rfc-editor.org/rfc/rfc8693#section-2.1):
///    `subject_token` and `subject_token_type` required, `actor_token_type` exactly when
///    `actor_token` is sent, `resource` and `audience` may repeat (a `resource` must be an
///    absolute URI without fragment, else `invalid_target`), `requested_token_type` absent
///    or an access token (the only kind issued).
/// 3. The subject and actor tokens are validated as their type requires: an access or
///    refresh token must be one this server issued, active and unexpired (looked up in the
///    token store by digest); a JWT or ID token must come from a [`TrustedIssuer`] (feature
///    `jwt`), or be an ID token this server issued to the requesting client when
///    [`accept_own_id_tokens`](Self::accept_own_id_tokens) is on (feature `oidc`). SAML
///    assertions are never accepted. Any failure is `invalid_request`
///    ([RFC 8693 §2.2.2](https://www.rfc-editor.org/rfc/rfc8693#section-2.2.2)).
/// 4. A `may_act` claim in the subject token must name the actor (the actor token's
///    subject, or the client when there is none), else `invalid_request`
///    ([RFC 8693 §4.4](https://www.rfc-editor.org/rfc/rfc8693#section-4.4)).
/// 5. The policy decides, with all of it in hand.
/// 6. Unless the policy explicitly says otherwise, the issued token's scope is at most the
///    subject token's scope within the client's allowed scopes (`invalid_scope` beyond
///    it), and it expires no later than the subject token.
/// 7. By delegation, the token records the actor in `act`, nesting the subject token's
///    own chain ([RFC 8693 §4.1](https://www.rfc-editor.org/rfc/rfc8693#section-4.1));
///    introspection shows it and the bearer guard's
///    [`TokenInfo::actor`](crate::guard::TokenInfo::actor) returns the current actor.
/// 8. A token exchanged from a token of this server joins the subject token's grant:
///    revoking that grant (revoking the subject's refresh token, or a detected refresh
///    token reuse) revokes the exchanged tokens too. No refresh token is issued.
///
/// The response carries `issued_token_type`
/// ([RFC 8693 §2.2.1](https://www.rfc-editor.org/rfc/rfc8693#section-2.2.1)).
#[derive(Debug, Clone)]
pub struct TokenExchange {
    tokens: Arc<dyn TokenStore>,
    policy: Option<Arc<dyn ExchangePolicy>>,
    #[cfg(feature = "jwt")]
    trusted: Vec<TrustedIssuer>,
    #[cfg(feature = "oidc")]
    own_id_tokens: Option<KeySet>,
}

impl TokenExchange {
    /// The grant type identifier, `urn:ietf:params:oauth:grant-type:token-exchange`.
    pub const GRANT_TYPE: &'static str = "urn:ietf:params:oauth:grant-type:token-exchange";

    /// The grant, validating this server's tokens in `tokens` (the server's token store).
    /// It refuses everything until it is given a [`policy`](Self::policy).
    pub fn new(tokens: Arc<dyn TokenStore>) -> Self {
        Self {
            tokens,
            policy: None,
            #[cfg(feature = "jwt")]
            trusted: Vec::new(),
            #[cfg(feature = "oidc")]
            own_id_tokens: None,
        }
    }

    /// The host's policy.
    #[must_use]
    pub fn policy(mut self, policy: Arc<dyn ExchangePolicy>) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Accepts JWTs and ID tokens from `issuer` as subject and actor tokens.
    #[cfg(feature = "jwt")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
    #[must_use]
    pub fn trust(mut self, issuer: TrustedIssuer) -> Self {
        self.trusted.push(issuer);
        self
    }

    /// Accepts ID tokens this server issued as subject and actor tokens
    /// (`urn:ietf:params:oauth:token-type:id_token`), verified with `keys` (the server's
    /// [`signing_keys`](crate::ServerBuilder::signing_keys)): signature by a published key,
    /// `iss` this server, unexpired, and `aud` naming the requesting client (a client
    /// exchanges the ID tokens it received, no other's), with `azp` equal to it when the
    /// token has several audiences
    /// ([OpenID Connect Core §3.1.3.7](https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation)).
    ///
    /// The token's `sub` is this server's own subject, so the policy need not map it, but
    /// an ID token carries no scope: unless the policy's [`Issuance`] names one, the issued
    /// token has only the scope the client asks for within an empty subject scope, which is
    /// none. The issued token expires with the ID token unless the policy says otherwise,
    /// and belongs to no grant (an ID token cannot be revoked). A pairwise client's ID
    /// tokens carry a pairwise `sub`
    /// ([OpenID Connect Core §8.1](https://openid.net/specs/openid-connect-core-1_0.html#PairwiseAlg)),
    /// which is not a subject of this server: they are refused.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use grantflow::MemoryTokenStore;
    /// use grantflow::grant::TokenExchange;
    /// use grantflow::jose::{KeySet, MemoryKeySetStore};
    ///
    /// let keys = KeySet::builder("https://as.example.com", Arc::new(MemoryKeySetStore::new()))
    ///     .build()?;
    /// let exchange = TokenExchange::new(Arc::new(MemoryTokenStore::new()))
    ///     .accept_own_id_tokens(keys.clone());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    #[must_use]
    pub fn accept_own_id_tokens(mut self, keys: KeySet) -> Self {
        self.own_id_tokens = Some(keys);
        self
    }

    /// Validates one subject or actor token as its type requires ([RFC 8693 §2.1]).
    ///
    /// [RFC 8693 §2.1]: https://www.rfc-editor.org/rfc/rfc8693#section-2.1
    async fn validate(
        &self,
        token: &str,
        token_type: TokenType,
        request: &GrantRequest<'_>,
        what: &'static str,
    ) -> Result<ValidatedToken, Rejection> {
        let now = request.now();
        let record = match token_type {
            TokenType::AccessToken => self
                .tokens
                .find(&TokenHash::of(token))
                .await?
                .filter(|r| r.kind == TokenKind::Access),
            TokenType::RefreshToken => match self.tokens.find_refresh(&TokenHash::of(token)).await?
            {
                Some(RefreshLookup::Active(r)) if r.kind == TokenKind::Refresh => Some(r),
                _ => None,
            },
            #[cfg(feature = "oidc")]
            TokenType::IdToken if self.own_id_tokens.is_some() && self.is_own(token, request) => {
                return self.validate_own_id_token(token, request, what).await;
            }
            TokenType::Jwt | TokenType::IdToken => {
                return self.validate_jwt(token, token_type, request.issuer(), now, what);
            }
            TokenType::Saml1 | TokenType::Saml2 => None,
        };
        match record.filter(|r| r.is_valid_at(now)) {
            Some(record) => Ok(local_token(record, token_type, request.issuer())),
            None => Err(refused(what).into()),
        }
    }

    #[cfg(feature = "jwt")]
    fn validate_jwt(
        &self,
        token: &str,
        token_type: TokenType,
        issuer: &str,
        now: SystemTime,
        what: &'static str,
    ) -> Result<ValidatedToken, Rejection> {
        let verified = issuer_of(&self.trusted, token)
            .and_then(|trusted| {
                let ours = std::iter::once(issuer);
                trusted
                    .verify(token, now, ours.chain(trusted.extra_audiences()), None)
                    .ok()
            })
            .ok_or_else(|| refused(what))?;
        let claims = verified.claims();
        let string = |name: &str| claims.get(name).and_then(|v| v.as_str());
        let actor_claim = |name: &str| match claims.get(name) {
            None => Ok(None),
            Some(value) => Actor::from_claim(value)
                .map(Some)
                .ok_or_else(|| refused(what)),
        };
        let scope = match string("scope") {
            Some(text) => crate::types::Scope::parse(text).map_err(|_| refused(what))?,
            None => crate::types::Scope::empty(),
        };
        let (Some(issuer), Some(subject), Some(expires_at)) =
            (claims.issuer(), claims.subject(), claims.expires_at())
        else {
            return Err(refused(what).into());
        };
        Ok(ValidatedToken {
            token_type,
            issuer: Arc::from(issuer),
            subject: Some(crate::types::Subject::new(subject)),
            client_id: string("client_id")
                .or_else(|| string("azp"))
                .and_then(|id| crate::types::ClientId::new(id).ok()),
            scope,
            expires_at,
            audience: claims
                .audience()
                .iter()
                .map(|a| Arc::from(a.as_str()))
                .collect(),
            actor: actor_claim("act")?,
            may_act: actor_claim("may_act")?,
            grant_id: None,
            local: false,
        })
    }

    /// Whether `token` names this server as its issuer (before any verification).
    #[cfg(feature = "oidc")]
    fn is_own(&self, token: &str, request: &GrantRequest<'_>) -> bool {
        unverified_issuer(token).is_some_and(|iss| iss == request.issuer())
    }

    /// An ID token this server issued to the requesting client (see
    /// [`accept_own_id_tokens`](Self::accept_own_id_tokens)).
    #[cfg(feature = "oidc")]
    async fn validate_own_id_token(
        &self,
        token: &str,
        request: &GrantRequest<'_>,
        what: &'static str,
    ) -> Result<ValidatedToken, Rejection> {
        let (Some(keys), client) = (&self.own_id_tokens, request.client()) else {
            return Err(refused(what).into());
        };
        if client.subject_type() == crate::types::SubjectType::Pairwise {
            return Err(refused(what).into());
        }
        let now = request.now();
        let published = keys
            .public_keys(now)
            .await
            .map_err(crate::oidc::authorize::key_set_fault)?;
        let verified = Validation::id_token(request.issuer(), client.id())
            .verify(token, &published, now)
            .map_err(|_| refused(what))?;
        let claims = verified.claims();
        let audience = claims.audience();
        let azp = claims.get("azp").and_then(|v| v.as_str());
        if audience.len() > 1 && azp != Some(client.id().as_str()) {
            return Err(refused(what).into());
        }
        let (Some(subject), Some(expires_at)) = (claims.subject(), claims.expires_at()) else {
            return Err(refused(what).into());
        };
        Ok(ValidatedToken {
            token_type: TokenType::IdToken,
            issuer: Arc::from(request.issuer()),
            subject: Some(crate::types::Subject::new(subject)),
            client_id: Some(client.id().clone()),
            scope: crate::types::Scope::empty(),
            expires_at,
            audience: audience.iter().map(|a| Arc::from(a.as_str())).collect(),
            actor: None,
            may_act: None,
            grant_id: None,
            local: true,
        })
    }

    #[cfg(not(feature = "jwt"))]
    fn validate_jwt(
        &self,
        _token: &str,
        _token_type: TokenType,
        _issuer: &str,
        _now: SystemTime,
        what: &'static str,
    ) -> Result<ValidatedToken, Rejection> {
        // Without the JOSE layer there are no trusted issuers.
        Err(refused(what).into())
    }
}

/// What a token record of this server says, as a [`ValidatedToken`].
fn local_token(record: TokenRecord, token_type: TokenType, issuer: &str) -> ValidatedToken {
    ValidatedToken {
        token_type,
        issuer: Arc::from(issuer),
        subject: record.subject,
        client_id: Some(record.client_id),
        scope: record.scope,
        expires_at: record.expires_at,
        audience: record.audience.into_iter().collect(),
        actor: record.actor,
        may_act: None,
        grant_id: Some(record.grant_id),
        local: true,
    }
}

/// [RFC 8693 §2.1], [RFC 8693 §2.2.2]: an invalid or unacceptable subject or actor token is
/// `invalid_request`,
/// not `invalid_grant`. The description names which token, never why: whether a token
/// exists, expired or was revoked is not told to another client.
///
/// [RFC 8693 §2.1]: https://www.rfc-editor.org/rfc/rfc8693#section-2.1
/// [RFC 8693 §2.2.2]: https://www.rfc-editor.org/rfc/rfc8693#section-2.2.2
fn refused(what: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(what)
}

fn unauthorized(description: &'static str) -> Rejection {
    OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
        .with_description(description)
        .into()
}

#[async_trait]
impl GrantHandler for TokenExchange {
    fn grant_type(&self) -> &str {
        Self::GRANT_TYPE
    }

    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
        let client = request.client();
        // TX-01: an unauthenticated exchange would let anyone holding a leaked token mint
        // new ones.
        if client.is_public() {
            return Err(unauthorized(
                "token exchange is for confidential clients only",
            ));
        }
        // TX-08: no policy, no exchange.
        let Some(policy) = &self.policy else {
            return Err(unauthorized("token exchange is not enabled"));
        };
        let params = parse(
            |name| request.param(name),
            |name| request.param_values(name).collect(),
        )?;
        let subject = self
            .validate(
                params.subject_token,
                params.subject_type,
                request,
                "invalid subject_token",
            )
            .await?;
        let actor = match params.actor {
            Some((token, token_type)) => Some(
                self.validate(token, token_type, request, "invalid actor_token")
                    .await?,
            ),
            None => None,
        };
        // TX-13: the actor is the actor token's subject, or the client without one.
        let acting = actor.as_ref().map_or_else(
            || Actor::new(client.id().as_str()),
            ValidatedToken::identity,
        );
        check_may_act(subject.may_act.as_ref(), &acting)?;
        let exchange = Exchange {
            client,
            subject: &subject,
            actor: actor.as_ref(),
            resources: &params.resources,
            audiences: &params.audiences,
            scope: params.scope.as_ref(),
            requested_token_type: params.requested_type,
        };
        let issuance = match policy.decide(&exchange).await? {
            ExchangeDecision::Issue(issuance) => issuance,
            ExchangeDecision::Refuse => {
                return Err(refused("the exchange is not acceptable by policy").into());
            }
            ExchangeDecision::RefuseTarget => {
                return Err(invalid_target("no token for this resource or audience").into());
            }
            ExchangeDecision::RefuseClient => {
                return Err(unauthorized("the client may not make this exchange"));
            }
        };
        issue(client, &params, &subject, acting, issuance)
    }
}

/// [RFC 8693 §2.2.1], [RFC 8693 §2.1]..[RFC 8693 §4.1], [RFC 8693 §4.2]: the token the policy's
/// [`Issuance`] describes.
///
/// [RFC 8693 §2.2.1]: https://www.rfc-editor.org/rfc/rfc8693#section-2.2.1
/// [RFC 8693 §2.1]: https://www.rfc-editor.org/rfc/rfc8693#section-2.1
/// [RFC 8693 §4.1]: https://www.rfc-editor.org/rfc/rfc8693#section-4.1
/// [RFC 8693 §4.2]: https://www.rfc-editor.org/rfc/rfc8693#section-4.2
fn issue(
    client: &Client,
    params: &Params<'_>,
    subject: &ValidatedToken,
    acting: Actor,
    issuance: Issuance,
) -> Result<TokenGrant, Rejection> {
    let scope = match issuance.scope {
        Some(scope) => scope,
        None => narrowed_scope(&subject.scope, client, params.scope.as_ref())?,
    };
    // A foreign `sub` is in its issuer's namespace: only the policy maps it to ours.
    let holder = match (issuance.subject, &subject.subject) {
        (Some(mapped), _) => mapped,
        (None, Some(own)) if subject.is_local() => own.clone(),
        (None, _) => {
            return Err(refused("the subject token's subject is not mapped by policy").into());
        }
    };
    let mut targets = params.resources.iter().chain(&params.audiences);
    let audience = match (issuance.audience, targets.next(), targets.next()) {
        (Some(chosen), _, _) => Some(chosen),
        (None, Some(only), None) => Some(Arc::from(*only)),
        (None, None, _) => None,
        (None, Some(_), Some(_)) => {
            return Err(invalid_target("one resource or audience per token").into());
        }
    };
    let mut grant = TokenGrant::new(scope)
        .with_subject(holder)
        .with_issued_token_type(TokenType::AccessToken.uri());
    grant.audience = audience;
    if let Some(grant_id) = subject.grant_id.filter(|_| subject.is_local()) {
        // TX-10: revoking the subject's grant revokes the exchanged token.
        grant = grant.in_grant(grant_id);
    }
    if !issuance.outlives_subject {
        grant = grant.expiring_by(subject.expires_at);
    }
    if issuance.delegation {
        grant = grant.with_actor(delegated_chain(acting, subject.actor.as_ref())?);
    }
    Ok(grant)
}
