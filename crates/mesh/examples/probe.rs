//! Print the deface decision for synthetic models in random poses (a development probe).
#![allow(clippy::unwrap_used, missing_docs)]
use veil_mesh::{FormatHint, Options, synth};

fn main() {
    let mut cases: Vec<(&str, veil_mesh::Mesh)> = vec![
        ("head", synth::head(&synth::HeadSpec::default()).mesh),
        (
            "head+neck",
            synth::head(&synth::HeadSpec {
                neck: true,
                ..Default::default()
            })
            .mesh,
        ),
        (
            "head-noears",
            synth::head(&synth::HeadSpec {
                ears: false,
                ..Default::default()
            })
            .mesh,
        ),
        ("sphere", synth::sphere(80.0, 120, 60)),
        ("ellipsoid", synth::ellipsoid([75.0, 95.0, 110.0], 120, 60)),
        ("cube", synth::cuboid([100.0, 100.0, 100.0], 20)),
        ("box", synth::cuboid([80.0, 120.0, 160.0], 20)),
    ];
    let qs = [
        [1.0, 0.0, 0.0, 0.0],
        [0.3, 0.5, -0.2, 0.7],
        [0.9, -0.1, 0.4, 0.2],
        [0.1, 0.8, 0.5, -0.3],
    ];
    for (name, m) in cases.drain(..) {
        for (qi, q) in qs.iter().enumerate() {
            for flip in [false, true] {
                let mut r = synth::rotation_from_quaternion(*q);
                if flip {
                    r[0] = [-r[0][0], -r[0][1], -r[0][2]];
                }
                let t = synth::transformed(&m, r, [12.0, -300.0, 45.0]);
                let stl = veil_mesh::write::write_stl(&t);
                let mut o = Options::default();
                o.seed = Some(1);
                o.hausdorff = false;
                let start = std::time::Instant::now();
                let (_, rep) = veil_mesh::deidentify(&stl, FormatHint::Stl, &o).unwrap();
                let e = rep.deface.detection.clone();
                println!(
                    "{name:12} q{qi} flip={flip:5} {:10} wt={} {:?} {:?} ({:?})",
                    rep.deface.outcome,
                    rep.utility.watertight_out,
                    e.map(|e| (format!(
                        "sym={:.3} prom={:.3} drop={:.3} run={:.2}",
                        e.symmetry_error, e.nose_prominence, e.nose_lateral_drop, e.runner_up_ratio
                    ))),
                    rep.deface.reason.chars().take(70).collect::<String>(),
                    start.elapsed()
                );
            }
        }
    }
}
