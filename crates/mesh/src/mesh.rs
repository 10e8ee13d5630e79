//! The indexed triangle mesh every step works on, welding, and exact surface integrals.
//!
//! Vertices are a flat `Vec<[f32; 3]>` and triangles a flat `Vec<[u32; 3]>`: no per-triangle
//! allocation, cache-friendly loops, and 5 M triangles fit the 4 GiB of wasm32.

use crate::MeshError;
use crate::par::{TRI_CHUNK, VERTEX_CHUNK};
use crate::progress::Hooks;

/// An indexed triangle mesh (coordinates in the file's unit, normally millimetres).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions.
    pub vertices: Vec<[f32; 3]>,
    /// Triangles as indices into `vertices`, counter-clockwise seen from outside.
    pub triangles: Vec<[u32; 3]>,
}

/// Bounds checked before allocating: a count read from a file is a claim, not a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Most triangles accepted (default 50 000 000).
    pub max_triangles: u64,
    /// Most vertices accepted (default 50 000 000).
    pub max_vertices: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_triangles: 50_000_000,
            max_vertices: 50_000_000,
        }
    }
}

impl Limits {
    pub(crate) fn check_triangles(&self, n: u64) -> Result<(), MeshError> {
        if n > self.max_triangles {
            return Err(MeshError::TooLarge {
                what: "triangle".into(),
                limit: self.max_triangles,
            });
        }
        Ok(())
    }
    pub(crate) fn check_vertices(&self, n: u64) -> Result<(), MeshError> {
        if n > self.max_vertices {
            return Err(MeshError::TooLarge {
                what: "vertex".into(),
                limit: self.max_vertices,
            });
        }
        Ok(())
    }
}

/// Exact-position vertex welding with an open-addressing hash table.
///
/// Two vertices weld when their coordinates are bit-identical (after `-0.0 → 0.0`), which is what
/// STL exporters write for shared corners; no tolerance, so distinct points never merge.
pub(crate) struct Welder {
    pub(crate) vertices: Vec<[f32; 3]>,
    // Open addressing with the key stored in the slot (one cache miss per lookup): `[x, y, z,
    // index + 1]`, so an all-zero slot is empty and the table comes zeroed from the allocator.
    slots: Vec<[u32; 4]>,
    mask: usize,
    // A small direct-mapped cache of recent keys: exporters write neighbouring facets together,
    // so most lookups hit here (in L1/L2) instead of missing the cache on the big table.
    recent: Vec<[u32; 4]>,
}

const RECENT: usize = 16384;

/// Most points in one [`Welder::insert_batch`] call.
pub(crate) const BATCH: usize = 96;

#[inline]
fn key_bits(p: [f32; 3]) -> [u32; 3] {
    // +0.0 makes -0.0 equal to 0.0.
    [
        (p[0] + 0.0).to_bits(),
        (p[1] + 0.0).to_bits(),
        (p[2] + 0.0).to_bits(),
    ]
}

#[inline]
fn hash_bits(k: [u32; 3]) -> u64 {
    let a = (u64::from(k[0]) | (u64::from(k[1]) << 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let b = u64::from(k[2]).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    let h = (a ^ b.rotate_left(29)).wrapping_mul(0x1656_67B1_9E37_79F9);
    h ^ (h >> 31)
}

#[inline]
fn same_key(slot: &[u32; 4], key: [u32; 3]) -> bool {
    slot[0] == key[0] && slot[1] == key[1] && slot[2] == key[2]
}

impl Welder {
    /// A welder expecting about `expected` distinct vertices.
    pub(crate) fn with_capacity(expected: usize) -> Self {
        let cap = (expected.max(8) * 2).next_power_of_two();
        Welder {
            vertices: Vec::with_capacity(expected),
            slots: vec![[0; 4]; cap],
            mask: cap - 1,
            recent: vec![[0; 4]; RECENT],
        }
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        self.slots = vec![[0; 4]; cap];
        self.mask = cap - 1;
        for (i, p) in self.vertices.iter().enumerate() {
            let key = key_bits(*p);
            let mut s = (hash_bits(key) as usize) & self.mask;
            while self.slots[s][3] != 0 {
                s = (s + 1) & self.mask;
            }
            self.slots[s] = [key[0], key[1], key[2], i as u32 + 1];
        }
    }

    /// Touch the table slots of a batch of points before inserting them: independent loads let
    /// the CPU fetch several cache lines at once (memory-level parallelism) instead of one miss
    /// after another. Returns a value only so the loads are not optimised away.
    #[inline]
    pub(crate) fn touch(&self, points: &[[f32; 3]]) -> u32 {
        let mut acc = 0u32;
        for p in points {
            let h = hash_bits(key_bits(*p));
            acc ^= self.slots[(h as usize) & self.mask][3];
        }
        acc
    }

    /// The index of `p` when present.
    #[inline]
    pub(crate) fn find(&self, p: [f32; 3]) -> Option<u32> {
        let key = key_bits(p);
        let mut s = (hash_bits(key) as usize) & self.mask;
        loop {
            let slot = &self.slots[s];
            if slot[3] == 0 {
                return None;
            }
            if same_key(slot, key) {
                return Some(slot[3] - 1);
            }
            s = (s + 1) & self.mask;
        }
    }

    /// Append `p` as a new vertex without entering it in the table (for the last vertices
    /// added, which no later lookup will ask for).
    pub(crate) fn push_unindexed(&mut self, p: [f32; 3]) -> u32 {
        let idx = self.vertices.len() as u32;
        let k = key_bits(p);
        self.vertices.push([
            f32::from_bits(k[0]),
            f32::from_bits(k[1]),
            f32::from_bits(k[2]),
        ]);
        idx
    }

    /// The indices of `points` into `out` (inserting new ones in order), for a batch of at most
    /// [`BATCH`] points. Points found in the recent-key cache are answered first; only the others
    /// touch the big table, all their slots loaded together before any is used (independent
    /// loads overlap their cache misses), so the common case costs no table access at all.
    #[inline]
    pub(crate) fn insert_batch(&mut self, points: &[[f32; 3]], out: &mut [u32]) {
        let n = points.len().min(out.len()).min(BATCH);
        let mut pending = [(0usize, [0u32; 3], 0u64); BATCH];
        let mut np = 0;
        for i in 0..n {
            let key = key_bits(points[i]);
            let h = hash_bits(key);
            let hit = self.recent[(h >> 50) as usize & (RECENT - 1)];
            if hit[3] != 0 && same_key(&hit, key) {
                out[i] = hit[3] - 1;
            } else {
                pending[np] = (i, key, h);
                np += 1;
            }
        }
        let mut sink = 0u32;
        for &(_, _, h) in &pending[..np] {
            sink ^= self.slots[(h as usize) & self.mask][3];
        }
        std::hint::black_box(sink);
        for &(i, key, h) in &pending[..np] {
            out[i] = self.insert_hashed(key, h);
        }
    }

    /// The index of `p`, inserting it if new.
    #[inline]
    pub(crate) fn insert(&mut self, p: [f32; 3]) -> u32 {
        let key = key_bits(p);
        self.insert_hashed(key, hash_bits(key))
    }

    #[inline]
    fn insert_hashed(&mut self, key: [u32; 3], h: u64) -> u32 {
        if self.vertices.len() * 2 >= self.slots.len() {
            self.grow();
        }
        let r = (h >> 50) as usize & (RECENT - 1);
        let hit = self.recent[r];
        if hit[3] != 0 && same_key(&hit, key) {
            return hit[3] - 1;
        }
        let mut s = (h as usize) & self.mask;
        loop {
            let slot = self.slots[s];
            if slot[3] == 0 {
                let idx = self.vertices.len() as u32;
                let entry = [key[0], key[1], key[2], idx + 1];
                self.slots[s] = entry;
                self.recent[r] = entry;
                self.vertices.push([
                    f32::from_bits(key[0]),
                    f32::from_bits(key[1]),
                    f32::from_bits(key[2]),
                ]);
                return idx;
            }
            if same_key(&slot, key) {
                self.recent[r] = slot;
                return slot[3] - 1;
            }
            s = (s + 1) & self.mask;
        }
    }
}

impl Mesh {
    /// Weld bit-identical vertices and drop triangles that use a vertex twice.
    /// Returns the number of dropped (degenerate) triangles.
    pub fn weld(&mut self) -> usize {
        let mut w = Welder::with_capacity(self.vertices.len());
        let remap: Vec<u32> = self.vertices.iter().map(|p| w.insert(*p)).collect();
        self.vertices = w.vertices;
        for t in &mut self.triangles {
            for i in t.iter_mut() {
                *i = remap[*i as usize];
            }
        }
        self.drop_degenerate()
    }

    /// Drop triangles with a repeated vertex index; returns how many were dropped.
    pub fn drop_degenerate(&mut self) -> usize {
        let before = self.triangles.len();
        self.triangles
            .retain(|t| t[0] != t[1] && t[1] != t[2] && t[0] != t[2]);
        before - self.triangles.len()
    }

    /// Remove vertices no triangle uses, keeping the order of the rest.
    pub fn compact(&mut self) {
        self.compact_counting(0);
    }

    /// [`Mesh::compact`], returning how many of the vertices below index `below` remain (they
    /// are the first ones, in order).
    pub(crate) fn compact_counting(&mut self, below: usize) -> usize {
        let nv = self.vertices.len();
        let mut used = vec![false; nv];
        crate::par::each_corner(&mut used, &self.triangles, |u| *u = true);
        let below = below.min(nv);
        if used.iter().all(|&u| u) {
            // Every vertex is used (the usual case): nothing moves.
            return below;
        }
        let kept_below = used[..below].iter().filter(|&&u| u).count();
        let mut map = vec![u32::MAX; nv];
        let mut verts = Vec::with_capacity(nv);
        for (i, &u) in used.iter().enumerate() {
            if u {
                map[i] = verts.len() as u32;
                verts.push(self.vertices[i]);
            }
        }
        let _ = Hooks::quiet(|hooks| {
            crate::par::for_chunks_mut(&mut self.triangles, TRI_CHUNK, hooks, |_, part| {
                for t in part {
                    for i in t.iter_mut() {
                        *i = map[*i as usize];
                    }
                }
            })
        });
        self.vertices = verts;
        kept_below
    }

    /// Axis-aligned bounds `(min, max)`; zeros for an empty mesh.
    pub fn bounds(&self) -> ([f64; 3], [f64; 3]) {
        bounds_of(&self.vertices)
    }

    /// Surface area and signed enclosed volume (divergence theorem; exact for closed meshes).
    pub fn area_volume(&self) -> (f64, f64) {
        area_volume_of(&self.vertices, &self.triangles)
    }
}

/// [`Mesh::bounds`] of a vertex slice.
pub(crate) fn bounds_of(vertices: &[[f32; 3]]) -> ([f64; 3], [f64; 3]) {
    if vertices.is_empty() {
        return ([0.0; 3], [0.0; 3]);
    }
    let parts = Hooks::quiet(|hooks| {
        crate::par::map(vertices.len().div_ceil(VERTEX_CHUNK), hooks, |c| {
            let mut lo = [f32::INFINITY; 3];
            let mut hi = [f32::NEG_INFINITY; 3];
            for p in vertices.chunks(VERTEX_CHUNK).nth(c).unwrap_or(&[]) {
                for k in 0..3 {
                    lo[k] = lesser(lo[k], p[k]);
                    hi[k] = greater(hi[k], p[k]);
                }
            }
            (lo, hi)
        })
    })
    .unwrap_or_default();
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for (l, h) in parts {
        for k in 0..3 {
            lo[k] = lo[k].min(f64::from(l[k]));
            hi[k] = hi[k].max(f64::from(h[k]));
        }
    }
    (lo, hi)
}

/// [`Mesh::area_volume`] of slices (every index in range).
pub(crate) fn area_volume_of(vertices: &[[f32; 3]], triangles: &[[u32; 3]]) -> (f64, f64) {
    let [area, vol] = crate::par::sum(triangles.len(), TRI_CHUNK, |r| {
        let mut area = 0.0;
        let mut vol = 0.0;
        for t in &triangles[r] {
            let a = v64(vertices[t[0] as usize]);
            let b = v64(vertices[t[1] as usize]);
            let c = v64(vertices[t[2] as usize]);
            let n = cross(sub(b, a), sub(c, a));
            area += 0.5 * norm(n);
            vol += dot(a, cross(b, c)) / 6.0;
        }
        [area, vol]
    });
    (area, vol)
}

// Small f64 vector helpers shared by the geometry modules.
pub(crate) type V3 = [f64; 3];

/// The lesser of two numbers that are not NaN, as one comparison: `f64::min` also handles NaN,
/// which costs wasm a longer sequence (its `f64.min` propagates NaN, Rust's must not), and the
/// loops over every vertex or candidate triangle feel it. The same value as `a.min(b)` for
/// numbers; meshes hold none that is NaN (reading refuses them).
#[inline(always)]
pub(crate) fn lesser<T: PartialOrd>(a: T, b: T) -> T {
    if b < a { b } else { a }
}

/// The greater of two numbers that are not NaN (see [`lesser`]).
#[inline(always)]
pub(crate) fn greater<T: PartialOrd>(a: T, b: T) -> T {
    if b > a { b } else { a }
}

/// How far `q` lies inside grid cell `k` (cells of side `cell` from `lo`) from the cell's lower
/// and upper face, per axis (never negative): a cell `d` cells away along an axis is then at least
/// the matching gap plus `|d| - 1` cells away, which is what the grid searches prune with.
pub(crate) fn cell_face_gaps(q: V3, lo: V3, k: [i64; 3], cell: f64) -> (V3, V3) {
    let mut below = [0.0; 3];
    let mut above = [0.0; 3];
    for i in 0..3 {
        let face = lo[i] + k[i] as f64 * cell;
        below[i] = (q[i] - face).max(0.0);
        above[i] = (face + cell - q[i]).max(0.0);
    }
    (below, above)
}

#[inline]
pub(crate) fn v64(p: [f32; 3]) -> V3 {
    [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])]
}
#[inline]
pub(crate) fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
#[inline]
pub(crate) fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
#[inline]
pub(crate) fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
#[inline]
pub(crate) fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
#[inline]
pub(crate) fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
#[inline]
pub(crate) fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}
#[inline]
pub(crate) fn normalize(a: V3) -> V3 {
    let n = norm(a);
    if n > 0.0 { scale(a, 1.0 / n) } else { a }
}
