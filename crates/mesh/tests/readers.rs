//! Readers: every format and encoding, robust STL detection, metadata channels, and typed errors
//! for bad input (never a panic, checked by property tests over arbitrary and mutated bytes).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use proptest::prelude::*;
use veil_mesh::Coded;
use veil_mesh::{FormatHint, Limits, Mesh, read, synth};

fn tetra() -> Mesh {
    Mesh {
        vertices: vec![
            [0.0, 0.0, 0.0],
            [10.0, 0.0, 0.0],
            [0.0, 10.0, 0.0],
            [0.0, 0.0, 10.0],
        ],
        triangles: vec![[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]],
    }
}

fn binary_stl(mesh: &Mesh, header: &[u8], attr: u16) -> Vec<u8> {
    let mut out = vec![0u8; 80];
    out[..header.len()].copy_from_slice(header);
    out.extend_from_slice(&(mesh.triangles.len() as u32).to_le_bytes());
    for t in &mesh.triangles {
        out.extend_from_slice(&[0u8; 12]);
        for &i in t {
            for c in mesh.vertices[i as usize] {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out.extend_from_slice(&attr.to_le_bytes());
    }
    out
}

fn channel(m: &veil_mesh::ReadModel, id: &str) -> Option<(u64, u64)> {
    m.metadata
        .iter()
        .find(|c| c.channel == id)
        .map(|c| (c.count, c.bytes))
}

#[test]
fn binary_stl_whose_header_starts_with_solid_is_binary() {
    let bytes = binary_stl(&tetra(), b"solid exported by SomeTool PATIENT=DOE^JANE", 0);
    let m = read(&bytes, FormatHint::Stl, &Limits::default()).unwrap();
    assert_eq!(m.format, veil_mesh::Format::StlBinary);
    assert_eq!(m.mesh.triangles.len(), 4);
    assert_eq!(m.mesh.vertices.len(), 4, "welded");
    assert_eq!(channel(&m, "stl-header-text"), Some((1, 43)));
}

#[test]
fn stl_header_keys_and_both_colour_conventions_are_inventoried() {
    let mut header = b"COLOR=\x10\x20\x30\xffMATERIAL=".to_vec();
    header.extend_from_slice(&[1u8; 12]);
    header.extend_from_slice(b" SPACE=RAS");
    let magics = binary_stl(&tetra(), &header, 0x1234);
    let m = read(&magics, FormatHint::Auto, &Limits::default()).unwrap();
    assert_eq!(channel(&m, "stl-header-materialise-color"), Some((1, 10)));
    assert_eq!(
        channel(&m, "stl-header-materialise-material"),
        Some((1, 21))
    );
    assert_eq!(channel(&m, "stl-header-space"), Some((1, 9)));
    assert_eq!(channel(&m, "stl-facet-colour-materialise"), Some((4, 8)));
    let viscam = binary_stl(&tetra(), b"", 0x8000 | 0x7c00);
    let m = read(&viscam, FormatHint::Auto, &Limits::default()).unwrap();
    assert_eq!(channel(&m, "stl-facet-colour-viscam"), Some((4, 8)));
    assert!(channel(&m, "stl-header-text").is_none());
}

#[test]
fn ascii_stl_with_names_and_multiple_solids() {
    let text = "solid Jane Doe 1970-01-01\n facet normal 0 0 -1\n  outer loop\n   vertex 0 0 0\n   vertex 0 10 0\n   vertex 10 0 0\n  endloop\n endfacet\nendsolid Jane Doe 1970-01-01\nsolid part2\nfacet normal 0 0 0\nouter loop\nvertex 0 0 0\nvertex 10 0 0\nvertex 0 0 10\nendloop\nendfacet\nendsolid\n";
    let m = read(text.as_bytes(), FormatHint::Auto, &Limits::default()).unwrap();
    assert_eq!(m.format, veil_mesh::Format::StlAscii);
    assert_eq!(m.mesh.triangles.len(), 2);
    assert_eq!(m.mesh.vertices.len(), 4);
    assert_eq!(channel(&m, "stl-ascii-solid-name"), Some((2, 19 + 5)));
    assert_eq!(channel(&m, "stl-ascii-endsolid-name"), Some((1, 19)));
}

#[test]
fn obj_faces_polygons_negative_indices_and_metadata() {
    let text = "# exported from Slicer, patient Jane Doe\nmtllib jane.mtl\no Face_of_Jane\nv 0 0 0\nv 10 0 0 1 0 0\nv 10 10 0\nv 0 10 0\nvn 0 0 1\nvt 0.5 0.5\ng skin\nusemtl skin\nf 1/1/1 2/1/1 3/1/1 4/1/1\nf -4 -2 -1\n";
    let m = read(text.as_bytes(), FormatHint::Obj, &Limits::default()).unwrap();
    assert_eq!(m.triangles_read, 3);
    assert_eq!(m.mesh.vertices.len(), 4);
    for id in [
        "obj-comment",
        "obj-mtllib",
        "obj-object-name",
        "obj-group-name",
        "obj-usemtl",
        "obj-normals",
        "obj-texture-coordinates",
        "obj-vertex-colour",
    ] {
        assert!(channel(&m, id).is_some(), "{id}");
    }
    assert_eq!(channel(&m, "obj-object-name"), Some((1, 12)));
}

fn ply_ascii() -> String {
    "ply\nformat ascii 1.0\ncomment patient Jane Doe\nobj_info scanner XYZ\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nelement face 4\nproperty list uchar int vertex_indices\nproperty uchar flags\nend_header\n0 0 0 1\n10 0 0 2\n0 10 0 3\n0 0 10 4\n3 0 2 1 0\n3 0 1 3 0\n3 0 3 2 0\n3 1 2 3 0\n".into()
}

fn ply_binary(le: bool) -> Vec<u8> {
    let t = tetra();
    let fmt = if le {
        "binary_little_endian"
    } else {
        "binary_big_endian"
    };
    let mut out = format!("ply\nformat {fmt} 1.0\nelement vertex 4\nproperty double x\nproperty double y\nproperty double z\nelement face 4\nproperty list uchar uint vertex_indices\nend_header\n").into_bytes();
    for p in &t.vertices {
        for c in p {
            let v = f64::from(*c);
            out.extend_from_slice(&if le { v.to_le_bytes() } else { v.to_be_bytes() });
        }
    }
    for tri in &t.triangles {
        out.push(3);
        for &i in tri {
            out.extend_from_slice(&if le { i.to_le_bytes() } else { i.to_be_bytes() });
        }
    }
    out
}

#[test]
fn ply_ascii_and_binary_both_endians() {
    let a = read(ply_ascii().as_bytes(), FormatHint::Ply, &Limits::default()).unwrap();
    assert_eq!(a.mesh, tetra());
    assert_eq!(channel(&a, "ply-comment"), Some((1, 16)));
    assert_eq!(channel(&a, "ply-obj-info"), Some((1, 11)));
    assert!(
        a.metadata
            .iter()
            .any(|c| c.detail.as_deref() == Some("vertex.red"))
    );
    assert!(
        a.metadata
            .iter()
            .any(|c| c.detail.as_deref() == Some("face.flags"))
    );
    for le in [true, false] {
        let b = read(&ply_binary(le), FormatHint::Auto, &Limits::default()).unwrap();
        assert_eq!(b.mesh, tetra());
        assert!(b.metadata.is_empty());
    }
}

#[test]
fn ply_writer_round_trips() {
    let head = synth::sphere(50.0, 24, 12);
    let bytes = veil_mesh::write::write_ply(&head);
    let back = read(&bytes, FormatHint::Auto, &Limits::default()).unwrap();
    assert_eq!(back.mesh, head);
    assert!(back.metadata.is_empty());
}

fn code(bytes: &[u8], hint: FormatHint) -> &'static str {
    read(bytes, hint, &Limits::default()).unwrap_err().code()
}

#[test]
fn bad_input_gives_typed_errors() {
    let good = binary_stl(&tetra(), b"x", 0);
    assert_eq!(
        code(&good[..good.len() - 7], FormatHint::Stl),
        "truncated-file"
    );
    let mut extra = good.clone();
    extra.extend_from_slice(&[0u8; 13]);
    assert_eq!(code(&extra, FormatHint::Stl), "count-mismatch");
    assert_eq!(code(&good[..50], FormatHint::Stl), "truncated-file");
    let mut nan = good.clone();
    nan[84 + 12..84 + 16].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(code(&nan, FormatHint::Stl), "non-finite-coordinate");
    let mut inf = good.clone();
    inf[84 + 20..84 + 24].copy_from_slice(&f32::INFINITY.to_le_bytes());
    assert_eq!(code(&inf, FormatHint::Auto), "non-finite-coordinate");
    // Zero triangles; all-degenerate triangles.
    assert_eq!(
        code(&binary_stl(&Mesh::default(), b"", 0), FormatHint::Stl),
        "empty-mesh"
    );
    let degenerate = Mesh {
        vertices: vec![[1.0, 1.0, 1.0]],
        triangles: vec![[0, 0, 0]; 3],
    };
    assert_eq!(
        code(&binary_stl(&degenerate, b"", 0), FormatHint::Stl),
        "empty-mesh"
    );
    assert_eq!(
        code(b"v 0 0 0\nv 1 0 0\nf 1 2 9\n", FormatHint::Obj),
        "index-out-of-range"
    );
    assert_eq!(
        code(b"v 0 0 nan\n", FormatHint::Obj),
        "non-finite-coordinate"
    );
    assert_eq!(code(b"v 0 zero 0\n", FormatHint::Obj), "parse-error");
    assert_eq!(
        code(
            b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 1 2 x\n",
            FormatHint::Stl
        ),
        "parse-error"
    );
    assert_eq!(
        code(
            b"solid x\nfacet normal 0 0 1\nouter loop\n",
            FormatHint::Stl
        ),
        "truncated-file"
    );
    assert_eq!(code(b"\x00\x01garbage", FormatHint::Auto), "unknown-format");
    // An absurd PLY count is refused before allocating.
    let huge = b"ply\nformat binary_little_endian 1.0\nelement vertex 4000000000\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n";
    assert_eq!(code(huge, FormatHint::Ply), "truncated-file");
    assert_eq!(
        code(
            b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n0\n",
            FormatHint::Ply
        ),
        "bad-header"
    );
    let limits = Limits {
        max_triangles: 2,
        max_vertices: 100,
    };
    assert_eq!(
        read(&good, FormatHint::Stl, &limits).unwrap_err().code(),
        "too-large"
    );
}

#[test]
fn non_manifold_and_degenerate_triangles_are_handled() {
    // Three triangles on one edge (non-manifold) plus a degenerate one: read, reported, processed.
    let m = Mesh {
        vertices: vec![
            [0.0, 0.0, 0.0],
            [10.0, 0.0, 0.0],
            [0.0, 10.0, 0.0],
            [0.0, -10.0, 0.0],
            [0.0, 0.0, 10.0],
        ],
        triangles: vec![[0, 1, 2], [1, 0, 3], [0, 1, 4], [2, 2, 4]],
    };
    let bytes = binary_stl(&m, b"", 0);
    let r = read(&bytes, FormatHint::Stl, &Limits::default()).unwrap();
    assert_eq!(r.degenerate_dropped, 1);
    let (_, report) =
        veil_mesh::deidentify(&bytes, FormatHint::Stl, &veil_mesh::Options::default()).unwrap();
    assert!(!report.utility.watertight_out);
    assert_eq!(report.utility.nonmanifold_edges_out, 1);
    assert!(report.flags.iter().any(|f| f.code == "not-watertight"));
}

proptest! {
    #[test]
    fn readers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        for hint in [FormatHint::Auto, FormatHint::Stl, FormatHint::Obj, FormatHint::Ply] {
            let _ = read(&bytes, hint, &Limits::default());
        }
    }

    #[test]
    fn readers_never_panic_on_mutated_files(
        which in 0usize..5,
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut bytes = match which {
            0 => binary_stl(&tetra(), b"solid x", 0),
            1 => ply_ascii().into_bytes(),
            2 => ply_binary(true),
            3 => ply_binary(false),
            _ => b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nf -1 -2 -3\n".to_vec(),
        };
        for (pos, b) in edits {
            let n = bytes.len();
            bytes[pos % n] = b;
        }
        let keep = cut % (bytes.len() + 1);
        let _ = read(&bytes, FormatHint::Auto, &Limits::default());
        let _ = read(&bytes[..keep], FormatHint::Auto, &Limits::default());
        let _ = veil_mesh::deidentify(&bytes, FormatHint::Auto, &veil_mesh::Options::default());
    }
}
