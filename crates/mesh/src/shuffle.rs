//! Step 5, shuffle and quantise: make byte order and float noise carry no information.
//!
//! Exporters write vertices and triangles in an order that depends on the segmentation run, which
//! can link two releases of one model. A uniform random permutation of vertices and triangles (and
//! a random cyclic rotation inside each triangle, which keeps its orientation) removes that
//! signal; snapping coordinates to a grid (default 0.01 mm) removes the low-order float bits.

use crate::rng::Rng;

use crate::par::{TRI_CHUNK, VERTEX_CHUNK};
use crate::progress::Hooks;
use rand_core::RngCore;

use crate::rng::{Streams, below};
use crate::{Mesh, MeshError};

/// A random order for writing a mesh: where each vertex and triangle goes, and how far each
/// triangle's corners rotate (0, 1 or 2 places, which keeps its orientation).
///
/// The pipeline works on the mesh in the file's spatial order, which keeps its memory accesses
/// local, and applies the order only when writing: STL records are built in the working order
/// and gathered into place (one random read per record instead of one per corner); an indexed
/// PLY also needs the vertex permutation.
pub(crate) struct Order {
    streams: Streams,
    /// `triangles[new] = old`.
    triangles: Vec<u32>,
}

impl Order {
    /// Draw a uniformly random order for `mesh`'s triangles.
    pub(crate) fn draw(
        mesh: &Mesh,
        rng: &mut Rng,
        hooks: &mut Hooks<'_>,
    ) -> Result<Order, MeshError> {
        let streams = Streams::split(rng);
        let triangles = permutation(mesh.triangles.len(), &streams, TRIANGLE_PERM, hooks)?;
        Ok(Order { streams, triangles })
    }

    /// The corner rotation of the triangles of chunk `chunk` (of [`TRI_CHUNK`] triangles, in the
    /// working order), applied one triangle after another: each chunk has its own stream, so the
    /// rotations never depend on the number of threads.
    fn rotations(&self, chunk: usize) -> impl FnMut(&[u32; 3]) -> [u32; 3] {
        let mut rng = self.streams.stream(ROTATION | chunk as u64);
        move |t| {
            let r = below(&mut rng, 3) as usize;
            [t[r], t[(r + 1) % 3], t[(r + 2) % 3]]
        }
    }

    /// `mesh`'s triangles with their corners rotated (in the working order), in parallel.
    fn rotated(&self, mesh: &Mesh, hooks: &mut Hooks<'_>) -> Result<Vec<[u32; 3]>, MeshError> {
        let mut tris = mesh.triangles.clone();
        crate::par::for_chunks_mut(&mut tris, TRI_CHUNK, hooks, |start, part| {
            let mut rotate = self.rotations(start / TRI_CHUNK);
            for t in part {
                *t = rotate(t);
            }
        })?;
        Ok(tris)
    }

    /// Binary STL of `mesh` in this order (the file has no vertex order: only the triangles'
    /// order and their corners' rotation show).
    pub(crate) fn write_stl(
        &self,
        mesh: &Mesh,
        hooks: &mut Hooks<'_>,
    ) -> Result<Vec<u8>, MeshError> {
        // Records in the working order (sequential reads of the vertices), corners rotated.
        hooks.within(0.0, 0.6);
        let (vertices, triangles) = (&mesh.vertices, &mesh.triangles);
        let mut records = vec![0u8; 50 * triangles.len()];
        crate::par::for_chunks_mut(&mut records, 50 * TRI_CHUNK, hooks, |start, part| {
            let first = start / 50;
            let mut rotate = self.rotations(first / TRI_CHUNK);
            for (rec, t) in part.chunks_exact_mut(50).zip(&triangles[first..]) {
                crate::write::stl_record(rec, vertices, rotate(t));
            }
        })?;
        hooks.within(0.6, 1.0);
        let n = self.triangles.len();
        let mut out = vec![0u8; 84 + 50 * n];
        crate::write::stl_header(&mut out, n);
        crate::par::for_chunks_mut(&mut out[84..], 50 * TRI_CHUNK, hooks, |start, part| {
            for (rec, &old) in part.chunks_exact_mut(50).zip(&self.triangles[start / 50..]) {
                let at = 50 * old as usize;
                if let Some(src) = records.get(at..at + 50) {
                    rec.copy_from_slice(src);
                }
            }
        })?;
        Ok(out)
    }

    /// `mesh` with its vertices and triangles in a random order (for indexed formats): the
    /// vertex permutation is drawn here, from the same key.
    pub(crate) fn apply(&self, mesh: &Mesh, hooks: &mut Hooks<'_>) -> Result<Mesh, MeshError> {
        let nv = mesh.vertices.len();
        hooks.within(0.0, 0.3);
        let vperm = permutation(nv, &self.streams, VERTEX_PERM, hooks)?;
        let mut inv = vec![0u32; nv];
        for (new, &old) in vperm.iter().enumerate() {
            inv[old as usize] = new as u32;
        }
        let vertices = gather(&mesh.vertices, &vperm, hooks)?;
        drop(vperm);
        hooks.within(0.3, 0.7);
        let mut tris = self.rotated(mesh, hooks)?;
        crate::par::for_chunks_mut(&mut tris, TRI_CHUNK, hooks, |_, part| {
            for t in part {
                *t = [inv[t[0] as usize], inv[t[1] as usize], inv[t[2] as usize]];
            }
        })?;
        hooks.within(0.7, 1.0);
        let triangles = gather(&tris, &self.triangles, hooks)?;
        Ok(Mesh {
            vertices,
            triangles,
        })
    }
}

// Stream domains: the high bits of a ChaCha stream number say what it is used for.
const VERTEX_PERM: u64 = 1 << 60;
const TRIANGLE_PERM: u64 = 2 << 60;
const ROTATION: u64 = 3 << 60;
const LABELS: u64 = 1 << 56;

/// Buckets of the parallel shuffle.
const BUCKETS: usize = 4;
/// Items per chunk when drawing bucket labels.
const LABEL_CHUNK: usize = 64 * 1024;

/// A uniformly random permutation of `0..n` as `perm[new] = old`, computed in parallel and
/// independent of the number of threads: every item draws a uniform bucket label (from its
/// chunk's stream), the buckets take their items in order, and each bucket is shuffled by
/// Fisher–Yates (from the bucket's stream). Uniform labels split the items multinomially and
/// uniform shuffles inside the buckets make every arrangement equally likely.
fn permutation(
    n: usize,
    streams: &Streams,
    domain: u64,
    hooks: &mut Hooks<'_>,
) -> Result<Vec<u32>, MeshError> {
    let mut labels = vec![0u8; n];
    let counts = crate::par::map_chunks_mut(&mut labels, LABEL_CHUNK, hooks, |start, part| {
        let mut rng = streams.stream(domain | LABELS | (start / LABEL_CHUNK) as u64);
        let mut counts = [0usize; BUCKETS];
        // BUCKETS is a power of two: each u32 gives 32 / log2(BUCKETS) exact uniform labels.
        const BITS: u32 = BUCKETS.trailing_zeros();
        for group in part.chunks_mut((32 / BITS) as usize) {
            let mut r = rng.next_u32();
            for l in group {
                let b = (r & (BUCKETS as u32 - 1)) as u8;
                r >>= BITS;
                *l = b;
                counts[b as usize] += 1;
            }
        }
        counts
    })?;
    let mut bounds = vec![0usize; BUCKETS + 1];
    for c in &counts {
        for b in 0..BUCKETS {
            bounds[b + 1] += c[b];
        }
    }
    for b in 0..BUCKETS {
        bounds[b + 1] += bounds[b];
    }
    let mut perm = vec![0u32; n];
    let mut buckets = crate::par::split_at(&mut perm, &bounds);
    crate::par::for_chunks_mut(&mut buckets, 1, hooks, |b, slot| {
        let out = &mut *slot[0];
        let mut w = 0;
        // Branch-free: every item is written at `w`, which only advances for this bucket's
        // items, so the next match overwrites the others.
        for (i, &l) in labels.iter().enumerate() {
            if let Some(o) = out.get_mut(w) {
                *o = i as u32;
            }
            w += usize::from(usize::from(l) == b);
        }
        let mut rng = streams.stream(domain | b as u64);
        for i in (1..out.len()).rev() {
            let j = below(&mut rng, i as u32 + 1) as usize;
            out.swap(i, j);
        }
    })?;
    Ok(perm)
}

/// `out[new] = items[perm[new]]`, in parallel.
fn gather<T: Copy + Default + Send + Sync>(
    items: &[T],
    perm: &[u32],
    hooks: &mut Hooks<'_>,
) -> Result<Vec<T>, MeshError> {
    let mut out = vec![T::default(); perm.len()];
    crate::par::for_chunks_mut(&mut out, TRI_CHUNK, hooks, |start, part| {
        for (o, &p) in part.iter_mut().zip(&perm[start..]) {
            *o = items[p as usize];
        }
    })?;
    Ok(out)
}

/// Snap every coordinate to the nearest multiple of `step` (model units).
pub(crate) fn quantise(mesh: &mut Mesh, step: f64) {
    if step <= 0.0 {
        return;
    }
    let inv = 1.0 / step;
    Hooks::quiet(|hooks| {
        crate::par::for_chunks_mut(&mut mesh.vertices, VERTEX_CHUNK, hooks, |_, part| {
            for p in part {
                for c in p.iter_mut() {
                    *c = ((f64::from(*c) * inv).round() * step) as f32;
                }
            }
        })
    })
    // Quiet hooks never cancel.
    .unwrap_or(());
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    fn perm(n: usize, seed: u64) -> Vec<u32> {
        let mut rng = Rng::seed_from_u64(seed);
        let streams = Streams::split(&mut rng);
        Hooks::quiet(|h| permutation(n, &streams, VERTEX_PERM, h)).unwrap()
    }

    #[test]
    fn permutations_are_permutations() {
        for n in [0, 1, 2, 5, 1000, 3 * LABEL_CHUNK + 17] {
            let mut p = perm(n, n as u64);
            p.sort_unstable();
            assert!(p.iter().enumerate().all(|(i, &x)| x == i as u32), "n = {n}");
        }
    }

    #[test]
    fn every_arrangement_is_about_equally_likely() {
        // All 24 orders of 4 items, 24,000 draws: chi-square with 23 degrees of freedom stays
        // under 49.7 with probability 0.999.
        let mut counts: std::collections::HashMap<Vec<u32>, u32> = Default::default();
        let draws = 24_000u32;
        for seed in 0..u64::from(draws) {
            *counts.entry(perm(4, seed)).or_default() += 1;
        }
        assert_eq!(counts.len(), 24);
        let e = f64::from(draws) / 24.0;
        let chi2: f64 = counts
            .values()
            .map(|&c| (f64::from(c) - e).powi(2) / e)
            .sum();
        assert!(chi2 < 49.7, "chi-square {chi2}");
    }

    #[test]
    fn items_spread_over_all_places_across_chunks() {
        // Item 0 (first chunk) and the last item (last chunk) land anywhere, uniformly.
        let n = LABEL_CHUNK + 5;
        let mut first = [0u32; 8];
        let mut last = [0u32; 8];
        for seed in 0..400 {
            let p = perm(n, seed);
            for (new, &old) in p.iter().enumerate() {
                let bin = new * 8 / n;
                if old == 0 {
                    first[bin] += 1;
                }
                if old as usize == n - 1 {
                    last[bin] += 1;
                }
            }
        }
        // 50 expected per bin; binomial(400, 1/8) has σ ≈ 6.6: allow ±4σ.
        assert!(
            first.iter().chain(&last).all(|&c| (24..=76).contains(&c)),
            "{first:?} {last:?}"
        );
    }
}
