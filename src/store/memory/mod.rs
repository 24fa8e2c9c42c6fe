//! The in-memory stores: the embedded default, real and tested, for single-instance
//! deployments. One file per store, as in `store/postgres/`.

mod clients;
mod codes;
mod devices;
mod expiry;
mod limiter;
mod pushed;
mod single_use;
mod slot_index;
mod tokens;

pub use clients::MemoryClientRegistry;
pub use codes::MemoryCodeStore;
pub use devices::MemoryDeviceStore;
pub use limiter::MemoryAttemptLimiter;
pub use pushed::MemoryPushedRequestStore;
pub use single_use::MemorySingleUseStore;
pub use tokens::MemoryTokenStore;
