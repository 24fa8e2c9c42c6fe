//! Client metadata ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)):
//! self-asserted JSON turned into a validated registration, or refused with the error codes
//! of [RFC 7591 §3.2.2](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2).

use serde_json::{Map, Value};

use crate::types::{
    AuthMethod, Client, ClientBuilder, ClientType, GrantType, InvalidRedirectUri, RedirectUri,
    Scope,
};

/// The longest display string (`client_name`, a contact, `software_id`, ...), in bytes.
const MAX_TEXT_BYTES: usize = 255;
/// The longest URL in the metadata (`client_uri`, `jwks_uri`, ...), in bytes.
const MAX_URL_BYTES: usize = 2048;
/// The most `contacts` accepted.
const MAX_CONTACTS: usize = 16;

/// The JWT bearer grant ([RFC 7523 §2.1](https://www.rfc-editor.org/rfc/rfc7523#section-2.1)).
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Token exchange ([RFC 8693 §2.1](https://www.rfc-editor.org/rfc/rfc8693#section-2.1)).
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// Bounds on client metadata, checked before and while it is parsed.
///
/// ```
/// use grantflow::registration::MetadataLimits;
///
/// let limits = MetadataLimits::default();
/// assert_eq!(limits.max_bytes, 16 * 1024);
/// let document = MetadataLimits { max_bytes: 5 * 1024, ..MetadataLimits::default() };
/// assert_eq!(document.max_redirect_uris, 16);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(
    clippy::exhaustive_structs,
    reason = "plain settings; new bounds go in a major release"
)]
pub struct MetadataLimits {
    /// The largest metadata document, in bytes, refused before it is parsed. Default:
    /// 16 KiB, room for an inline JWK Set of a few RSA keys.
    pub max_bytes: usize,
    /// The most `redirect_uris` (and `post_logout_redirect_uris`). Default: 16.
    pub max_redirect_uris: usize,
}

impl Default for MetadataLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024,
            max_redirect_uris: 16,
        }
    }
}

/// Why client metadata was refused. [`error_code`](Self::error_code) gives the
/// [RFC 7591 §3.2.2](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2) code to answer
/// with; the `Display` text is a safe `error_description` (it names a field, never a
/// value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The document is larger than [`MetadataLimits::max_bytes`].
    #[error("client metadata is too large")]
    TooLarge,
    /// The document is not a JSON object.
    #[error("client metadata must be a JSON object")]
    NotAnObject,
    /// A redirect URI (or post-logout redirect URI) breaks the redirect URI rules.
    #[error("invalid redirect URI: {0}")]
    RedirectUri(InvalidRedirectUri),
    /// `redirect_uris` is missing or empty although the client uses the authorization
    /// code grant, or lists more URIs than allowed.
    #[error(
        "redirect_uris must list 1 to the allowed number of URIs for the authorization_code grant"
    )]
    RedirectUris,
    /// A known field has a value of the wrong type or an invalid value.
    #[error("invalid value for {0}")]
    InvalidField(&'static str),
    /// A `grant_types` or `response_types` value this server does not support, or refuses
    /// (`implicit`, `password`, `token`).
    #[error("unsupported value in {0}")]
    Unsupported(&'static str),
    /// `grant_types` and `response_types` do not agree: `code` goes with
    /// `authorization_code`, and the other grants need no response type.
    #[error("grant_types and response_types do not agree")]
    InconsistentTypes,
    /// A public client (`none`) asked for the client credentials grant.
    #[error("a client authenticating with none cannot use client_credentials")]
    PublicClientCredentials,
    /// Both `jwks` and `jwks_uri` were given.
    #[error("jwks and jwks_uri are mutually exclusive")]
    BothKeySources,
    /// A `private_key_jwt` client registered neither `jwks` nor `jwks_uri`.
    #[error("private_key_jwt needs jwks or jwks_uri")]
    MissingKeys,
    /// The metadata is valid, but a [`Client`] cannot be made from it yet: it names a
    /// document that must be fetched first (the field is named).
    #[error("{0} must be fetched before the client is registered")]
    NotFetched(&'static str),
}

impl MetadataError {
    /// The error code of [RFC 7591 §3.2.2](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2):
    /// `invalid_redirect_uri` for redirect URI faults, `invalid_client_metadata` for
    /// everything else.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::RedirectUri(_) | Self::RedirectUris => "invalid_redirect_uri",
            _ => "invalid_client_metadata",
        }
    }
}

/// Validated client metadata ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)),
/// with the RFC's defaults filled in.
///
/// Every value is self-asserted by the client: none of it proves who the client is. The
/// rules:
/// - `redirect_uris` follow the redirect URI rules ([`RedirectUri::parse`]: absolute, no
///   fragment, `https`, loopback `http` or a reverse-DNS private-use scheme, so no
///   `javascript:`, `data:` or `file:`); they are required with the `authorization_code`
///   grant;
/// - `grant_types` (default `["authorization_code"]`) and `response_types` (default
///   `["code"]` when the code grant is registered, else none) agree; `implicit`, `token`
///   and `password` are refused;
/// - `token_endpoint_auth_method` (default `client_secret_basic`) is one of `none`,
///   `client_secret_basic`, `client_secret_post`, `private_key_jwt`, `client_secret_jwt`;
///   `none` cannot use `client_credentials`; `private_key_jwt` needs exactly one of `jwks`
///   (public keys only) and `jwks_uri` (`https`), and the two never appear together;
/// - `client_uri`, `logo_uri`, `tos_uri`, `policy_uri` are `https` URLs;
/// - with the feature `oidc`, the OpenID registration fields (`id_token_signed_response_alg`,
///   `userinfo_signed_response_alg`, `subject_type`, `sector_identifier_uri`,
///   `post_logout_redirect_uris`) are checked as for [`ClientBuilder`].
///
/// Unknown fields are ignored and not kept
/// ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)). A known field with a
/// value of the wrong type is refused, never replaced.
///
/// ```
/// use grantflow::registration::ClientMetadata;
///
/// let metadata = ClientMetadata::parse(br#"{
///     "redirect_uris": ["https://app.example/cb"],
///     "token_endpoint_auth_method": "none",
///     "client_name": "Example App",
///     "scope": "read",
///     "x-unknown": true
/// }"#)?;
/// assert_eq!(metadata.grant_types()[0].as_str(), "authorization_code");
/// let client = metadata.client_builder("generated-id")?.build()?;
/// assert!(client.is_public());
/// assert_eq!(client.name(), Some("Example App"));
///
/// let refused = ClientMetadata::parse(br#"{"redirect_uris":["https://app.example/cb#x"]}"#);
/// assert_eq!(refused.unwrap_err().error_code(), "invalid_redirect_uri");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientMetadata {
    redirect_uris: Vec<RedirectUri>,
    auth_method: AuthMethod,
    grant_types: Vec<GrantType>,
    response_types: Vec<&'static str>,
    client_name: Option<String>,
    client_uri: Option<String>,
    logo_uri: Option<String>,
    tos_uri: Option<String>,
    policy_uri: Option<String>,
    scope: Option<Scope>,
    contacts: Vec<String>,
    #[cfg(feature = "jwt")]
    jwks: Option<crate::jose::JwkSet>,
    jwks_uri: Option<String>,
    #[cfg(feature = "jwt")]
    signing_alg: Option<crate::jose::Algorithm>,
    software_id: Option<String>,
    software_version: Option<String>,
    #[cfg(feature = "oidc")]
    openid: OpenIdMetadata,
}

/// The OpenID registration fields ([OpenID Connect Registration §2]).
///
/// [OpenID Connect Registration §2]: https://openid.net/specs/openid-connect-registration-1_0.html#ClientMetadata
#[cfg(feature = "oidc")]
#[derive(Debug, Clone, Default)]
struct OpenIdMetadata {
    id_token_alg: Option<&'static str>,
    userinfo_alg: Option<&'static str>,
    subject_type: Option<crate::types::SubjectType>,
    sector_identifier_uri: Option<String>,
    sector_document: Option<String>,
    post_logout_redirect_uris: Vec<RedirectUri>,
}

impl ClientMetadata {
    /// Parses and validates a metadata document with the default [`MetadataLimits`].
    ///
    /// # Errors
    /// [`MetadataError`] naming the first rule the document breaks.
    pub fn parse(json: &[u8]) -> Result<Self, MetadataError> {
        Self::parse_with(json, &MetadataLimits::default())
    }

    /// Parses and validates a metadata document. The size limit is checked before any
    /// parsing.
    ///
    /// # Errors
    /// [`MetadataError`] naming the first rule the document breaks.
    pub fn parse_with(json: &[u8], limits: &MetadataLimits) -> Result<Self, MetadataError> {
        let object = parse_object(json, limits)?;
        Self::from_object(&object, limits)
    }

    /// Validates metadata already parsed into a JSON object (whose size was checked).
    pub(crate) fn from_object(
        object: &Map<String, Value>,
        limits: &MetadataLimits,
    ) -> Result<Self, MetadataError> {
        let fields = Fields(object);
        let auth_method = match fields.string("token_endpoint_auth_method")? {
            None => AuthMethod::ClientSecretBasic,
            Some(name) => auth_method(name)?,
        };
        let grant_types = match fields.strings("grant_types", 16)? {
            None => vec![GrantType::AUTHORIZATION_CODE],
            Some(names) if names.is_empty() => {
                return Err(MetadataError::InvalidField("grant_types"));
            }
            Some(names) => {
                let mut grants: Vec<GrantType> = Vec::new();
                for name in names {
                    let grant = grant_type(name)?;
                    if !grants.contains(&grant) {
                        grants.push(grant);
                    }
                }
                grants
            }
        };
        let code_grant = grant_types.contains(&GrantType::AUTHORIZATION_CODE);
        let response_types = match fields.strings("response_types", 4)? {
            None if code_grant => vec!["code"],
            None => Vec::new(),
            Some(names) => {
                let mut types = Vec::new();
                for name in names {
                    // Only the code flow: `token` is the implicit grant, refused
                    // (OAuth 2.1 §10.1), and hybrid OpenID flows are not offered.
                    if name != "code" {
                        return Err(MetadataError::Unsupported("response_types"));
                    }
                    if !types.contains(&"code") {
                        types.push("code");
                    }
                }
                types
            }
        };
        if code_grant != response_types.contains(&"code") {
            return Err(MetadataError::InconsistentTypes);
        }
        if auth_method == AuthMethod::None && grant_types.contains(&GrantType::CLIENT_CREDENTIALS) {
            return Err(MetadataError::PublicClientCredentials);
        }
        let redirect_uris = redirect_uris(&fields, "redirect_uris", limits)?;
        if code_grant && redirect_uris.is_empty() {
            return Err(MetadataError::RedirectUris);
        }
        let scope = fields
            .string("scope")?
            .map(|text| Scope::parse(text).map_err(|_| MetadataError::InvalidField("scope")))
            .transpose()?;
        let contacts = fields
            .strings("contacts", MAX_CONTACTS)?
            .unwrap_or_default()
            .into_iter()
            .map(|c| text("contacts", c))
            .collect::<Result<Vec<_>, _>>()?;
        let jwks_uri = fields.https_url("jwks_uri")?;
        // Never a special-use IP literal: the server fetches it.
        if jwks_uri
            .as_deref()
            .is_some_and(|uri| crate::fetch::check_url(uri).is_err())
        {
            return Err(MetadataError::InvalidField("jwks_uri"));
        }
        if object.contains_key("jwks") && jwks_uri.is_some() {
            return Err(MetadataError::BothKeySources);
        }
        #[cfg(feature = "jwt")]
        let jwks = match object.get("jwks") {
            None => None,
            Some(value) => Some(jwks(value)?),
        };
        #[cfg(not(feature = "jwt"))]
        if object.contains_key("jwks") || jwks_uri.is_some() {
            // Keys serve only the JWT methods, which need the feature `jwt`.
            return Err(MetadataError::Unsupported("jwks"));
        }
        #[cfg(feature = "jwt")]
        let has_keys = jwks.is_some() || jwks_uri.is_some();
        #[cfg(not(feature = "jwt"))]
        let has_keys = false;
        if auth_method == AuthMethod::PrivateKeyJwt && !has_keys {
            return Err(MetadataError::MissingKeys);
        }
        #[cfg(feature = "jwt")]
        let signing_alg = signing_alg(&fields, auth_method)?;
        #[cfg(not(feature = "jwt"))]
        if object.contains_key("token_endpoint_auth_signing_alg") {
            return Err(MetadataError::Unsupported(
                "token_endpoint_auth_signing_alg",
            ));
        }
        Ok(Self {
            redirect_uris,
            auth_method,
            grant_types,
            response_types,
            client_name: fields.text("client_name")?,
            client_uri: fields.https_url("client_uri")?,
            logo_uri: fields.https_url("logo_uri")?,
            tos_uri: fields.https_url("tos_uri")?,
            policy_uri: fields.https_url("policy_uri")?,
            scope,
            contacts,
            #[cfg(feature = "jwt")]
            jwks,
            jwks_uri,
            #[cfg(feature = "jwt")]
            signing_alg,
            software_id: fields.text("software_id")?,
            software_version: fields.text("software_version")?,
            #[cfg(feature = "oidc")]
            openid: OpenIdMetadata::from_fields(&fields, limits)?,
        })
    }

    /// The redirect URIs.
    pub fn redirect_uris(&self) -> &[RedirectUri] {
        &self.redirect_uris
    }

    /// The token endpoint authentication method (default `client_secret_basic`).
    pub fn token_endpoint_auth_method(&self) -> AuthMethod {
        self.auth_method
    }

    /// The client type the authentication method implies: public for `none`, confidential
    /// otherwise.
    pub fn client_type(&self) -> ClientType {
        if self.auth_method == AuthMethod::None {
            ClientType::Public
        } else {
            ClientType::Confidential
        }
    }

    /// The grant types (default `["authorization_code"]`).
    pub fn grant_types(&self) -> &[GrantType] {
        &self.grant_types
    }

    /// The response types: `["code"]` with the code grant, else empty.
    pub fn response_types(&self) -> &[&'static str] {
        &self.response_types
    }

    /// `client_name`, a self-asserted display name.
    pub fn client_name(&self) -> Option<&str> {
        self.client_name.as_deref()
    }

    /// `client_uri`, the client's home page (`https`).
    pub fn client_uri(&self) -> Option<&str> {
        self.client_uri.as_deref()
    }

    /// `logo_uri` (`https`).
    pub fn logo_uri(&self) -> Option<&str> {
        self.logo_uri.as_deref()
    }

    /// `tos_uri`, the terms of service (`https`).
    pub fn tos_uri(&self) -> Option<&str> {
        self.tos_uri.as_deref()
    }

    /// `policy_uri`, the privacy policy (`https`).
    pub fn policy_uri(&self) -> Option<&str> {
        self.policy_uri.as_deref()
    }

    /// `scope`, the scopes the client asks to be allowed.
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    /// `contacts`.
    pub fn contacts(&self) -> &[String] {
        &self.contacts
    }

    /// `jwks`, the client's public keys given inline.
    #[cfg(feature = "jwt")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
    pub fn jwks(&self) -> Option<&crate::jose::JwkSet> {
        self.jwks.as_ref()
    }

    /// `jwks_uri`, where the client publishes its public keys (`https`).
    pub fn jwks_uri(&self) -> Option<&str> {
        self.jwks_uri.as_deref()
    }

    /// `software_id`.
    pub fn software_id(&self) -> Option<&str> {
        self.software_id.as_deref()
    }

    /// `software_version`.
    pub fn software_version(&self) -> Option<&str> {
        self.software_version.as_deref()
    }

    /// `sector_identifier_uri` (`https`), whose document must be fetched and attached
    /// with [`attach_sector_document`](Self::attach_sector_document) before
    /// [`client_builder`](Self::client_builder).
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub fn sector_identifier_uri(&self) -> Option<&str> {
        self.openid.sector_identifier_uri.as_deref()
    }

    /// Attaches the document fetched from `sector_identifier_uri`; it is checked when the
    /// client is built ([OpenID Connect Registration §5](https://openid.net/specs/openid-connect-registration-1_0.html#SectorIdentifierValidation)).
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub fn attach_sector_document(&mut self, document: &str) {
        self.openid.sector_document = Some(document.to_owned());
    }

    /// A [`ClientBuilder`] holding this metadata for `client_id`: type, authentication
    /// method, redirect URIs, grant types, allowed scope, name, display URLs, contacts, keys
    /// and OpenID settings.
    /// Add what the server decides itself (a generated secret for the secret methods,
    /// a default scope, ...) and call [`build`](ClientBuilder::build).
    ///
    /// # Errors
    /// [`MetadataError::NotFetched`] when the metadata names a `sector_identifier_uri`
    /// whose document was not attached ([`attach_sector_document`](Self::attach_sector_document)).
    pub fn client_builder(&self, client_id: &str) -> Result<ClientBuilder, MetadataError> {
        let mut builder = Client::builder(client_id, self.client_type())
            .auth_method(self.auth_method)
            .issue_refresh_tokens(self.grant_types.contains(&GrantType::REFRESH_TOKEN));
        for uri in &self.redirect_uris {
            builder = builder.redirect_uri(uri.as_str());
        }
        for grant in &self.grant_types {
            builder = builder.grant_type(grant.clone());
        }
        if let Some(scope) = &self.scope {
            builder = builder.allowed_scope(scope.as_str());
        }
        if let Some(name) = &self.client_name {
            builder = builder.name(name);
        }
        type Setter = fn(ClientBuilder, &str) -> ClientBuilder;
        let display: [(Option<&str>, Setter); 4] = [
            (self.client_uri.as_deref(), ClientBuilder::client_uri),
            (self.logo_uri.as_deref(), ClientBuilder::logo_uri),
            (self.tos_uri.as_deref(), ClientBuilder::tos_uri),
            (self.policy_uri.as_deref(), ClientBuilder::policy_uri),
        ];
        for (value, set) in display {
            if let Some(uri) = value {
                builder = set(builder, uri);
            }
        }
        for contact in &self.contacts {
            builder = builder.contact(contact);
        }
        #[cfg(feature = "jwt")]
        {
            if let Some(jwks) = &self.jwks {
                builder = builder.jwks(jwks.clone());
            }
            if let Some(uri) = &self.jwks_uri {
                builder = builder.jwks_uri(uri);
            }
            if let Some(alg) = self.signing_alg {
                builder = builder.token_endpoint_auth_signing_alg(alg);
            }
        }
        #[cfg(feature = "oidc")]
        {
            builder = self.openid.apply(builder)?;
        }
        Ok(builder)
    }

    /// The metadata as registered, defaults included, for the registration response
    /// ([RFC 7591 §3.2.1](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.1)). Unknown
    /// fields of the request are not in it.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut out = Map::new();
        let strings = |list: &mut dyn Iterator<Item = &str>| {
            Value::Array(list.map(|s| Value::String(s.to_owned())).collect())
        };
        out.insert(
            "redirect_uris".to_owned(),
            strings(&mut self.redirect_uris.iter().map(RedirectUri::as_str)),
        );
        out.insert(
            "token_endpoint_auth_method".to_owned(),
            Value::String(self.auth_method.as_str().to_owned()),
        );
        out.insert(
            "grant_types".to_owned(),
            strings(&mut self.grant_types.iter().map(GrantType::as_str)),
        );
        out.insert(
            "response_types".to_owned(),
            strings(&mut self.response_types.iter().copied()),
        );
        let optional = [
            ("client_name", self.client_name.as_deref()),
            ("client_uri", self.client_uri.as_deref()),
            ("logo_uri", self.logo_uri.as_deref()),
            ("tos_uri", self.tos_uri.as_deref()),
            ("policy_uri", self.policy_uri.as_deref()),
            ("scope", self.scope.as_ref().map(Scope::as_str)),
            ("jwks_uri", self.jwks_uri.as_deref()),
            ("software_id", self.software_id.as_deref()),
            ("software_version", self.software_version.as_deref()),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                out.insert(name.to_owned(), Value::String(value.to_owned()));
            }
        }
        if !self.contacts.is_empty() {
            out.insert(
                "contacts".to_owned(),
                strings(&mut self.contacts.iter().map(String::as_str)),
            );
        }
        #[cfg(feature = "jwt")]
        {
            if let Some(jwks) = &self.jwks {
                if let Ok(value) = serde_json::from_str(&jwks.to_json()) {
                    out.insert("jwks".to_owned(), value);
                }
            }
            if let Some(alg) = self.signing_alg {
                out.insert(
                    "token_endpoint_auth_signing_alg".to_owned(),
                    Value::String(alg.name().to_owned()),
                );
            }
        }
        #[cfg(feature = "oidc")]
        self.openid.write(&mut out);
        out
    }
}

/// Checks the size, then parses a JSON object.
pub(crate) fn parse_object(
    json: &[u8],
    limits: &MetadataLimits,
) -> Result<Map<String, Value>, MetadataError> {
    if json.len() > limits.max_bytes {
        return Err(MetadataError::TooLarge);
    }
    match serde_json::from_slice::<Value>(json) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(MetadataError::NotAnObject),
    }
}

fn auth_method(name: &str) -> Result<AuthMethod, MetadataError> {
    Ok(match name {
        "none" => AuthMethod::None,
        "client_secret_basic" => AuthMethod::ClientSecretBasic,
        "client_secret_post" => AuthMethod::ClientSecretPost,
        "private_key_jwt" => AuthMethod::PrivateKeyJwt,
        "client_secret_jwt" => AuthMethod::ClientSecretJwt,
        _ => return Err(MetadataError::Unsupported("token_endpoint_auth_method")),
    })
}

fn grant_type(name: &str) -> Result<GrantType, MetadataError> {
    Ok(match name {
        "authorization_code" => GrantType::AUTHORIZATION_CODE,
        "refresh_token" => GrantType::REFRESH_TOKEN,
        "client_credentials" => GrantType::CLIENT_CREDENTIALS,
        "urn:ietf:params:oauth:grant-type:device_code" => GrantType::DEVICE_CODE,
        JWT_BEARER => GrantType::new(JWT_BEARER),
        TOKEN_EXCHANGE => GrantType::new(TOKEN_EXCHANGE),
        // `implicit` and `password` are refused (OAuth 2.1 §10.1, RFC 9700 §2.4), and
        // unknown grants are not granted.
        _ => return Err(MetadataError::Unsupported("grant_types")),
    })
}

/// Parses a list of redirect URIs by the registration rules.
fn redirect_uris(
    fields: &Fields<'_>,
    name: &'static str,
    limits: &MetadataLimits,
) -> Result<Vec<RedirectUri>, MetadataError> {
    let Some(list) = fields.strings(name, usize::MAX)? else {
        return Ok(Vec::new());
    };
    if list.len() > limits.max_redirect_uris {
        return Err(MetadataError::RedirectUris);
    }
    list.into_iter()
        .map(|uri| RedirectUri::parse(uri).map_err(MetadataError::RedirectUri))
        .collect()
}

/// A display string: at most 255 bytes, not empty, no control characters.
fn text(name: &'static str, value: &str) -> Result<String, MetadataError> {
    if value.is_empty() || value.len() > MAX_TEXT_BYTES || value.chars().any(char::is_control) {
        return Err(MetadataError::InvalidField(name));
    }
    Ok(value.to_owned())
}

/// Whether `value` is an absolute `https` URL with a host, no user information and no
/// fragment, of at most 2,048 bytes.
pub(crate) fn is_https_url(value: &str) -> bool {
    if value.len() > MAX_URL_BYTES || value.contains('#') {
        return false;
    }
    match url::Url::parse(value) {
        Ok(url) => {
            url.scheme() == "https"
                && url.host().is_some()
                && url.username().is_empty()
                && url.password().is_none()
        }
        Err(_) => false,
    }
}

#[cfg(feature = "jwt")]
fn jwks(value: &Value) -> Result<crate::jose::JwkSet, MetadataError> {
    let bytes = serde_json::to_vec(value).map_err(|_| MetadataError::InvalidField("jwks"))?;
    // Refuses private and symmetric members and weak keys are skipped; a set left
    // without a usable key is refused too.
    match crate::jose::JwkSet::parse(&bytes) {
        Ok(set) if !set.is_empty() => Ok(set),
        _ => Err(MetadataError::InvalidField("jwks")),
    }
}

/// `token_endpoint_auth_signing_alg`: an asymmetric algorithm for `private_key_jwt`,
/// `HS256` (the only one offered) for `client_secret_jwt`, never `none`, and meaningless
/// for the other methods.
#[cfg(feature = "jwt")]
fn signing_alg(
    fields: &Fields<'_>,
    method: AuthMethod,
) -> Result<Option<crate::jose::Algorithm>, MetadataError> {
    const NAME: &str = "token_endpoint_auth_signing_alg";
    let Some(name) = fields.string(NAME)? else {
        return Ok(None);
    };
    match method {
        AuthMethod::PrivateKeyJwt => crate::jose::Algorithm::from_name(name)
            .map(Some)
            .ok_or(MetadataError::InvalidField(NAME)),
        AuthMethod::ClientSecretJwt if name == "HS256" => Ok(None),
        _ => Err(MetadataError::InvalidField(NAME)),
    }
}

#[cfg(feature = "oidc")]
impl OpenIdMetadata {
    fn from_fields(fields: &Fields<'_>, limits: &MetadataLimits) -> Result<Self, MetadataError> {
        use crate::types::SubjectType;
        let algorithm = |name: &'static str| -> Result<Option<&'static str>, MetadataError> {
            match fields.string(name)? {
                None => Ok(None),
                Some(value) => crate::types::SIGNING_ALGORITHMS
                    .into_iter()
                    .find(|alg| *alg == value)
                    .map(Some)
                    .ok_or(MetadataError::InvalidField(name)),
            }
        };
        let subject_type = match fields.string("subject_type")? {
            None => None,
            Some("public") => Some(SubjectType::Public),
            Some("pairwise") => Some(SubjectType::Pairwise),
            Some(_) => return Err(MetadataError::InvalidField("subject_type")),
        };
        let sector_identifier_uri = fields.https_url("sector_identifier_uri")?;
        if sector_identifier_uri.is_some() && subject_type != Some(SubjectType::Pairwise) {
            return Err(MetadataError::InvalidField("sector_identifier_uri"));
        }
        Ok(Self {
            id_token_alg: algorithm("id_token_signed_response_alg")?,
            userinfo_alg: algorithm("userinfo_signed_response_alg")?,
            subject_type,
            sector_identifier_uri,
            sector_document: None,
            post_logout_redirect_uris: redirect_uris(fields, "post_logout_redirect_uris", limits)?,
        })
    }

    fn apply(&self, mut builder: ClientBuilder) -> Result<ClientBuilder, MetadataError> {
        if let Some(alg) = self.id_token_alg {
            builder = builder.id_token_signing_alg(alg);
        }
        if let Some(alg) = self.userinfo_alg {
            builder = builder.userinfo_signing_alg(alg);
        }
        if let Some(subject_type) = self.subject_type {
            builder = builder.subject_type(subject_type);
        }
        if let Some(uri) = &self.sector_identifier_uri {
            let document = self
                .sector_document
                .as_deref()
                .ok_or(MetadataError::NotFetched("sector_identifier_uri"))?;
            builder = builder.sector_identifier_uri(uri, document);
        }
        for uri in &self.post_logout_redirect_uris {
            builder = builder.post_logout_redirect_uri(uri.as_str());
        }
        Ok(builder)
    }

    fn write(&self, out: &mut Map<String, Value>) {
        let fields = [
            ("id_token_signed_response_alg", self.id_token_alg),
            ("userinfo_signed_response_alg", self.userinfo_alg),
            ("subject_type", self.subject_type.map(|s| s.as_str())),
            (
                "sector_identifier_uri",
                self.sector_identifier_uri.as_deref(),
            ),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                out.insert(name.to_owned(), Value::String(value.to_owned()));
            }
        }
        if !self.post_logout_redirect_uris.is_empty() {
            out.insert(
                "post_logout_redirect_uris".to_owned(),
                Value::Array(
                    self.post_logout_redirect_uris
                        .iter()
                        .map(|u| Value::String(u.as_str().to_owned()))
                        .collect(),
                ),
            );
        }
    }
}

/// Typed access to the members of a metadata object: a member of the wrong type is an
/// error, never skipped.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn string(&self, name: &'static str) -> Result<Option<&'a str>, MetadataError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(MetadataError::InvalidField(name)),
        }
    }

    fn strings(
        &self,
        name: &'static str,
        max: usize,
    ) -> Result<Option<Vec<&'a str>>, MetadataError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) if items.len() <= max => items
                .iter()
                .map(|item| item.as_str().ok_or(MetadataError::InvalidField(name)))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(MetadataError::InvalidField(name)),
        }
    }

    fn text(&self, name: &'static str) -> Result<Option<String>, MetadataError> {
        self.string(name)?
            .map(|value| text(name, value))
            .transpose()
    }

    fn https_url(&self, name: &'static str) -> Result<Option<String>, MetadataError> {
        match self.string(name)? {
            None => Ok(None),
            Some(value) if is_https_url(value) => Ok(Some(value.to_owned())),
            Some(_) => Err(MetadataError::InvalidField(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn parse(json: &str) -> Result<ClientMetadata, MetadataError> {
        ClientMetadata::parse(json.as_bytes())
    }

    fn code(json: &str) -> &'static str {
        match parse(json) {
            Ok(_) => "accepted",
            Err(e) => e.error_code(),
        }
    }

    #[test]
    fn dr_03_unknown_fields_are_ignored_and_wrong_types_refused() {
        let metadata = parse(r#"{"redirect_uris":["https://c.example/cb"],"foo":"bar"}"#).unwrap();
        assert!(!metadata.to_json().contains_key("foo"));
        assert_eq!(
            parse(
                r#"{"redirect_uris":["https://c.example/cb"],"grant_types":"authorization_code"}"#
            )
            .unwrap_err(),
            MetadataError::InvalidField("grant_types")
        );
        for body in ["[]", "\"x\"", "not json", "{", ""] {
            assert_eq!(
                parse(body).unwrap_err(),
                MetadataError::NotAnObject,
                "{body}"
            );
        }
        assert_eq!(
            code(r#"{"redirect_uris":["https://c.example/cb"],"client_name":7}"#),
            "invalid_client_metadata"
        );
    }

    #[test]
    fn dr_03_oversized_metadata_is_refused_before_parsing() {
        let limits = MetadataLimits {
            max_bytes: 64,
            ..MetadataLimits::default()
        };
        // Not even JSON: the size is checked first.
        let big = vec![b'x'; 65];
        assert_eq!(
            ClientMetadata::parse_with(&big, &limits).unwrap_err(),
            MetadataError::TooLarge
        );
        assert_eq!(
            MetadataError::TooLarge.error_code(),
            "invalid_client_metadata"
        );
    }

    #[test]
    fn dr_04_hostile_redirect_uris_are_refused() {
        for uri in [
            "https://c.example/cb#x",
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "http://c.example/cb",
            "/relative",
            "https://*.c.example/cb",
            "myapp:/cb",
        ] {
            let body = serde_json::json!({ "redirect_uris": [uri] }).to_string();
            assert_eq!(code(&body), "invalid_redirect_uri", "{uri}");
        }
        assert_eq!(code(r#"{"redirect_uris":[]}"#), "invalid_redirect_uri");
        assert_eq!(code(r#"{}"#), "invalid_redirect_uri");
        assert_eq!(
            code(
                r#"{"redirect_uris":["http://127.0.0.1/cb","com.example.app:/cb"],"token_endpoint_auth_method":"none"}"#
            ),
            "accepted"
        );
        let many: Vec<String> = (0..17).map(|i| format!("https://c.example/{i}")).collect();
        let body = serde_json::json!({ "redirect_uris": many }).to_string();
        assert_eq!(parse(&body).unwrap_err(), MetadataError::RedirectUris);
    }

    #[test]
    fn dr_05_grant_and_response_types_agree() {
        let metadata = parse(r#"{"redirect_uris":["https://c.example/cb"]}"#).unwrap();
        assert_eq!(metadata.grant_types(), [GrantType::AUTHORIZATION_CODE]);
        assert_eq!(metadata.response_types(), ["code"]);
        let json = metadata.to_json();
        assert_eq!(
            json["grant_types"],
            serde_json::json!(["authorization_code"])
        );
        assert_eq!(json["response_types"], serde_json::json!(["code"]));
        assert_eq!(
            parse(r#"{"grant_types":["client_credentials"],"response_types":["code"]}"#)
                .unwrap_err(),
            MetadataError::InconsistentTypes
        );
        assert_eq!(
            parse(r#"{"redirect_uris":["https://c.example/cb"],"response_types":[]}"#).unwrap_err(),
            MetadataError::InconsistentTypes
        );
        for refused in [
            r#"{"grant_types":["implicit"],"response_types":["token"]}"#,
            r#"{"grant_types":["password"]}"#,
            r#"{"grant_types":["urn:example:unknown"]}"#,
            r#"{"redirect_uris":["https://c.example/cb"],"response_types":["code","token"]}"#,
            r#"{"grant_types":[]}"#,
        ] {
            assert_eq!(code(refused), "invalid_client_metadata", "{refused}");
        }
        let machine = parse(r#"{"grant_types":["client_credentials"]}"#).unwrap();
        assert!(machine.response_types().is_empty() && machine.redirect_uris().is_empty());
    }

    #[test]
    fn dr_06_auth_method_is_one_supported_value() {
        assert_eq!(
            parse(r#"{"token_endpoint_auth_method":"none","grant_types":["client_credentials"]}"#)
                .unwrap_err(),
            MetadataError::PublicClientCredentials
        );
        assert_eq!(
            parse(r#"{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"tls_client_auth"}"#)
                .unwrap_err(),
            MetadataError::Unsupported("token_endpoint_auth_method")
        );
        assert_eq!(
            parse(r#"{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}"#)
                .unwrap_err(),
            MetadataError::MissingKeys
        );
        let default = parse(r#"{"grant_types":["client_credentials"]}"#).unwrap();
        assert_eq!(
            default.token_endpoint_auth_method(),
            AuthMethod::ClientSecretBasic
        );
        assert_eq!(default.client_type(), ClientType::Confidential);
        // The server adds the secret it generated; without one the client cannot be built.
        assert!(default.client_builder("c").unwrap().build().is_err());
        let secret = crate::ClientSecret::generate();
        let client = default
            .client_builder("c")
            .unwrap()
            .secret(&secret)
            .build()
            .unwrap();
        assert!(client.verify_secret(&secret) && !client.issues_refresh_tokens());
    }

    #[test]
    fn dr_07_jwks_and_jwks_uri_never_both_and_public_keys_only() {
        let key = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED25519_X}"}}"#);
        let both = format!(
            r#"{{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{{"keys":[{key}]}},"jwks_uri":"https://c.example/jwks"}}"#
        );
        assert_eq!(parse(&both).unwrap_err(), MetadataError::BothKeySources);
        let private = format!(
            r#"{{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED25519_X}","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}}]}}}}"#
        );
        assert_eq!(
            parse(&private).unwrap_err(),
            MetadataError::InvalidField("jwks")
        );
        let symmetric = r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}}"#;
        assert_eq!(
            parse(symmetric).unwrap_err(),
            MetadataError::InvalidField("jwks")
        );
        let http_uri = r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"http://c.example/jwks"}"#;
        assert_eq!(
            parse(http_uri).unwrap_err(),
            MetadataError::InvalidField("jwks_uri")
        );
        let inline = format!(
            r#"{{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","token_endpoint_auth_signing_alg":"EdDSA","jwks":{{"keys":[{key}]}}}}"#
        );
        let metadata = parse(&inline).unwrap();
        let client = metadata.client_builder("k").unwrap().build().unwrap();
        assert_eq!(client.auth_method(), AuthMethod::PrivateKeyJwt);
        assert!(client.jwks().is_some_and(|set| set.keys().len() == 1));
        assert!(metadata.to_json().contains_key("jwks"));
    }

    #[test]
    fn ca_12_signing_alg_is_a_supported_asymmetric_value() {
        let key = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED25519_X}"}}"#);
        for alg in ["none", "HS256", "ES512"] {
            let body = format!(
                r#"{{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","token_endpoint_auth_signing_alg":"{alg}","jwks":{{"keys":[{key}]}}}}"#
            );
            assert_eq!(
                parse(&body).unwrap_err(),
                MetadataError::InvalidField("token_endpoint_auth_signing_alg"),
                "{alg}"
            );
        }
    }

    #[test]
    fn dr_08_display_urls_must_be_https() {
        for field in ["client_uri", "logo_uri", "tos_uri", "policy_uri"] {
            for bad in [
                "http://c.example/x",
                "javascript:alert(1)",
                "https://user@c.example/x",
                "https://c.example/x#f",
            ] {
                let body = serde_json::json!({
                    "redirect_uris": ["https://c.example/cb"],
                    field: bad,
                })
                .to_string();
                assert_eq!(
                    parse(&body).unwrap_err(),
                    MetadataError::InvalidField(field),
                    "{field} {bad}"
                );
            }
        }
        let metadata = parse(
            r#"{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"none",
                "client_name":"App","client_uri":"https://c.example","logo_uri":"https://c.example/l.png",
                "contacts":["ops@c.example"],"software_id":"s","software_version":"1","scope":"a b"}"#,
        )
        .unwrap();
        assert_eq!(metadata.logo_uri(), Some("https://c.example/l.png"));
        assert_eq!(metadata.contacts(), ["ops@c.example"]);
        let json = metadata.to_json();
        for field in [
            "client_name",
            "client_uri",
            "logo_uri",
            "contacts",
            "software_id",
            "software_version",
            "scope",
        ] {
            assert!(json.contains_key(field), "{field}");
        }
        let client = metadata.client_builder("pub").unwrap().build().unwrap();
        assert_eq!(client.allowed_scope().as_str(), "a b");
        assert_eq!(
            code(r#"{"redirect_uris":["https://c.example/cb"],"client_name":"a\u0000b"}"#),
            "invalid_client_metadata"
        );
    }

    #[cfg(feature = "oidc")]
    #[test]
    fn dr_18_openid_registration_fields_are_checked() {
        let base = |extra: &str| format!(r#"{{"redirect_uris":["https://c.example/cb"],{extra}}}"#);
        assert_eq!(
            parse(&base(r#""id_token_signed_response_alg":"none""#)).unwrap_err(),
            MetadataError::InvalidField("id_token_signed_response_alg")
        );
        assert_eq!(
            parse(&base(r#""subject_type":"ghost""#)).unwrap_err(),
            MetadataError::InvalidField("subject_type")
        );
        assert_eq!(
            code(&base(
                r#""post_logout_redirect_uris":["https://c.example/bye#x"]"#
            )),
            "invalid_redirect_uri"
        );
        let mut pairwise = parse(&base(
            r#""subject_type":"pairwise","sector_identifier_uri":"https://c.example/sector.json","id_token_signed_response_alg":"ES256""#,
        ))
        .unwrap();
        assert_eq!(
            pairwise.client_builder("p").unwrap_err(),
            MetadataError::NotFetched("sector_identifier_uri")
        );
        pairwise.attach_sector_document(r#"["https://other.example/cb"]"#);
        assert!(
            pairwise
                .client_builder("p")
                .unwrap()
                .secret(&crate::ClientSecret::generate())
                .build()
                .is_err()
        );
        pairwise.attach_sector_document(r#"["https://c.example/cb"]"#);
        let client = pairwise
            .client_builder("p")
            .unwrap()
            .secret(&crate::ClientSecret::generate())
            .build()
            .unwrap();
        assert_eq!(client.sector(), Some("c.example"));
        assert_eq!(client.id_token_signing_alg(), "ES256");
    }
}
