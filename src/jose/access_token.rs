//! JWT access tokens ([RFC 9068](https://www.rfc-editor.org/rfc/rfc9068)): the claims the
//! authorization server signs, and the offline verifier a resource server runs on the
//! server's published JWK Set.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use serde::ser::{Serialize, SerializeMap as _, Serializer};
use serde_json::Value;

use super::claims::{Claims, InvalidClaimName, seconds};
use super::error::JwtError;
use super::jwks::JwkSet;
use super::keyset::{KeySet, KeySetError};
use super::validation::{JwtUse, Validation, VerifiedJwt};
use crate::error::ConfigError;
use crate::types::{ClientId, Resources, Scope, Subject};

/// The claims of an RFC 9068 access token, for [`KeySet::sign_access_token`]
/// ([RFC 9068 §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)).
///
/// `iss` is the key set's issuer. `sub` is the resource owner, or the `client_id` for a
/// token that acts for the client itself (client credentials). `jti` is 256 random bits of
/// [`SystemRandom`](crate::random::SystemRandom) unless set
/// ([`with_jwt_id`](Self::with_jwt_id)). `scope` is written only when not empty;
/// `auth_time` and `acr` only when known.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use grantflow::jose::AccessTokenClaims;
/// use grantflow::{ClientId, Scope, Subject};
///
/// let claims = AccessTokenClaims::new(
///     "https://rs.example.com",
///     &ClientId::new("reporting")?,
///     Some(&Subject::new("alice")),
///     SystemTime::now(),
///     Duration::from_secs(600),
/// )
/// .with_scope(&Scope::parse("read")?);
/// assert_eq!(claims.jwt_id().len(), 43);
/// assert_eq!(claims.to_claims().subject(), Some("alice"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AccessTokenClaims {
    audience: Vec<String>,
    client_id: ClientId,
    subject: Option<Subject>,
    scope: Option<Scope>,
    issued_at: SystemTime,
    expires_at: SystemTime,
    jwt_id: String,
    auth_time: Option<SystemTime>,
    acr: Option<String>,
    /// Any other claims (never a registered one).
    other: Claims,
}

/// The RFC 9068 claim names [`AccessTokenClaims`] sets itself, beside the registered ones.
const RFC_9068_CLAIMS: [&str; 4] = ["client_id", "scope", "auth_time", "acr"];

impl AccessTokenClaims {
    /// The claims of a token for `audience` (the resource server), issued to `client_id`
    /// for `subject` (or for the client itself) at `issued_at`, valid for `lifetime`.
    pub fn new(
        audience: &str,
        client_id: &ClientId,
        subject: Option<&Subject>,
        issued_at: SystemTime,
        lifetime: Duration,
    ) -> Self {
        let expires_at = issued_at.checked_add(lifetime).unwrap_or(issued_at);
        let jwt_id = crate::secret::random_secret(&crate::random::SystemRandom);
        Self::with_times(
            audience,
            client_id,
            subject,
            (issued_at, expires_at),
            jwt_id,
        )
    }

    /// The claims of a token issued at `times.0`, expiring at `times.1`, with `jwt_id`.
    pub(crate) fn with_times(
        audience: &str,
        client_id: &ClientId,
        subject: Option<&Subject>,
        (issued_at, expires_at): (SystemTime, SystemTime),
        jwt_id: String,
    ) -> Self {
        Self {
            audience: vec![audience.to_owned()],
            client_id: client_id.clone(),
            subject: subject.cloned(),
            scope: None,
            issued_at,
            expires_at,
            jwt_id,
            auth_time: None,
            acr: None,
            other: Claims::new(),
        }
    }

    /// Adds another audience (`aud` then becomes an array).
    #[must_use]
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.audience.push(audience.to_owned());
        self
    }

    /// The granted scope, written as the `scope` claim when not empty.
    #[must_use]
    pub fn with_scope(mut self, scope: &Scope) -> Self {
        self.scope = (!scope.is_empty()).then(|| scope.clone());
        self
    }

    /// Replaces the random `jti` (for a caller that draws its own randomness, such as a
    /// [`TokenIssuer`](crate::TokenIssuer) from the server's
    /// [`Random`](crate::random::Random); at least 128 random bits, unique across the
    /// deployment).
    #[must_use]
    pub fn with_jwt_id(mut self, jwt_id: impl Into<String>) -> Self {
        self.jwt_id = jwt_id.into();
        self
    }

    /// When the resource owner authenticated (`auth_time`).
    #[must_use]
    pub fn with_auth_time(mut self, at: SystemTime) -> Self {
        self.auth_time = Some(at);
        self
    }

    /// The authentication context class (`acr`).
    #[must_use]
    pub fn with_acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// Another claim (a `cnf` confirmation, say).
    ///
    /// # Errors
    /// [`InvalidClaimName`] for the names this type sets itself (`iss`, `sub`, `aud`,
    /// `exp`, `nbf`, `iat`, `jti`, `client_id`, `scope`, `auth_time`, `acr`).
    pub fn with_claim(
        mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<Self, InvalidClaimName> {
        let name = name.into();
        if RFC_9068_CLAIMS.contains(&name.as_str()) {
            return Err(InvalidClaimName::new());
        }
        self.other = self.other.with_claim(name, value)?;
        Ok(self)
    }

    /// The `jti`.
    pub fn jwt_id(&self) -> &str {
        &self.jwt_id
    }

    /// When the token expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// The claims set (without `iss`, which the key set writes).
    pub fn to_claims(&self) -> Claims {
        let subject = self
            .subject
            .as_ref()
            .map_or(self.client_id.as_str(), Subject::as_str);
        let mut claims = self
            .other
            .clone()
            .with_subject(subject)
            .with_audience(self.audience.iter().cloned())
            .with_issued_at(self.issued_at)
            .with_expires_at(self.expires_at)
            .with_jwt_id(self.jwt_id.clone());
        // None of these names is registered.
        claims.insert_other("client_id".to_owned(), self.client_id.as_str().into());
        if let Some(scope) = &self.scope {
            claims.insert_other("scope".to_owned(), scope.to_string().into());
        }
        if let Some(at) = self.auth_time {
            claims.insert_other("auth_time".to_owned(), seconds(at).into());
        }
        if let Some(acr) = &self.acr {
            claims.insert_other("acr".to_owned(), acr.as_str().into());
        }
        claims
    }

    /// The claims as the key set writes them, borrowed.
    pub(crate) fn payload(&self) -> AccessTokenPayload<'_> {
        AccessTokenPayload {
            audience: Audience::Many(&self.audience),
            client_id: self.client_id.as_str(),
            subject: self
                .subject
                .as_ref()
                .map_or(self.client_id.as_str(), Subject::as_str),
            scope: self.scope.as_ref().map(Scope::as_str),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            jwt_id: &self.jwt_id,
            auth_time: self.auth_time,
            acr: self.acr.as_deref(),
            other: Some(&self.other),
        }
    }
}

/// The claims of an access token, borrowed, as the key set writes them: in one pass
/// straight into the JSON that is signed, with no claims set or JSON values built on the
/// way. The bytes are those of [`AccessTokenClaims::to_claims`] serialized with `iss`:
/// `iss sub aud exp iat jti`, then the other claims in the order of their names, as a
/// [`Claims`] keeps them.
pub(crate) struct AccessTokenPayload<'a> {
    /// `aud`: one resource server is written as a string, several as an array.
    pub(crate) audience: Audience<'a>,
    pub(crate) client_id: &'a str,
    /// The resource owner, or the `client_id` for a token of the client itself.
    pub(crate) subject: &'a str,
    /// The scope, `None` when empty.
    pub(crate) scope: Option<&'a str>,
    pub(crate) issued_at: SystemTime,
    pub(crate) expires_at: SystemTime,
    pub(crate) jwt_id: &'a str,
    pub(crate) auth_time: Option<SystemTime>,
    pub(crate) acr: Option<&'a str>,
    /// Other claims, never a registered or an RFC 9068 one.
    pub(crate) other: Option<&'a Claims>,
}

impl AccessTokenPayload<'_> {
    /// The JSON to sign, with `iss` set to `issuer`.
    pub(crate) fn to_json(&self, issuer: &str) -> Vec<u8> {
        // Large enough for a typical token, so the buffer is allocated once.
        let mut json = Vec::with_capacity(384);
        // Writing strings, numbers and JSON values into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut json, &WithIssuer(self, issuer));
        json
    }
}

/// The `aud` of an [`AccessTokenPayload`].
#[derive(Clone, Copy)]
pub(crate) enum Audience<'a> {
    /// One resource server.
    One(&'a str),
    /// Any number of them (one is written as a string).
    Many(&'a [String]),
    /// The resources of a grant (RFC 8707; one is written as a string).
    Resources(&'a Resources),
}

/// Resources written as a JSON array of strings.
struct ResourceList<'a>(&'a Resources);

impl Serialize for ResourceList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

/// A payload with its issuer, for serialization.
struct WithIssuer<'a>(&'a AccessTokenPayload<'a>, &'a str);

/// The value of an RFC 9068 claim the payload writes among the other claims.
enum Member<'a> {
    Text(&'a str),
    Number(u64),
}

impl Serialize for Member<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::Number(n) => serializer.serialize_u64(*n),
        }
    }
}

impl Serialize for WithIssuer<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Self(payload, issuer) = self;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("iss", issuer)?;
        map.serialize_entry("sub", payload.subject)?;
        match payload.audience {
            Audience::Many([]) => {}
            Audience::One(one) => map.serialize_entry("aud", one)?,
            Audience::Many([one]) => map.serialize_entry("aud", one)?,
            Audience::Many(many) => map.serialize_entry("aud", many)?,
            Audience::Resources(resources) => match resources.as_slice() {
                [] => {}
                [one] => map.serialize_entry("aud", one.as_str())?,
                _ => map.serialize_entry("aud", &ResourceList(resources))?,
            },
        }
        map.serialize_entry("exp", &seconds(payload.expires_at))?;
        map.serialize_entry("iat", &seconds(payload.issued_at))?;
        map.serialize_entry("jti", payload.jwt_id)?;
        // The RFC 9068 claims, in name order, merged with the other claims (in name order
        // too), as one claims set holding them all would write them.
        let mut own = [
            ("acr", payload.acr.map(Member::Text)),
            (
                "auth_time",
                payload.auth_time.map(|at| Member::Number(seconds(at))),
            ),
            ("client_id", Some(Member::Text(payload.client_id))),
            ("scope", payload.scope.map(Member::Text)),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| (name, value)))
        .peekable();
        for (name, value) in payload.other.into_iter().flat_map(Claims::others) {
            let mut taken = false;
            while let Some((own_name, own_value)) = own.next_if(|(n, _)| *n <= name.as_str()) {
                map.serialize_entry(own_name, &own_value)?;
                // The same name twice (never the case): the RFC 9068 claim replaces it.
                taken |= own_name == name.as_str();
            }
            if !taken {
                map.serialize_entry(name, value)?;
            }
        }
        for (name, value) in own {
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
}

impl KeySet {
    /// Signs an RFC 9068 access token: header `typ: at+jwt` with the active key of the
    /// default algorithm, claims `iss exp aud sub client_id iat jti`, and `scope`,
    /// `auth_time` and `acr` when known ([RFC 9068 §2](https://www.rfc-editor.org/rfc/rfc9068#section-2)).
    ///
    /// # Errors
    /// As for [`KeySet::sign`].
    pub async fn sign_access_token(
        &self,
        claims: &AccessTokenClaims,
        now: SystemTime,
    ) -> Result<String, KeySetError> {
        self.sign_access_payload(&claims.payload(), now).await
    }
}

/// What a resource server learns from a verified JWT access token
/// ([RFC 9068 §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)). It holds no token
/// value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedAccessToken {
    /// `iss`.
    pub issuer: String,
    /// `sub`: the resource owner, or the client for a client credentials token.
    pub subject: Subject,
    /// `aud`.
    pub audience: Vec<String>,
    /// `client_id`.
    pub client_id: ClientId,
    /// `scope` (empty when absent).
    pub scope: Scope,
    /// `iat`.
    pub issued_at: SystemTime,
    /// `exp`.
    pub expires_at: SystemTime,
    /// `jti`.
    pub jwt_id: String,
    /// `auth_time`, when present.
    pub auth_time: Option<SystemTime>,
    /// `acr`, when present.
    pub acr: Option<String>,
    /// The whole claims set, for other claims (a `cnf`, say).
    pub claims: Claims,
}

impl VerifiedAccessToken {
    /// Reads the RFC 9068 claims of a verified JWT.
    fn from_jwt(jwt: VerifiedJwt) -> Result<Self, JwtError> {
        let claims = jwt.into_claims();
        let client_id = claims
            .string("client_id")?
            .ok_or(JwtError::MissingClaim("client_id"))?;
        let client_id =
            ClientId::new(client_id).map_err(|_| JwtError::InvalidClaim("client_id"))?;
        let scope = match claims.string("scope")? {
            Some(scope) => Scope::parse(scope).map_err(|_| JwtError::InvalidClaim("scope"))?,
            None => Scope::empty(),
        };
        let auth_time = claims.date("auth_time")?;
        let acr = claims.string("acr")?.map(str::to_owned);
        // `Validation::access_token` requires these.
        let (Some(issuer), Some(subject), Some(issued_at), Some(expires_at), Some(jwt_id)) = (
            claims.issuer(),
            claims.subject(),
            claims.issued_at(),
            claims.expires_at(),
            claims.jwt_id(),
        ) else {
            return Err(JwtError::InvalidClaims);
        };
        Ok(Self {
            issuer: issuer.to_owned(),
            subject: Subject::new(subject),
            audience: claims.audience().to_vec(),
            client_id,
            scope,
            issued_at,
            expires_at,
            jwt_id: jwt_id.to_owned(),
            auth_time,
            acr,
            claims,
        })
    }

    /// Whether the token's scope holds every token of `required`.
    pub fn has_scope(&self, required: &Scope) -> bool {
        required.is_subset_of(&self.scope)
    }
}

/// The least time between two JWKS fetches prompted by unknown `kid`s.
const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// Verifies JWT access tokens offline, for a resource server
/// ([RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4)): the signature with
/// the authorization server's published keys, `typ` `at+jwt`, `iss`, `aud`, the lifetimes
/// (with the clock leeway), and the RFC 9068 claims. Cheap to clone; safe to share between
/// threads.
///
/// The host fetches the JWKS (the crate opens no sockets) and hands it over parsed. A
/// token naming an unknown `kid` fails with [`JwtError::UnknownKey`]; when
/// [`refetch_due`](Self::refetch_due) says so (at most once a minute), the host fetches the
/// JWKS again and calls [`replace_keys`](Self::replace_keys).
///
/// Tokens that verified are kept in a bounded cache: a repeated token is answered without
/// parsing or signature check, after an exact, constant-time comparison with the cached
/// token and a check of its lifetime at the current time. Replacing the keys empties it.
///
/// Revocation: a token verified offline stays valid until it expires, whatever the
/// authorization server learns later; short lifetimes bound that window.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> { block_on(async {
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use grantflow::jose::*;
/// use grantflow::{ClientId, Scope};
///
/// // The authorization server's side.
/// let keys = KeySet::builder("https://as.example.com", Arc::new(MemoryKeySetStore::new()))
///     .build()?;
/// let now = SystemTime::now();
/// keys.bootstrap(Arc::new(SigningKey::generate(Algorithm::Es256)?), now).await?;
/// let claims = AccessTokenClaims::new(
///     "https://rs.example.com", &ClientId::new("reporting")?, None, now, Duration::from_secs(300),
/// ).with_scope(&Scope::parse("read")?);
/// let token = keys.sign_access_token(&claims, now).await?;
/// let jwks = keys.jwks(now).await?.body; // what GET jwks_uri returns
///
/// // The resource server's side.
/// let verifier = AccessTokenVerifier::new(
///     Validation::access_token("https://as.example.com", "https://rs.example.com"),
///     JwkSet::parse(&jwks)?,
/// )?;
/// let verified = verifier.verify(&token, now)?;
/// assert_eq!(verified.client_id.as_str(), "reporting");
/// assert!(verified.has_scope(&Scope::parse("read")?));
/// # Ok(()) }) }
/// ```
#[derive(Clone, Debug)]
pub struct AccessTokenVerifier {
    inner: Arc<VerifierInner>,
}

#[derive(Debug)]
struct VerifierInner {
    validation: Validation,
    keys: RwLock<JwkSet>,
    cache: TokenCache,
    last_fetch: Mutex<Option<SystemTime>>,
}

impl AccessTokenVerifier {
    /// A verifier with `validation` (made by [`Validation::access_token`]) over `keys`, with
    /// a cache of 4,096 verified tokens.
    ///
    /// # Errors
    /// [`ConfigError::Setting`] for a validation of another use.
    pub fn new(validation: Validation, keys: JwkSet) -> Result<Self, ConfigError> {
        Self::with_cache_capacity(validation, keys, 4096)
    }

    /// As [`new`](Self::new), with room for `capacity` verified tokens in the cache (rounded
    /// up to a power of two; 0 turns the cache off). Each entry holds one token and its
    /// claims, about 1 to 2 KiB.
    ///
    /// # Errors
    /// [`ConfigError::Setting`] for a validation of another use, or a capacity above
    /// 1,048,576.
    pub fn with_cache_capacity(
        validation: Validation,
        keys: JwkSet,
        capacity: usize,
    ) -> Result<Self, ConfigError> {
        if validation.jwt_use() != JwtUse::AccessToken {
            return Err(ConfigError::Setting(
                "an access token verifier needs Validation::access_token",
            ));
        }
        if capacity > 1 << 20 {
            return Err(ConfigError::Setting(
                "the verified-token cache is too large",
            ));
        }
        Ok(Self {
            inner: Arc::new(VerifierInner {
                validation,
                keys: RwLock::new(keys),
                cache: TokenCache::new(capacity),
                last_fetch: Mutex::new(None),
            }),
        })
    }

    /// Verifies `token` at `now`.
    ///
    /// # Errors
    /// [`JwtError`] naming the first check that failed. Map it to `invalid_token`
    /// ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)); on
    /// [`JwtError::UnknownKey`], see [`refetch_due`](Self::refetch_due).
    pub fn verify(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<Arc<VerifiedAccessToken>, JwtError> {
        let cache = &self.inner.cache;
        let generation = cache.generation();
        if let Some(hit) = cache.get(token, now, generation) {
            return Ok(hit);
        }
        let keys = self
            .inner
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let jwt = self.inner.validation.verify(token, &keys, now)?;
        let leeway = self.inner.validation.leeway_value();
        let valid_from = jwt
            .claims()
            .not_before()
            .and_then(|nbf| nbf.checked_sub(leeway));
        let verified = Arc::new(VerifiedAccessToken::from_jwt(jwt)?);
        if let Some(valid_until) = verified.expires_at.checked_add(leeway) {
            cache.put(token, &verified, valid_from, valid_until, generation);
        }
        Ok(verified)
    }

    /// Replaces the keys with a newly fetched JWK Set and, when it differs from the one in
    /// use, empties the cache (a token of a key no longer published must fail). Counts as
    /// a fetch for [`refetch_due`](Self::refetch_due).
    pub fn replace_keys(&self, keys: JwkSet, now: SystemTime) {
        {
            let mut current = self
                .inner
                .keys
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if *current != keys {
                *current = keys;
                self.inner.cache.clear();
            }
        }
        *self
            .inner
            .last_fetch
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(now);
    }

    /// The audience the verifier expects in `aud`: this resource server.
    pub(crate) fn audience(&self) -> Option<&Arc<str>> {
        self.inner.validation.audience_value()
    }

    /// The issuer the verifier expects in `iss`: the authorization server.
    pub(crate) fn issuer(&self) -> Option<&Arc<str>> {
        self.inner.validation.issuer_value()
    }

    /// The keys in use.
    pub fn keys(&self) -> JwkSet {
        self.inner
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// After a [`JwtError::UnknownKey`]: whether the host should fetch the JWKS again now.
    /// `true` at most once a minute (the first call after a fetch more than 60 s ago, or
    /// ever); each `true` counts as a fetch.
    pub fn refetch_due(&self, now: SystemTime) -> bool {
        let mut last = self
            .inner
            .last_fetch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let due = last.is_none_or(|at| {
            now.duration_since(at)
                .is_ok_and(|since| since >= REFETCH_INTERVAL)
        });
        if due {
            *last = Some(now);
        }
        due
    }
}

/// A bounded cache of verified tokens: a direct-mapped table of slots, indexed by a keyed
/// hash of the token's signature segment, each slot holding the whole token for an exact
/// comparison.
#[derive(Debug)]
struct TokenCache {
    slots: Box<[Mutex<Option<Slot>>]>,
    hasher: RandomState,
    generation: AtomicU64,
}

#[derive(Debug)]
struct Slot {
    generation: u64,
    token: Box<str>,
    verified: Arc<VerifiedAccessToken>,
    valid_from: Option<SystemTime>,
    valid_until: SystemTime,
}

impl TokenCache {
    fn new(capacity: usize) -> Self {
        let len = if capacity == 0 {
            0
        } else {
            capacity.next_power_of_two()
        };
        Self {
            slots: (0..len).map(|_| Mutex::new(None)).collect(),
            hasher: RandomState::new(),
            generation: AtomicU64::new(0),
        }
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn slot(&self, token: &str) -> Option<&Mutex<Option<Slot>>> {
        if self.slots.is_empty() {
            return None;
        }
        let signature = token.rsplit_once('.').map_or(token, |(_, s)| s);
        // `slots.len()` is a power of two: the mask keeps the index in range.
        let index = (self.hasher.hash_one(signature.as_bytes()) as usize) & (self.slots.len() - 1);
        self.slots.get(index)
    }

    fn get(
        &self,
        token: &str,
        now: SystemTime,
        generation: u64,
    ) -> Option<Arc<VerifiedAccessToken>> {
        let slot = self
            .slot(token)?
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = slot.as_ref()?;
        let fresh = slot.generation == generation
            && now < slot.valid_until
            && slot.valid_from.is_none_or(|from| now >= from);
        (fresh && same_bytes(slot.token.as_bytes(), token.as_bytes()))
            .then(|| Arc::clone(&slot.verified))
    }

    fn put(
        &self,
        token: &str,
        verified: &Arc<VerifiedAccessToken>,
        valid_from: Option<SystemTime>,
        valid_until: SystemTime,
        generation: u64,
    ) {
        if let Some(slot) = self.slot(token) {
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(Slot {
                generation,
                token: Box::from(token),
                verified: Arc::clone(verified),
                valid_from,
                valid_until,
            });
        }
    }
}

/// Byte equality without an early exit, so the time taken does not depend on where two
/// tokens of equal length differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    /// The one-pass payload writes the bytes the claims set would: the same members, the
    /// same order, the same escaping.
    #[test]
    fn payload_json_is_the_claims_set_json() {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let client = ClientId::new("s6BhdRkqt3").unwrap();
        let alice = Subject::new("al\"ice\n\u{7f}é");
        let plain = AccessTokenClaims::new(
            "https://rs.example.com",
            &client,
            None,
            at,
            Duration::from_secs(300),
        );
        let full = AccessTokenClaims::new(
            "https://rs.example.com",
            &client,
            Some(&alice),
            at,
            Duration::from_secs(300),
        )
        .with_audience("https://other.example.com")
        .with_scope(&Scope::parse("read write").unwrap())
        .with_auth_time(at - Duration::from_secs(60))
        .with_acr("urn:mace:incommon:iap:silver")
        .with_claim(
            "act",
            serde_json::json!({"sub": "svc", "act": {"sub": "x"}}),
        )
        .unwrap()
        .with_claim("cnf", serde_json::json!({"jkt": "abc"}))
        .unwrap()
        .with_claim("aaa", 1)
        .unwrap()
        .with_claim("zzz", "\t")
        .unwrap();
        for claims in [
            plain.clone(),
            full,
            plain.with_scope(&Scope::parse("").unwrap()),
        ] {
            let issuer = "https://as.example.com";
            assert_eq!(
                String::from_utf8(claims.payload().to_json(issuer)).unwrap(),
                String::from_utf8(claims.to_claims().to_json_with_issuer(issuer)).unwrap()
            );
        }
    }
}
