//! The pipeline's promises: reframing is rigid and pose-independent, the scrub is idempotent,
//! randomness is fresh unless seeded, progress and cancellation work, and the report measures.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use proptest::prelude::*;
use veil_mesh::Coded;
use veil_mesh::mesh_helpers::dist;
use veil_mesh::reframe::{apply, principal_frame};
use veil_mesh::synth::{self, HeadSpec};
use veil_mesh::{Brought, DefaceMode, Elsewhere, FormatHint, Mesh, Options, OutputFormat, Profile};

fn f64v(p: [f32; 3]) -> [f64; 3] {
    [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])]
}

/// Scrub only: every other step off.
fn scrub_only() -> Options {
    let mut o = Options::for_profile(Profile::Strict);
    o.reframe = false;
    o.deface = DefaceMode::Off;
    o.mask = None;
    o.shuffle = false;
    o.quantise_mm = None;
    o.hausdorff = false;
    o
}

fn lumpy() -> Mesh {
    // An asymmetric closed surface: principal axes and skew signs are well defined.
    synth::radial_mesh(48, 24, |v| {
        60.0 + 15.0 * v[0] + 8.0 * v[1] * v[1] + 5.0 * v[2] * v[2] * v[2] + 10.0 * v[0] * v[2]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn reframe_is_rigid(q in prop::array::uniform4(-1.0f64..1.0), t in prop::array::uniform3(-1000.0f64..1000.0)) {
        prop_assume!(q.iter().map(|x| x * x).sum::<f64>() > 0.01);
        let m = synth::transformed(&lumpy(), synth::rotation_from_quaternion(q), t);
        let tf = principal_frame(&m);
        let r = tf.rotation;
        // Orthonormal with determinant +1: a proper rotation, never a reflection.
        for i in 0..3 {
            for j in 0..3 {
                let d: f64 = (0..3).map(|k| r[i][k] * r[j][k]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                prop_assert!((d - want).abs() < 1e-9);
            }
        }
        let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0]) + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
        prop_assert!((det - 1.0).abs() < 1e-9);
        let mut out = m.clone();
        apply(&mut out, &tf);
        for (i, j) in [(0usize, 7usize), (3, 500), (100, 900), (42, 43)] {
            let a = dist(f64v(m.vertices[i]), f64v(m.vertices[j]));
            let b = dist(f64v(out.vertices[i]), f64v(out.vertices[j]));
            prop_assert!((a - b).abs() < 1e-3 * a.max(1.0));
        }
    }

    #[test]
    fn reframe_removes_the_scanner_pose(q in prop::array::uniform4(-1.0f64..1.0), t in prop::array::uniform3(-1000.0f64..1000.0)) {
        prop_assume!(q.iter().map(|x| x * x).sum::<f64>() > 0.01);
        let base = lumpy();
        let mut a = base.clone();
        apply(&mut a, &principal_frame(&base));
        let mut b = synth::transformed(&base, synth::rotation_from_quaternion(q), t);
        let tf = principal_frame(&b);
        apply(&mut b, &tf);
        for (p, q) in a.vertices.iter().zip(&b.vertices) {
            prop_assert!(dist(f64v(*p), f64v(*q)) < 1e-2, "{:?} vs {:?}", p, q);
        }
    }

    #[test]
    fn scrub_is_idempotent(header in prop::collection::vec(any::<u8>(), 0..80), attr in any::<u16>()) {
        let m = synth::sphere(30.0, 12, 6);
        let mut stl = vec![0u8; 80];
        stl[..header.len()].copy_from_slice(&header);
        stl[..5].copy_from_slice(b"xolid");
        stl.extend_from_slice(&(m.triangles.len() as u32).to_le_bytes());
        for t in &m.triangles {
            stl.extend_from_slice(&[0u8; 12]);
            for &i in t {
                for c in m.vertices[i as usize] {
                    stl.extend_from_slice(&c.to_le_bytes());
                }
            }
            stl.extend_from_slice(&attr.to_le_bytes());
        }
        let (once, _) = veil_mesh::deidentify(&stl, FormatHint::Stl, &scrub_only()).unwrap();
        let (twice, report) = veil_mesh::deidentify(&once, FormatHint::Stl, &scrub_only()).unwrap();
        prop_assert_eq!(&once, &twice);
        prop_assert!(report.metadata_removed.is_empty());
    }
}

#[test]
fn fresh_randomness_unless_seeded() {
    let stl = veil_mesh::write::write_stl(&synth::sphere(50.0, 40, 20));
    let mut o = Options::for_profile(Profile::Strict);
    let (a, ra) = veil_mesh::deidentify(&stl, FormatHint::Stl, &o).unwrap();
    let (b, _) = veil_mesh::deidentify(&stl, FormatHint::Stl, &o).unwrap();
    assert_ne!(a, b, "two releases must differ");
    assert!(!ra.deterministic);
    o.seed = Some(42);
    let (c, rc) = veil_mesh::deidentify(&stl, FormatHint::Stl, &o).unwrap();
    let (d, _) = veil_mesh::deidentify(&stl, FormatHint::Stl, &o).unwrap();
    assert_eq!(c, d);
    assert!(rc.deterministic);
}

#[test]
fn output_is_shuffled_quantised_and_neutral() {
    let sphere = synth::sphere(50.0, 40, 20);
    let stl = veil_mesh::write::write_stl(&sphere);
    let mut o = Options::for_profile(Profile::Strict);
    o.output = OutputFormat::Ply;
    o.seed = Some(5);
    let (out, report) = veil_mesh::deidentify(&stl, FormatHint::Stl, &o).unwrap();
    // One comment: the neutral mark, nothing else.
    assert!(out.starts_with(
        b"ply\nformat binary_little_endian 1.0\ncomment Veil de-identified mesh\nelement vertex"
    ));
    assert_eq!(out.windows(7).filter(|w| w == b"comment").count(), 1);
    assert!(veil_mesh::write::is_deidentified_output(&out));
    let mut scanner = stl.clone();
    scanner[..14].copy_from_slice(b"SCANNER EXPORT");
    assert!(!veil_mesh::write::is_deidentified_output(&scanner));
    let back = veil_mesh::read(&out, FormatHint::Ply, &Default::default()).unwrap();
    assert!(back.metadata.is_empty(), "the neutral mark is not metadata");
    for p in &back.mesh.vertices {
        for c in p {
            let k = f64::from(*c) / 0.01;
            assert!(
                (k - k.round()).abs() < 1e-2,
                "{c} is not on the 0.01 mm grid"
            );
        }
    }
    // Vertex order no longer follows the input's.
    let moved = back
        .mesh
        .vertices
        .iter()
        .zip(&sphere.vertices)
        .filter(|(a, b)| dist(f64v(**a), f64v(**b)) > 5.0)
        .count();
    assert!(moved > back.mesh.vertices.len() / 2);
    assert_eq!(report.triangles_out, report.triangles_in);
}

#[test]
fn report_measures_against_the_bound() {
    let stl = veil_mesh::write::write_stl(&synth::sphere(60.0, 120, 60));
    let mut strict = Options::for_profile(Profile::Strict);
    strict.seed = Some(1);
    let (_, r) = veil_mesh::deidentify(&stl, FormatHint::Stl, &strict).unwrap();
    let h = r.utility.hausdorff.unwrap();
    assert!(h.max > 0.0 && h.max <= 1.0, "{h:?}");
    assert!(h.mean <= h.p95 && h.p95 <= h.max);
    assert!(r.utility.watertight_in && r.utility.watertight_out);
    assert!(
        r.flags.iter().all(|f| f.code == "not-a-head"),
        "{:?}",
        r.flags
    );
    let (_, p) =
        veil_mesh::deidentify(&stl, FormatHint::Stl, &Options::for_profile(Profile::Print))
            .unwrap();
    let hp = p.utility.hausdorff.unwrap();
    assert!(hp.max < 0.01, "print keeps the surface: {hp:?}");
    // A bound of zero flags the strict run.
    strict.bound_mm = 0.0;
    let (_, z) = veil_mesh::deidentify(&stl, FormatHint::Stl, &strict).unwrap();
    assert!(z.flags.iter().any(|f| f.code == "hausdorff-over-bound"));
    // Volume of a sphere within tessellation error, and a small change after the mask.
    let v = 4.0 / 3.0 * std::f64::consts::PI * 60f64.powi(3);
    assert!((r.utility.volume_in - v).abs() / v < 0.01);
    assert!(r.utility.volume_change_pct.abs() < 1.0);
}

#[test]
fn report_json_names_channels_but_not_values() {
    let mut stl = veil_mesh::write::write_stl(&synth::sphere(30.0, 12, 6));
    stl[..28].copy_from_slice(b"PATIENT JANE DOE SPACE=LPS  ");
    let (_, r) = veil_mesh::deidentify(&stl, FormatHint::Stl, &Options::default()).unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("stl-header-space") && json.contains("stl-header-text"));
    assert!(!json.contains("JANE") && !json.contains("LPS"));
}

#[test]
fn progress_is_frequent_and_cancel_stops() {
    // One thread, as in the browser: with more, the calling thread reports for all of them and
    // its steps depend on scheduling (results never do).
    veil_mesh::set_max_threads(1);
    let stl = veil_mesh::write::write_stl(&synth::head(&HeadSpec::default()).mesh);
    let mut seen: Vec<f32> = Vec::new();
    let o = Options {
        seed: Some(2),
        ..Options::default()
    };
    let mut cb = |f: f32| seen.push(f);
    veil_mesh::deidentify_with(&stl, FormatHint::Stl, &o, &mut cb, &|| false).unwrap();
    assert_eq!(seen.last(), Some(&1.0));
    assert!(
        seen.windows(2)
            .all(|w| w[1] >= w[0] && w[1] - w[0] <= 0.05 + 1e-6),
        "{seen:?}"
    );
    assert!(seen[0] <= 0.05);
    let calls = std::cell::Cell::new(0);
    let cancel = || {
        calls.set(calls.get() + 1);
        calls.get() > 5
    };
    let err =
        veil_mesh::deidentify_with(&stl, FormatHint::Stl, &o, &mut |_| {}, &cancel).unwrap_err();
    assert_eq!(err.code(), "cancelled");
}

#[test]
fn stl_output_is_the_working_mesh_in_a_random_order() {
    let stl = veil_mesh::write::write_stl(&synth::sphere(50.0, 60, 30));
    let o = Options {
        seed: Some(9),
        deface: veil_mesh::DefaceMode::Off,
        hausdorff: false,
        ..Options::default()
    };
    let done =
        veil_mesh::deidentify_with(&stl, FormatHint::Stl, &o, &mut |_| {}, &|| false).unwrap();
    let records: Vec<[[f32; 3]; 3]> = done.bytes[84..]
        .chunks_exact(50)
        .map(|r| {
            let f = |k: usize| f32::from_le_bytes(r[12 + 4 * k..16 + 4 * k].try_into().unwrap());
            [[f(0), f(1), f(2)], [f(3), f(4), f(5)], [f(6), f(7), f(8)]]
        })
        .collect();
    let m = &done.mesh;
    let working: Vec<[[f32; 3]; 3]> = m
        .triangles
        .iter()
        .map(|t| t.map(|i| m.vertices[i as usize]))
        .collect();
    assert_eq!(records.len(), working.len());
    // Same triangles, each with the same orientation (a cyclic rotation of its corners).
    let canon = |t: &[[f32; 3]; 3]| {
        let k = (0..3)
            .min_by(|&a, &b| t[a].partial_cmp(&t[b]).unwrap())
            .unwrap();
        [t[k], t[(k + 1) % 3], t[(k + 2) % 3]].map(|p| p.map(f32::to_bits))
    };
    let mut a: Vec<_> = records.iter().map(canon).collect();
    let mut b: Vec<_> = working.iter().map(canon).collect();
    a.sort_unstable();
    b.sort_unstable();
    assert!(a == b, "the file holds other triangles than the mesh");
    // In another order, and with rotated corners: few records sit where the working order has
    // them, and about a third of the triangles keep their first corner.
    let in_place = records
        .iter()
        .zip(&working)
        .filter(|(r, w)| canon(r) == canon(w))
        .count();
    assert!(
        in_place < records.len() / 100,
        "{in_place} records in place"
    );
    let index: std::collections::HashMap<_, _> = working
        .iter()
        .enumerate()
        .map(|(i, t)| (canon(t), i))
        .collect();
    let first_kept = records
        .iter()
        .filter(|r| working[index[&canon(r)]][0] == r[0])
        .count() as f64
        / records.len() as f64;
    assert!((0.28..0.39).contains(&first_kept), "{first_kept}");
}

/// A report (local and shareable) reads back from its own JSON, also where a measure is undefined
/// (`null` in JSON): a tetrahedron's mask collapses it and leaves NaN distances; a sphere's head
/// detection has no runner-up. `veil seal --deid-report` reads what `veil deid --report` wrote.
#[test]
fn reports_read_back_from_their_own_json() {
    let tetra = Mesh {
        vertices: vec![
            [0.0, 0.0, 0.0],
            [10.0, 0.0, 0.0],
            [0.0, 10.0, 0.0],
            [0.0, 0.0, 10.0],
        ],
        triangles: vec![[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]],
    };
    for mesh in [tetra, synth::sphere(40.0, 24, 12)] {
        let mut o = Options::for_profile(Profile::Strict);
        o.seed = Some(3);
        o.hausdorff = true;
        let (_, report) =
            veil_mesh::deidentify(&veil_mesh::write::write_stl(&mesh), FormatHint::Stl, &o)
                .unwrap();
        let json = serde_json::to_string(&report).unwrap();
        let back: veil_mesh::Report = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        let shared = serde_json::to_string(&report.shareable()).unwrap();
        let back: veil_mesh::ShareableReport = serde_json::from_str(&shared).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), shared);
        // A local report is not a shareable one.
        assert!(serde_json::from_str::<veil_mesh::ShareableReport>(&json).is_err());
    }
}

#[test]
fn a_run_split_in_parts_with_either_half_measured_apart_is_the_same_run() {
    let stl = veil_mesh::write::write_stl(&synth::head(&HeadSpec::default()).mesh);
    let o = Options {
        seed: Some(11),
        ..Options::default()
    };
    let whole =
        veil_mesh::deidentify_with(&stl, FormatHint::Stl, &o, &mut |_| {}, &|| false).unwrap();
    assert_eq!(whole.report.deface.outcome, "defaced");

    let prepared =
        veil_mesh::prepare_owned(stl.clone(), FormatHint::Stl, &o, &mut |_| {}, &|| false).unwrap();
    let points = prepared.back_points();
    let reference = prepared.reference().clone();
    // As a second worker does: only the reference surface and the points travel.
    let back = veil_mesh::utility::distances_to_surface(
        &reference.vertices,
        &reference.triangles,
        &points,
        &mut |_| {},
        &|| false,
    )
    .unwrap();
    let written = prepared
        .write(Elsewhere::Back, &mut |_| {}, &|| false)
        .unwrap();
    let split = written
        .complete(Some(Brought::Back(back.clone())), &mut |_| {}, &|| false)
        .unwrap();
    assert_eq!(split.bytes, whole.bytes);
    assert_eq!(split.report, whole.report);
    assert_eq!(split.deviation, whole.deviation);

    // The other split: the first half elsewhere, from the input's points to the output's surface
    // without the cap, while this run measures the second half and writes.
    let prepared =
        veil_mesh::prepare_owned(stl.clone(), FormatHint::Stl, &o, &mut |_| {}, &|| false).unwrap();
    let forward_points = prepared.forward_points();
    let (vertices, kept) = prepared.output_surface();
    assert!(whole.report.deface.cap_triangles > 0);
    assert_eq!(
        kept.len() as u64 + whole.report.deface.cap_triangles,
        whole.mesh.triangles.len() as u64
    );
    let measure = |(vertices, kept): (&[[f32; 3]], &[[u32; 3]])| {
        veil_mesh::utility::distances_to_surface(
            vertices,
            kept,
            &forward_points,
            &mut |_| {},
            &|| false,
        )
        .unwrap()
    };
    let forward = measure((vertices, kept));
    let written = prepared
        .write(Elsewhere::Forward, &mut |_| {}, &|| false)
        .unwrap();
    // A measurer that failed after `write` can still be stood in for.
    assert_eq!(measure(written.output_surface()), forward);
    let split = written
        .complete(
            Some(Brought::Forward(forward.clone())),
            &mut |_| {},
            &|| false,
        )
        .unwrap();
    assert_eq!(split.bytes, whole.bytes);
    assert_eq!(split.report, whole.report);
    assert_eq!(split.deviation, whole.deviation);
    // The code `complete` refuses `brought` with, once `write` left out the half `elsewhere` names.
    let refusal = |elsewhere: Elsewhere, brought: Option<Brought>| {
        let prepared =
            veil_mesh::prepare_owned(stl.clone(), FormatHint::Stl, &o, &mut |_| {}, &|| false)
                .unwrap();
        let written = prepared.write(elsewhere, &mut |_| {}, &|| false).unwrap();
        written
            .complete(brought, &mut |_| {}, &|| false)
            .unwrap_err()
            .code()
    };
    // Without its first half, with one of the wrong length, or with these very distances named
    // as the second half (a caller's mix-up: large models give both halves as many points, so
    // only the name tells), the report is refused.
    for brought in [
        None,
        Some(Brought::Forward(vec![0.0; forward_points.len() - 1])),
        Some(Brought::Back(forward.clone())),
    ] {
        assert_eq!(refusal(Elsewhere::Forward, brought), "bad-option");
    }
    // The deviation is the report's second half: every sample is an output vertex, measured.
    let h = whole.report.utility.hausdorff.unwrap();
    assert_eq!(whole.deviation.len(), points.len());
    assert!(whole.deviation.vertices.windows(2).all(|w| w[0] < w[1]));
    assert!(
        whole
            .deviation
            .vertices
            .iter()
            .zip(&whole.deviation.mm)
            .all(|(&i, &d)| (i as usize) < whole.mesh.vertices.len() && d <= h.max + 1e-6)
    );

    // Distances for other points than the run's are refused, not summarised (`back` holds one
    // distance per point of the second half). Nor are the second half's distances named as the
    // first, nor can the report do without its second half when `write` was told it comes from
    // elsewhere.
    for brought in [
        Some(Brought::Back(vec![0.0; back.len() + 1])),
        Some(Brought::Forward(back.clone())),
        None,
    ] {
        assert_eq!(refusal(Elsewhere::Back, brought), "bad-option");
    }
    // Measured in `write`, it is the same run again.
    let prepared =
        veil_mesh::prepare_owned(stl, FormatHint::Stl, &o, &mut |_| {}, &|| false).unwrap();
    let again = prepared
        .write(Elsewhere::Nothing, &mut |_| {}, &|| false)
        .unwrap()
        .complete(None, &mut |_| {}, &|| false)
        .unwrap();
    assert_eq!((again.bytes, again.report), (whole.bytes, whole.report));
}

#[test]
fn distances_to_surface_refuses_a_broken_mesh() {
    let sphere = synth::sphere(10.0, 12, 6);
    let mut bad = sphere.triangles.clone();
    bad[0][1] = u32::MAX;
    let e = veil_mesh::utility::distances_to_surface(
        &sphere.vertices,
        &bad,
        &[[0.0; 3]],
        &mut |_| {},
        &|| false,
    )
    .unwrap_err();
    assert_eq!(e.code(), "index-out-of-range");
    let d = veil_mesh::utility::distances_to_surface(
        &sphere.vertices,
        &sphere.triangles,
        &[[0.0; 3]],
        &mut |_| {},
        &|| false,
    )
    .unwrap();
    assert!(d[0] > 9.0 && d[0] <= 10.0, "{d:?}");
}

#[test]
fn distances_to_surface_refuses_points_that_are_not_finite_and_measures_far_ones() {
    let sphere = synth::sphere(10.0, 24, 12);
    let measure = |points: &[[f32; 3]]| {
        veil_mesh::utility::distances_to_surface(
            &sphere.vertices,
            &sphere.triangles,
            points,
            &mut |_| {},
            &|| false,
        )
    };
    for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
        let e = measure(&[[0.0; 3], [0.0, bad, 0.0]]).unwrap_err();
        assert_eq!(e.code(), "non-finite-coordinate", "{bad}");
    }
    // Far outside the grid (about 10^8 cells away): the search walks only the grid's cells.
    let d = measure(&[[1.0e9, 0.0, 0.0], [0.0, -3.0e8, 2.0e8]]).unwrap();
    assert!((d[0] - (1.0e9 - 10.0)).abs() < 1.0, "{d:?}");
    let far = (3.0e8f64.powi(2) + 2.0e8f64.powi(2)).sqrt() - 10.0;
    assert!((d[1] - far).abs() < 1.0, "{d:?}");
}

/// A fuzzer's find (2026-12-07, `deidentify` target): a model with a point so far from the
/// report's grid that its cell index saturated `i64` and the ring search panicked ("attempt to
/// negate with overflow"). It must give a result or a typed error.
#[test]
fn a_point_astronomically_far_from_the_surface_is_measured_not_a_panic() {
    let hex: String = [
        "20200c0c0c0c0c0c0c0c040c0c0c0d0c0c0c0c0c0c0c0c0cff0c0c0c0c0c0c0c0c0c0c0c0c0a00010000000c0c3d0c0c",
        "0c0c0c0cba0c0c0c0c0c0c0c0c0c000c0cff0c0c0c0c0c0c0c0c0c0c0c0c0a00010000000d0c1c0c0c0c0c6f626a2d6f",
        "7468652d8cff73ff02e4006f61749a9100aa8b000056000000000000000c0c0c0c0c0c0c0c20",
    ]
    .concat();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let o = veil_mesh::Options {
        seed: Some(0),
        limits: veil_mesh::Limits {
            max_triangles: 1 << 16,
            max_vertices: 1 << 16,
        },
        ..veil_mesh::Options::default()
    };
    let _ = veil_mesh::deidentify(&bytes, veil_mesh::FormatHint::Auto, &o);
}
