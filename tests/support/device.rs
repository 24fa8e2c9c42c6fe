//! The device flow's fixtures (RFC 8628): device clients, the device authorization request,
//! polling, and approval through the verification API.

use std::sync::Arc;
use std::time::Duration;

use grantflow::device::{DeviceVerificationError, PendingDeviceAuthorization};
use grantflow::{
    Client, ClientSecret, ClientType, GrantType, HttpRequest, HttpResponse, MemoryClientRegistry,
    MemoryDeviceStore, Scope, ServerBuilder, Subject,
};
use serde_json::Value;

pub(crate) use super::harness::assert_token_error as assert_error;
pub(crate) use super::harness::post_form as form_post;
pub(crate) use super::harness::*;

/// The harness of the device grant suite: [`clients`] and a device store.
pub(crate) type Harness = super::harness::Harness<Device>;

/// The device grant suite's area of [`Harness`].
#[derive(Debug)]
pub(crate) enum Device {}

pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub(crate) const DEVICE_GRANT_ENCODED: &str =
    "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code";
/// `Basic base64("confidential-tv:tv-secret")`.
pub(crate) const CONFIDENTIAL_BASIC: &str = "Basic Y29uZmlkZW50aWFsLXR2OnR2LXNlY3JldA==";

/// The registered clients:
/// - `tv`: public, device + refresh grants, scopes `profile videos`, default `profile`;
/// - `tv2`: public, device grant, same scopes;
/// - `1406020730`: public, device grant, scope `example_scope` (V-DEV-5);
/// - `no-refresh-tv`: public, device grant only;
/// - `confidential-tv`: confidential, `client_secret_basic`, device grant;
/// - `web-app`: public, authorization code only.
pub(crate) fn clients() -> Arc<MemoryClientRegistry> {
    let public = |id: &str| {
        Client::builder(id, ClientType::Public)
            .grant_type(GrantType::DEVICE_CODE)
            .allowed_scope("profile videos")
            .default_scope("profile")
    };
    Arc::new(register([
        public("tv")
            .name("Living room TV")
            .grant_type(GrantType::REFRESH_TOKEN),
        public("tv2"),
        public("no-refresh-tv"),
        Client::builder("1406020730", ClientType::Public)
            .grant_type(GrantType::DEVICE_CODE)
            .allowed_scope("example_scope"),
        Client::builder("confidential-tv", ClientType::Confidential)
            .secret(&ClientSecret::from_presented("tv-secret".to_owned()))
            .grant_type(GrantType::DEVICE_CODE)
            .allowed_scope("profile"),
        Client::builder("web-app", ClientType::Public)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .redirect_uri("https://app.example.com/cb")
            .allowed_scope("profile"),
    ]))
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with(|b| b)
    }

    /// A harness whose builder is adjusted by `configure` (after the device store is set).
    pub(crate) fn with(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Self {
        Self::with_store(Arc::new(MemoryDeviceStore::new()), configure)
    }

    pub(crate) fn with_store(
        devices: Arc<MemoryDeviceStore>,
        configure: impl FnOnce(ServerBuilder) -> ServerBuilder,
    ) -> Self {
        Self::builder(clients())
            .device_store(devices)
            .build(configure)
    }

    pub(crate) fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    pub(crate) fn device_authorization(&self, body: &str) -> HttpResponse {
        self.device_request(&form_post(body))
    }

    /// Sends `request` to the device authorization endpoint.
    pub(crate) fn device_request(&self, request: &HttpRequest) -> HttpResponse {
        block_on(self.server.device_authorization(request)).expect("memory stores never fail")
    }

    /// Starts a device flow for `client_id`; returns (device_code, user_code).
    pub(crate) fn start(&self, client_id: &str) -> (String, String) {
        let response = self.device_authorization(&format!("client_id={client_id}"));
        assert_eq!(response.status.as_u16(), 200, "{:?}", json(&response));
        let body = json(&response);
        (
            body["device_code"].as_str().unwrap().to_owned(),
            body["user_code"].as_str().unwrap().to_owned(),
        )
    }

    /// One poll of the token endpoint by public client `client_id`.
    pub(crate) fn poll(&self, client_id: &str, device_code: &str) -> HttpResponse {
        self.token(&poll_body(device_code, client_id))
    }

    /// The [`outcome`] of one poll by `tv`.
    pub(crate) fn polled(&self, device_code: &str) -> String {
        outcome(&self.poll("tv", device_code))
    }

    /// Looks the user code up and approves it for `alice` with the requested scope.
    pub(crate) fn approve(&self, user_code: &str) {
        let verifier = self.server.device_verifier().unwrap();
        let entered = grantflow::device::EnteredUserCode::new(user_code);
        let pending = block_on(verifier.verify(entered, "session:alice")).unwrap();
        let scope = pending.requested_scope().clone();
        block_on(pending.approve(grantflow::Subject::new("alice"), scope)).unwrap();
    }
}

/// The form of a poll of `device_code` by public client `client_id`.
pub(crate) fn poll_body(device_code: &str, client_id: &str) -> String {
    format!("grant_type={DEVICE_GRANT_ENCODED}&device_code={device_code}&client_id={client_id}")
}

/// Approves `pending` for `subject` with `scope`.
pub(crate) fn approve_as(
    pending: PendingDeviceAuthorization,
    subject: &str,
    scope: &str,
) -> Result<(), DeviceVerificationError> {
    let scope = Scope::parse(scope).expect("a valid scope");
    block_on(pending.approve(Subject::new(subject), scope))
}

/// `result` is the refusal of a user code that matches no pending request.
#[track_caller]
pub(crate) fn assert_invalid_user_code<T: std::fmt::Debug>(
    result: Result<T, DeviceVerificationError>,
) {
    assert!(
        matches!(result, Err(DeviceVerificationError::InvalidUserCode)),
        "{result:?}"
    );
}

pub(crate) fn json(response: &HttpResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

/// The `error` member of a response, or `"ok"` for a 200.
pub(crate) fn outcome(response: &HttpResponse) -> String {
    if response.status.as_u16() == 200 {
        "ok".to_owned()
    } else {
        json(response)["error"].as_str().unwrap_or("?").to_owned()
    }
}
