//! Implementing a store: the storage traits beyond the crate root's [`ClientRegistry`] and
//! [`CodeStore`], and the records and outcomes they exchange with the server.
//!
//! The traits are narrow, async and object-safe, one role each. Every method takes `&self`
//! (use interior mutability: a mutex, a transaction), "not found" is `Ok(None)`, and a
//! backend failure is a [`StorageError`](crate::StorageError), which the client sees only
//! as `server_error` or `temporarily_unavailable`. Keys are
//! [`TokenHash`](crate::secret::TokenHash) digests, never raw tokens, so a leaked table
//! holds no live credential. Each trait's documentation states its atomicity contract; the
//! `testing` feature's conformance suite checks an implementation against all of them.
//!
//! The in-memory implementations are at the crate root
//! ([`MemoryTokenStore`](crate::MemoryTokenStore), ...), the PostgreSQL ones in
//! `grantflow::postgres`.

// One file per trait (client.rs, code.rs, device.rs, token.rs), one per in-memory store in
// memory/ and one per PostgreSQL store in postgres/.

pub(crate) mod client;
pub(crate) mod code;
mod device;
pub(crate) mod memory;
mod openid;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod pushed;
mod registration;
pub(crate) mod single_use;
mod token;

pub use crate::types::GrantId;
pub use code::{AuthorizationGrant, Redemption};
pub use device::{
    DeviceDecision, DeviceInsert, DevicePolling, DeviceRecord, DeviceRedemption, DeviceState,
    DeviceStore,
};
pub use memory::{MemoryPushedRequestStore, MemorySingleUseStore};
pub use openid::OpenIdContext;
pub use pushed::{PushedRequest, PushedRequestStore};
pub use registration::{Creation, Registration, RegistrationStore};
pub use single_use::{Consumption, SingleUseKind, SingleUseStore};
pub use token::{Insert, RefreshLookup, RotatedOut, Rotation, TokenKind, TokenRecord, TokenStore};

// Public at the crate root (the design card's traits and the in-memory stores), and used
// from here inside the crate.
pub(crate) use client::{ClientRegistry, find_presented_client};
pub(crate) use code::CodeStore;
pub(crate) use memory::{MemoryAttemptLimiter, MemoryCodeStore};

/// What the default `check_health` methods look up: a client identifier, and the text of
/// a code or token whose digest no issued one can have (they are 256 random bits), so the
/// read finds nothing and changes nothing.
pub(crate) const HEALTH_PROBE: &str = "grantflow-health-check";
