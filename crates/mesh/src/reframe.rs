//! Step 2, reframe: remove the scanner frame.
//!
//! A model exported from CT/MRI segmentation keeps scanner coordinates: the table position and the
//! patient orientation, which link a model to its acquisition. Reframing translates the surface's
//! area-weighted centroid to the origin and rotates the principal axes of its second moment onto
//! x, y, z (largest variance first). Signs are deterministic: the first two axes point to the side
//! with positive third moment (skew); the third completes a right-handed frame, so the transform is
//! a proper rotation (det = +1), never a reflection.

use serde::{Deserialize, Serialize};

use crate::Mesh;
use crate::mesh::{V3, cross, dot, normalize, sub, v64};
use crate::par::{TRI_CHUNK, VERTEX_CHUNK};

/// A rigid transform `x' = R·x + t` (row-major `R`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RigidTransform {
    /// Rotation matrix, rows are the new axes in old coordinates.
    pub rotation: [[f64; 3]; 3],
    /// Translation applied after the rotation.
    pub translation: [f64; 3],
}

impl RigidTransform {
    /// The identity.
    pub const IDENTITY: RigidTransform = RigidTransform {
        rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        translation: [0.0; 3],
    };

    /// Apply to a point.
    pub fn apply(&self, p: V3) -> V3 {
        let r = &self.rotation;
        [
            dot(r[0], p) + self.translation[0],
            dot(r[1], p) + self.translation[1],
            dot(r[2], p) + self.translation[2],
        ]
    }

    /// Apply the rotation only (for directions and normals).
    pub fn rotate(&self, v: V3) -> V3 {
        let r = &self.rotation;
        [dot(r[0], v), dot(r[1], v), dot(r[2], v)]
    }
}

/// Area-weighted centroid, second-moment tensor about it, and total area, in one pass.
///
/// The sums run about a reference point on the surface (the first triangle's first corner), not
/// the origin, so scanner offsets of hundreds of millimetres cost no precision; the tensor is
/// then moved to the centroid by the parallel-axis theorem, `M_c = M_r − A·d·dᵀ`.
pub(crate) fn moments(mesh: &Mesh) -> (V3, [[f64; 3]; 3], f64) {
    let Some(first) = mesh.triangles.first() else {
        return ([0.0; 3], [[0.0; 3]; 3], 0.0);
    };
    let r = v64(mesh.vertices[first[0] as usize]);
    // Upper triangle of the tensor: (0,0) (0,1) (0,2) (1,1) (1,2) (2,2).
    const IJ: [(usize, usize); 6] = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];
    let acc = crate::par::sum(mesh.triangles.len(), TRI_CHUNK, |range| {
        // [area, first moment (3), second moment (6)]
        let mut acc = [0.0; 10];
        for t in &mesh.triangles[range] {
            let a = sub(v64(mesh.vertices[t[0] as usize]), r);
            let b = sub(v64(mesh.vertices[t[1] as usize]), r);
            let d = sub(v64(mesh.vertices[t[2] as usize]), r);
            let ar = 0.5 * crate::mesh::norm(cross(sub(b, a), sub(d, a)));
            let s = [a[0] + b[0] + d[0], a[1] + b[1] + d[1], a[2] + b[2] + d[2]];
            acc[0] += ar;
            for k in 0..3 {
                acc[1 + k] += ar * s[k] / 3.0;
            }
            // Exact over the triangle: ∫ x xᵀ dA = A/12 · (Σ vᵢvᵢᵀ + s sᵀ).
            for (k, &(i, j)) in IJ.iter().enumerate() {
                acc[4 + k] += ar / 12.0 * (a[i] * a[j] + b[i] * b[j] + d[i] * d[j] + s[i] * s[j]);
            }
        }
        acc
    });
    let area = acc[0];
    let offset = if area > 0.0 {
        [acc[1] / area, acc[2] / area, acc[3] / area]
    } else {
        [0.0; 3]
    };
    let c = [r[0] + offset[0], r[1] + offset[1], r[2] + offset[2]];
    let mut m = [[0.0; 3]; 3];
    for (k, &(i, j)) in IJ.iter().enumerate() {
        let v = acc[4 + k] - area * offset[i] * offset[j];
        m[i][j] = v;
        m[j][i] = v;
    }
    (c, m, area)
}

/// Eigen-decomposition of a symmetric 3×3 matrix by cyclic Jacobi rotations.
/// Returns eigenvalues (descending) and unit eigenvectors.
pub(crate) fn eigen_sym(mut a: [[f64; 3]; 3]) -> ([f64; 3], [V3; 3]) {
    let mut v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _ in 0..64 {
        let off = a[0][1].abs() + a[0][2].abs() + a[1][2].abs();
        let diag = a[0][0].abs() + a[1][1].abs() + a[2][2].abs();
        if off <= 1e-15 * diag.max(f64::MIN_POSITIVE) {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if a[p][q].abs() < f64::MIN_POSITIVE {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let t = if theta == 0.0 { 1.0 } else { t };
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            // A' = Jᵀ A J with the rotation in the (p, q) plane.
            for k in 0..3 {
                let akp = a[k][p];
                let akq = a[k][q];
                a[k][p] = c * akp - s * akq;
                a[k][q] = s * akp + c * akq;
            }
            for k in 0..3 {
                let apk = a[p][k];
                let aqk = a[q][k];
                a[p][k] = c * apk - s * aqk;
                a[q][k] = s * apk + c * aqk;
            }
            for row in &mut v {
                let vp = row[p];
                let vq = row[q];
                row[p] = c * vp - s * vq;
                row[q] = s * vp + c * vq;
            }
        }
    }
    let vals = [a[0][0], a[1][1], a[2][2]];
    let vec_k = |k: usize| normalize([v[0][k], v[1][k], v[2][k]]);
    let mut idx = [0usize, 1, 2];
    idx.sort_by(|&i, &j| vals[j].total_cmp(&vals[i]));
    (
        [vals[idx[0]], vals[idx[1]], vals[idx[2]]],
        [vec_k(idx[0]), vec_k(idx[1]), vec_k(idx[2])],
    )
}

/// Area, eigenvalues of the second moment and the principal axes, after reframing: the centroid
/// is the origin and the axes are x, y, z.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameMoments {
    pub(crate) area: f64,
    pub(crate) eigenvalues: [f64; 3],
    /// Signed enclosed volume about the centroid (the output frame's origin).
    pub(crate) volume: f64,
}

/// The reframing transform for `mesh` (centroid to origin, principal axes to x, y, z).
pub fn principal_frame(mesh: &Mesh) -> RigidTransform {
    principal_frame_with_moments(mesh).0
}

pub(crate) fn principal_frame_with_moments(mesh: &Mesh) -> (RigidTransform, FrameMoments) {
    let (c, m, area) = moments(mesh);
    let (eigenvalues, mut axes) = eigen_sym(m);
    // Deterministic signs from the third moment (skew) of triangle centroids along each axis;
    // the same pass sums the signed volume about the centroid.
    let [skew0, skew1, volume] = crate::par::sum(mesh.triangles.len(), TRI_CHUNK, |r| {
        let mut skew = [0.0f64; 3];
        for t in &mesh.triangles[r] {
            let a = v64(mesh.vertices[t[0] as usize]);
            let b = v64(mesh.vertices[t[1] as usize]);
            let d = v64(mesh.vertices[t[2] as usize]);
            let ar = 0.5 * crate::mesh::norm(cross(sub(b, a), sub(d, a)));
            let g = sub(
                [
                    (a[0] + b[0] + d[0]) / 3.0,
                    (a[1] + b[1] + d[1]) / 3.0,
                    (a[2] + b[2] + d[2]) / 3.0,
                ],
                c,
            );
            for k in 0..2 {
                let x = dot(g, axes[k]);
                skew[k] += ar * x * x * x;
            }
            skew[2] += dot(sub(a, c), cross(sub(b, c), sub(d, c))) / 6.0;
        }
        skew
    });
    let skew = [skew0, skew1];
    for k in 0..2 {
        if skew[k] < 0.0 {
            axes[k] = [-axes[k][0], -axes[k][1], -axes[k][2]];
        }
    }
    axes[2] = normalize(cross(axes[0], axes[1]));
    // `+ 0.0` turns -0.0 into 0.0: a flipped axis gets signed zeros, which mean nothing and
    // do not survive a round trip through JavaScript numbers (the npm module's report).
    let rotation = axes.map(|row| row.map(|v| v + 0.0));
    let rc = [
        dot(rotation[0], c),
        dot(rotation[1], c),
        dot(rotation[2], c),
    ];
    (
        RigidTransform {
            rotation,
            translation: [-rc[0] + 0.0, -rc[1] + 0.0, -rc[2] + 0.0],
        },
        FrameMoments {
            area,
            eigenvalues,
            volume,
        },
    )
}

/// Apply a rigid transform to every vertex (in f64, rounded once to f32).
pub fn apply(mesh: &mut Mesh, tf: &RigidTransform) {
    crate::progress::Hooks::quiet(|hooks| {
        crate::par::for_chunks_mut(&mut mesh.vertices, VERTEX_CHUNK, hooks, |_, part| {
            for p in part {
                let q = tf.apply(v64(*p));
                *p = [q[0] as f32, q[1] as f32, q[2] as f32];
            }
        })
    })
    // Quiet hooks never cancel.
    .unwrap_or(());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let m = [[4.0, 1.0, -2.0], [1.0, 3.0, 0.5], [-2.0, 0.5, 1.0]];
        let (vals, vecs) = eigen_sym(m);
        assert!(vals[0] >= vals[1] && vals[1] >= vals[2]);
        for k in 0..3 {
            let v = vecs[k];
            let mv = [dot(m[0], v), dot(m[1], v), dot(m[2], v)];
            for i in 0..3 {
                assert!((mv[i] - vals[k] * v[i]).abs() < 1e-9);
            }
        }
        // Trace is preserved.
        assert!((vals.iter().sum::<f64>() - 8.0).abs() < 1e-9);
    }
}
