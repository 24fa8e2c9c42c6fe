//! The keys a client authenticates with when it signs its own JWTs
//! ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2)): a JWK Set for
//! `private_key_jwt`, the secret itself for `client_secret_jwt`.

use std::sync::Arc;

use crate::jose::{Algorithm, HmacKey, JwkSet};
use crate::types::client::{AuthMethod, ClientError, ClientSecret};

/// A client's assertion keys, as registered. Part of [`Client`](crate::Client).
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientKeys {
    /// The client's public keys (`jwks`), for `private_key_jwt`.
    pub(crate) jwks: Option<JwkSet>,
    /// The registered `token_endpoint_auth_signing_alg`, if any.
    pub(crate) signing_alg: Option<Algorithm>,
    /// The HMAC key made from the plain client secret, for `client_secret_jwt`.
    pub(crate) hmac: Option<Arc<HmacKey>>,
    /// Where the client publishes its public keys (`jwks_uri`), for `private_key_jwt`.
    pub(crate) jwks_uri: Option<Arc<str>>,
    /// The registered `request_object_signing_alg`, if any.
    pub(crate) request_object_alg: Option<Algorithm>,
    /// Whether the client's authorization requests must be signed request objects.
    pub(crate) require_signed_request_object: bool,
}

impl ClientKeys {
    /// Sets the HMAC key of `client_secret_jwt` from the plain `secret`.
    pub(crate) fn set_secret(&mut self, secret: &ClientSecret) -> Result<(), ClientError> {
        let key = HmacKey::new(secret.expose_secret().as_bytes())
            .map_err(|_| ClientError::WeakAssertionSecret)?;
        self.hmac = Some(Arc::new(key));
        Ok(())
    }

    /// The registration checks of the JWT methods ([OpenID Connect Core 1.0 §9], [RFC 7591 §2]):
    /// `private_key_jwt` needs a
    /// non-empty JWK Set, `client_secret_jwt` the secret in recoverable form.
    ///
    /// [OpenID Connect Core 1.0 §9]: https://openid.net/specs/openid-connect-core-1_0.html
    /// [RFC 7591 §2]: https://www.rfc-editor.org/rfc/rfc7591#section-2
    pub(crate) fn check(&self, method: AuthMethod) -> Result<(), ClientError> {
        if let Some(uri) = &self.jwks_uri {
            if self.jwks.is_some() {
                return Err(ClientError::KeySources);
            }
            if crate::fetch::check_url(uri).is_err() {
                return Err(ClientError::JwksUri);
            }
        }
        let no_public_keys =
            self.jwks_uri.is_none() && self.jwks.as_ref().is_none_or(JwkSet::is_empty);
        if self.require_signed_request_object && no_public_keys {
            // RFC 9101 §6.2: request objects are verified with the client's public keys.
            return Err(ClientError::MissingKeys);
        }
        match method {
            AuthMethod::PrivateKeyJwt if no_public_keys => Err(ClientError::MissingKeys),
            AuthMethod::ClientSecretJwt if self.hmac.is_none() => {
                Err(ClientError::MissingAssertionSecret)
            }
            AuthMethod::ClientSecretJwt if self.signing_alg.is_some() => {
                // Only HMAC is accepted for `client_secret_jwt`; an asymmetric
                // algorithm cannot be registered for it.
                Err(ClientError::AuthMethodMismatch)
            }
            _ => Ok(()),
        }
    }
}
