//! The test harness.

pub mod authz;
pub(crate) mod device;
pub mod e2e;
pub mod hostile;
pub(crate) mod parked;
pub mod resource;
pub mod token;
