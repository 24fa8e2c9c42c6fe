//! [`OpenIdContext`]: what an OpenID Connect grant remembers about the user's
//! authentication, kept with its authorization code and with its tokens.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::StorageError;

/// What the ID tokens of an OpenID Connect grant say about the user's authentication, and
/// what the client asked to be told
/// ([OpenID Connect Core §2](https://openid.net/specs/openid-connect-core-1_0.html#IDToken)).
///
/// An [`AuthorizationGrant`](super::AuthorizationGrant) issued for an OpenID request (its
/// scope holds `openid`) carries one, and so does every [`TokenRecord`](super::TokenRecord)
/// of that grant (without the `nonce`, which belongs to the first ID token only): the token
/// endpoint signs the ID token of the code exchange from it, and of every refresh
/// ([Core §12.2](https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse):
/// same `sub`, `auth_time`, `acr` and `amr`), and the UserInfo endpoint answers the
/// `claims` request it kept.
///
/// Nothing in it is a secret. A store persists it field by field, or as the one string of
/// [`to_json`](Self::to_json), read back with [`from_json`](Self::from_json).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use grantflow::store::OpenIdContext;
///
/// let context = OpenIdContext::new("alice")
///     .with_nonce(Some("n-0S6_WzA2Mj"))
///     .with_auth_time(Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
/// let stored = context.to_json();
/// assert_eq!(OpenIdContext::from_json(&stored)?, context);
/// assert_eq!(context.without_nonce().nonce, None);
/// # Ok::<(), grantflow::StorageError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenIdContext {
    /// The `sub` this client sees: the user's identifier, or for a client registered for
    /// pairwise subject identifiers its pairwise value
    /// ([Core §8](https://openid.net/specs/openid-connect-core-1_0.html#SubjectIDTypes)).
    /// Fixed when the code is issued, so every ID token, UserInfo response and
    /// introspection of the grant says the same.
    pub subject_identifier: Arc<str>,
    /// The `nonce` of the authentication request, echoed in the first ID token; `None` on
    /// token records.
    pub nonce: Option<Arc<str>>,
    /// When the user authenticated, in whole seconds, as the host said.
    pub auth_time: Option<SystemTime>,
    /// The authentication context class the authentication achieved (`acr`).
    pub acr: Option<Arc<str>>,
    /// The authentication methods used (`amr`).
    pub amr: Arc<[String]>,
    /// The `claims` request parameter
    /// ([Core §5.5](https://openid.net/specs/openid-connect-core-1_0.html#ClaimsParameter)),
    /// as checked JSON text, or `None` when the request had none.
    pub claims: Option<Arc<str>>,
}

impl fmt::Debug for OpenIdContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenIdContext")
            .field("subject_identifier", &self.subject_identifier)
            .field("nonce", &self.nonce.is_some())
            .field("auth_time", &self.auth_time)
            .field("acr", &self.acr)
            .field("amr", &self.amr)
            .field("claims", &self.claims)
            .finish()
    }
}

/// The stored form: short member names, times in seconds.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored<'a> {
    sub: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acr: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    amr: Vec<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claims: Option<Cow<'a, str>>,
}

impl OpenIdContext {
    /// A context for a client that sees the user as `subject_identifier`, with nothing
    /// else known yet.
    pub fn new(subject_identifier: &str) -> Self {
        Self {
            subject_identifier: Arc::from(subject_identifier),
            nonce: None,
            auth_time: None,
            acr: None,
            amr: Arc::from([]),
            claims: None,
        }
    }

    /// Sets the `nonce`.
    #[must_use]
    pub fn with_nonce(mut self, nonce: Option<&str>) -> Self {
        self.nonce = nonce.map(Arc::from);
        self
    }

    /// Sets the time of the authentication, cut to whole seconds (the precision of
    /// `auth_time`).
    #[must_use]
    pub fn with_auth_time(mut self, at: Option<SystemTime>) -> Self {
        self.auth_time = at.map(whole_seconds);
        self
    }

    /// Sets `acr`.
    #[must_use]
    pub fn with_acr(mut self, acr: Option<&str>) -> Self {
        self.acr = acr.map(Arc::from);
        self
    }

    /// Sets `amr`.
    #[must_use]
    pub fn with_amr<I, S>(mut self, amr: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.amr = amr.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the `claims` request, as checked JSON text.
    #[must_use]
    pub fn with_claims(mut self, claims: Option<&str>) -> Self {
        self.claims = claims.map(Arc::from);
        self
    }

    /// The context without its `nonce`: what the grant's token records keep.
    #[must_use]
    pub fn without_nonce(&self) -> Self {
        Self {
            nonce: None,
            ..self.clone()
        }
    }

    /// The context as one JSON object, for a store that keeps it in one column.
    pub fn to_json(&self) -> String {
        let stored = Stored {
            sub: Cow::Borrowed(&self.subject_identifier),
            nonce: self.nonce.as_deref().map(Cow::Borrowed),
            auth_time: self.auth_time.map(seconds),
            acr: self.acr.as_deref().map(Cow::Borrowed),
            amr: self.amr.iter().map(|m| m.as_str().into()).collect(),
            claims: self.claims.as_deref().map(Into::into),
        };
        // Strings and integers always serialize.
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Reads back what [`to_json`](Self::to_json) wrote.
    ///
    /// # Errors
    /// [`StorageError`] when `json` is not such an object: the stored record is corrupt.
    pub fn from_json(json: &str) -> Result<Self, StorageError> {
        let stored: Stored<'_> = serde_json::from_str(json)
            .map_err(|_| StorageError::new("a stored OpenID context does not parse"))?;
        Ok(Self {
            subject_identifier: Arc::from(&*stored.sub),
            nonce: stored.nonce.map(|n| Arc::from(&*n)),
            auth_time: stored
                .auth_time
                .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s))),
            acr: stored.acr.map(|a| Arc::from(&*a)),
            amr: stored.amr.into_iter().map(|m| m.into_owned()).collect(),
            claims: stored.claims.map(|c| Arc::from(&*c)),
        })
    }
}

/// Seconds since the epoch; 0 before it.
fn seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `at` without its fraction of a second (times before the epoch become the epoch).
fn whole_seconds(at: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let full = OpenIdContext::new("pairwise-\"sub\"")
            .with_nonce(Some("n\u{e9}"))
            .with_auth_time(Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_900)))
            .with_acr(Some("urn:acr:silver"))
            .with_amr(["pwd", "otp"])
            .with_claims(Some(r#"{"id_token":{"email":null}}"#));
        assert_eq!(
            full.auth_time,
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(OpenIdContext::from_json(&full.to_json()).unwrap(), full);
        let bare = OpenIdContext::new("alice");
        assert_eq!(bare.to_json(), r#"{"sub":"alice"}"#);
        assert_eq!(OpenIdContext::from_json(&bare.to_json()).unwrap(), bare);
        for corrupt in ["", "{}", r#"{"sub":1}"#, r#"{"sub":"a","x":1}"#, "[]"] {
            assert!(OpenIdContext::from_json(corrupt).is_err(), "{corrupt}");
        }
    }

    #[test]
    fn debug_does_not_show_the_nonce() {
        let context = OpenIdContext::new("alice").with_nonce(Some("secret-ish-nonce"));
        assert!(!format!("{context:?}").contains("secret-ish-nonce"));
    }
}
