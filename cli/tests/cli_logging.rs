//! Log lines on stderr (issue G): the library's `tracing` events through
//! tracing-subscriber. Warnings by default, `-v` / `--verbose` for INFO,
//! `-vv` for DEBUG, RUST_LOG instead of both; a reconnect is one line.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use support::{run, testdata_path, text, Serve};

/// `get-media` on the three-fragment sample, which the emulator ends after
/// the last fragment (so the client reconnects after each clean end, an
/// INFO event), with `extra` flags before the command.
fn get_media(serve: &Serve, extra: &[&str], rust_log: Option<&str>) -> (Option<i32>, String) {
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["get-media", "--stream", "cam", "--start", "earliest"]);
    // Replace the command line: flags first, then the command.
    let mut c = support::aws_bin();
    c.args(&args).args(["--endpoint-url", &serve.url]);
    if let Some(directives) = rust_log {
        c.env("RUST_LOG", directives);
    }
    let out = run(&mut c);
    (out.status.code(), text(&out.stderr))
}

#[test]
fn verbosity_flags_and_rust_log_choose_the_log_lines() {
    let cam = format!("cam={}", testdata_path("sample.mkv"));
    let serve = Serve::start(&["--stream", &cam, "--idle-timeout", "0.2"]);

    // Default: warnings only; the clean end of a session is no warning.
    let (code, quiet) = get_media(&serve, &[], None);
    assert_eq!(code, Some(0), "{quiet}");
    assert!(!quiet.contains("GetMedia reconnecting"), "{quiet}");
    assert!(!quiet.contains("status=200"), "{quiet}");

    // -v: INFO, the reconnect after a clean end with its resume point.
    for flag in ["-v", "--verbose"] {
        let (code, info) = get_media(&serve, &[flag], None);
        assert_eq!(code, Some(0), "{info}");
        assert!(
            info.contains("INFO") && info.contains("GetMedia reconnecting"),
            "{flag}: {info}"
        );
        assert!(info.contains("resume="), "{flag}: {info}");
        assert!(!info.contains("status=200"), "{flag}: {info}");
    }

    // -vv: DEBUG, each call with its status and request id.
    let (code, debug) = get_media(&serve, &["-vv"], None);
    assert_eq!(code, Some(0), "{debug}");
    assert!(
        debug.contains("DEBUG") && debug.contains("status=200"),
        "{debug}"
    );
    assert!(debug.contains("request_id="), "{debug}");
    // Never a secret, at any level.
    assert!(!debug.contains(support::SECRET), "{debug}");

    // RUST_LOG decides instead of the flags.
    let (code, chosen) = get_media(&serve, &[], Some("kvs_mkv::client=debug"));
    assert_eq!(code, Some(0), "{chosen}");
    assert!(chosen.contains("status=200"), "{chosen}");
    let (code, silenced) = get_media(&serve, &["-vv"], Some("off"));
    assert_eq!(code, Some(0), "{silenced}");
    assert!(
        !silenced.contains("DEBUG") && !silenced.contains("INFO"),
        "{silenced}"
    );
}

/// A failed call that is retried is one WARN line by default; a GetMedia
/// reconnect after a failure is one line (the command's own), not two.
#[test]
fn a_reconnect_is_one_line_and_a_retry_a_warning() {
    let cam = format!("cam={}", testdata_path("sample.mkv"));
    let serve = Serve::start(&[
        "--stream",
        &cam,
        "--idle-timeout",
        "0.2",
        "--fault",
        "cut-in-chunk=1,times=1",
        "--fault",
        "error=503,op=ListFragments,times=1",
    ]);
    let (code, err) = get_media(&serve, &[], None);
    assert_eq!(code, Some(0), "{err}");
    // The cut is said once, by the command's own line (the library's
    // reconnect warning is not shown as well); so is each later reconnect.
    let cut: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("transport error"))
        .collect();
    assert_eq!(cut.len(), 1, "{err}");
    assert!(cut[0].starts_with("kvs-mkv: reconnect 1:"), "{err}");
    assert!(!err.contains("GetMedia reconnecting"), "{err}");

    let mut c = serve.cmd(&["list-fragments", "--stream", "cam"]);
    let out = run(&mut c);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // (The AWS SDK warns about the test's nonexistent shared files too.)
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("kvs_mkv"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("retrying after a failed call"),
        "{err}"
    );
}
