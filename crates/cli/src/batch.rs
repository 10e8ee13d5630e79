//! `veil deid IN... -o OUTDIR`: de-identify many models, for research teams.
//!
//! Inputs are files and directories (searched recursively for `.stl`, `.obj`, `.ply`, in path
//! order). One model runs per core (`--threads N`, each model on one thread), so a batch uses the
//! machine fully. Outputs never carry the inputs' names, which often name the patient: the N-th
//! input becomes `OUTDIR/model-00000N.stl` (or `.ply`); `OUTDIR/summary.csv` has one row per
//! model (outcome, triangles in and out, Hausdorff p95, seconds, error code) and no input name, so
//! it can travel with the outputs; `OUTDIR/mapping.local.csv` (or the file `--mapping` names, so
//! that the output directory can be shared whole) says which input became which output: it names
//! the inputs, is identifying, and stays with the data holder. A bad file is reported and the batch goes on; if any model
//! failed the batch ends in a `batch-failed` failure (exit 1) once everything else is written. On
//! a terminal a progress line (files, triangles/s, ETA) is redrawn on
//! stderr; otherwise one plain line per finished model goes to stdout.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use veil_core::Coded;
use veil_mesh::{FormatHint, MeshError, Options, OutputFormat};

use crate::deid::DeidArgs;
use crate::failure::{self, Failure};

/// The mapping's file in the output directory when `--mapping` does not name another place.
const MAPPING_FILE: &str = "mapping.local.csv";
/// The mapping's header line.
const MAPPING_HEADER: &str = "output,input\n";

/// Run a batch: a [`failure::BATCH_FAILED`] failure if any model failed.
pub fn run(args: &DeidArgs) -> Result<(), Failure> {
    match batch(args)? {
        0 => Ok(()),
        failed => Err(Failure::new(
            failure::BATCH_FAILED,
            format!("{failed} model(s) failed; summary.csv has each one's code"),
        )),
    }
}

/// How one model ended: its summary, or the code it failed with.
struct Row {
    output: String,
    seconds: f64,
    result: Result<Done, &'static str>,
}

/// A de-identified model's summary.
struct Done {
    deface: String,
    triangles_in: u64,
    triangles_out: u64,
    p95: Option<f64>,
}

/// The batch; `Ok` with the number of models that failed.
fn batch(args: &DeidArgs) -> Result<usize, Failure> {
    let mut options = crate::deid::options(args)?;
    options.hausdorff = true;
    options.output = match args.format.as_str() {
        "stl" => OutputFormat::Stl,
        "ply" => OutputFormat::Ply,
        other => {
            let msg = format!("--format must be stl or ply (got {other:?})");
            return Err(MeshError::BadOption(msg).into());
        }
    };
    if args.report.is_some() || args.shareable_report.is_some() {
        return Err(Failure::usage(
            "a batch writes summary.csv; --report and --shareable-report are for one model",
        ));
    }
    let threads = crate::deid::threads(args)?;
    let inputs = collect(&args.inputs, &args.output)?;
    if inputs.is_empty() {
        return Err(Failure::usage(
            "no .stl, .obj or .ply file among the inputs",
        ));
    }
    let out_dir = &args.output;
    std::fs::create_dir_all(out_dir).map_err(|e| Failure::io(out_dir, &e))?;
    // Made writable before any model runs: outputs whose mapping cannot be kept are no use.
    let mapping_path = args
        .mapping
        .clone()
        .unwrap_or_else(|| out_dir.join(MAPPING_FILE));
    write_csv(&mapping_path, MAPPING_HEADER)?;
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .min(inputs.len());
    // One model per core: each model's pipeline runs on its own thread.
    veil_mesh::set_max_threads(1);

    let extension = options.output.extension();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let rows: Mutex<Vec<Option<Row>>> = Mutex::new((0..inputs.len()).map(|_| None).collect());
    let progress = Mutex::new(Progress::new(inputs.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else { break };
                    let output = format!("model-{:06}.{extension}", i + 1);
                    let row = one(input, &out_dir.join(&output), output, &options);
                    if let Ok(mut p) = progress.lock() {
                        p.finished(&row, started);
                    }
                    if let Ok(mut rows) = rows.lock() {
                        rows[i] = Some(row);
                    }
                }
            });
        }
    });
    // A worker that panicked has already made the scope panic: the lock is not poisoned here.
    let rows: Vec<Row> = rows
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect();
    if let Ok(mut p) = progress.lock() {
        p.end();
    }
    write_csv(&out_dir.join("summary.csv"), &summary(&rows))?;
    let mapping: String =
        std::iter::once(MAPPING_HEADER.to_string())
            .chain(rows.iter().zip(&inputs).map(|(r, input)| {
                format!("{},{}\n", r.output, csv_field(&input.to_string_lossy()))
            }))
            .collect();
    write_csv(&mapping_path, &mapping)?;
    let failed = rows.iter().filter(|r| r.result.is_err()).count();
    let message = format!(
        "{} model(s): {} de-identified, {failed} failed, in {:.1} s -> {} (summary.csv; the mapping {} names the inputs: keep it local)",
        rows.len(),
        rows.len() - failed,
        started.elapsed().as_secs_f64(),
        out_dir.display(),
        mapping_path.display()
    );
    crate::print_line(message)?;
    Ok(failed)
}

/// One model: read, de-identify, write; never panics on a bad file.
fn one(input: &Path, out_path: &Path, output: String, options: &Options) -> Row {
    let started = Instant::now();
    let result = (|| {
        let bytes = std::fs::read(input).map_err(|_| failure::IO)?;
        let hint = FormatHint::from_path(&input.to_string_lossy());
        let done = veil_mesh::deidentify_owned_with(bytes, hint, options, &mut |_| {}, &|| false)
            .map_err(|e| e.code())?;
        crate::deid::write_in_place(out_path, &done.bytes).map_err(|_| failure::IO)?;
        let r = done.report;
        Ok(Done {
            deface: r.deface.outcome.clone(),
            triangles_in: r.triangles_in,
            triangles_out: r.triangles_out,
            p95: r.utility.hausdorff.map(|h| h.p95),
        })
    })();
    Row {
        output,
        seconds: started.elapsed().as_secs_f64(),
        result,
    }
}

/// Files to process: the files given, and the models under the directories given (recursively,
/// sorted), never anything inside the output directory.
fn collect(inputs: &[PathBuf], out_dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    fn walk(dir: &Path, out_dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Failure> {
        let entries = std::fs::read_dir(dir).map_err(|e| Failure::io(dir, &e))?;
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.starts_with(out_dir) {
                continue;
            }
            if path.is_dir() {
                walk(&path, out_dir, found)?;
            } else if is_model(&path) {
                found.push(path);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    for input in inputs {
        if input.is_dir() {
            walk(input, out_dir, &mut found)?;
        } else {
            found.push(input.clone());
        }
    }
    Ok(found)
}

fn is_model(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["stl", "obj", "ply"].contains(&e.to_ascii_lowercase().as_str()))
}

fn summary(rows: &[Row]) -> String {
    let mut csv = String::from(
        "output,status,deface,triangles_in,triangles_out,hausdorff_p95_mm,seconds,error\n",
    );
    for r in rows {
        let line = match &r.result {
            Ok(d) => format!(
                "{},ok,{},{},{},{},{:.3},\n",
                r.output,
                d.deface,
                d.triangles_in,
                d.triangles_out,
                d.p95
                    .filter(|p| p.is_finite())
                    .map_or(String::new(), |p| format!("{p:.4}")),
                r.seconds
            ),
            Err(code) => format!("{},failed,,,,,{:.3},{code}\n", r.output, r.seconds),
        };
        csv.push_str(&line);
    }
    csv
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn write_csv(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| Failure::io(path, &e))
}

/// Progress of a batch: a redrawn line on a terminal, plain lines otherwise.
struct Progress {
    total: usize,
    done: usize,
    triangles: u64,
    terminal: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress {
            total,
            done: 0,
            triangles: 0,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn finished(&mut self, row: &Row, started: Instant) {
        self.done += 1;
        if let Ok(d) = &row.result {
            self.triangles += d.triangles_in;
        }
        let elapsed = started.elapsed().as_secs_f64().max(1e-9);
        if self.terminal {
            let eta = elapsed / self.done as f64 * (self.total - self.done) as f64;
            let width = 30;
            let filled = width * self.done / self.total;
            eprint!(
                "\r[{}{}] {}/{} files, {:.0} triangles/s, ETA {:.0} s ",
                "#".repeat(filled),
                " ".repeat(width - filled),
                self.done,
                self.total,
                self.triangles as f64 / elapsed,
                eta
            );
            let _ = std::io::stderr().flush();
        } else {
            let status = match &row.result {
                Ok(_) => "ok".to_string(),
                Err(code) => format!("failed: {code}"),
            };
            // A stdout that is gone fails the final summary line; the batch itself goes on.
            let _ = crate::print_line(format!(
                "{}/{} {} {status} {:.2} s",
                self.done, self.total, row.output, row.seconds
            ));
        }
    }

    fn end(&mut self) {
        if self.terminal {
            eprintln!();
        }
    }
}
