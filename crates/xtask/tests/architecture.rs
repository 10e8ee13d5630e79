//! The architecture, checked: what `docs/architecture.md` promises a newcomer holds in the code.
//!
//! - No module of any crate (or of the app) imports a module that imports it back, directly or
//!   through others: the modules of a crate form a DAG, so each can be read after the ones it uses.
//! - The app's `platform/` (browser glue) never imports `pages/` (the UI built on it).
//! - Every stable error code a crate can raise (each string its `Coded::code` returns, and the npm
//!   facade's and the app's own codes) is listed in `docs/architecture.md`, and every code listed
//!   there is one a crate can raise.
//! - The shared primitives exist once: the CBOR head encoder, the `Sig_structure`, the PEM chain
//!   splitter, the envelope header, the purpose-label parser.
//!
//! The checks read the sources as text (comments and string literals stripped); they are a lint,
//! not a compiler, and say which file and line to look at when they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/xtask is two levels below the root")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments, and with string and char literals emptied (so a path or a code
/// named in a message or a doc is not read as code).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &src[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            i += end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(rest.len(), |e| e + 2);
            out.extend(rest[..end].chars().filter(|&c| c == '\n'));
            i += end;
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].chars().take_while(|&c| c == '#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let body = 2 + hashes;
            let end = rest[body..]
                .find(&close)
                .map_or(rest.len(), |e| body + e + close.len());
            out.push_str("\"\"");
            out.extend(rest[..end].chars().filter(|&c| c == '\n'));
            i += end;
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() {
                match rest.as_bytes()[j] {
                    b'\\' => j += 2,
                    b'"' => break,
                    _ => j += 1,
                }
            }
            out.push_str("\"\"");
            out.extend(
                rest[..(j + 1).min(rest.len())]
                    .chars()
                    .filter(|&c| c == '\n'),
            );
            i += (j + 1).min(rest.len());
        } else if rest.starts_with("'\\")
            || (rest.len() > 2 && rest.as_bytes()[2] == b'\'' && rest.starts_with('\''))
        {
            // A char literal ('x' or '\n'); lifetimes ('a) have no closing quote nearby.
            let end = rest[1..].find('\'').map_or(1, |e| e + 2);
            out.push_str("' '");
            i += end;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// [`code_only`] without `#[cfg(test)]` items: what a test module uses is not an import of the
/// module it tests.
fn non_test_code(src: &str) -> String {
    let code = code_only(src);
    let mut out = String::with_capacity(code.len());
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        // The item runs to its `;` or to the brace closing its first `{`, whichever comes first.
        let semi = after.find(';').unwrap_or(after.len());
        let open = after.find('{').unwrap_or(after.len());
        let end = if semi < open {
            semi + 1
        } else {
            let mut depth = 0usize;
            let mut end = after.len();
            for (i, c) in after.char_indices().skip(open) {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            end
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// A crate's (or the app's) source tree as modules: path (`a::b`) -> file.
struct Tree {
    name: String,
    modules: BTreeMap<String, PathBuf>,
}

fn tree(name: &str, src: &Path) -> Tree {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut modules = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap_or(&f).with_extension("");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.first().is_some_and(|p| p == "bin") {
            continue; // separate crates, each its own root
        }
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
            parts.clear();
        }
        modules.insert(parts.join("::"), f);
    }
    Tree {
        name: name.to_owned(),
        modules,
    }
}

/// Paths a module refers to: `crate::…`, `super::…`, `self::…`, and `child::…` for its own
/// submodules, each as a list of segments from the crate root.
fn references(tree: &Tree, module: &str, code: &str) -> Vec<Vec<String>> {
    let here: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(str::to_owned).collect()
    };
    let mut out = Vec::new();
    let tokens: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{'))
        .filter(|t| !t.is_empty())
        .collect();
    for tok in tokens {
        // `use a::{b, c}` is read as `a::` (enough to name the module `a`).
        let tok = tok.split('{').next().unwrap_or("");
        let segs: Vec<&str> = tok.split("::").filter(|s| !s.is_empty()).collect();
        if segs.len() < 2 && !tok.ends_with("::") {
            continue;
        }
        let mut abs: Vec<String> = match segs.first() {
            Some(&"crate") => Vec::new(),
            Some(&"super") => {
                let mut p = here.clone();
                let mut n = 0;
                for s in &segs {
                    if *s == "super" {
                        p.pop();
                        n += 1;
                    } else {
                        break;
                    }
                }
                let rest = segs[n..].iter().map(|s| (*s).to_owned());
                out.push(p.into_iter().chain(rest).collect());
                continue;
            }
            Some(&"self") => here.clone(),
            Some(first) => {
                let mut child = here.clone();
                child.push((*first).to_owned());
                if tree.modules.contains_key(&child.join("::")) {
                    out.push(
                        here.iter()
                            .cloned()
                            .chain(segs.iter().map(|s| (*s).to_owned()))
                            .collect(),
                    );
                }
                continue;
            }
            None => continue,
        };
        abs.extend(segs[1..].iter().map(|s| (*s).to_owned()));
        out.push(abs);
    }
    out
}

/// `pub use` / `pub(crate) use` re-exports of a module: name -> the module it comes from.
fn reexports(tree: &Tree, module: &str, code: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stmt in code.split(';') {
        let s = stmt.trim();
        let Some(body) = s
            .strip_prefix("pub use ")
            .or_else(|| s.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let (prefix, names) = match body.split_once("::{") {
            Some((p, n)) => (p.to_owned(), n.trim_end_matches('}').to_owned()),
            None => match body.rsplit_once("::") {
                Some((p, n)) => (p.to_owned(), n.to_owned()),
                None => continue,
            },
        };
        let mut from: Vec<String> = if module.is_empty() {
            Vec::new()
        } else {
            module.split("::").map(str::to_owned).collect()
        };
        let segs: Vec<&str> = prefix.split("::").collect();
        let segs = match segs.first() {
            Some(&"crate") => {
                from.clear();
                &segs[1..]
            }
            Some(&"self") => &segs[1..],
            _ => &segs[..],
        };
        from.extend(segs.iter().map(|s| (*s).to_owned()));
        let from = from.join("::");
        if !tree.modules.contains_key(&from) {
            continue;
        }
        for n in names.split(',') {
            let n = n.split("::").next().unwrap_or("");
            let n = n.split(" as ").next().unwrap_or(n);
            if !n.is_empty() && n != "*" && n != "self" {
                out.insert(n.to_owned(), from.clone());
            }
        }
    }
    out
}

/// The module a path names: the longest prefix that is a module, then through a re-export if
/// the next segment is an item that module only re-exports.
fn resolve(
    tree: &Tree,
    exports: &BTreeMap<String, BTreeMap<String, String>>,
    path: &[String],
) -> String {
    let mut module = String::new();
    for seg in path {
        let cand = if module.is_empty() {
            seg.clone()
        } else {
            format!("{module}::{seg}")
        };
        if tree.modules.contains_key(&cand) {
            module = cand;
            continue;
        }
        if let Some(target) = exports.get(&module).and_then(|m| m.get(seg)) {
            return target.clone();
        }
        break;
    }
    module
}

/// Strongly connected components of more than one module.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: order by finish time, then walk the reversed graph.
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<String>,
    ) {
        if !seen.insert(n.to_owned()) {
            return;
        }
        for m in g.get(n).into_iter().flatten() {
            visit(m, g, seen, order);
        }
        order.push(n.to_owned());
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for n in edges.keys() {
        visit(n, edges, &mut seen, &mut order);
    }
    let mut rev: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, bs) in edges {
        for b in bs {
            rev.entry(b.clone()).or_default().insert(a.clone());
        }
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for n in order.iter().rev() {
        let mut comp = Vec::new();
        visit(n, &rev, &mut assigned, &mut comp);
        if comp.len() > 1 {
            comp.sort();
            out.push(comp);
        }
    }
    out
}

fn trees() -> Vec<Tree> {
    let root = root();
    let mut out = Vec::new();
    let mut crates: Vec<_> = fs::read_dir(root.join("crates"))
        .expect("crates/")
        .flatten()
        .map(|e| e.path())
        .collect();
    crates.sort();
    for c in crates {
        if c.join("src").is_dir() {
            let name = c.file_name().map(|n| n.to_string_lossy().into_owned());
            out.push(tree(&name.unwrap_or_default(), &c.join("src")));
        }
    }
    out.push(tree("app", &root.join("app/src")));
    out
}

/// Module -> modules it imports, within one tree (the crate root left out: it only declares and
/// re-exports).
fn import_graph(t: &Tree) -> BTreeMap<String, BTreeSet<String>> {
    let sources: BTreeMap<&String, String> = t
        .modules
        .iter()
        .map(|(m, f)| (m, non_test_code(&fs::read_to_string(f).unwrap_or_default())))
        .collect();
    let exports: BTreeMap<String, BTreeMap<String, String>> = sources
        .iter()
        .map(|(m, code)| ((*m).clone(), reexports(t, m, code)))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, code) in &sources {
        if m.is_empty() {
            continue;
        }
        let entry = edges.entry((*m).clone()).or_default();
        for path in references(t, m, code) {
            let target = resolve(t, &exports, &path);
            if target.is_empty() || target == **m {
                continue;
            }
            entry.insert(target);
        }
    }
    edges
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let mut found = Vec::new();
    for t in trees() {
        for comp in cycles(&import_graph(&t)) {
            found.push(format!("{}: {}", t.name, comp.join(" <-> ")));
        }
    }
    assert!(
        found.is_empty(),
        "import cycles (move what both sides need into a leaf module):\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let mut g = BTreeMap::new();
    g.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    g.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    g.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    g.insert("d".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(cycles(&g), vec![vec!["a", "b", "c"]]);
    // And resolves `super::`, re-exports and child modules the way the crates use them.
    let t = Tree {
        name: "t".into(),
        modules: ["", "m", "m::leaf", "m::child", "other"]
            .iter()
            .map(|m| ((*m).to_owned(), PathBuf::new()))
            .collect(),
    };
    let mut exports = BTreeMap::new();
    exports.insert(
        "m".to_owned(),
        reexports(
            &t,
            "m",
            "pub use leaf::{Shared, Other as O}; pub use crate::other::Thing;",
        ),
    );
    let refs = references(
        &t,
        "m::child",
        "use super::Shared; fn f() { crate::other::g() }",
    );
    let targets: BTreeSet<String> = refs.iter().map(|p| resolve(&t, &exports, p)).collect();
    assert_eq!(
        targets,
        BTreeSet::from(["m::leaf".to_owned(), "other".to_owned()])
    );
    let code = non_test_code("use a::X;\n#[cfg(test)]\nmod tests { use crate::b::Y; }\nuse c::Z;");
    assert!(code.contains("a::X") && code.contains("c::Z") && !code.contains("b::Y"));
}

#[test]
fn platform_never_imports_pages() {
    let t = tree("app", &root().join("app/src"));
    let graph = import_graph(&t);
    let bad: Vec<String> = graph
        .iter()
        .filter(|(m, _)| m.starts_with("platform"))
        .flat_map(|(m, ts)| {
            ts.iter()
                .filter(|t| t.starts_with("pages"))
                .map(move |t| format!("{m} -> {t}"))
        })
        .collect();
    assert!(bad.is_empty(), "platform/ imports pages/: {bad:?}");
}

/// Every code a crate can raise: the string literals of each `Coded::code` body, and the own
/// constants of the npm facade (`crates/wasm/src/error.rs`), of the app (`app/src/error.rs`) and
/// of the CLI (`crates/cli/src/failure.rs`).
fn raised_codes() -> BTreeMap<String, BTreeSet<String>> {
    let own_code_files = [
        "crates/wasm/src/error.rs",
        "app/src/error.rs",
        "crates/cli/src/failure.rs",
    ];
    let root = root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("app/src"), &mut files);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
        if rel.contains("/tests/") || rel.contains("/fuzz/") || rel.contains("/benches/") {
            continue;
        }
        let src = fs::read_to_string(&f).unwrap_or_default();
        let mut rest = src.as_str();
        while let Some(at) = rest.find("Coded for ") {
            let block = &rest[at..];
            let Some(start) = block.find("fn code(&self) -> &'static str {") else {
                break;
            };
            let body = &block[start..];
            let mut depth = 0usize;
            let mut end = body.len();
            for (i, c) in body.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            for lit in body[..end].split('"').skip(1).step_by(2) {
                out.entry(lit.to_owned()).or_default().insert(rel.clone());
            }
            rest = &body[end..];
        }
        if own_code_files.contains(&rel.as_str()) {
            for line in src.lines() {
                if let Some(v) = line
                    .trim()
                    .strip_prefix("pub const ")
                    .and_then(|l| l.split_once(": &str = \""))
                {
                    let code = v.1.trim_end_matches("\";");
                    out.entry(code.to_owned()).or_default().insert(rel.clone());
                }
            }
        }
    }
    out
}

/// The codes `docs/architecture.md` lists: the first column of its error-code tables.
fn listed_codes() -> BTreeSet<String> {
    let doc =
        fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md");
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(c, _)| c.to_owned()))
        .collect()
}

#[test]
fn every_error_code_is_listed_in_the_architecture_doc() {
    let raised = raised_codes();
    assert!(
        raised.len() > 50,
        "the scan found only {} codes",
        raised.len()
    );
    for code in raised.keys() {
        assert!(
            veil_core::is_code(code),
            "{code:?} is not a kebab-case code"
        );
    }
    let listed = listed_codes();
    let missing: Vec<String> = raised
        .iter()
        .filter(|(c, _)| !listed.contains(*c))
        .map(|(c, files)| {
            format!(
                "{c} (raised in {})",
                files.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "codes not listed in docs/architecture.md:\n  {}",
        missing.join("\n  ")
    );
    let stale: Vec<&String> = listed.iter().filter(|c| !raised.contains_key(*c)).collect();
    assert!(
        stale.is_empty(),
        "docs/architecture.md lists codes nothing raises: {stale:?}"
    );
}

#[test]
fn shared_primitives_are_defined_once() {
    let root = root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("app/src"), &mut files);
    let defs = [
        ("fn put_head(", "crates/core/src/cbor.rs"),
        ("fn sig_structure(", "crates/core/src/cose.rs"),
        ("fn certs_from_pem(", "crates/core/src/pem.rs"),
        ("fn secret_key_from_pem(", "crates/core/src/pem.rs"),
        ("fn envelope_prefix_len(", "crates/seal/src/wire.rs"),
        ("fn parse_label(", "crates/consent/src/purpose.rs"),
    ];
    for (needle, home) in defs {
        let found: Vec<String> = files
            .iter()
            .filter(|f| code_only(&fs::read_to_string(f).unwrap_or_default()).contains(needle))
            .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
            .collect();
        assert_eq!(
            found,
            vec![home.to_owned()],
            "{needle} should be defined only in {home}"
        );
    }
}

/// `VEIL_EDGES=<crate> cargo test -p xtask --test architecture -- --ignored --nocapture explain`
/// prints which paths make each import edge of a crate (to see how to break a cycle).
#[test]
#[ignore = "a diagnostic, run by hand"]
fn explain_edges() {
    let want = std::env::var("VEIL_EDGES").unwrap_or_default();
    for t in trees().into_iter().filter(|t| t.name == want) {
        let sources: BTreeMap<String, String> = t
            .modules
            .iter()
            .map(|(m, f)| {
                (
                    m.clone(),
                    non_test_code(&fs::read_to_string(f).unwrap_or_default()),
                )
            })
            .collect();
        let exports: BTreeMap<String, BTreeMap<String, String>> = sources
            .iter()
            .map(|(m, code)| (m.clone(), reexports(&t, m, code)))
            .collect();
        for (m, code) in &sources {
            let mut seen = BTreeSet::new();
            for path in references(&t, m, code) {
                let target = resolve(&t, &exports, &path);
                if !target.is_empty() && target != *m && seen.insert(path.join("::")) {
                    println!("{m} -> {target}   ({})", path.join("::"));
                }
            }
        }
    }
}
