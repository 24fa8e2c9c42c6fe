//! The parameters of an OpenID Connect authentication request
//! ([Core §3.1.2.1](https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest)), as
//! data the host acts on, and the checks of the ones the server owns.

use std::time::{Duration, SystemTime};

use crate::error::{ErrorCode, OAuthError};
use crate::jose::{JwkSet, Validation};
use crate::oidc::claims::{ClaimsRequest, Target};
use crate::types::ClientId;

/// The longest `nonce` accepted ([OpenID Connect Core 1.0 §2]): longer values are refused rather
/// than cut.
///
/// [OpenID Connect Core 1.0 §2]: https://openid.net/specs/openid-connect-core-1_0.html
const MAX_NONCE_LEN: usize = 512;

/// The `prompt` values of a request
/// ([Core §3.1.2.1](https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest)).
/// Unknown values are ignored; `none` never comes with another value (the request is
/// refused then).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    none: bool,
    login: bool,
    consent: bool,
    select_account: bool,
}

impl Prompt {
    /// `none`: show the user no page at all. If the request cannot be answered without
    /// one, refuse it with [`PendingAuthorization::refuse`](crate::authorize::PendingAuthorization::refuse).
    pub fn is_none(self) -> bool {
        self.none
    }

    /// `login`: authenticate the user again, even with a live session.
    pub fn has_login(self) -> bool {
        self.login
    }

    /// `consent`: ask for consent again, even if it was given before.
    pub fn has_consent(self) -> bool {
        self.consent
    }

    /// `select_account`: let the user choose among their accounts.
    pub fn has_select_account(self) -> bool {
        self.select_account
    }

    fn parse(text: &str) -> Result<Self, OAuthError> {
        let mut prompt = Self::default();
        let mut values = 0;
        for value in text.split(' ').filter(|v| !v.is_empty()) {
            values += 1;
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => prompt.select_account = true,
                _ => {}
            }
        }
        if prompt.none && values > 1 {
            return Err(invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        Ok(prompt)
    }
}

/// The `display` value of a request: how the host should lay out its pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Display {
    /// A full user-agent page (the default when absent).
    Page,
    /// A popup window.
    Popup,
    /// A touch device.
    Touch,
    /// A feature phone.
    Wap,
}

impl Display {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "page" => Self::Page,
            "popup" => Self::Popup,
            "touch" => Self::Touch,
            "wap" => Self::Wap,
            _ => return None,
        })
    }
}

/// A verified `id_token_hint`: an ID token this server issued to the requesting client,
/// perhaps expired ([Core §3.1.2.1](https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdTokenHint {
    subject_identifier: String,
    auth_time: Option<SystemTime>,
}

impl IdTokenHint {
    /// The `sub` of the hint: the user as this client sees them (pairwise for a pairwise
    /// client). Compare users with
    /// [`PendingAuthorization::is_for`](crate::authorize::PendingAuthorization::is_for).
    pub fn subject_identifier(&self) -> &str {
        &self.subject_identifier
    }

    /// When the user authenticated for that ID token, if it said.
    pub fn auth_time(&self) -> Option<SystemTime> {
        self.auth_time
    }
}

/// The OpenID Connect parameters of an authorization request whose scope holds `openid`,
/// checked, for the host to act on before it approves
/// ([`PendingAuthorization::openid`](crate::authorize::PendingAuthorization::openid)).
///
/// The server checked what it owns: `prompt` (no `none` with another value), `max_age`
/// (an integer), `nonce` (at most 512 printable ASCII characters), `id_token_hint` (signed
/// by this server's keys, issued by it, to this client; expired is fine), and `claims`
/// (well-formed). The rest is the host's to honour: sign the user in again when
/// [`requires_login`](Self::requires_login) says so, ask for consent again for
/// `prompt=consent`, offer an account choice for `select_account`, show no page at all for
/// `prompt=none`, prefill the user name from `login_hint`, and lay pages out per `display`
/// and `ui_locales`.
///
/// # Security
/// `login_hint`, `acr_values`, `ui_locales`, `claims_locales` and the names of requested
/// claims are the client's text: escape them when rendering.
#[derive(Clone, Debug)]
pub struct OpenIdRequest {
    prompt: Prompt,
    max_age: Option<Duration>,
    nonce: Option<String>,
    login_hint: Option<String>,
    id_token_hint: Option<IdTokenHint>,
    acr_values: Option<String>,
    ui_locales: Option<String>,
    claims_locales: Option<String>,
    display: Option<Display>,
    pub(crate) claims: Option<ClaimsRequest>,
}

impl OpenIdRequest {
    /// The `prompt` values.
    pub fn prompt(&self) -> Prompt {
        self.prompt
    }

    /// `max_age`: the longest time since the user's last authentication this request
    /// accepts.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// The `nonce`, echoed in the ID token.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// `login_hint`: who the client thinks the user is (an e-mail address, a phone
    /// number, ...), to prefill the sign-in page with.
    pub fn login_hint(&self) -> Option<&str> {
        self.login_hint.as_deref()
    }

    /// The verified `id_token_hint`, if one was sent.
    pub fn id_token_hint(&self) -> Option<&IdTokenHint> {
        self.id_token_hint.as_ref()
    }

    /// The requested authentication context classes (`acr_values`), in order of
    /// preference. They are voluntary: the ID token's `acr` reports what the
    /// authentication achieved ([`Authentication::with_acr`](crate::authorize::Authentication::with_acr)).
    pub fn acr_values(&self) -> impl Iterator<Item = &str> + '_ {
        self.acr_values
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|v| !v.is_empty())
    }

    /// The `acr` values the request makes essential through its `claims` parameter, if
    /// any: then the authentication must achieve one of them, or the request fails with
    /// `unmet_authentication_requirements`
    /// ([Core §5.5.1.1](https://openid.net/specs/openid-connect-core-1_0.html#acrSemantics)).
    pub fn essential_acr(&self) -> Option<Vec<&str>> {
        let request = self.claims.as_ref()?.get(Target::IdToken, "acr")?;
        if !request.essential {
            return None;
        }
        let wanted = request.wanted()?;
        Some(wanted.into_iter().filter_map(|v| v.as_str()).collect())
    }

    /// `ui_locales`: the user's preferred languages for the pages, as sent.
    pub fn ui_locales(&self) -> Option<&str> {
        self.ui_locales.as_deref()
    }

    /// `claims_locales`: the user's preferred languages for claim values, as sent.
    pub fn claims_locales(&self) -> Option<&str> {
        self.claims_locales.as_deref()
    }

    /// `display`, when it is one of the four defined values (others are ignored).
    pub fn display(&self) -> Option<Display> {
        self.display
    }

    /// The claims the `claims` parameter asks for by name, for the consent page: each
    /// with whether it is essential, ID token requests first. Scope claims are not listed.
    pub fn requested_claims(&self) -> impl Iterator<Item = (&str, bool)> + '_ {
        self.claims
            .iter()
            .flat_map(|c| c.id_token.iter().chain(c.userinfo.iter()))
            .map(|r| (r.name.as_str(), r.essential))
    }

    /// Whether the user must sign in (again) before the request can be approved, given
    /// when they last authenticated (`None`: not signed in): with `prompt=login`, or when
    /// that authentication is older than `max_age` (`max_age=0` always asks,
    /// [Core §3.1.2.1](https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest)).
    ///
    /// A host that has just signed the user in for this very request (the request came
    /// back from its sign-in page) has satisfied both, whatever this says about the
    /// re-validated request: remember that with the request, or the user loops.
    pub fn requires_login(&self, auth_time: Option<SystemTime>, now: SystemTime) -> bool {
        let Some(auth_time) = auth_time else {
            return true;
        };
        if self.prompt.login {
            return true;
        }
        match self.max_age {
            None => false,
            Some(max_age) => {
                max_age.is_zero() || now.duration_since(auth_time).is_ok_and(|age| age > max_age)
            }
        }
    }

    /// The `sub` the request pins the user to ([OpenID Connect Core 1.0 §3.1.2.2]): the hint's, or
    /// a `sub` `value` of
    /// the `claims` request. Both, when they differ, pin no user at all: such a request can
    /// never be approved.
    ///
    /// [OpenID Connect Core 1.0 §3.1.2.2]: https://openid.net/specs/openid-connect-core-1_0.html
    pub(crate) fn pinned_subjects(&self) -> impl Iterator<Item = &str> + '_ {
        let from_claims = self.claims.iter().flat_map(|c| {
            [Target::IdToken, Target::UserInfo]
                .into_iter()
                .filter_map(|target| c.get(target, "sub")?.value.as_ref()?.as_str())
        });
        self.id_token_hint
            .iter()
            .map(|h| h.subject_identifier.as_str())
            .chain(from_claims)
    }
}

/// `invalid_request` with `description`.
fn invalid_request(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(description)
}

/// What parsing an OpenID request needs from the server.
pub(crate) struct RequestContext<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a ClientId,
    /// The server's published keys, to verify an `id_token_hint` with.
    pub(crate) keys: Option<&'a JwkSet>,
    pub(crate) now: SystemTime,
}

/// Reads and checks the OpenID parameters of a request (`param` gives a parameter's
/// non-empty value), in the order of Core §3.1.2.2.
///
/// # Errors
/// The error to redirect: `request_not_supported`, `request_uri_not_supported` and
/// `registration_not_supported` for parameters this server does not support (Core
/// §3.1.2.6), `invalid_request` for a malformed `prompt`, `max_age`, `nonce`, `claims` or
/// `id_token_hint`.
pub(crate) fn parse<'p>(
    param: impl Fn(&str) -> Option<&'p str>,
    context: &RequestContext<'_>,
) -> Result<OpenIdRequest, OAuthError> {
    for (name, code) in [
        ("request", ErrorCode::REQUEST_NOT_SUPPORTED),
        ("request_uri", ErrorCode::REQUEST_URI_NOT_SUPPORTED),
        ("registration", ErrorCode::REGISTRATION_NOT_SUPPORTED),
    ] {
        if param(name).is_some() {
            return Err(OAuthError::new(code));
        }
    }
    let prompt = param("prompt")
        .map(Prompt::parse)
        .transpose()?
        .unwrap_or_default();
    let max_age = param("max_age")
        .map(|text| {
            // Digits only: no sign, no space, no fraction; at most 10 digits (317 years).
            (text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse().ok())
                .flatten()
                .map(Duration::from_secs)
                .ok_or_else(|| invalid_request("max_age must be a non-negative integer"))
        })
        .transpose()?;
    let nonce = param("nonce")
        .map(|nonce| {
            let ok =
                nonce.len() <= MAX_NONCE_LEN && nonce.bytes().all(|b| (0x20..=0x7e).contains(&b));
            ok.then(|| nonce.to_owned()).ok_or_else(|| {
                invalid_request("nonce must be at most 512 printable ASCII characters")
            })
        })
        .transpose()?;
    let claims = param("claims").map(ClaimsRequest::parse).transpose()?;
    let id_token_hint = param("id_token_hint")
        .map(|hint| verify_hint(hint, context))
        .transpose()?;
    Ok(OpenIdRequest {
        prompt,
        max_age,
        nonce,
        login_hint: param("login_hint").map(str::to_owned),
        id_token_hint,
        acr_values: param("acr_values").map(str::to_owned),
        ui_locales: param("ui_locales").map(str::to_owned),
        claims_locales: param("claims_locales").map(str::to_owned),
        display: param("display").and_then(Display::parse),
        claims,
    })
}

/// An `id_token_hint` ([OpenID Connect Core 1.0 §3.1.2.1]): an ID token signed by one of this
/// server's published keys,
/// issued by it (`iss`), not of another JWT kind (`typ`), to the requesting client (`aud`:
/// the hint stands for the user's session with this client), expired or not.
///
/// [OpenID Connect Core 1.0 §3.1.2.1]: https://openid.net/specs/openid-connect-core-1_0.html
fn verify_hint(hint: &str, context: &RequestContext<'_>) -> Result<IdTokenHint, OAuthError> {
    let refused =
        || invalid_request("id_token_hint is not an ID token this server issued to the client");
    let keys = context.keys.ok_or_else(refused)?;
    let verified = Validation::id_token_hint(context.issuer)
        .verify(hint, keys, context.now)
        .map_err(|_| refused())?;
    let claims = verified.claims();
    if !claims
        .audience()
        .iter()
        .any(|aud| aud == context.client_id.as_str())
    {
        return Err(refused());
    }
    Ok(IdTokenHint {
        subject_identifier: claims.subject().unwrap_or_default().to_owned(),
        auth_time: claims.date("auth_time").ok().flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::UNIX_EPOCH;

    fn parsed(query: &[(&str, &str)]) -> Result<OpenIdRequest, OAuthError> {
        let params: HashMap<&str, &str> = query.iter().copied().collect();
        let client = ClientId::new("c").unwrap();
        let context = RequestContext {
            issuer: "https://as.example.com",
            client_id: &client,
            keys: None,
            now: UNIX_EPOCH,
        };
        parse(|name| params.get(name).copied(), &context)
    }

    fn code(result: Result<OpenIdRequest, OAuthError>) -> String {
        result
            .err()
            .map(|e| e.code().as_str().to_owned())
            .unwrap_or_default()
    }

    /// The error code of a request with the one parameter `name=value`.
    fn refused(name: &str, value: &str) -> String {
        code(parsed(&[(name, value)]))
    }

    #[test]
    fn oi_02_prompt_none_stands_alone_and_unknown_values_are_ignored() {
        assert!(parsed(&[("prompt", "none")]).unwrap().prompt().is_none());
        assert_eq!(refused("prompt", "none login"), "invalid_request");
        assert_eq!(refused("prompt", "none unknown"), "invalid_request");
        let prompt = parsed(&[("prompt", "login consent whatever")])
            .unwrap()
            .prompt();
        assert!(prompt.has_login() && prompt.has_consent() && !prompt.has_select_account());
    }

    #[test]
    fn oi_03_max_age_is_a_non_negative_integer() {
        assert_eq!(
            parsed(&[("max_age", "600")]).unwrap().max_age(),
            Some(Duration::from_secs(600))
        );
        for bad in ["abc", "-1", "+5", "1.5", " 5", "99999999999"] {
            assert_eq!(refused("max_age", bad), "invalid_request", "{bad}");
        }
    }

    #[test]
    fn oi_03_requires_login_follows_prompt_and_max_age() {
        let now = UNIX_EPOCH + Duration::from_secs(10_000);
        let hour_ago = Some(now - Duration::from_secs(3600));
        let request = |query: &[(&str, &str)]| parsed(query).unwrap();
        assert!(!request(&[]).requires_login(hour_ago, now));
        assert!(request(&[]).requires_login(None, now));
        assert!(request(&[("prompt", "login")]).requires_login(hour_ago, now));
        assert!(request(&[("max_age", "600")]).requires_login(hour_ago, now));
        assert!(!request(&[("max_age", "7200")]).requires_login(hour_ago, now));
        assert!(request(&[("max_age", "0")]).requires_login(Some(now), now));
    }

    #[test]
    fn oi_04_nonce_limits() {
        let n64 = "n".repeat(64);
        assert_eq!(
            parsed(&[("nonce", &n64)]).unwrap().nonce(),
            Some(n64.as_str())
        );
        assert_eq!(refused("nonce", &"n".repeat(513)), "invalid_request");
        assert_eq!(refused("nonce", "caf\u{e9}"), "invalid_request");
        assert_eq!(refused("nonce", "a\tb"), "invalid_request");
    }

    #[test]
    fn oi_05_display_and_hints_are_data() {
        let request = parsed(&[
            ("display", "unknown"),
            ("ui_locales", "fr-CA fr"),
            ("login_hint", "alice@example.com"),
            ("acr_values", "urn:a  urn:b"),
        ])
        .unwrap();
        assert_eq!(request.display(), None);
        assert_eq!(request.ui_locales(), Some("fr-CA fr"));
        assert_eq!(request.acr_values().collect::<Vec<_>>(), ["urn:a", "urn:b"]);
        assert_eq!(
            parsed(&[("display", "popup")]).unwrap().display(),
            Some(Display::Popup)
        );
        assert_eq!(refused("request", "eyJ..."), "request_not_supported");
        assert_eq!(
            refused("request_uri", "https://x"),
            "request_uri_not_supported"
        );
        assert_eq!(refused("registration", "{}"), "registration_not_supported");
    }

    #[test]
    fn oi_06_a_hint_without_keys_to_check_it_is_refused() {
        assert_eq!(refused("id_token_hint", "a.b.c"), "invalid_request");
    }

    #[test]
    fn oi_07_oi_08_pinned_subjects_and_essential_acr() {
        let request = parsed(&[(
            "claims",
            r#"{"id_token":{"sub":{"value":"248289761001"},"acr":{"essential":true,"values":["silver","gold"]}}}"#,
        )])
        .unwrap();
        assert_eq!(
            request.pinned_subjects().collect::<Vec<_>>(),
            ["248289761001"]
        );
        assert_eq!(request.essential_acr(), Some(vec!["silver", "gold"]));
        let voluntary =
            parsed(&[("claims", r#"{"id_token":{"acr":{"values":["silver"]}}}"#)]).unwrap();
        assert_eq!(voluntary.essential_acr(), None);
    }
}
