//! The device authorization grant ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)):
//! the device authorization endpoint, the host's verification side, and polling at the
//! token endpoint.
//!
//! ```text
//!  device                       grantflow                        user's browser + host
//!    | POST /device_authorization  |                                     |
//!    |---------------------------->| device_authorization               |
//!    |<-- device_code, user_code --|                                     |
//!    |    shows user_code + URI    |       host page at verification_uri |
//!    |                             |<-- DeviceVerifier::verify(input) --|
//!    |                             |---- PendingDeviceAuthorization --->| shows client,
//!    |                             |<---------- approve / deny ---------| scope, code
//!    | POST /token (device_code)   |                                     |
//!    |---------------------------->| authorization_pending / slow_down   |
//!    |<------ tokens, once --------|                                     |
//! ```

mod authorization;
mod verification;

pub use verification::{
    DeviceVerificationError, DeviceVerifier, EnteredUserCode, PendingDeviceAuthorization,
};

use crate::grant::device::UserCodeFormat;
use crate::server::Server;

impl Server {
    /// The URL of the device authorization endpoint, for the metadata member
    /// `device_authorization_endpoint` ([RFC 8628 §4](https://www.rfc-editor.org/rfc/rfc8628#section-4),
    /// [RFC 8628 §4]). `None` when the device grant is not enabled. Default: the issuer followed by
    /// `/device_authorization`.
    ///
    /// [RFC 8628 §4]: https://www.rfc-editor.org/rfc/rfc8628#section-4
    pub fn device_authorization_endpoint(&self) -> Option<&str> {
        let device = &self.config().device;
        device.store.as_ref().map(|_| device.endpoint.as_str())
    }

    /// The `verification_uri` sent to devices: the host's verification page. It never
    /// has a query string ([RFC 8628 §4]); the user code goes only into
    /// `verification_uri_complete`. `None` when the device grant is not enabled. Default:
    /// the issuer followed by `/device`.
    ///
    /// [RFC 8628 §4]: https://www.rfc-editor.org/rfc/rfc8628#section-4
    pub fn device_verification_uri(&self) -> Option<&str> {
        let device = &self.config().device;
        device
            .store
            .as_ref()
            .map(|_| device.verification_uri.as_str())
    }

    /// The user code format, for hosts that normalise or display codes themselves.
    /// `None` when the device grant is not enabled.
    pub fn user_code_format(&self) -> Option<&UserCodeFormat> {
        let device = &self.config().device;
        device.store.as_ref().map(|_| &device.user_code_format)
    }
}
