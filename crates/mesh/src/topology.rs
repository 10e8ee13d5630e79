//! Vertex adjacency (CSR) and edge statistics: the one pass that serves both Taubin smoothing
//! (neighbour lists) and the watertightness check (every edge used once in each direction).

use crate::Mesh;

/// Undirected vertex neighbours in compressed sparse rows, plus edge statistics.
pub(crate) struct Adjacency {
    pub(crate) offsets: Vec<u32>,
    pub(crate) neighbors: Vec<u32>,
    pub(crate) stats: EdgeStats,
}

/// Edge counts that decide watertightness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EdgeStats {
    pub(crate) edges: u64,
    /// Edges used by one triangle only (holes).
    pub(crate) boundary: u64,
    /// Edges used by more than two triangles.
    pub(crate) nonmanifold: u64,
    /// Two-triangle edges whose triangles disagree in orientation.
    pub(crate) inconsistent: u64,
}

impl EdgeStats {
    /// Closed, edge-manifold and consistently oriented.
    pub(crate) fn watertight(&self) -> bool {
        self.edges > 0 && self.boundary == 0 && self.nonmanifold == 0 && self.inconsistent == 0
    }
}

impl Adjacency {
    /// Build from the triangles (vertex indices must be < 2³¹, enforced by [`crate::Limits`]).
    pub(crate) fn build(mesh: &Mesh) -> Adjacency {
        let nv = mesh.vertices.len();
        let mut offsets = vec![0u32; nv + 1];
        for t in &mesh.triangles {
            for &i in t {
                offsets[i as usize + 1] += 2;
            }
        }
        for i in 0..nv {
            offsets[i + 1] += offsets[i];
        }
        let mut fill: Vec<u32> = offsets[..nv].to_vec();
        let mut entries = vec![0u32; offsets[nv] as usize];
        for t in &mesh.triangles {
            for k in 0..3 {
                let a = t[k] as usize;
                let b = t[(k + 1) % 3] as usize;
                // Entry = neighbour << 1 | direction: in a's list "a→b" (1), in b's list (0).
                entries[fill[a] as usize] = (b as u32) << 1 | 1;
                fill[a] += 1;
                entries[fill[b] as usize] = (a as u32) << 1;
                fill[b] += 1;
            }
        }
        drop(fill);
        let mut stats = EdgeStats::default();
        let mut out_off = vec![0u32; nv + 1];
        let mut w = 0usize;
        for v in 0..nv {
            let (s, e) = (offsets[v] as usize, offsets[v + 1] as usize);
            entries[s..e].sort_unstable();
            let mut i = s;
            let start_w = w;
            while i < e {
                let n = entries[i] >> 1;
                let mut cin = 0u32;
                let mut cout = 0u32;
                while i < e && entries[i] >> 1 == n {
                    if entries[i] & 1 == 1 {
                        cout += 1;
                    } else {
                        cin += 1;
                    }
                    i += 1;
                }
                // Count each undirected edge once, from its smaller endpoint.
                if (v as u32) < n {
                    stats.edges += 1;
                    match cin + cout {
                        1 => stats.boundary += 1,
                        2 if cin == 1 => {}
                        2 => stats.inconsistent += 1,
                        _ => stats.nonmanifold += 1,
                    }
                }
                // w ≤ i always (one output per run of at least one entry).
                entries[w] = n;
                w += 1;
            }
            out_off[v + 1] = out_off[v] + (w - start_w) as u32;
        }
        entries.truncate(w);
        Adjacency {
            offsets: out_off,
            neighbors: entries,
            stats,
        }
    }
}
