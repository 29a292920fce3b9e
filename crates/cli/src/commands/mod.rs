pub mod bench;
pub mod emulator;
pub mod groups;
pub mod import;
pub mod serve;
pub mod users;
