//! A client's OpenID Connect registration
//! ([OpenID Connect Dynamic Client Registration §2](https://openid.net/specs/openid-connect-registration-1_0.html#ClientMetadata)):
//! the algorithms of its ID tokens and UserInfo responses, its subject identifier type,
//! its post-logout redirect URIs and how it gets refresh tokens and claims.

use std::sync::Arc;

use crate::types::client::ClientError;
use crate::types::redirect_uri::{InvalidRedirectUri, RedirectUri};

/// The signature algorithms a client may register for its ID tokens and UserInfo
/// responses: every one the JOSE layer signs with. `none` is not among them: an unsigned ID
/// token is never issued.
pub(crate) const SIGNING_ALGORITHMS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];

/// The algorithm of an ID token when the client registered none
/// ([OpenID Connect Registration §2](https://openid.net/specs/openid-connect-registration-1_0.html#ClientMetadata)
/// `id_token_signed_response_alg`).
pub(crate) const DEFAULT_ID_TOKEN_ALGORITHM: &str = "RS256";

/// How a client sees the identifiers of its users
/// ([OpenID Connect Core §8](https://openid.net/specs/openid-connect-core-1_0.html#SubjectIDTypes)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SubjectType {
    /// The same `sub` for every client: the host's user identifier. The default.
    #[default]
    Public,
    /// A different `sub` for each sector (the host of the client's redirect URIs, or of its
    /// `sector_identifier_uri`), so that clients of different sectors cannot correlate a
    /// user ([Core §8.1](https://openid.net/specs/openid-connect-core-1_0.html#PairwiseAlg)).
    Pairwise,
}

impl SubjectType {
    /// The registered name: `public` or `pairwise`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Pairwise => "pairwise",
        }
    }
}

/// The OpenID registration a [`ClientBuilder`](super::ClientBuilder) collects, unchecked.
#[derive(Debug, Clone, Default)]
pub(crate) struct OpenIdSettings {
    pub(crate) id_token_alg: Option<String>,
    pub(crate) userinfo_alg: Option<String>,
    pub(crate) subject_type: SubjectType,
    /// `sector_identifier_uri` and the document fetched from it.
    pub(crate) sector_identifier: Option<(String, String)>,
    pub(crate) post_logout_redirect_uris: Vec<String>,
    pub(crate) refresh_needs_offline_access: bool,
    pub(crate) scope_claims_in_id_token: bool,
}

/// A client's checked OpenID registration.
#[derive(Debug, Clone, Default)]
pub(crate) struct OpenIdRegistration {
    pub(crate) id_token_alg: Option<&'static str>,
    pub(crate) userinfo_alg: Option<&'static str>,
    pub(crate) subject_type: SubjectType,
    /// The sector of pairwise subject identifiers.
    pub(crate) sector: Option<Arc<str>>,
    pub(crate) sector_identifier: Option<(Arc<str>, Arc<str>)>,
    pub(crate) post_logout_redirect_uris: Vec<RedirectUri>,
    pub(crate) refresh_needs_offline_access: bool,
    pub(crate) scope_claims_in_id_token: bool,
}

impl OpenIdSettings {
    /// Checks the settings against the client's `redirect_uris`.
    pub(crate) fn check(
        self,
        redirect_uris: &[RedirectUri],
    ) -> Result<OpenIdRegistration, ClientError> {
        let algorithm = |name: Option<String>| match name {
            None => Ok(None),
            Some(name) => SIGNING_ALGORITHMS
                .into_iter()
                .find(|alg| *alg == name)
                .map(Some)
                .ok_or(ClientError::SigningAlgorithm),
        };
        let id_token_alg = algorithm(self.id_token_alg)?;
        let userinfo_alg = algorithm(self.userinfo_alg)?;
        let post_logout_redirect_uris = self
            .post_logout_redirect_uris
            .iter()
            .map(|uri| RedirectUri::parse(uri))
            .collect::<Result<Vec<_>, InvalidRedirectUri>>()
            .map_err(ClientError::PostLogoutRedirectUri)?;
        let sector = match (&self.sector_identifier, self.subject_type) {
            (Some(_), SubjectType::Public) => return Err(ClientError::SectorIdentifier),
            (Some((uri, document)), _) => Some(sector_of_uri(uri, document, redirect_uris)?),
            (None, SubjectType::Pairwise) => Some(sector_of_redirect_uris(redirect_uris)?),
            (None, _) => None,
        };
        Ok(OpenIdRegistration {
            id_token_alg,
            userinfo_alg,
            subject_type: self.subject_type,
            sector,
            sector_identifier: self
                .sector_identifier
                .map(|(uri, document)| (Arc::from(uri), Arc::from(document))),
            post_logout_redirect_uris,
            refresh_needs_offline_access: self.refresh_needs_offline_access,
            scope_claims_in_id_token: self.scope_claims_in_id_token,
        })
    }
}

/// The host of a URL, lower-cased, if it is an `http(s)` URL with one.
fn host(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "https" | "http") {
        return None;
    }
    url.host_str().map(str::to_ascii_lowercase)
}

/// The sector of a pairwise client without `sector_identifier_uri`: the one host of its
/// redirect URIs ([Core §8.1](https://openid.net/specs/openid-connect-core-1_0.html#PairwiseAlg)).
/// Several hosts, a redirect URI without one (a private-use scheme), or none at all need a
/// `sector_identifier_uri`.
fn sector_of_redirect_uris(redirect_uris: &[RedirectUri]) -> Result<Arc<str>, ClientError> {
    let mut hosts = redirect_uris.iter().map(|uri| host(uri.as_str()));
    let Some(Some(first)) = hosts.next() else {
        return Err(ClientError::SectorIdentifier);
    };
    if hosts.any(|h| h.as_deref() != Some(first.as_str())) {
        return Err(ClientError::SectorIdentifier);
    }
    Ok(Arc::from(first))
}

/// The sector of a client that registered `sector_identifier_uri`: the URI's host, once
/// the document fetched from it has been checked
/// ([Registration §5](https://openid.net/specs/openid-connect-registration-1_0.html#SectorIdentifierValidation)):
/// an `https` URL, whose document is a JSON array of strings holding every registered
/// redirect URI.
fn sector_of_uri(
    uri: &str,
    document: &str,
    redirect_uris: &[RedirectUri],
) -> Result<Arc<str>, ClientError> {
    let url = url::Url::parse(uri).map_err(|_| ClientError::SectorIdentifier)?;
    if url.scheme() != "https" || uri.contains('#') || !url.username().is_empty() {
        return Err(ClientError::SectorIdentifier);
    }
    let listed: Vec<String> =
        serde_json::from_str(document).map_err(|_| ClientError::SectorIdentifier)?;
    if !redirect_uris
        .iter()
        .all(|registered| listed.iter().any(|l| l == registered.as_str()))
    {
        return Err(ClientError::SectorIdentifier);
    }
    host(uri)
        .map(Arc::from)
        .ok_or(ClientError::SectorIdentifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(list: &[&str]) -> Vec<RedirectUri> {
        list.iter()
            .map(|u| RedirectUri::parse(u).unwrap())
            .collect()
    }

    fn pairwise() -> OpenIdSettings {
        OpenIdSettings {
            subject_type: SubjectType::Pairwise,
            ..OpenIdSettings::default()
        }
    }

    #[test]
    fn oi_19_the_sector_is_the_one_redirect_host() {
        let one = pairwise()
            .check(&uris(&["https://A.example/cb", "https://a.example/other"]))
            .unwrap();
        assert_eq!(one.sector.as_deref(), Some("a.example"));
        for bad in [
            uris(&["https://a.example/cb", "https://b.example/cb"]),
            uris(&["com.example.app:/cb"]),
            uris(&[]),
        ] {
            assert_eq!(
                pairwise().check(&bad).err(),
                Some(ClientError::SectorIdentifier)
            );
        }
    }

    #[test]
    fn oi_19_a_sector_identifier_document_lists_every_redirect_uri() {
        let redirect = uris(&["https://a.example/cb", "https://b.example/cb"]);
        let with = |uri: &str, document: &str| OpenIdSettings {
            sector_identifier: Some((uri.to_owned(), document.to_owned())),
            ..pairwise()
        };
        let listed = r#"["https://a.example/cb","https://b.example/cb","https://c.example/x"]"#;
        let ok = with("https://sector.example/ids.json", listed)
            .check(&redirect)
            .unwrap();
        assert_eq!(ok.sector.as_deref(), Some("sector.example"));
        for (uri, document) in [
            (
                "https://sector.example/ids.json",
                r#"["https://a.example/cb"]"#,
            ),
            ("http://sector.example/ids.json", listed),
            ("https://sector.example/ids.json", r#"{"a":1}"#),
            ("https://sector.example/ids.json#f", listed),
            ("not a url", listed),
        ] {
            assert_eq!(
                with(uri, document).check(&redirect).err(),
                Some(ClientError::SectorIdentifier),
                "{uri} {document}"
            );
        }
        let public = OpenIdSettings {
            sector_identifier: Some(("https://s.example/x".into(), listed.into())),
            ..OpenIdSettings::default()
        };
        assert_eq!(
            public.check(&redirect).err(),
            Some(ClientError::SectorIdentifier)
        );
    }

    #[test]
    fn jw_05_no_unsigned_or_unknown_algorithm_registers() {
        for bad in ["none", "None", "HS256", "rs256", ""] {
            let id_token = OpenIdSettings {
                id_token_alg: Some(bad.into()),
                ..OpenIdSettings::default()
            };
            let userinfo = OpenIdSettings {
                userinfo_alg: Some(bad.into()),
                ..OpenIdSettings::default()
            };
            for settings in [id_token, userinfo] {
                let refused = settings.check(&[]).err();
                assert_eq!(refused, Some(ClientError::SigningAlgorithm), "{bad}");
            }
        }
        let es256 = OpenIdSettings {
            id_token_alg: Some("ES256".into()),
            ..OpenIdSettings::default()
        };
        assert_eq!(es256.check(&[]).unwrap().id_token_alg, Some("ES256"));
    }
}
