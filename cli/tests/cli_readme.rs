//! Every ```sh block of README.md runs as written, with bash, in a scratch
//! directory that has the checkout's testdata/, and `kvs-mkv` on the PATH.
//!
//! The substitutions, each the obvious one:
//! - `cargo run --release --` is the `kvs-mkv` just built.
//! - `kvs-mkv serve ... &` is started by the test itself (on a free port,
//!   stopped at the end); the README's `http://127.0.0.1:4567` becomes its
//!   URL.
//! - Commands that call AWS (get-media, list-fragments,
//!   get-media-for-fragment-list, get-images without `--endpoint-url`) get
//!   `--endpoint-url` of an emulator serving `cam` (testdata/sample.mkv
//!   and testdata/images), with the README's example key pair.
//! - Cargo commands are checked, not run: `cargo test` is what runs this;
//!   `cargo test --test T`, `cargo bench --bench B`, `cargo install --path cli`
//!   and `bash SCRIPT` must name a test target, a bench target, the crate
//!   with the binary, a script that bash parses.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::tool;
use support::{run, scratch_dir, text, Serve};

const README_URL: &str = "http://127.0.0.1:4567";

fn root() -> &'static Path {
    common::root()
}

/// The ```sh blocks, each as its lines (continuations joined).
fn sh_blocks(readme: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    let mut pending = String::new();
    for line in readme.lines() {
        match &mut current {
            None if line.trim() == "```sh" => current = Some(Vec::new()),
            None => {}
            Some(_) if line.trim() == "```" => blocks.push(current.take().unwrap()),
            Some(lines) => {
                if let Some(head) = line.strip_suffix('\\') {
                    pending.push_str(head);
                    continue;
                }
                pending.push_str(line);
                let joined = std::mem::take(&mut pending);
                let joined = joined.split_whitespace().collect::<Vec<_>>().join(" ");
                if !joined.is_empty() {
                    lines.push(joined);
                }
            }
        }
    }
    assert!(current.is_none(), "an unclosed ```sh block");
    blocks
}

/// The command without its trailing `# comment`.
fn strip_comment(line: &str) -> &str {
    if line.starts_with('#') {
        return "";
    }
    match line.find(" #") {
        Some(at) => line[..at].trim_end(),
        None => line,
    }
}

/// What a cargo or bash line names, checked instead of run.
fn check_tooling(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let arg_after = |flag: &str| {
        words
            .iter()
            .position(|w| *w == flag)
            .and_then(|i| words.get(i + 1))
            .copied()
    };
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    match words.as_slice() {
        ["cargo", "test", rest @ ..] => {
            if let Some(t) = arg_after("--test") {
                assert!(
                    root().join(format!("tests/{t}.rs")).exists(),
                    "{line}: no test {t}"
                );
            } else {
                assert!(rest.is_empty(), "{line}");
            }
            true
        }
        ["cargo", "bench", ..] => {
            let b = arg_after("--bench").expect("a bench target");
            assert!(root().join(format!("benches/{b}.rs")).exists(), "{line}");
            assert!(
                manifest.contains(&format!("name = \"{b}\"")),
                "{line}: not in Cargo.toml"
            );
            true
        }
        ["cargo", "run", "--release", "--example", example, "--features", features, ..] => {
            assert!(
                root().join(format!("examples/{example}.rs")).exists(),
                "{line}: no example {example}"
            );
            // Its required features are the ones the line enables.
            let entry = manifest
                .split("[[example]]")
                .find(|e| e.contains(&format!("name = \"{example}\"")))
                .unwrap_or_else(|| panic!("{line}: no [[example]] {example} in Cargo.toml"));
            for feature in features.split(',') {
                assert!(
                    entry.contains(&format!("\"{feature}\"")),
                    "{line}: {feature}"
                );
            }
            true
        }
        ["cargo", "install", "--path", path] => {
            let cli = std::fs::read_to_string(root().join(path).join("Cargo.toml")).unwrap();
            assert!(
                cli.contains("[[bin]]") && cli.contains("name = \"kvs-mkv\""),
                "{line}: no kvs-mkv binary in {path}/Cargo.toml"
            );
            true
        }
        ["bash", script, ..] => {
            let out = Command::new("bash")
                .arg("-n")
                .arg(root().join(script))
                .output()
                .unwrap();
            assert!(out.status.success(), "{line}: {}", text(&out.stderr));
            true
        }
        ["cargo", ..] => panic!("no rule for {line:?}: add one to tests/cli_readme.rs"),
        _ => false,
    }
}

const AWS_COMMANDS: [&str; 4] = [
    "get-media",
    "list-fragments",
    "get-media-for-fragment-list",
    "get-images",
];

/// The README's exports: `export A=1 B=2`.
fn exports(line: &str) -> Vec<(String, String)> {
    line.strip_prefix("export ")
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

struct Scratch {
    dir: PathBuf,
    path: String,
}

fn scratch() -> Scratch {
    let dir = scratch_dir("readme");
    std::os::unix::fs::symlink(root().join("testdata"), dir.join("testdata")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_kvs-mkv"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Scratch { dir, path }
}

#[test]
fn every_readme_command_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let blocks = sh_blocks(&readme);
    // The first two commands stay what a newcomer types first.
    assert_eq!(
        strip_comment(&blocks[0][0]),
        "cargo run --release -- inspect testdata/sample.mkv"
    );
    assert_eq!(strip_comment(&blocks[0][1]), "cargo test");
    let has_ffprobe = tool("ffprobe");
    let s = scratch();
    // The emulator the AWS commands are pointed at.
    let aws = Serve::start_with(
        Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
            .env("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
            .env("AWS_SECRET_ACCESS_KEY", "local-secret")
            .env("AWS_REGION", "us-west-2")
            .current_dir(&s.dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--idle-timeout", "0"]),
        &[
            "--stream",
            "cam=testdata/sample.mkv",
            "--images",
            "cam=testdata/images",
        ],
    );
    let mut ran = 0;
    for (n, block) in blocks.iter().enumerate() {
        let mut script = vec!["set -euo pipefail".to_string()];
        let mut env = vec![
            ("AWS_ACCESS_KEY_ID".to_string(), "AKIDLOCAL".to_string()),
            (
                "AWS_SECRET_ACCESS_KEY".to_string(),
                "local-secret".to_string(),
            ),
            ("AWS_REGION".to_string(), "us-west-2".to_string()),
        ];
        let mut served: Vec<Serve> = Vec::new();
        let mut url = README_URL.to_string();
        for line in block {
            let line = strip_comment(line).replace("cargo run --release -- ", "kvs-mkv ");
            let line = line.as_str();
            if line.is_empty() || check_tooling(line) {
                continue;
            }
            if line.contains("ffprobe") && !has_ffprobe {
                continue;
            }
            env.extend(exports(line));
            let mut line = line.to_string();
            if let Some(args) = line.strip_prefix("kvs-mkv serve ") {
                let args = args.strip_suffix('&').unwrap_or(args).trim();
                let mut words: Vec<&str> = args.split_whitespace().collect();
                if let Some(i) = words.iter().position(|w| *w == "--listen") {
                    words[i + 1] = "127.0.0.1:0";
                }
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_kvs-mkv"));
                cmd.current_dir(&s.dir)
                    .arg("serve")
                    .envs(env.iter().cloned());
                let serve = Serve::start_with(&mut cmd, &words);
                url = serve.url.clone();
                served.push(serve);
                continue;
            }
            line = line.replace(README_URL, &url);
            for c in AWS_COMMANDS {
                let call = format!("kvs-mkv {c} ");
                if line.contains(&call) && !line.contains("--endpoint-url") {
                    line = line.replace(&call, &format!("{call}--endpoint-url {} ", aws.url));
                }
            }
            script.push(line);
        }
        if script.len() == 1 {
            continue;
        }
        let out = run(Command::new("bash")
            .arg("-c")
            .arg(script.join("\n"))
            .current_dir(&s.dir)
            .env("PATH", &s.path)
            .envs(env.iter().cloned()));
        assert!(
            out.status.success(),
            "README block {n} failed ({:?}):\n{}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            script.join("\n"),
            text(&out.stdout),
            text(&out.stderr)
        );
        ran += script.len() - 1;
        for serve in served {
            let (status, stderr) = serve.stop();
            assert_eq!(status, Some(0), "serve: {stderr}");
        }
    }
    assert!(ran >= 14, "only {ran} commands ran");
    // What the commands wrote, where the README says.
    assert!(s.dir.join("merged.mkv").exists());
    assert!(s.dir.join("fragment.mkv").exists());
    assert!(s.dir.join("frames/1700000000000.png").exists());
    assert!(s.dir.join("frames/1700000000000.jpg").exists());
}
