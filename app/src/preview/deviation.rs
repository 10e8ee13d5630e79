//! Point-to-surface distance for the preview's colour map: a uniform grid over the input's
//! triangles, searched ring by ring around the query point until no closer triangle can exist.
//!
//! The utility report's Hausdorff figures come from `veil-mesh`; this index only colours the
//! shown vertices of the output, so it favours a small, allocation-light structure over speed.

/// A uniform grid of triangle references over a surface.
pub struct SurfaceIndex<'a> {
    vertices: &'a [[f32; 3]],
    triangles: &'a [[u32; 3]],
    origin: [f64; 3],
    cell: f64,
    dims: [usize; 3],
    /// CSR layout: triangles of cell `c` are `items[offsets[c]..offsets[c + 1]]`.
    offsets: Vec<u32>,
    items: Vec<u32>,
}

/// At most this many cells, whatever the triangle count (bounds the grid's memory: 16 MB of
/// offsets).
const MAX_CELLS: f64 = 4_000_000.0;

impl<'a> SurfaceIndex<'a> {
    /// Index `triangles` (indices into `vertices`; out-of-range triangles are skipped).
    pub fn new(vertices: &'a [[f32; 3]], triangles: &'a [[u32; 3]]) -> Self {
        let valid = |t: &[u32; 3]| t.iter().all(|&i| (i as usize) < vertices.len());
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for t in triangles.iter().filter(|t| valid(t)) {
            for &i in t {
                let p = vertices[i as usize];
                for k in 0..3 {
                    lo[k] = lo[k].min(f64::from(p[k]));
                    hi[k] = hi[k].max(f64::from(p[k]));
                }
            }
        }
        if !lo[0].is_finite() {
            return SurfaceIndex {
                vertices,
                triangles,
                origin: [0.0; 3],
                cell: 1.0,
                dims: [0; 3],
                offsets: vec![0],
                items: Vec::new(),
            };
        }
        let ext: Vec<f64> = (0..3).map(|k| (hi[k] - lo[k]).max(1e-9)).collect();
        // A surface fills few of the box's cells, so size cells by the surface, not the volume:
        // about two triangles' area per cell face keeps a cell to a handful of triangles. The
        // volume bound caps the grid's memory for dense meshes in large boxes.
        let area: f64 = triangles
            .iter()
            .filter(|t| valid(t))
            .map(|t| {
                let p = |i: u32| {
                    let v = vertices[i as usize];
                    [f64::from(v[0]), f64::from(v[1]), f64::from(v[2])]
                };
                let (a, b, c) = (p(t[0]), p(t[1]), p(t[2]));
                let (u, w) = (sub(b, a), sub(c, a));
                let n = [
                    u[1] * w[2] - u[2] * w[1],
                    u[2] * w[0] - u[0] * w[2],
                    u[0] * w[1] - u[1] * w[0],
                ];
                0.5 * dot(n, n).sqrt()
            })
            .sum();
        let per_triangle = area / (triangles.len().max(1) as f64);
        let volume = ext[0] * ext[1] * ext[2];
        let longest = ext.iter().copied().fold(0.0, f64::max);
        let cell = (2.0 * per_triangle)
            .sqrt()
            .max((volume / MAX_CELLS).cbrt())
            .max(longest / 2048.0)
            .max(1e-9);
        let dims = [0, 1, 2].map(|k| ((ext[k] / cell).floor() as usize + 1).min(2048));
        let n_cells = dims[0] * dims[1] * dims[2];
        let mut index = SurfaceIndex {
            vertices,
            triangles,
            origin: lo,
            cell,
            dims,
            offsets: vec![0; n_cells + 1],
            items: Vec::new(),
        };
        // Two passes: count, then fill.
        for t in triangles.iter().filter(|t| valid(t)) {
            index.for_cells_of(t, |c, offsets, _| offsets[c + 1] += 1);
        }
        for c in 0..n_cells {
            index.offsets[c + 1] += index.offsets[c];
        }
        let mut cursor: Vec<u32> = index.offsets[..n_cells].to_vec();
        index.items = vec![0; index.offsets[n_cells] as usize];
        let mut items = std::mem::take(&mut index.items);
        for (ti, t) in triangles.iter().enumerate() {
            if valid(t) {
                index.for_cells_of(t, |c, _, _| {
                    items[cursor[c] as usize] = ti as u32;
                    cursor[c] += 1;
                });
            }
        }
        index.items = items;
        index
    }

    fn cell_of(&self, p: [f64; 3]) -> [usize; 3] {
        [0, 1, 2].map(|k| {
            let x = ((p[k] - self.origin[k]) / self.cell).floor();
            if x.is_nan() || x < 0.0 {
                0
            } else {
                (x as usize).min(self.dims[k].saturating_sub(1))
            }
        })
    }

    fn for_cells_of(
        &mut self,
        t: &[u32; 3],
        mut f: impl FnMut(usize, &mut Vec<u32>, &mut Vec<u32>),
    ) {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for &i in t {
            let p = self.vertices[i as usize];
            for k in 0..3 {
                lo[k] = lo[k].min(f64::from(p[k]));
                hi[k] = hi[k].max(f64::from(p[k]));
            }
        }
        let a = self.cell_of(lo);
        let b = self.cell_of(hi);
        for z in a[2]..=b[2] {
            for y in a[1]..=b[1] {
                for x in a[0]..=b[0] {
                    let c = (z * self.dims[1] + y) * self.dims[0] + x;
                    f(c, &mut self.offsets, &mut self.items);
                }
            }
        }
    }

    /// Distance from `p` to the nearest indexed triangle; `None` when nothing is indexed.
    pub fn distance(&self, p: [f32; 3]) -> Option<f64> {
        if self.items.is_empty() {
            return None;
        }
        let q = [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])];
        let home = self.cell_of(q);
        // How far `q` lies outside the grid's box (rings are counted from the clamped home cell).
        let outside: f64 = (0..3)
            .map(|k| {
                let lo = self.origin[k];
                let hi = lo + self.dims[k] as f64 * self.cell;
                (lo - q[k]).max(q[k] - hi).max(0.0).powi(2)
            })
            .sum::<f64>()
            .sqrt();
        let max_ring = self.dims.iter().copied().max().unwrap_or(0);
        let mut best = f64::INFINITY;
        for r in 0..=max_ring {
            let lo = home.map(|h| h.saturating_sub(r));
            let hi = [0, 1, 2].map(|k| (home[k] + r).min(self.dims[k] - 1));
            for z in lo[2]..=hi[2] {
                for y in lo[1]..=hi[1] {
                    for x in lo[0]..=hi[0] {
                        let on_shell = [x, y, z].iter().zip(home).any(|(&c, h)| c.abs_diff(h) == r);
                        if !on_shell {
                            continue;
                        }
                        let c = (z * self.dims[1] + y) * self.dims[0] + x;
                        let (s, e) = (self.offsets[c] as usize, self.offsets[c + 1] as usize);
                        for &ti in &self.items[s..e] {
                            let t = self.triangles[ti as usize];
                            let d = point_triangle_distance(
                                q,
                                self.vertex(t[0]),
                                self.vertex(t[1]),
                                self.vertex(t[2]),
                            );
                            best = best.min(d);
                        }
                    }
                }
            }
            // Every cell not yet searched lies beyond a wall of the searched block: no triangle
            // in it is nearer than that wall (nor nearer than the grid's box).
            if best <= outside.max(self.block_margin(q, home, r)) {
                break;
            }
        }
        best.is_finite().then_some(best)
    }

    /// Distance from `q` to the nearest wall of the block of rings `0..=r` around `home` that
    /// still has cells beyond it (a wall at the grid's edge hides nothing).
    fn block_margin(&self, q: [f64; 3], home: [usize; 3], r: usize) -> f64 {
        let mut margin = f64::INFINITY;
        for k in 0..3 {
            if home[k] > r {
                let wall = self.origin[k] + (home[k] - r) as f64 * self.cell;
                margin = margin.min((q[k] - wall).max(0.0));
            }
            if home[k] + r + 1 < self.dims[k] {
                let wall = self.origin[k] + (home[k] + r + 1) as f64 * self.cell;
                margin = margin.min((wall - q[k]).max(0.0));
            }
        }
        margin
    }

    fn vertex(&self, i: u32) -> [f64; 3] {
        let p = self.vertices[i as usize];
        [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])]
    }
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn along(a: [f64; 3], d: [f64; 3], s: f64) -> [f64; 3] {
    [a[0] + d[0] * s, a[1] + d[1] * s, a[2] + d[2] * s]
}

/// Euclidean distance from `p` to triangle `abc` (Ericson, *Real-Time Collision Detection*,
/// §5.1.5: closest point by Voronoi regions).
pub fn point_triangle_distance(p: [f64; 3], a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> f64 {
    let ab = sub(b, a);
    let ac = sub(c, a);
    let ap = sub(p, a);
    let d1 = dot(ab, ap);
    let d2 = dot(ac, ap);
    let closest = if d1 <= 0.0 && d2 <= 0.0 {
        a
    } else {
        let bp = sub(p, b);
        let d3 = dot(ab, bp);
        let d4 = dot(ac, bp);
        if d3 >= 0.0 && d4 <= d3 {
            b
        } else {
            let vc = d1 * d4 - d3 * d2;
            if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
                along(a, ab, d1 / (d1 - d3))
            } else {
                let cp = sub(p, c);
                let d5 = dot(ab, cp);
                let d6 = dot(ac, cp);
                if d6 >= 0.0 && d5 <= d6 {
                    c
                } else {
                    let vb = d5 * d2 - d1 * d6;
                    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
                        along(a, ac, d2 / (d2 - d6))
                    } else {
                        let va = d3 * d6 - d5 * d4;
                        if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
                            along(b, sub(c, b), (d4 - d3) / ((d4 - d3) + (d5 - d6)))
                        } else {
                            let denom = va + vb + vc;
                            if denom.abs() < f64::MIN_POSITIVE {
                                // Degenerate (zero-area) triangle: nearest of its corners.
                                let da = dot(ap, ap);
                                let db = dot(sub(p, b), sub(p, b));
                                let dc = dot(cp, cp);
                                return da.min(db).min(dc).sqrt();
                            }
                            let v = vb / denom;
                            let w = vc / denom;
                            along(along(a, ab, v), ac, w)
                        }
                    }
                }
            }
        }
    };
    let d = sub(p, closest);
    dot(d, d).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_to_one_triangle_by_region() {
        let (a, b, c) = ([0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]);
        let d = |p| point_triangle_distance(p, a, b, c);
        assert!((d([0.2, 0.2, 3.0]) - 3.0).abs() < 1e-12); // face
        assert!((d([-1.0, -1.0, 0.0]) - 2f64.sqrt()).abs() < 1e-12); // vertex a
        assert!((d([0.5, -2.0, 0.0]) - 2.0).abs() < 1e-12); // edge ab
        assert!((d([1.0, 1.0, 0.0]) - 0.5f64.sqrt()).abs() < 1e-12); // edge bc
        assert!((d([3.0, 0.0, 0.0]) - 2.0).abs() < 1e-12); // vertex b
    }

    #[test]
    fn grid_search_matches_brute_force() {
        // A wavy sheet of 2 × 30 × 30 triangles, queried at scattered points.
        let n = 31;
        let mut v = Vec::new();
        for j in 0..n {
            for i in 0..n {
                let (x, y) = (i as f32, j as f32);
                v.push([x, y, (x * 0.3).sin() * 2.0 + (y * 0.2).cos()]);
            }
        }
        let mut t = Vec::new();
        for j in 0..n - 1 {
            for i in 0..n - 1 {
                let a = (j * n + i) as u32;
                t.push([a, a + 1, a + n as u32]);
                t.push([a + 1, a + n as u32 + 1, a + n as u32]);
            }
        }
        let index = SurfaceIndex::new(&v, &t);
        let mut state = 12345u32;
        let mut rnd = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / 16_777_216.0
        };
        for _ in 0..300 {
            let p = [rnd() * 40.0 - 5.0, rnd() * 40.0 - 5.0, rnd() * 20.0 - 10.0];
            let q = [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])];
            let brute = t
                .iter()
                .map(|t| {
                    let g = |i: u32| {
                        let p = v[i as usize];
                        [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])]
                    };
                    point_triangle_distance(q, g(t[0]), g(t[1]), g(t[2]))
                })
                .fold(f64::INFINITY, f64::min);
            let fast = index.distance(p).unwrap_or(f64::NAN);
            assert!(
                (fast - brute).abs() < 1e-9,
                "{p:?}: grid {fast} brute {brute}"
            );
        }
    }

    #[test]
    fn an_empty_surface_has_no_distance() {
        let v: Vec<[f32; 3]> = vec![[0.0; 3]];
        let index = SurfaceIndex::new(&v, &[[0, 0, 7]]);
        assert_eq!(index.distance([1.0, 2.0, 3.0]), None);
    }
}
