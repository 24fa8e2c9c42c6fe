//! What the OpenID Provider signs: the ID token of a token response
//! ([Core §3.1.3.3](https://openid.net/specs/openid-connect-core-1_0.html#TokenResponse),
//! [§12.2](https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse)),
//! and the claims released to it and to UserInfo.

use serde_json::Value;

use crate::error::{Error, ErrorCode, OAuthError, Rejection, StorageError};
use crate::grant::TokenGrant;
use crate::issuer::IssueError;
use crate::jose::{Algorithm, JwtUse, KeySetError};
use crate::oidc::{ClaimsQuery, ClaimsRequest, IdToken, Target, at_hash, release, wanted_names};
use crate::secret::AccessToken;
use crate::server::Server;
use crate::store::OpenIdContext;
use crate::types::{Client, Scope, Subject};

/// A key-set failure while signing, as the fault the endpoint reports.
pub(crate) fn signing_fault(error: KeySetError) -> Error {
    match error {
        KeySetError::Storage(error) => Error::Storage(error),
        other => Error::Issue(IssueError::new(other)),
    }
}

impl Server {
    /// The claims of `target` released for `subject` to `client`: those the scope stands
    /// for (for an ID token, only when the client registered for it) and those the
    /// grant's `claims` request names, read from the host's claims source ([OpenID Connect Core
    /// 1.0 §5.3.2]..[OpenID Connect Core 1.0 §5.5]).
    ///
    /// [OpenID Connect Core 1.0 §5.3.2]: https://openid.net/specs/openid-connect-core-1_0.html
    /// [OpenID Connect Core 1.0 §5.5]: https://openid.net/specs/openid-connect-core-1_0.html
    pub(crate) async fn released_claims(
        &self,
        client: &Client,
        subject: &Subject,
        scope: &Scope,
        context: &OpenIdContext,
        target: Target,
    ) -> Result<Vec<(String, Value)>, StorageError> {
        let requests = context
            .claims
            .as_deref()
            .map(ClaimsRequest::parse)
            .transpose()
            .map_err(|_| StorageError::new("a stored claims request does not parse"))?;
        let with_scope = target == Target::UserInfo || client.scope_claims_in_id_token();
        let names = wanted_names(scope, requests.as_ref(), target, with_scope);
        let Some(source) = &self.config().openid.claims else {
            return Ok(Vec::new());
        };
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let query = ClaimsQuery {
            subject,
            client,
            scope,
            names: &names,
        };
        let claims = source.claims(&query).await?;
        Ok(release(&claims, &names, requests.as_ref(), target))
    }

    /// The ID token of a token response: for a grant of an OpenID request whose granted
    /// scope still holds `openid` ([OpenID Connect Core 1.0 §3.1.3.1], [OpenID Connect Core 1.0
    /// §12.1]), signed with the client's algorithm
    /// ([OpenID Connect Core 1.0 §2]), with `at_hash` of the access token ([OpenID Connect Core
    /// 1.0 §3.1.3.6]). `None` for plain OAuth.
    ///
    /// [OpenID Connect Core 1.0 §3.1.3.1]: https://openid.net/specs/openid-connect-core-1_0.html
    /// [OpenID Connect Core 1.0 §12.1]: https://openid.net/specs/openid-connect-core-1_0.html
    /// [OpenID Connect Core 1.0 §2]: https://openid.net/specs/openid-connect-core-1_0.html
    /// [OpenID Connect Core 1.0 §3.1.3.6]: https://openid.net/specs/openid-connect-core-1_0.html
    pub(crate) async fn id_token(
        &self,
        client: &Client,
        grant: &TokenGrant,
        access_token: &AccessToken,
        now: std::time::SystemTime,
    ) -> Result<Option<String>, Rejection> {
        let config = self.config();
        let (Some(context), Some(keys)) = (&grant.openid, &config.jwt.keys) else {
            return Ok(None);
        };
        if !config.openid.is_enabled() || !grant.scope.contains("openid") {
            return Ok(None);
        }
        let Some(alg) = Algorithm::from_name(client.id_token_signing_alg())
            .filter(|alg| config.openid.signing_algorithms.contains(*alg))
        else {
            return Err(OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
                .with_description("the client's ID token algorithm is not enabled")
                .into());
        };
        let released = match &grant.subject {
            Some(subject) => {
                self.released_claims(client, subject, &grant.scope, context, Target::IdToken)
                    .await?
            }
            None => Vec::new(),
        };
        let claims = IdToken {
            client_id: client.id(),
            context,
            at_hash: Some(at_hash(alg, access_token.expose_secret())),
            released,
            now,
            lifetime: config.openid.id_token_ttl,
        }
        .claims();
        let signed = keys
            .sign_with(alg, JwtUse::IdToken, &claims, now)
            .await
            .map_err(signing_fault)?;
        Ok(Some(signed))
    }
}
