//! The utility report's distances: symmetric Hausdorff between input and output, outside the
//! removed region, with a uniform grid over triangles.
//!
//! Each direction samples up to [`MAX_SAMPLES`] vertices of one mesh (all of them below that) and
//! measures the exact point-to-triangle distance to the other surface; max, mean and 95th
//! percentile are taken over both directions together.

use serde::{Deserialize, Serialize};

use crate::mesh::{
    V3, area_volume_of, bounds_of, cell_face_gaps, cross, dot, greater, lesser, norm, sub, v64,
};
use crate::progress::Hooks;
use crate::{Mesh, MeshError};

/// Vertices sampled per direction (strided evenly beyond this).
pub const MAX_SAMPLES: usize = 250_000;

/// Symmetric Hausdorff distance summary, in model units (mm).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hausdorff {
    /// Largest distance.
    #[serde(deserialize_with = "crate::nan::f64_or_nan")]
    pub max: f64,
    /// Mean distance.
    #[serde(deserialize_with = "crate::nan::f64_or_nan")]
    pub mean: f64,
    /// 95th percentile.
    #[serde(deserialize_with = "crate::nan::f64_or_nan")]
    pub p95: f64,
    /// Points measured (both directions).
    pub samples: u64,
}

/// Cells from the grid beyond which [`TriGrid::distance`] does not search by cells.
const FAR_CELLS: f64 = (1u64 << 40) as f64;

/// Uniform grid of triangles in CSR form.
struct TriGrid<'a> {
    vertices: &'a [[f32; 3]],
    triangles: &'a [[u32; 3]],
    lo: V3,
    cell: f64,
    dims: [usize; 3],
    start: Vec<u32>,
    items: Vec<u32>,
}

impl<'a> TriGrid<'a> {
    fn new(mesh: &'a Mesh, tri_ok: &(dyn Fn(usize) -> bool + Sync)) -> TriGrid<'a> {
        TriGrid::over(&mesh.vertices, &mesh.triangles, tri_ok)
    }

    /// The grid over `triangles` (every index in range) that `tri_ok` accepts.
    fn over(
        vertices: &'a [[f32; 3]],
        triangles: &'a [[u32; 3]],
        tri_ok: &(dyn Fn(usize) -> bool + Sync),
    ) -> TriGrid<'a> {
        let (lo, hi) = bounds_of(vertices);
        let ext = sub(hi, lo);
        let nt = triangles.len().max(1) as f64;
        // A few triangles per occupied cell on a surface: cell ≈ 1.2 × mean edge length.
        let (area, _) = area_volume_of(vertices, triangles);
        let mean_edge = (area / nt * 4.0 / 3f64.sqrt()).sqrt();
        let maxext = ext[0].max(ext[1]).max(ext[2]).max(1e-12);
        let mut cell = (1.2 * mean_edge).max(maxext / 1024.0).max(1e-9);
        // Keep the cell count bounded (≤ 16 M cells).
        while ((ext[0] / cell) as usize + 1)
            * ((ext[1] / cell) as usize + 1)
            * ((ext[2] / cell) as usize + 1)
            > 16_000_000
        {
            cell *= 1.5;
        }
        let dims = [
            (ext[0] / cell) as usize + 1,
            (ext[1] / cell) as usize + 1,
            (ext[2] / cell) as usize + 1,
        ];
        let ncell = dims[0] * dims[1] * dims[2];
        let mut count = vec![0u32; ncell + 1];
        let cells_of = |t: &[u32; 3]| {
            let mut a = [usize::MAX; 3];
            let mut b = [0usize; 3];
            for &i in t {
                let p = v64(vertices[i as usize]);
                for k in 0..3 {
                    let c = (((p[k] - lo[k]) / cell) as usize).min(dims[k] - 1);
                    a[k] = a[k].min(c);
                    b[k] = b[k].max(c);
                }
            }
            (a, b)
        };
        // Large triangles: only the cells their plane passes through (a slab, not the bbox).
        let touches = |t: &[u32; 3], x: usize, y: usize, z: usize, big: bool| {
            if !big {
                return true;
            }
            let a = v64(vertices[t[0] as usize]);
            let n = cross(
                sub(v64(vertices[t[1] as usize]), a),
                sub(v64(vertices[t[2] as usize]), a),
            );
            let len = norm(n);
            if len == 0.0 {
                return true;
            }
            let c = [
                lo[0] + (x as f64 + 0.5) * cell,
                lo[1] + (y as f64 + 0.5) * cell,
                lo[2] + (z as f64 + 0.5) * cell,
            ];
            (dot(sub(c, a), n) / len).abs() <= cell * 0.87
        };
        let span = |a: [usize; 3], b: [usize; 3]| {
            (b[0] - a[0] + 1) * (b[1] - a[1] + 1) * (b[2] - a[2] + 1)
        };
        // Each measured triangle's cell range, kept for the fill pass (`None`: not measured).
        let ranges: Vec<Option<([usize; 3], [usize; 3])>> = triangles
            .iter()
            .enumerate()
            .map(|(ti, t)| tri_ok(ti).then(|| cells_of(t)))
            .collect();
        for (t, range) in triangles.iter().zip(&ranges) {
            let Some((a, b)) = *range else { continue };
            let big = span(a, b) > 27;
            for x in a[0]..=b[0] {
                for y in a[1]..=b[1] {
                    for z in a[2]..=b[2] {
                        if touches(t, x, y, z, big) {
                            count[(x * dims[1] + y) * dims[2] + z + 1] += 1;
                        }
                    }
                }
            }
        }
        for i in 0..ncell {
            count[i + 1] += count[i];
        }
        // Fill with `count[c]` as cell c's cursor (no second array of the grid's size): each
        // cursor ends at its cell's end, which is the next cell's start; shifting the array by
        // one place restores the starts.
        let mut items = vec![0u32; count[ncell] as usize];
        for (ti, (t, range)) in triangles.iter().zip(&ranges).enumerate() {
            let Some((a, b)) = *range else { continue };
            let big = span(a, b) > 27;
            for x in a[0]..=b[0] {
                for y in a[1]..=b[1] {
                    for z in a[2]..=b[2] {
                        if !touches(t, x, y, z, big) {
                            continue;
                        }
                        let c = (x * dims[1] + y) * dims[2] + z;
                        if let Some(slot) = items.get_mut(count[c] as usize) {
                            *slot = ti as u32;
                        }
                        count[c] += 1;
                    }
                }
            }
        }
        count.copy_within(0..ncell, 1);
        count[0] = 0;
        TriGrid {
            vertices,
            triangles,
            lo,
            cell,
            dims,
            start: count,
            items,
        }
    }

    /// The corners of triangle `ti`.
    fn corners(&self, ti: u32) -> (V3, V3, V3) {
        let t = self.triangles[ti as usize];
        let v = self.vertices;
        (
            v64(v[t[0] as usize]),
            v64(v[t[1] as usize]),
            v64(v[t[2] as usize]),
        )
    }

    /// Distance from `q` to the nearest of all the grid's triangles, one by one.
    fn distance_to_all(&self, q: V3) -> f64 {
        self.items.iter().fold(f64::INFINITY, |best, &ti| {
            let (a, b, c) = self.corners(ti);
            lesser(best, point_triangle(q, a, b, c))
        })
    }

    /// Distance from `q` to the nearest triangle (searching rings of cells outward).
    fn distance(&self, q: V3) -> f64 {
        let mut c = [0i64; 3];
        for k in 0..3 {
            let cell = ((q[k] - self.lo[k]) / self.cell).floor();
            // Cell arithmetic that far out could overflow `i64`; such a point is measured
            // against every triangle instead (exact, and only for absurd coordinates).
            if cell.is_nan() || cell.abs() >= FAR_CELLS {
                return self.distance_to_all(q);
            }
            c[k] = cell as i64;
        }
        let mut best = f64::INFINITY;
        // Rings from the first that reaches the grid (a query outside it skips the empty ones) to
        // the one that covers all of it.
        let (mut first, mut maxr) = (0i64, 0i64);
        for k in 0..3 {
            let last = self.dims[k] as i64 - 1;
            first = first.max(-c[k]).max(c[k] - last);
            maxr = maxr.max(c[k].abs()).max((c[k] - last).abs());
        }
        // Per axis, how far q is inside its cell from the lower and the upper face: the gap to a
        // cell `d` cells away along that axis is then one of these plus |d| - 1 cells.
        let (below, above) = cell_face_gaps(q, self.lo, c, self.cell);
        let gap2 = |k: usize, d: i64| {
            let g = match d.signum() {
                -1 => below[k] + (-d - 1) as f64 * self.cell,
                1 => above[k] + (d - 1) as f64 * self.cell,
                _ => 0.0,
            };
            g * g
        };
        // A cell or a triangle is searched unless its box is farther than the best distance so
        // far by more than rounding could make up (1e-9 of a cell, against errors of 1e-16 of a
        // coordinate): what is skipped cannot be nearer, so the minimum is the exact one.
        let slack = 1e-9 * self.cell;
        let reach2 = |best: f64| (best + slack) * (best + slack);
        let in_range = |k: usize, i: i64| i >= 0 && i < self.dims[k] as i64;
        for ring in first..=maxr {
            // Any triangle in ring `ring` is at least (ring - 1) cells away.
            if best.is_finite() && (ring as f64 - 1.0) * self.cell > best {
                break;
            }
            // The cells of the shell at Chebyshev distance `ring`, axis by axis, so that a slab
            // of cells beyond reach is skipped at once.
            // Offsets whose cells lie outside the grid are never visited (a point far from the
            // surface would otherwise step through rings of empty space).
            let within = |k: usize| (-ring).max(-c[k])..=ring.min(self.dims[k] as i64 - 1 - c[k]);
            for dx in within(0) {
                let x = c[0] + dx;
                let gx = gap2(0, dx);
                if gx > reach2(best) {
                    continue;
                }
                for dy in within(1) {
                    let y = c[1] + dy;
                    let gxy = gx + gap2(1, dy);
                    if gxy > reach2(best) {
                        continue;
                    }
                    // Inside the shell's x and y faces only its two z faces belong to it.
                    let on_edge = dx.abs() == ring || dy.abs() == ring || ring == 0;
                    let (lo, hi, step) = if on_edge {
                        let r = within(2);
                        (*r.start(), *r.end(), 1)
                    } else {
                        (-ring, ring, 2 * ring)
                    };
                    for dz in (lo..=hi).step_by(step as usize) {
                        let z = c[2] + dz;
                        if !in_range(2, z) || gxy + gap2(2, dz) > reach2(best) {
                            continue;
                        }
                        let cell =
                            (x as usize * self.dims[1] + y as usize) * self.dims[2] + z as usize;
                        for &ti in
                            &self.items[self.start[cell] as usize..self.start[cell + 1] as usize]
                        {
                            let (a, b, c) = self.corners(ti);
                            // The triangle's box is a lower bound of its distance.
                            let mut d2 = 0.0;
                            for k in 0..3 {
                                let lo = lesser(lesser(a[k], b[k]), c[k]);
                                let hi = greater(greater(a[k], b[k]), c[k]);
                                let e = greater(greater(lo - q[k], q[k] - hi), 0.0);
                                d2 += e * e;
                            }
                            if d2 > reach2(best) {
                                continue;
                            }
                            best = lesser(best, point_triangle(q, a, b, c));
                        }
                    }
                }
            }
        }
        best
    }
}

/// Exact distances from points to a surface, with the grid the Hausdorff figures use: for callers
/// that measure deviation themselves (the PWA's preview colours every vertex it shows by its
/// distance to the input) and should get the same distances as the report, as fast.
pub struct SurfaceDistance<'a> {
    /// `None` when no triangle is measured: every distance is then unknown.
    grid: Option<TriGrid<'a>>,
}

impl<'a> SurfaceDistance<'a> {
    /// Index the triangles of `triangles` (indices into `vertices`) for which `include(i)` holds.
    /// An index out of range or a coordinate that is not finite is an error, not a panic.
    pub fn new(
        vertices: &'a [[f32; 3]],
        triangles: &'a [[u32; 3]],
        include: &(dyn Fn(usize) -> bool + Sync),
    ) -> Result<Self, MeshError> {
        if let Some((face, _)) = triangles
            .iter()
            .enumerate()
            .find(|(_, t)| t.iter().any(|&i| i as usize >= vertices.len()))
        {
            return Err(MeshError::IndexOutOfRange {
                face: face as u64,
                vertices: vertices.len() as u64,
            });
        }
        not_finite(vertices, "vertex")?;
        let measured = (0..triangles.len()).any(include);
        Ok(SurfaceDistance {
            grid: measured.then(|| TriGrid::over(vertices, triangles, include)),
        })
    }

    /// Distance from `p` to the nearest measured triangle; `None` when none is measured or `p` is
    /// not finite.
    pub fn distance(&self, p: [f32; 3]) -> Option<f64> {
        let grid = self.grid.as_ref()?;
        if !finite(p) {
            return None;
        }
        let d = grid.distance(v64(p));
        d.is_finite().then_some(d)
    }
}

/// Whether every coordinate of `p` is a finite number.
fn finite(p: [f32; 3]) -> bool {
    p.iter().all(|c| c.is_finite())
}

/// `non-finite-coordinate` naming the first of `points` (a `what`, by index) that is not finite.
fn not_finite(points: &[[f32; 3]], what: &str) -> Result<(), MeshError> {
    match points.iter().position(|&p| !finite(p)) {
        Some(i) => Err(MeshError::NonFinite {
            what: format!("{what} {i}"),
        }),
        None => Ok(()),
    }
}

/// Exact distance from `p` to triangle `abc` (Ericson, Real-Time Collision Detection §5.1.5).
/// A triangle without area (coincident or collinear corners) is the union of its edges.
pub(crate) fn point_triangle(p: V3, a: V3, b: V3, c: V3) -> f64 {
    let d = point_triangle_regions(p, a, b, c);
    if d.is_nan() {
        point_segment(p, a, b)
            .min(point_segment(p, b, c))
            .min(point_segment(p, c, a))
    } else {
        d
    }
}

/// Distance from `p` to segment `ab` (a point when `a == b`).
fn point_segment(p: V3, a: V3, b: V3) -> f64 {
    let ab = sub(b, a);
    let l2 = dot(ab, ab);
    let t = if l2 > 0.0 {
        (dot(sub(p, a), ab) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    norm(sub(sub(p, a), [ab[0] * t, ab[1] * t, ab[2] * t]))
}

/// Ericson's region tests; NaN for a triangle without area, where they divide by zero.
fn point_triangle_regions(p: V3, a: V3, b: V3, c: V3) -> f64 {
    let ab = sub(b, a);
    let ac = sub(c, a);
    let ap = sub(p, a);
    let d1 = dot(ab, ap);
    let d2 = dot(ac, ap);
    if d1 <= 0.0 && d2 <= 0.0 {
        return norm(ap);
    }
    let bp = sub(p, b);
    let d3 = dot(ab, bp);
    let d4 = dot(ac, bp);
    if d3 >= 0.0 && d4 <= d3 {
        return norm(bp);
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        let v = d1 / (d1 - d3);
        return norm(sub(ap, [ab[0] * v, ab[1] * v, ab[2] * v]));
    }
    let cp = sub(p, c);
    let d5 = dot(ab, cp);
    let d6 = dot(ac, cp);
    if d6 >= 0.0 && d5 <= d6 {
        return norm(cp);
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        let w = d2 / (d2 - d6);
        return norm(sub(ap, [ac[0] * w, ac[1] * w, ac[2] * w]));
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
        let w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        let bc = sub(c, b);
        return norm(sub(bp, [bc[0] * w, bc[1] * w, bc[2] * w]));
    }
    let n = cross(ab, ac);
    let nn = norm(n);
    if nn == 0.0 {
        return f64::NAN;
    }
    (dot(ap, n) / nn).abs()
}

/// Chunks of a distance loop: small enough for a progress report every 1 % of it.
fn chunk(n: usize) -> usize {
    (n / 100).clamp(256, 4096)
}

/// The points of the symmetric Hausdorff's first half: every sampled `reference` vertex that
/// `ref_ok` keeps (the removed region is not), in vertex order.
pub(crate) fn forward_samples<'a>(
    reference: &'a Mesh,
    ref_ok: &'a (dyn Fn(V3) -> bool + Sync),
) -> impl Iterator<Item = [f32; 3]> + 'a {
    let stride_r = reference.vertices.len().div_ceil(MAX_SAMPLES).max(1);
    reference
        .vertices
        .iter()
        .step_by(stride_r)
        .copied()
        .filter(|&p| ref_ok(v64(p)))
}

/// The first half of the symmetric Hausdorff between the input and the output: `points` (see
/// [`forward_samples`]) to the output's kept surface (`vertices`, `kept`: its triangles without
/// the cap), as [`distances_to_surface`] measures them. Distances in sample order.
pub(crate) fn forward_distances(
    points: &[[f32; 3]],
    vertices: &[[f32; 3]],
    kept: &[[u32; 3]],
    hooks: &mut Hooks<'_>,
) -> Result<Vec<f64>, MeshError> {
    // Cap triangles are new surface, not a deviation: the grid holds the kept triangles alone.
    // Its cells are sized from their mean edge, which the cap's few large triangles would
    // inflate (a coarser grid, slower queries; the distances are exact either way).
    let grid_out = TriGrid::over(vertices, kept, &|_| true);
    hooks.at(0.3)?;
    hooks.within(0.3, 1.0);
    let d = measure_points(&grid_out, points, hooks)?;
    hooks.within(0.0, 1.0);
    Ok(d)
}

/// The output vertices the second half of the Hausdorff measures (against the whole input
/// surface): every `stride`-th vertex, skipping those that belong to excluded (cap) triangles
/// only. Ascending vertex indices.
pub(crate) fn back_samples(output: &Mesh, out_tri_ok: &(dyn Fn(usize) -> bool + Sync)) -> Vec<u32> {
    let mut on_surface = vec![false; output.vertices.len()];
    for (ti, t) in output.triangles.iter().enumerate() {
        if out_tri_ok(ti) {
            for &i in t {
                on_surface[i as usize] = true;
            }
        }
    }
    let stride_o = output.vertices.len().div_ceil(MAX_SAMPLES).max(1);
    (0..output.vertices.len())
        .step_by(stride_o)
        .filter(|&i| on_surface[i])
        .map(|i| i as u32)
        .collect()
}

/// Distances from `points` to the nearest of all `triangles`, exactly as either half of the report
/// measures them, in order. It is public so that the measure can run apart from the rest of the
/// pipeline (the PWA runs the first half in a second worker while the first measures the second
/// and writes the output; see [`crate::Elsewhere`]); the figures
/// are the same bits wherever it runs. Indices out of range and coordinates that are not finite
/// are errors, never panics.
pub fn distances_to_surface(
    vertices: &[[f32; 3]],
    triangles: &[[u32; 3]],
    points: &[[f32; 3]],
    progress: &mut dyn FnMut(f32),
    cancel: &dyn Fn() -> bool,
) -> Result<Vec<f64>, MeshError> {
    // The same checks as `SurfaceDistance::new`: the mesh may come from another worker; so may
    // the points.
    let checked = SurfaceDistance::new(vertices, triangles, &|_| true)?;
    not_finite(points, "point")?;
    let Some(grid) = checked.grid else {
        return Ok(vec![f64::INFINITY; points.len()]);
    };
    let mut hooks = Hooks::new(progress, cancel);
    let d = measure_points(&grid, points, &mut hooks)?;
    hooks.done();
    Ok(d)
}

fn measure_points(
    grid: &TriGrid<'_>,
    points: &[[f32; 3]],
    hooks: &mut Hooks<'_>,
) -> Result<Vec<f64>, MeshError> {
    let ch = chunk(points.len());
    let parts = crate::par::map(points.len().div_ceil(ch), hooks, |c| {
        points[c * ch..((c + 1) * ch).min(points.len())]
            .iter()
            .map(|&p| grid.distance(v64(p)))
            .collect::<Vec<f64>>()
    })?;
    let mut d = Vec::with_capacity(points.len());
    for part in parts {
        d.extend_from_slice(&part);
    }
    Ok(d)
}

/// The second half in place: `points` (see [`back_samples`]) to the whole `reference` surface.
pub(crate) fn back_distances(
    reference: &Mesh,
    points: &[[f32; 3]],
    hooks: &mut Hooks<'_>,
) -> Result<Vec<f64>, MeshError> {
    let grid_ref = TriGrid::new(reference, &|_| true);
    hooks.at(0.2)?;
    hooks.within(0.2, 1.0);
    let d = measure_points(&grid_ref, points, hooks)?;
    hooks.within(0.0, 1.0);
    Ok(d)
}

/// Max, mean and 95th percentile of both halves together (forward first, as measured).
pub(crate) fn summarise(mut d: Vec<f64>) -> Hausdorff {
    if d.is_empty() {
        return Hausdorff {
            max: 0.0,
            mean: 0.0,
            p95: 0.0,
            samples: 0,
        };
    }
    let n = d.len();
    let mean = d.iter().sum::<f64>() / n as f64;
    let k = ((0.95 * (n - 1) as f64).round() as usize).min(n - 1);
    let (_, p95, _) = d.select_nth_unstable_by(k, f64::total_cmp);
    let p95 = *p95;
    let max = d.iter().cloned().fold(0.0, f64::max);
    Hausdorff {
        max,
        mean,
        p95,
        samples: n as u64,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // The grid's pruned search returns exactly (to the bit) the minimum of `point_triangle`
        // over every measured triangle: the Hausdorff figures must not depend on how it searches.
        #[test]
        fn grid_distance_equals_brute_force(
            radii in proptest::array::uniform3(2.0f64..40.0),
            lon in 3u32..24,
            lat in 2u32..12,
            skip in 0usize..5,
            // Around the model (the pipeline asks about points on the other surface, never far).
            queries in proptest::collection::vec(proptest::array::uniform3(-1.5f64..1.5), 1..40),
        ) {
            let mesh = crate::synth::ellipsoid(radii, lon, lat);
            // Every (skip + 2)-th triangle unmeasured, as the cap is.
            let ok = |t: usize| skip == 0 || !t.is_multiple_of(skip + 2);
            let grid = TriGrid::new(&mesh, &ok);
            let on_surface = mesh.vertices.iter().take(12).map(|&p| v64(p));
            let (lo, hi) = mesh.bounds();
            let around = queries
                .iter()
                .map(|u| [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0 + u[k] * (hi[k] - lo[k]) / 2.0));
            for q in around.chain(on_surface) {
                let brute = (0..mesh.triangles.len())
                    .filter(|&t| ok(t))
                    .map(|t| {
                        let [a, b, c] = mesh.triangles[t].map(|i| v64(mesh.vertices[i as usize]));
                        point_triangle(q, a, b, c)
                    })
                    .fold(f64::INFINITY, f64::min);
                prop_assert_eq!(grid.distance(q).to_bits(), brute.to_bits());
            }
        }
    }
}
