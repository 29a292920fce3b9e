//! Authentication: the token endpoint, client assertions, and bearer-token checks on Graph.

pub mod assertion;
pub mod bearer;
pub mod keys;
pub mod token;
