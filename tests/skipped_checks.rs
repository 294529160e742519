//! Says, in `cargo test`'s normal output, which checks this machine cannot
//! run: tests whose independent oracles are missing (`../shared`, ffprobe,
//! mkvinfo, ffmpeg) pass after printing "skipped: ...", which cargo hides.
//!
//! A test target without libtest's harness (`harness = false` in
//! Cargo.toml), so that what it prints is never captured. It finds the
//! tests that depend on each resource by reading the test sources: a
//! function depends on `../shared` when it calls a helper that prints
//! "skipped:" for a missing `../shared` path (`common::shared`,
//! `common::recordings`, `emulator_support::recording`,
//! `sigv4_support::corpus`, the model tests' `model`), on a tool when it
//! calls `tool("NAME")`, and on whatever the functions it calls depend on.
//! Exit status 0, or 1 under `CI=true` when anything is missing (CI must
//! run every check).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

const SHARED: &str = "../shared";

/// One function of a source file.
struct Function {
    name: String,
    body: String,
    is_test: bool,
}

struct Source {
    /// `tests/corpus.rs`, ...
    path: String,
    /// A support module (`tests/common/...`, `tests/*_support/...`): its
    /// functions are visible from every test file.
    support: bool,
    functions: Vec<Function>,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The name after `fn ` on a line that starts a function item.
fn fn_name(line: &str) -> Option<String> {
    let t = line.trim_start();
    let t = t.strip_prefix("pub(crate) ").unwrap_or(t);
    let t = t.strip_prefix("pub ").unwrap_or(t);
    let t = t.strip_prefix("async ").unwrap_or(t);
    let rest = t.strip_prefix("fn ")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn parse(root: &Path, path: &Path) -> Source {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let rel = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    let support = rel.starts_with("tests/common/")
        || rel.contains("_support/")
        || rel.starts_with("cli/tests/support/");
    let mut functions = Vec::new();
    let mut attrs = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(name) = fn_name(line) {
            functions.push(Function {
                name,
                body: String::new(),
                is_test: attrs.contains("#[test]") || attrs.contains("#[tokio::test"),
            });
            attrs.clear();
        } else if t.starts_with("#[") {
            attrs.push_str(t);
        } else if !t.is_empty() && !t.starts_with("//") {
            attrs.clear();
        }
        // Comments are left out: a doc comment above the next function
        // would otherwise count as the end of this one.
        if let (Some(f), false) = (functions.last_mut(), t.starts_with("//")) {
            f.body.push_str(line);
            f.body.push('\n');
        }
    }
    Source {
        path: rel,
        support,
        functions,
    }
}

/// The names called in `body` (`name(` or `path::name(`, not `.name(`).
fn calls(body: &str) -> BTreeSet<String> {
    let bytes = body.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphabetic() || bytes[i] == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let before = body[..start].trim_end();
            if bytes.get(i) == Some(&b'(') && !before.ends_with('.') && !before.ends_with("fn") {
                out.insert(body[start..i].to_string());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The tools named in `tool("NAME")` calls of `body`.
fn tools_called(body: &str) -> BTreeSet<String> {
    body.match_indices("tool(\"")
        .filter(|(at, _)| !body[..*at].ends_with('.') && !body[..*at].ends_with("fn "))
        .filter_map(|(at, m)| {
            let rest = &body[at + m.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

/// For each test (`file::name`), what it depends on.
fn dependencies(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&root.join("tests"), &mut files);
    rust_files(&root.join("cli/tests"), &mut files);
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let sources: Vec<Source> = files.iter().map(|p| parse(root, p)).collect();

    // What each function needs by itself.
    let direct = |f: &Function| -> BTreeSet<String> {
        let mut needs = tools_called(&f.body);
        if f.body.contains("\"skipped:") && f.body.contains(SHARED) {
            needs.insert(SHARED.to_string());
        }
        needs
    };
    // (source index, function index) -> needs, to a fixed point over the
    // calls (a file's own functions first, then the support modules').
    let mut needs: Vec<Vec<BTreeSet<String>>> = sources
        .iter()
        .map(|s| s.functions.iter().map(direct).collect())
        .collect();
    loop {
        let mut changed = false;
        for (si, s) in sources.iter().enumerate() {
            for (fi, f) in s.functions.iter().enumerate() {
                let mut add = BTreeSet::new();
                for name in calls(&f.body) {
                    if name == f.name {
                        continue;
                    }
                    let local = s.functions.iter().position(|g| g.name == name);
                    let found: Vec<(usize, usize)> = match local {
                        Some(gi) => vec![(si, gi)],
                        None if s.path.starts_with("tests/")
                            || s.path.starts_with("cli/tests/") =>
                        {
                            sources
                                .iter()
                                .enumerate()
                                .filter(|(_, t)| t.support)
                                .flat_map(|(ti, t)| {
                                    t.functions
                                        .iter()
                                        .enumerate()
                                        .filter(|(_, g)| g.name == name)
                                        .map(move |(gi, _)| (ti, gi))
                                })
                                .collect()
                        }
                        None => Vec::new(),
                    };
                    for (ti, gi) in found {
                        add.extend(needs[ti][gi].iter().cloned());
                    }
                }
                let before = needs[si][fi].len();
                needs[si][fi].extend(add);
                changed |= needs[si][fi].len() != before;
            }
        }
        if !changed {
            break;
        }
    }
    let mut out = BTreeMap::new();
    for (si, s) in sources.iter().enumerate() {
        for (fi, f) in s.functions.iter().enumerate() {
            if f.is_test && !needs[si][fi].is_empty() {
                let file = s.path.trim_end_matches(".rs").replace('/', "::");
                out.insert(format!("{file}::{}", f.name), needs[si][fi].clone());
            }
        }
    }
    out
}

fn tool_runs(name: &str) -> bool {
    ["-version", "--version"].iter().any(|arg| {
        Command::new(name)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        // As libtest lists (for test runners that ask): one "test".
        if !args.iter().any(|a| a == "--ignored") {
            println!("skipped_checks: test");
        }
        return ExitCode::SUCCESS;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let deps = dependencies(root);
    let mut by_need: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (test, needs) in &deps {
        for n in needs {
            by_need.entry(n.as_str()).or_default().push(test.as_str());
        }
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let shared_dir = root.join(SHARED);
    let mut missing_tests: BTreeSet<&str> = BTreeSet::new();
    let mut lines = Vec::new();
    for (need, tests) in &by_need {
        let (present, place) = if *need == SHARED {
            (shared_dir.is_dir(), format!(" ({})", shared_dir.display()))
        } else {
            (tool_runs(need), String::new())
        };
        if present {
            lines.push(format!(
                "  {need}{place}: found; {} tests use it",
                tests.len()
            ));
        } else {
            missing_tests.extend(tests.iter().copied());
            lines.push(format!(
                "  {need}{place}: MISSING; {} tests skip the checks that need it:",
                tests.len()
            ));
            for t in tests {
                lines.push(format!("      {t}"));
            }
        }
    }
    println!();
    if missing_tests.is_empty() {
        println!("skipped checks: none; every oracle is here:");
    } else {
        println!(
            "skipped checks: {} tests passed WITHOUT some of their checks (they print \
             \"skipped: ...\", which cargo hides):",
            missing_tests.len()
        );
    }
    for l in &lines {
        println!("{l}");
    }
    if !missing_tests.is_empty() {
        println!(
            "  ../shared sits beside the checkout; `apt-get install ffmpeg mkvtoolnix` gives \
             the tools. Under CI=true (.ci/run) this is a failure."
        );
    }
    println!();
    // A scan that finds nothing is broken, not reassuring.
    if by_need.get(SHARED).is_none_or(|t| t.len() < 10)
        || ["ffprobe", "mkvinfo"]
            .iter()
            .any(|t| by_need.get(t).is_none_or(|v| v.is_empty()))
    {
        eprintln!("skipped_checks: the scan of the test sources found too few dependent tests");
        return ExitCode::FAILURE;
    }
    if ci && !missing_tests.is_empty() {
        eprintln!("skipped_checks: CI=true and checks were skipped");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
