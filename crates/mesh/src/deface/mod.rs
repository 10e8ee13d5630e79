//! Step 3, deface: find the face of a head/neck model from geometry alone and cut it off.
//!
//! Published defacing tools (pydeface, Quickshear, mri_deface, fsl_deface) register a volume to a
//! template in a fixed orientation. A mesh has no template frame: it arrives in any rigid pose,
//! LPS or RAS, mirrored or not. So detection uses only pose-free geometry (see [`detect`]):
//! the mid-sagittal mirror plane, the nose as the one sharp protrusion on that plane, and the
//! anterior direction it points to. The cut ([`cut`]) removes everything in front of a plane behind
//! the face and caps the hole, so a closed input stays closed (printable).
//!
//! `auto` is conservative in one direction only: a model that does not look like a head is left
//! untouched and the report says why; a head is always cut.

pub(crate) mod cut;
pub(crate) mod detect;
mod plane;

pub use plane::CutPlane;

use serde::{Deserialize, Serialize};

/// How the deface step runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub enum DefaceMode {
    /// Detect a head and its face; leave non-heads untouched (and say so).
    #[default]
    Auto,
    /// Do not deface.
    Off,
    /// Remove the half-space in front of an explicit plane, given in the input's coordinates.
    Plane(CutPlane),
}

impl DefaceMode {
    /// Parse the CLI form: `auto`, `off`, or `plane:PX,PY,PZ,NX,NY,NZ`.
    pub fn parse(s: &str) -> Result<DefaceMode, crate::MeshError> {
        match s {
            "auto" => Ok(DefaceMode::Auto),
            "off" => Ok(DefaceMode::Off),
            _ => {
                let rest = s.strip_prefix("plane:").ok_or_else(|| {
                    crate::MeshError::BadOption(format!(
                        "--deface must be auto, off or plane:PX,PY,PZ,NX,NY,NZ (got {s:?})"
                    ))
                })?;
                let v: Vec<f64> = rest
                    .split(',')
                    .map(|x| x.trim().parse::<f64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| {
                        crate::MeshError::BadOption(format!(
                            "plane needs six numbers (got {rest:?})"
                        ))
                    })?;
                if v.len() != 6 {
                    return Err(crate::MeshError::BadOption(format!(
                        "plane needs six numbers PX,PY,PZ,NX,NY,NZ (got {})",
                        v.len()
                    )));
                }
                CutPlane::new([v[0], v[1], v[2]], [v[3], v[4], v[5]]).map(DefaceMode::Plane)
            }
        }
    }
}

/// What the deface step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefaceReport {
    /// `auto`, `off` or `plane`.
    pub mode: String,
    /// `defaced`, `not-a-head` (auto left the model untouched), `off`, or `plane-missed`.
    pub outcome: String,
    /// A sentence saying why.
    pub reason: String,
    /// The cut plane in output coordinates, when a cut was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plane: Option<CutPlane>,
    /// Detection evidence (auto only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection: Option<detect::HeadEvidence>,
    /// Triangles removed (wholly or partly in front of the plane).
    pub removed_triangles: u64,
    /// Area removed, in square model units.
    pub removed_area: f64,
    /// Triangles added to cap the cut.
    pub cap_triangles: u64,
    /// Closed cut loops capped.
    pub cap_loops: u64,
    /// Open cut chains that could not be capped (the input had holes there).
    pub open_chains: u64,
}

impl DefaceReport {
    pub(crate) fn untouched(mode: &str, outcome: &str, reason: String) -> Self {
        DefaceReport {
            mode: mode.into(),
            outcome: outcome.into(),
            reason,
            plane: None,
            detection: None,
            removed_triangles: 0,
            removed_area: 0.0,
            cap_triangles: 0,
            cap_loops: 0,
            open_chains: 0,
        }
    }
}
