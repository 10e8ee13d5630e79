//! Step 4, mask: blur fine identifying surface detail (skin texture, scars, moles that a
//! high-resolution surface scan or MRI keeps) without changing the shape at planning scale.
//!
//! Taubin λ|μ smoothing (Taubin 1995, "A signal processing approach to fair surface design")
//! low-pass filters the surface without the shrinkage of plain Laplacian smoothing; then each
//! vertex moves by a random displacement drawn uniformly in a ball of radius ε, so no two releases
//! of one model share their vertex positions.

use crate::rng::Rng;
use serde::{Deserialize, Serialize};

use crate::progress::Hooks;
use crate::topology::Adjacency;
use crate::{Mesh, MeshError};

/// Parameters of the mask step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskParams {
    /// Number of Taubin λ|μ pairs (each pair is two Laplacian passes; 0 disables smoothing).
    pub taubin_iterations: u32,
    /// Taubin λ (shrink step, > 0).
    pub lambda: f32,
    /// Taubin μ (inflate step, < −λ).
    pub mu: f32,
    /// Radius ε of the random displacement in model units (mm); 0 disables noise.
    pub noise_mm: f32,
}

use crate::par::VERTEX_CHUNK as CHUNK;

pub(crate) fn taubin(
    mesh: &mut Mesh,
    adj: &Adjacency,
    params: &MaskParams,
    pinned: &[bool],
    hooks: &mut Hooks<'_>,
) -> Result<(), MeshError> {
    let mut buf = mesh.vertices.clone();
    let passes = 2 * params.taubin_iterations as usize;
    for pass in 0..passes {
        hooks.within(
            pass as f32 / passes as f32,
            (pass + 1) as f32 / passes as f32,
        );
        let f = if pass % 2 == 0 {
            params.lambda
        } else {
            params.mu
        };
        let src = &mesh.vertices;
        crate::par::for_chunks_mut(&mut buf, CHUNK, hooks, |start, out| {
            for (k, o) in out.iter_mut().enumerate() {
                let v = start + k;
                let (s, e) = (adj.offsets[v] as usize, adj.offsets[v + 1] as usize);
                let p = src[v];
                // Pinned: the rim of a deface cut, whose cap triangles span the whole cut and
                // would pull the rim towards the cap's middle; keeping it fixed keeps the cap
                // planar.
                if e == s || pinned.get(v).copied().unwrap_or(false) {
                    *o = p;
                    continue;
                }
                let mut acc = [0f32; 3];
                for &u in &adj.neighbors[s..e] {
                    let q = src[u as usize];
                    acc[0] += q[0];
                    acc[1] += q[1];
                    acc[2] += q[2];
                }
                let inv = 1.0 / (e - s) as f32;
                *o = [
                    p[0] + f * (acc[0] * inv - p[0]),
                    p[1] + f * (acc[1] * inv - p[1]),
                    p[2] + f * (acc[2] * inv - p[2]),
                ];
            }
        })?;
        std::mem::swap(&mut mesh.vertices, &mut buf);
    }
    Ok(())
}

/// Move every vertex by a displacement drawn uniformly in the ball of radius `eps`. Each chunk of
/// vertices draws from its own ChaCha stream of one key taken from `rng`, so chunks run in
/// parallel and the result does not depend on the number of threads.
pub(crate) fn noise(
    mesh: &mut Mesh,
    eps: f32,
    rng: &mut Rng,
    hooks: &mut Hooks<'_>,
) -> Result<(), MeshError> {
    let streams = crate::rng::Streams::split(rng);
    crate::par::for_chunks_mut(&mut mesh.vertices, CHUNK, hooks, |start, part| {
        let mut rng = streams.stream((start / CHUNK) as u64);
        for p in part {
            // Uniform in the unit ball by rejection (accepts π/6 ≈ 52 % of draws).
            let d = loop {
                let d = crate::rng::signed_units3(&mut rng);
                if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= 1.0 {
                    break d;
                }
            };
            p[0] += eps * d[0];
            p[1] += eps * d[1];
            p[2] += eps * d[2];
        }
    })
}
