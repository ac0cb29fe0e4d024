//! What several domains do together, one function per use case, so that
//! each domain depends on the ones below it only.

pub mod account;
pub mod actions;
pub mod maintenance;
pub mod scim;
pub mod tenant;
