//! Authorization codes: the [`CodeStore`] plug-in and the [`AuthorizationGrant`] it holds.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::StorageError;
use crate::pkce::CodeChallenge;
use crate::secret::TokenHash;
use crate::store::OpenIdContext;
use crate::types::{ClientId, GrantId, Resources, Scope, Subject};

/// What an authorization code stands for: everything the resource owner approved, bound to
/// the client, redirect URI and PKCE challenge of the request ([RFC 6749 §10.10]), stored under the
/// [`TokenHash`] of the code.
///
/// `Debug` never shows the PKCE challenge ([RFC 7636 §4.4]).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use grantflow::*;
/// use grantflow::pkce::{CodeChallenge, PkceMethod};
/// use grantflow::store::{AuthorizationGrant, GrantId};
///
/// let now = SystemTime::now();
/// let grant = AuthorizationGrant::new(
///     GrantId::generate(),
///     ClientId::new("native-app")?,
///     Subject::new("alice"),
///     Scope::parse("read")?,
///     "https://as.example.com",
///     now,
///     now + Duration::from_secs(60),
/// )
/// .with_redirect_uri(Some("http://127.0.0.1:51004/cb"))
/// .with_challenge(CodeChallenge::new(
///     PkceMethod::S256,
///     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
/// ));
/// assert!(!format!("{grant:?}").contains("E9Melhoa"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [RFC 6749 §10.10]: https://www.rfc-editor.org/rfc/rfc6749#section-10.10
/// [RFC 7636 §4.4]: https://www.rfc-editor.org/rfc/rfc7636#section-4.4
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationGrant {
    /// The grant the code and every token issued from it belong to.
    pub grant_id: GrantId,
    /// The client the code was issued to ([RFC 6749 §3.2.1]).
    ///
    /// [RFC 6749 §3.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2.1
    pub client_id: ClientId,
    /// The `redirect_uri` exactly as the authorization request sent it, or `None` when the
    /// request left it out ([RFC 6749 §4.1.3]).
    ///
    /// [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
    pub redirect_uri: Option<Arc<str>>,
    /// The PKCE challenge and its method, or `None` for a PKCE-exempt client's request
    /// ([RFC 7636 §4.5], [RFC 9700 §2.1.1]).
    ///
    /// [RFC 7636 §4.5]: https://www.rfc-editor.org/rfc/rfc7636#section-4.5
    /// [RFC 9700 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1
    pub challenge: Option<CodeChallenge>,
    /// The resource owner who approved.
    pub subject: Subject,
    /// The scope the resource owner granted.
    pub scope: Scope,
    /// The resources the grant is for (`resource` in the authorization request,
    /// [RFC 8707 §2.1](https://www.rfc-editor.org/rfc/rfc8707#section-2.1)), or empty when
    /// it is not restricted to a resource. They bound the audience of every token of the
    /// grant ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub resources: Resources,
    /// The issuer that minted the code; another issuer refuses it ([RFC 9700 §4.4.1]).
    ///
    /// [RFC 9700 §4.4.1]: https://www.rfc-editor.org/rfc/rfc9700#section-4.4.1
    pub issuer: Arc<str>,
    /// When the code was issued.
    pub issued_at: SystemTime,
    /// When the code stops being redeemable ([RFC 6749 §4.1.2]).
    ///
    /// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
    pub expires_at: SystemTime,
    /// For a code issued for an OpenID Connect request: what its ID token will say about
    /// the authentication, `nonce` included; `None` for plain OAuth.
    pub openid: Option<Arc<OpenIdContext>>,
    /// The thumbprint of the DPoP key the code is bound to (`dpop_jkt`,
    /// [RFC 9449 §10](https://www.rfc-editor.org/rfc/rfc9449#section-10)): the token
    /// request must carry a proof by that key. `None`: not bound.
    pub dpop_jkt: Option<String>,
}

impl AuthorizationGrant {
    /// A grant without redirect URI or challenge; add them with
    /// [`with_redirect_uri`](Self::with_redirect_uri) and
    /// [`with_challenge`](Self::with_challenge). Stores use this to rebuild a record.
    pub fn new(
        grant_id: GrantId,
        client_id: ClientId,
        subject: Subject,
        scope: Scope,
        issuer: &str,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Self {
        Self {
            grant_id,
            client_id,
            redirect_uri: None,
            challenge: None,
            subject,
            scope,
            resources: Resources::empty(),
            issuer: Arc::from(issuer),
            issued_at,
            expires_at,
            openid: None,
            dpop_jkt: None,
        }
    }

    /// Binds the code to the DPoP key with thumbprint `jkt`.
    #[must_use]
    pub fn with_dpop_jkt(mut self, jkt: Option<String>) -> Self {
        self.dpop_jkt = jkt;
        self
    }

    /// Sets the OpenID Connect context of a code issued for an OpenID request.
    #[must_use]
    pub fn with_openid(mut self, openid: Option<Arc<OpenIdContext>>) -> Self {
        self.openid = openid;
        self
    }

    /// Sets the redirect URI as sent in the authorization request.
    #[must_use]
    pub fn with_redirect_uri(mut self, redirect_uri: Option<&str>) -> Self {
        self.redirect_uri = redirect_uri.map(Arc::from);
        self
    }

    /// Sets the PKCE challenge.
    #[must_use]
    pub fn with_challenge(mut self, challenge: Option<CodeChallenge>) -> Self {
        self.challenge = challenge;
        self
    }

    /// Sets the resources of the grant.
    #[must_use]
    pub fn with_resources(mut self, resources: Resources) -> Self {
        self.resources = resources;
        self
    }

    /// Whether the code has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }
}

impl fmt::Debug for AuthorizationGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationGrant")
            .field("grant_id", &self.grant_id)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("challenge", &self.challenge)
            .field("subject", &self.subject)
            .field("scope", &self.scope)
            .field("resources", &self.resources)
            .field("issuer", &self.issuer)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("openid", &self.openid)
            .field("dpop_jkt", &self.dpop_jkt)
            .finish()
    }
}

/// The outcome of [`CodeStore::redeem`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Redemption {
    /// The code was unused; it is now marked used and this is the only time its grant is
    /// handed out.
    Redeemed(AuthorizationGrant),
    /// The code was already redeemed: "already used, by grant X". The grant is returned
    /// again so that the server can check the replay's client and PKCE verifier before it
    /// revokes the grant's tokens ([RFC 6749 §4.1.2], [OAuth 2.1 §7.5.2]).
    ///
    /// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
    /// [OAuth 2.1 §7.5.2]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-7.5.2
    AlreadyUsed(AuthorizationGrant),
    /// No such code (never issued, or purged after its expiry).
    NotFound,
}

/// Storage for authorization codes, keyed by the [`TokenHash`] of the code.
///
/// # Contract
/// - Keys are digests: the store never sees a code.
/// - [`redeem`](Self::redeem) is **atomic**: of any number of concurrent calls for one
///   code, exactly one gets [`Redemption::Redeemed`]; every other call, then or later
///   until the code expires, gets [`Redemption::AlreadyUsed`] ([RFC 6749 §4.1.2]). So a used
///   code is not deleted but kept with a "used" mark until its expiry, which is what lets
///   a replay revoke the grant ([RFC 6749 §4.1.2]).
/// - Records may be purged once `expires_at` has passed; after that a code is
///   [`Redemption::NotFound`].
///
/// A SQL backend does `redeem` in one statement, for example in PostgreSQL:
///
/// ```sql
/// UPDATE auth_codes AS c SET used = true
/// FROM (SELECT hash, used FROM auth_codes WHERE hash = $1 FOR UPDATE) AS old
/// WHERE c.hash = old.hash
/// RETURNING old.used, c.*;  -- no row: NotFound; old.used: AlreadyUsed; else Redeemed
/// ```
///
/// and Redis with a Lua script (or `HGETALL` + `HSETNX used`) on one key with a TTL.
///
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
#[async_trait]
pub trait CodeStore: Send + Sync + fmt::Debug {
    /// Stores a newly issued code. `code` is fresh (256 random bits), so an existing key
    /// is a bug in the caller; a store may overwrite it or fail.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; the code is then not issued.
    async fn insert(&self, code: TokenHash, grant: AuthorizationGrant) -> Result<(), StorageError>;

    /// Atomically marks `code` used and reports what it was (see the trait contract).
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure, never for "not found".
    async fn redeem(&self, code: &TokenHash) -> Result<Redemption, StorageError>;

    /// Removes codes that expired at or before `now`, used or not, and returns how many.
    /// Stores that purge on their own (as [`MemoryCodeStore`](crate::MemoryCodeStore) does
    /// on insert) may leave the default, which does nothing.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StorageError> {
        let _ = now;
        Ok(0)
    }

    /// Whether the store answers, for [`Server::health`](crate::Server::health). The
    /// default redeems the digest of a fixed text, which no issued code can have, so it
    /// finds nothing and changes nothing (one round trip); override it with a cheaper
    /// ping if there is one.
    ///
    /// # Errors
    /// [`StorageError`] when the backend does not answer.
    async fn check_health(&self) -> Result<(), StorageError> {
        self.redeem(&TokenHash::of(super::HEALTH_PROBE))
            .await
            .map(|_| ())
    }
}
