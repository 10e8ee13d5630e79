//! Preview geometry: what the Models page's 3D viewer draws, prepared in the mesh worker so the
//! page thread only uploads buffers.
//!
//! Two views share one frame (the de-identified output's): *before* is the input moved by the
//! reframing transform, with the region the deface step removed highlighted; *after* is the
//! output coloured by its distance to the input surface: the distances the utility report measured
//! for its Hausdorff figures (output vertices to the input surface), so the preview measures
//! nothing again and shows exactly what the report summarises. Large models are thinned to a
//! triangle budget for display only; the downloaded file is never thinned.

use veil_mesh::Deviation;

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

/// The de-identified output and the report's measured distances, in the pipeline's working order.
pub struct AfterModel<'a> {
    /// Output vertices.
    pub vertices: &'a [[f32; 3]],
    /// Output triangles.
    pub triangles: &'a [[u32; 3]],
    /// Triangles from this index on are the cap the deface step added (new surface, not
    /// compared): `triangles.len()` when there is none.
    pub cap_start: usize,
    /// The report's second half: output vertices, ascending, and their distances to the input
    /// (mm) ([`veil_mesh::Deidentified::deviation`]).
    pub deviation: &'a Deviation,
}

/// Build both views. `budget` bounds the triangles per view (the after view's cap may add its
/// share); `progress` gets fractions in `[0, 1]`.
pub fn build(
    before: &BeforeModel<'_>,
    after: &AfterModel<'_>,
    budget: usize,
    progress: &mut dyn FnMut(f32),
) -> PreviewPair {
    let placed: Vec<[f32; 3]> = before
        .vertices
        .iter()
        .map(|&p| (before.to_output)(p))
        .collect();
    progress(0.1);

    let (positions, indices, _) = gather(&placed, before.triangles, budget, |p| p);
    drop(placed);
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
    progress(0.4);

    let coloured = colour_after(after, budget, &mut |f| progress(0.4 + 0.5 * f));
    let compared: Vec<f32> = coloured.deviation.iter().flatten().copied().collect();
    let max_mm = compared.iter().copied().fold(0.0f32, f32::max);
    let scale_mm = percentile(&compared, 0.99).max(0.01);
    let mut colours = Vec::with_capacity(coloured.positions.len());
    for d in &coloured.deviation {
        colours.extend_from_slice(&match d {
            Some(d) => ramp(d / scale_mm),
            None => CUT,
        });
    }
    let cut_vertices = coloured.deviation.iter().filter(|d| d.is_none()).count() as u64;
    let after_geometry = PreviewGeometry {
        positions: coloured.positions,
        colours,
        indices: coloured.indices,
        total_triangles: after.triangles.len() as u64,
    };
    progress(1.0);
    PreviewPair {
        before: before_geometry,
        after: after_geometry,
        centre,
        radius: if radius.is_finite() && radius > 0.0 {
            radius
        } else {
            1.0
        },
        scale_mm,
        max_mm,
        cut_vertices,
        removed_vertices,
    }
}

/// The after view before colouring: positions, indices, and per vertex its measured deviation
/// (`None` on the cap).
struct ColouredAfter {
    positions: Vec<f32>,
    indices: Vec<u32>,
    deviation: Vec<Option<f32>>,
}

/// The shown output triangles and their deviations. When the report measured every vertex outside
/// the cap (models up to [`veil_mesh::utility::MAX_SAMPLES`] vertices), every `k`-th triangle is
/// shown with a colour per vertex. Beyond, the report measured every `s`-th vertex: each measured
/// vertex shows one triangle of its own, flat in that vertex's colour (as many triangles, as evenly
/// spread, as thinning would show), and the cap is thinned alongside in its own colour.
fn colour_after(
    after: &AfterModel<'_>,
    budget: usize,
    progress: &mut dyn FnMut(f32),
) -> ColouredAfter {
    let n = after.vertices.len();
    let cap_start = after.cap_start.min(after.triangles.len());
    let in_range = |t: &[u32; 3]| t.iter().all(|&i| (i as usize) < n);
    // Vertex -> its entry in `deviation`.
    let mut slot = vec![u32::MAX; n];
    for (j, &v) in after.deviation.vertices.iter().enumerate() {
        if let Some(s) = slot.get_mut(v as usize) {
            *s = j as u32;
        }
    }
    progress(0.3);
    let measured = |v: u32| slot.get(v as usize).is_some_and(|&j| j != u32::MAX);
    let dense = after.triangles[..cap_start]
        .iter()
        .all(|t| in_range(t) && t.iter().all(|&v| measured(v)));
    let mut out = ColouredAfter {
        positions: Vec::new(),
        indices: Vec::new(),
        deviation: Vec::new(),
    };
    // Triangles are drawn unshared (a cap triangle's corners are measured as corners of the
    // surface next to it, but the cap shows in its own colour).
    let push = |tri: [u32; 3], d: [Option<f32>; 3], out: &mut ColouredAfter| {
        if !in_range(&tri) {
            return;
        }
        for (v, d) in tri.into_iter().zip(d) {
            out.indices.push((out.positions.len() / 3) as u32);
            out.positions.extend_from_slice(&after.vertices[v as usize]);
            out.deviation.push(d);
        }
    };
    progress(0.6);
    if dense {
        for t in thin(after.triangles.len(), budget) {
            let tri = after.triangles[t];
            let d = if t < cap_start {
                tri.map(|v| {
                    let j = slot[v as usize];
                    (j != u32::MAX).then(|| after.deviation.mm[j as usize] as f32)
                })
            } else {
                [None; 3]
            };
            push(tri, d, &mut out);
        }
        progress(1.0);
        return out;
    }
    // One triangle per measured vertex: the first outside the cap that uses it.
    let mut owner = vec![u32::MAX; after.deviation.len()];
    for (t, tri) in after.triangles[..cap_start].iter().enumerate() {
        for &v in tri {
            if let Some(&j) = slot.get(v as usize)
                && j != u32::MAX
                && owner[j as usize] == u32::MAX
            {
                owner[j as usize] = t as u32;
            }
        }
    }
    drop(slot);
    progress(0.7);
    let stride = after.deviation.len().div_ceil(budget.max(1)).max(1);
    let mut shown = vec![false; cap_start];
    for (j, &d) in after.deviation.mm.iter().enumerate().step_by(stride) {
        let t = owner[j] as usize;
        if t < cap_start && !shown[t] {
            shown[t] = true;
            push(after.triangles[t], [Some(d as f32); 3], &mut out);
        }
    }
    let cap = after.triangles.len() - cap_start;
    let cap_budget = (budget as u64 * cap as u64 / after.triangles.len().max(1) as u64) as usize;
    for t in thin(cap, cap_budget.max(1)) {
        push(after.triangles[cap_start + t], [None; 3], &mut out);
    }
    progress(1.0);
    out
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
    use wasm_bindgen_test::wasm_bindgen_test;

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

    #[wasm_bindgen_test]
    fn ramp_runs_from_dark_blue_to_yellow_and_clamps() {
        assert_eq!(ramp(0.0), [68, 1, 84]);
        assert_eq!(ramp(1.0), [253, 231, 37]);
        assert_eq!(ramp(7.0), ramp(1.0));
        assert_eq!(ramp(-1.0), ramp(0.0));
        assert_eq!(ramp(f32::NAN), ramp(1.0));
    }

    #[wasm_bindgen_test]
    fn thinning_respects_the_budget_and_keeps_small_models_whole() {
        assert_eq!(thin(10, 100).count(), 10);
        assert!(thin(1_000_001, 1000).count() <= 1000);
        assert_eq!(thin(0, 10).count(), 0);
    }

    /// Vertices drawn in `colour`.
    fn count(colours: &[u8], colour: [u8; 3]) -> usize {
        colours.chunks_exact(3).filter(|c| *c == colour).count()
    }

    /// Every vertex measured, at `d(v)`.
    fn measured(n: usize, d: impl Fn(usize) -> f64) -> Deviation {
        Deviation {
            vertices: (0..n as u32).collect(),
            mm: (0..n).map(d).collect(),
        }
    }

    #[wasm_bindgen_test]
    fn the_after_view_shows_the_reports_distances_per_vertex_when_all_were_measured() {
        let (v, t) = cube();
        let id = |p: [f32; 3]| p;
        let before = BeforeModel {
            vertices: &v,
            triangles: &t,
            to_output: &id,
            removed: None,
        };
        let zero = measured(8, |_| 0.0);
        let after = AfterModel {
            vertices: &v,
            triangles: &t,
            cap_start: t.len(),
            deviation: &zero,
        };
        let same = build(&before, &after, 1000, &mut |_| {});
        assert_eq!(same.max_mm, 0.0);
        assert_eq!(same.after.shown_triangles(), 12);
        assert_eq!(same.cut_vertices, 0);
        assert_eq!(same.before.positions.len(), 24);
        assert!((same.radius - (300.0f32).sqrt() / 2.0 * 1.0).abs() < 1e-3);
        // Corner 7 measured 0.5 mm away: the largest deviation, at the top of the ramp.
        let one = measured(8, |v| if v == 7 { 0.5 } else { 0.0 });
        let after = AfterModel {
            deviation: &one,
            ..after
        };
        let shifted = build(&before, &after, 1000, &mut |_| {});
        assert_eq!(shifted.max_mm, 0.5);
        let top = count(&shifted.after.colours, ramp(1.0));
        // Vertex 7 is a corner of three of the twelve triangles (drawn unshared).
        assert_eq!(top, 3);
    }

    #[wasm_bindgen_test]
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
        // The "output": the cube with its top face (triangles 2 and 3) as the cap, moved last.
        let mut out_t = t.clone();
        let top = out_t.drain(2..4).collect::<Vec<_>>();
        out_t.extend(top);
        let all = measured(8, |_| 0.25);
        let after = AfterModel {
            vertices: &v,
            triangles: &out_t,
            cap_start: 10,
            deviation: &all,
        };
        let pair = build(&before, &after, 1000, &mut |_| {});
        assert_eq!(pair.removed_vertices, 4);
        let magenta = count(&pair.before.colours, REMOVED);
        assert_eq!(magenta, 4);
        // The cap's corners are measured (they are corners of the sides too) but the cap shows
        // in its own colour.
        assert_eq!(pair.cut_vertices, 6);
        let grey = count(&pair.after.colours, CUT);
        assert_eq!(grey, 6);
        assert_eq!(pair.max_mm, 0.25);
    }

    #[wasm_bindgen_test]
    fn beyond_the_sampled_vertices_each_shows_one_triangle_flat_in_its_colour() {
        // A strip of 40 triangles over 42 vertices, every 4th vertex measured (as the report
        // strides on a large model), the last 4 triangles a cap.
        let v: Vec<[f32; 3]> = (0..42)
            .map(|i| [(i / 2) as f32, (i % 2) as f32, 0.0])
            .collect();
        let t: Vec<[u32; 3]> = (0..40).map(|i| [i, i + 1, i + 2]).collect();
        let sampled = Deviation {
            vertices: (0..36).step_by(4).collect(),
            mm: (0..36).step_by(4).map(|v| f64::from(v) / 10.0).collect(),
        };
        let id = |p: [f32; 3]| p;
        let before = BeforeModel {
            vertices: &v,
            triangles: &t,
            to_output: &id,
            removed: None,
        };
        let after = AfterModel {
            vertices: &v,
            triangles: &t,
            cap_start: 36,
            deviation: &sampled,
        };
        let pair = build(&before, &after, 1000, &mut |_| {});
        // One triangle per sample (vertex 4k's first triangle is 4k - 2, or 0), plus the cap.
        assert_eq!(pair.after.shown_triangles(), 9 + 4);
        assert_eq!(pair.cut_vertices, 12);
        assert_eq!(pair.max_mm, 3.2);
        for face in pair.after.colours.chunks_exact(9) {
            assert!(
                face[0..3] == face[3..6] && face[3..6] == face[6..9],
                "flat per face"
            );
        }
        // A smaller budget shows fewer.
        let pair = build(&before, &after, 3, &mut |_| {});
        assert!(
            pair.after.shown_triangles() <= 3 + 1,
            "{}",
            pair.after.shown_triangles()
        );
    }

    #[wasm_bindgen_test]
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
        let zero = measured(8, |_| 0.0);
        let after = AfterModel {
            vertices: &out,
            triangles: &t,
            cap_start: t.len(),
            deviation: &zero,
        };
        let pair = build(&before, &after, 1000, &mut |_| {});
        assert_eq!(pair.centre, [0.0, 0.0, 0.0]);
        assert_eq!(pair.max_mm, 0.0);
    }
}
