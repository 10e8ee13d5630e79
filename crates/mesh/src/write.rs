//! Writers: binary STL and binary little-endian PLY, geometry only.
//!
//! The output carries nothing but a fixed neutral header, vertex positions and triangles: facet
//! normals are recomputed, attribute bytes are zero, and PLY headers hold one fixed comment (the
//! neutral mark) and no `obj_info`. [`is_deidentified_output`] recognises that mark, so batch tools
//! can refuse to seal a model that never went through the pipeline.

use serde::{Deserialize, Serialize};

use crate::Mesh;
use crate::par::TRI_CHUNK;
use crate::progress::Hooks;
use crate::scrub::{NEUTRAL_PLY_COMMENT, NEUTRAL_STL_HEADER};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// Binary STL (the default; what slicers and planning tools read).
    #[default]
    Stl,
    /// Binary little-endian PLY (indexed, smaller).
    Ply,
}

impl OutputFormat {
    /// The output format for a file name's extension (`.stl` or `.ply`, any case).
    pub fn from_path(name: &str) -> Option<OutputFormat> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "stl" => Some(OutputFormat::Stl),
            "ply" => Some(OutputFormat::Ply),
            _ => None,
        }
    }

    /// The file extension of this format: `stl` or `ply`.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Stl => "stl",
            OutputFormat::Ply => "ply",
        }
    }
}

/// Serialise `mesh` in `format`.
pub fn write(mesh: &Mesh, format: OutputFormat) -> Vec<u8> {
    match format {
        OutputFormat::Stl => write_stl(mesh),
        OutputFormat::Ply => write_ply(mesh),
    }
}

/// Binary STL with the neutral header and recomputed unit normals.
pub fn write_stl(mesh: &Mesh) -> Vec<u8> {
    let n = mesh.triangles.len();
    let mut out = vec![0u8; 84 + 50 * n];
    stl_header(&mut out, n);
    // Quiet hooks never cancel.
    let _ =
        Hooks::quiet(|hooks| stl_records(&mut out[84..], &mesh.vertices, &mesh.triangles, hooks));
    out
}

/// The 80-byte neutral header and the triangle count, into `out[..84]`.
pub(crate) fn stl_header(out: &mut [u8], n: usize) {
    out[..80].fill(0);
    out[..NEUTRAL_STL_HEADER.len()].copy_from_slice(NEUTRAL_STL_HEADER);
    out[80..84].copy_from_slice(&(n as u32).to_le_bytes());
}

/// The 50-byte STL records of `triangles` (recomputed unit normal, three corners, attribute
/// bytes left as they are: zero) into `out`, in parallel.
pub(crate) fn stl_records(
    out: &mut [u8],
    vertices: &[[f32; 3]],
    triangles: &[[u32; 3]],
    hooks: &mut Hooks<'_>,
) -> Result<(), crate::MeshError> {
    crate::par::for_chunks_mut(out, 50 * TRI_CHUNK, hooks, |start, part| {
        for (rec, t) in part.chunks_exact_mut(50).zip(&triangles[start / 50..]) {
            stl_record(rec, vertices, *t);
        }
    })
}

/// One 50-byte STL record of triangle `t` into `rec`.
#[inline]
pub(crate) fn stl_record(rec: &mut [u8], vertices: &[[f32; 3]], t: [u32; 3]) {
    let a = vertices[t[0] as usize];
    let b = vertices[t[1] as usize];
    let c = vertices[t[2] as usize];
    for (k, v) in [normal(a, b, c), a, b, c].iter().flatten().enumerate() {
        rec[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
    }
}

/// Unit normal of a triangle (zeros when degenerate), as STL facets carry it.
fn normal(a: [f32; 3], b: [f32; 3], c: [f32; 3]) -> [f32; 3] {
    let (u, v) = (
        [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
        [c[0] - a[0], c[1] - a[1], c[2] - a[2]],
    );
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if len > 0.0 && len.is_finite() {
        let inv = 1.0 / len;
        [n[0] * inv, n[1] * inv, n[2] * inv]
    } else {
        [0.0; 3]
    }
}

/// Whether `bytes` are exactly what this crate's writers produce: a binary STL whose 80-byte header
/// is [`NEUTRAL_STL_HEADER`] (zero padded), whose size matches its count and whose facet
/// attribute bytes are all zero; or a binary PLY whose header is the writer's, line for line, and
/// whose size is exactly that of its declared vertices and triangles. A guard against mistakes
/// (sealing the wrong file, or a Veil output re-exported with comments by another tool), not
/// against forgery: anyone can write these bytes.
pub fn is_deidentified_output(bytes: &[u8]) -> bool {
    deidentified_format(bytes).is_some()
}

/// The format of `bytes` if [`is_deidentified_output`].
pub fn deidentified_format(bytes: &[u8]) -> Option<OutputFormat> {
    if let Some(header) = bytes.get(..84) {
        let mut neutral = [0u8; 80];
        neutral[..NEUTRAL_STL_HEADER.len()].copy_from_slice(NEUTRAL_STL_HEADER);
        let n = u64::from(u32::from_le_bytes([
            header[80], header[81], header[82], header[83],
        ]));
        if header[..80] == neutral
            && Some(bytes.len() as u64) == n.checked_mul(50).map(|b| b + 84)
            && bytes[84..]
                .chunks_exact(50)
                .all(|f| f[48] == 0 && f[49] == 0)
        {
            return Some(OutputFormat::Stl);
        }
    }
    let text = bytes.get(..bytes.len().min(512))?;
    let end = crate::scrub::find(text, b"end_header\n")? + b"end_header\n".len();
    let header = std::str::from_utf8(&text[..end]).ok()?;
    let count = |prefix: &str| -> Option<u64> {
        header
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|n| n.parse().ok())
    };
    let (v, f) = (count("element vertex ")?, count("element face ")?);
    let expected = ply_header(v, f);
    let body = v.checked_mul(12)?.checked_add(f.checked_mul(13)?)?;
    (header == expected && bytes.len() as u64 == end as u64 + body).then_some(OutputFormat::Ply)
}

/// What a content about to be sealed is, as far as models go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelKind {
    /// `stl`, `obj` or `ply`.
    pub extension: &'static str,
    /// It is this crate's output ([`is_deidentified_output`]).
    pub deidentified: bool,
}

/// Whether `bytes` are a model: this crate's output, or anything this crate's readers parse
/// (whatever the file is called). `None` for everything else.
pub fn model_kind(bytes: &[u8]) -> Option<ModelKind> {
    if let Some(format) = deidentified_format(bytes) {
        return Some(ModelKind {
            extension: format.extension(),
            deidentified: true,
        });
    }
    let model = crate::read(bytes, crate::FormatHint::Auto, &crate::Limits::default()).ok()?;
    let extension = match model.format {
        crate::Format::StlBinary | crate::Format::StlAscii => "stl",
        crate::Format::Obj => "obj",
        crate::Format::PlyAscii | crate::Format::PlyBinaryLe | crate::Format::PlyBinaryBe => "ply",
    };
    Some(ModelKind {
        extension,
        deidentified: false,
    })
}

fn ply_header(vertices: u64, faces: u64) -> String {
    format!(
        "ply\nformat binary_little_endian 1.0\ncomment {NEUTRAL_PLY_COMMENT}\nelement vertex {vertices}\nproperty float x\nproperty float y\nproperty float z\nelement face {faces}\nproperty list uchar int vertex_indices\nend_header\n"
    )
}

/// Binary little-endian PLY: `x y z` floats and a `uchar`/`int` index list, nothing else.
pub fn write_ply(mesh: &Mesh) -> Vec<u8> {
    let header = ply_header(mesh.vertices.len() as u64, mesh.triangles.len() as u64);
    let mut out =
        Vec::with_capacity(header.len() + 12 * mesh.vertices.len() + 13 * mesh.triangles.len());
    out.extend_from_slice(header.as_bytes());
    for p in &mesh.vertices {
        for v in p {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    for t in &mesh.triangles {
        out.push(3);
        for &i in t {
            out.extend_from_slice(&(i as i32).to_le_bytes());
        }
    }
    out
}
