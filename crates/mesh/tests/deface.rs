//! Defacing as a specification: heads in any pose lose their face and stay watertight; non-heads
//! come out exactly as with defacing off.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use proptest::prelude::*;
use veil_mesh::Coded;
use veil_mesh::mesh_helpers::*;
use veil_mesh::synth::{self, HeadSpec};
use veil_mesh::{DefaceMode, FormatHint, Mesh, Options, Profile};

fn small_head(neck: bool) -> synth::SynthHead {
    synth::head(&HeadSpec {
        neck,
        lon: 120,
        lat: 60,
        ..HeadSpec::default()
    })
}

fn run(mesh: &Mesh, options: &Options) -> (Mesh, veil_mesh::Report) {
    let stl = veil_mesh::write::write_stl(mesh);
    let (out, report) = veil_mesh::deidentify(&stl, FormatHint::Stl, options).unwrap();
    let back = veil_mesh::read(&out, FormatHint::Auto, &Default::default()).unwrap();
    (back.mesh, report)
}

fn nearest(mesh: &Mesh, p: [f64; 3]) -> f64 {
    mesh.vertices
        .iter()
        .map(|v| dist([f64::from(v[0]), f64::from(v[1]), f64::from(v[2])], p))
        .fold(f64::INFINITY, f64::min)
}

/// Pose: rotation from a quaternion, optional mirror (LPS↔RAS), translation like a scanner table.
fn pose(q: [f64; 4], mirror: bool) -> [[f64; 3]; 3] {
    let mut r = synth::rotation_from_quaternion(q);
    if mirror {
        r[0] = [-r[0][0], -r[0][1], -r[0][2]];
    }
    r
}

fn check_defaced(head: &synth::SynthHead, r: [[f64; 3]; 3], t: [f64; 3]) {
    let posed = synth::transformed(&head.mesh, r, t);
    let mut options = Options::for_profile(Profile::Strict);
    options.seed = Some(3);
    let (out, report) = run(&posed, &options);
    assert_eq!(report.deface.outcome, "defaced", "{}", report.deface.reason);
    assert!(
        report.utility.watertight_out,
        "cut must be capped: {:?}",
        report.flags
    );
    let tf = report.transform.expect("reframed");
    let plane = report.deface.plane.expect("plane");
    let to_out = |p: [f64; 3]| tf.apply(synth::transform_point(r, t, p));
    let l = &head.landmarks;
    for (name, p) in [
        ("nose", l.nose_tip),
        ("left eye", l.eyes[0]),
        ("right eye", l.eyes[1]),
        ("mouth", l.mouth),
        ("chin", l.chin),
    ] {
        let q = to_out(p);
        assert!(
            plane.distance(q) > 3.0,
            "{name} must be in front of the cut plane"
        );
        assert!(nearest(&out, q) > 3.0, "{name} must be gone");
    }
    for (name, p) in [
        ("occiput", l.occiput),
        ("vertex", l.vertex),
        ("left ear", l.ears[0]),
        ("right ear", l.ears[1]),
    ] {
        assert!(nearest(&out, to_out(p)) < 3.0, "{name} must be kept");
    }
}

#[test]
fn head_in_template_pose_is_defaced() {
    check_defaced(
        &small_head(false),
        pose([1.0, 0.0, 0.0, 0.0], false),
        [0.0; 3],
    );
}

#[test]
fn head_with_neck_is_defaced_in_a_mirrored_pose() {
    check_defaced(
        &small_head(true),
        pose([0.2, -0.7, 0.4, 0.5], true),
        [-120.0, 40.0, 900.0],
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]
    #[test]
    fn head_in_any_pose_is_defaced(
        q in prop::array::uniform4(-1.0f64..1.0),
        mirror in any::<bool>(),
        t in prop::array::uniform3(-500.0f64..500.0),
        neck in any::<bool>(),
    ) {
        prop_assume!(q.iter().map(|x| x * x).sum::<f64>() > 0.01);
        check_defaced(&small_head(neck), pose(q, mirror), t);
    }
}

fn untouched(mesh: &Mesh) {
    let stl = veil_mesh::write::write_stl(mesh);
    let mut auto = Options::for_profile(Profile::Strict);
    auto.seed = Some(9);
    let mut off = auto.clone();
    off.deface = DefaceMode::Off;
    let (a, ra) = veil_mesh::deidentify(&stl, FormatHint::Stl, &auto).unwrap();
    let (b, _) = veil_mesh::deidentify(&stl, FormatHint::Stl, &off).unwrap();
    assert_eq!(ra.deface.outcome, "not-a-head");
    assert!(ra.deface.reason.contains("not a head") || ra.deface.reason.contains("untouched"));
    assert!(ra.flags.iter().any(|f| f.code == "not-a-head"));
    assert!(a == b, "auto must leave a non-head exactly as deface off");
}

#[test]
fn sphere_is_left_untouched() {
    untouched(&synth::sphere(80.0, 80, 40));
}

#[test]
fn ellipsoid_is_left_untouched() {
    untouched(&synth::ellipsoid([75.0, 95.0, 110.0], 80, 40));
}

#[test]
fn rotated_cube_is_left_untouched() {
    let cube = synth::cuboid([100.0, 100.0, 100.0], 12);
    untouched(&synth::transformed(
        &cube,
        pose([0.3, 0.5, -0.2, 0.7], false),
        [5.0, 6.0, 7.0],
    ));
}

#[test]
fn long_bone_is_left_untouched() {
    untouched(&synth::ellipsoid([20.0, 25.0, 220.0], 80, 40));
}

#[test]
fn explicit_plane_is_in_input_coordinates() {
    let cube = synth::cuboid([100.0, 100.0, 100.0], 10);
    let posed = synth::transformed(&cube, pose([1.0, 0.0, 0.0, 0.0], false), [1000.0, 0.0, 0.0]);
    let mut options = Options::for_profile(Profile::Print);
    options.seed = Some(1);
    // Remove x > 1020 in input coordinates: 30 % of the cube.
    options.deface = DefaceMode::parse("plane:1020,0,0,1,0,0").unwrap();
    let (_, report) = run(&posed, &options);
    assert_eq!(report.deface.outcome, "defaced");
    assert!(report.utility.watertight_out);
    let v = report.utility.volume_out / report.utility.volume_in;
    assert!((v - 0.7).abs() < 0.01, "volume ratio {v}");
}

#[test]
fn plane_syntax_errors_are_typed() {
    for bad in [
        "plane:1,2,3",
        "plane:1,2,3,0,0,0",
        "plane:a,b,c,d,e,f",
        "sideways",
    ] {
        assert_eq!(
            DefaceMode::parse(bad).unwrap_err().code(),
            "bad-option",
            "{bad}"
        );
    }
}
