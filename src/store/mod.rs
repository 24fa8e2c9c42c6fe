//! Storage plug-ins: narrow, async, object-safe traits, one role each (DESIGN decision 2),
//! and their in-memory implementations.
//!
//! Every method takes `&self` (use interior mutability: a mutex, a transaction), "not
//! found" is `Ok(None)`, and a backend failure is a [`StorageError`], which the client sees
//! only as `server_error` or `temporarily_unavailable`. Keys are [`TokenHash`] digests,
//! never raw tokens (DESIGN decision 5).

mod client;
mod code;
mod device;
pub(crate) mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
mod token;

pub use client::ClientRegistry;
pub(crate) use client::find_presented_client;
pub use code::{AuthorizationGrant, CodeStore, Redemption};
pub use device::{
    DeviceDecision, DeviceInsert, DevicePoll, DeviceRecord, DeviceRedemption, DeviceState,
    DeviceStore,
};
pub use memory::{
    MemoryAttemptLimiter, MemoryClientRegistry, MemoryCodeStore, MemoryDeviceStore,
    MemoryTokenStore,
};
pub use token::{Insert, RefreshLookup, RotatedOut, Rotation, TokenKind, TokenRecord, TokenStore};
