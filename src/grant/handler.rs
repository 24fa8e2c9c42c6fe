//! The extension seam of the token endpoint: a [`GrantHandler`] per
//! `grant_type` gets a [`GrantRequest`] and decides a [`TokenGrant`]; the server mints,
//! stores and renders the tokens the same way for every grant.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::config::ResourceConfig;
use crate::error::{OAuthError, Rejection};
use crate::grant::resolve_scope;
use crate::grant::resource::{Requested, resolve_resources, token_audience};
use crate::params::Form;
use crate::secret::TokenHash;
use crate::store::OpenIdContext;
use crate::types::{Actor, Client, GrantId, Resources, Scope, Subject};

/// A token request after the common checks, handed to the [`GrantHandler`] of its
/// `grant_type`.
///
/// By the time a handler sees it, the method, content type and form syntax are checked
/// ([RFC 6749 §3.2]..[RFC 6749 §2.3.1]), the client is authenticated ([RFC 6749 §2.3.1]..[RFC 6749
/// §2.3.1]) and allowed this grant type
/// ([RFC 6749 §5.2]). The handler reads its own parameters with [`param`](Self::param) and applies
/// its grant's rules.
///
/// It is a struct rather than an enum with one variant per grant type: a closed enum would
/// make every extension grant an edit of the core. The "variant" is the handler the
/// registry picks.
///
/// [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2
/// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
/// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
pub struct GrantRequest<'a> {
    pub(crate) grant_type: &'a str,
    pub(crate) client: &'a Client,
    pub(crate) form: &'a Form<'a>,
    pub(crate) now: SystemTime,
    pub(crate) issuer: &'a str,
    pub(crate) resources: &'a ResourceConfig,
    /// The token endpoint call, for the events of the grant (replays, lockouts).
    pub(crate) call: &'a crate::observe::call::Call<'a>,
    /// The thumbprint of the key of the request's verified DPoP proof, if any.
    pub(crate) dpop_jkt: Option<&'a str>,
}

impl GrantRequest<'_> {
    /// The `grant_type`.
    pub fn grant_type(&self) -> &str {
        self.grant_type
    }

    /// The authenticated client.
    pub fn client(&self) -> &Client {
        self.client
    }

    /// The value of body parameter `name`: present once and non-empty, form-decoded.
    /// `resource`, which may repeat, is read with
    /// [`requested_resources`](Self::requested_resources) instead (this gives only its
    /// first value).
    ///
    /// # Security
    /// Parameters may carry secrets (codes, refresh tokens, passwords). Do not log them.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form.get(name)
    }

    /// The tokens of an existing grant (a code's, an approved device request's) of `scope`
    /// and `resources`: the access token for the request's `resource` values among the
    /// granted ones (all of them without any), its scope narrowed to what they define; the
    /// refresh token keeps the whole grant ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub(crate) fn tokens_of_grant(
        &self,
        grant_id: GrantId,
        scope: Scope,
        resources: Resources,
    ) -> Result<TokenGrant, OAuthError> {
        let (audience, access_scope) = token_audience(
            self.resources,
            self.client,
            &resources,
            self.resource_values(),
            &scope,
        )?;
        let narrowed = audience != resources || access_scope != scope;
        let mut tokens = TokenGrant::for_grant(grant_id, access_scope).with_audience(audience);
        if narrowed {
            tokens.whole_grant = Some((scope, resources));
        }
        Ok(tokens)
    }

    /// The raw `resource` values, in request order (it may repeat, [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub(crate) fn resource_values(&self) -> impl Iterator<Item = &str> + '_ {
        self.form.get_all("resource")
    }

    /// Every value of body parameter `name`, in request order: for the parameters that
    /// may repeat, `resource`
    /// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)) and `audience`
    /// ([RFC 8693 §2.1](https://www.rfc-editor.org/rfc/rfc8693#section-2.1)). Any other
    /// name is refused when repeated before a handler runs, so this gives at most one value
    /// for it.
    pub fn param_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.form.get_all(name)
    }

    /// The [RFC 7638](https://www.rfc-editor.org/rfc/rfc7638) thumbprint of the key whose
    /// DPoP proof the request carried and the server verified
    /// ([RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5)), or `None` for a
    /// request without one. The access token the server issues is bound to that key; a
    /// grant bound to a key of its own compares it with this.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.dpop_jkt
    }

    /// The server's current time.
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// The server's issuer identifier.
    pub fn issuer(&self) -> &str {
        self.issuer
    }

    /// The `scope` parameter resolved against the client's registration: malformed or not
    /// allowed gives `invalid_scope`, absent gives the client's default scope ([RFC 6749
    /// §3.3]..03).
    ///
    /// # Errors
    /// `invalid_scope`, ready to return from a handler.
    ///
    /// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
    pub fn requested_scope(&self) -> Result<Scope, OAuthError> {
        resolve_scope(self.client, self.param("scope"))
    }

    /// The audience of a token for a new grant: the `resource` values
    /// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)) resolved against
    /// the server's registered resources and what the client may use, for `scope` (the
    /// resolved [`requested_scope`](Self::requested_scope)). Repeated values collapse;
    /// without any, the server's default resource, if any. Put the result in
    /// [`TokenGrant::with_audience`].
    ///
    /// # Errors
    /// `invalid_target` for a malformed or unknown resource, one the client may not use,
    /// several at once for a client without
    /// [`allow_multiple_audiences`](crate::DangerousClient::allow_multiple_audiences), a
    /// scope the resource does not define, or none where the server requires one
    /// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub fn requested_resources(&self, scope: &Scope) -> Result<Resources, OAuthError> {
        resolve_resources(
            self.resources,
            self.client,
            self.resource_values(),
            scope,
            Requested::Token,
        )
    }
}

impl fmt::Debug for GrantRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Parameter values are left out: they may be secrets.
        f.debug_struct("GrantRequest")
            .field("grant_type", &self.grant_type)
            .field("client_id", self.client.id())
            .finish_non_exhaustive()
    }
}

/// What a [`GrantHandler`] decided to issue. The server mints the tokens, stores their
/// records and renders the response, the same way for every grant.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenGrant {
    /// The grant the tokens belong to, or `None` for a new grant, whose id the server
    /// draws from its [`Random`](crate::random::Random) when it issues the tokens.
    pub grant_id: Option<GrantId>,
    /// The resource owner, or `None` when the client acts for itself.
    pub subject: Option<Subject>,
    /// The scope to grant; always reported in the response ([RFC 6749 §3.3]).
    ///
    /// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
    pub scope: Scope,
    /// Whether to issue a refresh token too (only if the client is registered to receive
    /// them, [RFC 9700 §4.14.2]).
    ///
    /// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
    pub refresh_token: bool,
    /// The resources the access token is for (its audience, `aud`), or empty for a token
    /// not restricted to a resource.
    pub audience: Resources,
    /// The scope and resources of the whole grant, where the access token is narrowed
    /// (a refresh with a smaller `scope`, a `resource` naming one of several): the refresh
    /// token keeps them ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6), [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)). `None`: the access token's.
    pub(crate) whole_grant: Option<(Scope, Resources)>,
    /// For a delegated token: the actor chain, recorded in the token's record (and so in
    /// introspection and the guard's [`TokenInfo`](crate::guard::TokenInfo)) and handed
    /// to the [`TokenIssuer`](crate::TokenIssuer).
    pub actor: Option<Actor>,
    /// The latest expiry the tokens may have: the access token expires at the earlier of
    /// this and the server's lifetime from now, and `expires_in` says so. `None`: the
    /// server's lifetime.
    pub not_after: Option<SystemTime>,
    /// The `issued_token_type` member of the response
    /// ([RFC 8693 §2.2.1](https://www.rfc-editor.org/rfc/rfc8693#section-2.2.1)), for
    /// grants that define it.
    pub issued_token_type: Option<&'static str>,
    /// When the resource owner authenticated, if known: the `auth_time` of JWT access
    /// tokens ([RFC 9068 §2.2.1](https://www.rfc-editor.org/rfc/rfc9068#section-2.2.1)).
    pub auth_time: Option<SystemTime>,
    /// The authentication context class of the resource owner's authentication, if known:
    /// the `acr` of JWT access tokens.
    pub acr: Option<Arc<str>>,
    /// Set by the refresh grant: the presented refresh token to rotate out atomically
    /// when the new tokens are stored.
    pub(crate) rotate: Option<TokenHash>,
    /// Set by the code and refresh grants for an OpenID Connect grant: what its ID token
    /// says about the authentication (the source of `auth_time` and `acr` too, see
    /// [`with_openid`](Self::with_openid)).
    pub(crate) openid: Option<Arc<OpenIdContext>>,
}

impl TokenGrant {
    /// A new grant for `scope`: no subject, no refresh token, and a fresh grant id drawn
    /// when the tokens are issued.
    pub fn new(scope: Scope) -> Self {
        Self {
            grant_id: None,
            subject: None,
            scope,
            refresh_token: false,
            rotate: None,
            audience: Resources::empty(),
            whole_grant: None,
            actor: None,
            not_after: None,
            issued_token_type: None,
            auth_time: None,
            acr: None,
            openid: None,
        }
    }

    /// Tokens for an existing grant (a code's or a refresh token's).
    pub(crate) fn for_grant(grant_id: GrantId, scope: Scope) -> Self {
        Self {
            grant_id: Some(grant_id),
            ..Self::new(scope)
        }
    }

    /// Tokens that join the existing grant `grant_id`: revoking that grant revokes them
    /// too (the lineage of an exchanged token, say). A grant id is a handle on other
    /// clients' tokens: take it only from a token record the handler has validated.
    #[must_use]
    pub fn in_grant(mut self, grant_id: GrantId) -> Self {
        self.grant_id = Some(grant_id);
        self
    }

    /// Records `actor` as acting on the subject's behalf (delegation).
    #[must_use]
    pub fn with_actor(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    /// Caps the tokens' expiry at `not_after` (see [`not_after`](Self::not_after)).
    #[must_use]
    pub fn expiring_by(mut self, not_after: SystemTime) -> Self {
        self.not_after = Some(not_after);
        self
    }

    /// Sets the response's `issued_token_type`.
    #[must_use]
    pub fn with_issued_token_type(mut self, token_type: &'static str) -> Self {
        self.issued_token_type = Some(token_type);
        self
    }

    /// Restricts the tokens to `audience`, the resources they are for (`aud`), which a
    /// [`BearerGuard`](crate::guard::BearerGuard) checks against its own resource
    /// identifier ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1), [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)): usually [`GrantRequest::requested_resources`].
    #[must_use]
    pub fn with_audience(mut self, audience: Resources) -> Self {
        self.audience = audience;
        self
    }

    /// The scope and resources the refresh token keeps: the whole grant's.
    pub(crate) fn refresh_bounds(&self) -> (&Scope, &Resources) {
        match &self.whole_grant {
            Some((scope, resources)) => (scope, resources),
            None => (&self.scope, &self.audience),
        }
    }

    /// Sets the subject.
    #[must_use]
    pub fn with_subject(mut self, subject: Subject) -> Self {
        self.subject = Some(subject);
        self
    }

    /// Records when and how the resource owner authenticated (`auth_time`, and `acr` when
    /// given), for the access tokens that carry them.
    #[must_use]
    pub fn with_authentication(mut self, auth_time: SystemTime, acr: Option<&str>) -> Self {
        self.auth_time = Some(auth_time);
        self.acr = acr.map(Arc::from);
        self
    }

    /// Asks for a refresh token.
    #[must_use]
    pub fn with_refresh_token(mut self) -> Self {
        self.refresh_token = true;
        self
    }

    /// The OpenID Connect context of the grant (a code's or a refresh token's), if any: the
    /// authentication its ID tokens report, which is also where its JWT access tokens take
    /// their `auth_time` and `acr` from, so the two never disagree.
    pub(crate) fn with_openid(mut self, openid: Option<Arc<OpenIdContext>>) -> Self {
        if let Some(context) = &openid {
            self.auth_time = context.auth_time;
            self.acr = context.acr.clone();
        }
        self.openid = openid;
        self
    }
}

/// The rules of one grant type at the token endpoint. Built-in grants
/// are handlers too; extension grants (token exchange, JWT bearer, ...) register theirs with
/// [`ServerBuilder::grant_handler`](crate::ServerBuilder::grant_handler).
///
/// ```
/// use async_trait::async_trait;
/// use grantflow::GrantRequest;
/// use grantflow::grant::{GrantHandler, Rejection, TokenGrant};
///
/// /// A toy extension grant: issues the requested scope to any client allowed to use it.
/// #[derive(Debug)]
/// struct Example;
///
/// #[async_trait]
/// impl GrantHandler for Example {
///     fn grant_type(&self) -> &str {
///         "urn:example:grant"
///     }
///
///     async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
///         Ok(TokenGrant::new(request.requested_scope()?))
///     }
/// }
/// ```
#[async_trait]
pub trait GrantHandler: Send + Sync + fmt::Debug {
    /// The `grant_type` value this handler serves.
    fn grant_type(&self) -> &str;

    /// Whether a client that does not authenticate must still name itself with
    /// `client_id`, as in the authorization code grant (RFC 6749 §3.2.1, §4.1.3) and the
    /// device code grant (RFC 8628 §3.4). For such a grant, a request with no client
    /// identification at all lacks a required parameter: it gets `invalid_request`
    /// ([RFC 6749 §3.2.1]) rather than the 401 `invalid_client` of a failed authentication.
    /// Default:
    /// `false`.
    ///
    /// [RFC 6749 §3.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2.1
    fn requires_client_id(&self) -> bool {
        false
    }

    /// Applies the grant's rules and decides what to issue.
    ///
    /// # Errors
    /// [`Rejection::Refused`] to refuse the request, [`Rejection::Fault`] for a fault of
    /// a store or plug-in.
    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection>;
}
