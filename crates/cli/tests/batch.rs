//! `veil deid IN... -o OUTDIR`: every model of a folder, outputs named by position (never after
//! the inputs), a summary without input names, the mapping kept apart, bad files reported and
//! skipped with exit code 1 and one `batch-failed` line on stderr.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn a_folder_is_de_identified_file_by_file_and_a_bad_file_does_not_stop_it() {
    let dir = std::env::temp_dir().join(format!("veil-batch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let input = dir.join("Jane_Roe_MRN448812");
    std::fs::create_dir_all(input.join("follow-up")).unwrap();
    let sphere = veil_mesh::write::write_stl(&veil_mesh::synth::sphere(20.0, 16, 8));
    std::fs::write(input.join("Roe_head.stl"), &sphere).unwrap();
    std::fs::write(input.join("follow-up").join("Roe_2.STL"), &sphere).unwrap();
    std::fs::write(
        input.join("Roe_broken.ply"),
        b"ply\nformat ascii 1.0\nelement vertex x\n",
    )
    .unwrap();
    std::fs::write(input.join("Roe_notes.txt"), b"not a model").unwrap();
    let extra = dir.join("Doe_knee.stl");
    std::fs::write(&extra, &sphere).unwrap();
    let out_dir = dir.join("out");

    let out = Command::new(env!("CARGO_BIN_EXE_veil"))
        .arg("deid")
        .arg(&input)
        .arg(&extra)
        .arg("-o")
        .arg(&out_dir)
        .args(["--seed", "3", "--threads", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "one model failed: {stdout}");
    // Progress goes to stdout off a terminal: stderr is the one failure line.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("veil: batch-failed: 1 model(s) failed") && stderr.lines().count() == 1,
        "{stderr}"
    );

    let names = sorted_names(&out_dir);
    // Sorted inputs (bytewise): Roe_broken.ply, Roe_head.stl, follow-up/Roe_2.STL, then Doe_knee.stl.
    assert_eq!(
        names,
        [
            "mapping.local.csv",
            "model-000002.stl",
            "model-000003.stl",
            "model-000004.stl",
            "summary.csv"
        ]
    );
    for name in ["model-000002.stl", "model-000003.stl", "model-000004.stl"] {
        let bytes = std::fs::read(out_dir.join(name)).unwrap();
        assert!(veil_mesh::write::is_deidentified_output(&bytes), "{name}");
    }
    let summary = std::fs::read_to_string(out_dir.join("summary.csv")).unwrap();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 5, "{summary}");
    assert!(
        lines[0].starts_with("output,status,deface,triangles_in,triangles_out,hausdorff_p95_mm")
    );
    assert!(
        lines[1].starts_with("model-000001.stl,failed,") && lines[1].ends_with(",bad-header"),
        "{summary}"
    );
    assert!(
        lines[2].starts_with("model-000002.stl,ok,not-a-head,"),
        "{summary}"
    );
    for text in [&summary, &stdout.to_string()] {
        for planted in ["Roe", "Doe", "MRN448812"] {
            assert!(!text.contains(planted), "{planted} in {text}");
        }
    }
    let mapping = std::fs::read_to_string(out_dir.join("mapping.local.csv")).unwrap();
    assert!(
        mapping.contains("model-000004.stl,") && mapping.contains("Doe_knee.stl"),
        "{mapping}"
    );

    // The same folder again: the outputs inside the input tree are never taken as inputs.
    let again = Command::new(env!("CARGO_BIN_EXE_veil"))
        .arg("deid")
        .arg(&dir)
        .arg("-o")
        .arg(&out_dir)
        .args(["--seed", "3"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    let summary = std::fs::read_to_string(out_dir.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 5, "{summary}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The names of the files in `dir`, sorted.
fn sorted_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Run `veil` with `args`.
fn veil(args: &[&dyn AsRef<std::ffi::OsStr>]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap()
}

/// Run `veil` with `args`; it must succeed.
fn veil_ok(args: &[&dyn AsRef<std::ffi::OsStr>]) {
    let out = veil(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_mapping_can_be_kept_outside_the_output_folder_and_each_output_equals_a_single_run() {
    let dir = std::env::temp_dir().join(format!("veil-batch-mapping-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let input = dir.join("scans");
    std::fs::create_dir_all(&input).unwrap();
    let head = veil_mesh::write::write_stl(&veil_mesh::synth::sphere(20.0, 24, 12));
    let knee = veil_mesh::write::write_stl(&veil_mesh::synth::sphere(9.0, 16, 8));
    std::fs::write(input.join("Smith_head.stl"), &head).unwrap();
    std::fs::write(input.join("Smith_knee.stl"), &knee).unwrap();
    let out_dir = dir.join("share");
    let mapping = dir.join("private").join("which-is-who.csv");
    let batch: [&dyn AsRef<std::ffi::OsStr>; 8] = [
        &"deid",
        &input,
        &"-o",
        &out_dir,
        &"--mapping",
        &mapping,
        &"--seed",
        &"5",
    ];

    // A mapping that cannot be written stops the batch before any model is written.
    let out = veil(&batch);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("veil: io: "));
    assert!(!out_dir.join("model-000001.stl").exists());

    std::fs::create_dir_all(mapping.parent().unwrap()).unwrap();
    veil_ok(&batch);
    let names = sorted_names(&out_dir);
    // Nothing in the folder to share names an input.
    assert_eq!(
        names,
        ["model-000001.stl", "model-000002.stl", "summary.csv"]
    );
    let map = std::fs::read_to_string(&mapping).unwrap();
    let lines: Vec<&str> = map.lines().collect();
    assert_eq!(lines[0], "output,input");
    for (line, (output, input)) in lines[1..].iter().zip([
        ("model-000001.stl,", "Smith_head.stl"),
        ("model-000002.stl,", "Smith_knee.stl"),
    ]) {
        assert!(line.starts_with(output) && line.ends_with(input), "{map}");
    }

    // Each output is what `veil deid` makes of that file alone with the same seed.
    for (i, name) in ["Smith_head.stl", "Smith_knee.stl"].into_iter().enumerate() {
        let single = dir.join(format!("single-{i}.stl"));
        veil_ok(&[&"deid", &input.join(name), &"-o", &single, &"--seed", &"5"]);
        let batch = std::fs::read(out_dir.join(format!("model-00000{}.stl", i + 1))).unwrap();
        assert!(std::fs::read(&single).unwrap() == batch, "{name}");
    }

    // --mapping belongs to a batch.
    let one = veil(&[
        &"deid",
        &input.join("Smith_knee.stl"),
        &"-o",
        &dir.join("one.stl"),
        &"--mapping",
        &mapping,
    ]);
    assert_eq!(one.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}
