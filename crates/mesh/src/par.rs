//! Deterministic data parallelism for the native build.
//!
//! The heavy loops (reading, adjacency, smoothing, noise, shuffling, writing) split their work into
//! fixed-size chunks whose boundaries depend only on the data size, never on the number of
//! threads, and combine per-chunk results in chunk order. So a run gives the same bytes on one
//! core, on many, and in wasm32 (where there are no threads and the chunks run in order on the
//! caller's thread): `veil deid --seed N` and the npm package's `deidentifyModel` agree.
//!
//! Threads are `std::thread::scope` workers pulling chunk indices from an atomic counter; the
//! calling thread works too and is the only one that reports progress and polls cancellation, so
//! the caller's hooks need not be `Send`. When a thread cannot be spawned the caller's thread
//! does the rest alone.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::MeshError;
use crate::progress::Hooks;

/// Triangles per parallel chunk of the loops over triangles.
pub(crate) const TRI_CHUNK: usize = 32 * 1024;
/// Vertices per parallel chunk of the loops over vertices.
pub(crate) const VERTEX_CHUNK: usize = 16 * 1024;

/// Most worker threads used (including the caller's).
const MAX_THREADS: usize = 8;

/// The caller's thread count (0: one per core), see [`set_max_threads`].
static CHOSEN: AtomicUsize = AtomicUsize::new(0);

/// Set how many threads the pipeline uses: 0 (the default) means one per core, at most 8; any
/// other number is used as given (at most 8). Results never depend on it; a server running
/// several jobs at once may want 1. No effect on wasm32, which has one thread.
pub fn set_max_threads(n: usize) {
    CHOSEN.store(n, Ordering::Relaxed);
}

/// Threads to use (see [`set_max_threads`]); 1 on wasm32.
pub(crate) fn threads() -> usize {
    if cfg!(target_arch = "wasm32") {
        return 1;
    }
    match CHOSEN.load(Ordering::Relaxed) {
        0 => cores(),
        n => n,
    }
    .clamp(1, MAX_THREADS)
}

/// The cores this process may use, asked once: on Linux, `available_parallelism` reads the
/// cgroup's CPU quota from several files each time, and a run asks at every parallel loop.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Number of chunks of `chunk` items covering `n` items.
pub(crate) fn chunk_count(n: usize, chunk: usize) -> usize {
    n.div_ceil(chunk.max(1))
}

/// Run `work(i)` for every chunk index `i < n_chunks` and return the results in index order.
/// Progress is reported through `hooks` (as a fraction of the chunks done) by the caller's
/// thread, which also polls cancellation; on cancellation the other workers stop after their
/// current chunk and the error is returned.
pub(crate) fn map<R, F>(
    n_chunks: usize,
    hooks: &mut Hooks<'_>,
    work: F,
) -> Result<Vec<R>, MeshError>
where
    R: Send,
    F: Fn(usize) -> R + Sync,
{
    let threads = threads().min(n_chunks);
    if threads <= 1 {
        let mut out = Vec::with_capacity(n_chunks);
        for i in 0..n_chunks {
            hooks.at(i as f32 / n_chunks as f32)?;
            out.push(work(i));
        }
        return Ok(out);
    }
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut slots: Vec<Option<R>> = (0..n_chunks).map(|_| None).collect();
    let mut failure = None;
    std::thread::scope(|s| {
        let worker = || {
            let mut mine = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n_chunks {
                    break;
                }
                mine.push((i, work(i)));
                done.fetch_add(1, Ordering::Relaxed);
            }
            mine
        };
        let handles: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, worker).ok())
            .collect();
        loop {
            // Short of 1: the stage's end is reported by whoever enters the next stage.
            let finished = done.load(Ordering::Relaxed).min(n_chunks - 1);
            if let Err(e) = hooks.at(finished as f32 / n_chunks as f32) {
                stop.store(true, Ordering::Relaxed);
                failure = Some(e);
                break;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n_chunks {
                break;
            }
            slots[i] = Some(work(i));
            done.fetch_add(1, Ordering::Relaxed);
        }
        for h in handles {
            match h.join() {
                Ok(results) => {
                    for (i, r) in results {
                        slots[i] = Some(r);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    // Every chunk ran: workers only skip chunks after `stop`, which is set on cancellation.
    slots
        .into_iter()
        .map(|r| r.ok_or(MeshError::Cancelled))
        .collect()
}

/// Run `work(start, chunk)` over `data` in chunks of `chunk` items (`start` = index of the
/// chunk's first item), in parallel, and return the per-chunk results in order.
pub(crate) fn map_chunks_mut<T, R, F>(
    data: &mut [T],
    chunk: usize,
    hooks: &mut Hooks<'_>,
    work: F,
) -> Result<Vec<R>, MeshError>
where
    T: Send,
    R: Send,
    F: Fn(usize, &mut [T]) -> R + Sync,
{
    let chunk = chunk.max(1);
    let parts: Vec<Mutex<&mut [T]>> = data.chunks_mut(chunk).map(Mutex::new).collect();
    map(parts.len(), hooks, |i| {
        let mut part = match parts[i].lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        work(i * chunk, &mut part)
    })
}

/// Split `data` at the ascending indices `bounds` (first 0, last `data.len()`) into the slices
/// between them, for [`map_chunks_mut`] with chunks of one slice each.
pub(crate) fn split_at<'a, T>(data: &'a mut [T], bounds: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(bounds.len().saturating_sub(1));
    let mut rest = data;
    let mut at = bounds.first().copied().unwrap_or(0);
    for &b in bounds.iter().skip(1) {
        let len = b.saturating_sub(at).min(rest.len());
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
        out.push(head);
        rest = tail;
        at = b;
    }
    out
}

/// Vertex ranges, one per thread (at least [`VERTEX_CHUNK`] vertices each), as the
/// ascending bounds `[0, …, n]`.
pub(crate) fn vertex_ranges(n: usize) -> Vec<usize> {
    let parts = threads().min(n / VERTEX_CHUNK).max(1);
    (0..=parts).map(|p| p * n / parts).collect()
}

/// Call `f` on `per_vertex[i]` for every triangle corner `i`, in parallel: each thread owns a
/// range of vertices and scans every triangle for the corners in its range, so no write is
/// shared. Corner indices outside `per_vertex` are skipped.
pub(crate) fn each_corner<T, F>(per_vertex: &mut [T], triangles: &[[u32; 3]], f: F)
where
    T: Send,
    F: Fn(&mut T) + Sync,
{
    let bounds = vertex_ranges(per_vertex.len());
    let mut ranges = split_at(per_vertex, &bounds);
    // Quiet hooks never cancel.
    let _ = Hooks::quiet(|hooks| {
        for_chunks_mut(&mut ranges, 1, hooks, |p, range| {
            let range = &mut *range[0];
            let lo = bounds[p] as u32;
            for t in triangles {
                for &i in t {
                    if let Some(v) = range.get_mut(i.wrapping_sub(lo) as usize) {
                        f(v);
                    }
                }
            }
        })
    });
}

/// As [`map_chunks_mut`] without results.
pub(crate) fn for_chunks_mut<T, F>(
    data: &mut [T],
    chunk: usize,
    hooks: &mut Hooks<'_>,
    work: F,
) -> Result<(), MeshError>
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    map_chunks_mut(data, chunk, hooks, work).map(|_| ())
}

/// Sum of per-chunk `f64` tuples over `n` items in fixed chunks, added in chunk order (so the
/// rounding is the same on any number of threads).
pub(crate) fn sum<const K: usize, F>(n: usize, chunk: usize, work: F) -> [f64; K]
where
    F: Fn(std::ops::Range<usize>) -> [f64; K] + Sync,
{
    // Quiet hooks never cancel, so this is never the default.
    let parts = Hooks::quiet(|hooks| {
        map(chunk_count(n, chunk), hooks, |i| {
            work(i * chunk..((i + 1) * chunk).min(n))
        })
    })
    .unwrap_or_default();
    let mut total = [0.0; K];
    for p in parts {
        for k in 0..K {
            total[k] += p[k];
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet<R>(f: impl FnOnce(&mut Hooks<'_>) -> R) -> R {
        Hooks::quiet(f)
    }

    #[test]
    fn results_come_back_in_chunk_order() {
        let out = quiet(|h| map(1000, h, |i| i * 2)).unwrap();
        assert_eq!(out, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn chunks_cover_the_data_once() {
        let mut v = vec![0u32; 10_007];
        quiet(|h| {
            for_chunks_mut(&mut v, 64, h, |start, part| {
                for (k, x) in part.iter_mut().enumerate() {
                    *x += (start + k) as u32;
                }
            })
        })
        .unwrap();
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32));
    }

    #[test]
    fn sums_do_not_depend_on_scheduling() {
        let f = |r: std::ops::Range<usize>| [r.map(|i| (i as f64).sqrt()).sum::<f64>()];
        let a = sum(100_000, 1000, f);
        let b = sum(100_000, 1000, f);
        assert_eq!(a[0].to_bits(), b[0].to_bits());
    }

    #[test]
    fn cancellation_stops_the_run() {
        let mut p = |_: f32| {};
        let c = || true;
        let mut h = Hooks::new(&mut p, &c);
        let r = map(100, &mut h, |i| i);
        assert!(matches!(r, Err(MeshError::Cancelled)));
    }
}
