//! The native build runs the heavy loops on several threads; the results must be the same bytes
//! on any number of threads (and so in wasm32, which has one), and equal to plain serial
//! reference computations.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};

use veil_mesh::synth::{self, HeadSpec};
use veil_mesh::{FormatHint, Limits, Options, OutputFormat, set_max_threads};

/// A model large enough that every parallel path splits its work (reading in parts needs
/// 2 × 64 Ki facets).
fn big_head_stl() -> Vec<u8> {
    let spec = HeadSpec {
        neck: true,
        ..HeadSpec::default()
    }
    .with_triangles(300_000);
    veil_mesh::write::write_stl(&synth::head(&spec).mesh)
}

#[test]
fn output_does_not_depend_on_the_number_of_threads() {
    let stl = big_head_stl();
    for output in [OutputFormat::Stl, OutputFormat::Ply] {
        let o = Options {
            seed: Some(11),
            hausdorff: false,
            output,
            ..Options::default()
        };
        let mut runs = Vec::new();
        for threads in [1, 2, 3, 8] {
            set_max_threads(threads);
            let (bytes, report) = veil_mesh::deidentify(&stl, FormatHint::Stl, &o).unwrap();
            runs.push((threads, bytes, serde_json::to_string(&report).unwrap()));
        }
        set_max_threads(0);
        assert_eq!(runs[0].2.len(), runs[1].2.len());
        for (threads, bytes, report) in &runs[1..] {
            assert!(
                *bytes == runs[0].1,
                "{output:?}: {threads} threads wrote other bytes than 1"
            );
            assert_eq!(
                *report, runs[0].2,
                "{output:?}: report on {threads} threads"
            );
        }
    }
}

#[test]
fn parallel_read_welds_in_first_occurrence_order() {
    let stl = big_head_stl();
    set_max_threads(0);
    let model = veil_mesh::read(&stl, FormatHint::Stl, &Limits::default()).unwrap();
    // Serial reference: number positions by first occurrence, facet by facet.
    let n = u32::from_le_bytes(stl[80..84].try_into().unwrap()) as usize;
    let mut index: HashMap<[u32; 3], u32> = HashMap::new();
    let mut vertices = Vec::new();
    let mut triangles = Vec::new();
    for f in 0..n {
        let facet = &stl[84 + 50 * f..84 + 50 * f + 50];
        let mut t = [0u32; 3];
        for (k, c) in t.iter_mut().enumerate() {
            let at = |q: usize| {
                let o = 12 + 12 * k + q;
                f32::from_le_bytes(facet[o..o + 4].try_into().unwrap())
            };
            let p = [at(0) + 0.0, at(4) + 0.0, at(8) + 0.0];
            let key = p.map(f32::to_bits);
            *c = *index.entry(key).or_insert_with(|| {
                vertices.push(p);
                (vertices.len() - 1) as u32
            });
        }
        triangles.push(t);
    }
    assert_eq!(model.mesh.vertices, vertices);
    assert_eq!(model.mesh.triangles, triangles);
}

#[test]
fn watertightness_matches_an_edge_count_reference() {
    // Closed head: watertight; after removing some triangles: boundary edges, counted exactly.
    let stl = big_head_stl();
    let o = Options {
        seed: Some(3),
        deface: veil_mesh::DefaceMode::Off,
        mask: None,
        ..Options::default()
    };
    let (_, report) = veil_mesh::deidentify(&stl, FormatHint::Stl, &o).unwrap();
    assert!(report.utility.watertight_in && report.utility.watertight_out);

    let mut mesh = veil_mesh::read(&stl, FormatHint::Stl, &Limits::default())
        .unwrap()
        .mesh;
    // Drop every 97th triangle and duplicate every 1001st (a non-manifold edge fan).
    let mut tris: Vec<[u32; 3]> = Vec::new();
    for (i, t) in mesh.triangles.iter().enumerate() {
        if i % 97 != 0 {
            tris.push(*t);
        }
        if i % 1001 == 5 {
            tris.push(*t);
        }
    }
    mesh.triangles = tris;
    let mut directed: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    for t in &mesh.triangles {
        for k in 0..3 {
            *directed.entry((t[k], t[(k + 1) % 3])).or_default() += 1;
        }
    }
    let (mut boundary, mut nonmanifold) = (0u64, 0u64);
    let mut undirected: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    for (&(a, b), &c) in &directed {
        *undirected.entry((a.min(b), a.max(b))).or_default() += c;
    }
    for &c in undirected.values() {
        match c {
            1 => boundary += 1,
            2 => {}
            _ => nonmanifold += 1,
        }
    }
    let o = Options {
        seed: Some(3),
        deface: veil_mesh::DefaceMode::Off,
        mask: None,
        hausdorff: false,
        ..Options::default()
    };
    let (_, report) =
        veil_mesh::deidentify(&veil_mesh::write::write_stl(&mesh), FormatHint::Stl, &o).unwrap();
    assert!(boundary > 1000 && nonmanifold > 100);
    assert_eq!(report.utility.boundary_edges_out, boundary);
    assert_eq!(report.utility.nonmanifold_edges_out, nonmanifold);
    assert!(!report.utility.watertight_out);
}

/// The input's watertightness under a cut comes from the kept edges (as left in the output) and
/// the removed edges (as counted by the cut): a hole on either side must show.
#[test]
fn input_watertightness_is_exact_across_a_cut() {
    let mesh = synth::head(&HeadSpec::default()).mesh;
    // Remove everything with y > 40 (in front of the face), in the input's coordinates.
    let plane = veil_mesh::CutPlane::new([0.0, 40.0, 0.0], [0.0, 1.0, 0.0]).unwrap();
    let o = Options {
        seed: Some(5),
        deface: veil_mesh::DefaceMode::Plane(plane),
        hausdorff: false,
        ..Options::default()
    };
    let run = |m: &veil_mesh::Mesh| {
        let (_, r) =
            veil_mesh::deidentify(&veil_mesh::write::write_stl(m), FormatHint::Stl, &o).unwrap();
        assert_eq!(r.deface.outcome, "defaced");
        (r.utility.watertight_in, r.utility.watertight_out)
    };
    assert_eq!(run(&mesh), (true, true));
    let y = |m: &veil_mesh::Mesh, t: &[u32; 3], f: fn(f32) -> bool| {
        t.iter().all(|&i| f(m.vertices[i as usize][1]))
    };
    // A hole in the removed region: the input was open, the output is closed.
    let mut front = mesh.clone();
    let i = front
        .triangles
        .iter()
        .position(|t| y(&mesh, t, |v| v > 60.0))
        .unwrap();
    front.triangles.remove(i);
    assert_eq!(run(&front), (false, true));
    // A hole in the kept region: both open.
    let mut back = mesh.clone();
    let i = back
        .triangles
        .iter()
        .position(|t| y(&mesh, t, |v| v < 0.0))
        .unwrap();
    back.triangles.remove(i);
    assert_eq!(run(&back), (false, false));
    // A flipped triangle in the removed region: inconsistent orientation, not watertight.
    let mut flipped = mesh.clone();
    let i = flipped
        .triangles
        .iter()
        .position(|t| y(&mesh, t, |v| v > 60.0))
        .unwrap();
    flipped.triangles[i].swap(0, 1);
    assert_eq!(run(&flipped), (false, true));
}
