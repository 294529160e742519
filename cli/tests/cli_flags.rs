//! Every flag of every `kvs-mkv` command, run on the real binary, each
//! checked for its effect; and a guard that fails when a flag that
//! `--help` lists has no test mentioning it.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/emulator_support/mod.rs"]
mod emulator_support;
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::tool;
use kvs_mkv::sigv4::Credentials;
use serde_json::{json, Value};
use support::{
    aws_bin, bin, ffprobe_packet_count, run, scratch_dir, testdata_path, text, wait_output, Serve,
    KEY_ID, REGION, SECRET,
};

const FRAGMENTS: [&str; 3] = [
    "91343852333181432392682062607743920146159169392",
    "91343852333181432392682062607743920146159169393",
    "91343852333181432392682062607743920146159169394",
];

fn sample_arg() -> String {
    format!("cam={}", testdata_path("sample.mkv"))
}

fn ok(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}\nstdout: {}",
        text(&out.stderr),
        text(&out.stdout)
    );
    text(&out.stdout)
}

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    ok(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn fragments_of(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["fragment_number"].as_str().unwrap().to_string())
        .collect()
}

// ------------------------------------------------------------------ guard

/// The commands `kvs-mkv --help` lists, and for each the flags its own
/// `--help` lists (long and short forms), `--help` itself left out.
fn flags_from_help() -> Vec<(String, Vec<String>)> {
    let top = ok(&run(bin().arg("--help")));
    let mut commands = Vec::new();
    let mut in_commands = false;
    for line in top.lines() {
        if line.starts_with("Commands:") {
            in_commands = true;
            continue;
        }
        if in_commands {
            let Some(name) = line
                .strip_prefix("  ")
                .and_then(|l| l.split_whitespace().next())
            else {
                break;
            };
            if name != "help" {
                commands.push(name.to_string());
            }
        }
    }
    let flags = |help: &str| -> Vec<String> {
        let mut flags = Vec::new();
        for line in help.lines() {
            let line = line.trim_start();
            if !line.starts_with('-') {
                continue;
            }
            for word in line
                .split([' ', ','])
                .take_while(|w| w.starts_with('-') || w.is_empty())
            {
                // `--verbose...`: a flag that may be repeated.
                let word = word.trim_end_matches("...");
                if !word.is_empty() && word != "-h" && word != "--help" {
                    flags.push(word.to_string());
                }
            }
        }
        flags
    };
    let global = flags(&top);
    let mut all = vec![(String::new(), global.clone())];
    for c in commands {
        let help = ok(&run(bin().args([c.as_str(), "--help"])));
        // Global flags (-v) are listed by every command: tested once.
        let own = flags(&help)
            .into_iter()
            .filter(|f| !global.contains(f))
            .collect();
        all.push((c, own));
    }
    all
}

/// The functions of the test sources (cli/tests/*.rs, where the tests that
/// run the binary live, and tests/*.rs): each from one `fn` to the next.
fn test_functions() -> Vec<String> {
    let root = common::root();
    let entries = [root.join("cli/tests"), root.join("tests")]
        .into_iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap());
    let mut functions = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let mut current = String::new();
        for line in source.lines() {
            let t = line.trim_start();
            if t.starts_with("fn ") || t.starts_with("async fn ") || t.starts_with("pub fn ") {
                functions.push(std::mem::take(&mut current));
            }
            current.push_str(line);
            current.push('\n');
        }
        functions.push(current);
    }
    functions
}

/// Every flag `--help` lists is mentioned, as a string literal, in a test
/// function that also names its command (`"get-media"`, ...; `Serve::start`
/// runs `serve`; the top-level flags need `bin()`) and runs the binary.
#[test]
fn every_flag_has_a_test() {
    let functions = test_functions();
    let runs_binary = |f: &str| {
        [
            "bin()",
            "aws_bin()",
            ".cmd(",
            "Serve::start",
            "CARGO_BIN_EXE",
            // tests/emulator_timeouts.rs: `serve(&[...])` runs `kvs-mkv serve`.
            "serve(&[",
        ]
        .iter()
        .any(|s| f.contains(s))
    };
    let mut missing = Vec::new();
    let mut count = 0;
    for (command, flags) in flags_from_help() {
        for flag in flags {
            count += 1;
            let names_command = |f: &str| {
                command.is_empty()
                    || f.contains(&format!("\"{command}\""))
                    || (command == "serve"
                        && (f.contains("Serve::start") || f.contains("serve(&[")))
            };
            let found = functions
                .iter()
                .any(|f| runs_binary(f) && names_command(f) && f.contains(&format!("\"{flag}\"")));
            if !found {
                missing.push(format!("{command} {flag}"));
            }
        }
    }
    assert!(count > 50, "only {count} flags found: is --help parsed?");
    assert!(missing.is_empty(), "flags without a test: {missing:?}");
}

// ------------------------------------------------------------- top level

#[test]
fn version_flags() {
    for flag in ["-V", "--version"] {
        let out = ok(&run(bin().arg(flag)));
        assert_eq!(out.trim(), concat!("kvs-mkv ", env!("CARGO_PKG_VERSION")));
    }
}

// ------------------------------------------------------------- inspect, merge

#[test]
fn inspect_file_stdin_and_json() {
    let sample = testdata_path("sample.mkv");
    let from_file = ok(&run(bin().args(["inspect", &sample])));
    let from_stdin = |args: &[&str]| {
        let child = bin()
            .args(args)
            .stdin(std::fs::File::open(&sample).unwrap())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        ok(&wait_output(child))
    };
    let no_arg = from_stdin(&["inspect"]);
    let from_stdin = from_stdin(&["inspect", "-"]);
    assert_eq!(from_file, from_stdin);
    assert_eq!(from_file, no_arg);
    assert_eq!(from_file.lines().count(), 4);
    let json = json_lines(&run(bin().args(["inspect", "--json", &sample])));
    assert_eq!(fragments_of(&json), FRAGMENTS);
}

/// Two one-second chunks, the second starting at 10 s: a forward gap.
fn gap_body() -> Vec<u8> {
    use kvs_mkv::writer::{ChunkModel, ChunkWriter};
    use kvs_mkv::{Frame, Track, TrackType};
    let sample = common::testdata("sample.mkv");
    let first = kvs_mkv::io::read_chunks(&sample[..])
        .next()
        .unwrap()
        .unwrap();
    let mut track: Track = first.info().tracks[0].clone();
    track.track_type = Some(TrackType::Video);
    let chunk = |start: i64| {
        let mut m = ChunkModel::new(vec![track.clone()]);
        for (k, f) in first.frames().iter().enumerate() {
            m.frames.push(Frame::new(
                f.data().clone(),
                1,
                start + 66 * k as i64,
                1_000_000,
                k == 0,
            ));
        }
        m
    };
    let mut body = Vec::new();
    ChunkWriter::default()
        .write_stream(&[chunk(0), chunk(10_000)], &mut body)
        .unwrap();
    body
}

/// `-o`/`--output` (file or `-`) and `--keep-gaps`: the gap is closed by
/// default and kept with the flag (ffprobe reads the durations). Each
/// chunk lasts 15 frames of 66 ms: 0.99 s.
#[test]
fn merge_output_and_keep_gaps() {
    let dir = scratch_dir("merge-flags");
    let input = dir.join("gap.mkv");
    std::fs::write(&input, gap_body()).unwrap();
    let input = input.to_str().unwrap();
    let closed = dir.join("closed.mkv");
    let kept = dir.join("kept.mkv");
    let out = run(bin().args(["merge", input, "-o", closed.to_str().unwrap()]));
    ok(&out);
    assert!(
        text(&out.stderr).contains("1.980 s"),
        "{}",
        text(&out.stderr)
    );
    let out = run(bin().args([
        "merge",
        "--keep-gaps",
        input,
        "--output",
        kept.to_str().unwrap(),
    ]));
    ok(&out);
    assert!(
        text(&out.stderr).contains("10.990 s"),
        "{}",
        text(&out.stderr)
    );
    let to_stdout = run(bin()
        .current_dir(&dir)
        .args(["merge", input, "--keep-gaps", "-o", "-"]));
    assert!(ok(&to_stdout).len() > 1000);
    if tool("ffprobe") {
        let duration = |path: &Path| {
            let out = Command::new("ffprobe")
                .args([
                    "-v",
                    "error",
                    "-show_entries",
                    "format=duration",
                    "-of",
                    "csv=p=0",
                ])
                .arg(path)
                .output()
                .unwrap();
            text(&out.stdout).trim().parse::<f64>().unwrap()
        };
        assert!(
            (duration(&closed) - 1.98).abs() < 0.1,
            "{}",
            duration(&closed)
        );
        assert!((duration(&kept) - 10.99).abs() < 0.1, "{}", duration(&kept));
        assert_eq!(ffprobe_packet_count(kept.to_str().unwrap()), 30);
    }
}

// ---------------------------------------------------------------- get-media

fn sample_server() -> Serve {
    Serve::start(&["--stream", &sample_arg()])
}

fn get_media(serve: &Serve, args: &[&str]) -> Vec<String> {
    let mut cmd = serve.cmd(&["get-media", "--stream", "cam", "--json"]);
    cmd.args(args);
    fragments_of(&json_lines(&run(&mut cmd)))
}

/// Every kind of `--start`, and `--max-chunks`.
#[test]
fn get_media_start_selectors_and_max_chunks() {
    let serve = sample_server();
    let [a, b, c] = FRAGMENTS;
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["--start", "earliest", "--max-chunks", "2"], vec![a, b]),
        (
            vec!["--start", "earliest", "--max-chunks", "3"],
            vec![a, b, c],
        ),
        (vec!["--start", "now", "--max-chunks", "1"], vec![c]),
        (
            vec!["--start", "fragment", b, "--max-chunks", "2"],
            vec![b, c],
        ),
        // Server timestamps are 250 ms after the producer's.
        (
            vec!["--start", "server-ts", "1700000001.5", "--max-chunks", "1"],
            vec![b],
        ),
        (
            vec!["--start", "server-ts", "1700000001.1", "--max-chunks", "1"],
            vec![a],
        ),
        (
            vec![
                "--start",
                "producer-ts",
                "1700000001.1",
                "--max-chunks",
                "1",
            ],
            vec![b],
        ),
        (
            vec![
                "--start",
                "producer-ts",
                "2023-11-14T22:13:22.5Z",
                "--max-chunks",
                "1",
            ],
            vec![c],
        ),
        (vec!["--start", "token", a, "--max-chunks", "2"], vec![b, c]),
    ];
    for (args, want) in cases {
        assert_eq!(get_media(&serve, &args), want, "{args:?}");
    }
    // A value is required, a kind must be known, dates must exist.
    for bad in [
        vec!["--start", "fragment"],
        vec!["--start", "yesterday"],
        vec!["--start", "server-ts", "2023-02-31T00:00:00Z"],
    ] {
        let out = run(serve.cmd(&["get-media", "--stream", "cam"]).args(&bad));
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out.stderr));
    }
}

/// `--idle-timeout` ends a session that the server keeps open (it used to
/// panic: "there is no reactor running"); `--follow` keeps reconnecting
/// through empty sessions until then.
#[test]
fn get_media_idle_timeout_and_follow() {
    // The server holds a GetMedia response open 10 minutes after the last
    // fragment.
    let serve = Serve::start(&["--stream", &sample_arg(), "--idle-timeout", "600"]);
    let out = run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "now",
        "--idle-timeout",
        "1",
        "--json",
    ]));
    assert_eq!(fragments_of(&json_lines(&out)), [FRAGMENTS[2]]);
    assert!(!text(&out.stderr).contains("panicked"));

    // Sessions end at once after the last fragment: without --follow the
    // command stops after a few empty sessions; with it, only the idle
    // timeout ends it.
    let serve = Serve::start(&["--stream", &sample_arg(), "--idle-timeout", "0"]);
    let out = run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "now",
        "--follow",
        "--idle-timeout",
        "3",
        "--json",
    ]));
    assert_eq!(fragments_of(&json_lines(&out)), [FRAGMENTS[2]]);
    let out = run(&mut serve.cmd(&["get-media", "--stream", "cam", "--start", "now", "--json"]));
    assert_eq!(fragments_of(&json_lines(&out)), [FRAGMENTS[2]]);
}

/// `--save FILE` and `--json` of get-media and get-media-for-fragment-list
/// (the order given is kept).
#[test]
fn save_and_json_of_the_media_commands() {
    let serve = sample_server();
    let dir = scratch_dir("save-json");
    let saved = dir.join("gm.mkv");
    let lines = json_lines(&run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--max-chunks",
        "3",
        "--json",
        "--save",
        saved.to_str().unwrap(),
    ])));
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["kind"] == "chunk"));
    let back: Vec<_> = kvs_mkv::io::read_chunks(std::fs::File::open(&saved).unwrap())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back.iter().map(|c| c.frames().len()).sum::<usize>(), 45);

    let saved = dir.join("gmffl.mkv");
    let out = run(&mut serve.cmd(&[
        "get-media-for-fragment-list",
        "--stream",
        "cam",
        FRAGMENTS[2],
        FRAGMENTS[0],
        "--save",
        saved.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(
        fragments_of(&json_lines(&out)),
        [FRAGMENTS[2], FRAGMENTS[0]]
    );
    let table = ok(&run(&mut serve.cmd(&[
        "get-media-for-fragment-list",
        "--stream",
        "cam",
        FRAGMENTS[1],
    ])));
    assert!(
        table.starts_with("CHUNK") && table.contains(FRAGMENTS[1]),
        "{table}"
    );
    if tool("ffprobe") {
        assert_eq!(ffprobe_packet_count(saved.to_str().unwrap()), 30);
    }
}

/// `--stream-arn`, `--region`, `--profile` and `--endpoint-url` of every
/// command that calls the service: the server wants region eu-central-1
/// and its own key pair, which only the profile has.
#[test]
fn common_flags_of_every_fetch_command() {
    let dir = scratch_dir("common-flags");
    let serve = Serve::start(&[
        "--stream",
        &sample_arg(),
        "--images",
        &format!("cam={}", testdata_path("images")),
        "--region",
        "eu-central-1",
        "--access-key-id",
        "AKIDPROFILE",
        "--secret-access-key",
        "profile-secret",
    ]);
    let stderr = serve.stderr_until("listening at");
    let arn = stderr
        .split(['(', ')'])
        .find(|s| s.starts_with("arn:aws:kinesisvideo:"))
        .unwrap()
        .to_string();
    let credentials = dir.join("credentials");
    std::fs::write(
        &credentials,
        "[kvs]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n",
    )
    .unwrap();
    let images = dir.join("images");
    let commands: Vec<Vec<&str>> = vec![
        vec!["get-media", "--start", "earliest", "--max-chunks", "1"],
        vec!["list-fragments"],
        vec!["get-media-for-fragment-list", FRAGMENTS[0]],
        vec![
            "get-images",
            "--timestamp",
            "producer",
            "--from",
            "1700000000",
            "--to",
            "1700000001",
            "--out",
            images.to_str().unwrap(),
        ],
    ];
    for args in commands {
        let with = |extra: &[&str]| {
            let mut c = aws_bin();
            c.env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY")
                .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
                .args(&args)
                .args(extra);
            run(&mut c)
        };
        let good = with(&[
            "--stream-arn",
            &arn,
            "--region",
            "eu-central-1",
            "--profile",
            "kvs",
            "--endpoint-url",
            &serve.url,
        ]);
        let listed = ok(&good);
        assert!(!listed.is_empty(), "{args:?}");
        // By name too.
        ok(&with(&[
            "--stream",
            "cam",
            "--region",
            "eu-central-1",
            "--profile",
            "kvs",
            "--endpoint-url",
            &serve.url,
        ]));
        // Signed for the environment's region (us-west-2): refused.
        let wrong_region = with(&[
            "--stream",
            "cam",
            "--profile",
            "kvs",
            "--endpoint-url",
            &serve.url,
        ]);
        assert_eq!(wrong_region.status.code(), Some(1), "{args:?}");
        assert!(
            text(&wrong_region.stderr).contains("403"),
            "{}",
            text(&wrong_region.stderr)
        );
        // A profile that is not there: bad usage, before any call.
        let no_profile = with(&[
            "--stream",
            "cam",
            "--profile",
            "nope",
            "--endpoint-url",
            &serve.url,
        ]);
        assert_eq!(no_profile.status.code(), Some(2), "{args:?}");
        assert!(
            text(&no_profile.stderr).contains("profile \"nope\""),
            "{}",
            text(&no_profile.stderr)
        );
        // --stream and --stream-arn exclude each other; one is required.
        let both = with(&[
            "--stream",
            "cam",
            "--stream-arn",
            &arn,
            "--endpoint-url",
            &serve.url,
        ]);
        assert_eq!(both.status.code(), Some(2));
        let neither = with(&["--endpoint-url", &serve.url]);
        assert_eq!(neither.status.code(), Some(2));
    }
}

// ---------------------------------------------------------- list-fragments

/// `--from`/`--to` select by `--timestamp` (server by default): the first
/// fragment's server timestamp is 250 ms after its producer timestamp.
#[test]
fn list_fragments_range_and_timestamp_kind() {
    let serve = sample_server();
    let list = |extra: &[&str]| -> Vec<String> {
        let mut cmd = serve.cmd(&["list-fragments", "--stream", "cam", "--json"]);
        cmd.args(extra);
        json_lines(&run(&mut cmd))
            .iter()
            .map(|l| l["FragmentNumber"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(list(&[]), FRAGMENTS);
    let range = ["--from", "1700000000.1", "--to", "1700000000.3"];
    assert_eq!(list(&range), [FRAGMENTS[0]]);
    assert_eq!(
        list(&[&range[..], &["--timestamp", "server"]].concat()),
        [FRAGMENTS[0]]
    );
    assert!(list(&[&range[..], &["--timestamp", "producer"]].concat()).is_empty());
    assert_eq!(
        list(&[
            "--timestamp",
            "producer",
            "--from",
            "2023-11-14T22:13:21Z",
            "--to",
            "2023-11-14T22:13:22Z"
        ]),
        [FRAGMENTS[1], FRAGMENTS[2]]
    );
    // --from needs --to; impossible dates are refused.
    let out = run(&mut serve.cmd(&["list-fragments", "--stream", "cam", "--from", "1700000000"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(&mut serve.cmd(&[
        "list-fragments",
        "--stream",
        "cam",
        "--from",
        "2023-02-29T00:00:00Z",
        "--to",
        "2023-03-01T00:00:00Z",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("2023-02-29"),
        "{}",
        text(&out.stderr)
    );
}

// --------------------------------------------------------------- get-images

/// `--from --to --interval --timestamp --format --quality --width
/// --height --out`: the emulator serves testdata/images as they are.
#[test]
fn get_images_flags() {
    let serve = Serve::start(&[
        "--stream",
        &sample_arg(),
        "--images",
        &format!("cam={}", testdata_path("images")),
    ]);
    let dir = scratch_dir("get-images");
    let images = |name: &str, extra: &[&str]| {
        let out_dir = dir.join(name);
        let mut cmd = serve.cmd(&[
            "get-images",
            "--stream",
            "cam",
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        cmd.args(extra);
        let out = run(&mut cmd);
        (out, out_dir)
    };
    let expect_one = |out: &std::process::Output, dir: &Path, file: &str, same_as: &str| {
        let listed = ok(out);
        let path = dir.join(file);
        assert_eq!(listed.trim(), path.display().to_string());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(testdata_path(same_as)).unwrap()
        );
    };
    let from_to = ["--from", "1700000000", "--to", "1700000006"];
    // Producer timestamps: 0 s is in the first fragment; 3 and 6 s are past
    // the stream.
    let (out, d) = images(
        "producer",
        &[&from_to[..], &["--timestamp", "producer"]].concat(),
    );
    expect_one(&out, &d, "1700000000000.jpg", "images/0.jpg");
    assert!(text(&out.stderr).contains("1 images written, 2 times without an image"));
    // Every 6 s: two times asked.
    let (out, _) = images(
        "interval",
        &[
            &from_to[..],
            &["--timestamp", "producer", "--interval", "6000"],
        ]
        .concat(),
    );
    assert!(
        text(&out.stderr).contains("1 images written, 1 times without an image"),
        "{}",
        text(&out.stderr)
    );
    // Server timestamps start 250 ms later: nothing at 0 s.
    let (out, _) = images(
        "server",
        &[&from_to[..], &["--timestamp", "server"]].concat(),
    );
    assert!(
        text(&out.stderr).contains("no image at 1700000000000: NO_MEDIA"),
        "{}",
        text(&out.stderr)
    );
    let (out, d) = images(
        "png",
        &[
            &from_to[..],
            &["--timestamp", "producer", "--format", "png"],
        ]
        .concat(),
    );
    expect_one(&out, &d, "1700000000000.png", "images/0.png");
    let (out, d) = images(
        "sized",
        &[
            &from_to[..],
            &[
                "--timestamp",
                "producer",
                "--format",
                "jpeg",
                "--quality",
                "50",
                "--width",
                "80",
                "--height",
                "60",
            ],
        ]
        .concat(),
    );
    expect_one(&out, &d, "1700000000000.jpg", "images/0.jpg");
    // Checked before any call: bad usage.
    for bad in [
        vec!["--quality", "0"],
        vec!["--width", "80"],
        vec!["--width", "0", "--height", "60"],
        vec!["--interval", "1000"],
        vec!["--format", "gif"],
    ] {
        let (out, _) = images("bad", &[&from_to[..], &bad[..]].concat());
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out.stderr));
    }
}

// -------------------------------------------------------------------- serve

/// A signed-request client for a `serve` child.
fn raw_client(serve: &Serve, key: &str, secret: &str, region: &str) -> emulator_support::Client {
    emulator_support::Client {
        url: serve.url.clone(),
        credentials: Credentials::new(key, secret),
        region: region.to_string(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `--listen`, `--stream` (several), and a bad address.
#[test]
fn serve_listen_and_streams() {
    let serve = Serve::start_with(
        aws_bin().arg("serve").args(["--listen", "127.0.0.1:0"]),
        &[
            "--stream",
            &sample_arg(),
            "--stream",
            &format!("two={}", testdata_path("two_track.mkv")),
        ],
    );
    assert!(serve.url.starts_with("http://127.0.0.1:"), "{}", serve.url);
    let stderr = serve.stderr_until("listening at");
    assert!(
        stderr.contains("stream cam ") && stderr.contains("stream two "),
        "{stderr}"
    );
    let listed = ok(&run(&mut serve.cmd(&["list-fragments", "--stream", "two"])));
    assert_eq!(listed.lines().count(), 4, "{listed}");
    let out = run(aws_bin().args([
        "serve",
        "--listen",
        "not-an-address",
        "--stream",
        &sample_arg(),
    ]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(aws_bin().args(["serve", "--stream", "no-equals-sign"]));
    assert_eq!(out.status.code(), Some(2));
}

/// `--access-key-id`, `--secret-access-key`, `--session-token` and
/// `--region`: requests signed otherwise are refused (403).
#[test]
fn serve_credentials_and_region() {
    let serve = Serve::start(&[
        "--stream",
        &sample_arg(),
        "--access-key-id",
        "AKIDFLAG",
        "--secret-access-key",
        "flag-secret",
        "--session-token",
        "flag-token",
        "--region",
        "ap-south-1",
    ]);
    let list = |key: &str, secret: &str, token: Option<&str>, region: &str| {
        let mut cmd = serve.cmd(&["list-fragments", "--stream", "cam", "--region", region]);
        cmd.env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret);
        if let Some(t) = token {
            cmd.env("AWS_SESSION_TOKEN", t);
        }
        run(&mut cmd)
    };
    ok(&list(
        "AKIDFLAG",
        "flag-secret",
        Some("flag-token"),
        "ap-south-1",
    ));
    for (key, secret, token, region) in [
        (KEY_ID, SECRET, Some("flag-token"), "ap-south-1"),
        ("AKIDFLAG", "wrong-secret", Some("flag-token"), "ap-south-1"),
        ("AKIDFLAG", "flag-secret", None, "ap-south-1"),
        ("AKIDFLAG", "flag-secret", Some("other-token"), "ap-south-1"),
        ("AKIDFLAG", "flag-secret", Some("flag-token"), REGION),
    ] {
        let out = list(key, secret, token, region);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{key} {secret} {token:?} {region}"
        );
        assert!(text(&out.stderr).contains("403"), "{}", text(&out.stderr));
    }
}

/// `--idle-timeout`: how long a GetMedia response stays open after the
/// last fragment (0: it ends at once; 600: still open a second later).
#[test]
fn serve_idle_timeout() {
    use http_body_util::BodyExt;
    let rt = runtime();
    for (secs, ends) in [("0", true), ("600", false)] {
        let serve = Serve::start(&["--stream", &sample_arg(), "--idle-timeout", secs]);
        let client = raw_client(&serve, KEY_ID, SECRET, REGION);
        rt.block_on(async {
            let (status, _, mut body) = client
                .open(
                    "/getMedia",
                    json!({"StreamName": "cam", "StartSelector": {"StartSelectorType": "EARLIEST"}}),
                )
                .await;
            assert_eq!(status, 200);
            let mut data = Vec::new();
            // Every chunk, then either the end or a wait.
            // Up to the last fragment's continuation token.
            let last_in = |data: &[u8]| {
                emulator_support::decode(data).iter().any(|c| {
                    c.info().aws.continuation_token.is_some()
                        && c.fragment_number().map(|f| f.to_string()).as_deref()
                            == Some(FRAGMENTS[2])
                })
            };
            while !last_in(&data) {
                let frame = body.frame().await.unwrap().unwrap();
                data.extend_from_slice(frame.data_ref().unwrap());
            }
            let next = tokio::time::timeout(Duration::from_secs(if ends { 60 } else { 1 }), body.frame()).await;
            if ends {
                assert!(matches!(next, Ok(None)), "the body ends: {next:?}");
            } else {
                assert!(next.is_err(), "still open after a second");
            }
        });
    }
}

/// `--live`, `--speed` and `--base-time`.
#[test]
fn serve_live_speed_and_base_time() {
    // Static: `--start now` gives the latest fragment and nothing after.
    // Live: new fragments keep coming.
    let serve = Serve::start(&["--stream", &sample_arg(), "--live", "--speed", "1000"]);
    let started = Instant::now();
    let lines = json_lines(&run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "now",
        "--max-chunks",
        "60",
        "--json",
    ])));
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(lines.len(), 60);
    // 60 one-second fragments came in far less than 60 s: the pace is
    // 1000 times real time (the margin makes this no timing test: at
    // speed 1 the span could never exceed twice the time taken).
    let ts = |l: &Value| l["producer_timestamp_ms"].as_u64().unwrap() as f64 / 1000.0;
    let span = ts(&lines[59]) - ts(&lines[0]);
    assert!(span >= 58.0, "{span}");
    assert!(span > 2.0 * elapsed + 5.0, "span {span} s in {elapsed} s");

    // A plain Matroska file gets generated timestamps from --base-time.
    let plain = format!("plain={}", testdata_path("source/clip-h264.mkv"));
    let serve = Serve::start(&["--stream", &plain, "--base-time", "1600000000"]);
    let listed: Vec<Value> = json_lines(&run(&mut serve.cmd(&[
        "list-fragments",
        "--stream",
        "plain",
        "--json",
    ])));
    let producer: Vec<&str> = listed
        .iter()
        .map(|l| l["ProducerTimestamp"].as_str().unwrap())
        .collect();
    assert_eq!(
        producer,
        ["1600000000.000", "1600000001.000", "1600000002.000"]
    );
}

/// `--stagger`: the second of two live streams of one recording starts
/// half a fragment (the recording's mean) earlier; without it both list
/// the same timestamps. The shift is worked out from the listing of the
/// first stream (its span over its fragment count), not from the code.
#[test]
fn serve_stagger() {
    let sample = testdata_path("sample.mkv");
    let two = [format!("a={sample}"), format!("b={sample}")];
    // The producer timestamps (ms) and lengths of a stream's fragments,
    // in time order.
    let listed = |serve: &Serve, stream: &str| -> Vec<(u64, u64)> {
        let lines = json_lines(&run(&mut serve.cmd(&[
            "list-fragments",
            "--stream",
            stream,
            "--json",
        ])));
        let mut out: Vec<(u64, u64)> = lines
            .iter()
            .map(|l| {
                let ts = l["ProducerTimestamp"].as_str().unwrap();
                let (s, ms) = ts.split_once('.').unwrap();
                let at = s.parse::<u64>().unwrap() * 1000 + ms.parse::<u64>().unwrap();
                (at, l["FragmentLengthInMilliseconds"].as_u64().unwrap())
            })
            .collect();
        out.sort();
        out
    };
    let args = |stagger: bool| {
        // A clock a thousand times slower than real time: no fragment
        // completes while the test lists them.
        let mut a = vec![
            "--stream", &two[0], "--stream", &two[1], "--live", "--speed", "0.001",
        ];
        if stagger {
            a.push("--stagger");
        }
        a
    };
    let together = Serve::start(&args(false));
    let (a, b) = (listed(&together, "a"), listed(&together, "b"));
    assert!(a.len() >= 2, "{a:?}");
    assert_eq!(a[0].0, b[0].0, "without --stagger");
    drop(together);

    let spread = Serve::start(&args(true));
    let (a, b) = (listed(&spread, "a"), listed(&spread, "b"));
    // One repetition of the recording is what the first stream lists
    // (its fragments up to start-up; the next completes a fragment's
    // length later, which the slow clock puts minutes away).
    let (first, last) = (a[0], a[a.len() - 1]);
    let repetition = last.0 + last.1 - first.0;
    let shift = repetition / (2 * a.len() as u64);
    assert!(shift > 0);
    // b is a moved, fragment by fragment: same lengths, each `shift`
    // earlier.
    assert!(b.len() >= a.len(), "a {a:?}\nb {b:?}");
    for (fa, fb) in a.iter().zip(&b) {
        assert_eq!((fb.0 + shift, fb.1), *fa, "a {a:?}\nb {b:?}");
    }

    // Static streams cannot be staggered: clap says so and exits 2.
    let out = run(aws_bin().args(["serve", "--stream", &two[0], "--stagger"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--live"));
}

/// `--calls-per-second` and `--max-get-media-sessions` (0: no limit).
#[test]
fn serve_limits() {
    let rt = runtime();
    let list_body = || json!({"StreamName": "cam", "Fragments": [FRAGMENTS[0]]});
    // One call per second: quick calls are refused (some of five at least,
    // however slow the machine).
    let serve = Serve::start(&["--stream", &sample_arg(), "--calls-per-second", "1"]);
    let client = raw_client(&serve, KEY_ID, SECRET, REGION);
    let refused = rt.block_on(async {
        let mut refused = 0;
        for _ in 0..5 {
            let r = client.call("/getMediaForFragmentList", list_body()).await;
            if r.status == 400 {
                r.assert_error(400, "ClientLimitExceededException");
                refused += 1;
            }
        }
        refused
    });
    assert!(refused >= 1);
    let serve = Serve::start(&["--stream", &sample_arg(), "--calls-per-second", "0"]);
    let client = raw_client(&serve, KEY_ID, SECRET, REGION);
    rt.block_on(async {
        for _ in 0..10 {
            let r = client.call("/getMediaForFragmentList", list_body()).await;
            assert_eq!(r.status, 200);
        }
    });

    // One GetMedia response at a time (the first is held open).
    let get_media = || json!({"StreamName": "cam", "StartSelector": {"StartSelectorType": "NOW"}});
    let serve = Serve::start(&[
        "--stream",
        &sample_arg(),
        "--idle-timeout",
        "600",
        "--max-get-media-sessions",
        "1",
    ]);
    let client = raw_client(&serve, KEY_ID, SECRET, REGION);
    rt.block_on(async {
        let (status, _, _held) = client.open("/getMedia", get_media()).await;
        assert_eq!(status, 200);
        client
            .call("/getMedia", get_media())
            .await
            .assert_error(400, "ConnectionLimitExceededException");
    });
    let serve = Serve::start(&[
        "--stream",
        &sample_arg(),
        "--idle-timeout",
        "600",
        "--max-get-media-sessions",
        "0",
        "--calls-per-second",
        "0",
    ]);
    let client = raw_client(&serve, KEY_ID, SECRET, REGION);
    rt.block_on(async {
        let mut held = Vec::new();
        for _ in 0..12 {
            let (status, _, body) = client.open("/getMedia", get_media()).await;
            assert_eq!(status, 200);
            held.push(body);
        }
    });
}

/// `--allow-unsigned-payload`: `x-amz-content-sha256: UNSIGNED-PAYLOAD`
/// is refused unless allowed.
#[test]
fn serve_allow_unsigned_payload() {
    use kvs_mkv::sigv4::{sign, PayloadHash, Request, SigningParams, SigningSettings};
    let rt = runtime();
    for allow in [false, true] {
        let mut args = vec!["--stream".to_string(), sample_arg()];
        if allow {
            args.push("--allow-unsigned-payload".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let serve = Serve::start(&args);
        let client = raw_client(&serve, KEY_ID, SECRET, REGION);
        let credentials = Credentials::new(KEY_ID, SECRET);
        let mut request = Request::new("POST", "/listFragments")
            .with_header("host", serve.url.trim_start_matches("http://"))
            .with_header("content-type", "application/json")
            .with_body(serde_json::to_vec(&json!({"StreamName": "cam"})).unwrap());
        let params = SigningParams {
            settings: SigningSettings {
                content_sha256_header: true,
                payload: PayloadHash::Unsigned,
                ..SigningSettings::default()
            },
            ..SigningParams::new(
                &credentials,
                REGION,
                "kinesisvideo",
                std::time::SystemTime::now(),
            )
        };
        sign(&request, &params).unwrap().apply_to(&mut request);
        let reply = rt.block_on(client.send(request));
        if allow {
            assert_eq!(
                reply.status,
                200,
                "{:?}",
                String::from_utf8_lossy(&reply.body)
            );
        } else {
            assert_eq!(reply.status, 403);
        }
    }
}

/// `--seed`: the same seed gives the same request ids and listing order.
#[test]
fn serve_seed() {
    let rt = runtime();
    let first_answer = |seed: &str| {
        let serve = Serve::start(&["--stream", &sample_arg(), "--seed", seed]);
        let client = raw_client(&serve, KEY_ID, SECRET, REGION);
        let reply = rt.block_on(client.call("/listFragments", json!({"StreamName": "cam"})));
        assert_eq!(reply.status, 200);
        let order: Vec<String> = reply.json()["Fragments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["FragmentNumber"].as_str().unwrap().to_string())
            .collect();
        (reply.header("x-amzn-requestid").unwrap().to_string(), order)
    };
    let (id_a, order_a) = first_answer("7");
    let (id_b, order_b) = first_answer("7");
    let (id_c, _) = first_answer("8");
    assert_eq!((&id_a, &order_a), (&id_b, &order_b));
    assert_ne!(id_a, id_c);
}

/// `--fault`: an injected NotAuthorized on ListFragments only.
#[test]
fn serve_fault() {
    let serve = Serve::start(&[
        "--stream",
        &sample_arg(),
        "--fault",
        "not-authorized,op=ListFragments",
    ]);
    let out = run(&mut serve.cmd(&["list-fragments", "--stream", "cam"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("NotAuthorized"),
        "{}",
        text(&out.stderr)
    );
    let lines = json_lines(&run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--max-chunks",
        "1",
        "--json",
    ])));
    assert_eq!(lines.len(), 1, "other operations are not touched");
    let out = run(aws_bin().args([
        "serve",
        "--stream",
        &sample_arg(),
        "--fault",
        "no-such-fault",
    ]));
    assert_eq!(out.status.code(), Some(2));
}

/// A GetMedia tail through cut connections: every reconnect is one line on
/// stderr with its cause and where it resumes, every fragment comes once,
/// and the chunks' offsets keep growing across sessions (they count every
/// byte the stream received), so no two chunks share an offset.
#[test]
fn get_media_says_each_reconnect_and_offsets_grow() {
    let serve = Serve::start(&[
        "--stream",
        &sample_arg(),
        "--idle-timeout",
        "0.2",
        "--fault",
        "cut-in-chunk=1,times=2",
    ]);
    let out = run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--json",
    ]));
    let rows = ok(&out);
    let stderr = text(&out.stderr);
    let reconnect_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("kvs-mkv: reconnect "))
        .collect();
    // Two cut sessions, then one that ends cleanly after the last fragment.
    assert!(
        reconnect_lines.len() >= 2,
        "one line per reconnect expected:\n{stderr}"
    );
    assert!(
        reconnect_lines[0].starts_with("kvs-mkv: reconnect 1: ")
            && reconnect_lines[1].starts_with("kvs-mkv: reconnect 2: "),
        "{stderr}"
    );
    assert!(
        reconnect_lines.iter().all(|l| l.contains("; resuming at ")),
        "{stderr}"
    );
    // The first cut comes inside the second chunk: the stream resumes after
    // the first one's continuation token.
    assert!(
        reconnect_lines[0].contains(&format!("resuming at continuation token {}", FRAGMENTS[0])),
        "{stderr}"
    );
    let chunks: Vec<Value> = rows
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let numbers: Vec<&str> = chunks
        .iter()
        .map(|c| c["fragment_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, FRAGMENTS);
    let offsets: Vec<u64> = chunks
        .iter()
        .map(|c| c["offset"].as_u64().unwrap())
        .collect();
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "offsets restart after a reconnect: {offsets:?}"
    );
}
