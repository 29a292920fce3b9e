pub mod bench;
pub mod groups;
pub mod import;
pub mod serve;
pub mod users;
