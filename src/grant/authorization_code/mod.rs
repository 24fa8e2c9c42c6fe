//! Pure checks of the authorization code grant at the token endpoint
//! ([RFC 6749 §4.1.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3),
//! [RFC 7636 §4.5–4.6](https://www.rfc-editor.org/rfc/rfc7636#section-4.5)).
//!
//! # Which failures burn a code
//!
//! One rule: a token request that reaches the code (well formed, `grant_type` known,
//! client authenticated) consumes it, whatever happens next. Every later failure (another
//! client, an expired code, a redirect URI that does not match, a `code_verifier` that is
//! missing, malformed or wrong) leaves the code used; a request refused before that
//! (malformed, failed client authentication, no `code`) leaves it alone. A code presented
//! with the wrong binding may be an attacker's injection or a stolen code being tried
//! (RFC 9700 §4.5, §4.2.4), so keeping it redeemable for another try is the unsafe side;
//! the honest client that made a mistake starts the flow again, as for any single-use code
//! (RFC 6749 §4.1.2, §10.5). A failed *replay* of a used code still revokes nothing
//! ([OAuth 2.1 §7.5.2]): only a replay that passes every check does.
//!
//! [OAuth 2.1 §7.5.2]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-7.5.2

pub(crate) mod handler;

use std::time::SystemTime;

use crate::error::{ErrorCode, OAuthError};
use crate::pkce::is_unreserved_43_128;
use crate::store::AuthorizationGrant;
use crate::types::{ClientId, RedirectUri};

/// The parts of a token request that a code is checked against.
pub(crate) struct Exchange<'a> {
    /// The authenticated (confidential) or declared (public) client.
    pub(crate) client_id: &'a ClientId,
    /// That client's registered redirect URIs.
    pub(crate) registered_redirect_uris: &'a [RedirectUri],
    /// `redirect_uri` of the token request, if sent.
    pub(crate) redirect_uri: Option<&'a str>,
    /// `code_verifier` of the token request, if sent (syntax already checked).
    pub(crate) code_verifier: Option<&'a str>,
    /// The issuer of the server redeeming the code.
    pub(crate) issuer: &'a str,
    pub(crate) now: SystemTime,
    /// The thumbprint of the token request's verified DPoP key, if any.
    pub(crate) dpop_jkt: Option<&'a str>,
}

fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_GRANT).with_description(description)
}

/// [RFC 7636 §4.1]: a `code_verifier` must be 43 to 128 unreserved characters; anything else is
/// `invalid_request`, without comparing it to anything (the code is still consumed: see
/// the module notes).
///
/// [RFC 7636 §4.1]: https://www.rfc-editor.org/rfc/rfc7636#section-4.1
pub(crate) fn parse_verifier(value: Option<&str>) -> Result<Option<&str>, OAuthError> {
    match value {
        None => Ok(None),
        Some(v) if is_unreserved_43_128(v) => Ok(Some(v)),
        Some(_) => Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
            .with_description("code_verifier must be 43 to 128 unreserved characters")),
    }
}

/// Which redemption of a code a token request is, as the code store answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CodeUse {
    /// The first: the code must not have expired ([RFC 6749 §4.1.2]).
    ///
    /// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
    First,
    /// A replay of a used code: its age does not matter, since a replay that passes every
    /// other check revokes the grant however old the code is ([RFC 6749 §4.1.2], [OAuth 2.1
    /// §7.5.2]).
    ///
    /// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
    /// [OAuth 2.1 §7.5.2]: https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-15#section-7.5.2
    Replay,
}

/// Checks a redeemed code against the token request: issuer ([RFC 9700 §4.4.1]), client ([RFC 6749
/// §3.2.1]),
/// expiry ([RFC 6749 §4.1.2], for the [`CodeUse::First`] redemption only), redirect URI ([RFC 6749
/// §4.1.3]) and
/// PKCE ([RFC 7636 §4.6]..[RFC 9700 §2.1.1]).
///
/// [RFC 9700 §4.4.1]: https://www.rfc-editor.org/rfc/rfc9700#section-4.4.1
/// [RFC 6749 §3.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2.1
/// [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
/// [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
/// [RFC 7636 §4.6]: https://www.rfc-editor.org/rfc/rfc7636#section-4.6
/// [RFC 9700 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1
pub(crate) fn check_exchange(
    grant: &AuthorizationGrant,
    req: &Exchange<'_>,
    code_use: CodeUse,
) -> Result<(), OAuthError> {
    if *grant.issuer != *req.issuer {
        return Err(invalid_grant("code was issued by another issuer"));
    }
    if grant.client_id != *req.client_id {
        return Err(invalid_grant("code was issued to another client"));
    }
    if code_use == CodeUse::First && grant.is_expired(req.now) {
        return Err(invalid_grant("code expired"));
    }
    match (&grant.redirect_uri, req.redirect_uri) {
        // > "redirect_uri": REQUIRED, if the "redirect_uri" parameter was included in the
        // > authorization request [...], and their values MUST be identical.
        (Some(sent), Some(presented)) if **sent != *presented => {
            return Err(invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        // OAuth 2.1 dropped the parameter; accept its absence only for PKCE-bound codes.
        (Some(_), None) if grant.challenge.is_none() => {
            return Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("redirect_uri required"));
        }
        // The authorization request left it out, so the code went to the client's one
        // registered URI: a value sent now must be a registered URI, exactly.
        (None, Some(presented))
            if !req
                .registered_redirect_uris
                .iter()
                .any(|registered| registered.as_str() == presented) =>
        {
            return Err(invalid_grant(
                "redirect_uri is not registered for this client",
            ));
        }
        _ => {}
    }
    // EX-13: a code bound to a DPoP key (`dpop_jkt`) is redeemed only with a proof by
    // that key (RFC 9449 §10).
    if grant
        .dpop_jkt
        .as_deref()
        .is_some_and(|bound| req.dpop_jkt != Some(bound))
    {
        return Err(invalid_grant(
            "the code is bound to a DPoP key the request does not prove",
        ));
    }
    match (&grant.challenge, req.code_verifier) {
        (Some(_), None) => {
            Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("code_verifier required"))
        }
        (Some(challenge), Some(verifier)) => {
            if challenge.verify_str(verifier) {
                Ok(())
            } else {
                Err(invalid_grant(
                    "code_verifier does not match the code challenge",
                ))
            }
        }
        // PK-11: a verifier for a code issued without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(OAuthError::new(ErrorCode::INVALID_REQUEST)
            .with_description("code_verifier sent for a code issued without code_challenge")),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::pkce::{CodeChallenge, PkceMethod};
    use crate::types::{GrantId, Scope, Subject};

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn grant(challenge: bool) -> AuthorizationGrant {
        AuthorizationGrant::new(
            GrantId::generate(),
            ClientId::new("app").unwrap(),
            Subject::new("alice"),
            Scope::empty(),
            "https://as.example.com",
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::from_secs(60),
        )
        .with_redirect_uri(Some("https://app.example/cb"))
        .with_challenge(challenge.then(|| CodeChallenge::new(PkceMethod::S256, CHALLENGE).unwrap()))
    }

    fn code(r: Result<(), OAuthError>) -> &'static str {
        match r {
            Ok(()) => "ok",
            Err(e) if e.code() == &ErrorCode::INVALID_GRANT => "invalid_grant",
            Err(e) if e.code() == &ErrorCode::INVALID_REQUEST => "invalid_request",
            Err(_) => "other",
        }
    }

    fn check(
        g: &AuthorizationGrant,
        client: &str,
        redirect: Option<&str>,
        verifier: Option<&str>,
        secs: u64,
        issuer: &str,
    ) -> &'static str {
        let client = ClientId::new(client).unwrap();
        let registered = [RedirectUri::parse("https://app.example/cb").unwrap()];
        code(check_exchange(
            g,
            &Exchange {
                client_id: &client,
                registered_redirect_uris: &registered,
                redirect_uri: redirect,
                code_verifier: verifier,
                issuer,
                now: UNIX_EPOCH + Duration::from_secs(secs),
                dpop_jkt: None,
            },
            CodeUse::First,
        ))
    }

    const AS: &str = "https://as.example.com";
    const CB: Option<&str> = Some("https://app.example/cb");

    #[test]
    fn binding_checks() {
        let g = grant(true);
        assert_eq!(check(&g, "app", CB, Some(VERIFIER), 1, AS), "ok");
        assert_eq!(check(&g, "app", None, Some(VERIFIER), 1, AS), "ok");
        assert_eq!(
            check(&g, "other", CB, Some(VERIFIER), 1, AS),
            "invalid_grant"
        );
        assert_eq!(
            check(&g, "app", CB, Some(VERIFIER), 60, AS),
            "invalid_grant"
        );
        assert_eq!(
            check(
                &g,
                "app",
                Some("https://app.example/cb2"),
                Some(VERIFIER),
                1,
                AS
            ),
            "invalid_grant"
        );
        assert_eq!(check(&g, "app", CB, None, 1, AS), "invalid_request");
        assert_eq!(
            check(&g, "app", CB, Some(CHALLENGE), 1, AS),
            "invalid_grant"
        );
        assert_eq!(
            check(&g, "app", CB, Some(VERIFIER), 1, "https://t2.example"),
            "invalid_grant"
        );
        let g = grant(false);
        assert_eq!(check(&g, "app", CB, None, 1, AS), "ok");
        assert_eq!(check(&g, "app", None, None, 1, AS), "invalid_request");
        assert_eq!(
            check(&g, "app", CB, Some(VERIFIER), 1, AS),
            "invalid_request"
        );
    }

    #[test]
    fn ac_07_redirect_uri_sent_only_at_the_token_endpoint_must_be_registered() {
        let g = grant(true).with_redirect_uri(None);
        assert_eq!(check(&g, "app", CB, Some(VERIFIER), 1, AS), "ok");
        assert_eq!(check(&g, "app", None, Some(VERIFIER), 1, AS), "ok");
        for other in [
            "https://evil.example/cb",
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "",
        ] {
            assert_eq!(
                check(&g, "app", Some(other), Some(VERIFIER), 1, AS),
                "invalid_grant",
                "{other}"
            );
        }
    }

    #[test]
    fn ac_03_a_replay_is_bound_like_a_first_use_whatever_its_age() {
        let g = grant(true);
        let replay = |client: &str, verifier| {
            let client = ClientId::new(client).unwrap();
            let late = Exchange {
                client_id: &client,
                registered_redirect_uris: &[],
                redirect_uri: CB,
                code_verifier: verifier,
                issuer: AS,
                now: UNIX_EPOCH + Duration::from_secs(3600),
                dpop_jkt: None,
            };
            code(check_exchange(&g, &late, CodeUse::Replay))
        };
        assert_eq!(replay("app", Some(VERIFIER)), "ok");
        assert_eq!(replay("other", Some(VERIFIER)), "invalid_grant");
        assert_eq!(replay("app", Some(CHALLENGE)), "invalid_grant");
        assert_eq!(replay("app", None), "invalid_request");
        // The same code, redeemed for the first time that late, has expired.
        assert_eq!(
            check(&g, "app", CB, Some(VERIFIER), 3600, AS),
            "invalid_grant"
        );
    }

    #[test]
    fn pk_07_verifier_syntax_is_invalid_request() {
        assert!(parse_verifier(Some(&"a".repeat(42))).is_err());
        assert!(parse_verifier(Some(&"a".repeat(129))).is_err());
        assert!(parse_verifier(Some("dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk")).is_err());
        assert!(parse_verifier(Some(VERIFIER)).unwrap().is_some());
        assert!(parse_verifier(None).unwrap().is_none());
    }
}
