//! The device authorization endpoint
//! ([RFC 8628 §3.1](https://www.rfc-editor.org/rfc/rfc8628#section-3.1)): a device asks
//! for a device code and a user code.

use std::sync::Arc;

use crate::clock::expiry;
use crate::endpoint::{Authenticated, TokenStyleEndpoint};
use crate::error::{Error, ErrorCode, OAuthError, Rejection, StorageError};
use crate::grant::resolve_scope;
use crate::grant::resource::{Requested, resolve_resources};
use crate::http::{HttpRequest, HttpResponse, Status};
use crate::observe::call::{Call, Endpoint};
use crate::params::Form;
use crate::render::JsonObject;
use crate::secret::DeviceCode;
use crate::server::Server;
use crate::store::{DeviceInsert, DeviceRecord, DeviceStore};
use crate::types::{GrantId, GrantType};

/// How many fresh user codes a device authorization request tries before giving up on a
/// collision streak (each collision is unlikely: live codes / 20^8 with the default).
const USER_CODE_ATTEMPTS: usize = 8;

/// The success body of the device authorization endpoint
/// ([RFC 8628 §3.2](https://www.rfc-editor.org/rfc/rfc8628#section-3.2), [RFC 8628 §3.2]).
///
/// [RFC 8628 §3.2]: https://www.rfc-editor.org/rfc/rfc8628#section-3.2
fn device_authorization_json(
    device_code: &str,
    user_code: &str,
    verification_uri: &str,
    verification_uri_complete: &str,
    expires_in: u64,
    interval: u64,
) -> Vec<u8> {
    let mut body =
        JsonObject::with_capacity(160 + device_code.len() + 2 * verification_uri_complete.len());
    body.string("device_code", device_code)
        .string("user_code", user_code)
        .string("verification_uri", verification_uri)
        .string("verification_uri_complete", verification_uri_complete)
        .number("expires_in", expires_in)
        .number("interval", interval);
    body.finish()
}

impl Server {
    /// The device authorization endpoint: `POST /device_authorization`
    /// ([RFC 8628 §3.1](https://www.rfc-editor.org/rfc/rfc8628#section-3.1)).
    ///
    /// Checked in order, as at the token endpoint: POST only (else 405), no credentials in
    /// the query, a form body in UTF-8, no repeated parameter, empty values absent, unknown
    /// ones ignored ([RFC 8628 §3.1]); client authentication, where a public client sends only
    /// `client_id` and a confidential one authenticates with its registered method; the
    /// client must be registered for
    /// [`GrantType::DEVICE_CODE`] (else `unauthorized_client`); the `scope` must be allowed
    /// (else `invalid_scope`; absent means the client's default scope). Errors use the
    /// token endpoint's format ([RFC 8628 §3.2]).
    ///
    /// On success, 200 JSON with `device_code` (256 random bits, stored only as a digest
    /// and bound to the client, [RFC 8628 §5.2]), `user_code` ([RFC 8628 §6.1], see
    /// [`UserCodeFormat`](crate::device::UserCodeFormat)),
    /// `verification_uri`, `verification_uri_complete` (the URI with `?user_code=`),
    /// `expires_in` and `interval` ([RFC 8628 §3.2]), with `Cache-Control: no-store`.
    ///
    /// When the grant is not enabled (no
    /// [`ServerBuilder::device_store`](crate::ServerBuilder::device_store)), every request
    /// gets 400 `unsupported_grant_type`.
    ///
    /// # Errors
    /// Only storage faults. A full [`MemoryDeviceStore`](crate::MemoryDeviceStore) is a
    /// transient fault, which [`Error::to_response`] renders as 503
    /// `temporarily_unavailable`.
    ///
    /// # Security
    /// A public device client's `client_id` ships in every device, so anyone can start
    /// requests for it, and every pending request holds a slot in the device store until
    /// it expires. A full store refuses new requests (503) rather than dropping pending
    /// ones, so a flood denies service but never cancels a user's flow. The library does
    /// not see client addresses: rate-limit this endpoint per address in the host, and
    /// size the store for the peak of pending requests
    /// ([`MemoryDeviceStore::with_capacity`](crate::MemoryDeviceStore::with_capacity)).
    ///
    /// [RFC 8628 §3.1]: https://www.rfc-editor.org/rfc/rfc8628#section-3.1
    /// [RFC 8628 §3.2]: https://www.rfc-editor.org/rfc/rfc8628#section-3.2
    /// [RFC 8628 §5.2]: https://www.rfc-editor.org/rfc/rfc8628#section-5.2
    /// [RFC 8628 §6.1]: https://www.rfc-editor.org/rfc/rfc8628#section-6.1
    pub async fn device_authorization(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        self.token_style::<DeviceAuthorization>(request).await
    }
}

/// The device authorization endpoint, run by [`Server::token_style`].
pub(crate) enum DeviceAuthorization {}

impl TokenStyleEndpoint for DeviceAuthorization {
    const ENDPOINT: Endpoint = Endpoint::DeviceAuthorization;
    type Route<'s> = &'s Arc<dyn DeviceStore>;

    /// The grant must be enabled: otherwise every request is `unsupported_grant_type`.
    fn route<'s>(
        server: &'s Server,
        _: &HttpRequest,
        _: &Form<'_>,
        _: &Call<'_>,
    ) -> Result<&'s Arc<dyn DeviceStore>, Rejection> {
        server.config().device.store.as_ref().ok_or_else(|| {
            OAuthError::new(ErrorCode::UNSUPPORTED_GRANT_TYPE)
                .with_description("the device authorization grant is not enabled")
                .into()
        })
    }

    async fn serve<'s>(
        server: &'s Server,
        call: Authenticated<'_>,
        store: &'s Arc<dyn DeviceStore>,
    ) -> Result<HttpResponse, Rejection> {
        let config = server.config();
        let device = &config.device;
        let random = &*config.random;
        if !call
            .client
            .allows_grant_type(GrantType::DEVICE_CODE.as_str())
        {
            return Err(OAuthError::new(ErrorCode::UNAUTHORIZED_CLIENT)
                .with_description("the client may not use the device authorization grant")
                .into());
        }
        let scope = resolve_scope(&call.client, call.form.get("scope"))?;
        // RI-08: the resources named here are the grant's.
        let resources = resolve_resources(
            &config.resources,
            &call.client,
            call.form.get_all("resource"),
            &scope,
            Requested::Grant,
        )?;
        let device_code = DeviceCode::generate_with(random);
        let hash = device_code.hash();
        let expires_at = expiry(call.now, device.code_ttl)?;
        let grant_id = GrantId::generate_with(random);
        for _ in 0..USER_CODE_ATTEMPTS {
            let user_code = device.user_code_format.generate(random);
            // `verification_uri_complete` holds the display form of the user code at its
            // end; `user_code` in the response is that slice. The alphabet is upper-case
            // letters and digits, grouped with '-': URL-safe as is.
            let mut complete = String::with_capacity(device.verification_uri.len() + 32);
            complete.push_str(&device.verification_uri);
            complete.push_str("?user_code=");
            let shown_at = complete.len();
            device
                .user_code_format
                .display_into(&user_code, &mut complete);
            let record = DeviceRecord::new(
                grant_id,
                call.client.id().clone(),
                scope.clone(),
                user_code,
                call.now,
                expires_at,
                device.interval,
            )
            .with_resources(resources.clone());
            if store.insert(hash, record).await? == DeviceInsert::UserCodeTaken {
                continue;
            }
            let json = device_authorization_json(
                device_code.expose_secret(),
                &complete[shown_at..],
                &device.verification_uri,
                &complete,
                device.code_ttl.as_secs(),
                device.interval.as_secs(),
            );
            return Ok(HttpResponse::json(Status::OK, json));
        }
        Err(StorageError::transient("no free user code").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dg_02_device_authorization_json_is_valid_json() {
        let json = device_authorization_json(
            "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
            "WDJB-MJHT",
            "https://example.com/device",
            "https://example.com/device?user_code=WDJB-MJHT",
            1800,
            5,
        );
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
                "user_code": "WDJB-MJHT",
                "verification_uri": "https://example.com/device",
                "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT",
                "expires_in": 1800,
                "interval": 5
            })
        );
    }
}
