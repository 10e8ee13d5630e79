//! STL, binary and ASCII.
//!
//! Detection: many exporters start binary headers with `solid`, so a file is binary whenever its
//! size is exactly 84 + 50·n for the count n in bytes 80..84; otherwise a file starting with `solid`
//! (after optional whitespace) and made of text is ASCII.
//!
//! Facet attribute bytes (bytes 48..50 of each facet) carry colour in two conventions: VisCAM /
//! SolidView set bit 15 for a valid 5:5:5 RGB colour; Materialise Magics writes `COLOR=` in the
//! header and uses bit 15 = 0 for "this facet has its own colour". Both are reported and dropped.

use super::tokens::{Tokens, finite, parse_f32};
use crate::mesh::Welder;
use crate::progress::Hooks;
use crate::scrub::{Inventory, scan_stl_header};
use crate::{Limits, Mesh, MeshError};

use super::format::Format;

pub(super) fn binary_size_matches(bytes: &[u8]) -> bool {
    if bytes.len() < 84 {
        return false;
    }
    let n = u64::from(u32::from_le_bytes([
        bytes[80], bytes[81], bytes[82], bytes[83],
    ]));
    84 + 50 * n == bytes.len() as u64
}

fn looks_ascii(bytes: &[u8]) -> bool {
    let t = bytes.trim_ascii_start();
    if t.len() < 5 || !t[..5].eq_ignore_ascii_case(b"solid") {
        return false;
    }
    // Text: no control bytes other than whitespace in the first KiB.
    t[..t.len().min(1024)]
        .iter()
        .all(|&b| b >= 0x20 || b"\t\r\n\x0c".contains(&b))
}

pub(super) fn read(
    bytes: &[u8],
    limits: &Limits,
    inv: &mut Inventory,
    hooks: &mut Hooks<'_>,
) -> Result<(Mesh, Format, u64), MeshError> {
    if binary_size_matches(bytes) {
        return read_binary(bytes, limits, inv, hooks);
    }
    if looks_ascii(bytes) {
        return read_ascii(bytes, limits, inv, hooks);
    }
    if bytes.len() < 84 {
        return Err(MeshError::truncated(format!(
            "binary STL needs at least 84 bytes, the file has {}",
            bytes.len()
        )));
    }
    let declared = u64::from(u32::from_le_bytes([
        bytes[80], bytes[81], bytes[82], bytes[83],
    ]));
    let actual = (bytes.len() as u64 - 84) / 50;
    if declared > actual {
        return Err(MeshError::Truncated {
            what: format!(
                "binary STL declares more triangles than its {} bytes hold",
                bytes.len()
            ),
        });
    }
    Err(MeshError::CountMismatch { actual })
}

/// Facets per part below which a binary STL is read on one thread.
const MIN_PART: usize = 64 * 1024;

fn read_binary(
    bytes: &[u8],
    limits: &Limits,
    inv: &mut Inventory,
    hooks: &mut Hooks<'_>,
) -> Result<(Mesh, Format, u64), MeshError> {
    let n = (bytes.len() - 84) / 50;
    limits.check_triangles(n as u64)?;
    let materialise = scan_stl_header(&bytes[..80], inv);
    let body = &bytes[84..84 + 50 * n];
    // Large files are read in parallel parts, each welded on its own, then merged in file order:
    // the vertices of part 0 in order, then each later part's vertices not seen before. That is
    // the first-occurrence order a single pass gives, so the result does not depend on the split.
    let parts = crate::par::threads().min(n / MIN_PART).max(1);
    let per = n.div_ceil(parts);
    let mut results = if parts == 1 {
        vec![read_part(body, 0, n, n, materialise, Some(hooks))?]
    } else {
        crate::par::map(parts, hooks, |p| {
            // Part 0's table receives the others' vertices: size it for the whole file.
            let expect = if p == 0 { n } else { per };
            read_part(
                body,
                p * per,
                ((p + 1) * per).min(n),
                expect,
                materialise,
                None,
            )
        })?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
    };
    let mut colours = [0u64; 3];
    for r in &results {
        for k in 0..3 {
            colours[k] += r.colours[k];
        }
    }
    let mut first = results.remove(0);
    let mut welder = first.welder;
    let last = results.len();
    for (k, part) in results.into_iter().enumerate() {
        let verts = &part.welder.vertices;
        let map: Vec<u32> = if k + 1 == last {
            // The last part's new vertices are never looked up again: find in parallel, then
            // append the missing ones in order.
            let found = crate::progress::Hooks::quiet(|h| {
                crate::par::map(verts.len().div_ceil(64 * 1024), h, |c| {
                    let chunk = &verts[c * 64 * 1024..((c + 1) * 64 * 1024).min(verts.len())];
                    let mut out = Vec::with_capacity(chunk.len());
                    for batch in chunk.chunks(64) {
                        std::hint::black_box(welder.touch(batch));
                        out.extend(batch.iter().map(|&p| welder.find(p)));
                    }
                    out
                })
            })?;
            found
                .into_iter()
                .flatten()
                .zip(verts)
                .map(|(f, &p)| f.unwrap_or_else(|| welder.push_unindexed(p)))
                .collect()
        } else {
            let mut map = Vec::with_capacity(verts.len());
            let mut idx = [0u32; crate::mesh::BATCH];
            for batch in verts.chunks(crate::mesh::BATCH) {
                welder.insert_batch(batch, &mut idx[..batch.len()]);
                map.extend_from_slice(&idx[..batch.len()]);
            }
            map
        };
        let start = first.triangles.len();
        first.triangles.extend_from_slice(&part.triangles);
        crate::progress::Hooks::quiet(|h| {
            crate::par::for_chunks_mut(&mut first.triangles[start..], 64 * 1024, h, |_, ts| {
                for t in ts {
                    for i in t.iter_mut() {
                        *i = map[*i as usize];
                    }
                }
            })
        })?;
    }
    let [viscam, magics, other] = colours;
    inv.add("stl-facet-colour-viscam", None, viscam, 2 * viscam);
    inv.add("stl-facet-colour-materialise", None, magics, 2 * magics);
    inv.add("stl-facet-attribute", None, other, 2 * other);
    limits.check_vertices(welder.vertices.len() as u64)?;
    Ok((
        Mesh {
            vertices: welder.vertices,
            triangles: first.triangles,
        },
        Format::StlBinary,
        n as u64,
    ))
}

/// Facets `from..to` of a binary STL body, welded on their own.
struct Part {
    welder: Welder,
    triangles: Vec<[u32; 3]>,
    /// Facets with a VisCAM colour, a Materialise colour, other attribute bytes.
    colours: [u64; 3],
}

fn read_part(
    body: &[u8],
    from: usize,
    to: usize,
    expect_facets: usize,
    materialise: bool,
    mut hooks: Option<&mut Hooks<'_>>,
) -> Result<Part, MeshError> {
    let n = to - from;
    // A closed mesh has about half as many vertices as triangles.
    let mut welder = Welder::with_capacity(expect_facets / 2 + 8);
    let mut triangles = Vec::with_capacity(n);
    let (mut viscam, mut magics, mut other) = (0u64, 0u64, 0u64);
    const BATCH: usize = 32;
    let mut pts = [[0f32; 3]; 3 * BATCH];
    for (b, chunk) in body[50 * from..50 * to].chunks(50 * BATCH).enumerate() {
        if let Some(h) = hooks.as_deref_mut() {
            h.tick(b * BATCH, n)?;
        }
        let m = chunk.len() / 50;
        for (j, facet) in chunk.chunks_exact(50).enumerate() {
            for k in 0..3 {
                let o = 12 + 12 * k;
                let f = |q: usize| {
                    f32::from_le_bytes([
                        facet[o + q],
                        facet[o + q + 1],
                        facet[o + q + 2],
                        facet[o + q + 3],
                    ])
                };
                pts[3 * j + k] = finite([f(0), f(4), f(8)], || {
                    format!("facet {}", from + b * BATCH + j)
                })?;
            }
            let attr = u16::from_le_bytes([facet[48], facet[49]]);
            if attr != 0 {
                if materialise {
                    magics += 1;
                } else if attr & 0x8000 != 0 {
                    viscam += 1;
                } else {
                    other += 1;
                }
            }
        }
        let mut idx = [0u32; 3 * BATCH];
        welder.insert_batch(&pts[..3 * m], &mut idx[..3 * m]);
        triangles.extend(idx[..3 * m].chunks_exact(3).map(|c| [c[0], c[1], c[2]]));
    }
    Ok(Part {
        welder,
        triangles,
        colours: [viscam, magics, other],
    })
}

fn read_ascii(
    bytes: &[u8],
    limits: &Limits,
    inv: &mut Inventory,
    hooks: &mut Hooks<'_>,
) -> Result<(Mesh, Format, u64), MeshError> {
    let mut t = Tokens::new(bytes);
    let mut welder = Welder::with_capacity(1024);
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    let mut read_tris = 0u64;
    let mut solids = 0usize;
    let expect = |t: &mut Tokens<'_>, word: &str| -> Result<(), MeshError> {
        match t.next_token() {
            Some(w) if w.eq_ignore_ascii_case(word.as_bytes()) => Ok(()),
            Some(w) => Err(MeshError::parse(
                t.line,
                format!("expected `{word}`, found a {}-byte token", w.len()),
            )),
            None => Err(MeshError::truncated(format!(
                "ASCII STL ends where `{word}` was expected"
            ))),
        }
    };
    loop {
        match t.next_token() {
            None => break,
            Some(w) if w.eq_ignore_ascii_case(b"solid") => {}
            Some(w) => {
                return Err(MeshError::parse(
                    t.line,
                    format!("expected `solid`, found a {}-byte token", w.len()),
                ));
            }
        }
        solids += 1;
        let name = t.rest_of_line();
        inv.add(
            "stl-ascii-solid-name",
            None,
            u64::from(!name.is_empty()),
            name.len() as u64,
        );
        let mut loop_pts: Vec<u32> = Vec::with_capacity(3);
        loop {
            hooks.tick(t.pos(), bytes.len())?;
            match t.next_token() {
                None => return Err(MeshError::truncated("ASCII STL ends before `endsolid`")),
                Some(w) if w.eq_ignore_ascii_case(b"endsolid") => {
                    let name = t.rest_of_line();
                    inv.add(
                        "stl-ascii-endsolid-name",
                        None,
                        u64::from(!name.is_empty()),
                        name.len() as u64,
                    );
                    break;
                }
                Some(w) if w.eq_ignore_ascii_case(b"facet") => {
                    expect(&mut t, "normal")?;
                    for _ in 0..3 {
                        let line = t.line;
                        let tok = t
                            .next_token()
                            .ok_or_else(|| MeshError::truncated("ASCII STL facet normal"))?;
                        // The normal is recomputed on output; it must still be a number.
                        parse_f32(tok, line)?;
                    }
                    expect(&mut t, "outer")?;
                    expect(&mut t, "loop")?;
                    loop_pts.clear();
                    loop {
                        match t.next_token() {
                            Some(w) if w.eq_ignore_ascii_case(b"vertex") => {
                                let mut p = [0f32; 3];
                                for c in &mut p {
                                    let line = t.line;
                                    let tok = t
                                        .next_token()
                                        .ok_or_else(|| MeshError::truncated("ASCII STL vertex"))?;
                                    *c = parse_f32(tok, line)?;
                                }
                                let line = t.line;
                                let p = finite(p, || format!("line {line}"))?;
                                loop_pts.push(welder.insert(p));
                            }
                            Some(w) if w.eq_ignore_ascii_case(b"endloop") => break,
                            Some(w) => {
                                return Err(MeshError::parse(
                                    t.line,
                                    format!(
                                        "expected `vertex` or `endloop`, found a {}-byte token",
                                        w.len()
                                    ),
                                ));
                            }
                            None => {
                                return Err(MeshError::truncated("ASCII STL ends inside a facet"));
                            }
                        }
                    }
                    expect(&mut t, "endfacet")?;
                    if loop_pts.len() < 3 {
                        return Err(MeshError::parse(
                            t.line,
                            "a facet needs at least 3 vertices",
                        ));
                    }
                    for k in 1..loop_pts.len() - 1 {
                        triangles.push([loop_pts[0], loop_pts[k], loop_pts[k + 1]]);
                        read_tris += 1;
                    }
                    limits.check_triangles(read_tris)?;
                }
                Some(w) => {
                    return Err(MeshError::parse(
                        t.line,
                        format!(
                            "expected `facet` or `endsolid`, found a {}-byte token",
                            w.len()
                        ),
                    ));
                }
            }
        }
    }
    if solids == 0 {
        return Err(MeshError::parse(1, "ASCII STL without `solid`"));
    }
    limits.check_vertices(welder.vertices.len() as u64)?;
    Ok((
        Mesh {
            vertices: welder.vertices,
            triangles,
        },
        Format::StlAscii,
        read_tris,
    ))
}
