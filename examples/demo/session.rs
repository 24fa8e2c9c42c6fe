//! Sessions of the sign-in pages: a random id in an `HttpOnly` cookie, and server-side the
//! signed-in user and the session's CSRF token (SEC-03), kept under a digest of the id so
//! the table holds no live cookie.
//!
//! The table is bounded without letting strangers push signed-in users out: anonymous
//! sessions (anyone gets one with a cookie-less GET) have a capacity of their own, and a
//! full anonymous table drops its oldest anonymous sessions only. Signed-in sessions need
//! a password, and each user keeps a bounded number of them: signing in once more ends
//! that user's oldest session, never someone else's.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantflow::{HttpRequest, HttpResponse, Subject};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The session cookie's name.
const COOKIE: &str = "gf_session";
/// How long a session lives, signed in or not.
const TTL: Duration = Duration::from_secs(30 * 60);

/// A one-time message for a session's next page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Flash {
    /// A notice to show above the form.
    Notice(&'static str),
    /// A sign-in failed: why, and the user name to fill in again.
    SignInFailed {
        message: &'static str,
        username: String,
    },
    /// The user answered a device request: approved (`true`) or denied.
    DeviceAnswered { approved: bool },
}

impl Flash {
    /// The notice to show, if this flash is one.
    pub(super) fn message(&self) -> Option<&'static str> {
        match self {
            Self::Notice(message) | Self::SignInFailed { message, .. } => Some(message),
            Self::DeviceAnswered { .. } => None,
        }
    }

    /// The user name to fill in again, after a failed sign-in.
    pub(super) fn username(&self) -> &str {
        match self {
            Self::SignInFailed { username, .. } => username,
            _ => "",
        }
    }
}

/// How a posted CSRF token relates to the request's session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Csrf {
    /// The session's current token: the form is live.
    Valid,
    /// The token of the session this one replaced when the user signed in or out, in
    /// another tab perhaps: the form is out of date, and nothing it asks may be done.
    Superseded,
    /// Missing, wrong, or no live session: not a form of this browser's session.
    Invalid,
}

/// A session as a request sees it.
#[derive(Clone)]
pub(super) struct Session {
    key: [u8; 32],
    /// The signed-in user, if any.
    pub(super) user: Option<Subject>,
    /// When the user signed in (the ID token's `auth_time`).
    pub(super) signed_in_at: Option<SystemTime>,
    /// A digest of the authorization request the user last signed in for, from its own
    /// sign-in page: that request's `prompt=login` or `max_age` is satisfied.
    signed_in_for: Option<[u8; 32]>,
    /// The token every form of this session must post back.
    pub(super) csrf: String,
    /// The CSRF token of the session this one replaced, if any.
    previous_csrf: Option<String>,
    /// The message left for this page, if any (taken: it shows once).
    pub(super) flash: Option<Flash>,
    /// `Set-Cookie` to send when the session was just created or renewed.
    pub(super) set_cookie: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The CSRF tokens and the cookie are secrets of the user's browser.
        f.debug_struct("Session")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Whether the user signed in on the sign-in page of the authorization request
    /// `query` (and has not answered it yet).
    pub(super) fn signed_in_for(&self, query: &str) -> bool {
        self.signed_in_for == Some(digest(query))
    }

    /// How `presented` relates to this session's CSRF tokens, compared in constant time.
    pub(super) fn csrf(&self, presented: Option<&str>) -> Csrf {
        let Some(presented) = presented else {
            return Csrf::Invalid;
        };
        let equal = |token: &str| bool::from(presented.as_bytes().ct_eq(token.as_bytes()));
        if equal(&self.csrf) {
            Csrf::Valid
        } else if self.previous_csrf.as_deref().is_some_and(equal) {
            Csrf::Superseded
        } else {
            Csrf::Invalid
        }
    }

    /// Adds the session's `Set-Cookie`, if it has one to send, to `response`.
    pub(super) fn attach_cookie(&self, response: HttpResponse) -> HttpResponse {
        match &self.set_cookie {
            Some(cookie) => response.with_sensitive_header("set-cookie", cookie.clone()),
            None => response,
        }
    }
}

struct Stored {
    user: Option<Subject>,
    signed_in_at: Option<SystemTime>,
    signed_in_for: Option<[u8; 32]>,
    csrf: String,
    previous_csrf: Option<String>,
    flash: Option<Flash>,
    expires: Instant,
}

/// The session table.
pub(super) struct Sessions {
    table: Mutex<Table>,
    /// Whether the cookie gets `Secure` (when the issuer is `https`).
    secure: bool,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

struct Table {
    sessions: HashMap<[u8; 32], Stored>,
    /// How many of `sessions` are anonymous.
    anonymous: usize,
    /// The most anonymous sessions kept.
    anonymous_capacity: usize,
    /// Anonymous session keys, oldest first. Keys of sessions already ended (signed in,
    /// expired) are skipped when they come up.
    anonymous_by_age: VecDeque<[u8; 32]>,
    /// The most session keys kept per signed-in user.
    per_user: usize,
    /// Each signed-in user's session keys, oldest first. Keys of sessions already ended
    /// are dropped when they come to the front, and count until then.
    by_user: HashMap<Subject, VecDeque<[u8; 32]>>,
}

impl Table {
    fn new(anonymous_capacity: usize, per_user: usize) -> Self {
        Self {
            sessions: HashMap::new(),
            anonymous: 0,
            anonymous_capacity: anonymous_capacity.max(1),
            anonymous_by_age: VecDeque::new(),
            per_user: per_user.max(1),
            by_user: HashMap::new(),
        }
    }

    fn remove(&mut self, key: &[u8; 32]) {
        if let Some(stored) = self.sessions.remove(key) {
            if stored.user.is_none() {
                self.anonymous -= 1;
            }
        }
    }

    /// Whether `key` names a session that is anonymous and still live at `now`.
    fn is_live_anonymous(&self, key: &[u8; 32], now: Instant) -> bool {
        self.sessions
            .get(key)
            .is_some_and(|s| s.user.is_none() && s.expires > now)
    }

    /// Adds an anonymous session. Expired anonymous sessions go first (all live equally
    /// long, so they are the oldest); then, when the anonymous table is full, the oldest
    /// anonymous sessions. Signed-in sessions are never touched.
    fn insert_anonymous(&mut self, key: [u8; 32], stored: Stored, now: Instant) {
        while let Some(oldest) = self.anonymous_by_age.front().copied() {
            let live = self.is_live_anonymous(&oldest, now);
            if live && self.anonymous < self.anonymous_capacity {
                break;
            }
            self.anonymous_by_age.pop_front();
            if self.sessions.get(&oldest).is_some_and(|s| s.user.is_none()) {
                self.remove(&oldest);
            }
        }
        // Keys of sessions that signed in pile up only until they reach the front; bound
        // them anyway (amortised: this runs once the queue has doubled).
        if self.anonymous_by_age.len() > 2 * self.anonymous_capacity {
            let sessions = &self.sessions;
            self.anonymous_by_age
                .retain(|key| sessions.get(key).is_some_and(|s| s.user.is_none()));
        }
        self.sessions.insert(key, stored);
        self.anonymous += 1;
        self.anonymous_by_age.push_back(key);
    }

    /// Adds a session signed in as `user`. Past the user's limit, the user's oldest
    /// session ends; nobody else's does.
    fn insert_signed_in(&mut self, user: Subject, key: [u8; 32], stored: Stored, now: Instant) {
        let mine = self.by_user.entry(user).or_default();
        let sessions = &mut self.sessions;
        // Ended and expired sessions first: all live equally long, so the expired ones
        // are at the front.
        while let Some(oldest) = mine.front() {
            match sessions.get(oldest) {
                Some(session) if session.expires > now => break,
                Some(_) => {
                    sessions.remove(oldest);
                }
                None => {}
            }
            mine.pop_front();
        }
        while mine.len() >= self.per_user {
            if let Some(oldest) = mine.pop_front() {
                sessions.remove(&oldest);
            }
        }
        mine.push_back(key);
        sessions.insert(key, stored);
    }
}

impl Sessions {
    /// Sessions for pages served under `issuer` (over `https`, the cookie is `Secure`),
    /// keeping at most `anonymous_capacity` sessions of visitors who have not signed in
    /// and `per_user` sessions of each signed-in user.
    pub(super) fn new(issuer: &str, anonymous_capacity: usize, per_user: usize) -> Self {
        Self {
            table: Mutex::new(Table::new(anonymous_capacity, per_user)),
            secure: issuer.starts_with("https://"),
        }
    }

    /// The request's live session, if its cookie names one. Takes the flash message.
    pub(super) fn find(&self, request: &HttpRequest) -> Option<Session> {
        let key = digest(cookie_value(request)?);
        let mut table = self.lock();
        let stored = table.sessions.get_mut(&key)?;
        if stored.expires <= Instant::now() {
            table.remove(&key);
            return None;
        }
        Some(Session {
            key,
            user: stored.user.clone(),
            signed_in_at: stored.signed_in_at,
            signed_in_for: stored.signed_in_for,
            csrf: stored.csrf.clone(),
            previous_csrf: stored.previous_csrf.clone(),
            flash: stored.flash.take(),
            set_cookie: None,
        })
    }

    /// The request's session, or a new anonymous one (whose cookie the response must set).
    pub(super) fn find_or_start(&self, request: &HttpRequest) -> Session {
        self.find(request).unwrap_or_else(|| self.start(None, None))
    }

    /// Signs `user` in: the old session ends and a new one, with a new id and CSRF token,
    /// begins, so an id planted before sign-in is worthless after it (session fixation).
    pub(super) fn sign_in(&self, old: &Session, user: Subject) -> Session {
        self.lock().remove(&old.key);
        self.start(Some(user), Some(old.csrf.clone()))
    }

    /// Signs the user out: the old session ends and a new anonymous one begins.
    pub(super) fn sign_out(&self, old: &Session) -> Session {
        self.lock().remove(&old.key);
        self.start(None, Some(old.csrf.clone()))
    }

    /// Records that the user of `session` just signed in for the authorization request
    /// `query` (`None`: forgets it, once the request is answered).
    pub(super) fn signed_in_for(&self, session: &Session, query: Option<&str>) {
        if let Some(stored) = self.lock().sessions.get_mut(&session.key) {
            stored.signed_in_for = query.map(digest);
        }
    }

    /// Leaves `flash` for the session's next page.
    pub(super) fn flash(&self, session: &Session, flash: Flash) {
        if let Some(stored) = self.lock().sessions.get_mut(&session.key) {
            stored.flash = Some(flash);
        }
    }

    fn start(&self, user: Option<Subject>, previous_csrf: Option<String>) -> Session {
        let id = random_token();
        let key = digest(&id);
        let csrf = random_token();
        let now = Instant::now();
        let signed_in_at = user.as_ref().map(|_| SystemTime::now());
        let stored = Stored {
            user: user.clone(),
            signed_in_at,
            signed_in_for: None,
            csrf: csrf.clone(),
            previous_csrf: previous_csrf.clone(),
            flash: None,
            expires: now + TTL,
        };
        {
            let mut table = self.lock();
            match &user {
                Some(user) => table.insert_signed_in(user.clone(), key, stored, now),
                None => table.insert_anonymous(key, stored, now),
            }
        }
        Session {
            key,
            user,
            signed_in_at,
            signed_in_for: None,
            csrf,
            previous_csrf,
            flash: None,
            set_cookie: Some(format!(
                "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
                TTL.as_secs(),
                if self.secure { "; Secure" } else { "" },
            )),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The value of the session cookie in the request's `Cookie` header.
fn cookie_value(request: &HttpRequest) -> Option<&str> {
    request
        .header("cookie")?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// 256 random bits, base64url.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}
