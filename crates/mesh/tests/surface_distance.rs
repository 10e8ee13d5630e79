//! `utility::SurfaceDistance`, the public face of the report's surface grid: exact distances
//! (checked against an independent brute force over random triangle soups), a filter that leaves
//! triangles out, and typed errors instead of panics for bad indices and coordinates.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use veil_mesh::Coded;
use veil_mesh::utility::SurfaceDistance;

type P = [f64; 3];

fn sub(a: P, b: P) -> P {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: P, b: P) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn len(a: P) -> f64 {
    dot(a, a).sqrt()
}

/// Distance from `p` to segment `ab`.
fn to_segment(p: P, a: P, b: P) -> f64 {
    let ab = sub(b, a);
    let l2 = dot(ab, ab);
    let t = if l2 == 0.0 {
        0.0
    } else {
        (dot(sub(p, a), ab) / l2).clamp(0.0, 1.0)
    };
    len(sub(
        p,
        [a[0] + ab[0] * t, a[1] + ab[1] * t, a[2] + ab[2] * t],
    ))
}

/// Distance from `p` to triangle `abc` another way than the crate's (Voronoi regions): the
/// projection onto the plane if it falls inside (barycentric test), else the nearest edge.
fn to_triangle(p: P, a: P, b: P, c: P) -> f64 {
    let edges = to_segment(p, a, b)
        .min(to_segment(p, b, c))
        .min(to_segment(p, c, a));
    let (u, v) = (sub(b, a), sub(c, a));
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let nn = dot(n, n);
    if nn < 1e-18 {
        return edges;
    }
    let w = sub(p, a);
    let h = dot(w, n) / nn;
    let q = sub(w, [n[0] * h, n[1] * h, n[2] * h]);
    let (uu, uv, vv, qu, qv) = (dot(u, u), dot(u, v), dot(v, v), dot(q, u), dot(q, v));
    let den = uu * vv - uv * uv;
    let s = (vv * qu - uv * qv) / den;
    let t = (uu * qv - uv * qu) / den;
    if s >= 0.0 && t >= 0.0 && s + t <= 1.0 {
        (h * nn.sqrt()).abs().min(edges)
    } else {
        edges
    }
}

fn f64s(p: [f32; 3]) -> P {
    p.map(f64::from)
}

/// A unit cube's 12 triangles (two per face; triangles 4 and 5 are the face z = 1).
fn cube() -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
    let v = (0..8)
        .map(|i| [(i & 1) as f32, ((i >> 1) & 1) as f32, ((i >> 2) & 1) as f32])
        .collect();
    let t = vec![
        [0, 2, 1],
        [1, 2, 3],
        [0, 1, 4],
        [1, 5, 4],
        [4, 5, 6],
        [5, 7, 6],
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
fn distances_to_a_cube_and_to_what_the_filter_keeps() {
    let (v, t) = cube();
    let all = SurfaceDistance::new(&v, &t, &|_| true).unwrap();
    let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-6;
    assert!(
        close(all.distance([0.5, 0.5, 1.25]), 0.25),
        "above the top face"
    );
    assert!(
        close(all.distance([0.5, 0.5, 0.5]), 0.5),
        "the centre, inside"
    );
    assert!(
        close(all.distance([2.0, 2.0, 0.5]), 2f64.sqrt()),
        "beside an edge"
    );
    assert!(close(all.distance([0.0, 0.0, 0.0]), 0.0), "on a corner");
    // Without the top face, the point above it is nearest to the top edges of the sides.
    let no_top = SurfaceDistance::new(&v, &t, &|i| i != 4 && i != 5).unwrap();
    assert!(close(
        no_top.distance([0.5, 0.5, 1.25]),
        (0.25f64 + 0.0625).sqrt()
    ));
}

#[test]
fn a_triangle_without_area_is_its_edges() {
    let v = [
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [2.0, 0.0, 0.0],
        [5.0, 5.0, 5.0],
    ];
    let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-6;
    // Collinear corners, and two corners in one place.
    for t in [[0u32, 1, 2], [0, 2, 1], [0, 0, 2], [2, 0, 2]] {
        let tris = [t];
        let g = SurfaceDistance::new(&v, &tris, &|_| true).unwrap();
        assert!(close(g.distance([3.0, 1.0, 0.0]), 2f64.sqrt()), "{t:?}");
        assert!(close(g.distance([0.5, 1.0, 0.0]), 1.0), "{t:?}");
        assert!(close(g.distance([-1.0, 0.0, 0.0]), 1.0), "{t:?}");
    }
    // A triangle that is one point.
    let point = [[3, 3, 3]];
    let g = SurfaceDistance::new(&v, &point, &|_| true).unwrap();
    assert!(close(g.distance([5.0, 5.0, 8.0]), 3.0));
}

#[test]
fn nothing_measured_or_a_point_that_is_not_finite_has_no_distance() {
    let (v, t) = cube();
    assert_eq!(
        SurfaceDistance::new(&v, &t, &|_| false)
            .unwrap()
            .distance([0.0; 3]),
        None
    );
    assert_eq!(
        SurfaceDistance::new(&[], &[], &|_| true)
            .unwrap()
            .distance([0.0; 3]),
        None
    );
    let all = SurfaceDistance::new(&v, &t, &|_| true).unwrap();
    assert_eq!(all.distance([f32::NAN, 0.0, 0.0]), None);
    assert_eq!(all.distance([0.0, f32::INFINITY, 0.0]), None);
}

#[test]
fn bad_indices_and_coordinates_are_typed_errors() {
    let (mut v, mut t) = cube();
    t[7] = [3, 6, 8];
    let e = SurfaceDistance::new(&v, &t, &|_| true).err().unwrap();
    assert_eq!(e.code(), "index-out-of-range");
    assert!(e.to_string().contains('7'), "names the triangle: {e}");
    t[7] = [3, 6, 7];
    v[5][1] = f32::NAN;
    let e = SurfaceDistance::new(&v, &t, &|_| true).err().unwrap();
    assert_eq!(e.code(), "non-finite-coordinate");
}

proptest! {
    // Triangle soups of any shape and size (slivers, overlaps, far-apart pieces), a random
    // subset measured, queries in and around their box: the grid's answer equals the brute force.
    #[test]
    fn equals_an_independent_brute_force(
        vertices in prop::collection::vec(prop::array::uniform3(-50.0f32..50.0), 3..60),
        picks in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<bool>()), 1..80),
        queries in prop::collection::vec(prop::array::uniform3(-80.0f32..80.0), 1..30),
    ) {
        let triangles: Vec<[u32; 3]> = picks
            .iter()
            .map(|(a, b, c, _)| [a, b, c].map(|i| i.index(vertices.len()) as u32))
            .collect();
        let measured = |i: usize| picks[i].3;
        let grid = SurfaceDistance::new(&vertices, &triangles, &measured).unwrap();
        for q in queries.iter().chain(vertices.iter().take(5)) {
            let brute = triangles
                .iter()
                .enumerate()
                .filter(|(i, _)| measured(*i))
                .map(|(_, t)| to_triangle(f64s(*q), f64s(vertices[t[0] as usize]), f64s(vertices[t[1] as usize]), f64s(vertices[t[2] as usize])))
                .fold(f64::INFINITY, f64::min);
            match grid.distance(*q) {
                None => prop_assert!(brute.is_infinite()),
                Some(d) => prop_assert!((d - brute).abs() <= 1e-6 * (1.0 + brute), "grid {} brute {}", d, brute),
            }
        }
    }
}
