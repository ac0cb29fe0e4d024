//! The actions host: today the log-stream delivery worker (`deliver`), over
//! the native SQLite host and a blocking HTTP client (`outbound`). Running
//! tenant action hooks in Wasmtime comes with the actions issue.

pub mod deliver;
pub mod outbound;
