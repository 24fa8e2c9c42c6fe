//! The OpenID Connect side of the authorization endpoint: an authentication request's
//! parameters checked ([Core §3.1.2.2](https://openid.net/specs/openid-connect-core-1_0.html#AuthRequestValidation)),
//! and the host's answer: an [`Authentication`] to approve with, or an
//! [`InteractionNeeded`] refusal.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::endpoint::authorize::{
    ApproveError, AuthorizeError, PendingAuthorization, finish_decision,
};
use crate::error::{ErrorCode, OAuthError, StorageError};
use crate::http::HttpResponse;
use crate::jose::{Algorithm, KeySetError};
use crate::observe::call::{Call, Outcome};
use crate::oidc::{InteractionNeeded, OpenIdRequest, RequestContext, subject_identifier};
use crate::server::Server;
use crate::store::OpenIdContext;
use crate::types::{Client, Scope, Subject, SubjectType};

/// The `offline_access` scope value
/// ([Core §11](https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess)).
pub(crate) const OFFLINE_ACCESS: &str = "offline_access";

/// How the user signed in, as the host tells it when it approves an OpenID Connect
/// request ([`PendingAuthorization::approve_authentication`]): who, when, and how. The ID
/// tokens of the grant report it (`sub`, `auth_time`, `acr`, `amr`,
/// [Core §2](https://openid.net/specs/openid-connect-core-1_0.html#IDToken)); nothing of
/// it comes from the request.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use grantflow::Subject;
/// use grantflow::authorize::Authentication;
///
/// let signed_in = Authentication::new(Subject::new("alice"))
///     .with_auth_time(SystemTime::now())
///     .with_acr("urn:mace:incommon:iap:silver")
///     .with_amr(["pwd", "otp"]);
/// assert_eq!(signed_in.subject().as_str(), "alice");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Authentication {
    subject: Subject,
    auth_time: Option<SystemTime>,
    acr: Option<String>,
    amr: Vec<String>,
    offline_access_consented: bool,
}

impl Authentication {
    /// The user `subject`, with nothing known about how they signed in.
    pub fn new(subject: Subject) -> Self {
        Self {
            subject,
            auth_time: None,
            acr: None,
            amr: Vec::new(),
            offline_access_consented: false,
        }
    }

    /// When the user actually authenticated (not when the session was last used):
    /// the ID token's `auth_time`. Needed when the request sent `max_age`.
    #[must_use]
    pub fn with_auth_time(mut self, at: SystemTime) -> Self {
        self.auth_time = Some(at);
        self
    }

    /// The authentication context class the sign-in achieved (`acr`).
    #[must_use]
    pub fn with_acr(mut self, acr: &str) -> Self {
        self.acr = Some(acr.to_owned());
        self
    }

    /// The authentication methods used (`amr`), preferably values of the
    /// [RFC 8176](https://www.rfc-editor.org/rfc/rfc8176#section-2) registry.
    #[must_use]
    pub fn with_amr<I, S>(mut self, amr: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.amr = amr.into_iter().map(Into::into).collect();
        self
    }

    /// The user explicitly consented to offline access on this very request, although it
    /// did not carry `prompt=consent`. Without it (or `prompt=consent`), `offline_access`
    /// is dropped from the granted scope
    /// ([Core §11](https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess)).
    #[must_use]
    pub fn with_offline_access_consented(mut self) -> Self {
        self.offline_access_consented = true;
        self
    }

    /// The user.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }
}

impl PendingAuthorization {
    /// The OpenID Connect parameters, when the request is an OpenID Connect authentication
    /// request (its scope holds `openid`, and the server is an OpenID Provider). The host
    /// must act on them before it approves: see [`OpenIdRequest`].
    pub fn openid(&self) -> Option<&OpenIdRequest> {
        self.openid.as_ref()
    }

    /// Whether the request may be approved for `subject`: always, unless the request
    /// names its user (through `id_token_hint`, or a `sub` value in its `claims`
    /// parameter) and `subject` is someone else
    /// ([Core §3.1.2.2](https://openid.net/specs/openid-connect-core-1_0.html#AuthRequestValidation)).
    /// When it says `false`, have the right user sign in, or refuse with
    /// [`InteractionNeeded::Login`] under `prompt=none`.
    pub fn is_for(&self, subject: &Subject) -> bool {
        let Some(openid) = &self.openid else {
            return true;
        };
        let mut pinned = openid.pinned_subjects().peekable();
        if pinned.peek().is_none() {
            return true;
        }
        let secret = self.server.config().openid.pairwise_secret.as_ref();
        match subject_identifier(&self.client, subject, secret) {
            Ok(sub) => pinned.all(|p| p == sub),
            Err(_) => false,
        }
    }

    /// Refuses the request without a page: the redirect with `login_required`,
    /// `consent_required`, `interaction_required`, `account_selection_required` or
    /// `unmet_authentication_requirements`, `state` and `iss`
    /// ([Core §3.1.2.6](https://openid.net/specs/openid-connect-core-1_0.html#AuthError)).
    /// Send it once the user can no longer be asked (`prompt=none`), or when the
    /// authentication cannot meet the request.
    pub fn refuse(self, why: InteractionNeeded) -> HttpResponse {
        let server = self.server.clone();
        let call = server.decision_call(&self);
        let response = call.run_now(|| self.refuse_in(why.error_code(), &call));
        call.finish(Outcome::Success);
        response
    }

    /// The user signed in as `authentication` says and consented to `granted`: issues
    /// the code of an OpenID Connect request, which remembers what its ID tokens will say
    /// ([Core §3.1.2.5](https://openid.net/specs/openid-connect-core-1_0.html#AuthResponse)).
    /// For a request that is not an OpenID one, it is [`approve`](Self::approve).
    ///
    /// The server enforces what it can check, with a redirect rather than a code: a user
    /// other than the one the request names gets `login_required`
    /// ([`is_for`](Self::is_for)); an `acr` outside the values the request made essential
    /// gets `unmet_authentication_requirements`; an `auth_time` older than `max_age`
    /// allows, or in the future, gets `login_required`. `offline_access` is kept in the
    /// granted scope only with `prompt=consent` or
    /// [`with_offline_access_consented`](Authentication::with_offline_access_consented)
    /// ([Core §11](https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess)).
    ///
    /// # Errors
    /// As [`approve`](Self::approve); also when the request sent `max_age` and
    /// `authentication` has no `auth_time`, or when the user has no subject identifier
    /// this client may see (a public `sub` of more than 255 ASCII characters, or a
    /// pairwise client on a server without a pairwise secret).
    pub async fn approve_authentication(
        self,
        authentication: Authentication,
        granted: Scope,
    ) -> Result<HttpResponse, ApproveError> {
        let server = self.server.clone();
        let call = server.decision_call(&self);
        let decided = call
            .run(self.authenticated(authentication, granted, &call))
            .await;
        finish_decision(call, &decided);
        decided
    }

    /// The work of [`approve_authentication`](Self::approve_authentication), inside the
    /// decision's span.
    async fn authenticated(
        self,
        authentication: Authentication,
        granted: Scope,
        call: &Call<'_>,
    ) -> Result<HttpResponse, ApproveError> {
        let Some(openid) = &self.openid else {
            return self
                .issue_code(authentication.subject, granted, None, call)
                .await;
        };
        let now = self.server.now();
        if !self.is_for(&authentication.subject) {
            return Ok(self.refuse_in(InteractionNeeded::Login.error_code(), call));
        }
        if let Some(essential) = openid.essential_acr() {
            if !authentication
                .acr
                .as_deref()
                .is_some_and(|acr| essential.contains(&acr))
            {
                return Ok(self.refuse_in(
                    InteractionNeeded::UnmetAuthenticationRequirements.error_code(),
                    call,
                ));
            }
        }
        if let Some(max_age) = openid.max_age() {
            let Some(auth_time) = authentication.auth_time else {
                return Err(ApproveError::authentication(
                    &self,
                    "the request sent max_age: approve with the time of the authentication",
                ));
            };
            // The host signed the user in again for a request that asked (max_age=0 or an
            // old session): that sign-in is at most a few minutes old. One that is older
            // than max_age allows, with that margin, was not repeated.
            const SIGN_IN_MARGIN: u64 = 600;
            let too_old = now
                .duration_since(auth_time)
                .is_ok_and(|age| age.as_secs() > max_age.as_secs().max(SIGN_IN_MARGIN));
            if too_old {
                return Ok(self.refuse_in(InteractionNeeded::Login.error_code(), call));
            }
        }
        // A sign-in in the future (beyond a minute of clock skew) is not one.
        let latest = now.checked_add(Duration::from_secs(60)).unwrap_or(now);
        if authentication.auth_time.is_some_and(|at| at > latest) {
            return Ok(self.refuse_in(InteractionNeeded::Login.error_code(), call));
        }
        let secret = self.server.config().openid.pairwise_secret.as_ref();
        let Ok(sub) = subject_identifier(&self.client, &authentication.subject, secret) else {
            return Err(ApproveError::authentication(
                &self,
                "the user has no subject identifier this client may see",
            ));
        };
        let offline = openid.prompt().has_consent() || authentication.offline_access_consented;
        let granted = if granted.contains(OFFLINE_ACCESS) && !offline {
            without(&granted, OFFLINE_ACCESS)
        } else {
            granted
        };
        let context = OpenIdContext::new(&sub)
            .with_nonce(openid.nonce())
            .with_auth_time(authentication.auth_time)
            .with_acr(authentication.acr.as_deref())
            .with_amr(authentication.amr)
            .with_claims(openid.claims.as_ref().map(|c| c.to_json()).as_deref());
        self.issue_code(
            authentication.subject,
            granted,
            Some(Arc::new(context)),
            call,
        )
        .await
    }
}

/// `scope` without `token`.
fn without(scope: &Scope, token: &str) -> Scope {
    let rest: Vec<&str> = scope.iter().filter(|t| *t != token).collect();
    Scope::parse(&rest.join(" ")).unwrap_or_else(|_| Scope::empty())
}

/// `invalid_request` with `description`.
fn invalid_request(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(description)
}

/// A key-set failure, as the storage error the authorization endpoint reports.
pub(crate) fn key_set_fault(error: KeySetError) -> StorageError {
    match error {
        KeySetError::Storage(error) => error,
        _ => StorageError::new("the signing key set failed"),
    }
}

impl Server {
    /// The OpenID Connect part of stage B ([OpenID Connect Core 1.0 §3.1.2.1]..[OpenID Connect
    /// Core 1.0 §3.1.2.2]): `None` for a request that is not an OpenID one. A refusal is
    /// made into its redirect by `redirect`; a storage fault stays a fault.
    ///
    /// [OpenID Connect Core 1.0 §3.1.2.1]: https://openid.net/specs/openid-connect-core-1_0.html
    /// [OpenID Connect Core 1.0 §3.1.2.2]: https://openid.net/specs/openid-connect-core-1_0.html
    pub(crate) async fn openid_request<'p>(
        &self,
        param: impl Fn(&str) -> Option<&'p str>,
        client: &Client,
        redirect_uri_sent: bool,
        without_pkce: bool,
        scope: &Scope,
        redirect: impl Fn(OAuthError) -> AuthorizeError,
    ) -> Result<Option<OpenIdRequest>, AuthorizeError> {
        let config = self.config();
        if !config.openid.is_enabled() || !scope.contains("openid") {
            return Ok(None);
        }
        // OI-01: an OpenID request names its redirect URI, even with one registered.
        if !redirect_uri_sent {
            return Err(redirect(invalid_request(
                "redirect_uri required in an OpenID Connect request",
            )));
        }
        self.check_openid_client(client).map_err(&redirect)?;
        let now = self.now();
        let keys = match (param("id_token_hint"), &config.jwt.keys) {
            (Some(_), Some(keys)) => Some(keys.public_keys(now).await.map_err(key_set_fault)?),
            _ => None,
        };
        let context = RequestContext {
            issuer: &config.issuer,
            client_id: client.id(),
            keys: keys.as_ref(),
            now,
        };
        let request = crate::oidc::parse_request(param, &context).map_err(&redirect)?;
        // OI-04: a client exempt from PKCE binds its code with the nonce instead
        // (RFC 9700 §2.1.1).
        if without_pkce && request.nonce().is_none() {
            return Err(redirect(invalid_request(
                "nonce required for a client that sends no code_challenge",
            )));
        }
        Ok(Some(request))
    }

    /// The client's OpenID registration fits this server: its ID token algorithm is
    /// enabled, and a pairwise client has a secret to compute its subjects with.
    fn check_openid_client(&self, client: &Client) -> Result<(), OAuthError> {
        let openid = &self.config().openid;
        let enabled = |name: &str| {
            Algorithm::from_name(name).is_some_and(|alg| openid.signing_algorithms.contains(alg))
        };
        let algorithms_ok = enabled(client.id_token_signing_alg())
            && client.userinfo_signing_alg().is_none_or(enabled);
        let subjects_ok =
            client.subject_type() != SubjectType::Pairwise || openid.pairwise_secret.is_some();
        if algorithms_ok && subjects_ok {
            Ok(())
        } else {
            Err(
                OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT).with_description(
                    "the client's OpenID Connect registration is not supported by this server",
                ),
            )
        }
    }
}
