//! The test harness: [`harness::Harness`], the one builder of test servers, and one module
//! per area with its fixture clients and flows (`Harness<Area>`, named `Harness` inside the
//! area), plus the PostgreSQL-free end-to-end harness of the example servers.

pub mod authz;
pub mod device;
pub mod e2e;
pub mod faults;
pub mod harness;
pub mod hostile;
pub mod parked;
pub mod race;
pub mod resource;
pub mod token;
