//! Standard Bluetooth SIG health devices (no Veil trust service): the client side of their GATT
//! profiles, pure and synchronous so that it runs natively and in wasm alike.
//!
//! - [`profile`]: which characteristic of each health service is indicated, notified or read
//!   (the measurements are never readable), plus Device Information and Current Time UUIDs.
//! - [`racp`]: Record Access Control Point requests and answers (stored records).
//! - [`current_time`]: the Current Time value a client writes so readings carry a true time.
//! - [`session`]: one device's values in, decoded and de-duplicated records out.
//!
//! Everything from such a device is UNVERIFIED: the Device Information strings are what the
//! device says about itself, and nothing signs its measurements. The measurement layouts are in
//! [`crate::measurement`].

pub mod current_time;
mod error;
pub mod profile;
pub mod racp;
pub mod session;

pub use current_time::CurrentTime;
pub use error::SigError;
pub use profile::{
    CCCD, CHR_CURRENT_TIME, CHR_RACP, Channel, DEVICE_INFORMATION, Delivery, PROFILES,
    SVC_CURRENT_TIME, SVC_DEVICE_INFORMATION, ServiceProfile, device_information_string, profile,
};
pub use racp::{RacpCode, RacpRequest, RacpResponse};
pub use session::{Event, MAX_RECORDS, Record, RecordKey, Session};
