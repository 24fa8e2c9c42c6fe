//! The demo's user directory: one user, `alice` with password `alice-password`, and her
//! OpenID Connect claims (name and e-mail address).
//!
//! A real host checks passwords against a slow, salted hash (Argon2, scrypt) in its user
//! database; the demo keeps a SHA-256 digest to stay within the crate's dependencies and
//! compares it in constant time.

use async_trait::async_trait;
use grantflow::grant::ResourceOwnerVerifier;
use grantflow::oidc::{ClaimsQuery, ClaimsSource};
use grantflow::secret::ResourceOwnerPassword;
use grantflow::{Client, StorageError, Subject};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

struct User {
    name: &'static str,
    subject: Subject,
    password_digest: [u8; 32],
}

/// The users who can sign in.
pub(super) struct Users {
    users: Vec<User>,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users")
            .field("count", &self.users.len())
            .finish_non_exhaustive()
    }
}

impl Users {
    pub(super) fn demo() -> Self {
        Self {
            users: vec![User {
                name: "alice",
                subject: Subject::new("alice"),
                password_digest: Sha256::digest(b"alice-password").into(),
            }],
        }
    }

    /// The subject whose user name and password these are. Every call does the same work,
    /// whether the user exists or not.
    pub(super) fn verify(&self, name: &str, password: &str) -> Option<Subject> {
        let presented: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        self.users
            .iter()
            .find(|u| u.name == name)
            .filter(|u| bool::from(u.password_digest.ct_eq(&presented)))
            .map(|u| u.subject.clone())
    }
}

/// The password grant's check, for `demo-legacy` (grantflow throttles it per user name).
#[async_trait]
impl ResourceOwnerVerifier for Users {
    async fn verify(
        &self,
        _client: &Client,
        username: &str,
        password: &ResourceOwnerPassword,
    ) -> Result<Option<Subject>, StorageError> {
        Ok(Users::verify(self, username, password.expose_secret()))
    }
}

/// The OpenID Provider's claims source: alice's profile and e-mail claims. grantflow
/// releases only those the granted scope and the request's `claims` parameter ask for.
#[async_trait]
impl ClaimsSource for Users {
    async fn claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, StorageError> {
        let mut claims = Map::new();
        if query.subject.as_str() == "alice" {
            claims.insert("name".into(), Value::from("Alice Liddell"));
            claims.insert("given_name".into(), Value::from("Alice"));
            claims.insert("family_name".into(), Value::from("Liddell"));
            claims.insert("preferred_username".into(), Value::from("alice"));
            claims.insert("email".into(), Value::from("alice@example.com"));
            claims.insert("email_verified".into(), Value::from(true));
        }
        Ok(claims)
    }
}
