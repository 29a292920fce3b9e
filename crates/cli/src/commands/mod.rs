pub mod bench;
pub mod emulator;
pub mod groups;
pub mod import;
pub mod mappings;
pub mod providers;
pub mod serve;
pub mod users;
