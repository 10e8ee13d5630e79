//! The cut plane: where the face ends, given by a user or found by detection.

use serde::{Deserialize, Serialize};

/// A plane through `point` with unit `normal`; the half-space the normal points into is removed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CutPlane {
    /// A point on the plane.
    pub point: [f64; 3],
    /// Unit normal pointing towards the removed side (the face).
    pub normal: [f64; 3],
}

impl CutPlane {
    /// A plane from a point and a (not necessarily unit) normal; refuses non-finite values and a
    /// zero normal.
    pub fn new(point: [f64; 3], normal: [f64; 3]) -> Result<CutPlane, crate::MeshError> {
        let len = crate::mesh::norm(normal);
        if !point.iter().chain(normal.iter()).all(|v| v.is_finite()) || len < 1e-12 {
            return Err(crate::MeshError::BadOption(
                "plane needs a finite point and a non-zero normal".into(),
            ));
        }
        Ok(CutPlane {
            point,
            normal: crate::mesh::scale(normal, 1.0 / len),
        })
    }

    /// Signed distance of `p` (positive on the removed side).
    pub fn distance(&self, p: [f64; 3]) -> f64 {
        crate::mesh::dot(crate::mesh::sub(p, self.point), self.normal)
    }
}
