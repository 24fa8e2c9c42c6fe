//! JWT access tokens issued by the [`Server`](crate::Server)
//! ([RFC 9068](https://www.rfc-editor.org/rfc/rfc9068)): the settings a host gives
//! ([`JwtAccessTokens`]) and the [`TokenIssuer`] that signs them with the server's
//! [`KeySet`].

use std::sync::Arc;

use async_trait::async_trait;

use super::access_token::{AccessTokenPayload, Audience};
use super::claims::Claims;
use super::keyset::KeySet;
use crate::error::ConfigError;
use crate::random::Random;
use crate::secret::{AccessToken, RefreshToken, random_secret};
use crate::token_issuer::{AccessTokenFormat, IssueError, TokenClaims, TokenIssuer};
use crate::types::{Client, Resources, Subject};

/// How a server issues JWT access tokens
/// ([RFC 9068](https://www.rfc-editor.org/rfc/rfc9068)), for
/// [`ServerBuilder::jwt_access_tokens`](crate::ServerBuilder::jwt_access_tokens). The tokens
/// are signed with the server's
/// [`signing_keys`](crate::ServerBuilder::signing_keys).
///
/// **Audience.** RFC 9068 requires an `aud` in every token. A token restricted to
/// resources (the resources of its grant, with resource indicators
/// ([RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)) those the request named) carries
/// them: one as a string, several as an array. Any other token carries the *default
/// audience* given here, the identifier of the resource server (or group of them) that
/// accepts the server's unrestricted tokens ([RFC 9068 §3](https://www.rfc-editor.org/rfc/rfc9068#section-3):
/// "the authorization server MUST use a default resource indicator in the `aud` claim").
/// Resource servers verify that their own identifier is in `aud`, so the default
/// audience is what they are configured with. A server with a
/// [`default_resource`](crate::ServerBuilder::default_resource) restricts every token
/// whose request names no resource to that one, so its tokens carry it instead.
///
/// **Which clients.** By default every client receives JWT access tokens, except those
/// registered for opaque ones
/// ([`ClientBuilder::access_token_format`](crate::ClientBuilder::access_token_format));
/// [`default_format`](Self::default_format) turns that around. Refresh tokens stay
/// opaque: only this server reads them.
///
/// ```
/// use grantflow::issuer::AccessTokenFormat;
/// use grantflow::jose::JwtAccessTokens;
///
/// // JWT access tokens only for the clients registered for them.
/// let settings = JwtAccessTokens::new("https://api.example.com")
///     .default_format(AccessTokenFormat::Opaque);
/// assert_eq!(settings.default_audience(), "https://api.example.com");
/// ```
#[derive(Clone, Debug)]
pub struct JwtAccessTokens {
    default_audience: Arc<str>,
    default_format: AccessTokenFormat,
}

impl JwtAccessTokens {
    /// JWT access tokens whose `aud` is `default_audience` unless the grant restricts them
    /// to resources. `default_audience` must be an absolute URI without a
    /// fragment, as resource indicators are
    /// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)); it is checked at
    /// [`ServerBuilder::build`](crate::ServerBuilder::build).
    pub fn new(default_audience: &str) -> Self {
        Self {
            default_audience: Arc::from(default_audience),
            default_format: AccessTokenFormat::Jwt,
        }
    }

    /// The format of the access tokens of clients whose registration names none. Default:
    /// [`AccessTokenFormat::Jwt`]. With [`AccessTokenFormat::Opaque`], only clients
    /// registered with [`AccessTokenFormat::Jwt`] receive JWT access tokens.
    #[must_use]
    pub fn default_format(mut self, format: AccessTokenFormat) -> Self {
        self.default_format = format;
        self
    }

    /// The `aud` of tokens that no grant restricted to resources.
    pub fn default_audience(&self) -> &str {
        &self.default_audience
    }

    /// The default audience is a resource identifier: an absolute URI without fragment.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if crate::types::ResourceUri::parse(&self.default_audience).is_err() {
            return Err(ConfigError::Setting(
                "the default audience of JWT access tokens must be an absolute URI without fragment",
            ));
        }
        Ok(())
    }
}

/// The [`TokenIssuer`] of JWT access tokens: RFC 9068 claims from the [`TokenClaims`],
/// signed by the active key of the server's [`KeySet`], with a `jti` drawn from the
/// server's [`Random`].
#[derive(Clone, Debug)]
pub(crate) struct JwtAccessTokenIssuer {
    keys: KeySet,
    settings: JwtAccessTokens,
}

impl JwtAccessTokenIssuer {
    pub(crate) fn new(keys: KeySet, settings: JwtAccessTokens) -> Self {
        Self { keys, settings }
    }

    /// The format of the access token `client` receives for `audience`: the client's
    /// registered one, else the default.
    ///
    /// A choice per resource server belongs here too: `audience` is the resources the
    /// token is restricted to, if any (resource indicators, RFC 8707).
    pub(crate) fn format_for(&self, client: &Client, audience: &Resources) -> AccessTokenFormat {
        let _ = audience;
        client
            .access_token_format()
            .unwrap_or(self.settings.default_format)
    }
}

#[async_trait]
impl TokenIssuer for JwtAccessTokenIssuer {
    /// Signs the token. `sub` is the resource owner, or for a token without one (client
    /// credentials) the `client_id` ([RFC 9068 §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)).
    /// A resource server tells the two apart by `sub` equal to `client_id`, so a token for
    /// a resource owner whose subject *is* the client's id is refused here rather than
    /// signed ambiguously ([RFC 9068 §5](https://www.rfc-editor.org/rfc/rfc9068#section-5)).
    async fn access_token(
        &self,
        claims: &TokenClaims<'_>,
        random: &dyn Random,
    ) -> Result<AccessToken, IssueError> {
        if claims
            .subject
            .is_some_and(|s| s.as_str() == claims.client_id.as_str())
        {
            return Err(IssueError::new(
                "the resource owner's subject is the client's id: a JWT access token for it could not be told from the client's own",
            ));
        }
        // TX-11: a delegated token carries its actor chain, identity claims only.
        let mut other = None;
        if let Some(actor) = claims.actor {
            let act = serde_json::from_str::<serde_json::Value>(&actor.to_json())
                .map_err(IssueError::new)?;
            other = Some(
                Claims::new()
                    .with_claim("act", act)
                    .map_err(IssueError::new)?,
            );
        }
        // EX-18: a DPoP-bound token names its key (RFC 9449 §6.1).
        if let Some(jkt) = claims.dpop_jkt {
            let cnf = serde_json::json!({ "jkt": jkt });
            other = Some(
                other
                    .unwrap_or_default()
                    .with_claim("cnf", cnf)
                    .map_err(IssueError::new)?,
            );
        }
        let jwt_id = random_secret(random);
        // The claims straight from the grant's, borrowed: what `AccessTokenClaims` would
        // hold, without copying it first.
        let payload = AccessTokenPayload {
            // RFC 9068 §3: the token's resources, else the default audience.
            audience: if claims.audience.is_empty() {
                Audience::One(&self.settings.default_audience)
            } else {
                Audience::Resources(claims.audience)
            },
            client_id: claims.client_id.as_str(),
            subject: claims
                .subject
                .map_or(claims.client_id.as_str(), Subject::as_str),
            scope: (!claims.scope.is_empty()).then(|| claims.scope.as_str()),
            issued_at: claims.issued_at,
            expires_at: claims.expires_at,
            jwt_id: &jwt_id,
            auth_time: claims.auth_time,
            acr: claims.acr,
            other: other.as_ref(),
        };
        let jwt = self
            .keys
            .sign_access_payload(&payload, claims.issued_at)
            .await
            .map_err(IssueError::new)?;
        Ok(AccessToken::from_presented(jwt))
    }

    /// Refresh tokens stay opaque: only the authorization server reads them.
    async fn refresh_token(
        &self,
        _claims: &TokenClaims<'_>,
        random: &dyn Random,
    ) -> Result<RefreshToken, IssueError> {
        Ok(RefreshToken::generate_with(random))
    }
}
