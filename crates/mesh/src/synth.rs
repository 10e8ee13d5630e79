//! Synthetic models for tests, benchmarks, demos and the browser self-test: a procedural head
//! (ellipsoid skull, nose, orbits, mouth, chin, ears, optional neck) and non-head shapes.
//!
//! No patient data is ever needed to exercise the pipeline. Every model is a closed, consistently
//! oriented (outward) triangle mesh in millimetres.

use crate::Mesh;
use crate::mesh::{V3, add, cross, dot, normalize, scale};

/// Shape and resolution of the synthetic head. Axes: x left→right, y posterior→anterior (the face
/// looks towards +y), z inferior→superior.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadSpec {
    /// Semi-axes of the skull ellipsoid (mm).
    pub semi_axes: [f64; 3],
    /// Nose length (mm).
    pub nose: f64,
    /// Include a neck down to z = -190 mm.
    pub neck: bool,
    /// Include ears.
    pub ears: bool,
    /// Longitude segments of the UV sphere (triangles ≈ 2 · lon · lat).
    pub lon: u32,
    /// Latitude rings.
    pub lat: u32,
}

impl Default for HeadSpec {
    fn default() -> Self {
        HeadSpec {
            semi_axes: [75.0, 95.0, 110.0],
            nose: 24.0,
            neck: false,
            ears: true,
            lon: 160,
            lat: 80,
        }
    }
}

impl HeadSpec {
    /// A spec with about `triangles` triangles.
    pub fn with_triangles(mut self, triangles: u64) -> Self {
        // triangles = 2 · lon · (lat − 1), lon = 2 · lat.
        let lat = ((triangles as f64 / 4.0).sqrt()).max(4.0) as u32;
        self.lat = lat;
        self.lon = 2 * lat;
        self
    }
}

/// Where the face features of a synthetic head are (mm, head coordinates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Landmarks {
    /// Nose tip.
    pub nose_tip: V3,
    /// Left and right eye (orbit centres on the surface).
    pub eyes: [V3; 2],
    /// Mouth centre.
    pub mouth: V3,
    /// Chin.
    pub chin: V3,
    /// Back of the head (must survive defacing).
    pub occiput: V3,
    /// Top of the head (must survive defacing).
    pub vertex: V3,
    /// Ears (must survive defacing).
    pub ears: [V3; 2],
}

/// A synthetic head and its landmarks.
#[derive(Debug, Clone)]
pub struct SynthHead {
    /// The closed mesh.
    pub mesh: Mesh,
    /// Landmarks in the mesh's coordinates.
    pub landmarks: Landmarks,
}

struct Bump {
    dir: V3,
    e1: V3,
    e2: V3,
    amp: f64,
    w1: f64,
    w2: f64,
}

impl Bump {
    fn new(dir: V3, up: V3, amp: f64, w1: f64, w2: f64) -> Bump {
        let dir = normalize(dir);
        let e1 = normalize(cross(up, dir));
        let e2 = cross(dir, e1);
        Bump {
            dir,
            e1,
            e2,
            amp,
            w1,
            w2,
        }
    }
    fn at(&self, v: V3) -> f64 {
        let c = dot(v, self.dir);
        if c <= 0.0 {
            return 0.0;
        }
        let a1 = dot(v, self.e1).atan2(c) / self.w1;
        let a2 = dot(v, self.e2).atan2(c) / self.w2;
        self.amp * (-(a1 * a1 + a2 * a2)).exp()
    }
}

fn head_radius(spec: &HeadSpec, bumps: &[Bump], v: V3) -> f64 {
    let [a, b, c] = spec.semi_axes;
    let e = 1.0 / ((v[0] / a).powi(2) + (v[1] / b).powi(2) + (v[2] / c).powi(2)).sqrt();
    let mut r = e + bumps.iter().map(|bm| bm.at(v)).sum::<f64>();
    if spec.neck && v[2] < 0.0 {
        // Union with a neck cylinder (radius 50 mm, axis z, bottom at z = -190 mm, centre y = -10).
        let s = (v[0] * v[0] + v[1] * v[1]).sqrt();
        let bottom = 190.0 / -v[2];
        let side = if s > 1e-9 { 50.0 / s } else { f64::INFINITY };
        r = r.max(bottom.min(side));
    }
    r
}

/// Build a head (closed, outward oriented).
pub fn head(spec: &HeadSpec) -> SynthHead {
    let up = [0.0, 0.0, 1.0];
    let n = spec.nose;
    let mut bumps = vec![
        // Nose: narrow across (x), longer along z.
        Bump::new([0.0, 1.0, -0.12], up, n, 0.10, 0.17),
        // Orbits.
        Bump::new([0.34, 1.0, 0.27], up, -9.0, 0.15, 0.12),
        Bump::new([-0.34, 1.0, 0.27], up, -9.0, 0.15, 0.12),
        // Brow ridge.
        Bump::new([0.0, 1.0, 0.45], up, 4.0, 0.45, 0.08),
        // Mouth groove and lips.
        Bump::new([0.0, 1.0, -0.55], up, -5.0, 0.30, 0.05),
        Bump::new([0.0, 1.0, -0.47], up, 3.0, 0.25, 0.05),
        // Chin.
        Bump::new([0.0, 1.0, -0.95], up, 9.0, 0.22, 0.14),
    ];
    if spec.ears {
        bumps.push(Bump::new([1.0, -0.05, 0.0], up, 14.0, 0.09, 0.22));
        bumps.push(Bump::new([-1.0, -0.05, 0.0], up, 14.0, 0.09, 0.22));
    }
    let mesh = radial_mesh(spec.lon, spec.lat, |v| head_radius(spec, &bumps, v));
    let at = |d: V3| {
        let d = normalize(d);
        scale(d, head_radius(spec, &bumps, d))
    };
    let landmarks = Landmarks {
        nose_tip: at([0.0, 1.0, -0.12]),
        eyes: [at([0.34, 1.0, 0.27]), at([-0.34, 1.0, 0.27])],
        mouth: at([0.0, 1.0, -0.55]),
        chin: at([0.0, 1.0, -0.95]),
        occiput: at([0.0, -1.0, 0.1]),
        vertex: at([0.0, 0.0, 1.0]),
        ears: [at([1.0, -0.05, 0.0]), at([-1.0, -0.05, 0.0])],
    };
    SynthHead { mesh, landmarks }
}

/// A star-shaped closed surface `r(direction)` on a UV sphere with poles on ±x.
pub fn radial_mesh(lon: u32, lat: u32, radius: impl Fn(V3) -> f64) -> Mesh {
    let lon = lon.max(3);
    let lat = lat.max(2);
    let mut vertices = Vec::with_capacity((lon * (lat - 1) + 2) as usize);
    let mut push = |d: V3| {
        let p = scale(d, radius(d));
        vertices.push([p[0] as f32, p[1] as f32, p[2] as f32]);
    };
    push([1.0, 0.0, 0.0]);
    for i in 1..lat {
        let phi = std::f64::consts::PI * f64::from(i) / f64::from(lat);
        for j in 0..lon {
            let th = std::f64::consts::TAU * f64::from(j) / f64::from(lon);
            push([phi.cos(), phi.sin() * th.cos(), phi.sin() * th.sin()]);
        }
    }
    push([-1.0, 0.0, 0.0]);
    let ring = |i: u32, j: u32| 1 + (i - 1) * lon + (j % lon);
    let south = lon * (lat - 1) + 1;
    let mut triangles = Vec::with_capacity((2 * lon * (lat - 1)) as usize);
    for j in 0..lon {
        triangles.push([0, ring(1, j), ring(1, j + 1)]);
    }
    for i in 1..lat - 1 {
        for j in 0..lon {
            let (a, b, c, d) = (
                ring(i, j),
                ring(i, j + 1),
                ring(i + 1, j),
                ring(i + 1, j + 1),
            );
            triangles.push([a, c, d]);
            triangles.push([a, d, b]);
        }
    }
    for j in 0..lon {
        triangles.push([south, ring(lat - 1, j + 1), ring(lat - 1, j)]);
    }
    let mut m = Mesh {
        vertices,
        triangles,
    };
    // Make the orientation outward whatever the parametrisation: positive volume.
    if m.area_volume().1 < 0.0 {
        for t in &mut m.triangles {
            t.swap(1, 2);
        }
    }
    m
}

/// A sphere of radius `r`.
pub fn sphere(r: f64, lon: u32, lat: u32) -> Mesh {
    radial_mesh(lon, lat, |_| r)
}

/// An ellipsoid with semi-axes `a`.
pub fn ellipsoid(a: [f64; 3], lon: u32, lat: u32) -> Mesh {
    radial_mesh(lon, lat, |v| {
        1.0 / ((v[0] / a[0]).powi(2) + (v[1] / a[1]).powi(2) + (v[2] / a[2]).powi(2)).sqrt()
    })
}

/// An axis-aligned box of `size`, each face split into `n × n` quads (closed, welded).
pub fn cuboid(size: [f64; 3], n: u32) -> Mesh {
    let n = n.max(1);
    let mut w = crate::mesh::Welder::with_capacity((6 * (n + 1) * (n + 1)) as usize);
    let mut triangles = Vec::new();
    let h = [size[0] / 2.0, size[1] / 2.0, size[2] / 2.0];
    for axis in 0..3 {
        for sign in [-1.0f64, 1.0] {
            let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
            let pt = |i: u32, j: u32| {
                let mut p = [0.0f64; 3];
                p[axis] = sign * h[axis];
                p[u] = -h[u] + size[u] * f64::from(i) / f64::from(n);
                p[v] = -h[v] + size[v] * f64::from(j) / f64::from(n);
                [p[0] as f32, p[1] as f32, p[2] as f32]
            };
            for i in 0..n {
                for j in 0..n {
                    let a = w.insert(pt(i, j));
                    let b = w.insert(pt(i + 1, j));
                    let c = w.insert(pt(i + 1, j + 1));
                    let d = w.insert(pt(i, j + 1));
                    // u × v = +axis, so (a, b, c) faces +axis; flip on the negative side.
                    if sign > 0.0 {
                        triangles.push([a, b, c]);
                        triangles.push([a, c, d]);
                    } else {
                        triangles.push([a, c, b]);
                        triangles.push([a, d, c]);
                    }
                }
            }
        }
    }
    Mesh {
        vertices: w.vertices,
        triangles,
    }
}

/// Apply `x' = M·x + t` (rotation, possibly with a reflection) to a mesh; a reflection also
/// reverses the winding so the surface stays outward oriented.
pub fn transformed(mesh: &Mesh, m: [[f64; 3]; 3], t: V3) -> Mesh {
    let det = dot(m[0], cross(m[1], m[2]));
    let mut out = mesh.clone();
    for p in &mut out.vertices {
        let q = crate::mesh::v64(*p);
        let r = add([dot(m[0], q), dot(m[1], q), dot(m[2], q)], t);
        *p = [r[0] as f32, r[1] as f32, r[2] as f32];
    }
    if det < 0.0 {
        for tri in &mut out.triangles {
            tri.swap(1, 2);
        }
    }
    out
}

/// Apply `x' = M·x + t` to a point.
pub fn transform_point(m: [[f64; 3]; 3], t: V3, p: V3) -> V3 {
    add([dot(m[0], p), dot(m[1], p), dot(m[2], p)], t)
}

/// A rotation matrix from a unit quaternion-like 4-vector (normalised here); deterministic
/// random rotations for tests.
pub fn rotation_from_quaternion(q: [f64; 4]) -> [[f64; 3]; 3] {
    let n = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
        .sqrt()
        .max(1e-12);
    let [w, x, y, z] = [q[0] / n, q[1] / n, q[2] / n, q[3] / n];
    [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ]
}
