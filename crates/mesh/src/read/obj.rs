//! Wavefront OBJ: `v` and `f` statements (polygons fan-triangulated, `i`, `i/t`, `i//n`, `i/t/n`
//! and negative relative indices); everything else is metadata or ignored attributes, inventoried:
//! comments, `o`/`g` names, `mtllib`/`usemtl`, vertex colours, normals and texture coordinates
//! (a texture can hold a photograph of the face).

use super::tokens::{finite, parse_f32};
use crate::mesh::Welder;
use crate::progress::Hooks;
use crate::scrub::Inventory;
use crate::{Limits, Mesh, MeshError};

use super::format::Format;

pub(super) fn read(
    bytes: &[u8],
    limits: &Limits,
    inv: &mut Inventory,
    hooks: &mut Hooks<'_>,
) -> Result<(Mesh, Format, u64), MeshError> {
    let mut raw: Vec<[f32; 3]> = Vec::new();
    let mut faces: Vec<[i64; 3]> = Vec::new();
    let mut poly: Vec<i64> = Vec::new();
    for (ln, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let lineno = ln + 1;
        hooks.tick(ln, bytes.len() / 32 + 1)?;
        let l = line.trim_ascii();
        if l.is_empty() {
            continue;
        }
        let (kw, rest) = match l.iter().position(|b| b.is_ascii_whitespace()) {
            Some(p) => (&l[..p], l[p..].trim_ascii()),
            None => (l, &l[l.len()..]),
        };
        if kw.starts_with(b"#") {
            inv.add("obj-comment", None, 1, l.len() as u64);
            continue;
        }
        match kw {
            b"v" => {
                let mut it = rest
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|s| !s.is_empty());
                let mut p = [0f32; 3];
                for c in &mut p {
                    let tok = it
                        .next()
                        .ok_or_else(|| MeshError::parse(lineno, "`v` needs three coordinates"))?;
                    *c = parse_f32(tok, lineno)?;
                }
                let extra: Vec<&[u8]> = it.collect();
                if extra.len() >= 3 {
                    let n: usize = extra.iter().map(|s| s.len() + 1).sum();
                    inv.add("obj-vertex-colour", None, 1, n as u64);
                }
                raw.push(finite(p, || format!("line {lineno}"))?);
                limits.check_vertices(raw.len() as u64)?;
            }
            b"f" => {
                poly.clear();
                let base = raw.len() as i64;
                for tok in rest
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|s| !s.is_empty())
                {
                    let first = tok.split(|&b| b == b'/').next().unwrap_or(tok);
                    let i: i64 = std::str::from_utf8(first)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| MeshError::parse(lineno, "bad face index"))?;
                    let idx = match i {
                        0 => {
                            return Err(MeshError::parse(
                                lineno,
                                "face index 0 (OBJ indices start at 1)",
                            ));
                        }
                        i if i > 0 => i - 1,
                        i => base + i,
                    };
                    poly.push(idx);
                }
                if poly.len() < 3 {
                    return Err(MeshError::parse(lineno, "a face needs at least 3 vertices"));
                }
                for k in 1..poly.len() - 1 {
                    faces.push([poly[0], poly[k], poly[k + 1]]);
                }
                limits.check_triangles(faces.len() as u64)?;
            }
            b"o" => inv.add("obj-object-name", None, 1, rest.len() as u64),
            b"g" => inv.add("obj-group-name", None, 1, rest.len() as u64),
            b"mtllib" => inv.add("obj-mtllib", None, 1, rest.len() as u64),
            b"usemtl" => inv.add("obj-usemtl", None, 1, rest.len() as u64),
            b"vn" => inv.add("obj-normals", None, 1, l.len() as u64),
            b"vt" => inv.add("obj-texture-coordinates", None, 1, l.len() as u64),
            b"s" => inv.add("obj-smoothing-group", None, 1, l.len() as u64),
            b"l" | b"p" => inv.add("obj-lines-points", None, 1, l.len() as u64),
            _ => {
                if l.iter().any(|&b| b < 0x20 && b != b'\t' && b != b'\r') {
                    return Err(MeshError::parse(lineno, "binary data in an OBJ file"));
                }
                inv.add("obj-other-statement", None, 1, l.len() as u64);
            }
        }
    }
    let nv = raw.len() as i64;
    let mut welder = Welder::with_capacity(raw.len());
    let map: Vec<u32> = raw.iter().map(|p| welder.insert(*p)).collect();
    let mut triangles = Vec::with_capacity(faces.len());
    for (face, f) in faces.iter().enumerate() {
        let mut t = [0u32; 3];
        for k in 0..3 {
            if f[k] < 0 || f[k] >= nv {
                return Err(MeshError::IndexOutOfRange {
                    face: face as u64 + 1,
                    vertices: nv as u64,
                });
            }
            t[k] = map[f[k] as usize];
        }
        triangles.push(t);
    }
    if raw.is_empty() && faces.is_empty() && inv.channels.is_empty() {
        return Err(MeshError::UnknownFormat("no OBJ statement found".into()));
    }
    let n = triangles.len() as u64;
    Ok((
        Mesh {
            vertices: welder.vertices,
            triangles,
        },
        Format::Obj,
        n,
    ))
}
