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

    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
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
