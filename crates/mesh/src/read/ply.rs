//! PLY (Stanford polygon format): ASCII, binary little-endian and binary big-endian.
//!
//! The header declares elements and their properties; `vertex` (x, y, z) and `face`
//! (`vertex_indices` or `vertex_index` list) are geometry, everything else (comments, `obj_info`,
//! colours, normals, confidence, other elements) is inventoried as metadata and dropped.
//! Element counts are checked against the bytes that remain before anything is allocated.

use super::tokens::{Tokens, finite};
use crate::mesh::Welder;
use crate::progress::Hooks;
use crate::scrub::Inventory;
use crate::{Limits, Mesh, MeshError};

use super::format::Format;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Scalar {
    fn parse(s: &str) -> Option<Scalar> {
        Some(match s {
            "char" | "int8" => Scalar::I8,
            "uchar" | "uint8" => Scalar::U8,
            "short" | "int16" => Scalar::I16,
            "ushort" | "uint16" => Scalar::U16,
            "int" | "int32" => Scalar::I32,
            "uint" | "uint32" => Scalar::U32,
            "float" | "float32" => Scalar::F32,
            "double" | "float64" => Scalar::F64,
            _ => return None,
        })
    }
    fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::F64 => 8,
        }
    }
}

#[derive(Debug, Clone)]
enum Prop {
    Scalar(Scalar, String),
    List(Scalar, Scalar, String),
}

impl Prop {
    fn name(&self) -> &str {
        match self {
            Prop::Scalar(_, n) | Prop::List(_, _, n) => n,
        }
    }
    fn min_size(&self) -> usize {
        match self {
            Prop::Scalar(s, _) => s.size(),
            Prop::List(c, _, _) => c.size(),
        }
    }
}

#[derive(Debug)]
struct Element {
    name: String,
    count: u64,
    props: Vec<Prop>,
}

#[derive(Clone, Copy, PartialEq)]
enum Enc {
    Ascii,
    Le,
    Be,
}

/// Reads numbers from the body in the declared encoding.
struct Body<'a> {
    bytes: &'a [u8],
    pos: usize,
    enc: Enc,
    toks: Tokens<'a>,
}

impl<'a> Body<'a> {
    fn remaining(&self) -> usize {
        match self.enc {
            Enc::Ascii => self.bytes.len() - self.toks.pos().min(self.bytes.len()),
            _ => self.bytes.len() - self.pos,
        }
    }

    fn read(&mut self, s: Scalar) -> Result<f64, MeshError> {
        if self.enc == Enc::Ascii {
            let line = self.toks.line;
            let tok = self
                .toks
                .next_token()
                .ok_or_else(|| MeshError::truncated("PLY ASCII body ends early"))?;
            return match s {
                Scalar::F32 | Scalar::F64 => {
                    let v = std::str::from_utf8(tok)
                        .ok()
                        .and_then(|t| t.parse::<f64>().ok())
                        .ok_or_else(|| MeshError::parse(line, "expected a number in PLY body"))?;
                    Ok(v)
                }
                _ => {
                    let v = std::str::from_utf8(tok)
                        .ok()
                        .and_then(|t| t.parse::<i64>().ok())
                        .ok_or_else(|| MeshError::parse(line, "expected an integer in PLY body"))?;
                    Ok(v as f64)
                }
            };
        }
        let n = s.size();
        if self.pos + n > self.bytes.len() {
            return Err(MeshError::truncated("PLY binary body ends early"));
        }
        let b = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        let le = self.enc == Enc::Le;
        macro_rules! get {
            ($t:ty, $k:expr) => {{
                let mut a = [0u8; $k];
                a.copy_from_slice(b);
                if le {
                    <$t>::from_le_bytes(a)
                } else {
                    <$t>::from_be_bytes(a)
                }
            }};
        }
        Ok(match s {
            Scalar::I8 => f64::from(b[0] as i8),
            Scalar::U8 => f64::from(b[0]),
            Scalar::I16 => f64::from(get!(i16, 2)),
            Scalar::U16 => f64::from(get!(u16, 2)),
            Scalar::I32 => f64::from(get!(i32, 4)),
            Scalar::U32 => f64::from(get!(u32, 4)),
            Scalar::F32 => f64::from(get!(f32, 4)),
            Scalar::F64 => get!(f64, 8),
        })
    }
}

pub(super) fn read(
    bytes: &[u8],
    limits: &Limits,
    inv: &mut Inventory,
    hooks: &mut Hooks<'_>,
) -> Result<(Mesh, Format, u64), MeshError> {
    if !bytes.starts_with(b"ply") {
        return Err(MeshError::BadHeader("missing `ply` magic".into()));
    }
    let end = crate::scrub::find(&bytes[..bytes.len().min(1 << 20)], b"end_header")
        .ok_or_else(|| MeshError::BadHeader("no `end_header` in the first MiB".into()))?;
    let mut body_start = end + b"end_header".len();
    // The header ends with a newline (LF or CRLF).
    if bytes.get(body_start) == Some(&b'\r') {
        body_start += 1;
    }
    if bytes.get(body_start) == Some(&b'\n') {
        body_start += 1;
    }
    let header = std::str::from_utf8(&bytes[..end])
        .map_err(|_| MeshError::BadHeader("header is not text".into()))?;
    let mut enc = None;
    let mut elements: Vec<Element> = Vec::new();
    for (i, line) in header.lines().enumerate() {
        let l = line.trim();
        let mut w = l.split_ascii_whitespace();
        match w.next() {
            None => {}
            Some("ply") if i == 0 => {}
            Some("format") => {
                enc = Some(match (w.next(), w.next()) {
                    (Some("ascii"), Some("1.0")) => Enc::Ascii,
                    (Some("binary_little_endian"), Some("1.0")) => Enc::Le,
                    (Some("binary_big_endian"), Some("1.0")) => Enc::Be,
                    _ => {
                        return Err(MeshError::BadHeader(format!(
                            "unknown format line at header line {}",
                            i + 1
                        )));
                    }
                })
            }
            Some("comment") if l["comment".len()..].trim() == crate::scrub::NEUTRAL_PLY_COMMENT => {
            }
            Some("comment") => inv.add("ply-comment", None, 1, l.len().saturating_sub(8) as u64),
            Some("obj_info") => inv.add("ply-obj-info", None, 1, l.len().saturating_sub(9) as u64),
            Some("element") => {
                let name = w.next().ok_or_else(|| {
                    MeshError::BadHeader(format!("element without name at header line {}", i + 1))
                })?;
                let count: u64 = w.next().and_then(|c| c.parse().ok()).ok_or_else(|| {
                    MeshError::BadHeader(format!(
                        "element without a valid count at header line {}",
                        i + 1
                    ))
                })?;
                elements.push(Element {
                    name: name.to_string(),
                    count,
                    props: Vec::new(),
                });
            }
            Some("property") => {
                let el = elements
                    .last_mut()
                    .ok_or_else(|| MeshError::BadHeader("property before any element".into()))?;
                let ty = w
                    .next()
                    .ok_or_else(|| MeshError::BadHeader("property without type".into()))?;
                let prop = if ty == "list" {
                    let c = w.next().and_then(Scalar::parse);
                    let t = w.next().and_then(Scalar::parse);
                    let n = w.next();
                    match (c, t, n) {
                        (Some(c), Some(t), Some(n)) if !matches!(c, Scalar::F32 | Scalar::F64) => {
                            Prop::List(c, t, n.to_string())
                        }
                        _ => {
                            return Err(MeshError::BadHeader(format!(
                                "bad list property at header line {}",
                                i + 1
                            )));
                        }
                    }
                } else {
                    let t = Scalar::parse(ty).ok_or_else(|| {
                        MeshError::BadHeader(format!(
                            "unknown property type at header line {}",
                            i + 1
                        ))
                    })?;
                    let n = w
                        .next()
                        .ok_or_else(|| MeshError::BadHeader("property without name".into()))?;
                    Prop::Scalar(t, n.to_string())
                };
                el.props.push(prop);
            }
            Some(_) => {
                return Err(MeshError::BadHeader(format!(
                    "unknown keyword at header line {}",
                    i + 1
                )));
            }
        }
    }
    let enc = enc.ok_or_else(|| MeshError::BadHeader("no `format` line".into()))?;
    let body = &bytes[body_start.min(bytes.len())..];
    let mut b = Body {
        bytes: body,
        pos: 0,
        enc,
        toks: Tokens::new(body),
    };
    let mut welder = Welder::with_capacity(0);
    let mut raw_count = 0u64;
    let mut map: Vec<u32> = Vec::new();
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    let mut have_vertex = false;
    let mut have_face = false;
    // Counts come from the file. No record is smaller than a byte, so a count over the body's size
    // is refused before anything is read (each is bounded exactly, element by element, below); the
    // sum, which sets the progress steps, is checked too.
    for (element_no, el) in elements.iter().enumerate() {
        if el.count > body.len() as u64 {
            return Err(MeshError::Truncated {
                what: format!(
                    "PLY element {} declares more records than the body has bytes",
                    element_no + 1
                ),
            });
        }
    }
    let total_records: u64 = elements
        .iter()
        .try_fold(0u64, |sum, e| sum.checked_add(e.count))
        .ok_or_else(|| MeshError::BadHeader("element counts overflow 64 bits".into()))?
        .max(1);
    let total_records = usize::try_from(total_records).unwrap_or(usize::MAX);
    let mut done_records = 0u64;
    let mut poly: Vec<i64> = Vec::new();
    for (element_no, el) in elements.iter().enumerate() {
        // Bound the claim before allocating: each record needs at least its minimal size
        // (binary) or one token plus a separator (ASCII).
        let min_rec = match enc {
            Enc::Ascii => 2 * el.props.len().max(1),
            _ => el.props.iter().map(Prop::min_size).sum::<usize>().max(1),
        } as u64;
        if el.count.saturating_mul(min_rec) > b.remaining() as u64 {
            return Err(MeshError::Truncated {
                what: format!(
                    "PLY element {} declares {} records, more than the {} remaining bytes can hold",
                    element_no + 1,
                    el.count,
                    b.remaining()
                ),
            });
        }
        match el.name.as_str() {
            "vertex" if !have_vertex => {
                have_vertex = true;
                limits.check_vertices(el.count)?;
                let idx = |n: &str| {
                    el.props
                        .iter()
                        .position(|p| matches!(p, Prop::Scalar(_, m) if m == n))
                };
                let (Some(ix), Some(iy), Some(iz)) = (idx("x"), idx("y"), idx("z")) else {
                    return Err(MeshError::BadHeader(
                        "vertex element without x, y, z".into(),
                    ));
                };
                for p in &el.props {
                    if !["x", "y", "z"].contains(&p.name()) {
                        inv.add(
                            "ply-extra-property",
                            Some(&format!("vertex.{}", p.name())),
                            el.count,
                            el.count * p.min_size() as u64,
                        );
                    }
                }
                welder = Welder::with_capacity(el.count as usize);
                map = Vec::with_capacity(el.count as usize);
                let mut vals = vec![0f64; el.props.len()];
                for i in 0..el.count {
                    hooks.tick(done_records as usize, total_records)?;
                    done_records += 1;
                    for (k, p) in el.props.iter().enumerate() {
                        vals[k] = read_prop(&mut b, p)?;
                    }
                    let p = [vals[ix] as f32, vals[iy] as f32, vals[iz] as f32];
                    let p = finite(p, || format!("vertex {i}"))?;
                    map.push(welder.insert(p));
                }
                raw_count = el.count;
            }
            "face" if !have_face => {
                have_face = true;
                let li = el
                    .props
                    .iter()
                    .position(|p| matches!(p, Prop::List(_, _, n) if n == "vertex_indices" || n == "vertex_index"))
                    .ok_or_else(|| MeshError::BadHeader("face element without vertex_indices".into()))?;
                for (k, p) in el.props.iter().enumerate() {
                    if k != li {
                        inv.add(
                            "ply-extra-property",
                            Some(&format!("face.{}", p.name())),
                            el.count,
                            el.count * p.min_size() as u64,
                        );
                    }
                }
                limits.check_triangles(el.count)?;
                triangles.reserve(el.count as usize);
                for face_no in 0..el.count {
                    hooks.tick(done_records as usize, total_records)?;
                    done_records += 1;
                    for (k, p) in el.props.iter().enumerate() {
                        if k == li {
                            let Prop::List(c, t, _) = p else { continue };
                            let n = b.read(*c)?;
                            if !(0.0..=65_536.0).contains(&n) {
                                return Err(MeshError::parse(b.toks.line, "bad face vertex count"));
                            }
                            poly.clear();
                            for _ in 0..n as usize {
                                poly.push(b.read(*t)? as i64);
                            }
                        } else {
                            read_prop(&mut b, p)?;
                        }
                    }
                    if poly.len() < 3 {
                        return Err(MeshError::parse(
                            b.toks.line,
                            "a face needs at least 3 vertices",
                        ));
                    }
                    for &i in &poly {
                        if i < 0 || i as u64 >= raw_count {
                            return Err(MeshError::IndexOutOfRange {
                                face: face_no + 1,
                                vertices: raw_count,
                            });
                        }
                    }
                    for k in 1..poly.len() - 1 {
                        triangles.push([
                            map[poly[0] as usize],
                            map[poly[k] as usize],
                            map[poly[k + 1] as usize],
                        ]);
                    }
                    limits.check_triangles(triangles.len() as u64)?;
                }
            }
            other => {
                let mut n = 0u64;
                let start = b.remaining();
                for _ in 0..el.count {
                    hooks.tick(done_records as usize, total_records)?;
                    done_records += 1;
                    for p in &el.props {
                        read_prop(&mut b, p)?;
                    }
                    n += 1;
                }
                inv.add(
                    "ply-extra-element",
                    Some(other),
                    n,
                    (start - b.remaining()) as u64,
                );
            }
        }
    }
    // Bytes after the last declared element (exporters append notes and binary blobs there).
    let rest = &body[(body.len() - b.remaining())..];
    let trailing = match enc {
        Enc::Ascii => rest.trim_ascii().len(),
        _ => rest.len(),
    };
    inv.add(
        "ply-trailing-data",
        None,
        u64::from(trailing > 0),
        trailing as u64,
    );
    if !have_vertex || !have_face {
        return Err(MeshError::Unsupported(
            "PLY without both a vertex and a face element (point clouds are not meshes)".into(),
        ));
    }
    let format = match enc {
        Enc::Ascii => Format::PlyAscii,
        Enc::Le => Format::PlyBinaryLe,
        Enc::Be => Format::PlyBinaryBe,
    };
    let n = triangles.len() as u64;
    Ok((
        Mesh {
            vertices: welder.vertices,
            triangles,
        },
        format,
        n,
    ))
}

fn read_prop(b: &mut Body<'_>, p: &Prop) -> Result<f64, MeshError> {
    match p {
        Prop::Scalar(s, _) => b.read(*s),
        Prop::List(c, t, _) => {
            let n = b.read(*c)?;
            if !(0.0..=65_536.0).contains(&n) {
                return Err(MeshError::parse(b.toks.line, "bad list length"));
            }
            for _ in 0..n as usize {
                b.read(*t)?;
            }
            Ok(n)
        }
    }
}
