//! Dynamic client registration ([RFC 7591](https://www.rfc-editor.org/rfc/rfc7591)) and
//! management ([RFC 7592](https://www.rfc-editor.org/rfc/rfc7592)): the registration
//! endpoint and each client's configuration endpoint.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, OAuthError, StorageError};
use crate::http::{HttpRequest, HttpResponse, Method, Status};
use crate::registration::{
    Admission, AdmissionRequest, ClientMetadata, MetadataError, parse_object,
};
use crate::render;
use crate::secret::{TokenHash, random_secret};
use crate::server::Server;
use crate::store::{Creation, Registration};
use crate::types::{AuthMethod, Client, ClientSecret};

/// The prefix of generated `client_id`s: never `https://` (a client ID metadata
/// document's form), and never a plausible user name or subject.
const CLIENT_ID_PREFIX: &str = "dcr_";

/// Members a client may not send in an update
/// ([RFC 7592 §2.2](https://www.rfc-editor.org/rfc/rfc7592#section-2.2)).
const SERVER_MEMBERS: [&str; 4] = [
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
];

/// Why a registration request is answered without being served.
enum Refusal {
    /// 400 with an [RFC 7591 §3.2.2](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2)
    /// error.
    Metadata(OAuthError),
    /// A response already made (401 challenge, 405, 429, 503).
    Response(HttpResponse),
    /// A storage or plug-in fault.
    Fault(Error),
}

impl From<MetadataError> for Refusal {
    fn from(error: MetadataError) -> Self {
        Self::Metadata(metadata_error(error.error_code(), &error.to_string()))
    }
}

impl From<StorageError> for Refusal {
    fn from(error: StorageError) -> Self {
        Self::Fault(Error::Storage(error))
    }
}

/// An `invalid_client_metadata` or `invalid_redirect_uri` error with a description.
fn metadata_error(code: &'static str, description: &str) -> OAuthError {
    let code = match code {
        "invalid_redirect_uri" => ErrorCode::INVALID_REDIRECT_URI,
        _ => ErrorCode::INVALID_CLIENT_METADATA,
    };
    OAuthError::new(code).with_description(description.to_owned())
}

fn render(result: Result<HttpResponse, Refusal>) -> Result<HttpResponse, Error> {
    match result {
        Ok(response) | Err(Refusal::Response(response)) => Ok(response),
        Err(Refusal::Metadata(error)) => Ok(error.to_response()),
        Err(Refusal::Fault(error)) => Err(error),
    }
}

impl Server {
    /// The client registration endpoint: `POST /register`
    /// ([RFC 7591 §3](https://www.rfc-editor.org/rfc/rfc7591#section-3)), on with
    /// [`ServerBuilder::client_registration`](crate::ServerBuilder::client_registration).
    ///
    /// In order: POST only (405 otherwise); a JSON object body
    /// (`Content-Type: application/json`, at most
    /// [`MetadataLimits::max_bytes`](crate::registration::MetadataLimits)), otherwise 400
    /// `invalid_client_metadata`; the metadata validated as
    /// [`ClientMetadata`] validates it (unknown members dropped, never echoed; redirect URI
    /// faults are `invalid_redirect_uri`, everything else `invalid_client_metadata`,
    /// [RFC 7591 §3.2.2]), and further: every grant type must be one this server serves,
    /// `private_key_jwt` only when the server accepts it, no `client_secret_jwt` (the
    /// server keeps secrets as digests only); then the host's
    /// [`RegistrationPolicy`](crate::registration::RegistrationPolicy), which may answer
    /// 401 with a `Bearer` challenge ([RFC 6750 §3.1]), refuse the metadata, or throttle
    /// (429 with `Retry-After`).
    ///
    /// On success, `201 Created` with `Cache-Control: no-store` and the client information
    /// ([RFC 7591 §3.2.1], [RFC 7592 §3]): a generated `client_id` (`dcr_` and 128 random
    /// bits: a client never chooses it, so it can never equal a user's subject or look like
    /// a metadata document URL), `client_id_issued_at`, for `client_secret_basic` and
    /// `client_secret_post` a generated `client_secret` (256 bits) with
    /// `client_secret_expires_at: 0`, every registered member with the defaults the server
    /// filled in, a `registration_access_token` (256 bits) and the
    /// `registration_client_uri` (the endpoint URL, `/`, and the `client_id`). The store
    /// receives digests of the secret and of the token only. A full
    /// [`RegistrationStore`](crate::store::RegistrationStore) is answered with 503
    /// `temporarily_unavailable`.
    ///
    /// When registration is not enabled, every request gets 404.
    ///
    /// # Errors
    /// Only storage and policy faults; every protocol outcome is an `Ok` response.
    ///
    /// [RFC 7591 §3.2.1]: https://www.rfc-editor.org/rfc/rfc7591#section-3.2.1
    /// [RFC 7591 §3.2.2]: https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2
    /// [RFC 7592 §3]: https://www.rfc-editor.org/rfc/rfc7592#section-3
    /// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
    pub async fn register(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        render(self.serve_registration(request).await)
    }

    /// A client's configuration endpoint, the `registration_client_uri` it received
    /// ([RFC 7592 §2](https://www.rfc-editor.org/rfc/rfc7592#section-2)): route
    /// `GET`, `PUT` and `DELETE` on the registration endpoint's URL followed by `/` and a
    /// `client_id` here, with that `client_id` (the last path segment). Every request must
    /// carry the client's registration access token as a `Bearer` token; one that is
    /// missing gets 401 with a bare `Bearer` challenge, one that is not valid or belongs to
    /// another client 401 `invalid_token` ([RFC 6750 §3.1]), never 403, so a token does
    /// not reveal whether another client exists.
    ///
    /// - `GET` ([RFC 7592 §2.1]): 200 with the client information. The server keeps only
    ///   the digest of the registration access token, so it cannot send the current one
    ///   back: every read rotates it, the response carries the new one and the old one
    ///   stops working ([RFC 7592 App. B]). The client secret is not repeated (the server
    ///   does not have it), and is not rotated.
    /// - `PUT` ([RFC 7592 §2.2]): the complete metadata, validated as at registration; it
    ///   must carry the `client_id`, must not carry `registration_access_token`,
    ///   `registration_client_uri`, `client_secret_expires_at` or `client_id_issued_at`,
    ///   and a `client_secret` it carries must be the current one (all
    ///   `invalid_client_metadata` otherwise). Omitted members are removed or reset to
    ///   their defaults. 200 with the client information and a rotated token; a client
    ///   that moves to a secret-based method without having a secret receives a new one.
    /// - `DELETE` ([RFC 7592 §2.3]): 204. The client, its secret and its registration
    ///   access token stop working at once, and every token issued to it is revoked
    ///   ([`TokenStore::revoke_client`](crate::store::TokenStore::revoke_client)).
    ///
    /// Other methods get 405. When registration is not enabled, every request gets 404.
    ///
    /// # Errors
    /// Only storage and policy faults; every protocol outcome is an `Ok` response.
    ///
    /// [RFC 7592 §2.1]: https://www.rfc-editor.org/rfc/rfc7592#section-2.1
    /// [RFC 7592 §2.2]: https://www.rfc-editor.org/rfc/rfc7592#section-2.2
    /// [RFC 7592 §2.3]: https://www.rfc-editor.org/rfc/rfc7592#section-2.3
    /// [RFC 7592 App. B]: https://www.rfc-editor.org/rfc/rfc7592#appendix-B
    /// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
    pub async fn client_configuration(
        &self,
        client_id: &str,
        request: &HttpRequest,
    ) -> Result<HttpResponse, Error> {
        render(self.serve_client_configuration(client_id, request).await)
    }

    /// The registration endpoint's URL, when registration is enabled.
    pub fn registration_endpoint(&self) -> Option<&str> {
        let registration = &self.config().registration;
        registration
            .enabled
            .as_ref()
            .map(|_| registration.endpoint.as_str())
    }

    async fn serve_registration(&self, request: &HttpRequest) -> Result<HttpResponse, Refusal> {
        let config = self.config();
        let Some((store, policy)) = &config.registration.enabled else {
            return Err(Refusal::Response(HttpResponse::new(Status::NOT_FOUND)));
        };
        if request.method() != Method::Post {
            return Err(method_not_allowed("POST"));
        }
        let bearer = bearer_token(request, &config.http.realm)?;
        let object = json_body(request, &config.registration.limits)?;
        let metadata = self.validate_metadata(&object)?;
        let now = self.now();
        let admission = AdmissionRequest {
            http: request,
            initial_access_token: bearer,
            metadata: &metadata,
            updating: None,
            now,
        };
        self.admit(&**policy, &admission, bearer.is_some()).await?;
        let random = &*config.random;
        let client_id = generate_client_id(random);
        let secret = needs_secret(metadata.token_endpoint_auth_method())
            .then(|| ClientSecret::generate_with(random));
        let mut builder = metadata.client_builder(&client_id)?.self_registered(true);
        if let Some(secret) = &secret {
            builder = builder.secret(secret);
        }
        let client = build(builder)?;
        let token = random_secret(random);
        let registration = Registration::new(
            Arc::new(client),
            Value::Object(metadata.to_json()).to_string(),
            now,
        );
        match store
            .create(registration.clone(), TokenHash::of(&token))
            .await?
        {
            Creation::Created => {}
            Creation::Full => return Err(Refusal::Response(registry_full())),
            // 128 random bits collided: a fault of the randomness or of the store.
            _ => {
                return Err(
                    StorageError::new("a generated client_id is already registered").into(),
                );
            }
        }
        let body = self.client_information(&registration, secret.as_ref(), &token)?;
        Ok(HttpResponse::json(Status::CREATED, body))
    }

    async fn serve_client_configuration(
        &self,
        client_id: &str,
        request: &HttpRequest,
    ) -> Result<HttpResponse, Refusal> {
        let config = self.config();
        let realm = &config.http.realm;
        let Some((store, policy)) = &config.registration.enabled else {
            return Err(Refusal::Response(HttpResponse::new(Status::NOT_FOUND)));
        };
        let method = request.method();
        if !matches!(method, Method::Get | Method::Put | Method::Delete) {
            return Err(method_not_allowed("GET, PUT, DELETE"));
        }
        let Some(token) = bearer_token(request, realm)? else {
            return Err(Refusal::Response(unauthorized(realm, false)));
        };
        let digest = TokenHash::of(token);
        // DR-12: a token is good only at its own client's URL.
        let current = store
            .find_by_token(&digest)
            .await?
            .filter(|r| r.client.id().as_str() == client_id)
            .ok_or_else(|| Refusal::Response(unauthorized(realm, true)))?;
        let random = &*config.random;
        match method {
            Method::Delete => {
                let Some(deleted) = store.delete(&digest).await? else {
                    return Err(Refusal::Response(unauthorized(realm, true)));
                };
                config.tokens.store.revoke_client(&deleted).await?;
                Ok(no_store(Status::NO_CONTENT))
            }
            Method::Put => {
                let object = json_body(request, &config.registration.limits)?;
                let (replacement, secret) = self
                    .updated_registration(request, &object, &current, &**policy)
                    .await?;
                let new_token = random_secret(random);
                let Some(stored) = store
                    .update(&digest, TokenHash::of(&new_token), Some(replacement))
                    .await?
                else {
                    return Err(Refusal::Response(unauthorized(realm, true)));
                };
                let body = self.client_information(&stored, secret.as_ref(), &new_token)?;
                Ok(HttpResponse::json(Status::OK, body))
            }
            _ => {
                let new_token = random_secret(random);
                let Some(stored) = store
                    .update(&digest, TokenHash::of(&new_token), None)
                    .await?
                else {
                    return Err(Refusal::Response(unauthorized(realm, true)));
                };
                let body = self.client_information(&stored, None, &new_token)?;
                Ok(HttpResponse::json(Status::OK, body))
            }
        }
    }

    /// The registration `current` becomes after the update `object`
    /// ([RFC 7592 §2.2](https://www.rfc-editor.org/rfc/rfc7592#section-2.2)), and the
    /// secret generated for it, if one was.
    async fn updated_registration(
        &self,
        request: &HttpRequest,
        object: &Map<String, Value>,
        current: &Registration,
        policy: &dyn crate::registration::RegistrationPolicy,
    ) -> Result<(Registration, Option<ClientSecret>), Refusal> {
        let client = &current.client;
        if let Some(member) = SERVER_MEMBERS.iter().find(|m| object.contains_key(**m)) {
            return Err(Refusal::Metadata(metadata_error(
                "invalid_client_metadata",
                &format!("{member} must not be sent in an update"),
            )));
        }
        match object.get("client_id") {
            Some(Value::String(id)) if id == client.id().as_str() => {}
            _ => {
                return Err(Refusal::Metadata(metadata_error(
                    "invalid_client_metadata",
                    "client_id must be the client's own",
                )));
            }
        }
        match object.get("client_secret") {
            None => {}
            Some(Value::String(secret))
                if client.verify_secret(&ClientSecret::from_presented(secret.clone())) => {}
            Some(_) => {
                return Err(Refusal::Metadata(metadata_error(
                    "invalid_client_metadata",
                    "client_secret must be the current secret",
                )));
            }
        }
        let metadata = self.validate_metadata(object)?;
        let admission = AdmissionRequest {
            http: request,
            initial_access_token: None,
            metadata: &metadata,
            updating: Some(client.id()),
            now: self.now(),
        };
        self.admit(policy, &admission, false).await?;
        let mut builder = metadata
            .client_builder(client.id().as_str())?
            .self_registered(true);
        let mut secret = None;
        if needs_secret(metadata.token_endpoint_auth_method()) {
            if client.secret_hashes().is_empty() {
                let fresh = ClientSecret::generate_with(&*self.config().random);
                builder = builder.secret(&fresh);
                secret = Some(fresh);
            } else {
                for hash in client.secret_hashes() {
                    builder = builder.secret_hash(*hash);
                }
            }
        }
        let replacement = Registration::new(
            Arc::new(build(builder)?),
            Value::Object(metadata.to_json()).to_string(),
            current.issued_at,
        );
        Ok((replacement, secret))
    }

    /// [`ClientMetadata`] validation, and what this server adds: grant types it serves,
    /// authentication methods it accepts, and no `client_secret_jwt`.
    fn validate_metadata(&self, object: &Map<String, Value>) -> Result<ClientMetadata, Refusal> {
        let config = self.config();
        let metadata = ClientMetadata::from_object(object, &config.registration.limits)?;
        let refuse = |description: &str| {
            Refusal::Metadata(metadata_error("invalid_client_metadata", description))
        };
        if let Some(grant) = metadata
            .grant_types()
            .iter()
            .find(|g| !self.grant_types().any(|served| served == g.as_str()))
        {
            return Err(refuse(&format!(
                "grant type {} is not served here",
                grant.as_str()
            )));
        }
        match metadata.token_endpoint_auth_method() {
            AuthMethod::ClientSecretJwt => {
                return Err(refuse("client_secret_jwt is not offered for registration"));
            }
            #[cfg(feature = "jwt")]
            AuthMethod::PrivateKeyJwt if !config.clients.private_key_jwt => {
                return Err(refuse("private_key_jwt is not accepted here"));
            }
            #[cfg(feature = "jwt")]
            AuthMethod::PrivateKeyJwt
                if metadata.jwks_uri().is_some() && config.clients.fetcher.is_none() =>
            {
                return Err(refuse("jwks_uri is not supported here; register jwks"));
            }
            _ => {}
        }
        Ok(metadata)
    }

    /// Runs the policy; a refusal becomes the response it asks for.
    async fn admit(
        &self,
        policy: &dyn crate::registration::RegistrationPolicy,
        request: &AdmissionRequest<'_>,
        token_presented: bool,
    ) -> Result<(), Refusal> {
        let realm = &self.config().http.realm;
        match policy.admit(request).await? {
            Admission::Admit => Ok(()),
            Admission::Unauthorized => Err(Refusal::Response(unauthorized(realm, token_presented))),
            Admission::Refuse(description) => Err(Refusal::Metadata(metadata_error(
                "invalid_client_metadata",
                description,
            ))),
            Admission::Throttle { retry_after } => {
                let error = OAuthError::new(ErrorCode::TEMPORARILY_UNAVAILABLE)
                    .with_description("too many registrations");
                Err(Refusal::Response(
                    HttpResponse::json(Status::TOO_MANY_REQUESTS, error.to_json())
                        .with_header("retry-after", retry_after.as_secs().max(1).to_string()),
                ))
            }
        }
    }

    /// The client information response body
    /// ([RFC 7591 §3.2.1](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.1),
    /// [RFC 7592 §3](https://www.rfc-editor.org/rfc/rfc7592#section-3)).
    fn client_information(
        &self,
        registration: &Registration,
        secret: Option<&ClientSecret>,
        token: &str,
    ) -> Result<Vec<u8>, Refusal> {
        let client = &registration.client;
        let mut body = match serde_json::from_str::<Value>(&registration.metadata) {
            Ok(Value::Object(metadata)) => metadata,
            _ => {
                return Err(StorageError::new(
                    "a stored registration's metadata is not a JSON object",
                )
                .into());
            }
        };
        let id = client.id().as_str();
        let uri = self.config().registration.client_uri(id);
        body.insert("client_id".to_owned(), Value::from(id));
        body.insert(
            "client_id_issued_at".to_owned(),
            Value::from(unix_seconds(registration.issued_at)),
        );
        if let Some(secret) = secret {
            body.insert(
                "client_secret".to_owned(),
                Value::from(secret.expose_secret()),
            );
        }
        if needs_secret(client.auth_method()) {
            body.insert("client_secret_expires_at".to_owned(), Value::from(0u64));
        }
        body.insert("registration_access_token".to_owned(), Value::from(token));
        body.insert("registration_client_uri".to_owned(), Value::from(uri));
        Ok(Value::Object(body).to_string().into_bytes())
    }
}

/// Whether the method authenticates with a secret the server generates.
fn needs_secret(method: AuthMethod) -> bool {
    matches!(
        method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
    )
}

/// `dcr_` and 128 random bits, base64url: URL-safe as a path segment.
fn generate_client_id(random: &dyn crate::random::Random) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    let mut id = String::with_capacity(CLIENT_ID_PREFIX.len() + 22);
    id.push_str(CLIENT_ID_PREFIX);
    URL_SAFE_NO_PAD.encode_string(bytes, &mut id);
    id
}

fn build(builder: crate::types::ClientBuilder) -> Result<Client, Refusal> {
    builder.build().map_err(|e| {
        Refusal::Metadata(metadata_error(
            "invalid_client_metadata",
            &format!("the metadata does not make a valid client: {e}"),
        ))
    })
}

/// Seconds since the Unix epoch (0 before it).
fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The `Bearer` token of the request, if it has one
/// ([RFC 6750 §2.1](https://www.rfc-editor.org/rfc/rfc6750#section-2.1)); another scheme
/// carries none. A repeated or unreadable `Authorization` header is 400 `invalid_request`.
fn bearer_token<'r>(request: &'r HttpRequest, realm: &str) -> Result<Option<&'r str>, Refusal> {
    match request.authorization() {
        Ok(Some(header)) if header.is("bearer") => {
            let token = header.credentials.trim_end_matches(' ');
            Ok((!token.is_empty()).then_some(token))
        }
        Ok(_) => Ok(None),
        Err(bad) => {
            let challenge = render::challenge(
                "Bearer",
                realm,
                &[
                    ("error", "invalid_request"),
                    ("error_description", bad.description()),
                ],
            );
            Err(Refusal::Response(
                HttpResponse::json(
                    Status::BAD_REQUEST,
                    OAuthError::new(ErrorCode::INVALID_REQUEST)
                        .with_description(bad.description())
                        .to_json(),
                )
                .with_header("www-authenticate", challenge),
            ))
        }
    }
}

/// 401 with a `Bearer` challenge ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)):
/// `invalid_token` when a token was presented, no error code otherwise.
fn unauthorized(realm: &str, token_presented: bool) -> HttpResponse {
    let attributes: &[(&str, &str)] = if token_presented {
        &[
            ("error", "invalid_token"),
            ("error_description", "the token is not valid here"),
        ]
    } else {
        &[]
    };
    no_store(Status::UNAUTHORIZED).with_header(
        "www-authenticate",
        render::challenge("Bearer", realm, attributes),
    )
}

/// An empty response with `Cache-Control: no-store` and `Pragma: no-cache`.
fn no_store(status: Status) -> HttpResponse {
    HttpResponse::new(status)
        .with_header("cache-control", "no-store")
        .with_header("pragma", "no-cache")
}

/// 405 with `Allow`.
fn method_not_allowed(allow: &'static str) -> Refusal {
    let error = OAuthError::new(ErrorCode::INVALID_REQUEST).with_description("method not allowed");
    Refusal::Response(
        HttpResponse::json(Status::METHOD_NOT_ALLOWED, error.to_json()).with_header("allow", allow),
    )
}

/// 503 `temporarily_unavailable`: the registration store is full.
fn registry_full() -> HttpResponse {
    OAuthError::new(ErrorCode::TEMPORARILY_UNAVAILABLE)
        .with_description("no more clients can register now")
        .to_response()
}

/// The JSON object of a registration or update request
/// ([RFC 7591 §3.1](https://www.rfc-editor.org/rfc/rfc7591#section-3.1)): `application/json`
/// (any `charset` must be UTF-8), within the size limit, an object.
fn json_body(
    request: &HttpRequest,
    limits: &crate::registration::MetadataLimits,
) -> Result<Map<String, Value>, Refusal> {
    if !is_json_content_type(request.header("content-type")) {
        return Err(Refusal::Metadata(metadata_error(
            "invalid_client_metadata",
            "the body must be a JSON object (application/json)",
        )));
    }
    Ok(parse_object(request.body(), limits)?)
}

/// `application/json`, case-insensitive, with an optional `charset` that must be UTF-8.
fn is_json_content_type(value: Option<&str>) -> bool {
    super::is_utf8_media_type(value, "application/json")
}

/// The `client_id`s this module generates: a unit property, checked here.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ClientId;

    #[test]
    fn cm_01_cc_04_generated_client_ids_are_never_urls_and_unique() {
        let random = crate::random::SystemRandom;
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| generate_client_id(&random)).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert!(id.starts_with(CLIENT_ID_PREFIX) && !id.starts_with("https://"));
            assert_eq!(id.len(), 26);
            assert!(ClientId::new(id).is_ok());
            assert!(
                id[4..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
    }

    #[test]
    fn dr_01_json_content_type_rules() {
        assert!(is_json_content_type(Some("application/json")));
        assert!(is_json_content_type(Some(
            "Application/JSON; charset=utf-8"
        )));
        assert!(!is_json_content_type(Some(
            "application/json; charset=latin1"
        )));
        assert!(!is_json_content_type(Some(
            "application/x-www-form-urlencoded"
        )));
        assert!(!is_json_content_type(None));
    }
}
