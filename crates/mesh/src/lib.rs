//! De-identification of 3D medical models (STL, OBJ, PLY), entirely in the caller's process — in
//! Veil, inside the browser.
//!
//! A CT/MRI-derived model can be linked back to a patient through its file (header text, colour
//! bytes, names, scanner coordinates, byte order) and recognised by its face: face-recognition
//! software matched 83 % of volunteers to their MRI face reconstructions (Schwarz et al., NEJM
//! 2019). This crate removes both, in named steps grouped in [profiles](Profile):
//!
//! 1. **scrub** ([`scrub`]): inventory every metadata channel and write geometry only;
//! 2. **reframe** ([`reframe`]): centroid to origin, principal axes, deterministic signs;
//! 3. **deface** ([`deface`]): find the face from geometry alone, in any pose, and cut it off
//!    with a capped, watertight cut (or an explicit plane);
//! 4. **mask**: Taubin smoothing plus bounded random displacement;
//! 5. **shuffle/quantise**: random vertex/triangle order, coordinates on a 0.01 mm grid;
//!
//! and reports what it did ([`Report`], serde JSON) with the symmetric Hausdorff distance, volume,
//! area and watertightness, flagging anything over the profile's bound. The report is local (it
//! names what was removed and holds the reframing transform); [`Report::shareable`] is the only form
//! that may travel with the model. Errors about a file name a position and a kind, never its bytes.
//!
//! ```
//! use veil_mesh::{deidentify, FormatHint, Options, Profile, synth};
//!
//! let head = synth::head(&synth::HeadSpec::default());
//! let stl = veil_mesh::write::write_stl(&head.mesh);
//! let mut options = Options::for_profile(Profile::Strict);
//! options.seed = Some(7);
//! let (out, report) = deidentify(&stl, FormatHint::Stl, &options).unwrap();
//! assert_eq!(report.deface.outcome, "defaced");
//! assert!(report.utility.watertight_out);
//! assert_eq!(&out[..4], b"Veil");
//! ```
// Index loops over 3-vectors and 3×3 matrices mirror the formulas they implement.
#![allow(clippy::needless_range_loop)]

pub mod deface;
#[doc(hidden)]
pub mod mesh_helpers {
    //! Small geometry helpers re-exported for tests and benchmarks.
    /// Euclidean distance.
    pub fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
    }
}
mod error;
mod mask;
mod mesh;
mod nan;
mod par;
mod pipeline;
mod progress;
pub mod read;
pub mod reframe;
mod rng;
pub mod scrub;
mod shareable;
mod shuffle;
pub mod synth;
mod topology;
pub mod utility;
pub mod write;

pub use deface::{CutPlane, DefaceMode, DefaceReport};
pub use error::MeshError;
pub use mask::MaskParams;
pub use mesh::{Limits, Mesh};
pub use par::set_max_threads;
pub use pipeline::{
    Brought, Deidentified, Deviation, Elsewhere, Flag, Options, Prepared, Profile, Report,
    StepRecord, Utility, Written, deidentify, deidentify_owned_with, deidentify_with,
    prepare_owned,
};
pub use read::{Format, FormatHint, ReadModel, read};
pub use shareable::{RemovedChannel, ShareableReport, SharedDeface};
pub use veil_core::Coded;
pub use write::OutputFormat;
