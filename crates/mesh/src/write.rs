//! Writers: binary STL and binary little-endian PLY, geometry only.
//!
//! The output carries nothing but a fixed neutral header, vertex positions and triangles: facet
//! normals are recomputed, attribute bytes are zero, and PLY headers hold no `comment`/`obj_info`.

use serde::{Deserialize, Serialize};

use crate::Mesh;
use crate::mesh::{cross, sub, v64};
use crate::scrub::NEUTRAL_STL_HEADER;

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
    let mut out = Vec::with_capacity(84 + 50 * n);
    let mut header = [0u8; 80];
    header[..NEUTRAL_STL_HEADER.len()].copy_from_slice(NEUTRAL_STL_HEADER);
    out.extend_from_slice(&header);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    for t in &mesh.triangles {
        let a = mesh.vertices[t[0] as usize];
        let b = mesh.vertices[t[1] as usize];
        let c = mesh.vertices[t[2] as usize];
        let nrm = cross(sub(v64(b), v64(a)), sub(v64(c), v64(a)));
        let len = (nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]).sqrt();
        let nrm = if len > 0.0 {
            [
                (nrm[0] / len) as f32,
                (nrm[1] / len) as f32,
                (nrm[2] / len) as f32,
            ]
        } else {
            [0.0; 3]
        };
        let mut rec = [0u8; 50];
        for (k, v) in [nrm, a, b, c].iter().flatten().enumerate() {
            rec[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&rec);
    }
    out
}

/// Binary little-endian PLY: `x y z` floats and a `uchar`/`int` index list, nothing else.
pub fn write_ply(mesh: &Mesh) -> Vec<u8> {
    let header = format!(
        "ply\nformat binary_little_endian 1.0\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nelement face {}\nproperty list uchar int vertex_indices\nend_header\n",
        mesh.vertices.len(),
        mesh.triangles.len()
    );
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
