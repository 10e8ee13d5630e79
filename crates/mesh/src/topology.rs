//! Vertex adjacency (CSR) and edge statistics: the one pass that serves both Taubin smoothing
//! (neighbour lists) and the watertightness check (every edge used once in each direction).

use crate::Mesh;
use crate::par::VERTEX_CHUNK;
use crate::progress::Hooks;

/// Undirected vertex neighbours in compressed sparse rows, plus edge statistics.
pub(crate) struct Adjacency {
    pub(crate) offsets: Vec<u32>,
    pub(crate) neighbors: Vec<u32>,
    pub(crate) stats: EdgeStats,
    /// Statistics of the edges whose endpoints are both below the `low` given to
    /// [`Adjacency::build_split`] (all edges for [`Adjacency::build`]).
    pub(crate) low_stats: EdgeStats,
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

impl EdgeStats {
    /// Statistics of the undirected edges of a list of directed edges `(from, to)` (each use of
    /// an edge by a triangle listed once).
    pub(crate) fn of_directed(edges: &[(u32, u32)]) -> EdgeStats {
        // Key: the undirected edge, then whether this use runs from the smaller endpoint.
        let mut keys: Vec<u64> = edges
            .iter()
            .map(|&(a, b)| {
                (u64::from(a.min(b)) << 33) | (u64::from(a.max(b)) << 1) | u64::from(a < b)
            })
            .collect();
        keys.sort_unstable();
        let mut st = EdgeStats::default();
        let mut i = 0;
        while i < keys.len() {
            let edge = keys[i] >> 1;
            let (mut fwd, mut back) = (0u32, 0u32);
            while i < keys.len() && keys[i] >> 1 == edge {
                if keys[i] & 1 == 1 {
                    fwd += 1;
                } else {
                    back += 1;
                }
                i += 1;
            }
            st.count(fwd, back);
        }
        st
    }

    /// Count one undirected edge used `a` times in one direction and `b` in the other.
    fn count(&mut self, a: u32, b: u32) {
        self.edges += 1;
        match a + b {
            1 => self.boundary += 1,
            2 if a == 1 => {}
            2 => self.inconsistent += 1,
            _ => self.nonmanifold += 1,
        }
    }

    pub(crate) fn add(&mut self, o: &EdgeStats) {
        self.edges += o.edges;
        self.boundary += o.boundary;
        self.nonmanifold += o.nonmanifold;
        self.inconsistent += o.inconsistent;
    }
}

impl Adjacency {
    /// Build from the triangles (vertex indices must be < 2³¹, enforced by [`crate::Limits`]).
    ///
    /// Each vertex row first receives one entry per incident half-edge, `neighbour << 1 |
    /// direction` (1 when the edge leaves the vertex); sorting a row groups the entries of each
    /// neighbour, whose counts decide the edge statistics, and the unique neighbours are kept.
    /// In parallel, each thread owns a range of vertices (so a contiguous range of rows) and
    /// scans every triangle for the half-edges that land in its range: no write is shared.
    /// Rows are sorted, so the result does not depend on the number of threads.
    pub(crate) fn build(mesh: &Mesh) -> Adjacency {
        Adjacency::build_split(mesh, u32::MAX)
    }

    /// As [`Adjacency::build`], also counting apart the edges between vertices below `low`.
    pub(crate) fn build_split(mesh: &Mesh, low: u32) -> Adjacency {
        let nv = mesh.vertices.len();
        let tris = &mesh.triangles;
        let bounds = crate::par::vertex_ranges(nv);

        // Two entries per incident edge per triangle corner.
        let mut degree = vec![0u32; nv];
        crate::par::each_corner(&mut degree, tris, |d| *d += 2);
        let mut offsets = Vec::with_capacity(nv + 1);
        offsets.push(0u32);
        let mut at = 0u32;
        for d in degree {
            at += d;
            offsets.push(at);
        }
        let total = at as usize;

        let mut entries = vec![0u32; total];
        let _ = Hooks::quiet(|hooks| {
            let entry_bounds: Vec<usize> = bounds.iter().map(|&v| offsets[v] as usize).collect();
            let mut ranges = crate::par::split_at(&mut entries, &entry_bounds);
            crate::par::map_chunks_mut(&mut ranges, 1, hooks, |p, e| {
                let e = &mut *e[0];
                let (lo, hi) = (bounds[p], bounds[p + 1]);
                let base = offsets[lo];
                let mut cur: Vec<u32> = offsets[lo..hi].iter().map(|o| o - base).collect();
                let lo = lo as u32;
                let mut put = |v: u32, entry: u32| {
                    if let Some(c) = cur.get_mut(v.wrapping_sub(lo) as usize) {
                        if let Some(slot) = e.get_mut(*c as usize) {
                            *slot = entry;
                        }
                        *c += 1;
                    }
                };
                for t in tris {
                    for k in 0..3 {
                        let (a, b) = (t[k], t[(k + 1) % 3]);
                        // In a's row "a→b" (1), in b's row "b←a" (0).
                        put(a, b << 1 | 1);
                        put(b, a << 1);
                    }
                }
            })
        });

        // Sort and deduplicate each row in parallel, in chunks of vertices; each row's unique
        // neighbours move to the row's start.
        let chunk_starts: Vec<usize> = (0..nv.div_ceil(VERTEX_CHUNK))
            .map(|c| c * VERTEX_CHUNK)
            .chain([nv])
            .collect();
        let entry_bounds: Vec<usize> = chunk_starts.iter().map(|&v| offsets[v] as usize).collect();
        let mut rows = crate::par::split_at(&mut entries, &entry_bounds);
        let results: Vec<(Vec<u32>, EdgeStats, EdgeStats)> = Hooks::quiet(|hooks| {
            crate::par::map_chunks_mut(&mut rows, 1, hooks, |c, chunk| {
                let ents = &mut *chunk[0];
                let (v0, v1) = (chunk_starts[c], chunk_starts[c + 1]);
                let base = offsets[v0] as usize;
                let mut unique = Vec::with_capacity(v1 - v0);
                let mut stats = EdgeStats::default();
                let mut low_stats = EdgeStats::default();
                for v in v0..v1 {
                    let (s, e) = (offsets[v] as usize - base, offsets[v + 1] as usize - base);
                    let row = &mut ents[s..e];
                    row.sort_unstable();
                    let mut i = 0;
                    let mut w = 0;
                    while i < row.len() {
                        let n = row[i] >> 1;
                        let mut cin = 0u32;
                        let mut cout = 0u32;
                        while i < row.len() && row[i] >> 1 == n {
                            if row[i] & 1 == 1 {
                                cout += 1;
                            } else {
                                cin += 1;
                            }
                            i += 1;
                        }
                        // Count each undirected edge once, from its smaller endpoint.
                        if (v as u32) < n {
                            stats.count(cout, cin);
                            if n < low {
                                low_stats.count(cout, cin);
                            }
                        }
                        // w ≤ i always (one output per run of at least one entry).
                        row[w] = n;
                        w += 1;
                    }
                    unique.push(w as u32);
                }
                (unique, stats, low_stats)
            })
        })
        .unwrap_or_default();
        drop(rows);

        // Compact the rows (each moves left, so in place and in order).
        let mut stats = EdgeStats::default();
        let mut low_stats = EdgeStats::default();
        let mut out_off = Vec::with_capacity(nv + 1);
        out_off.push(0u32);
        let mut w = 0usize;
        let mut v = 0usize;
        for (unique, st, low) in &results {
            stats.add(st);
            low_stats.add(low);
            for &u in unique {
                let s = offsets[v] as usize;
                entries.copy_within(s..s + u as usize, w);
                w += u as usize;
                out_off.push(w as u32);
                v += 1;
            }
        }
        entries.truncate(w);
        Adjacency {
            offsets: out_off,
            neighbors: entries,
            stats,
            low_stats,
        }
    }
}
