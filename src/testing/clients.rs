//! Checks of the [`ClientRegistry`](crate::ClientRegistry) contract.

use super::{Ctx, Outcome, call, ensure, fresh_client, storage};
use crate::token_issuer::AccessTokenFormat;
use crate::types::ClientSecret;
use crate::types::{AuthMethod, Client, ClientType, GrantType};

/// Whether two registrations agree in everything the server reads.
fn same(a: &Client, b: &Client) -> bool {
    let uris = |c: &Client| {
        c.redirect_uris()
            .iter()
            .map(|u| u.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    let grants = |c: &Client| {
        c.grant_types()
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    a.id() == b.id()
        && a.client_type() == b.client_type()
        && a.auth_method() == b.auth_method()
        && a.secret_hashes() == b.secret_hashes()
        && uris(a) == uris(b)
        && grants(a) == grants(b)
        && a.allowed_scope() == b.allowed_scope()
        && a.default_scope() == b.default_scope()
        && a.issues_refresh_tokens() == b.issues_refresh_tokens()
        && a.name() == b.name()
        && a.may_introspect() == b.may_introspect()
        && a.resource_audience() == b.resource_audience()
        && a.is_pkce_exempt() == b.is_pkce_exempt()
        && a.requires_pushed_authorization_requests() == b.requires_pushed_authorization_requests()
        && a.requires_dpop_bound_access_tokens() == b.requires_dpop_bound_access_tokens()
        && a.access_token_format() == b.access_token_format()
        && a.allowed_resources() == b.allowed_resources()
        && a.allows_multiple_audiences() == b.allows_multiple_audiences()
        && a.client_uri() == b.client_uri()
        && a.logo_uri() == b.logo_uri()
        && a.tos_uri() == b.tos_uri()
        && a.policy_uri() == b.policy_uri()
        && a.contacts().eq(b.contacts())
        && a.is_self_registered() == b.is_self_registered()
        && same_keys(a, b)
}

/// Whether two registrations have the same `private_key_jwt` keys and algorithm.
#[cfg(feature = "jwt")]
fn same_keys(a: &Client, b: &Client) -> bool {
    let jwks = |c: &Client| c.jwks().map(crate::jose::JwkSet::to_json);
    jwks(a) == jwks(b)
        && a.jwks_uri() == b.jwks_uri()
        && a.token_endpoint_auth_signing_alg() == b.token_endpoint_auth_signing_alg()
}

#[cfg(not(feature = "jwt"))]
fn same_keys(_: &Client, _: &Client) -> bool {
    true
}

/// A `private_key_jwt` client whose keys are at a `jwks_uri` (feature `jwt`), or none.
fn remote_keys_client() -> Result<Option<Client>, String> {
    #[cfg(feature = "jwt")]
    return Client::builder(
        fresh_client("conformance-jwks-uri")?.as_str(),
        ClientType::Confidential,
    )
    .auth_method(AuthMethod::PrivateKeyJwt)
    .jwks_uri("https://client.example.com/jwks.json")
    .grant_type(GrantType::CLIENT_CREDENTIALS)
    .build()
    .map(Some)
    .map_err(|e| e.to_string());
    #[cfg(not(feature = "jwt"))]
    Ok(None)
}

/// A `private_key_jwt` client with an EC and an RSA key and a registered algorithm (feature
/// `jwt`), or none.
fn signing_client() -> Result<Option<Client>, String> {
    #[cfg(feature = "jwt")]
    {
        use crate::jose::{Algorithm, JwkSet, SigningKey};
        let keys = [
            SigningKey::generate(Algorithm::Es256).map_err(|e| e.to_string())?,
            SigningKey::generate_rsa(Algorithm::Ps256, 2048).map_err(|e| e.to_string())?,
        ];
        let jwks = JwkSet::from_keys(keys.iter().map(|k| k.public_key().clone()))
            .map_err(|e| e.to_string())?;
        Client::builder(
            fresh_client("conformance-pkj")?.as_str(),
            ClientType::Confidential,
        )
        .auth_method(AuthMethod::PrivateKeyJwt)
        .jwks(jwks)
        .token_endpoint_auth_signing_alg(Algorithm::Ps256)
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .build()
        .map(Some)
        .map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "jwt"))]
    Ok(None)
}

/// Registrations read back exactly by any handle, secrets verify (and wrong ones do not),
/// unknown ids are `None`.
pub(super) async fn round_trip(ctx: &Ctx<'_>) -> Outcome {
    let secrets = [
        ClientSecret::from_presented("conformance-secret-one".to_owned()),
        ClientSecret::from_presented("conformance-secret-two".to_owned()),
    ];
    let confidential = Client::builder(
        fresh_client("conformance-rs")?.as_str(),
        ClientType::Confidential,
    )
    .secret(&secrets[0])
    .secret(&secrets[1])
    .auth_method(AuthMethod::ClientSecretPost)
    .grant_type(GrantType::CLIENT_CREDENTIALS)
    .grant_type(GrantType::new("urn:example:grant"))
    .allowed_scope("read write")
    .default_scope("read")
    .issue_refresh_tokens(false)
    .name("Conformance resource server")
    .introspection(true)
    .resource_audience("https://rs.example.com")
    .allowed_resource("https://rs.example.com:8443/api?tenant=a")
    .allowed_resource("urn:example:resource")
    .dangerous(|d| d.allow_missing_pkce().allow_multiple_audiences())
    .access_token_format(AccessTokenFormat::Jwt)
    .build()
    .map_err(|e| e.to_string())?;
    let public = Client::builder(
        fresh_client("conformance-app")?.as_str(),
        ClientType::Public,
    )
    .redirect_uri("http://127.0.0.1/callback")
    .redirect_uri("https://app.example.com/cb?x=1")
    .grant_type(GrantType::AUTHORIZATION_CODE)
    .grant_type(GrantType::REFRESH_TOKEN)
    .allowed_scope("profile")
    .client_uri("https://app.example.com/")
    .logo_uri("https://app.example.com/logo.png")
    .tos_uri("https://app.example.com/tos")
    .policy_uri("https://app.example.com/privacy")
    .contact("ops@app.example.com")
    .contact("Jos\u{e9} <jose@app.example.com>")
    .require_pushed_authorization_requests(true)
    .dpop_bound_access_tokens(true)
    .build()
    .map_err(|e| e.to_string())?;
    let signing = signing_client()?;
    let remote = remote_keys_client()?;
    let registrar = ctx.registrar()?;
    let clients: Vec<&Client> = [&confidential, &public]
        .into_iter()
        .chain(signing.as_ref())
        .chain(remote.as_ref())
        .collect();
    for client in &clients {
        call!(registrar, register((*client).clone()));
    }
    for (i, client) in clients.into_iter().enumerate() {
        let found = call!(ctx.clients(i + 1), find(client.id()));
        ensure!(
            found.as_deref().is_some_and(|f| same(f, client)),
            "find returned {found:?} for {client:?}"
        );
    }
    let registry = ctx.clients(0);
    for secret in &secrets {
        ensure!(
            call!(registry, verify_secret(&confidential, secret)),
            "a registered secret did not verify"
        );
    }
    let wrong = ClientSecret::from_presented("conformance-secret-three".to_owned());
    ensure!(
        !call!(registry, verify_secret(&confidential, &wrong)),
        "a wrong secret verified"
    );
    let unknown = fresh_client("conformance-unknown")?;
    let found = call!(registry, find(&unknown));
    ensure!(found.is_none(), "an unknown client_id was found");
    Ok(())
}
