//! STL, binary and ASCII.
//!
//! Detection: many exporters start binary headers with `solid`, so a file is binary whenever its
//! size is exactly 84 + 50·n for the count n in bytes 80..84; otherwise a file starting with `solid`
//! (after optional whitespace) and made of text is ASCII.
//!
//! Facet attribute bytes (bytes 48..50 of each facet) carry colour in two conventions: VisCAM /
//! SolidView set bit 15 for a valid 5:5:5 RGB colour; Materialise Magics writes `COLOR=` in the
//! header and uses bit 15 = 0 for "this facet has its own colour". Both are reported and dropped.

use super::{Tokens, finite, parse_f32};
use crate::mesh::Welder;
use crate::progress::Hooks;
use crate::scrub::{Inventory, scan_stl_header};
use crate::{Limits, Mesh, MeshError};

use super::Format;

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
                "binary STL declares {declared} triangles ({} bytes) but has {} bytes",
                84 + 50 * declared,
                bytes.len()
            ),
        });
    }
    Err(MeshError::CountMismatch { declared, actual })
}

fn read_binary(
    bytes: &[u8],
    limits: &Limits,
    inv: &mut Inventory,
    hooks: &mut Hooks<'_>,
) -> Result<(Mesh, Format, u64), MeshError> {
    let n = (bytes.len() - 84) / 50;
    limits.check_triangles(n as u64)?;
    let materialise = scan_stl_header(&bytes[..80], inv);
    let mut welder = Welder::with_capacity(n / 2 + 8);
    let mut triangles = Vec::with_capacity(n);
    let (mut viscam, mut magics, mut other) = (0u64, 0u64, 0u64);
    const BATCH: usize = 32;
    let mut pts = [[0f32; 3]; 3 * BATCH];
    let mut sink = 0u32;
    for (b, chunk) in bytes[84..84 + 50 * n].chunks(50 * BATCH).enumerate() {
        hooks.tick(b * BATCH, n)?;
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
                pts[3 * j + k] = finite([f(0), f(4), f(8)], || format!("facet {}", b * BATCH + j))?;
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
        sink ^= welder.touch(&pts[..3 * m]);
        for j in 0..m {
            triangles.push([
                welder.insert(pts[3 * j]),
                welder.insert(pts[3 * j + 1]),
                welder.insert(pts[3 * j + 2]),
            ]);
        }
    }
    std::hint::black_box(sink);
    inv.add("stl-facet-colour-viscam", None, viscam, 2 * viscam);
    inv.add("stl-facet-colour-materialise", None, magics, 2 * magics);
    inv.add("stl-facet-attribute", None, other, 2 * other);
    limits.check_vertices(welder.vertices.len() as u64)?;
    Ok((
        Mesh {
            vertices: welder.vertices,
            triangles,
        },
        Format::StlBinary,
        n as u64,
    ))
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
                format!(
                    "expected `{word}`, found {:?}",
                    String::from_utf8_lossy(&w[..w.len().min(24)])
                ),
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
                    format!(
                        "expected `solid`, found {:?}",
                        String::from_utf8_lossy(&w[..w.len().min(24)])
                    ),
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
                                        "expected `vertex` or `endloop`, found {:?}",
                                        String::from_utf8_lossy(&w[..w.len().min(24)])
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
                            "expected `facet` or `endsolid`, found {:?}",
                            String::from_utf8_lossy(&w[..w.len().min(24)])
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
