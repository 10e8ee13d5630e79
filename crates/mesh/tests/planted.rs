//! Identifiers planted in every channel a model format has never come out: not in the output
//! model, not in the shareable report, not in an error message about a malformed file.
//!
//! Channels covered: binary STL header and facet attribute bytes; ASCII STL solid/endsolid names
//! and trailing text; OBJ comments, `o`, `g`, `mtllib`, `usemtl`, unknown statements; PLY
//! comments, `obj_info`, extra vertex/face property names, extra elements (name, property name,
//! values) and trailing data, in ASCII, binary little-endian and big-endian.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use proptest::prelude::*;
use veil_mesh::Coded;
use veil_mesh::{FormatHint, Mesh, MeshError, Options, Profile, deidentify, synth};

fn model() -> Mesh {
    synth::sphere(40.0, 12, 8)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn binary_stl(mesh: &Mesh, id: &str) -> Vec<u8> {
    let mut out = vec![b' '; 80];
    out[..id.len()].copy_from_slice(id.as_bytes());
    out.extend_from_slice(&(mesh.triangles.len() as u32).to_le_bytes());
    let attr = id.as_bytes();
    for (k, t) in mesh.triangles.iter().enumerate() {
        out.extend_from_slice(&[0u8; 12]);
        for &i in t {
            for c in mesh.vertices[i as usize] {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        // The identifier again, two bytes per facet, in the attribute field.
        let a = (2 * k) % attr.len();
        out.push(attr[a]);
        out.push(attr[(a + 1) % attr.len()]);
    }
    out
}

fn ascii_stl(mesh: &Mesh, id: &str) -> String {
    let mut s = format!("solid {id}\n");
    for t in &mesh.triangles {
        s.push_str("facet normal 0 0 0\nouter loop\n");
        for &i in t {
            let v = mesh.vertices[i as usize];
            s.push_str(&format!("vertex {} {} {}\n", v[0], v[1], v[2]));
        }
        s.push_str("endloop\nendfacet\n");
    }
    s.push_str(&format!("endsolid {id}\n"));
    s
}

fn obj(mesh: &Mesh, id: &str) -> String {
    let mut s =
        format!("# exported for {id}\nmtllib {id}.mtl\no {id}\ng {id}_group\nusemtl {id}\n");
    for v in &mesh.vertices {
        s.push_str(&format!("v {} {} {}\n", v[0], v[1], v[2]));
    }
    s.push_str(&format!("{id}_statement 1 2 3\n"));
    for t in &mesh.triangles {
        s.push_str(&format!("f {} {} {}\n", t[0] + 1, t[1] + 1, t[2] + 1));
    }
    s.push_str(&format!("# {id} trailing\n"));
    s
}

/// The value planted in extra PLY properties and elements (a record number, as text and binary).
const VALUE: i32 = 448_812;

#[derive(Clone, Copy, PartialEq)]
enum Ply {
    Ascii,
    Le,
    Be,
}

fn ply(mesh: &Mesh, id: &str, encoding: Ply) -> Vec<u8> {
    let format = match encoding {
        Ply::Ascii => "ascii",
        Ply::Le => "binary_little_endian",
        Ply::Be => "binary_big_endian",
    };
    let binary = encoding != Ply::Ascii;
    let f32b = |v: f32| {
        if encoding == Ply::Be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let i32b = |v: i32| {
        if encoding == Ply::Be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = format!(
        "ply\nformat {format} 1.0\ncomment patient {id}\nobj_info {id}\n\
         element vertex {}\nproperty float x\nproperty float y\nproperty float z\nproperty float {id}_v\n\
         element face {}\nproperty list uchar int vertex_indices\nproperty int {id}_f\n\
         element {id}_el 2\nproperty int {id}_p\nend_header\n",
        mesh.vertices.len(),
        mesh.triangles.len()
    )
    .into_bytes();
    let value = VALUE;
    for v in &mesh.vertices {
        if binary {
            for c in v {
                out.extend_from_slice(&f32b(*c));
            }
            out.extend_from_slice(&f32b(1.5));
        } else {
            out.extend_from_slice(format!("{} {} {} 1.5\n", v[0], v[1], v[2]).as_bytes());
        }
    }
    for t in &mesh.triangles {
        if binary {
            out.push(3);
            for i in t {
                out.extend_from_slice(&i32b(*i as i32));
            }
            out.extend_from_slice(&i32b(value));
        } else {
            out.extend_from_slice(format!("3 {} {} {} {value}\n", t[0], t[1], t[2]).as_bytes());
        }
    }
    for _ in 0..2 {
        if binary {
            out.extend_from_slice(&i32b(value));
        } else {
            out.extend_from_slice(format!("{value}\n").as_bytes());
        }
    }
    out.extend_from_slice(format!("{id} trailing data\n").as_bytes());
    out
}

fn planted_inputs(id: &str) -> Vec<(&'static str, Vec<u8>)> {
    let m = model();
    vec![
        ("binary STL", binary_stl(&m, id)),
        ("ASCII STL", ascii_stl(&m, id).into_bytes()),
        ("OBJ", obj(&m, id).into_bytes()),
        ("ASCII PLY", ply(&m, id, Ply::Ascii)),
        ("binary PLY", ply(&m, id, Ply::Le)),
        ("big-endian PLY", ply(&m, id, Ply::Be)),
    ]
}

fn assert_clean_error(e: &MeshError, id: &str, what: &str) {
    for text in [e.to_string(), format!("{e:?}"), e.code().to_string()] {
        assert!(
            !text.contains(id),
            "{what}: the error echoes the identifier: {text}"
        );
    }
}

/// Malformed files with the identifier where a number, a keyword or a count belongs.
fn malformed_inputs(id: &str) -> Vec<(&'static str, Vec<u8>)> {
    let m = model();
    let stl = ascii_stl(&m, id);
    let obj_text = obj(&m, id);
    let ply_text = String::from_utf8(ply(&m, id, Ply::Ascii)).unwrap();
    let first_vertex = format!("{} ", m.vertices[0][0]);
    vec![
        (
            "STL coordinate",
            stl.replacen("vertex ", &format!("vertex {id} "), 1),
        ),
        (
            "STL keyword",
            stl.replacen("outer loop", &format!("{id} loop"), 1),
        ),
        (
            "STL facet",
            stl.replacen("facet normal", &format!("{id} normal"), 1),
        ),
        ("STL after endsolid", format!("{stl}{id}\n")),
        (
            "OBJ coordinate",
            obj_text.replacen("\nv ", &format!("\nv {id} "), 1),
        ),
        (
            "OBJ face",
            obj_text.replacen("\nf ", &format!("\nf {id} "), 1),
        ),
        (
            "PLY count",
            ply_text
                .replacen("element vertex ", &format!("element vertex {id} "), 1)
                .replacen(&format!("{id} {}", m.vertices.len()), id, 1),
        ),
        ("PLY keyword", ply_text.replacen("comment", id, 1)),
        (
            "PLY type",
            ply_text.replacen("property float x", &format!("property {id} x"), 1),
        ),
        (
            "PLY format",
            ply_text.replacen("format ascii 1.0", &format!("format {id} 1.0"), 1),
        ),
        (
            "PLY list",
            ply_text.replacen(
                "property list uchar int",
                &format!("property list {id} int"),
                1,
            ),
        ),
        (
            "PLY body",
            ply_text.replacen(&format!("\n{first_vertex}"), &format!("\n{id} "), 1),
        ),
        (
            "PLY element claim",
            ply_text.replacen(&format!("{id}_el 2"), &format!("{id}_el 999999"), 1),
        ),
    ]
    .into_iter()
    .map(|(what, s)| (what, s.into_bytes()))
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn planted_identifiers_never_reach_the_output_or_the_shareable_report(
        id in "PHI[A-Za-z0-9]{8,16}",
        seed in any::<u64>(),
    ) {
        for (what, input) in planted_inputs(&id) {
            prop_assert!(contains(&input, &id), "{what}: the identifier was planted");
            let mut options = Options::for_profile(Profile::Strict);
            options.seed = Some(seed);
            let (out, report) = deidentify(&input, FormatHint::Auto, &options)
                .map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
            prop_assert!(!contains(&out, &id), "{what}: the identifier is in the output model");
            let shared = serde_json::to_string(&report.shareable()).unwrap();
            prop_assert!(!shared.contains(&id), "{what}: the identifier is in the shareable report");
            // The planted value, as text and as the binary integers it was written as.
            let value = VALUE.to_string();
            prop_assert!(!shared.contains(&value), "{what}: the value is in the shareable report");
            for form in [value.as_bytes().to_vec(), VALUE.to_le_bytes().to_vec(), VALUE.to_be_bytes().to_vec()] {
                prop_assert!(!out.windows(form.len()).any(|w| w == form.as_slice()), "{what}: the value is in the output");
            }
            for key in ["transform", "rotation", "translation", "detail", "plane"] {
                prop_assert!(!shared.contains(&format!("\"{key}\"")), "{what}: shareable report has {key}");
            }
            prop_assert!(!report.shareable().metadata_removed.is_empty(), "{what}: channels were counted");
        }
    }

    #[test]
    fn errors_about_malformed_files_never_echo_their_bytes(id in "PHI[A-Za-z0-9]{8,16}") {
        for (what, input) in malformed_inputs(&id) {
            prop_assert!(contains(&input, &id), "{what}: the identifier was planted");
            match deidentify(&input, FormatHint::Auto, &Options::for_profile(Profile::Strict)) {
                Ok(_) => prop_assert!(false, "{what}: a malformed file was accepted"),
                Err(e) => assert_clean_error(&e, &id, what),
            }
        }
    }
}

#[test]
fn every_planted_channel_is_counted_in_the_shareable_report() {
    let id = "PHIJaneRoeMRN448812";
    let expect: &[(&str, &[&str])] = &[
        ("binary STL", &["stl-header-text", "stl-facet-attribute"]),
        (
            "ASCII STL",
            &["stl-ascii-solid-name", "stl-ascii-endsolid-name"],
        ),
        (
            "OBJ",
            &[
                "obj-comment",
                "obj-mtllib",
                "obj-object-name",
                "obj-group-name",
                "obj-usemtl",
                "obj-other-statement",
            ],
        ),
        (
            "ASCII PLY",
            &[
                "ply-comment",
                "ply-obj-info",
                "ply-extra-property",
                "ply-extra-element",
                "ply-trailing-data",
            ],
        ),
        (
            "binary PLY",
            &[
                "ply-comment",
                "ply-obj-info",
                "ply-extra-property",
                "ply-extra-element",
                "ply-trailing-data",
            ],
        ),
        (
            "big-endian PLY",
            &[
                "ply-comment",
                "ply-obj-info",
                "ply-extra-property",
                "ply-extra-element",
                "ply-trailing-data",
            ],
        ),
    ];
    for ((what, input), (name, channels)) in planted_inputs(id).into_iter().zip(expect) {
        assert_eq!(what, *name);
        let mut options = Options::for_profile(Profile::Strict);
        options.seed = Some(1);
        let (_, report) = deidentify(&input, FormatHint::Auto, &options).unwrap();
        let shared = report.shareable();
        for c in &shared.metadata_removed {
            assert!(
                veil_mesh::scrub::CHANNELS.contains(&c.channel.as_str()),
                "{}",
                c.channel
            );
        }
        for c in *channels {
            assert!(
                shared.metadata_removed.iter().any(|r| r.channel == *c),
                "{what}: {c} missing from {:?}",
                shared.metadata_removed
            );
        }
        // The local report keeps the names, for the person who ran it.
        if what.ends_with("PLY") {
            let local = serde_json::to_string(&report).unwrap();
            assert!(
                local.contains(id),
                "{what}: the local report names what it removed"
            );
        }
    }
}

fn keys_of(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone());
                keys_of(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| keys_of(v, out)),
        _ => {}
    }
}

/// `ShareableReport::JSON_KEYS` is exactly the set of keys its JSON can hold (a full report: mask,
/// Hausdorff, flags, channels), and no key of the local report's own (`transform`, `detail`,
/// `plane`, `detection`) is among them.
#[test]
fn the_shareable_key_list_matches_the_serialised_form() {
    let mut options = Options::for_profile(Profile::Strict);
    options.seed = Some(2);
    options.hausdorff = true;
    let head = synth::head(&synth::HeadSpec::default());
    let mut stl = veil_mesh::write::write_stl(&head.mesh);
    stl[..12].copy_from_slice(b"PATIENT ROE ");
    let (_, report) = deidentify(&stl, FormatHint::Stl, &options).unwrap();
    assert!(!report.flags.is_empty() || !report.steps.is_empty());
    let mut found = std::collections::BTreeSet::new();
    keys_of(
        &serde_json::to_value(report.shareable()).unwrap(),
        &mut found,
    );
    let listed: std::collections::BTreeSet<String> = veil_mesh::ShareableReport::JSON_KEYS
        .iter()
        .map(|k| k.to_string())
        .collect();
    let missing_flags: Vec<_> = listed.difference(&found).collect();
    // A run without flags has no `code`/`message` keys; every other listed key appears.
    assert!(
        missing_flags
            .iter()
            .all(|k| ["code", "message"].contains(&k.as_str())),
        "{missing_flags:?}"
    );
    assert!(
        found.is_subset(&listed),
        "{:?}",
        found.difference(&listed).collect::<Vec<_>>()
    );
    let mut local = std::collections::BTreeSet::new();
    keys_of(&serde_json::to_value(&report).unwrap(), &mut local);
    for k in ["transform", "detail", "plane", "detection"] {
        assert!(!listed.contains(k), "{k}");
    }
    assert!(local.contains("transform") && local.contains("plane"));
}

/// Numbers read from a file (an index, a declared count) can be identifiers too (a record number
/// typed into the wrong field): errors name positions, never those numbers (the OBJ index is
/// 1-based in the file, so its 0-based value is the planted one).
#[test]
fn numbers_read_from_a_file_are_not_echoed() {
    let n = "448812";
    let mut short_stl = binary_stl(&model(), "PHI");
    short_stl[80..84].copy_from_slice(&448_812u32.to_le_bytes());
    let mut long_stl = binary_stl(&model(), "PHI");
    long_stl[80..84].copy_from_slice(&1u32.to_le_bytes());
    let limits = veil_mesh::Limits {
        max_triangles: 1000,
        max_vertices: 1000,
    };
    let cases: Vec<(&str, Vec<u8>, veil_mesh::Limits)> = vec![
        ("OBJ index", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 448813\n".to_vec(), Default::default()),
        ("PLY index", b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 448812\n".to_vec(), Default::default()),
        ("PLY count", b"ply\nformat ascii 1.0\nelement vertex 448812\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n".to_vec(), Default::default()),
        ("PLY over the limit", format!("ply\nformat binary_little_endian 1.0\nelement vertex 448812\nproperty uchar x\nend_header\n{}", "\0".repeat(448_812)).into_bytes(), limits),
        ("STL count too large", short_stl, Default::default()),
        ("STL count too small", long_stl, Default::default()),
    ];
    for (what, input, limits) in cases {
        let e = veil_mesh::read(&input, FormatHint::Auto, &limits).expect_err(what);
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(n), "{what}: {text}");
        }
    }
}
