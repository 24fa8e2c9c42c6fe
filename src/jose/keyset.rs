//! The server's signing keys and their life cycle: the [`KeySetStore`] that instances
//! share, the [`KeySet`] each instance signs and publishes with, and the in-memory store.
//!
//! A key moves through four states, each decided by the time alone, so that every
//! instance reading the same records at the same time agrees ([OpenID Connect Core
//! §10.1.1](https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys)):
//!
//! ```text
//!  published_at        activates_at          retires_at            removes_at
//!  |--- next: published, |--- active: signs ---|--- retired: published |--- removed
//!       not signing                               until its tokens expire
//! ```
//!
//! A new key is published for the JWKS cache lifetime plus the store refresh interval
//! before it signs, so no verifier and no instance meets its `kid` unannounced; the key it
//! replaces stops signing at that moment and stays published for the longest token
//! lifetime plus the clock leeway, so every token it signed verifies until it expires.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::access_token::AccessTokenPayload;
use super::alg::Algorithm;
use super::claims::Claims;
use super::jwk::PublicJwk;
use super::jwks::JwkSet;
use super::jws;
use super::signer::{SignError, Signer};
use super::validation::{JwtUse, MAX_LEEWAY};
use crate::error::{ConfigError, StorageError};
use crate::http::{HttpResponse, Status};

/// One key of a key set as stored: its public half and its schedule. No private material:
/// private keys stay with the [`Signer`]s (in memory, or in the host's KMS).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRecord {
    /// The key's `kid`: its RFC 7638 thumbprint.
    pub kid: String,
    /// The one algorithm the key signs with.
    pub algorithm: Algorithm,
    /// The public JWK, as published (`kty`, public members, `kid`, `use`, `alg`).
    pub public_jwk: String,
    /// When the key was added (and published).
    pub published_at: SystemTime,
    /// When it starts signing.
    pub activates_at: SystemTime,
    /// When it stops signing (set when a successor is scheduled).
    pub retires_at: Option<SystemTime>,
    /// When it is no longer published (set when a successor is scheduled).
    pub removes_at: Option<SystemTime>,
}

impl KeyRecord {
    /// A record for `key`, published at `published_at`, signing from `activates_at`, with
    /// no end scheduled.
    pub fn new(key: &PublicJwk, published_at: SystemTime, activates_at: SystemTime) -> Self {
        let key = key.with_thumbprint_kid();
        Self {
            kid: key.thumbprint().to_owned(),
            algorithm: key.algorithm(),
            public_jwk: key.to_json(),
            published_at,
            activates_at,
            retires_at: None,
            removes_at: None,
        }
    }

    /// A record read back from storage, as it was written.
    pub fn from_stored(
        kid: String,
        algorithm: Algorithm,
        public_jwk: String,
        published_at: SystemTime,
        activates_at: SystemTime,
    ) -> Self {
        Self {
            kid,
            algorithm,
            public_jwk,
            published_at,
            activates_at,
            retires_at: None,
            removes_at: None,
        }
    }

    /// The key's state at `now`, from its own schedule.
    pub fn state(&self, now: SystemTime) -> KeyState {
        if self.removes_at.is_some_and(|at| at <= now) {
            KeyState::Removed
        } else if now < self.activates_at {
            KeyState::Next
        } else if self.retires_at.is_some_and(|at| at <= now) {
            KeyState::Retired
        } else {
            KeyState::Active
        }
    }
}

/// Where a key is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyState {
    /// Published, not signing yet.
    Next,
    /// Signing (and published).
    Active,
    /// Published, no longer signing: tokens it signed may still be live.
    Retired,
    /// No longer published: its tokens fail verification.
    Removed,
}

/// Shared storage of key sets: the public halves and the schedules, so that every instance
/// of a deployment publishes and signs with the same keys at the same times.
///
/// Records belong to a named key set (one per issuer; [`KeySetBuilder::name`]), so one
/// table can hold several, and the conformance suite can run beside live data. The
/// contract of each method is written on it; [`introduce`](Self::introduce) must be atomic
/// across instances: two concurrent introductions must leave a schedule in which each key
/// of an algorithm retires when the next one activates.
#[async_trait]
pub trait KeySetStore: Send + Sync + fmt::Debug {
    /// Every record of key set `set` (removed ones too, until purged).
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn load(&self, set: &str) -> Result<Vec<KeyRecord>, StorageError>;

    /// Adds `record` to `set` and, in the same atomic step, ends every other key of the
    /// same algorithm that would still sign at `record.activates_at`: its `retires_at`
    /// becomes `record.activates_at` and its `removes_at` the earlier of its own and
    /// `record.activates_at + retention`. Returns `false`, changing nothing, when `set`
    /// already has a key with this `kid` (whatever its algorithm), or a key of this
    /// algorithm that activates after `record.activates_at`.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure; nothing is changed then.
    async fn introduce(
        &self,
        set: &str,
        record: KeyRecord,
        retention: Duration,
    ) -> Result<bool, StorageError>;

    /// Brings the end of key `kid` forward: `retires_at` and `removes_at` become the
    /// earlier of their current value and the one given (a time is never pushed back).
    /// Returns `false` when `set` has no such key.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn end(
        &self,
        set: &str,
        kid: &str,
        retires_at: SystemTime,
        removes_at: SystemTime,
    ) -> Result<bool, StorageError>;

    /// Deletes the records, in every set, whose `removes_at` is at or before `before`, and
    /// returns how many went.
    ///
    /// # Errors
    /// [`StorageError`] for a backend failure.
    async fn purge(&self, before: SystemTime) -> Result<usize, StorageError>;
}

/// The in-memory [`KeySetStore`]: for a single instance, and for tests. Several instances
/// need a shared one (the `postgres` feature has `PgKeySetStore`).
#[derive(Debug, Default)]
pub struct MemoryKeySetStore {
    sets: Mutex<HashMap<String, Vec<KeyRecord>>>,
}

impl MemoryKeySetStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The schedule change of [`KeySetStore::introduce`] on one set's records, or `false` when
/// the record is refused.
fn introduce_into(records: &mut Vec<KeyRecord>, record: KeyRecord, retention: Duration) -> bool {
    if records.iter().any(|r| {
        r.kid == record.kid
            || (r.algorithm == record.algorithm && r.activates_at > record.activates_at)
    }) {
        return false;
    }
    let removal = record.activates_at.checked_add(retention);
    for r in records
        .iter_mut()
        .filter(|r| r.algorithm == record.algorithm)
    {
        if r.retires_at.is_none_or(|at| at > record.activates_at) {
            r.retires_at = Some(record.activates_at);
            r.removes_at = earlier(r.removes_at, removal);
        }
    }
    records.push(record);
    true
}

/// The earlier of two optional times (`None` is "never").
fn earlier(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[async_trait]
impl KeySetStore for MemoryKeySetStore {
    async fn load(&self, set: &str) -> Result<Vec<KeyRecord>, StorageError> {
        let sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(sets.get(set).cloned().unwrap_or_default())
    }

    async fn introduce(
        &self,
        set: &str,
        record: KeyRecord,
        retention: Duration,
    ) -> Result<bool, StorageError> {
        let mut sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(introduce_into(
            sets.entry(set.to_owned()).or_default(),
            record,
            retention,
        ))
    }

    async fn end(
        &self,
        set: &str,
        kid: &str,
        retires_at: SystemTime,
        removes_at: SystemTime,
    ) -> Result<bool, StorageError> {
        let mut sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(record) = sets
            .get_mut(set)
            .and_then(|records| records.iter_mut().find(|r| r.kid == kid))
        else {
            return Ok(false);
        };
        record.retires_at = earlier(record.retires_at, Some(retires_at));
        record.removes_at = earlier(record.removes_at, Some(removes_at));
        Ok(true)
    }

    async fn purge(&self, before: SystemTime) -> Result<usize, StorageError> {
        let mut sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        let mut purged = 0;
        for records in sets.values_mut() {
            let len = records.len();
            records.retain(|r| r.removes_at.is_none_or(|at| at > before));
            purged += len - records.len();
        }
        sets.retain(|_, records| !records.is_empty());
        Ok(purged)
    }
}

/// A [`KeySet`] operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeySetError {
    /// The key-set store failed, or holds a record that does not parse.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// No key of this algorithm is active now.
    #[error("no active signing key for {0}")]
    NoActiveKey(Algorithm),
    /// The active key's private half is not on this instance (no [`Signer`] registered for
    /// its `kid`).
    #[error("no signer on this instance for the active key")]
    NoSigner,
    /// The signer failed, or returned a signature of the wrong length.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The claims have no `exp`, or one further away than the key set's
    /// [`max_token_lifetime`](KeySetBuilder::max_token_lifetime), or name another issuer.
    #[error("the claims do not fit the key set: {0}")]
    Claims(&'static str),
    /// The store refused the key: its `kid` is already in the set, or a key of its
    /// algorithm is scheduled to activate later; or a bootstrap found a key already
    /// published.
    #[error("the key set refused the key: {0}")]
    Refused(&'static str),
}

/// The rendered JWK Set of a [`KeySet`] ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)),
/// for the `jwks_uri` endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksDocument {
    /// `{"keys":[…]}`: every published key, public members only.
    pub body: Vec<u8>,
    /// How long a client may cache it.
    pub max_age: Duration,
}

impl JwksDocument {
    /// A JWK Set document as fetched from an authorization server's `jwks_uri`, with the
    /// `max-age` of its `Cache-Control` header (for a
    /// [`JwksSource`](super::JwksSource) of the host's).
    pub fn new(body: Vec<u8>, max_age: Duration) -> Self {
        Self { body, max_age }
    }

    /// The `Cache-Control` value: `public, max-age=<seconds>`.
    pub fn cache_control(&self) -> String {
        format!("public, max-age={}", self.max_age.as_secs())
    }

    /// The whole response: 200, `Content-Type: application/json`, the `Cache-Control`
    /// above, and the body.
    pub fn to_response(&self) -> HttpResponse {
        HttpResponse::new(Status::OK)
            .with_header("content-type", "application/json")
            .with_header("cache-control", self.cache_control())
            .with_body(self.body.clone())
    }
}

/// The key-set state every instance computes from the store.
#[derive(Debug)]
struct Snapshot {
    loaded_at: SystemTime,
    entries: Vec<Entry>,
}

/// A key of the [`Snapshot`].
#[derive(Debug)]
struct Entry {
    record: KeyRecord,
    key: PublicJwk,
    /// The base64url of the key's JWS header for access tokens (`alg`, `kid`, `typ:
    /// at+jwt`): constant, so written once here rather than for every token.
    access_token_header: String,
}

impl Entry {
    fn new(record: KeyRecord, key: PublicJwk) -> Self {
        let access_token_header =
            jws::encoded_header(record.algorithm, &record.kid, JwtUse::AccessToken.typ());
        Self {
            record,
            key,
            access_token_header,
        }
    }
}

impl Snapshot {
    /// The key of `algorithm` that signs at `now`: among the active ones, the latest to
    /// activate (one per algorithm, even if a store's schedule overlapped).
    fn active(&self, algorithm: Algorithm, now: SystemTime) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.record.algorithm == algorithm && e.record.state(now) == KeyState::Active)
            .max_by(|a, b| {
                (a.record.activates_at, &a.record.kid).cmp(&(b.record.activates_at, &b.record.kid))
            })
    }

    fn published(&self, now: SystemTime) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(move |e| e.record.state(now) != KeyState::Removed)
    }
}

/// The timing policy of a [`KeySet`].
#[derive(Clone, Copy, Debug)]
struct Policy {
    default_algorithm: Algorithm,
    jwks_max_age: Duration,
    refresh_interval: Duration,
    max_token_lifetime: Duration,
}

impl Policy {
    /// How long a new key is published before it signs.
    fn publish_lead(&self) -> Duration {
        self.jwks_max_age.saturating_add(self.refresh_interval)
    }

    /// How long a retired key stays published.
    fn retention(&self) -> Duration {
        self.max_token_lifetime.saturating_add(MAX_LEEWAY)
    }
}

/// The server's signing keys: signs JWTs with the active key of an algorithm, publishes
/// the JWK Set, and rotates keys on a schedule shared by every instance through a
/// [`KeySetStore`]. Cheap to clone.
///
/// Private keys are [`Signer`]s registered on each instance ([`add_signer`](Self::add_signer)):
/// in-memory [`SigningKey`](super::SigningKey)s that every instance loads from the same
/// PKCS#8 documents, or KMS clients. The store holds only public halves and times. The
/// schedule is read from the store at most every
/// [`refresh_interval`](KeySetBuilder::refresh_interval).
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
///
/// let keys = KeySet::builder("https://as.example.com", Arc::new(MemoryKeySetStore::new()))
///     .build()?;
/// let now = SystemTime::now();
/// // The first key signs at once; later ones through `rotate`.
/// keys.bootstrap(Arc::new(SigningKey::generate(Algorithm::Es256)?), now).await?;
/// let claims = Claims::new()
///     .with_subject("alice")
///     .with_audience(["client-1"])
///     .with_issued_at(now)
///     .with_expires_at(now + Duration::from_secs(300));
/// let jwt = keys.sign(JwtUse::IdToken, &claims, now).await?;
///
/// let published = JwkSet::parse(&keys.jwks(now).await?.body)?;
/// let client = grantflow::ClientId::new("client-1")?;
/// let verified = Validation::id_token("https://as.example.com", &client)
///     .verify(&jwt, &published, now)?;
/// assert_eq!(verified.claims().subject(), Some("alice"));
/// # Ok(()) }) }
/// ```
#[derive(Clone)]
pub struct KeySet {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: Arc<str>,
    name: Arc<str>,
    store: Arc<dyn KeySetStore>,
    policy: Policy,
    signers: RwLock<HashMap<String, Arc<dyn Signer>>>,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    refreshing: AtomicBool,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let signers = self
            .inner
            .signers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("KeySet")
            .field("issuer", &self.inner.issuer)
            .field("name", &self.inner.name)
            .field("store", &self.inner.store)
            .field("policy", &self.inner.policy)
            .field("signers", &signers)
            .finish_non_exhaustive()
    }
}

/// Builds a [`KeySet`]; from [`KeySet::builder`].
#[derive(Debug)]
#[must_use]
pub struct KeySetBuilder {
    issuer: String,
    name: String,
    store: Arc<dyn KeySetStore>,
    policy: Policy,
    signers: Vec<Arc<dyn Signer>>,
}

impl KeySetBuilder {
    /// The key set's name in the store: one per issuer when several share a store.
    /// Default: `default`. At most 128 bytes.
    pub fn name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.name);
        self
    }

    /// The algorithm [`KeySet::sign`] uses. Default: ES256.
    pub fn default_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.policy.default_algorithm = algorithm;
        self
    }

    /// How long clients may cache the JWK Set (its `Cache-Control: max-age`). A new key is
    /// published this long, plus the refresh interval, before it signs. Default: 5 minutes;
    /// at most one day.
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.policy.jwks_max_age = max_age;
        self
    }

    /// How often an instance reads the schedule from the store. Default: 60 s; from 1 s to
    /// one hour.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.policy.refresh_interval = interval;
        self
    }

    /// The longest lifetime of a token signed by the set: [`KeySet::sign`] refuses longer
    /// ones, and a retired key stays published this long (plus 300 s of clock leeway)
    /// after it stops signing. Default: one hour; at most 30 days.
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.policy.max_token_lifetime = lifetime;
        self
    }

    /// Registers a private key on this instance (see [`KeySet::add_signer`]).
    pub fn signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signers.push(signer);
        self
    }

    /// The key set.
    ///
    /// # Errors
    /// [`ConfigError::Setting`] for a name or duration out of range.
    pub fn build(self) -> Result<KeySet, ConfigError> {
        let policy = self.policy;
        if self.name.is_empty() || self.name.len() > 128 {
            return Err(ConfigError::Setting(
                "the key set name must have 1 to 128 bytes",
            ));
        }
        if policy.jwks_max_age > Duration::from_secs(86_400) {
            return Err(ConfigError::Setting(
                "the JWKS max-age must be at most one day",
            ));
        }
        if policy.refresh_interval < Duration::from_secs(1)
            || policy.refresh_interval > Duration::from_secs(3600)
        {
            return Err(ConfigError::Setting(
                "the key set refresh interval must be from 1 s to one hour",
            ));
        }
        if policy.max_token_lifetime.is_zero()
            || policy.max_token_lifetime > Duration::from_secs(30 * 86_400)
        {
            return Err(ConfigError::Setting(
                "the key set's maximum token lifetime must be from 1 s to 30 days",
            ));
        }
        let set = KeySet {
            inner: Arc::new(Inner {
                issuer: Arc::from(self.issuer),
                name: Arc::from(self.name),
                store: self.store,
                policy,
                signers: RwLock::new(HashMap::new()),
                snapshot: RwLock::new(None),
                refreshing: AtomicBool::new(false),
            }),
        };
        for signer in self.signers {
            set.add_signer(signer);
        }
        Ok(set)
    }
}

impl KeySet {
    /// A builder for the keys of `issuer` (the `iss` of everything the set signs), over
    /// `store`.
    pub fn builder(issuer: &str, store: Arc<dyn KeySetStore>) -> KeySetBuilder {
        KeySetBuilder {
            issuer: issuer.to_owned(),
            name: "default".to_owned(),
            store,
            policy: Policy {
                default_algorithm: Algorithm::Es256,
                jwks_max_age: Duration::from_secs(300),
                refresh_interval: Duration::from_secs(60),
                max_token_lifetime: Duration::from_secs(3600),
            },
            signers: Vec::new(),
        }
    }

    /// The issuer identifier written as `iss`.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// How long a new key is published before it signs: the JWKS max-age plus the refresh
    /// interval.
    pub fn publish_lead(&self) -> Duration {
        self.inner.policy.publish_lead()
    }

    /// How long a retired key stays published: the longest token lifetime plus 300 s.
    pub fn retention(&self) -> Duration {
        self.inner.policy.retention()
    }

    /// The longest lifetime of a token the set signs
    /// ([`KeySetBuilder::max_token_lifetime`]).
    pub fn max_token_lifetime(&self) -> Duration {
        self.inner.policy.max_token_lifetime
    }

    /// How long clients may cache the JWK Set ([`KeySetBuilder::jwks_max_age`]).
    pub fn jwks_max_age(&self) -> Duration {
        self.inner.policy.jwks_max_age
    }

    /// Registers the private half of a key on this instance. The key signs only when the
    /// shared schedule makes it active; registering changes nothing in the store.
    pub fn add_signer(&self, signer: Arc<dyn Signer>) {
        let kid = signer.public_key().thumbprint().to_owned();
        self.inner
            .signers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(kid, signer);
    }

    fn signer(&self, kid: &str) -> Option<Arc<dyn Signer>> {
        self.inner
            .signers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kid)
            .cloned()
    }

    /// The first key of an algorithm, signing at once: for a deployment's first start. If
    /// the key is already in the set (another instance bootstrapped it), only registers it
    /// here and returns its record.
    ///
    /// # Errors
    /// [`KeySetError::Refused`] when another key of the algorithm is already published (use
    /// [`rotate`](Self::rotate)); [`KeySetError::Storage`] for a store failure.
    pub async fn bootstrap(
        &self,
        signer: Arc<dyn Signer>,
        now: SystemTime,
    ) -> Result<KeyRecord, KeySetError> {
        let record = KeyRecord::new(signer.public_key(), now, now);
        self.add_signer(signer);
        let existing = self.inner.store.load(&self.inner.name).await?;
        if let Some(found) = existing.iter().find(|r| r.kid == record.kid) {
            self.refresh(now).await?;
            return Ok(found.clone());
        }
        if existing
            .iter()
            .any(|r| r.algorithm == record.algorithm && r.state(now) != KeyState::Removed)
        {
            return Err(KeySetError::Refused(
                "a key of this algorithm is already published: rotate instead",
            ));
        }
        match self.introduce(record.clone(), now).await {
            // Another instance bootstrapped the same key meanwhile.
            Err(KeySetError::Refused(why)) => {
                let stored = self.inner.store.load(&self.inner.name).await?;
                stored
                    .into_iter()
                    .find(|r| r.kid == record.kid)
                    .ok_or(KeySetError::Refused(why))
            }
            other => other,
        }
    }

    /// Adds a key that is published now and signs after [`publish_lead`](Self::publish_lead);
    /// the key of its algorithm signing then retires at that moment and stays published
    /// for [`retention`](Self::retention). Run it on any one instance (from a timer, say);
    /// the others pick the schedule up from the store. Every instance that signs needs the
    /// new key's [`Signer`] before it activates.
    ///
    /// # Errors
    /// [`KeySetError::Refused`] when the key is already in the set or a key of its
    /// algorithm activates later; [`KeySetError::Storage`] for a store failure.
    pub async fn rotate(
        &self,
        signer: Arc<dyn Signer>,
        now: SystemTime,
    ) -> Result<KeyRecord, KeySetError> {
        let activates_at = now.checked_add(self.publish_lead()).unwrap_or(now);
        let record = KeyRecord::new(signer.public_key(), now, activates_at);
        self.add_signer(signer);
        self.introduce(record, now).await
    }

    async fn introduce(
        &self,
        record: KeyRecord,
        now: SystemTime,
    ) -> Result<KeyRecord, KeySetError> {
        let introduced = self
            .inner
            .store
            .introduce(&self.inner.name, record.clone(), self.retention())
            .await?;
        self.refresh(now).await?;
        if introduced {
            Ok(record)
        } else {
            Err(KeySetError::Refused(
                "the kid is in the set already, or a later key of its algorithm is scheduled",
            ))
        }
    }

    /// Withdraws key `kid` now: it stops signing and is no longer published, so every token
    /// it signed fails verification from now on (for a compromised key). Other instances
    /// follow at their next refresh.
    ///
    /// # Errors
    /// [`KeySetError::Storage`] for a store failure.
    pub async fn remove(&self, kid: &str, now: SystemTime) -> Result<bool, KeySetError> {
        let ended = self
            .inner
            .store
            .end(&self.inner.name, kid, now, now)
            .await?;
        self.refresh(now).await?;
        Ok(ended)
    }

    /// Deletes the records of keys removed at or before `now`.
    ///
    /// # Errors
    /// [`KeySetError::Storage`] for a store failure.
    pub async fn purge(&self, now: SystemTime) -> Result<usize, KeySetError> {
        Ok(self.inner.store.purge(now).await?)
    }

    /// Reads the schedule from the store now.
    ///
    /// # Errors
    /// [`KeySetError::Storage`] for a store failure or a record that does not parse.
    pub async fn refresh(&self, now: SystemTime) -> Result<(), KeySetError> {
        let records = self.inner.store.load(&self.inner.name).await?;
        let mut entries = Vec::with_capacity(records.len());
        for record in records {
            let key = PublicJwk::parse(record.public_jwk.as_bytes())
                .ok()
                .filter(|k| k.thumbprint() == record.kid && k.algorithm() == record.algorithm)
                .ok_or_else(|| StorageError::new("a stored key record does not parse"))?;
            entries.push(Entry::new(record, key.with_thumbprint_kid()));
        }
        *self
            .inner
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(Snapshot {
            loaded_at: now,
            entries,
        }));
        Ok(())
    }

    /// The schedule as of `now`: the cached one while it is fresh, else read again. While
    /// one caller reads, others keep using a snapshot up to two intervals old.
    async fn snapshot(&self, now: SystemTime) -> Result<Arc<Snapshot>, KeySetError> {
        let interval = self.inner.policy.refresh_interval;
        let age_below = |s: &Snapshot, limit: Duration| {
            now.duration_since(s.loaded_at).is_ok_and(|age| age < limit)
        };
        let current = self
            .inner
            .snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(snapshot) = &current {
            if age_below(snapshot, interval) {
                return Ok(Arc::clone(snapshot));
            }
            if age_below(snapshot, interval.saturating_mul(2))
                && self.inner.refreshing.swap(true, Ordering::AcqRel)
            {
                return Ok(Arc::clone(snapshot));
            }
        }
        let refreshed = self.refresh(now).await;
        self.inner.refreshing.store(false, Ordering::Release);
        match refreshed {
            Ok(()) => self
                .inner
                .snapshot
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .ok_or_else(|| KeySetError::Storage(StorageError::new("key set not loaded"))),
            Err(error) => match current {
                Some(snapshot) if age_below(&snapshot, interval.saturating_mul(2)) => Ok(snapshot),
                _ => Err(error),
            },
        }
    }

    /// Every key of the set with its state at `now`.
    ///
    /// # Errors
    /// [`KeySetError::Storage`] for a store failure.
    pub async fn keys(&self, now: SystemTime) -> Result<Vec<KeyStatus>, KeySetError> {
        let snapshot = self.snapshot(now).await?;
        Ok(snapshot
            .entries
            .iter()
            .map(|Entry { record, .. }| KeyStatus {
                state: record.state(now),
                has_signer: self.signer(&record.kid).is_some(),
                record: record.clone(),
            })
            .collect())
    }

    /// The published keys (next, active and retired) as a [`JwkSet`], to verify the set's
    /// own JWTs in process.
    ///
    /// # Errors
    /// [`KeySetError::Storage`] for a store failure.
    pub async fn public_keys(&self, now: SystemTime) -> Result<JwkSet, KeySetError> {
        let snapshot = self.snapshot(now).await?;
        JwkSet::from_keys(snapshot.published(now).map(|entry| entry.key.clone()))
            .map_err(|_| KeySetError::Storage(StorageError::new("duplicate kid in the key set")))
    }

    /// The JWK Set document for `jwks_uri`, with its cache lifetime
    /// ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)): every published
    /// key with `kty`, `kid`, `use: sig`, `alg` and its public members, never a private one.
    ///
    /// # Errors
    /// [`KeySetError::Storage`] for a store failure.
    pub async fn jwks(&self, now: SystemTime) -> Result<JwksDocument, KeySetError> {
        Ok(JwksDocument {
            body: self.public_keys(now).await?.to_json().into_bytes(),
            max_age: self.inner.policy.jwks_max_age,
        })
    }

    /// The algorithms that have an active key at `now` (for metadata such as
    /// `id_token_signing_alg_values_supported`).
    ///
    /// # Errors
    /// [`KeySetError::Storage`] for a store failure.
    pub async fn signing_algorithms(
        &self,
        now: SystemTime,
    ) -> Result<super::AlgorithmSet, KeySetError> {
        let snapshot = self.snapshot(now).await?;
        Ok(Algorithm::ALL
            .into_iter()
            .filter(|alg| snapshot.active(*alg, now).is_some())
            .collect())
    }

    /// Signs `claims` as a JWT of `jwt_use` with the active key of the default algorithm.
    /// `iss` is the set's issuer (the claims may leave it out); `exp` is required and may
    /// be at most [`max_token_lifetime`](KeySetBuilder::max_token_lifetime) after `now`.
    /// The header is `alg`, `kid` and the use's `typ`
    /// ([RFC 8725 §3.11](https://www.rfc-editor.org/rfc/rfc8725#section-3.11)).
    ///
    /// # Errors
    /// [`KeySetError`]: claims that do not fit, no active key, no signer for it on this
    /// instance, a signer or store failure.
    pub async fn sign(
        &self,
        jwt_use: JwtUse,
        claims: &Claims,
        now: SystemTime,
    ) -> Result<String, KeySetError> {
        self.sign_with(self.inner.policy.default_algorithm, jwt_use, claims, now)
            .await
    }

    /// [`sign`](Self::sign) with the active key of `algorithm`.
    ///
    /// # Errors
    /// As for [`sign`](Self::sign).
    pub async fn sign_with(
        &self,
        algorithm: Algorithm,
        jwt_use: JwtUse,
        claims: &Claims,
        now: SystemTime,
    ) -> Result<String, KeySetError> {
        let Some(expires_at) = claims.expires_at() else {
            return Err(KeySetError::Claims("exp is required"));
        };
        self.check_lifetime(expires_at, now)?;
        if claims
            .issuer()
            .is_some_and(|iss| iss != &*self.inner.issuer)
        {
            return Err(KeySetError::Claims("iss is not the key set's issuer"));
        }
        let payload = claims.to_json_with_issuer(&self.inner.issuer);
        self.sign_json(algorithm, jwt_use, &payload, now).await
    }

    /// Signs an access token's claims with the active key of the default algorithm: the
    /// checks and the JWT of [`sign`](Self::sign), the claims written straight into the
    /// JSON that is signed.
    pub(crate) async fn sign_access_payload(
        &self,
        payload: &AccessTokenPayload<'_>,
        now: SystemTime,
    ) -> Result<String, KeySetError> {
        self.check_lifetime(payload.expires_at, now)?;
        let json = payload.to_json(&self.inner.issuer);
        self.sign_json(
            self.inner.policy.default_algorithm,
            JwtUse::AccessToken,
            &json,
            now,
        )
        .await
    }

    /// A token expiring at `expires_at` lives at most the maximum token lifetime from `now`.
    fn check_lifetime(&self, expires_at: SystemTime, now: SystemTime) -> Result<(), KeySetError> {
        let latest = now
            .checked_add(self.inner.policy.max_token_lifetime)
            .unwrap_or(now);
        if expires_at > latest {
            return Err(KeySetError::Claims(
                "exp is beyond the maximum token lifetime",
            ));
        }
        Ok(())
    }

    /// Signs the claims `payload` (JSON) as a JWT of `jwt_use` with the active key of
    /// `algorithm`.
    async fn sign_json(
        &self,
        algorithm: Algorithm,
        jwt_use: JwtUse,
        payload: &[u8],
        now: SystemTime,
    ) -> Result<String, KeySetError> {
        let snapshot = self.snapshot(now).await?;
        let entry = snapshot
            .active(algorithm, now)
            .ok_or(KeySetError::NoActiveKey(algorithm))?;
        let signer = self
            .signer(&entry.record.kid)
            .ok_or(KeySetError::NoSigner)?;
        if signer.public_key().algorithm() != algorithm {
            return Err(KeySetError::NoSigner);
        }
        let signature_len = entry.key.signature_len();
        let input = match jwt_use {
            JwtUse::AccessToken => {
                jws::signing_input(&entry.access_token_header, payload, signature_len)
            }
            _ => jws::signing_input(
                &jws::encoded_header(algorithm, &entry.record.kid, jwt_use.typ()),
                payload,
                signature_len,
            ),
        };
        let signature = signer.sign(input.as_bytes()).await?;
        if signature.len() != signature_len {
            return Err(KeySetError::Sign(SignError::new(
                "the signer returned a signature of the wrong length",
            )));
        }
        Ok(jws::finish(input, &signature))
    }
}

/// A key of a [`KeySet`] with its state ([`KeySet::keys`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyStatus {
    /// The stored record.
    pub record: KeyRecord,
    /// Its state at the time asked.
    pub state: KeyState,
    /// Whether this instance holds its private half.
    pub has_signer: bool,
}
