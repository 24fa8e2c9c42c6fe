//! Registered clients ([RFC 6749 §2](https://www.rfc-editor.org/rfc/rfc6749#section-2)).

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::sync::Arc;

use subtle::{Choice, ConstantTimeEq as _};

use crate::registration::MetadataDocument;
use crate::secret::{TokenHash, secret_type};
use crate::token_issuer::AccessTokenFormat;
#[cfg(feature = "jwt")]
use crate::types::client_keys::ClientKeys;
use crate::types::openid::{
    DEFAULT_ID_TOKEN_ALGORITHM, OpenIdRegistration, OpenIdSettings, SubjectType,
};
use crate::types::redirect_uri::{InvalidRedirectUri, RedirectUri};
use crate::types::resource::{ResourceUri, Resources};
use crate::types::scope::Scope;

/// The longest display URL (`client_uri`, `logo_uri`, `tos_uri`, `policy_uri`) accepted.
pub(crate) const MAX_DISPLAY_URI_LEN: usize = 2048;

/// The longest client name, in characters.
pub(crate) const MAX_CLIENT_NAME_CHARS: usize = 200;

/// The most contacts, and the longest contact in characters.
pub(crate) const MAX_CONTACTS: usize = 10;
pub(crate) const MAX_CONTACT_CHARS: usize = 256;

secret_type!(
    /// A client secret ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)).
    ///
    /// Registries keep only its [`TokenHash`]. That is safe because the authorization server
    /// *generates* client secrets with 256 bits of entropy; for human-chosen secrets,
    /// override [`ClientRegistry::verify_secret`](crate::ClientRegistry::verify_secret)
    /// with a slow KDF.
    ///
    /// ```
    /// use grantflow::ClientSecret;
    /// let secret = ClientSecret::generate();
    /// assert_eq!(secret.expose_secret().len(), 43);
    /// assert_eq!(format!("{secret:?}"), "ClientSecret(<redacted>)");
    /// ```
    ClientSecret,
    generate: "Hand the value to the client once, and register only its hash."
);

/// A client identifier ([RFC 6749 §2.2](https://www.rfc-editor.org/rfc/rfc6749#section-2.2)):
/// 1 to 255 printable ASCII characters (`%x20-7E`, the `VSCHAR` of Appendix A.1). Cheap to
/// clone.
///
/// ```
/// use grantflow::ClientId;
/// let id = ClientId::new("s6BhdRkqt3")?;
/// assert_eq!(id.as_str(), "s6BhdRkqt3");
/// assert!(ClientId::new("").is_err());
/// # Ok::<(), grantflow::ClientError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(Arc<str>);

impl ClientId {
    /// Validates a client identifier.
    ///
    /// # Errors
    /// [`ClientError::InvalidClientId`] when empty, longer than 255 bytes or with a
    /// character outside `%x20-7E`.
    pub fn new(id: &str) -> Result<Self, ClientError> {
        if !Self::is_valid(id) {
            return Err(ClientError::InvalidClientId);
        }
        Ok(Self(Arc::from(id)))
    }

    /// Whether [`new`](Self::new) accepts `id`, without allocating. The server looks up
    /// only such identifiers: anything else cannot be registered, so it is answered as an
    /// unknown client before any [`ClientRegistry`](crate::ClientRegistry) sees it.
    ///
    /// ```
    /// use grantflow::ClientId;
    /// assert!(ClientId::is_valid("s6BhdRkqt3"));
    /// assert!(!ClientId::is_valid("nul\0byte"));
    /// ```
    pub fn is_valid(id: &str) -> bool {
        !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| (0x20..=0x7e).contains(&b))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ClientId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({:?})", &*self.0)
    }
}

/// The client type ([RFC 6749 §2.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.1)).
/// Each client is registered as exactly one type ([OAuth 2.1 §2.1]), which decides its
/// authentication, PKCE and refresh behaviour.
///
/// [OAuth 2.1 §2.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.1
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[expect(
    clippy::exhaustive_enums,
    reason = "RFC 6749 defines exactly these two client types"
)]
pub enum ClientType {
    /// Cannot keep a secret (native and browser apps). Authenticates with `none`.
    Public,
    /// Holds a secret and authenticates at the token endpoint.
    Confidential,
}

/// How a client authenticates at the token endpoint
/// ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)
/// `token_endpoint_auth_method`). A client must use the method it registered ([OAuth 2.1 §2.4.1]).
///
/// [OAuth 2.1 §2.4.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.4.1
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the request body.
    ClientSecretPost,
    /// No authentication: public clients, which send only `client_id`.
    None,
    /// A JWT signed with one of the client's registered private keys
    /// ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2), OpenID Connect
    /// Core §9). Needs the feature `jwt`, a JWK Set ([`ClientBuilder::jwks`]), and the
    /// method turned on for the server
    /// ([`ServerBuilder::private_key_jwt`](crate::ServerBuilder::private_key_jwt)).
    PrivateKeyJwt,
    /// A JWT MACed (HS256, HS384 or HS512) with the client secret
    /// ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2), OpenID Connect
    /// Core §9). The server must hold the secret itself, not a digest
    /// ([`ClientBuilder::assertion_secret`]), so it is also off for the whole server until
    /// [`ServerBuilder::client_secret_jwt`](crate::ServerBuilder::client_secret_jwt) turns
    /// it on. Needs the feature `jwt`.
    ClientSecretJwt,
}

impl AuthMethod {
    /// The RFC 7591 name, as listed in metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::ClientSecretJwt => "client_secret_jwt",
        }
    }
}

/// A `grant_type` value. The set is open, like [`ErrorCode`](crate::ErrorCode): extension
/// grants are URIs.
///
/// ```
/// use grantflow::GrantType;
/// assert_eq!(GrantType::CLIENT_CREDENTIALS.as_str(), "client_credentials");
/// let exchange = GrantType::new("urn:ietf:params:oauth:grant-type:token-exchange");
/// assert_eq!(exchange.as_str(), "urn:ietf:params:oauth:grant-type:token-exchange");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GrantType(Cow<'static, str>);

impl GrantType {
    /// `authorization_code` ([RFC 6749 §4.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1)).
    pub const AUTHORIZATION_CODE: Self = Self(Cow::Borrowed("authorization_code"));
    /// `refresh_token` ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6)).
    pub const REFRESH_TOKEN: Self = Self(Cow::Borrowed("refresh_token"));
    /// `client_credentials` ([RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)).
    pub const CLIENT_CREDENTIALS: Self = Self(Cow::Borrowed("client_credentials"));
    /// The device grant ([RFC 8628 §3.4](https://www.rfc-editor.org/rfc/rfc8628#section-3.4)).
    pub const DEVICE_CODE: Self = Self(Cow::Borrowed(
        "urn:ietf:params:oauth:grant-type:device_code",
    ));
    /// `password`, the legacy resource owner password grant
    /// ([RFC 6749 §4.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.3)); off unless
    /// enabled per client.
    pub const PASSWORD: Self = Self(Cow::Borrowed("password"));

    /// Any other grant type, such as an extension grant URI.
    pub fn new(value: impl Into<Cow<'static, str>>) -> Self {
        Self(value.into())
    }

    /// The value as sent in `grant_type`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a client cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The `client_id` is empty, too long or has characters outside `%x20-7E`.
    #[error("client_id must be 1 to 255 printable ASCII characters")]
    InvalidClientId,
    /// A confidential client has no secret.
    #[error("a confidential client needs at least one secret")]
    MissingSecret,
    /// A `private_key_jwt` client, or one held to signed request objects, has no public
    /// keys (or the crate lacks the `jwt` feature).
    #[error("a private_key_jwt client needs a JWK Set")]
    MissingKeys,
    /// A client was given both `jwks` and `jwks_uri`
    /// ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)).
    #[error("jwks and jwks_uri are mutually exclusive")]
    KeySources,
    /// A `jwks_uri` that is not an `https` URL the server would fetch (user information,
    /// a fragment, a special-use IP literal).
    #[error("jwks_uri must be an https URL the server may fetch")]
    JwksUri,
    /// A `client_secret_jwt` client has no secret in recoverable form (a digest cannot
    /// key an HMAC), or the crate lacks the `jwt` feature.
    #[error("a client_secret_jwt client needs its secret itself, not a digest")]
    MissingAssertionSecret,
    /// The secret of a `client_secret_jwt` client is shorter than 32 bytes, the HS256
    /// output size.
    #[error("a client_secret_jwt secret must be at least 32 bytes")]
    WeakAssertionSecret,
    /// A public client was given a secret.
    #[error("a public client cannot have a secret")]
    PublicClientWithSecret,
    /// The authentication method does not fit the client type (public clients use `none`,
    /// confidential ones a secret method).
    #[error("authentication method does not fit the client type")]
    AuthMethodMismatch,
    /// A redirect URI was refused.
    #[error(transparent)]
    RedirectUri(#[from] InvalidRedirectUri),
    /// The allowed or default scope is malformed, or the default is not allowed.
    #[error("invalid scope configuration")]
    Scope,
    /// The client has no grant type, or a grant type its type cannot use
    /// (`client_credentials` for a public client, [RFC 6749 §4.4]).
    ///
    /// [RFC 6749 §4.4]: https://www.rfc-editor.org/rfc/rfc6749#section-4.4
    #[error("grant types do not fit the client type")]
    GrantTypes,
    /// A client with this `client_id` is already registered ([OAuth 2.1 §2.1]).
    ///
    /// [OAuth 2.1 §2.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.1
    #[error("a client with this client_id is already registered")]
    Duplicate,
    /// No client with this `client_id` is registered.
    #[error("no client with this client_id is registered")]
    Unknown,
    /// Only confidential clients may be exempt from PKCE ([OAuth 2.1 §4.1.1]).
    ///
    /// [OAuth 2.1 §4.1.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-4.1.1
    #[error("only a confidential client can be exempt from PKCE")]
    PkceExemptPublicClient,
    /// An allowed resource is not a resource identifier ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    #[error("allowed resources must be absolute URIs without fragment")]
    Resource,
    /// A display URL (`client_uri`, `logo_uri`, `tos_uri`, `policy_uri`) is not an `https`
    /// URL, or the name or a contact is too long or has control characters.
    #[error("display information must be https URLs and short printable text")]
    Display,
    /// An ID token or UserInfo signing algorithm that is unknown, or `none`: every ID token
    /// is signed ([OpenID Connect Core 1.0 §2], [RFC 7518 §3.6]).
    ///
    /// [OpenID Connect Core 1.0 §2]: https://openid.net/specs/openid-connect-core-1_0.html
    /// [RFC 7518 §3.6]: https://www.rfc-editor.org/rfc/rfc7518#section-3.6
    #[error("the signing algorithm must be one of RS256, PS256, ES256 or EdDSA")]
    SigningAlgorithm,
    /// A pairwise client's sector cannot be told: its redirect URIs have several hosts (or
    /// none) and no `sector_identifier_uri` was registered, or the `sector_identifier_uri`
    /// is not `https`, or its document does not list every redirect URI ([OpenID Connect Core 1.0
    /// §8]), or a
    /// `sector_identifier_uri` was given to a client with public subject identifiers.
    ///
    /// [OpenID Connect Core 1.0 §8]: https://openid.net/specs/openid-connect-core-1_0.html
    #[error("the sector identifier of a pairwise client cannot be established")]
    SectorIdentifier,
    /// A post-logout redirect URI breaks the rules of redirect URIs ([OpenID Connect RP-Initiated
    /// Logout 1.0 §2]).
    ///
    /// [OpenID Connect RP-Initiated Logout 1.0 §2]: https://openid.net/specs/openid-connect-rpinitiated-1_0.html
    #[error("invalid post_logout_redirect_uri: {0}")]
    PostLogoutRedirectUri(InvalidRedirectUri),
}

/// What a client says about itself for consent pages, with the member names of
/// [RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2): all `https` URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DisplayInfo {
    client_uri: Option<Box<str>>,
    logo_uri: Option<Box<str>>,
    tos_uri: Option<Box<str>>,
    policy_uri: Option<Box<str>>,
    contacts: Vec<Box<str>>,
}

/// A registered client: its type, credentials (as digests), redirect URIs, allowed grant
/// types and scopes.
///
/// Built with [`Client::builder`], which validates the registration ([RFC 6749 §3.1.2], [RFC 9700
/// §2.6], [RFC 6749 §3.1],
/// [OAuth 2.1 §2.1]). A confidential client may hold several secret digests at once so that secrets
/// can be rotated without downtime; any of them authenticates.
///
/// ```
/// use grantflow::{Client, ClientSecret, ClientType, GrantType};
///
/// let secret = ClientSecret::from_presented("s3cr3t-value".to_owned());
/// let client = Client::builder("backend", ClientType::Confidential)
///     .secret(&secret)
///     .grant_type(GrantType::CLIENT_CREDENTIALS)
///     .allowed_scope("read:data write:data")
///     .default_scope("read:data")
///     .build()?;
/// assert!(client.verify_secret(&secret));
/// assert!(!client.verify_secret(&ClientSecret::from_presented("guess".to_owned())));
/// assert!(!format!("{client:?}").contains("s3cr3t"));
/// # Ok::<(), grantflow::ClientError>(())
/// ```
///
/// [RFC 6749 §3.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
/// [RFC 9700 §2.6]: https://www.rfc-editor.org/rfc/rfc9700#section-2.6
/// [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
/// [OAuth 2.1 §2.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-2.1
#[derive(Debug, Clone)]
pub struct Client {
    id: ClientId,
    client_type: ClientType,
    auth_method: AuthMethod,
    secret_hashes: Vec<TokenHash>,
    redirect_uris: Vec<RedirectUri>,
    grant_types: Vec<GrantType>,
    allowed_scope: Scope,
    default_scope: Option<Scope>,
    issue_refresh_tokens: bool,
    name: Option<String>,
    introspection: bool,
    resource_audience: Option<Arc<str>>,
    pkce_exempt: bool,
    allowed_resources: Resources,
    multiple_audiences: bool,
    display: DisplayInfo,
    require_pushed_requests: bool,
    dpop_bound_access_tokens: bool,
    #[cfg(feature = "jwt")]
    keys: ClientKeys,
    openid: OpenIdRegistration,
    access_token_format: Option<AccessTokenFormat>,
    metadata_document: Option<Arc<MetadataDocument>>,
    self_registered: bool,
}

impl Client {
    /// Starts a registration for `client_id` of `client_type`.
    pub fn builder(client_id: &str, client_type: ClientType) -> ClientBuilder {
        ClientBuilder {
            id: client_id.to_owned(),
            client_type,
            auth_method: None,
            secret_hashes: Vec::new(),
            redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            allowed_scope: String::new(),
            default_scope: None,
            issue_refresh_tokens: true,
            name: None,
            introspection: false,
            resource_audience: None,
            pkce_exempt: false,
            allowed_resources: Vec::new(),
            multiple_audiences: false,
            display: DisplayInfo::default(),
            display_raw: Vec::new(),
            require_pushed_requests: false,
            dpop_bound_access_tokens: false,
            #[cfg(feature = "jwt")]
            keys: ClientKeys::default(),
            #[cfg(feature = "jwt")]
            weak_assertion_secret: false,
            openid: OpenIdSettings::default(),
            access_token_format: None,
            metadata_document: None,
            self_registered: false,
        }
    }

    /// The client identifier.
    pub fn id(&self) -> &ClientId {
        &self.id
    }

    /// The client type.
    pub fn client_type(&self) -> ClientType {
        self.client_type
    }

    /// Whether the client is public.
    pub fn is_public(&self) -> bool {
        self.client_type == ClientType::Public
    }

    /// The registered token endpoint authentication method.
    pub fn auth_method(&self) -> AuthMethod {
        self.auth_method
    }

    /// The registered redirect URIs.
    pub fn redirect_uris(&self) -> &[RedirectUri] {
        &self.redirect_uris
    }

    /// The grant types the client may use.
    pub fn grant_types(&self) -> &[GrantType] {
        &self.grant_types
    }

    /// Whether the client may use `grant_type`.
    pub fn allows_grant_type(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g.as_str() == grant_type)
    }

    /// The scopes the client may be granted.
    pub fn allowed_scope(&self) -> &Scope {
        &self.allowed_scope
    }

    /// The scope used when a request has no `scope` ([RFC 6749 §3.3]); `None` means such a request
    /// fails with `invalid_scope`.
    ///
    /// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
    pub fn default_scope(&self) -> Option<&Scope> {
        self.default_scope.as_ref()
    }

    /// Whether grants that can carry a refresh token give this client one ([RFC 9700 §4.14.2]).
    ///
    /// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
    pub fn issues_refresh_tokens(&self) -> bool {
        self.issue_refresh_tokens
    }

    /// A display name for consent pages, if registered.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether the client may call the introspection endpoint: a resource server
    /// registered as a confidential client ([RFC 7662 §4](https://www.rfc-editor.org/rfc/rfc7662#section-4),
    /// [RFC 7662 §2.1]). Public clients never may, whatever their registration says.
    ///
    /// [RFC 7662 §2.1]: https://www.rfc-editor.org/rfc/rfc7662#section-2.1
    pub fn may_introspect(&self) -> bool {
        self.introspection && !self.is_public()
    }

    /// The audience (`aud`) of the resource server this client is, if registered.
    /// Introspection hides from it tokens meant for another audience ([RFC 7662 §2.2]).
    ///
    /// [RFC 7662 §2.2]: https://www.rfc-editor.org/rfc/rfc7662#section-2.2
    pub fn resource_audience(&self) -> Option<&str> {
        self.resource_audience.as_deref()
    }

    /// Whether the client may send authorization requests without a PKCE challenge ([OAuth 2.1
    /// §4.1.1]).
    ///
    /// [OAuth 2.1 §4.1.1]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-4.1.1
    pub fn is_pkce_exempt(&self) -> bool {
        self.pkce_exempt
    }

    /// The resources the client may ask tokens for (`resource`,
    /// [RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)). Empty means every resource the
    /// server registers ([`ServerBuilder::resource`](crate::ServerBuilder::resource)).
    pub fn allowed_resources(&self) -> &Resources {
        &self.allowed_resources
    }

    /// Whether one token request may name several resources, giving a token valid at all
    /// of them ([`DangerousClient::allow_multiple_audiences`]).
    pub fn allows_multiple_audiences(&self) -> bool {
        self.multiple_audiences
    }

    /// The client's home page (`client_uri`), if known, for consent pages.
    pub fn client_uri(&self) -> Option<&str> {
        self.display.client_uri.as_deref()
    }

    /// The client's logo (`logo_uri`), if known, for consent pages.
    pub fn logo_uri(&self) -> Option<&str> {
        self.display.logo_uri.as_deref()
    }

    /// The client's terms of service (`tos_uri`), if known.
    pub fn tos_uri(&self) -> Option<&str> {
        self.display.tos_uri.as_deref()
    }

    /// The client's privacy policy (`policy_uri`), if known.
    pub fn policy_uri(&self) -> Option<&str> {
        self.display.policy_uri.as_deref()
    }

    /// The people responsible for the client (`contacts`, usually e-mail addresses).
    pub fn contacts(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.display.contacts.iter().map(|c| &**c)
    }

    /// Whether the client must push its authorization requests
    /// (`require_pushed_authorization_requests`,
    /// [RFC 9126 §6](https://www.rfc-editor.org/rfc/rfc9126#section-6)).
    pub fn requires_pushed_authorization_requests(&self) -> bool {
        self.require_pushed_requests
    }

    /// Whether the client always asks for DPoP-bound access tokens
    /// (`dpop_bound_access_tokens`,
    /// [RFC 9449 §5.2](https://www.rfc-editor.org/rfc/rfc9449#section-5.2)).
    pub fn requires_dpop_bound_access_tokens(&self) -> bool {
        self.dpop_bound_access_tokens
    }

    /// The client's public keys for `private_key_jwt`, if registered.
    #[cfg(feature = "jwt")]
    pub fn jwks(&self) -> Option<&crate::jose::JwkSet> {
        self.keys.jwks.as_ref()
    }

    /// Where the client publishes its public keys for `private_key_jwt` (`jwks_uri`), if
    /// registered.
    #[cfg(feature = "jwt")]
    pub fn jwks_uri(&self) -> Option<&str> {
        self.keys.jwks_uri.as_deref()
    }

    /// The registered `token_endpoint_auth_signing_alg`, if any.
    #[cfg(feature = "jwt")]
    pub fn token_endpoint_auth_signing_alg(&self) -> Option<crate::jose::Algorithm> {
        self.keys.signing_alg
    }

    /// The registered `request_object_signing_alg`, if any: the one algorithm the client's
    /// request objects may use.
    #[cfg(feature = "jwt")]
    pub fn request_object_signing_alg(&self) -> Option<crate::jose::Algorithm> {
        self.keys.request_object_alg
    }

    /// Whether every authorization request of the client must be a signed request object
    /// (`require_signed_request_object`,
    /// [RFC 9101 §10.5](https://www.rfc-editor.org/rfc/rfc9101#section-10.5)).
    #[cfg(feature = "jwt")]
    pub fn requires_signed_request_object(&self) -> bool {
        self.keys.require_signed_request_object
    }

    /// The assertion keys (crate-internal).
    #[cfg(feature = "jwt")]
    pub(crate) fn keys(&self) -> &ClientKeys {
        &self.keys
    }

    /// The algorithm of the client's ID tokens: its registered
    /// `id_token_signed_response_alg`, or `RS256`
    /// ([OpenID Connect Registration §2](https://openid.net/specs/openid-connect-registration-1_0.html#ClientMetadata)).
    pub fn id_token_signing_alg(&self) -> &'static str {
        self.openid
            .id_token_alg
            .unwrap_or(DEFAULT_ID_TOKEN_ALGORITHM)
    }

    /// The algorithm of the client's signed UserInfo responses, or `None` when it gets
    /// them as plain JSON (`userinfo_signed_response_alg`).
    pub fn userinfo_signing_alg(&self) -> Option<&'static str> {
        self.openid.userinfo_alg
    }

    /// How the client sees its users' identifiers.
    pub fn subject_type(&self) -> SubjectType {
        self.openid.subject_type
    }

    /// The sector of a pairwise client's subject identifiers: the host of its redirect
    /// URIs or of its `sector_identifier_uri`; `None` for public subjects.
    pub fn sector(&self) -> Option<&str> {
        self.openid.sector.as_deref()
    }

    /// The registered `sector_identifier_uri` and the document that was fetched from it.
    pub fn sector_identifier_uri(&self) -> Option<(&str, &str)> {
        self.openid
            .sector_identifier
            .as_ref()
            .map(|(uri, document)| (&**uri, &**document))
    }

    /// Where the OpenID Provider may send the user after logging out at the client's
    /// request ([RP-Initiated Logout §3.1](https://openid.net/specs/openid-connect-rpinitiated-1_0.html#ClientMetadata)).
    pub fn post_logout_redirect_uris(&self) -> &[RedirectUri] {
        &self.openid.post_logout_redirect_uris
    }

    /// Whether, for an OpenID Connect grant, the client gets a refresh token only when
    /// `offline_access` was granted
    /// ([Core §11](https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess)).
    pub fn refresh_needs_offline_access(&self) -> bool {
        self.openid.refresh_needs_offline_access
    }

    /// Whether the claims of the granted scopes (`profile`, `email`, ...) go into the
    /// client's ID tokens too, not only to UserInfo.
    pub fn scope_claims_in_id_token(&self) -> bool {
        self.openid.scope_claims_in_id_token
    }

    /// The access token format registered for this client, or `None` for the server's
    /// default (see [`ClientBuilder::access_token_format`]).
    pub fn access_token_format(&self) -> Option<AccessTokenFormat> {
        self.access_token_format
    }

    /// The client ID metadata document this client was resolved from, or `None` for a
    /// client the host registered. Such a client was registered by no administrator: its
    /// name, logo and URIs are self-asserted, and only
    /// [`MetadataDocument::host`] is vouched for (by TLS).
    pub fn metadata_document(&self) -> Option<&MetadataDocument> {
        self.metadata_document.as_deref()
    }

    /// Whether the client registered itself through dynamic client registration
    /// ([RFC 7591](https://www.rfc-editor.org/rfc/rfc7591)) rather than being registered by
    /// an administrator: everything it says about itself (name, logo, URIs) is self-asserted
    /// ([RFC 7591 §5](https://www.rfc-editor.org/rfc/rfc7591#section-5)).
    pub fn is_self_registered(&self) -> bool {
        self.self_registered
    }

    /// The digests of the client's current secrets.
    pub fn secret_hashes(&self) -> &[TokenHash] {
        &self.secret_hashes
    }

    /// Checks a presented secret against every registered digest in constant time: the
    /// digest of the presented value is compared with each stored digest, with no early
    /// exit, so neither the position of a match nor the secret's length leaks ([RFC 6749 §2.3.1]).
    ///
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    pub fn verify_secret(&self, presented: &ClientSecret) -> bool {
        let presented = presented.hash();
        let mut matched = Choice::from(0);
        for stored in &self.secret_hashes {
            matched |= stored.as_bytes().ct_eq(presented.as_bytes());
        }
        matched.into()
    }
}

/// Builds and validates a [`Client`]. Created by [`Client::builder`].
#[derive(Debug, Clone)]
#[must_use = "a client builder does nothing until `build` is called"]
pub struct ClientBuilder {
    id: String,
    client_type: ClientType,
    auth_method: Option<AuthMethod>,
    secret_hashes: Vec<TokenHash>,
    redirect_uris: Vec<String>,
    grant_types: Vec<GrantType>,
    allowed_scope: String,
    default_scope: Option<String>,
    issue_refresh_tokens: bool,
    name: Option<String>,
    introspection: bool,
    resource_audience: Option<Arc<str>>,
    pkce_exempt: bool,
    require_pushed_requests: bool,
    dpop_bound_access_tokens: bool,
    #[cfg(feature = "jwt")]
    keys: ClientKeys,
    /// A `client_secret_jwt` secret refused as too short, reported at `build`.
    #[cfg(feature = "jwt")]
    weak_assertion_secret: bool,
    openid: OpenIdSettings,
    access_token_format: Option<AccessTokenFormat>,
    allowed_resources: Vec<String>,
    multiple_audiences: bool,
    display: DisplayInfo,
    /// The display URLs as given, checked at `build`: (which, value).
    display_raw: Vec<(DisplayUri, String)>,
    metadata_document: Option<Arc<MetadataDocument>>,
    self_registered: bool,
}

/// Which display URL a [`ClientBuilder`] setter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DisplayUri {
    Client,
    Logo,
    Tos,
    Policy,
}

impl ClientBuilder {
    /// Marks the client as resolved from a client ID metadata document.
    pub(crate) fn metadata_document(mut self, document: Arc<MetadataDocument>) -> Self {
        self.metadata_document = Some(document);
        self
    }

    /// Marks a client that registered itself through dynamic client registration
    /// ([`Client::is_self_registered`]). The registration endpoint sets it; a store that
    /// rebuilds clients from its own records sets it again for those clients. Default:
    /// `false`.
    pub fn self_registered(mut self, self_registered: bool) -> Self {
        self.self_registered = self_registered;
        self
    }

    /// Adds a secret (only its digest is kept). Call it again to register a second secret
    /// during rotation.
    pub fn secret(self, secret: &ClientSecret) -> Self {
        self.secret_hash(secret.hash())
    }

    /// Adds a secret digest read back from storage.
    pub fn secret_hash(mut self, hash: TokenHash) -> Self {
        self.secret_hashes.push(hash);
        self
    }

    /// Sets the token endpoint authentication method. Default: `client_secret_basic` for
    /// confidential clients (the RFC 7591 default), `none` for public ones.
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }

    /// Registers the client's public keys (`jwks`,
    /// [RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)), which verify its
    /// `private_key_jwt` assertions. Feature `jwt`.
    #[cfg(feature = "jwt")]
    pub fn jwks(mut self, jwks: crate::jose::JwkSet) -> Self {
        self.keys.jwks = Some(jwks);
        self
    }

    /// Registers where the client publishes its public keys (`jwks_uri`,
    /// [RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)) instead of a
    /// [`jwks`](Self::jwks): the server fetches the set through its
    /// [`fetcher`](crate::ServerBuilder::fetcher), caches it within its HTTP freshness
    /// (1 minute to 1 day), and fetches it again, at most once a minute, when an assertion
    /// names a key it does not hold, so that the client can rotate keys. An `https` URL;
    /// never together with `jwks`. Feature `jwt`.
    #[cfg(feature = "jwt")]
    pub fn jwks_uri(mut self, uri: &str) -> Self {
        self.keys.jwks_uri = Some(Arc::from(uri));
        self
    }

    /// Registers `token_endpoint_auth_signing_alg`
    /// ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)): the one
    /// algorithm the client's `private_key_jwt` assertions may use. Default: any the
    /// server accepts (ES256, EdDSA, PS256, RS256). Feature `jwt`.
    #[cfg(feature = "jwt")]
    pub fn token_endpoint_auth_signing_alg(mut self, alg: crate::jose::Algorithm) -> Self {
        self.keys.signing_alg = Some(alg);
        self
    }

    /// Registers the secret of a `client_secret_jwt` client itself: HS256, HS384 and HS512
    /// assertions are MACed with its UTF-8 octets, so the server must hold it, not a digest.
    /// It must be at least 32 bytes, and at least 48 or 64 for HS384 or HS512 assertions to
    /// be accepted ([RFC 7518 §3.2](https://www.rfc-editor.org/rfc/rfc7518#section-3.2)).
    /// Keep such registrations encrypted at rest. Feature `jwt`.
    #[cfg(feature = "jwt")]
    pub fn assertion_secret(mut self, secret: &ClientSecret) -> Self {
        self.weak_assertion_secret = self.keys.set_secret(secret).is_err();
        self
    }

    /// Registers `request_object_signing_alg`
    /// ([RFC 9101 §10.1](https://www.rfc-editor.org/rfc/rfc9101#section-10.1)): the one
    /// algorithm the client's request objects may use. Default: any the server accepts.
    /// Request objects are verified with the client's `jwks` or `jwks_uri` keys. Feature
    /// `jwt`.
    #[cfg(feature = "jwt")]
    pub fn request_object_signing_alg(mut self, alg: crate::jose::Algorithm) -> Self {
        self.keys.request_object_alg = Some(alg);
        self
    }

    /// Holds the client to signed request objects (`require_signed_request_object`,
    /// [RFC 9101 §10.5](https://www.rfc-editor.org/rfc/rfc9101#section-10.5)): its
    /// authorization requests are refused with `invalid_request` unless they come as a
    /// request object signed with its registered keys (by value, or pushed). Needs `jwks`
    /// or `jwks_uri`. Default: `false`. Feature `jwt`.
    #[cfg(feature = "jwt")]
    pub fn require_signed_request_object(mut self, required: bool) -> Self {
        self.keys.require_signed_request_object = required;
        self
    }

    /// Holds the client to pushed authorization requests
    /// (`require_pushed_authorization_requests`,
    /// [RFC 9126 §6](https://www.rfc-editor.org/rfc/rfc9126#section-6)): the authorization
    /// endpoint refuses its requests unless they come through a pushed `request_uri`.
    /// Default: `false`.
    pub fn require_pushed_authorization_requests(mut self, required: bool) -> Self {
        self.require_pushed_requests = required;
        self
    }

    /// Registers that the client always uses DPoP (`dpop_bound_access_tokens`,
    /// [RFC 9449 §5.2](https://www.rfc-editor.org/rfc/rfc9449#section-5.2)): the token
    /// endpoint refuses its requests without a `DPoP` proof (`invalid_request`) rather than
    /// issue it a bearer token. Default: `false`.
    pub fn dpop_bound_access_tokens(mut self, required: bool) -> Self {
        self.dpop_bound_access_tokens = required;
        self
    }

    /// Adds a redirect URI, validated at [`build`](Self::build).
    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.redirect_uris.push(uri.to_owned());
        self
    }

    /// Allows a grant type.
    pub fn grant_type(mut self, grant_type: GrantType) -> Self {
        if !self.grant_types.contains(&grant_type) {
            self.grant_types.push(grant_type);
        }
        self
    }

    /// Sets the scopes the client may be granted (space-separated). Default: none.
    pub fn allowed_scope(mut self, scope: &str) -> Self {
        scope.clone_into(&mut self.allowed_scope);
        self
    }

    /// Sets the scope applied when a request has no `scope` parameter ([RFC 6749 §3.3]). It must be
    /// within the allowed scope. Default: none, so such requests fail with
    /// `invalid_scope`.
    ///
    /// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
    pub fn default_scope(mut self, scope: &str) -> Self {
        self.default_scope = Some(scope.to_owned());
        self
    }

    /// Whether the client receives refresh tokens from grants that issue them ([RFC 9700 §4.14.2]).
    /// Default: `true`. Client credentials never issue one ([RFC 6749 §4.4.3]).
    ///
    /// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
    /// [RFC 6749 §4.4.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.4.3
    pub fn issue_refresh_tokens(mut self, issue: bool) -> Self {
        self.issue_refresh_tokens = issue;
        self
    }

    /// Allows the client to introspect tokens
    /// ([RFC 7662 §2.1](https://www.rfc-editor.org/rfc/rfc7662#section-2.1)): mark resource
    /// servers this way. Default: `false`, so an ordinary client that authenticates at the
    /// introspection endpoint is refused with 403 ([RFC 7662 §2.1]). Has no effect on public
    /// clients.
    ///
    /// [RFC 7662 §2.1]: https://www.rfc-editor.org/rfc/rfc7662#section-2.1
    pub fn introspection(mut self, allowed: bool) -> Self {
        self.introspection = allowed;
        self
    }

    /// Declares the audience (`aud`) of the resource server this client is. Introspection
    /// by this client answers `{"active":false}` for tokens restricted to another audience
    /// ([RFC 7662 §2.2]). Default: none, so the client sees only tokens without an audience, as a
    /// [`BearerGuard`](crate::guard::BearerGuard) without one does. A component that checks
    /// tokens for several resource servers registers one client per audience.
    ///
    /// [RFC 7662 §2.2]: https://www.rfc-editor.org/rfc/rfc7662#section-2.2
    pub fn resource_audience(mut self, audience: &str) -> Self {
        self.resource_audience = Some(Arc::from(audience));
        self
    }

    /// The format of the access tokens this client receives, overriding the server's
    /// default. Default: none, the server's choice: opaque tokens, or JWT access tokens
    /// when the server issues them by default (`ServerBuilder::jwt_access_tokens`, feature
    /// `jwt`). [`AccessTokenFormat::Jwt`] takes effect only on a server that issues JWT
    /// access tokens; elsewhere the client receives opaque ones, the format every server
    /// can issue.
    pub fn access_token_format(mut self, format: AccessTokenFormat) -> Self {
        self.access_token_format = Some(format);
        self
    }

    /// Sets a display name for consent pages.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Allows the client to ask tokens for `resource` (RFC 8707), one of the server's
    /// registered resources; call it once per resource. Default: none listed, which allows
    /// every resource the server registers. Once one is listed, a request naming another
    /// is refused with `invalid_target` ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub fn allowed_resource(mut self, resource: &str) -> Self {
        self.allowed_resources.push(resource.to_owned());
        self
    }

    /// Sets the client's home page (`client_uri`, an `https` URL) for consent pages.
    pub fn client_uri(mut self, uri: &str) -> Self {
        self.display_raw.push((DisplayUri::Client, uri.to_owned()));
        self
    }

    /// Sets the client's logo (`logo_uri`, an `https` URL) for consent pages.
    pub fn logo_uri(mut self, uri: &str) -> Self {
        self.display_raw.push((DisplayUri::Logo, uri.to_owned()));
        self
    }

    /// Sets the client's terms of service (`tos_uri`, an `https` URL).
    pub fn tos_uri(mut self, uri: &str) -> Self {
        self.display_raw.push((DisplayUri::Tos, uri.to_owned()));
        self
    }

    /// Sets the client's privacy policy (`policy_uri`, an `https` URL).
    pub fn policy_uri(mut self, uri: &str) -> Self {
        self.display_raw.push((DisplayUri::Policy, uri.to_owned()));
        self
    }

    /// Adds a contact (usually an e-mail address); at most 10.
    pub fn contact(mut self, contact: &str) -> Self {
        self.display.contacts.push(contact.into());
        self
    }

    /// Sets the algorithm of the client's ID tokens (`id_token_signed_response_alg`,
    /// [OpenID Connect Registration §2](https://openid.net/specs/openid-connect-registration-1_0.html#ClientMetadata)):
    /// `RS256`, `PS256`, `ES256` or `EdDSA`. Default: `RS256`. `none` is refused: ID
    /// tokens are always signed.
    pub fn id_token_signing_alg(mut self, alg: &str) -> Self {
        self.openid.id_token_alg = Some(alg.to_owned());
        self
    }

    /// Asks for signed UserInfo responses (`userinfo_signed_response_alg`): `RS256`,
    /// `PS256`, `ES256` or `EdDSA`. Default: none, plain JSON.
    pub fn userinfo_signing_alg(mut self, alg: &str) -> Self {
        self.openid.userinfo_alg = Some(alg.to_owned());
        self
    }

    /// Sets how the client sees its users' identifiers
    /// ([Core §8](https://openid.net/specs/openid-connect-core-1_0.html#SubjectIDTypes)).
    /// Default: [`SubjectType::Public`]. A pairwise client's sector is the one host of its
    /// redirect URIs; when they have several, register a
    /// [`sector_identifier_uri`](Self::sector_identifier_uri).
    pub fn subject_type(mut self, subject_type: SubjectType) -> Self {
        self.openid.subject_type = subject_type;
        self
    }

    /// Registers a pairwise client's `sector_identifier_uri` with the `document` the host
    /// fetched from it
    /// ([Registration §5](https://openid.net/specs/openid-connect-registration-1_0.html#SectorIdentifierValidation)).
    /// [`build`](Self::build) checks that the URI is `https` and that the document is a
    /// JSON array holding every registered redirect URI; the sector is then the URI's host.
    /// grantflow does no I/O: fetch the document yourself, over `https`, at registration.
    pub fn sector_identifier_uri(mut self, uri: &str, document: &str) -> Self {
        self.openid.sector_identifier = Some((uri.to_owned(), document.to_owned()));
        self
    }

    /// Adds a `post_logout_redirect_uri`, validated like a redirect URI at
    /// [`build`](Self::build)
    /// ([RP-Initiated Logout §3.1](https://openid.net/specs/openid-connect-rpinitiated-1_0.html#ClientMetadata)).
    pub fn post_logout_redirect_uri(mut self, uri: &str) -> Self {
        self.openid.post_logout_redirect_uris.push(uri.to_owned());
        self
    }

    /// For OpenID Connect grants, issues a refresh token only when the user granted
    /// `offline_access` ([Core §11](https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess)),
    /// for a web client that must not keep access after the user's session. Default:
    /// `false`, refresh tokens follow [`issue_refresh_tokens`](Self::issue_refresh_tokens)
    /// alone.
    pub fn refresh_needs_offline_access(mut self, needs: bool) -> Self {
        self.openid.refresh_needs_offline_access = needs;
        self
    }

    /// Puts the claims of the granted scopes (`profile`, `email`, `address`, `phone`) into
    /// the client's ID tokens as well as into UserInfo responses, for a client that reads
    /// no UserInfo. Default: `false`: in the code flow those claims come from UserInfo
    /// ([Core §5.4](https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims)),
    /// and ID tokens carry only the claims a `claims` request names.
    pub fn scope_claims_in_id_token(mut self, include: bool) -> Self {
        self.openid.scope_claims_in_id_token = include;
        self
    }

    /// Registration settings that weaken security, each named for what it gives up.
    ///
    /// ```
    /// use grantflow::{Client, ClientSecret, ClientType, GrantType};
    ///
    /// // An OpenID Connect confidential client that sends and checks `nonce`.
    /// let client = Client::builder("oidc-web", ClientType::Confidential)
    ///     .secret(&ClientSecret::from_presented("s3cr3t-value".to_owned()))
    ///     .grant_type(GrantType::AUTHORIZATION_CODE)
    ///     .redirect_uri("https://web.example/cb")
    ///     .dangerous(|d| d.allow_missing_pkce())
    ///     .build()?;
    /// assert!(client.is_pkce_exempt());
    /// # Ok::<(), grantflow::ClientError>(())
    /// ```
    pub fn dangerous(
        mut self,
        configure: impl FnOnce(&mut DangerousClient) -> &mut DangerousClient,
    ) -> Self {
        let mut dangerous = DangerousClient {
            allow_missing_pkce: self.pkce_exempt,
            allow_multiple_audiences: self.multiple_audiences,
        };
        configure(&mut dangerous);
        self.pkce_exempt = dangerous.allow_missing_pkce;
        self.multiple_audiences = dangerous.allow_multiple_audiences;
        self
    }

    /// Validates the registration.
    ///
    /// # Errors
    /// [`ClientError`] naming the first rule the registration breaks.
    pub fn build(self) -> Result<Client, ClientError> {
        let id = ClientId::new(&self.id)?;
        if self.pkce_exempt && self.client_type == ClientType::Public {
            return Err(ClientError::PkceExemptPublicClient);
        }
        let auth_method = match (self.client_type, self.auth_method) {
            (ClientType::Public, None | Some(AuthMethod::None)) => AuthMethod::None,
            (ClientType::Confidential, None) => AuthMethod::ClientSecretBasic,
            (ClientType::Confidential, Some(m)) if m != AuthMethod::None => m,
            _ => return Err(ClientError::AuthMethodMismatch),
        };
        match self.client_type {
            ClientType::Public if !self.secret_hashes.is_empty() => {
                return Err(ClientError::PublicClientWithSecret);
            }
            ClientType::Confidential
                if self.secret_hashes.is_empty()
                    && matches!(
                        auth_method,
                        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
                    ) =>
            {
                return Err(ClientError::MissingSecret);
            }
            _ => {}
        }
        #[cfg(feature = "jwt")]
        {
            if self.weak_assertion_secret {
                return Err(ClientError::WeakAssertionSecret);
            }
            self.keys.check(auth_method)?;
        }
        #[cfg(not(feature = "jwt"))]
        match auth_method {
            AuthMethod::PrivateKeyJwt => return Err(ClientError::MissingKeys),
            AuthMethod::ClientSecretJwt => return Err(ClientError::MissingAssertionSecret),
            _ => {}
        }
        if self.grant_types.is_empty()
            || (self.client_type == ClientType::Public
                && self.grant_types.contains(&GrantType::CLIENT_CREDENTIALS))
        {
            return Err(ClientError::GrantTypes);
        }
        let redirect_uris = self
            .redirect_uris
            .iter()
            .map(|u| RedirectUri::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        let allowed_scope = Scope::parse(&self.allowed_scope).map_err(|_| ClientError::Scope)?;
        let allowed_resources = self
            .allowed_resources
            .iter()
            .map(|r| ResourceUri::parse(r))
            .collect::<Result<Resources, _>>()
            .map_err(|_| ClientError::Resource)?;
        let mut display = self.display;
        for (which, uri) in self.display_raw {
            if !is_display_uri(&uri) {
                return Err(ClientError::Display);
            }
            let slot = match which {
                DisplayUri::Client => &mut display.client_uri,
                DisplayUri::Logo => &mut display.logo_uri,
                DisplayUri::Tos => &mut display.tos_uri,
                DisplayUri::Policy => &mut display.policy_uri,
            };
            *slot = Some(uri.into());
        }
        if display.contacts.len() > MAX_CONTACTS
            || !display
                .contacts
                .iter()
                .all(|c| is_display_text(c, MAX_CONTACT_CHARS))
            || !self
                .name
                .as_deref()
                .is_none_or(|n| is_display_text(n, MAX_CLIENT_NAME_CHARS))
        {
            return Err(ClientError::Display);
        }
        let default_scope = match self.default_scope {
            Some(text) => {
                let scope = Scope::parse(&text).map_err(|_| ClientError::Scope)?;
                if scope.is_empty() || !scope.is_subset_of(&allowed_scope) {
                    return Err(ClientError::Scope);
                }
                Some(scope)
            }
            None => None,
        };
        let openid = self.openid.check(&redirect_uris)?;
        Ok(Client {
            id,
            client_type: self.client_type,
            auth_method,
            secret_hashes: self.secret_hashes,
            redirect_uris,
            grant_types: self.grant_types,
            allowed_scope,
            default_scope,
            issue_refresh_tokens: self.issue_refresh_tokens,
            name: self.name,
            introspection: self.introspection,
            resource_audience: self.resource_audience,
            pkce_exempt: self.pkce_exempt,
            allowed_resources,
            multiple_audiences: self.multiple_audiences,
            display,
            require_pushed_requests: self.require_pushed_requests,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            #[cfg(feature = "jwt")]
            keys: self.keys,
            openid,
            access_token_format: self.access_token_format,
            metadata_document: self.metadata_document,
            self_registered: self.self_registered,
        })
    }
}

/// A display URL: an absolute `https` URL with a host, no fragment, user information or
/// characters outside visible ASCII ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)), at most 2,048 characters.
pub(crate) fn is_display_uri(uri: &str) -> bool {
    uri.len() <= MAX_DISPLAY_URI_LEN
        && uri.bytes().all(|b| b.is_ascii_graphic())
        && !uri.contains('#')
        && url::Url::parse(uri)
            .is_ok_and(|u| u.scheme() == "https" && u.host().is_some() && u.username().is_empty())
        && uri.starts_with("https://")
}

/// Display text (a name, a contact): non-empty, at most `max` characters, none of them a
/// control character or an invisible formatting character that could disguise the text
/// (bidirectional overrides, zero-width characters).
pub(crate) fn is_display_text(text: &str, max: usize) -> bool {
    !text.trim().is_empty()
        && text.chars().count() <= max
        && !text.chars().any(|c| {
            c.is_control()
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
        })
}

/// The insecure registration settings of a [`ClientBuilder`], reached only through
/// [`ClientBuilder::dangerous`] so that every use is visible where the client is
/// registered.
#[derive(Debug)]
pub struct DangerousClient {
    allow_missing_pkce: bool,
    allow_multiple_audiences: bool,
}

impl DangerousClient {
    /// Lets this **confidential** client send authorization requests without a PKCE
    /// challenge. PKCE is otherwise required of every client
    /// ([OAuth 2.1 §4.1.1](https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-4.1.1)).
    ///
    /// The one case for it: an OpenID Connect confidential client that sends a `nonce`
    /// and checks it in the ID token, which
    /// [RFC 9700 §2.1.1](https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1) accepts
    /// as protection against code injection in place of PKCE. Registering a public client
    /// with it fails ([`ClientError::PkceExemptPublicClient`]). An exempt client that
    /// does send a challenge is still held to it, and a code issued without a challenge
    /// refuses any `code_verifier` (a downgrade,
    /// [RFC 9700 §4.8.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.8.2)).
    pub fn allow_missing_pkce(&mut self) -> &mut Self {
        self.allow_missing_pkce = true;
        self
    }

    /// Lets one token request of this client name several resources, and so receive an
    /// access token whose audience is all of them. By default a token request names at
    /// most one ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)): every resource a multi-audience token is presented to could replay
    /// it at the others ([RFC 8707 §3](https://www.rfc-editor.org/rfc/rfc8707#section-3)).
    /// Several resources at the authorization endpoint, for the grant, need no opt-in.
    pub fn allow_multiple_audiences(&mut self) -> &mut Self {
        self.allow_multiple_audiences = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> ClientSecret {
        ClientSecret::from_presented("x".into())
    }

    #[test]
    fn sec_07_client_type_decides_credentials() {
        let public =
            Client::builder("p", ClientType::Public).grant_type(GrantType::AUTHORIZATION_CODE);
        assert_eq!(
            public.clone().secret(&secret()).build().err(),
            Some(ClientError::PublicClientWithSecret)
        );
        assert_eq!(
            public
                .clone()
                .auth_method(AuthMethod::ClientSecretPost)
                .build()
                .err(),
            Some(ClientError::AuthMethodMismatch)
        );
        assert_eq!(
            public.build().map(|c| c.auth_method()),
            Ok(AuthMethod::None)
        );
        let confidential = Client::builder("c", ClientType::Confidential)
            .grant_type(GrantType::CLIENT_CREDENTIALS);
        assert_eq!(
            confidential.clone().build().err(),
            Some(ClientError::MissingSecret)
        );
        assert_eq!(
            confidential
                .clone()
                .secret(&secret())
                .auth_method(AuthMethod::None)
                .build()
                .err(),
            Some(ClientError::AuthMethodMismatch)
        );
        assert_eq!(
            confidential
                .secret(&secret())
                .build()
                .map(|c| c.auth_method()),
            Ok(AuthMethod::ClientSecretBasic)
        );
    }

    #[test]
    fn cc_01_public_clients_cannot_register_client_credentials() {
        let result = Client::builder("p", ClientType::Public)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .build();
        assert_eq!(result.err(), Some(ClientError::GrantTypes));
    }

    #[test]
    fn ru_01_redirect_uris_are_validated_at_registration() {
        let result = Client::builder("p", ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .redirect_uri("https://c.example/cb#frag")
            .build();
        assert_eq!(
            result.err(),
            Some(ClientError::RedirectUri(InvalidRedirectUri::Fragment))
        );
    }

    #[test]
    fn default_scope_must_be_allowed() {
        let result = Client::builder("c", ClientType::Confidential)
            .secret(&secret())
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .allowed_scope("a")
            .default_scope("b")
            .build();
        assert_eq!(result.err(), Some(ClientError::Scope));
    }

    #[test]
    fn te_10_rotated_secrets_all_verify() {
        let old = ClientSecret::from_presented("old".into());
        let new = ClientSecret::from_presented("new".into());
        let client = Client::builder("c", ClientType::Confidential)
            .secret(&old)
            .secret(&new)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .build()
            .unwrap();
        assert!(client.verify_secret(&old) && client.verify_secret(&new));
        assert!(!client.verify_secret(&ClientSecret::from_presented("other".into())));
    }
}
