//! Step 5, shuffle and quantise: make byte order and float noise carry no information.
//!
//! Exporters write vertices and triangles in an order that depends on the segmentation run, which
//! can link two releases of one model. A uniform random permutation of vertices and triangles (and
//! a random cyclic rotation inside each triangle, which keeps its orientation) removes that
//! signal; snapping coordinates to a grid (default 0.01 mm) removes the low-order float bits.

use crate::rng::Rng;

use crate::progress::Hooks;
use crate::rng::below;
use crate::{Mesh, MeshError};

/// Shuffle vertices and triangles; `tags` (empty, or one per triangle) follow their triangles.
pub(crate) fn shuffle(
    mesh: &mut Mesh,
    rng: &mut Rng,
    hooks: &mut Hooks<'_>,
    tags: &mut [bool],
) -> Result<(), MeshError> {
    let nv = mesh.vertices.len();
    // Fisher–Yates: perm[new] = old.
    let mut perm: Vec<u32> = (0..nv as u32).collect();
    for i in (1..nv).rev() {
        let j = below(rng, i as u32 + 1) as usize;
        perm.swap(i, j);
    }
    hooks.at(0.3)?;
    let mut inv = vec![0u32; nv];
    let mut verts = Vec::with_capacity(nv);
    for (new, &old) in perm.iter().enumerate() {
        inv[old as usize] = new as u32;
        verts.push(mesh.vertices[old as usize]);
    }
    mesh.vertices = verts;
    drop(perm);
    hooks.at(0.5)?;
    let nt = mesh.triangles.len();
    for i in (1..nt).rev() {
        let j = below(rng, i as u32 + 1) as usize;
        mesh.triangles.swap(i, j);
        if !tags.is_empty() {
            tags.swap(i, j);
        }
    }
    hooks.at(0.8)?;
    for t in &mut mesh.triangles {
        let r = below(rng, 3) as usize;
        let m = [inv[t[0] as usize], inv[t[1] as usize], inv[t[2] as usize]];
        *t = [m[r], m[(r + 1) % 3], m[(r + 2) % 3]];
    }
    Ok(())
}

/// Snap every coordinate to the nearest multiple of `step` (model units).
pub(crate) fn quantise(mesh: &mut Mesh, step: f64) {
    if step <= 0.0 {
        return;
    }
    let inv = 1.0 / step;
    for p in &mut mesh.vertices {
        for c in p.iter_mut() {
            *c = ((f64::from(*c) * inv).round() * step) as f32;
        }
    }
}
