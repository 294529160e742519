//! Attacks on the shared-file reader and the emulator's file reading
//! (a52): shared files the AWS SDK reads that kvs-mkv refused.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use support::{bin, scratch_dir, text};

/// `--profile cam` with ~/.aws/credentials that cannot be read (here a
/// directory) and `[profile cam]` in ~/.aws/config: the AWS SDK takes the
/// unreadable file for an empty one and finds the profile in the config
/// file (AWS_PROFILE=cam worked, and so does the AWS CLI), but the
/// profile check read the files strictly and ended in exit 2 "cannot read
/// .../credentials: it is a directory". The error is kept for when the
/// profile is then not found.
#[cfg(feature = "aws-config")]
#[test]
fn an_explicit_profile_in_config_is_found_past_an_unreadable_credentials_file() {
    let run = |home: &std::path::Path, profile: &str| {
        bin()
            .args(["list-fragments", "--stream", "cam", "--profile", profile])
            .args(["--endpoint-url", "http://127.0.0.1:1"])
            .env_clear()
            .env("HOME", home)
            .env("RUST_LOG", "off")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", support::KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", support::SECRET)
            .env("AWS_MAX_ATTEMPTS", "1")
            .output()
            .unwrap()
    };
    {
        let name = "attack52-dir";
        let home = scratch_dir(name);
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        // Unreadable as a file (root reads any file despite its mode).
        std::fs::create_dir_all(home.join(".aws/credentials")).unwrap();
        std::fs::write(
            home.join(".aws/config"),
            "[profile cam]\nregion = eu-west-1\n",
        )
        .unwrap();
        let out = run(&home, "cam");
        let err = text(&out.stderr);
        assert!(!err.contains("configuration:"), "{name}: {err}");
        assert!(err.contains("ListFragments"), "{name}: {err}");
        // A profile found nowhere: the file's error, not "no profile".
        let out = run(&home, "other");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(".aws/credentials"), "{name}: {err}");
        std::fs::remove_dir_all(&home).unwrap();
    }
}

/// `get-images --out LINK` where LINK is a dangling symbolic link (or a
/// loop) ended in "cannot create LINK: File exists", the message a57e8cc
/// removed for a file: it is bad usage, said plainly, before any request.
/// A link to a directory still works (it gets past the flag checks).
#[cfg(unix)]
#[test]
fn get_images_out_a_dangling_link_is_bad_usage() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let dir = scratch_dir("attack52-out");
    std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling")).unwrap();
    std::os::unix::fs::symlink(dir.join("loop"), dir.join("loop")).unwrap();
    for name in ["dangling", "loop"] {
        let out_path = dir.join(name);
        let out = support::run(
            support::aws_bin()
                .args(["get-images", "--stream", "cam", "--from", "0", "--to", "10"])
                .args(["--endpoint-url", &endpoint])
                .arg("--out")
                .arg(&out_path),
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains("is a symbolic link that does not lead to a directory"),
            "{name}: {err}"
        );
        assert!(!err.contains("File exists"), "{name}: {err}");
    }
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a request was made: {accepted:?}"
    );
    assert!(!dir.join("nowhere").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `AWS_CONFIG_FILE=<(printf '[default]\nregion = eu-west-1\n') kvs-mkv
/// ...`: the size check before the AWS SDK reads the files (9e28161) read
/// the pipe to its end, so the SDK found it empty and the program ended
/// in "no region". A pipe is now left to the SDK.
#[cfg(all(target_os = "linux", feature = "aws-config"))]
#[test]
fn a_config_file_given_as_a_pipe_is_read_by_the_sdk() {
    let dir = scratch_dir("attack52-pipe");
    let program = env!("CARGO_BIN_EXE_kvs-mkv");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(
            "AWS_CONFIG_FILE=<(printf '[default]\\nregion = eu-west-1\\n') \
             exec \"$0\" list-fragments --stream cam --endpoint-url http://127.0.0.1:1",
        )
        .arg(program)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &dir)
        .env("RUST_LOG", "off")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", support::KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", support::SECRET)
        .env("AWS_MAX_ATTEMPTS", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(!err.contains("no region"), "{err}");
    assert!(err.contains("ListFragments"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
