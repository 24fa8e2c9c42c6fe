//! The OpenID Provider configuration document
//! ([Discovery §3](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata),
//! [§4](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig)).

use std::sync::Arc;

use crate::config::Config;
use crate::error::ConfigError;
use crate::grant::GrantHandler;
use crate::http::{HttpRequest, HttpResponse};
use crate::metadata::{Metadata, openid_configuration_url, write_members};
use crate::observe::call::{Endpoint, Outcome};
use crate::oidc::claims::SCOPE_CLAIMS;
use crate::render::JsonObject;
use crate::server::Server;

/// The claims the server itself writes into ID tokens.
const ID_TOKEN_CLAIMS: [&str; 10] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "at_hash",
];

/// Renders the discovery document of an OpenID Provider, once, at build: the RFC 8414
/// members (so that the members both documents have are equal) and the OpenID ones,
/// each from the configuration, nothing advertised that is not enabled ([OpenID Connect Discovery
/// 1.0 §3]). `None`
/// when the server is not an OpenID Provider.
///
/// [OpenID Connect Discovery 1.0 §3]: https://openid.net/specs/openid-connect-discovery-1_0.html
pub(crate) fn render(
    config: &Config,
    grant_handlers: &[Arc<dyn GrantHandler>],
) -> Result<Option<Metadata>, ConfigError> {
    let openid = &config.openid;
    if !openid.is_enabled() {
        return Ok(None);
    }
    let mut document = JsonObject::with_capacity(2048);
    write_members(&mut document, config, grant_handlers)?;
    let algorithms: Vec<&str> = openid.signing_algorithms.iter().map(|a| a.name()).collect();
    let subject_types: &[&str] = if openid.pairwise_secret.is_some() {
        &["public", "pairwise"]
    } else {
        &["public"]
    };
    let claims = ID_TOKEN_CLAIMS.into_iter().chain(
        SCOPE_CLAIMS
            .iter()
            .flat_map(|(_, claims)| claims.iter().copied()),
    );
    document
        .string("userinfo_endpoint", &openid.userinfo_endpoint)
        .optional_string(
            "end_session_endpoint",
            openid.end_session_endpoint.as_deref(),
        )
        .string_array("subject_types_supported", subject_types.iter().copied())
        .string_array(
            "id_token_signing_alg_values_supported",
            algorithms.iter().copied(),
        )
        .string_array(
            "userinfo_signing_alg_values_supported",
            algorithms.iter().copied(),
        )
        .string_array("claims_supported", claims)
        .boolean("claims_parameter_supported", true)
        .string_array(
            "prompt_values_supported",
            ["none", "login", "consent", "select_account"],
        );
    if let Some(values) = &openid.acr_values_supported {
        document.string_array("acr_values_supported", values.split(' '));
    }
    let url = openid_configuration_url(&config.issuer)?;
    Metadata::from_parts(document.finish(), url).map(Some)
}

impl Server {
    /// The OpenID Provider configuration document
    /// ([Discovery §4.2](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfigurationResponse)):
    /// 200 `application/json`, or `None` when the server is not an OpenID Provider. It
    /// holds every member of the RFC 8414 document ([`metadata`](Self::metadata)), with
    /// equal values, and the OpenID ones: `userinfo_endpoint`, `subject_types_supported`,
    /// `id_token_signing_alg_values_supported`, `claims_supported`,
    /// `claims_parameter_supported` and the others this configuration enables.
    pub fn openid_configuration(&self) -> Option<HttpResponse> {
        let document = self.state().openid_configuration.as_ref()?;
        let call = self.call(Endpoint::OpenidConfiguration);
        let response = document.to_response();
        call.finish(Outcome::Success);
        Some(response)
    }

    /// The path of the discovery document: the issuer's path followed by
    /// `/.well-known/openid-configuration`
    /// ([Discovery §4](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig)),
    /// or `None` when the server is not an OpenID Provider.
    pub fn openid_configuration_path(&self) -> Option<&str> {
        self.state()
            .openid_configuration
            .as_ref()
            .map(Metadata::path)
    }

    /// Routes a request for the discovery document as
    /// [`serve_metadata`](Self::serve_metadata) does the RFC 8414 one: `GET` of exactly
    /// its path gets it, `HEAD` its headers, another path 404, another method 405, and with
    /// [`ServerBuilder::cors`](crate::ServerBuilder::cors) any origin may read it. `None`
    /// when the server is not an OpenID Provider.
    pub fn serve_openid_configuration(
        &self,
        request: &HttpRequest,
        path: &str,
    ) -> Option<HttpResponse> {
        let document = self.state().openid_configuration.as_ref()?;
        Some(self.serve_document(Endpoint::OpenidConfiguration, request, path, document))
    }
}
