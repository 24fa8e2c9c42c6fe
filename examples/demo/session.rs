//! Sessions of the sign-in pages: a random id in an `HttpOnly` cookie, and server-side the
//! signed-in user and the session's CSRF token (SEC-03), kept under a digest of the id so
//! the table holds no live cookie.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

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
/// The most sessions kept; a full table drops the oldest (expired ones first, since every
/// session lives as long), so it never grows without bound and a session in use is the
/// last to go.
const CAPACITY: usize = 100_000;

/// A session as a request sees it.
#[derive(Clone)]
pub(super) struct Session {
    key: [u8; 32],
    /// The signed-in user, if any.
    pub(super) user: Option<Subject>,
    /// The token every form of this session must post back.
    pub(super) csrf: String,
    /// A one-time message for the next page ("wrong password").
    pub(super) flash: Option<&'static str>,
    /// `Set-Cookie` to send when the session was just created or renewed.
    pub(super) set_cookie: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The CSRF token and the cookie are secrets of the user's browser.
        f.debug_struct("Session")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Whether `presented` is this session's CSRF token, compared in constant time.
    pub(super) fn csrf_matches(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(self.csrf.as_bytes())))
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
    csrf: String,
    flash: Option<&'static str>,
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

#[derive(Default)]
struct Table {
    sessions: HashMap<[u8; 32], Stored>,
    /// Session keys, oldest first; keys of sessions already ended are skipped when they
    /// come up.
    by_age: VecDeque<[u8; 32]>,
}

impl Table {
    fn get_mut(&mut self, key: &[u8; 32]) -> Option<&mut Stored> {
        self.sessions.get_mut(key)
    }

    fn remove(&mut self, key: &[u8; 32]) {
        self.sessions.remove(key);
    }

    /// Adds a session, first dropping the oldest eighth when the table is full (so the
    /// cost of a sweep is spread over thousands of sign-ins).
    fn insert(&mut self, key: [u8; 32], stored: Stored) {
        if self.sessions.len() >= CAPACITY {
            while self.sessions.len() > CAPACITY - CAPACITY / 8 {
                let Some(oldest) = self.by_age.pop_front() else {
                    break;
                };
                self.sessions.remove(&oldest);
            }
        }
        // Keys of ended sessions pile up only until the next sweep; bound them anyway.
        if self.by_age.len() > 2 * CAPACITY {
            let live = &self.sessions;
            self.by_age.retain(|key| live.contains_key(key));
        }
        self.sessions.insert(key, stored);
        self.by_age.push_back(key);
    }
}

impl Sessions {
    /// Sessions for pages served under `issuer`: over `https`, the cookie is `Secure`.
    pub(super) fn new(issuer: &str) -> Self {
        Self {
            table: Mutex::new(Table::default()),
            secure: issuer.starts_with("https://"),
        }
    }

    /// The request's live session, if its cookie names one. Takes the flash message.
    pub(super) fn find(&self, request: &HttpRequest) -> Option<Session> {
        let key = digest(cookie_value(request)?);
        let mut table = self.lock();
        let stored = table.get_mut(&key)?;
        if stored.expires <= Instant::now() {
            table.remove(&key);
            return None;
        }
        Some(Session {
            key,
            user: stored.user.clone(),
            csrf: stored.csrf.clone(),
            flash: stored.flash.take(),
            set_cookie: None,
        })
    }

    /// The request's session, or a new anonymous one (whose cookie the response must set).
    pub(super) fn find_or_start(&self, request: &HttpRequest) -> Session {
        self.find(request).unwrap_or_else(|| self.start(None))
    }

    /// Signs `user` in: the old session ends and a new one, with a new id and CSRF token,
    /// begins, so an id planted before sign-in is worthless after it (session fixation).
    pub(super) fn sign_in(&self, old: &Session, user: Subject) -> Session {
        self.lock().remove(&old.key);
        self.start(Some(user))
    }

    /// Leaves `message` for the session's next page.
    pub(super) fn flash(&self, session: &Session, message: &'static str) {
        if let Some(stored) = self.lock().get_mut(&session.key) {
            stored.flash = Some(message);
        }
    }

    fn start(&self, user: Option<Subject>) -> Session {
        let id = random_token();
        let key = digest(&id);
        let csrf = random_token();
        let now = Instant::now();
        self.lock().insert(
            key,
            Stored {
                user: user.clone(),
                csrf: csrf.clone(),
                flash: None,
                expires: now + TTL,
            },
        );
        Session {
            key,
            user,
            csrf,
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
