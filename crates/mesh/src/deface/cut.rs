//! The planar cut: clip triangles against a plane, keep the back half-space, cap every closed cut
//! loop with an ear-clipped polygon oriented against the kept surface, so a closed, consistently
//! oriented input stays closed and consistently oriented.

use std::collections::HashMap;

use super::CutPlane;
use crate::Mesh;
use crate::mesh::{add, cross, dot, norm, normalize, scale, sub, v64};

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
    let d: Vec<f64> = mesh
        .vertices
        .iter()
        .map(|p| {
            let x = plane.distance(v64(*p));
            if x == 0.0 { -tiny } else { x }
        })
        .collect();
    if d.iter().all(|&x| x <= 0.0) {
        st.cap_start = mesh.triangles.len();
        return st;
    }
    let mut edge_points: HashMap<u64, u32> = HashMap::new();
    let mut out: Vec<[u32; 3]> = Vec::with_capacity(mesh.triangles.len());
    // Boundary edges of the kept surface, in kept-triangle orientation (from, to).
    let mut boundary: Vec<(u32, u32)> = Vec::new();
    let tris = std::mem::take(&mut mesh.triangles);
    for t in &tris {
        let rem = [
            d[t[0] as usize] > 0.0,
            d[t[1] as usize] > 0.0,
            d[t[2] as usize] > 0.0,
        ];
        let k = rem.iter().filter(|&&r| r).count();
        if k == 0 {
            out.push(*t);
            continue;
        }
        let a = v64(mesh.vertices[t[0] as usize]);
        let b = v64(mesh.vertices[t[1] as usize]);
        let c = v64(mesh.vertices[t[2] as usize]);
        st.removed_triangles += 1;
        st.removed_area += 0.5 * norm(cross(sub(b, a), sub(c, a)));
        if k == 3 {
            continue;
        }
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
    mesh.compact();
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
/// Always terminates: when no proper ear exists (degenerate input), it clips the flattest corner.
pub(crate) fn ear_clip(p: &[[f64; 2]]) -> Vec<[usize; 3]> {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    let mut out = Vec::with_capacity(p.len().saturating_sub(2));
    let sign = if area2(p, &idx) >= 0.0 { 1.0 } else { -1.0 };
    let mut i = 0usize;
    let mut misses = 0usize;
    while idx.len() > 3 {
        let m = idx.len();
        let (ia, ib, ic) = (idx[(i + m - 1) % m], idx[i % m], idx[(i + 1) % m]);
        let (a, b, c) = (p[ia], p[ib], p[ic]);
        let convex = sign * orient(a, b, c) > 0.0;
        let mut ear = convex;
        if ear {
            for &j in &idx {
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
        if ear || misses > m {
            out.push([ia, ib, ic]);
            idx.remove(i % m);
            misses = 0;
            if i >= idx.len() {
                i = 0;
            }
        } else {
            i = (i + 1) % m;
            misses += 1;
        }
    }
    if idx.len() == 3 {
        out.push([idx[0], idx[1], idx[2]]);
    }
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
}
