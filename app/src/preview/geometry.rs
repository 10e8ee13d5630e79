//! Preview geometry: what the Models page's 3D viewer draws, prepared in the mesh worker so the
//! page thread only uploads buffers.
//!
//! Two views share one frame (the de-identified output's): *before* is the input moved by the
//! reframing transform, with the region the deface step removed highlighted; *after* is the
//! output coloured by its distance to the input surface (the deviation the utility report
//! summarises as a Hausdorff distance). Large models are thinned to a triangle budget for display
//! only; the downloaded file is never thinned.

use veil_mesh::utility::SurfaceDistance;

/// A triangle mesh ready for WebGL: `xyz` positions, `rgb` colours, triangle indices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreviewGeometry {
    /// Vertex positions, three floats per vertex.
    pub positions: Vec<f32>,
    /// Vertex colours, three bytes (sRGB) per vertex.
    pub colours: Vec<u8>,
    /// Triangles, three vertex indices each.
    pub indices: Vec<u32>,
    /// Triangles of the model (before thinning for display).
    pub total_triangles: u64,
}

impl PreviewGeometry {
    /// Triangles drawn.
    pub fn shown_triangles(&self) -> u64 {
        (self.indices.len() / 3) as u64
    }
}

/// Both views and what the legend needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreviewPair {
    /// The input in the output frame; removed region highlighted.
    pub before: PreviewGeometry,
    /// The output coloured by deviation.
    pub after: PreviewGeometry,
    /// Centre of the before view's bounds (the camera's target).
    pub centre: [f32; 3],
    /// Half the diagonal of those bounds (frames the camera).
    pub radius: f32,
    /// Deviation (mm) shown at the top of the colour ramp.
    pub scale_mm: f32,
    /// Largest deviation measured over the shown output vertices (mm), cut surface excluded.
    pub max_mm: f32,
    /// Output vertices coloured as cut surface (on the cap, not compared).
    pub cut_vertices: u64,
    /// Input vertices inside the removed region.
    pub removed_vertices: u64,
}

/// The plane the deface step cut along: points with positive distance were removed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemovedHalfSpace {
    /// A point on the plane (output frame).
    pub point: [f64; 3],
    /// Unit normal pointing into the removed side.
    pub normal: [f64; 3],
}

impl RemovedHalfSpace {
    fn distance(&self, p: [f32; 3]) -> f64 {
        (0..3)
            .map(|k| (f64::from(p[k]) - self.point[k]) * self.normal[k])
            .sum()
    }
}

/// Colour of the input surface.
pub const SURFACE: [u8; 3] = [178, 188, 201];
/// Colour of the removed region (a magenta that no deviation colour uses).
pub const REMOVED: [u8; 3] = [214, 38, 128];
/// Colour of the cut surface (cap) in the output.
pub const CUT: [u8; 3] = [120, 124, 130];

/// The deviation colour ramp at `t` in `[0, 1]`: dark blue, teal, green, yellow (viridis stops,
/// perceptually ordered and readable with the common colour-vision deficiencies).
pub fn ramp(t: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] = [
        [68.0, 1.0, 84.0],
        [59.0, 82.0, 139.0],
        [33.0, 145.0, 140.0],
        [94.0, 201.0, 98.0],
        [253.0, 231.0, 37.0],
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let x = t * (STOPS.len() - 1) as f32;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f32;
    let mut out = [0u8; 3];
    for (k, o) in out.iter_mut().enumerate() {
        *o = (STOPS[i][k] + f * (STOPS[i + 1][k] - STOPS[i][k])).round() as u8;
    }
    out
}

/// Indices of the triangles kept for display: every `k`-th, `k` the smallest stride that fits
/// `budget`. Deterministic, and spread over the whole model.
pub fn thin(triangle_count: usize, budget: usize) -> impl Iterator<Item = usize> {
    let stride = triangle_count.div_ceil(budget.max(1)).max(1);
    (0..triangle_count).step_by(stride)
}

/// Gather the kept triangles with their own compact vertex list; `place` maps a vertex into the
/// display frame. Returns positions, indices and, per new vertex, the original vertex index.
fn gather(
    vertices: &[[f32; 3]],
    triangles: &[[u32; 3]],
    budget: usize,
    place: impl Fn([f32; 3]) -> [f32; 3],
) -> (Vec<f32>, Vec<u32>, Vec<u32>) {
    let mut map = vec![u32::MAX; vertices.len()];
    let mut originals = Vec::new();
    let mut positions = Vec::new();
    let mut indices = Vec::new();
    for t in thin(triangles.len(), budget) {
        let tri = triangles[t];
        if tri.iter().any(|&i| i as usize >= vertices.len()) {
            continue;
        }
        for &i in &tri {
            let slot = &mut map[i as usize];
            if *slot == u32::MAX {
                *slot = originals.len() as u32;
                originals.push(i);
                positions.extend_from_slice(&place(vertices[i as usize]));
            }
            indices.push(*slot);
        }
    }
    (positions, indices, originals)
}

fn bounds(positions: &[f32]) -> ([f32; 3], [f32; 3]) {
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    for p in positions.chunks_exact(3) {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    if positions.is_empty() {
        return ([0.0; 3], [0.0; 3]);
    }
    (lo, hi)
}

/// The input surface and what happened to it, in the output frame.
pub struct BeforeModel<'a> {
    /// Input vertices (as read, welded).
    pub vertices: &'a [[f32; 3]],
    /// Input triangles.
    pub triangles: &'a [[u32; 3]],
    /// Maps an input point into the output frame (the reframing transform; identity if none).
    pub to_output: &'a dyn Fn([f32; 3]) -> [f32; 3],
    /// The region the deface step removed, if it cut.
    pub removed: Option<RemovedHalfSpace>,
}

/// Build both views. `budget` bounds the triangles per view; `progress` gets fractions in `[0, 1]`.
pub fn build(
    before: &BeforeModel<'_>,
    after_vertices: &[[f32; 3]],
    after_triangles: &[[u32; 3]],
    budget: usize,
    progress: &mut dyn FnMut(f32),
) -> PreviewPair {
    // The input surface in the output frame, once: it is both the before view and the reference
    // the deviation is measured against.
    let placed: Vec<[f32; 3]> = before
        .vertices
        .iter()
        .map(|&p| (before.to_output)(p))
        .collect();
    progress(0.1);

    let (positions, indices, _) = gather(&placed, before.triangles, budget, |p| p);
    let mut removed_vertices = 0u64;
    let mut colours = Vec::with_capacity(positions.len());
    for p in positions.chunks_exact(3) {
        let inside = before
            .removed
            .is_some_and(|h| h.distance([p[0], p[1], p[2]]) > 0.0);
        removed_vertices += u64::from(inside);
        colours.extend_from_slice(if inside { &REMOVED } else { &SURFACE });
    }
    let (lo, hi) = bounds(&positions);
    let centre = [
        (lo[0] + hi[0]) / 2.0,
        (lo[1] + hi[1]) / 2.0,
        (lo[2] + hi[2]) / 2.0,
    ];
    let radius = (0..3)
        .map(|k| (hi[k] - lo[k]) * (hi[k] - lo[k]))
        .sum::<f32>()
        .sqrt()
        / 2.0;
    let before_geometry = PreviewGeometry {
        positions,
        colours,
        indices,
        total_triangles: before.triangles.len() as u64,
    };
    progress(0.3);

    // Deviation of each shown output vertex from the input surface. Only the part of the input
    // that was kept is a fair reference: a cap vertex is far from the skin by design.
    let (removed, triangles) = (before.removed, before.triangles);
    let kept = |ti: usize| match removed {
        None => true,
        Some(h) => triangles[ti].iter().any(|&i| {
            placed
                .get(i as usize)
                .is_some_and(|&p| h.distance(p) <= 0.0)
        }),
    };
    // The report's own grid (exact distances, pruned search). The pipeline's output is valid, so
    // an error here only means nothing is coloured.
    let index = SurfaceDistance::new(&placed, triangles, &kept).ok();
    progress(0.5);
    let (positions, indices, _) = gather(after_vertices, after_triangles, budget, |p| p);
    let n = positions.len() / 3;
    let mut deviation = vec![0.0f32; n];
    let mut cut = vec![false; n];
    // The cap lies on the plane; mask noise and smoothing move it by well under a millimetre.
    const CAP_TOLERANCE_MM: f64 = 1.0;
    for (i, p) in positions.chunks_exact(3).enumerate() {
        let p = [p[0], p[1], p[2]];
        if before
            .removed
            .is_some_and(|h| h.distance(p) > -CAP_TOLERANCE_MM)
        {
            cut[i] = true;
        } else {
            deviation[i] = index.as_ref().and_then(|x| x.distance(p)).unwrap_or(0.0) as f32;
        }
        if i % 4096 == 0 && n > 0 {
            progress(0.5 + 0.45 * i as f32 / n as f32);
        }
    }
    let compared: Vec<f32> = deviation
        .iter()
        .zip(&cut)
        .filter(|(_, c)| !**c)
        .map(|(d, _)| *d)
        .collect();
    let max_mm = compared.iter().copied().fold(0.0f32, f32::max);
    let scale_mm = percentile(&compared, 0.99).max(0.01);
    let mut colours = Vec::with_capacity(positions.len());
    for (d, c) in deviation.iter().zip(&cut) {
        colours.extend_from_slice(&if *c { CUT } else { ramp(d / scale_mm) });
    }
    let after = PreviewGeometry {
        positions,
        colours,
        indices,
        total_triangles: after_triangles.len() as u64,
    };
    progress(1.0);
    PreviewPair {
        before: before_geometry,
        after,
        centre,
        radius: if radius.is_finite() && radius > 0.0 {
            radius
        } else {
            1.0
        },
        scale_mm,
        max_mm,
        cut_vertices: cut.iter().filter(|c| **c).count() as u64,
        removed_vertices,
    }
}

/// The `q`-quantile of `values` (0 for none).
fn percentile(values: &[f32], q: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    let k = ((v.len() - 1) as f32 * q.clamp(0.0, 1.0)).round() as usize;
    let (_, x, _) = v.select_nth_unstable_by(k, f32::total_cmp);
    *x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube() -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
        let v = (0..8)
            .map(|i| {
                [
                    (i & 1) as f32 * 10.0,
                    ((i >> 1) & 1) as f32 * 10.0,
                    ((i >> 2) & 1) as f32 * 10.0,
                ]
            })
            .collect();
        let t = vec![
            [0, 2, 1],
            [1, 2, 3],
            [4, 5, 6],
            [5, 7, 6],
            [0, 1, 4],
            [1, 5, 4],
            [2, 6, 3],
            [3, 6, 7],
            [0, 4, 2],
            [2, 4, 6],
            [1, 3, 5],
            [3, 7, 5],
        ];
        (v, t)
    }

    #[test]
    fn ramp_runs_from_dark_blue_to_yellow_and_clamps() {
        assert_eq!(ramp(0.0), [68, 1, 84]);
        assert_eq!(ramp(1.0), [253, 231, 37]);
        assert_eq!(ramp(7.0), ramp(1.0));
        assert_eq!(ramp(-1.0), ramp(0.0));
        assert_eq!(ramp(f32::NAN), ramp(1.0));
    }

    #[test]
    fn thinning_respects_the_budget_and_keeps_small_models_whole() {
        assert_eq!(thin(10, 100).count(), 10);
        assert!(thin(1_000_001, 1000).count() <= 1000);
        assert_eq!(thin(0, 10).count(), 0);
    }

    #[test]
    fn identical_models_have_zero_deviation_and_a_moved_one_shows_its_offset() {
        let (v, t) = cube();
        let id = |p: [f32; 3]| p;
        let before = BeforeModel {
            vertices: &v,
            triangles: &t,
            to_output: &id,
            removed: None,
        };
        let same = build(&before, &v, &t, 1000, &mut |_| {});
        assert_eq!(same.max_mm, 0.0);
        assert_eq!(same.after.shown_triangles(), 12);
        assert_eq!(same.before.positions.len(), 24);
        assert!((same.radius - (300.0f32).sqrt() / 2.0 * 1.0).abs() < 1e-3);
        // Push one corner 0.5 mm outwards along x: its deviation is its distance to the cube.
        let mut moved = v.clone();
        moved[7][0] += 0.5;
        let shifted = build(&before, &moved, &t, 1000, &mut |_| {});
        assert!((shifted.max_mm - 0.5).abs() < 1e-4, "{}", shifted.max_mm);
    }

    #[test]
    fn the_removed_region_is_highlighted_and_the_cap_is_not_compared() {
        let (v, t) = cube();
        let id = |p: [f32; 3]| p;
        let plane = RemovedHalfSpace {
            point: [0.0, 0.0, 5.0],
            normal: [0.0, 0.0, 1.0],
        };
        let before = BeforeModel {
            vertices: &v,
            triangles: &t,
            to_output: &id,
            removed: Some(plane),
        };
        // The "output": the cube cut at z = 5 (its top four corners moved down onto the plane).
        let mut cut = v.clone();
        for p in &mut cut {
            if p[2] > 5.0 {
                p[2] = 5.0;
            }
        }
        let pair = build(&before, &cut, &t, 1000, &mut |_| {});
        assert_eq!(pair.removed_vertices, 4);
        assert_eq!(pair.cut_vertices, 4);
        let magenta = pair
            .before
            .colours
            .chunks_exact(3)
            .filter(|c| *c == REMOVED)
            .count();
        assert_eq!(magenta, 4);
        assert_eq!(pair.max_mm, 0.0);
    }

    #[test]
    fn the_before_view_is_placed_in_the_output_frame() {
        let (v, t) = cube();
        let shift = |p: [f32; 3]| [p[0] - 5.0, p[1] - 5.0, p[2] - 5.0];
        let before = BeforeModel {
            vertices: &v,
            triangles: &t,
            to_output: &shift,
            removed: None,
        };
        let out: Vec<[f32; 3]> = v.iter().map(|&p| shift(p)).collect();
        let pair = build(&before, &out, &t, 1000, &mut |_| {});
        assert_eq!(pair.centre, [0.0, 0.0, 0.0]);
        assert_eq!(pair.max_mm, 0.0);
    }
}
