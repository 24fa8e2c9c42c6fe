//! What the host's [`ExchangePolicy`] sees and decides.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::StorageError;
use crate::types::{Actor, Client, ClientId, GrantId, Scope, Subject};

/// A token type identifier of [RFC 8693 §3](https://www.rfc-editor.org/rfc/rfc8693#section-3),
/// compared exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenType {
    /// `urn:ietf:params:oauth:token-type:access_token`
    AccessToken,
    /// `urn:ietf:params:oauth:token-type:refresh_token`
    RefreshToken,
    /// `urn:ietf:params:oauth:token-type:id_token`
    IdToken,
    /// `urn:ietf:params:oauth:token-type:jwt`
    Jwt,
    /// `urn:ietf:params:oauth:token-type:saml1` (never accepted)
    Saml1,
    /// `urn:ietf:params:oauth:token-type:saml2` (never accepted)
    Saml2,
}

impl TokenType {
    /// The identifier.
    pub const fn uri(self) -> &'static str {
        match self {
            Self::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
            Self::RefreshToken => "urn:ietf:params:oauth:token-type:refresh_token",
            Self::IdToken => "urn:ietf:params:oauth:token-type:id_token",
            Self::Jwt => "urn:ietf:params:oauth:token-type:jwt",
            Self::Saml1 => "urn:ietf:params:oauth:token-type:saml1",
            Self::Saml2 => "urn:ietf:params:oauth:token-type:saml2",
        }
    }

    /// The type an identifier names, compared exactly (no case folding).
    pub fn parse(uri: &str) -> Option<Self> {
        [
            Self::AccessToken,
            Self::RefreshToken,
            Self::IdToken,
            Self::Jwt,
            Self::Saml1,
            Self::Saml2,
        ]
        .into_iter()
        .find(|t| t.uri() == uri)
    }
}

/// A subject or actor token after validation: what it says, never its value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidatedToken {
    /// The type it was presented as.
    pub token_type: TokenType,
    /// Who issued it: this server's issuer identifier, or a trusted issuer's.
    pub issuer: Arc<str>,
    /// Its subject (`sub`); `None` for a token of this server that acts for its client.
    pub subject: Option<Subject>,
    /// The client it was issued to, where known (this server's tokens; `client_id` or
    /// `azp` of a JWT).
    pub client_id: Option<ClientId>,
    /// Its scope (empty for a JWT without a `scope` claim).
    pub scope: Scope,
    /// When it expires.
    pub expires_at: SystemTime,
    /// Its audience (`aud`), if restricted.
    pub audience: Vec<Arc<str>>,
    /// The actors it was already delegated to (its `act`), current first.
    pub actor: Option<Actor>,
    /// Who may act for its subject (`may_act`,
    /// [RFC 8693 §4.4](https://www.rfc-editor.org/rfc/rfc8693#section-4.4)); the server
    /// enforces it before asking the policy.
    pub may_act: Option<Actor>,
    /// The grant of this server it belongs to (lineage of the exchanged token).
    pub(crate) grant_id: Option<GrantId>,
    /// Whether this server issued it.
    pub(crate) local: bool,
}

impl ValidatedToken {
    /// Whether this server issued the token (otherwise a trusted issuer did).
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// The identity the token stands for as an actor: its `sub` (or, for a token of this
    /// server without subject, its client), with `iss` when a trusted issuer issued it.
    pub fn identity(&self) -> Actor {
        let subject = match (&self.subject, &self.client_id) {
            (Some(subject), _) => subject.as_str(),
            (None, Some(client)) => client.as_str(),
            (None, None) => "",
        };
        let actor = Actor::new(subject);
        if self.local {
            actor
        } else {
            actor.with_issuer(&self.issuer)
        }
    }
}

/// A token exchange request after every protocol check, for the [`ExchangePolicy`] to
/// decide.
#[derive(Debug)]
#[non_exhaustive]
pub struct Exchange<'a> {
    /// The authenticated, confidential client asking.
    pub client: &'a Client,
    /// The validated subject token.
    pub subject: &'a ValidatedToken,
    /// The validated actor token, if one was sent.
    pub actor: Option<&'a ValidatedToken>,
    /// The `resource` values (absolute URIs), in request order.
    pub resources: &'a [&'a str],
    /// The `audience` values (logical names), in request order.
    pub audiences: &'a [&'a str],
    /// The requested `scope`, if any.
    pub scope: Option<&'a Scope>,
    /// The requested token type (an access token: the only kind issued).
    pub requested_token_type: TokenType,
}

/// The policy's answer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ExchangeDecision {
    /// Issue a token, as [`Issuance`] says.
    Issue(Issuance),
    /// The subject or actor token is unacceptable for this exchange: `invalid_request`
    /// ([RFC 8693 §2.2.2](https://www.rfc-editor.org/rfc/rfc8693#section-2.2.2)).
    Refuse,
    /// The server will not issue a token for the requested `resource` or `audience`:
    /// `invalid_target`.
    RefuseTarget,
    /// This client may not exchange tokens (or not this way): `unauthorized_client`.
    RefuseClient,
}

impl From<Issuance> for ExchangeDecision {
    fn from(issuance: Issuance) -> Self {
        Self::Issue(issuance)
    }
}

/// How to issue an exchanged token: by delegation or impersonation, for which audience,
/// and where the policy explicitly goes beyond the narrowing defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuance {
    pub(crate) delegation: bool,
    pub(crate) audience: Option<Arc<str>>,
    pub(crate) scope: Option<Scope>,
    pub(crate) subject: Option<Subject>,
    pub(crate) outlives_subject: bool,
}

impl Issuance {
    fn new(delegation: bool) -> Self {
        Self {
            delegation,
            audience: None,
            scope: None,
            subject: None,
            outlives_subject: false,
        }
    }

    /// Delegation: the actor (the actor token's subject, or the client when there is no
    /// actor token) is recorded in `act`, the subject token's own chain nested inside
    /// ([RFC 8693 §1.1](https://www.rfc-editor.org/rfc/rfc8693#section-1.1)).
    pub fn delegation() -> Self {
        Self::new(true)
    }

    /// Impersonation: the token is issued for the subject with no trace of the actor.
    pub fn impersonation() -> Self {
        Self::new(false)
    }

    /// The resource the token is for (its `aud`): the identifier of a resource registered
    /// with [`ServerBuilder::resource`](crate::ServerBuilder::resource) that the client may
    /// use. This is how a logical `audience` name of the request
    /// ([RFC 8693 §2.1](https://www.rfc-editor.org/rfc/rfc8693#section-2.1)) maps onto a
    /// resource: `audience=billing` may become `https://billing.example.com/api`. Anything
    /// else gets `invalid_target`. Without it: the request's `resource` values and those
    /// `audience` values that are registered resource identifiers, checked as for every
    /// grant (one resource unless the client may have several); an `audience` that names
    /// no registered resource is `invalid_target`.
    #[must_use]
    pub fn audience(mut self, audience: &str) -> Self {
        self.audience = Some(Arc::from(audience));
        self
    }

    /// Issues `scope` instead of the default (the requested scope within the subject
    /// token's and the client's allowed scopes). This is how a policy explicitly
    /// **widens** a scope: nothing else does.
    #[must_use]
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The issued token's subject. Required for a subject token from a trusted issuer,
    /// whose `sub` belongs to that issuer's namespace: the policy maps it to a local
    /// subject. For a token of this server, it replaces the token's own subject.
    #[must_use]
    pub fn subject(mut self, subject: Subject) -> Self {
        self.subject = Some(subject);
        self
    }

    /// Lets the issued token live the server's full access token lifetime even past the
    /// subject token's expiry. Without it, it expires no later than the subject token.
    #[must_use]
    pub fn outliving_subject(mut self) -> Self {
        self.outlives_subject = true;
        self
    }
}

/// The host's rules for token exchange: which client may exchange which subject token,
/// for which audience and scope, by delegation or impersonation
/// ([RFC 8693 §1.1, §5](https://www.rfc-editor.org/rfc/rfc8693#section-5)). Only the host
/// can decide this, so there is no permissive default: a [`TokenExchange`] without a
/// policy refuses every request with `unauthorized_client`.
///
/// The policy runs after every protocol check: the client is authenticated and
/// confidential, the subject (and actor) token is valid and `may_act` is satisfied.
///
/// [`TokenExchange`]: crate::grant::TokenExchange
#[async_trait]
pub trait ExchangePolicy: Send + Sync + fmt::Debug {
    /// Decides one exchange.
    ///
    /// # Errors
    /// A fault of the policy's own backend; the client gets `server_error`.
    async fn decide(&self, exchange: &Exchange<'_>) -> Result<ExchangeDecision, StorageError>;
}
