//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, off by default).
//!
//! **Not a public API.** Hidden from the docs, exempt from semver, and only compiled with
//! the `fuzzing` feature, which nothing but the fuzz crate should turn on. It exposes the
//! crate-internal parsers that the public endpoints reach only behind other checks, so that
//! a fuzzer can drive them directly; every function is a thin wrapper that returns owned,
//! plain data and changes no behaviour. Everything else (scopes, redirect URIs, the
//! endpoints) is fuzzed through the public API.

use crate::params::{Form, FormError, FormLimits, parse_pairs};

/// `Form::parse` (the body and query parser of every endpoint): the pairs in request
/// order, or the refusal rendered as its `error_description`.
///
/// # Errors
/// The `error_description` the endpoints would send for this input.
pub fn parse_form(input: &[u8], limits: &FormLimits) -> Result<Vec<(String, String)>, String> {
    match Form::parse(input, limits) {
        Ok(form) => Ok(form
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()),
        Err(error) => Err(description(error)),
    }
}

/// The pair parser under [`parse_form`] (used directly by the authorization endpoint):
/// every pair, repeated names and empty values kept.
///
/// # Errors
/// The `error_description` the endpoints would send for this input.
pub fn parse_pairs_owned(
    input: &[u8],
    limits: &FormLimits,
) -> Result<Vec<(String, String)>, String> {
    parse_pairs(input, limits)
        .map(|pairs| {
            pairs
                .into_iter()
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect()
        })
        .map_err(description)
}

/// The credentials of an `Authorization: Basic` value (the part after the scheme),
/// form-url-decoded: `(client_id, client_secret)`, or `None` when malformed.
pub fn decode_basic(token68: &str) -> Option<(String, String)> {
    crate::client_auth::decode_basic(token68)
}

/// Whether a `Content-Type` value is accepted as a form body.
pub fn is_form_content_type(value: Option<&str>) -> bool {
    crate::endpoint::is_form_content_type(value)
}

fn description(error: FormError) -> String {
    crate::error::OAuthError::from(error)
        .description()
        .unwrap_or("")
        .to_owned()
}

/// The checks of a client ID metadata document for `url` (the URL form, then the
/// document): the accepted client's id and authentication method, or the refusal's
/// description.
///
/// # Errors
/// Why the URL or the document was refused.
pub fn client_id_document(url: &str, body: &[u8]) -> Result<(String, &'static str), String> {
    let host = crate::registration::check_client_id_url(url).map_err(|e| e.to_string())?;
    let client =
        crate::registration::client_from_document(url, &host, body).map_err(|e| e.to_string())?;
    Ok((
        client.id().as_str().to_owned(),
        client.auth_method().as_str(),
    ))
}
