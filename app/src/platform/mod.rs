//! Thin browser glue. Nothing here decides anything: it reports browser events into `AppState`.

pub mod connectivity;
pub mod service_worker;
