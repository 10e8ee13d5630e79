//! Writes a synthetic model as binary STL for the package's tests, the portal e2e test and the
//! speed comparison with the CLI: `synth_model head|head-neck|sphere|cube TRIANGLES OUT.stl`.
//!
//! The models come from `veil_mesh::synth` (procedural, no patient data), so the tests need no
//! committed binary fixtures and the benchmark model can be any size (the is 1,000,000
//! triangles).
#![allow(missing_docs)]

use std::process::ExitCode;

use veil_mesh::synth;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, triangles, out] = args.as_slice() else {
        eprintln!("usage: synth_model head|head-neck|sphere|cube TRIANGLES OUT.stl");
        return ExitCode::FAILURE;
    };
    let Ok(n) = triangles.parse::<u64>() else {
        eprintln!("TRIANGLES must be a number");
        return ExitCode::FAILURE;
    };
    // UV meshes have about 4 · lat² triangles with lon = 2 · lat.
    let lat = ((n as f64 / 4.0).sqrt()).max(4.0) as u32;
    let mesh = match kind.as_str() {
        "head" => synth::head(&synth::HeadSpec::default().with_triangles(n)).mesh,
        "head-neck" => {
            synth::head(
                &synth::HeadSpec {
                    neck: true,
                    ..synth::HeadSpec::default()
                }
                .with_triangles(n),
            )
            .mesh
        }
        "sphere" => synth::sphere(80.0, 2 * lat, lat),
        "cube" => synth::cuboid(
            [100.0, 100.0, 100.0],
            ((n as f64 / 12.0).sqrt().max(1.0)) as u32,
        ),
        other => {
            eprintln!("unknown model {other:?}");
            return ExitCode::FAILURE;
        }
    };
    match std::fs::write(out, veil_mesh::write::write_stl(&mesh)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{out}: {e}");
            ExitCode::FAILURE
        }
    }
}
