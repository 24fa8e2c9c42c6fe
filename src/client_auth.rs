//! Client authentication at the token-style endpoints
//! ([RFC 6749 §2.3](https://www.rfc-editor.org/rfc/rfc6749#section-2.3)):
//! `client_secret_basic`, `client_secret_post` and `none`, and with the feature `jwt`
//! `private_key_jwt` and `client_secret_jwt` ([`client_assertion`](crate::client_assertion)),
//! exactly one method per request.

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
    /// `Authorization: Basic`, id and secret already form-url-decoded ([RFC 6749 §2.3.1]).
    ///
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    Basic { id: String, secret: String },
    /// `client_id` and `client_secret` in the body.
    Post { id: &'a str, secret: &'a str },
    /// Only `client_id` in the body: a public client.
    None { id: &'a str },
    /// `client_assertion` (RFC 7523 §2.2), with the client it names: the body's
    /// `client_id`, or else the assertion's unverified `iss`.
    #[cfg(feature = "jwt")]
    Assertion { id: String, assertion: &'a str },
}

impl Credentials<'_> {
    /// The method, or `None` for an assertion (`private_key_jwt` or `client_secret_jwt`,
    /// which the client's registration tells apart).
    fn method(&self) -> Option<AuthMethod> {
        match self {
            Self::Basic { .. } => Some(AuthMethod::ClientSecretBasic),
            Self::Post { .. } => Some(AuthMethod::ClientSecretPost),
            Self::None { .. } => Some(AuthMethod::None),
            #[cfg(feature = "jwt")]
            Self::Assertion { .. } => None,
        }
    }

    pub(crate) fn id(&self) -> &str {
        match self {
            Self::Basic { id, .. } => id,
            Self::Post { id, .. } | Self::None { id } => id,
            #[cfg(feature = "jwt")]
            Self::Assertion { id, .. } => id,
        }
    }

    /// The presented secret, moved out where the request already owns it.
    fn into_secret(self) -> Option<ClientSecret> {
        match self {
            Self::Basic { secret, .. } => Some(ClientSecret::from_presented(secret)),
            Self::Post { secret, .. } => Some(ClientSecret::from_presented(secret.to_owned())),
            Self::None { .. } => None,
            #[cfg(feature = "jwt")]
            Self::Assertion { .. } => None,
        }
    }
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field(
                "method",
                &self.method().map_or("client_assertion", AuthMethod::as_str),
            )
            .field("client_id", &self.id())
            .finish_non_exhaustive()
    }
}

/// Decodes the credentials of an `Authorization: Basic` value (the part after the scheme):
/// base64, split at the **first** colon, then form-url-decode each half
/// ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1), [RFC 6749 §2.3.1]).
/// Returns `None` for anything malformed.
///
/// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
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
/// the header learns the scheme ([RFC 6749 §5.2]) and one that sent body credentials is told the
/// same thing.
///
/// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
pub(crate) fn invalid_client(realm: &str, description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_CLIENT)
        .with_description(description)
        .with_challenge(render::challenge("Basic", realm, &[("charset", "UTF-8")]))
}

/// Picks the one authentication method the request uses ([RFC 6749 §2.3.1], [OAuth 2.1 §2.4.1],
/// [RFC 6749 §2.3]).
///
/// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
/// [OAuth 2.1 §2.4.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.4.1
/// [RFC 6749 §2.3]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3
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
        // CA-09: with an assertion involved, RFC 7521 §4.2.1's `invalid_client` wins
        // over TE-08's `invalid_request`.
        if has_assertion(form) {
            return failed(
                AuthFailure::UnsupportedMethod,
                "more than one client authentication method",
            );
        }
        // TE-08: one method per request.
        if form.contains("client_secret") {
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
    if has_assertion(form) {
        if form.contains("client_secret") {
            // CA-09: a secret beside an assertion is `invalid_client` (RFC 7521 §4.2.1).
            return failed(
                AuthFailure::UnsupportedMethod,
                "more than one client authentication method",
            );
        }
        return assertion_credentials(form, realm);
    }
    match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => Ok(Credentials::Post { id, secret }),
        (Some(id), None) => Ok(Credentials::None { id }),
        (None, Some(_)) => malformed("client_secret without client_id"),
        (None, None) => failed(AuthFailure::NoCredentials, "client authentication required"),
    }
}

/// Whether the body carries either assertion parameter.
fn has_assertion(form: &Form<'_>) -> bool {
    form.contains("client_assertion") || form.contains("client_assertion_type")
}

/// The credentials of `client_assertion` and `client_assertion_type` ([RFC 7521 §4.2]): both or
/// neither (`invalid_request`), the JWT bearer type only (`invalid_client`), and a client
/// named by the body's `client_id` or else the assertion's `iss`.
///
/// [RFC 7521 §4.2]: https://www.rfc-editor.org/rfc/rfc7521#section-4.2
fn assertion_credentials<'a>(
    form: &'a Form<'a>,
    realm: &str,
) -> Result<Credentials<'a>, (OAuthError, Option<AuthFailure>)> {
    let (Some(kind), Some(assertion)) = (
        form.get("client_assertion_type"),
        form.get("client_assertion"),
    ) else {
        return Err((
            OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("client_assertion and client_assertion_type go together"),
            None,
        ));
    };
    #[cfg(feature = "jwt")]
    if kind == crate::client_assertion::JWT_BEARER {
        let id = match form.get("client_id") {
            Some(id) => id.to_owned(),
            None => crate::jose::unverified_assertion_issuer(assertion).ok_or_else(|| {
                (
                    invalid_client(realm, "client assertion invalid"),
                    Some(AuthFailure::InvalidAssertion),
                )
            })?,
        };
        return Ok(Credentials::Assertion { id, assertion });
    }
    let _ = (kind, assertion);
    Err((
        invalid_client(realm, "unsupported client authentication method"),
        Some(AuthFailure::UnsupportedMethod),
    ))
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
    /// Where assertion `jti`s are consumed.
    #[cfg(feature = "jwt")]
    pub(crate) single_use: &'a dyn crate::store::SingleUseStore,
    /// The issuer identifier, the audience of assertions.
    #[cfg(feature = "jwt")]
    pub(crate) issuer: &'a str,
    /// Whether `private_key_jwt` is on.
    #[cfg(feature = "jwt")]
    pub(crate) private_key_jwt: bool,
    /// Whether `client_secret_jwt` is on.
    #[cfg(feature = "jwt")]
    pub(crate) client_secret_jwt: bool,
    /// The server's algorithms for `private_key_jwt` assertions.
    #[cfg(feature = "jwt")]
    pub(crate) assertion_algorithms: crate::jose::AlgorithmSet,
    /// The fetcher and the cache of clients' `jwks_uri` key sets, when a fetcher is given.
    #[cfg(feature = "jwt")]
    pub(crate) remote_keys: crate::client_assertion::RemoteSource<'a>,
    /// The call, for the events of a failure.
    pub(crate) call: &'a Call<'a>,
}

impl Authenticator<'_> {
    /// Authenticates `credentials`: the client must exist, use its registered method
    /// ([OAuth 2.1 §2.4.1]), not be throttled ([RFC 6749 §2.3.1]), and present a matching secret.
    ///
    /// Unknown clients, wrong methods and wrong secrets all get the same answer. Client
    /// identifiers are not secrets (they travel in authorization URLs), so the limiter
    /// tracks only registered clients: throttling, and the time a secret check takes, can
    /// tell a prober that a `client_id` exists, which is the price of keeping
    /// attacker-chosen identifiers out of the limiter's table.
    ///
    /// [OAuth 2.1 §2.4.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.4.1
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
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
                    method,
                    reason,
                });
            Rejection::from(invalid_client(self.realm, FAILED))
        };
        let Some(client) = find_presented_client(self.registry, credentials.id()).await? else {
            return Err(failed(AuthFailure::UnknownClient));
        };
        #[cfg(feature = "jwt")]
        if let Credentials::Assertion { assertion, .. } = credentials {
            return self.authenticate_assertion(client, assertion).await;
        }
        if Some(client.auth_method()) != method {
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
                        method,
                        reason: AuthFailure::WrongSecret,
                    });
                Err(invalid_client(self.realm, FAILED).into())
            }
            Limited::Throttled(retry_after) => Err(self.throttled(&client, retry_after)),
        }
    }

    /// The answer to a client locked out by the limiter ([RFC 6749 §2.3.1]), with its event.
    ///
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    fn throttled(&self, client: &Client, retry_after: std::time::Duration) -> Rejection {
        self.call.emit(self.now, || EventKind::LockedOut {
            limiter: Limiter::ClientSecret,
            client_id: None,
            client_id_claimed: Some(Claimed::new(client.id().as_str())),
        });
        invalid_client(self.realm, "too many failed authentication attempts")
            .with_retry_after(retry_after.as_secs().max(1))
            .into()
    }

    /// `private_key_jwt` and `client_secret_jwt` ([RFC 7521 §4.2]..[RFC 7523bis §4]): the client
    /// must be
    /// registered for one of them, and the method on; the signature and claims checks
    /// count in the limiter like a secret check; then the `jti` is consumed in the shared
    /// single-use store, so of any number of requests with one assertion, at any endpoint
    /// and instance, one authenticates. Every refusal is one event.
    ///
    /// [RFC 7521 §4.2]: https://www.rfc-editor.org/rfc/rfc7521#section-4.2
    /// [RFC 7523bis §4]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-rfc7523bis
    #[cfg(feature = "jwt")]
    async fn authenticate_assertion(
        &self,
        client: Arc<Client>,
        assertion: &str,
    ) -> Result<Arc<Client>, Rejection> {
        use crate::client_assertion::{AssertionCheck, AssertionFailure};
        use crate::jose::JwtError;
        let refused = |reason, failure: AssertionFailure| {
            self.call
                .emit(self.now, || EventKind::ClientAuthenticationFailed {
                    client_id_claimed: Some(Claimed::new(client.id().as_str())),
                    method: Some(client.auth_method()),
                    reason,
                });
            Rejection::from(invalid_client(self.realm, failure.description()))
        };
        let enabled = match client.auth_method() {
            AuthMethod::PrivateKeyJwt => self.private_key_jwt,
            AuthMethod::ClientSecretJwt => self.client_secret_jwt,
            _ => false,
        };
        if !enabled {
            return Err(refused(
                AuthFailure::MethodNotRegistered,
                AssertionFailure::Method,
            ));
        }
        let check = AssertionCheck {
            issuer: self.issuer,
            algorithms: self.assertion_algorithms,
            now: self.now,
        };
        let key = AttemptKey::client(client.id());
        let verified = limited(self.limiter, &key, self.now, async {
            // Without a fetcher, a `jwks_uri` client has no keys: `Method`.
            let verified = crate::client_assertion::verify_with_client_keys(
                &client,
                self.remote_keys,
                self.now,
                |keys| check.verify(&client, assertion, keys),
                |failure| *failure == AssertionFailure::Jwt(JwtError::UnknownKey),
            )
            .await;
            let outcome = if verified.is_ok() {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            Ok::<_, Error>((outcome, verified))
        })
        .await?;
        let verified = match verified {
            Limited::Answer(Ok(verified)) => verified,
            Limited::Answer(Err(failure)) => {
                return Err(refused(AuthFailure::InvalidAssertion, failure));
            }
            Limited::Throttled(retry_after) => return Err(self.throttled(&client, retry_after)),
        };
        if check.consume(self.single_use, &client, &verified).await? {
            Ok(client)
        } else {
            Err(refused(
                AuthFailure::AssertionReplayed,
                AssertionFailure::Replayed,
            ))
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
