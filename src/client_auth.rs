//! Client authentication at the token-style endpoints
//! ([RFC 6749 §2.3](https://www.rfc-editor.org/rfc/rfc6749#section-2.3)):
//! `client_secret_basic`, `client_secret_post` and `none`, exactly one method per request.

use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::{Error, ErrorCode, OAuthError, Rejection};
use crate::http::HttpRequest;
use crate::limiter::{AttemptKey, AttemptLimiter, Limited, Outcome, limited};
use crate::observe::call::Call;
use crate::observe::{AuthFailure, Claimed, EventKind, Limiter};
use crate::params::{Form, decode};
use crate::render;
use crate::store::{ClientRegistry, find_presented_client};
use crate::types::ClientSecret;
use crate::types::{AuthMethod, Client};

/// Standard base64 that accepts the credential with or without padding.
const BASIC: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The credentials a request presents, before they are checked. `Debug` shows the method
/// and the client id, never the secret.
pub(crate) enum Credentials<'a> {
    /// `Authorization: Basic`, id and secret already form-url-decoded (TE-06).
    Basic { id: String, secret: String },
    /// `client_id` and `client_secret` in the body.
    Post { id: &'a str, secret: &'a str },
    /// Only `client_id` in the body: a public client.
    None { id: &'a str },
}

impl Credentials<'_> {
    fn method(&self) -> AuthMethod {
        match self {
            Self::Basic { .. } => AuthMethod::ClientSecretBasic,
            Self::Post { .. } => AuthMethod::ClientSecretPost,
            Self::None { .. } => AuthMethod::None,
        }
    }

    pub(crate) fn id(&self) -> &str {
        match self {
            Self::Basic { id, .. } => id,
            Self::Post { id, .. } | Self::None { id } => id,
        }
    }

    /// The presented secret, moved out where the request already owns it.
    fn into_secret(self) -> Option<ClientSecret> {
        match self {
            Self::Basic { secret, .. } => Some(ClientSecret::from_presented(secret)),
            Self::Post { secret, .. } => Some(ClientSecret::from_presented(secret.to_owned())),
            Self::None { .. } => None,
        }
    }
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("method", &self.method())
            .field("client_id", &self.id())
            .finish_non_exhaustive()
    }
}

/// Decodes the credentials of an `Authorization: Basic` value (the part after the scheme):
/// base64, split at the **first** colon, then form-url-decode each half
/// ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1), TE-06).
/// Returns `None` for anything malformed.
pub(crate) fn decode_basic(token68: &str) -> Option<(String, String)> {
    if token68.is_empty() || token68.len() > 4096 {
        return None;
    }
    let raw = BASIC.decode(token68).ok()?;
    let colon = raw.iter().position(|b| *b == b':')?;
    let id = decode(&raw[..colon])?.into_owned();
    let secret = decode(&raw[colon + 1..])?.into_owned();
    Some((id, secret))
}

/// The 401 `invalid_client` answer: always with a Basic challenge, so a client that tried
/// the header learns the scheme (TE-09) and one that sent body credentials is told the
/// same thing.
pub(crate) fn invalid_client(realm: &str, description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_CLIENT)
        .with_description(description)
        .with_challenge(render::challenge("Basic", realm, &[("charset", "UTF-8")]))
}

/// Picks the one authentication method the request uses (TE-06, TE-07, TE-08).
pub(crate) fn extract<'a>(
    request: &HttpRequest,
    form: &'a Form<'a>,
    realm: &str,
) -> Result<Credentials<'a>, (OAuthError, Option<AuthFailure>)> {
    // A refusal with `invalid_client` is a failed authentication, with its reason; an
    // `invalid_request` is a malformed request, not an attempt to authenticate.
    let failed = |reason, description| Err((invalid_client(realm, description), Some(reason)));
    let malformed = |description| {
        Err((
            OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(description),
            None,
        ))
    };
    // A repeated or unreadable header is refused, never skipped: skipping one would let
    // the other method of the request authenticate (RFC 6749 §2.3: one method).
    let authorization = match request.authorization() {
        Ok(authorization) => authorization,
        Err(bad) => return malformed(bad.description()),
    };
    if let Some(header) = authorization {
        if !header.is("basic") {
            return failed(
                AuthFailure::UnsupportedMethod,
                "unsupported authentication scheme",
            );
        }
        // TE-08: one method per request.
        if form.contains("client_secret")
            || form.contains("client_assertion")
            || form.contains("client_assertion_type")
        {
            return malformed("more than one client authentication method");
        }
        let Some((id, secret)) = decode_basic(header.credentials) else {
            return failed(AuthFailure::Malformed, "malformed Basic credentials");
        };
        if form.get("client_id").is_some_and(|body_id| body_id != id) {
            return malformed("client_id in the body differs from the Authorization header");
        }
        return Ok(Credentials::Basic { id, secret });
    }
    let assertion = form.contains("client_assertion") || form.contains("client_assertion_type");
    if assertion && form.contains("client_secret") {
        // TE-08: two methods in the body is "more than one mechanism" (RFC 6749 §5.2).
        return malformed("more than one client authentication method");
    }
    if assertion {
        return failed(
            AuthFailure::UnsupportedMethod,
            "unsupported client authentication method",
        );
    }
    match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => Ok(Credentials::Post { id, secret }),
        (Some(id), None) => Ok(Credentials::None { id }),
        (None, Some(_)) => malformed("client_secret without client_id"),
        (None, None) => failed(AuthFailure::NoCredentials, "client authentication required"),
    }
}

/// Whether the request names a client or tries to authenticate one at all: an
/// `Authorization` header (readable or not), or any client parameter in the body.
pub(crate) fn identifies_client(request: &HttpRequest, form: &Form<'_>) -> bool {
    request.header_count("authorization") > 0
        || [
            "client_id",
            "client_secret",
            "client_assertion",
            "client_assertion_type",
        ]
        .iter()
        .any(|name| form.contains(name))
}

/// What client authentication needs from the server.
pub(crate) struct Authenticator<'a> {
    pub(crate) registry: &'a dyn ClientRegistry,
    pub(crate) limiter: &'a dyn AttemptLimiter,
    pub(crate) realm: &'a str,
    pub(crate) now: SystemTime,
    /// The call, for the events of a failure.
    pub(crate) call: &'a Call<'a>,
}

impl Authenticator<'_> {
    /// Authenticates `credentials`: the client must exist, use its registered method
    /// (TE-07), not be throttled (TE-10), and present a matching secret.
    ///
    /// Unknown clients, wrong methods and wrong secrets all get the same answer. Client
    /// identifiers are not secrets (they travel in authorization URLs), so the limiter
    /// tracks only registered clients: throttling, and the time a secret check takes, can
    /// tell a prober that a `client_id` exists, which is the price of keeping
    /// attacker-chosen identifiers out of the limiter's table.
    pub(crate) async fn authenticate(
        &self,
        credentials: Credentials<'_>,
    ) -> Result<Arc<Client>, Rejection> {
        const FAILED: &str = "client authentication failed";
        let method = credentials.method();
        let failed = |reason| {
            self.call
                .emit(self.now, || EventKind::ClientAuthenticationFailed {
                    client_id_claimed: Some(Claimed::new(credentials.id())),
                    method: Some(method),
                    reason,
                });
            Rejection::from(invalid_client(self.realm, FAILED))
        };
        let Some(client) = find_presented_client(self.registry, credentials.id()).await? else {
            return Err(failed(AuthFailure::UnknownClient));
        };
        if client.auth_method() != method {
            return Err(failed(AuthFailure::MethodNotRegistered));
        }
        let Some(presented) = credentials.into_secret() else {
            // `none`: the registered method is `none`, so the client is public.
            return Ok(client);
        };
        // TE-10: a locked-out client is refused without a check, and the outcome of a
        // check is answered only if the limiter lets it (`limiter::limited`).
        let key = AttemptKey::client(client.id());
        let verified = limited(self.limiter, &key, self.now, async {
            let right = self.registry.verify_secret(&client, &presented).await?;
            let outcome = if right {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            Ok::<_, Error>((outcome, right))
        })
        .await?;
        match verified {
            Limited::Answer(true) => Ok(client),
            Limited::Answer(false) => {
                self.call
                    .emit(self.now, || EventKind::ClientAuthenticationFailed {
                        // The identifier the request claimed is the one it was found by.
                        client_id_claimed: Some(Claimed::new(client.id().as_str())),
                        method: Some(method),
                        reason: AuthFailure::WrongSecret,
                    });
                Err(invalid_client(self.realm, FAILED).into())
            }
            Limited::Throttled(retry_after) => {
                self.call.emit(self.now, || EventKind::LockedOut {
                    limiter: Limiter::ClientSecret,
                    client_id: None,
                    client_id_claimed: Some(Claimed::new(client.id().as_str())),
                });
                Err(
                    invalid_client(self.realm, "too many failed authentication attempts")
                        .with_retry_after(retry_after.as_secs().max(1))
                        .into(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decoded(token: &str) -> Option<(String, String)> {
        decode_basic(token)
    }

    fn pair(id: &str, secret: &str) -> Option<(String, String)> {
        Some((id.to_owned(), secret.to_owned()))
    }

    #[test]
    fn te_06_v_basic_vectors_decode() {
        assert_eq!(
            decoded("czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3"),
            pair("s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw")
        );
        assert_eq!(
            decoded("czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
            pair("s6BhdRkqt3", "gX1fBat3bV")
        );
        // V-BASIC-3: plain RFC 7617 Basic: no '+' in it, so it decodes the same.
        assert_eq!(
            decoded("QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            pair("Aladdin", "open sesame")
        );
        assert_eq!(
            decoded("QWxhZGRpbjpvcGVuK3Nlc2FtZQ=="),
            pair("Aladdin", "open sesame")
        );
        assert_eq!(
            decoded("dXJuJTNBZXhhbXBsZSUzQWNsaWVudDpzM2NyM3QlMkZ3aXRoJTJCcGx1cyUyNmFtcCUzRGVxJTI1"),
            pair("urn:example:client", "s3cr3t/with+plus&amp=eq%")
        );
        assert_eq!(
            decoded("Y2xpZW50K2lkK3dpdGgrc3BhY2VzOnAlNDBzcyUzQXcwcmQlMjE="),
            pair("client id with spaces", "p@ss:w0rd!")
        );
        assert_eq!(decoded("Y34xOnMlN0Uy"), pair("c~1", "s~2"));
        assert_eq!(decoded("dGVzdDoxMjPCow=="), pair("test", "123\u{a3}"));
        assert_eq!(decoded("dGVzdDoxMjMlQzIlQTM="), pair("test", "123\u{a3}"));
        // Padding is optional.
        assert_eq!(decoded("dGVzdDoxMjMlQzIlQTM"), pair("test", "123\u{a3}"));
    }

    #[test]
    fn te_06_v_basic_neg_splits_at_the_first_colon() {
        // Unencoded "urn:example:client:..." gives user "urn"; the trailing '%' is a
        // malformed escape, so the credential is refused outright.
        assert_eq!(
            decoded("dXJuOmV4YW1wbGU6Y2xpZW50OnMzY3IzdC93aXRoK3BsdXMmYW1wPWVxJQ=="),
            None
        );
        // Without the malformed escape the split still happens at the first colon.
        let token = base64::engine::general_purpose::STANDARD.encode("urn:example:client:s");
        assert_eq!(decoded(&token), pair("urn", "example:client:s"));
    }

    #[test]
    fn te_09_malformed_basic_values_are_refused() {
        for bad in [
            "",
            "!!!",
            "bm9jb2xvbg==",
            "/w==", /* 0xff, invalid UTF-8 */
        ] {
            assert_eq!(decoded(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn basic_decoder_never_panics(s in "\\PC{0,200}") {
            let _ = decode_basic(&s);
        }

        #[test]
        fn basic_decoder_round_trips(id in "\\PC{1,40}", secret in "\\PC{0,40}") {
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(&id), enc(&secret)));
            prop_assert_eq!(decode_basic(&token), Some((id, secret)));
        }
    }
}
