//! The planar cut: clip triangles against a plane, keep the back half-space, cap every closed cut
//! loop with an ear-clipped polygon oriented against the kept surface, so a closed, consistently
//! oriented input stays closed and consistently oriented.

use std::collections::HashMap;

use super::plane::CutPlane;
use crate::Mesh;
use crate::mesh::{add, cross, dot, norm, normalize, scale, sub, v64};
use crate::par::{TRI_CHUNK, VERTEX_CHUNK};
use crate::progress::Hooks;
use crate::topology::EdgeStats;

/// Counts from one cut.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CutStats {
    pub(crate) removed_triangles: u64,
    pub(crate) removed_area: f64,
    pub(crate) cap_triangles: u64,
    pub(crate) cap_loops: u64,
    pub(crate) open_chains: u64,
    /// Index of the first cap triangle in the result (caps are appended last).
    pub(crate) cap_start: usize,
    /// Vertices of the input still in the result; they come first, in their old order (the
    /// vertices made by the cut follow).
    pub(crate) kept_input_vertices: usize,
    /// Edge statistics of the input's edges with a removed endpoint. With the statistics of the
    /// result's edges among kept input vertices (whose uses the cut does not change), they give
    /// the input's statistics without a second adjacency pass.
    pub(crate) removed_edges: EdgeStats,
}

/// Cut `mesh` with `plane`, removing the side the normal points to.
pub(crate) fn cut(mesh: &mut Mesh, plane: &CutPlane) -> CutStats {
    let mut st = CutStats::default();
    let scale_len = {
        let (lo, hi) = mesh.bounds();
        norm(sub(hi, lo)).max(1e-30)
    };
    let tiny = 1e-9 * scale_len;
    // Signed distances; exact zeros count as kept, nudged so every cut edge has a proper crossing.
    let mut d = vec![0.0f64; mesh.vertices.len()];
    let vertices = &mesh.vertices;
    let _ = Hooks::quiet(|hooks| {
        crate::par::for_chunks_mut(&mut d, VERTEX_CHUNK, hooks, |start, part| {
            for (x, p) in part.iter_mut().zip(&vertices[start..]) {
                let v = plane.distance(v64(*p));
                *x = if v == 0.0 { -tiny } else { v };
            }
        })
    });
    let n_in = mesh.vertices.len();
    if d.iter().all(|&x| x <= 0.0) {
        st.cap_start = mesh.triangles.len();
        st.kept_input_vertices = n_in;
        return st;
    }
    // In parallel chunks: keep the triangles wholly behind the plane, count and measure the
    // removed ones, list the input edges with a removed endpoint and the triangles the plane
    // crosses; the crossing triangles are then split in order on this thread (they share the
    // new vertices on their edges).
    struct Chunk {
        kept: Vec<[u32; 3]>,
        crossed: Vec<usize>,
        removed: u64,
        area: f64,
        removed_edges: Vec<(u32, u32)>,
    }
    let tris = std::mem::take(&mut mesh.triangles);
    let removed_side = |t: &[u32; 3]| {
        [
            d[t[0] as usize] > 0.0,
            d[t[1] as usize] > 0.0,
            d[t[2] as usize] > 0.0,
        ]
    };
    let vertices = &mesh.vertices;
    let chunks = Hooks::quiet(|hooks| {
        crate::par::map(tris.len().div_ceil(TRI_CHUNK), hooks, |c| {
            let part = &tris[c * TRI_CHUNK..((c + 1) * TRI_CHUNK).min(tris.len())];
            let mut ch = Chunk {
                kept: Vec::with_capacity(part.len()),
                crossed: Vec::new(),
                removed: 0,
                area: 0.0,
                removed_edges: Vec::new(),
            };
            for (i, t) in part.iter().enumerate() {
                let rem = removed_side(t);
                let k = rem.iter().filter(|&&r| r).count();
                if k == 0 {
                    ch.kept.push(*t);
                    continue;
                }
                for e in 0..3 {
                    if rem[e] || rem[(e + 1) % 3] {
                        ch.removed_edges.push((t[e], t[(e + 1) % 3]));
                    }
                }
                let a = v64(vertices[t[0] as usize]);
                let b = v64(vertices[t[1] as usize]);
                let c3 = v64(vertices[t[2] as usize]);
                ch.removed += 1;
                ch.area += 0.5 * norm(cross(sub(b, a), sub(c3, a)));
                if k < 3 {
                    ch.crossed.push(c * TRI_CHUNK + i);
                }
            }
            ch
        })
    })
    .unwrap_or_default();
    let mut out: Vec<[u32; 3]> = Vec::with_capacity(tris.len());
    let mut removed_edges: Vec<(u32, u32)> = Vec::new();
    let mut crossed: Vec<usize> = Vec::new();
    for ch in chunks {
        out.extend_from_slice(&ch.kept);
        st.removed_triangles += ch.removed;
        st.removed_area += ch.area;
        removed_edges.extend_from_slice(&ch.removed_edges);
        crossed.extend_from_slice(&ch.crossed);
    }
    let mut edge_points: HashMap<u64, u32> = HashMap::new();
    // Boundary edges of the kept surface, in kept-triangle orientation (from, to).
    let mut boundary: Vec<(u32, u32)> = Vec::new();
    for &ti in &crossed {
        let t = &tris[ti];
        let rem = removed_side(t);
        // Walk the triangle, emitting kept corners and edge crossings in order.
        let mut poly: [u32; 4] = [0; 4];
        let mut is_cross = [false; 4];
        let mut n = 0usize;
        for e in 0..3 {
            let i = t[e];
            let j = t[(e + 1) % 3];
            if !rem[e] {
                poly[n] = i;
                n += 1;
            }
            if rem[e] != rem[(e + 1) % 3] {
                let key = (u64::from(i.min(j)) << 32) | u64::from(i.max(j));
                let idx = *edge_points.entry(key).or_insert_with(|| {
                    let (lo, hi) = (i.min(j) as usize, i.max(j) as usize);
                    let (pl, ph) = (v64(mesh.vertices[lo]), v64(mesh.vertices[hi]));
                    let t = d[lo] / (d[lo] - d[hi]);
                    let p = add(pl, scale(sub(ph, pl), t));
                    mesh.vertices.push([p[0] as f32, p[1] as f32, p[2] as f32]);
                    (mesh.vertices.len() - 1) as u32
                });
                poly[n] = idx;
                is_cross[n] = true;
                n += 1;
            }
        }
        for m in 1..n - 1 {
            out.push([poly[0], poly[m], poly[m + 1]]);
        }
        for m in 0..n {
            let nx = (m + 1) % n;
            if is_cross[m] && is_cross[nx] {
                boundary.push((poly[m], poly[nx]));
            }
        }
    }
    mesh.triangles = out;
    st.cap_start = mesh.triangles.len();
    cap(mesh, plane, &boundary, &mut st);
    st.kept_input_vertices = mesh.compact_counting(n_in);
    st.removed_edges = EdgeStats::of_directed(&removed_edges);
    st
}

/// Chain the reversed boundary edges into loops and triangulate each.
fn cap(mesh: &mut Mesh, plane: &CutPlane, boundary: &[(u32, u32)], st: &mut CutStats) {
    // Cap edges run opposite to the kept surface's boundary edges.
    let mut next: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(a, b) in boundary {
        next.entry(b).or_default().push(a);
    }
    let n = plane.normal;
    let u = normalize(if n[0].abs() < 0.9 {
        cross(n, [1.0, 0.0, 0.0])
    } else {
        cross(n, [0.0, 1.0, 0.0])
    });
    let w = cross(n, u);
    let mut starts: Vec<u32> = next.keys().copied().collect();
    starts.sort_unstable();
    for s in starts {
        while let Some(first) = next.get_mut(&s).and_then(|v| v.pop()) {
            let mut lp = vec![s, first];
            let mut closed = false;
            let mut cur = first;
            while lp.len() <= boundary.len() + 1 {
                if cur == s {
                    closed = true;
                    break;
                }
                match next.get_mut(&cur).and_then(|v| v.pop()) {
                    Some(x) => {
                        lp.push(x);
                        cur = x;
                    }
                    None => break,
                }
            }
            if !closed {
                st.open_chains += 1;
                continue;
            }
            lp.pop(); // the repeated start
            if lp.len() < 3 {
                continue;
            }
            let pts: Vec<[f64; 2]> = lp
                .iter()
                .map(|&i| {
                    let p = v64(mesh.vertices[i as usize]);
                    [dot(p, u), dot(p, w)]
                })
                .collect();
            let tris = ear_clip(&pts);
            for [a, b, c] in tris {
                mesh.triangles.push([lp[a], lp[b], lp[c]]);
                st.cap_triangles += 1;
            }
            st.cap_loops += 1;
        }
    }
}

fn area2(p: &[[f64; 2]], idx: &[usize]) -> f64 {
    let mut s = 0.0;
    for k in 0..idx.len() {
        let a = p[idx[k]];
        let b = p[idx[(k + 1) % idx.len()]];
        s += a[0] * b[1] - a[1] * b[0];
    }
    s
}

#[inline]
fn orient(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

/// Ear clipping of a simple polygon given in order; triangles keep the polygon's winding.
/// Always terminates: when no proper ear exists (degenerate input), it clips anyway.
///
/// The polygon is a linked ring (removal is O(1)) and only non-convex corners are tested
/// against candidate ears: a triangle of three consecutive corners that contains any corner
/// contains a reflex one. A cut through a head gives loops of thousands of mostly convex
/// corners, where testing every corner made capping quadratic.
pub(crate) fn ear_clip(p: &[[f64; 2]]) -> Vec<[usize; 3]> {
    let n = p.len();
    let mut out = Vec::with_capacity(n.saturating_sub(2));
    if n < 3 {
        return out;
    }
    let all: Vec<usize> = (0..n).collect();
    let sign = if area2(p, &all) >= 0.0 { 1.0 } else { -1.0 };
    let mut prev: Vec<usize> = (0..n).map(|i| (i + n - 1) % n).collect();
    let mut next: Vec<usize> = (0..n).map(|i| (i + 1) % n).collect();
    let convex = |prev: &[usize], next: &[usize], i: usize| {
        sign * orient(p[prev[i]], p[i], p[next[i]]) > 0.0
    };
    let mut reflex: Vec<usize> = (0..n).filter(|&i| !convex(&prev, &next, i)).collect();
    let mut alive = n;
    let mut i = 0usize;
    let mut misses = 0usize;
    while alive > 3 {
        let (ia, ib, ic) = (prev[i], i, next[i]);
        let (a, b, c) = (p[ia], p[ib], p[ic]);
        let mut ear = sign * orient(a, b, c) > 0.0;
        if ear {
            for &j in &reflex {
                if j == ia || j == ib || j == ic {
                    continue;
                }
                let q = p[j];
                if q == a || q == b || q == c {
                    continue;
                }
                if sign * orient(a, b, q) >= 0.0
                    && sign * orient(b, c, q) >= 0.0
                    && sign * orient(c, a, q) >= 0.0
                {
                    ear = false;
                    break;
                }
            }
        }
        if ear || misses > alive {
            out.push([ia, ib, ic]);
            next[ia] = ic;
            prev[ic] = ia;
            alive -= 1;
            reflex.retain(|&j| j != ib);
            for v in [ia, ic] {
                let is_reflex = !convex(&prev, &next, v);
                let listed = reflex.contains(&v);
                if is_reflex && !listed {
                    reflex.push(v);
                } else if !is_reflex && listed {
                    reflex.retain(|&j| j != v);
                }
            }
            misses = 0;
            i = ic;
        } else {
            i = next[i];
            misses += 1;
        }
    }
    out.push([prev[i], i, next[i]]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(p: &[[f64; 2]], tris: &[[usize; 3]]) -> f64 {
        tris.iter()
            .map(|t| orient(p[t[0]], p[t[1]], p[t[2]]) / 2.0)
            .sum()
    }

    #[test]
    fn ear_clip_covers_a_concave_polygon_with_its_winding() {
        // An L shape, counter-clockwise (area 3), and the same clockwise.
        let l = [
            [0.0, 0.0],
            [2.0, 0.0],
            [2.0, 1.0],
            [1.0, 1.0],
            [1.0, 2.0],
            [0.0, 2.0],
        ];
        let t = ear_clip(&l);
        assert_eq!(t.len(), 4);
        assert!((area(&l, &t) - 3.0).abs() < 1e-12);
        assert!(t.iter().all(|t| orient(l[t[0]], l[t[1]], l[t[2]]) > 0.0));
        let mut r = l;
        r.reverse();
        let t = ear_clip(&r);
        assert!((area(&r, &t) + 3.0).abs() < 1e-12);
    }

    #[test]
    fn ear_clip_terminates_on_degenerate_input() {
        let line = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]];
        assert_eq!(ear_clip(&line).len(), 2);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
        /// Star-shaped polygons with random radii (deeply concave, up to 400 corners) are
        /// covered exactly, by n − 2 triangles of the polygon's winding.
        #[test]
        fn ear_clip_tiles_star_polygons(radii in proptest::collection::vec(0.2f64..1.0, 3..400), cw in proptest::bool::ANY) {
            let n = radii.len();
            let mut poly: Vec<[f64; 2]> = radii
                .iter()
                .enumerate()
                .map(|(k, r)| {
                    let a = k as f64 / n as f64 * std::f64::consts::TAU;
                    [r * a.cos(), r * a.sin()]
                })
                .collect();
            if cw {
                poly.reverse();
            }
            let all: Vec<usize> = (0..n).collect();
            let want = area2(&poly, &all) / 2.0;
            let t = ear_clip(&poly);
            proptest::prop_assert_eq!(t.len(), n - 2);
            proptest::prop_assert!((area(&poly, &t) - want).abs() < 1e-9 * n as f64);
            proptest::prop_assert!(t
                .iter()
                .all(|t| orient(poly[t[0]], poly[t[1]], poly[t[2]]) * want.signum() > 0.0));
        }
    }
}
