//! Pose-free head and face detection.
//!
//! 1. **Mirror plane.** A head is bilaterally symmetric, and the normal of a mirror plane of a
//!    shape is an eigenvector of its second-moment tensor, so each principal axis is tried as the
//!    left–right axis and refined by local search to minimise the mirror error (mean distance of
//!    reflected surface samples to the surface). Rotations, translations and LPS/RAS flips do not
//!    change any of this.
//! 2. **Nose.** On a mirror plane, the mid-sagittal section is a closed profile. The nose is its one
//!    sharp protrusion: a local maximum of the radial profile that drops on both sides within 25°
//!    (nasion above, subnasale below: *prominence*) and also drops sideways off the plane (cheeks:
//!    *lateral drop*). A chin is wide sideways, the rim of a cut neck is flat sideways, an ellipsoid
//!    has no prominence, and a cube has several equal corners (not *unique*).
//! 3. **Face.** The anterior direction points from the centroid to the nose tip within the mirror
//!    plane; the face (nose, orbits, mouth, chin, forehead front) is the slab within a fraction of
//!    the head's depth behind the nose tip.
//!
//! All thresholds are relative to the RMS radius of the surface, so the units do not matter.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use super::plane::CutPlane;
use crate::Mesh;
use crate::mesh::{V3, add, cross, dot, greater, lesser, norm, normalize, scale, sub, v64};
use crate::progress::Hooks;
use crate::reframe::{FrameMoments, eigen_sym, moments};

/// Evidence behind an `auto` decision (all lengths relative to the RMS radius of the surface).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadEvidence {
    /// Smallest over largest principal extent.
    #[serde(deserialize_with = "crate::nan::f64_or_nan")]
    pub aspect: f64,
    /// Mirror error of the best mirror plane (mean reflected distance / RMS radius).
    #[serde(deserialize_with = "crate::nan::f64_or_nan")]
    pub symmetry_error: f64,
    /// Prominence of the nose candidate in the sagittal profile.
    #[serde(deserialize_with = "crate::nan::f64_or_nan")]
    pub nose_prominence: f64,
    /// Drop of the surface beside the nose candidate, off the mirror plane.
    #[serde(deserialize_with = "crate::nan::f64_or_nan")]
    pub nose_lateral_drop: f64,
    /// Score of the best other protrusion divided by the nose's (uniqueness; low is good).
    #[serde(deserialize_with = "crate::nan::f64_or_nan")]
    pub runner_up_ratio: f64,
    /// Unit anterior direction found (output coordinates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anterior: Option<[f64; 3]>,
}

/// Thresholds (relative to the RMS radius).
const MIN_ASPECT: f64 = 0.35;
const MAX_SYMMETRY_ERROR: f64 = 0.05;
const MIN_NOSE_SCORE: f64 = 0.06;
const MAX_RUNNER_UP: f64 = 0.8;

pub(crate) enum Detection {
    Head {
        plane: CutPlane,
        evidence: HeadEvidence,
    },
    NotHead {
        reason: String,
        evidence: Option<HeadEvidence>,
    },
}

/// A flat uniform grid (CSR) over sample points, for capped nearest-point queries. The points
/// are stored by cell (`points[start[c]..start[c + 1]]` are cell `c`'s), so a query reads each
/// cell's points contiguously.
struct Grid {
    cell: f64,
    lo: V3,
    dims: [i64; 3],
    start: Vec<u32>,
    points: Vec<V3>,
}

impl Grid {
    /// The cell of `p`, clamped to one cell beyond the neighbours of the grid's edge cells: a cell
    /// further out has no neighbour in the grid either, and its ±1 neighbours never overflow.
    fn cell_of(&self, p: V3) -> [i64; 3] {
        [0, 1, 2].map(|k| {
            ((p[k] - self.lo[k]) / self.cell)
                .floor()
                .clamp(-2.0, self.dims[k] as f64 + 1.0) as i64
        })
    }
    fn index(&self, k: [i64; 3]) -> Option<usize> {
        if (0..3).all(|i| k[i] >= 0 && k[i] < self.dims[i]) {
            Some(((k[0] * self.dims[1] + k[1]) * self.dims[2] + k[2]) as usize)
        } else {
            None
        }
    }
    fn new(points: &[V3], cell: f64) -> Grid {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for p in points {
            for k in 0..3 {
                lo[k] = lesser(lo[k], p[k]);
                hi[k] = greater(hi[k], p[k]);
            }
        }
        if points.is_empty() {
            lo = [0.0; 3];
            hi = [0.0; 3];
        }
        // The cell is relative to the RMS radius, so the grid stays small (≈ 40³ cells at most
        // for any shape this detector goes on to examine); clamp anyway.
        let dims = [0, 1, 2].map(|k| (((hi[k] - lo[k]) / cell).floor() as i64 + 1).clamp(1, 256));
        let mut g = Grid {
            cell,
            lo,
            dims,
            start: Vec::new(),
            points: Vec::new(),
        };
        let n = (dims[0] * dims[1] * dims[2]) as usize;
        let mut count = vec![0u32; n + 1];
        let idx: Vec<Option<usize>> = points.iter().map(|p| g.index(g.cell_of(*p))).collect();
        for c in idx.iter().flatten() {
            count[c + 1] += 1;
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let mut fill = count.clone();
        let mut sorted = vec![[0.0; 3]; count[n] as usize];
        for (p, c) in points.iter().zip(&idx) {
            if let Some(c) = c {
                sorted[fill[*c] as usize] = *p;
                fill[*c] += 1;
            }
        }
        g.start = count;
        g.points = sorted;
        g
    }
    /// Squared distance from `q` to the nearest point of cell `c`, or `best` if none is nearer.
    fn nearest_in(&self, c: usize, q: V3, best: f64) -> f64 {
        self.points[self.start[c] as usize..self.start[c + 1] as usize]
            .iter()
            .fold(best, |best, &p| {
                let d = sub(p, q);
                lesser(best, dot(d, d))
            })
    }
    /// Distance from `q` to the nearest point, capped at `cap` (≤ the cell size).
    ///
    /// Only the 3×3×3 cells around `q` can hold a point within `cap`. Its own cell is searched
    /// first; a neighbour is then skipped when its box is farther than the nearest point found
    /// (less a margin for the rounding of the box's bounds), since none of its points can be
    /// nearer: the answer is the minimum over all 27 cells, as if every one were searched.
    fn nearest(&self, q: V3, cap: f64) -> f64 {
        let k = self.cell_of(q);
        let mut best = cap * cap;
        if let Some(c) = self.index(k) {
            best = self.nearest_in(c, q, best);
        }
        let slack = 1e-9 * self.cell * self.cell;
        // Distance from q to the near and far faces of its own cell, per axis.
        let (below, above) = crate::mesh::cell_face_gaps(q, self.lo, k, self.cell);
        // Axis by axis, so a whole slab of neighbours is skipped at once.
        let gap = |i: usize, d: i64| match d {
            -1 => below[i],
            1 => above[i],
            _ => 0.0,
        };
        for dx in -1..=1 {
            let gx = gap(0, dx) * gap(0, dx);
            if gx > best + slack {
                continue;
            }
            for dy in -1..=1 {
                let gxy = gx + gap(1, dy) * gap(1, dy);
                if gxy > best + slack {
                    continue;
                }
                for dz in -1..=1 {
                    if dx == 0 && dy == 0 && dz == 0 {
                        continue;
                    }
                    if gxy + gap(2, dz) * gap(2, dz) > best + slack {
                        continue;
                    }
                    if let Some(c) = self.index([k[0] + dx, k[1] + dy, k[2] + dz]) {
                        best = self.nearest_in(c, q, best);
                    }
                }
            }
        }
        best.sqrt()
    }
}

/// A multiplicative hash for grid cell keys (the keys are not chosen by an adversary who could
/// gain anything from collisions, and SipHash made this set a fifth of the detector's time).
#[derive(Default)]
struct CellHasher(u64);

impl Hasher for CellHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_i32(&mut self, i: i32) {
        self.0 = (self.0.rotate_left(21) ^ u64::from(i as u32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Surface samples about `cell` apart: vertices, plus points inside triangles larger than a cell.
fn samples(mesh: &Mesh, c: V3, cell: f64) -> Vec<V3> {
    let mut seen: HashSet<[i32; 3], BuildHasherDefault<CellHasher>> = HashSet::default();
    let mut out = Vec::new();
    let stride = (mesh.vertices.len() / 150_000).max(1);
    // The vertices in parallel parts, each keeping the first point of every cell it meets; the
    // parts then merge in order, which keeps the first point of every cell over all vertices.
    let cell_of = |q: V3| {
        [
            (q[0] / cell).floor() as i32,
            (q[1] / cell).floor() as i32,
            (q[2] / cell).floor() as i32,
        ]
    };
    let strided: Vec<V3> = mesh
        .vertices
        .iter()
        .step_by(stride)
        .map(|p| sub(v64(*p), c))
        .collect();
    const PART: usize = 32 * 1024;
    let parts = Hooks::quiet(|h| {
        crate::par::map(strided.len().div_ceil(PART), h, |k| {
            let mut seen: HashSet<[i32; 3], BuildHasherDefault<CellHasher>> = HashSet::default();
            strided[k * PART..((k + 1) * PART).min(strided.len())]
                .iter()
                .filter(|&&q| seen.insert(cell_of(q)))
                .copied()
                .collect::<Vec<V3>>()
        })
    })
    .unwrap_or_default();
    for q in parts.into_iter().flatten() {
        if seen.insert(cell_of(q)) {
            out.push(q);
        }
    }
    let mut push = |p: V3, out: &mut Vec<V3>| {
        let q = sub(p, c);
        if seen.insert(cell_of(q)) {
            out.push(q);
        }
    };
    if mesh.triangles.len() <= 300_000 {
        for t in &mesh.triangles {
            let a = v64(mesh.vertices[t[0] as usize]);
            let b = v64(mesh.vertices[t[1] as usize]);
            let d = v64(mesh.vertices[t[2] as usize]);
            let longest = norm(sub(b, a)).max(norm(sub(d, b))).max(norm(sub(a, d)));
            if longest <= cell {
                continue;
            }
            let k = ((longest / cell).ceil() as usize).min(64);
            for i in 0..=k {
                for j in 0..=(k - i) {
                    let (s, t2) = (i as f64 / k as f64, j as f64 / k as f64);
                    let p = add(a, add(scale(sub(b, a), s), scale(sub(d, a), t2)));
                    push(p, &mut out);
                }
            }
        }
    }
    out
}

fn reflect(p: V3, n: V3) -> V3 {
    sub(p, scale(n, 2.0 * dot(p, n)))
}

fn rotate_about(v: V3, axis: V3, ang: f64) -> V3 {
    // Rodrigues' rotation formula.
    let (s, c) = ang.sin_cos();
    add(
        add(scale(v, c), scale(cross(axis, v), s)),
        scale(axis, dot(axis, v) * (1.0 - c)),
    )
}

fn perpendicular(n: V3) -> (V3, V3) {
    let u = normalize(if n[0].abs() < 0.9 {
        cross(n, [1.0, 0.0, 0.0])
    } else {
        cross(n, [0.0, 1.0, 0.0])
    });
    (u, cross(n, u))
}

struct Nose {
    score: f64,
    prominence: f64,
    drop: f64,
    tip: V3, // relative to the centroid
    dir: V3,
}

pub(crate) fn detect(mesh: &Mesh, depth_fraction: f64, frame: Option<&FrameMoments>) -> Detection {
    // After reframing the moments are known: centroid at the origin, axes x, y, z.
    let (c, area, vals, axes) = match frame {
        Some(f) => (
            [0.0; 3],
            f.area,
            f.eigenvalues,
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        ),
        None => {
            let (c, m, area) = moments(mesh);
            let (vals, axes) = eigen_sym(m);
            (c, area, vals, axes)
        }
    };
    if area <= 0.0 || mesh.triangles.len() < 16 {
        return Detection::NotHead {
            reason: "too few triangles to be a head model".into(),
            evidence: None,
        };
    }
    let r_rms = ((vals[0] + vals[1] + vals[2]) / area).max(0.0).sqrt();
    if r_rms <= 0.0 || !r_rms.is_finite() {
        return Detection::NotHead {
            reason: "degenerate geometry".into(),
            evidence: None,
        };
    }
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for p in &mesh.vertices {
        let q = sub(v64(*p), c);
        for k in 0..3 {
            let x = dot(q, axes[k]);
            lo[k] = lesser(lo[k], x);
            hi[k] = greater(hi[k], x);
        }
    }
    let ext: Vec<f64> = (0..3).map(|k| hi[k] - lo[k]).collect();
    let aspect = ext.iter().cloned().fold(f64::INFINITY, f64::min)
        / ext
            .iter()
            .cloned()
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
    let mut evidence = HeadEvidence {
        aspect,
        symmetry_error: f64::NAN,
        nose_prominence: 0.0,
        nose_lateral_drop: 0.0,
        runner_up_ratio: f64::NAN,
        anterior: None,
    };
    if aspect < MIN_ASPECT {
        return Detection::NotHead {
            reason: format!("elongated shape (aspect {aspect:.2}), not a head"),
            evidence: Some(evidence),
        };
    }
    let pts = samples(mesh, c, r_rms / 20.0);
    let grid_cell = r_rms / 10.0;
    let grid = Grid::new(&pts, grid_cell);
    let eval_stride = (pts.len() / 800).max(1);
    let eval: Vec<V3> = pts.iter().step_by(eval_stride).copied().collect();
    let sym = |n: V3| -> f64 {
        let s: f64 = eval
            .iter()
            .map(|&p| grid.nearest(reflect(p, n), grid_cell))
            .sum();
        s / eval.len().max(1) as f64 / r_rms
    };
    // Mirror planes: start from each principal axis, refine by local search.
    // The three searches are independent: run them in parallel.
    let search = |axis: V3| -> (f64, V3) {
        let mut n = axis;
        let mut best = sym(n);
        for step_deg in [6.0f64, 3.0, 1.5, 0.75] {
            let step = step_deg.to_radians();
            for _ in 0..3 {
                let (u, w) = perpendicular(n);
                let mut improved = false;
                for cand in [
                    rotate_about(n, u, step),
                    rotate_about(n, u, -step),
                    rotate_about(n, w, step),
                    rotate_about(n, w, -step),
                ] {
                    let e = sym(cand);
                    if e < best {
                        best = e;
                        n = normalize(cand);
                        improved = true;
                    }
                }
                if !improved {
                    break;
                }
            }
        }
        (best, n)
    };
    let mut planes: Vec<(f64, V3)> =
        Hooks::quiet(|h| crate::par::map(3, h, |k| search(axes[k]))).unwrap_or_default();
    if planes.len() != 3 {
        return Detection::NotHead {
            reason: "mirror plane search did not run".into(),
            evidence: Some(evidence),
        };
    }
    planes.sort_by(|a, b| a.0.total_cmp(&b.0));
    evidence.symmetry_error = planes[0].0;
    if planes[0].0 > MAX_SYMMETRY_ERROR {
        return Detection::NotHead {
            reason: format!(
                "no mirror plane (best mirror error {:.3} of the radius), not a head",
                planes[0].0
            ),
            evidence: Some(evidence),
        };
    }
    let mirrors: Vec<V3> = planes
        .iter()
        .filter(|p| p.0 <= MAX_SYMMETRY_ERROR)
        .map(|p| p.1)
        .collect();
    let mut cands: Vec<Nose> = Hooks::quiet(|h| {
        crate::par::map(mirrors.len(), h, |k| {
            profile_peaks(mesh, c, mirrors[k], r_rms, &pts)
        })
    })
    .unwrap_or_default()
    .into_iter()
    .flatten()
    .collect();
    cands.sort_by(|a, b| b.score.total_cmp(&a.score));
    let Some(best) = cands.first() else {
        return Detection::NotHead {
            reason: "no protrusion on the mirror plane (no nose), not a head".into(),
            evidence: Some(evidence),
        };
    };
    let runner = cands
        .iter()
        .skip(1)
        .find(|o| dot(o.dir, best.dir) < (30f64).to_radians().cos())
        .map_or(0.0, |o| o.score);
    evidence.nose_prominence = best.prominence;
    evidence.nose_lateral_drop = best.drop;
    evidence.runner_up_ratio = if best.score > 0.0 {
        runner / best.score
    } else {
        f64::NAN
    };
    if best.score < MIN_NOSE_SCORE {
        return Detection::NotHead {
            reason: format!(
                "no sharp protrusion on the mirror plane (best {:.3} of the radius, need {MIN_NOSE_SCORE}), not a head",
                best.score
            ),
            evidence: Some(evidence),
        };
    }
    if evidence.runner_up_ratio > MAX_RUNNER_UP {
        return Detection::NotHead {
            reason: format!(
                "several equal protrusions (runner-up {:.2} of the best), not a single nose: not a head",
                evidence.runner_up_ratio
            ),
            evidence: Some(evidence),
        };
    }
    let a = best.dir;
    evidence.anterior = Some(a);
    let h_tip = dot(best.tip, a);
    let h_back = mesh
        .vertices
        .iter()
        .map(|p| dot(sub(v64(*p), c), a))
        .fold(f64::INFINITY, f64::min);
    let depth = depth_fraction * (h_tip - h_back);
    let point = add(c, scale(a, h_tip - depth));
    Detection::Head {
        plane: CutPlane { point, normal: a },
        evidence,
    }
}

/// Nose candidates on the mid-sagittal section through the centroid with normal `n`.
fn profile_peaks(mesh: &Mesh, c: V3, n: V3, r_rms: f64, pts: &[V3]) -> Vec<Nose> {
    const NB: usize = 720;
    let (u, w) = perpendicular(n);
    // The signed distance to the plane of a vertex; only the plane's side of every vertex is
    // kept (a byte each, not eight: the triangle scan below reads three per triangle from all
    // over the mesh), and the few triangles the plane crosses compute their distances again.
    let sd = |i: u32| dot(sub(v64(mesh.vertices[i as usize]), c), n);
    let front: Vec<bool> = mesh
        .vertices
        .iter()
        .map(|p| dot(sub(v64(*p), c), n) > 0.0)
        .collect();
    let mut r = vec![f64::NAN; NB];
    let mut at = vec![[0.0f64; 2]; NB];
    let step = r_rms / 100.0;
    for t in &mesh.triangles {
        let pos = t.iter().filter(|&&i| front[i as usize]).count();
        if pos == 0 || pos == 3 {
            continue;
        }
        let d = [sd(t[0]), sd(t[1]), sd(t[2])];
        let mut ends: [[f64; 2]; 2] = [[0.0; 2]; 2];
        let mut ne = 0;
        for e in 0..3 {
            let (i, j) = (e, (e + 1) % 3);
            if (d[i] > 0.0) != (d[j] > 0.0) && ne < 2 {
                let pi = sub(v64(mesh.vertices[t[i] as usize]), c);
                let pj = sub(v64(mesh.vertices[t[j] as usize]), c);
                let s = d[i] / (d[i] - d[j]);
                let p = add(pi, scale(sub(pj, pi), s));
                ends[ne] = [dot(p, u), dot(p, w)];
                ne += 1;
            }
        }
        if ne < 2 {
            continue;
        }
        let len = ((ends[1][0] - ends[0][0]).powi(2) + (ends[1][1] - ends[0][1]).powi(2)).sqrt();
        let k = ((len / step).ceil() as usize).clamp(1, 400);
        for s in 0..=k {
            let f = s as f64 / k as f64;
            let x = ends[0][0] + f * (ends[1][0] - ends[0][0]);
            let y = ends[0][1] + f * (ends[1][1] - ends[0][1]);
            let rad = (x * x + y * y).sqrt();
            let ang = y.atan2(x);
            let b = (((ang + std::f64::consts::PI) / std::f64::consts::TAU * NB as f64) as usize)
                .min(NB - 1);
            if r[b].is_nan() || rad > r[b] {
                r[b] = rad;
                at[b] = [x, y];
            }
        }
    }
    let filled = r.iter().filter(|v| !v.is_nan()).count();
    if filled < NB / 2 {
        return Vec::new();
    }
    // Fill gaps by circular linear interpolation.
    let known: Vec<usize> = (0..NB).filter(|&i| !r[i].is_nan()).collect();
    for (ki, &i) in known.iter().enumerate() {
        let j = known[(ki + 1) % known.len()];
        let gap = (j + NB - i) % NB;
        for g in 1..gap {
            let f = g as f64 / gap as f64;
            r[(i + g) % NB] = r[i] * (1.0 - f) + r[j] * f;
        }
    }
    let at_bin = |i: usize| r[i % NB];
    let mut out = Vec::new();
    let local = 12usize; // ±6°
    let win = 50usize; // 25°
    for i in 0..NB {
        let ri = r[i];
        let mut is_max = true;
        for o in 1..=local {
            let (a, b) = (at_bin(i + o), at_bin(i + NB - o));
            if a > ri || b >= ri {
                is_max = false;
                break;
            }
        }
        if !is_max {
            continue;
        }
        let left = (0..=win)
            .map(|o| at_bin(i + NB - o))
            .fold(f64::INFINITY, f64::min);
        let right = (0..=win)
            .map(|o| at_bin(i + o))
            .fold(f64::INFINITY, f64::min);
        let prominence = (ri - left.max(right)) / r_rms;
        if prominence <= 0.01 {
            continue;
        }
        let p2 = if !at[i][0].is_nan() && (at[i][0] != 0.0 || at[i][1] != 0.0) {
            at[i]
        } else {
            let ang = (i as f64 + 0.5) / NB as f64 * std::f64::consts::TAU - std::f64::consts::PI;
            [ri * ang.cos(), ri * ang.sin()]
        };
        let tip = add(scale(u, p2[0]), scale(w, p2[1]));
        let dir = normalize(tip);
        let drop = lateral_drop(pts, tip, dir, n, r_rms) / r_rms;
        out.push(Nose {
            score: prominence.min(drop),
            prominence,
            drop,
            tip,
            dir,
        });
    }
    out
}

/// How far the surface falls behind the tip at ±0.2 R beside it, off the mirror plane.
fn lateral_drop(pts: &[V3], tip: V3, d: V3, n: V3, r_rms: f64) -> f64 {
    let ell = 0.2 * r_rms;
    let tube = 0.06 * r_rms;
    let mut worst = f64::INFINITY;
    for side in [1.0, -1.0] {
        let center = add(tip, scale(n, side * ell));
        let mut h = f64::NEG_INFINITY;
        for &q in pts {
            let rel = sub(q, center);
            let along = dot(rel, d);
            let perp = sub(rel, scale(d, along));
            if dot(perp, perp) < tube * tube {
                h = h.max(along);
            }
        }
        let drop = if h.is_finite() { -h } else { ell };
        worst = worst.min(drop);
    }
    worst
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The capped nearest distance by brute force over every point.
    fn brute(points: &[V3], q: V3, cap: f64) -> f64 {
        points
            .iter()
            .map(|&p| {
                let d = sub(p, q);
                dot(d, d)
            })
            .fold(cap * cap, f64::min)
            .sqrt()
    }

    proptest! {
        // The pruned search gives exactly the brute-force answer (not just close to it): the
        // mirror search compares sums of these distances, and the plane it picks must not move.
        #[test]
        fn nearest_equals_brute_force(
            points in proptest::collection::vec(proptest::array::uniform3(-50.0f64..50.0), 1..400),
            queries in proptest::collection::vec(proptest::array::uniform3(-60.0f64..60.0), 1..60),
            cell in 0.5f64..20.0,
        ) {
            let grid = Grid::new(&points, cell);
            for q in queries.iter().copied().chain(points.iter().take(20).copied()) {
                // Within the grid the cap is the cell; beyond it, any cap up to the cell.
                prop_assert_eq!(grid.nearest(q, cell).to_bits(), brute(&points, q, cell).to_bits());
                prop_assert_eq!(
                    grid.nearest(q, cell * 0.3).to_bits(),
                    brute(&points, q, cell * 0.3).to_bits()
                );
            }
        }
    }
}
