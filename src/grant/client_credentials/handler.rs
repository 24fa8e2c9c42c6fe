//! The client credentials grant at the token endpoint.

use async_trait::async_trait;

use crate::error::Rejection;
use crate::grant::client_credentials::check;
use crate::grant::{GrantHandler, GrantRequest, TokenGrant};
use crate::types::GrantType;

/// The client credentials grant ([RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)):
/// [RFC 6749 §4.4]..[RFC 9700 §4.15.1]. Always registered.
///
/// [RFC 6749 §4.4]: https://www.rfc-editor.org/rfc/rfc6749#section-4.4
/// [RFC 9700 §4.15.1]: https://www.rfc-editor.org/rfc/rfc9700#section-4.15.1
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientCredentialsGrant;

#[async_trait]
impl GrantHandler for ClientCredentialsGrant {
    fn grant_type(&self) -> &str {
        GrantType::CLIENT_CREDENTIALS.as_str()
    }

    async fn handle(&self, request: &GrantRequest<'_>) -> Result<TokenGrant, Rejection> {
        let scope = check(request.client(), request.param("scope"))?;
        // RI-08: `resource` as for any token request, against the client's resources.
        let audience = request.requested_resources(&scope)?;
        // CC-02: no refresh token; CC-04: no subject, the token acts for the client.
        Ok(TokenGrant::new(scope).with_audience(audience))
    }
}
