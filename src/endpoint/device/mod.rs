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
//!    |                             |<--- device_verification(input) ----|
//!    |                             |---- PendingDeviceAuthorization --->| shows client,
//!    |                             |<---------- approve / deny ---------| scope, code
//!    | POST /token (device_code)   |                                     |
//!    |---------------------------->| authorization_pending / slow_down   |
//!    |<------ tokens, once --------|                                     |
//! ```

mod authorization;
mod config;
mod verification;

pub(crate) use config::{DeviceConfig, DeviceSettings};
pub use verification::{DeviceVerificationError, PendingDeviceAuthorization};
