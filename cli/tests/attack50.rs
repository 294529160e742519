//! Leftovers of the earlier attacks (h50): inputs the program took without
//! a bound or answered with a message that hid the cause.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use support::{bin, run_within, scratch_dir, text};

/// `serve --stream cam=/dev/zero` read the device to the end, which never
/// comes: the process hung, taking memory until it was killed. A path
/// that is neither a regular file nor a pipe is refused before a byte is
/// read, the message naming it (exit 2, as for a missing file).
#[cfg(target_os = "linux")]
#[test]
fn serve_refuses_a_recording_that_never_ends() {
    let out = run_within(
        bin().args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--stream",
            "cam=/dev/zero",
        ]),
        Duration::from_secs(30),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/dev/zero"), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

/// The same through `--images`: an entry named like an image that links to
/// /dev/zero was read without bound. It is refused, the message naming the
/// entry.
#[cfg(target_os = "linux")]
#[test]
fn serve_refuses_an_image_that_never_ends() {
    let recording = support::testdata_path("sample.mkv");
    let dir = scratch_dir("attack50-images");
    std::fs::write(dir.join("1700000000000.jpg"), b"jpeg").unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("1700000001000.jpg")).unwrap();
    let out = run_within(
        bin()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--stream", &format!("cam={recording}")])
            .arg("--images")
            .arg(format!("cam={}", dir.display())),
        Duration::from_secs(30),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("1700000001000.jpg"), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

/// `get-images --out /dev/null` said "cannot create /dev/null: File
/// exists", which hides the cause. An --out that exists and is not a
/// directory (a device, a file) is bad usage, said plainly, before any
/// request: the endpoint here is a listener that must see no connection.
#[test]
fn get_images_out_that_is_not_a_directory_is_bad_usage() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let dir = scratch_dir("attack50-out");
    let file = dir.join("images.txt");
    std::fs::write(&file, b"not a directory").unwrap();
    for out_path in [std::path::PathBuf::from("/dev/null"), file] {
        let out = support::run(
            support::aws_bin()
                .args(["get-images", "--stream", "cam", "--from", "0", "--to", "10"])
                .args(["--endpoint-url", &endpoint])
                .arg("--out")
                .arg(&out_path),
        );
        let err = text(&out.stderr);
        let shown = out_path.display();
        assert_eq!(out.status.code(), Some(2), "{shown}: {err}");
        assert!(
            err.contains(&format!("--out {shown} exists and is not a directory")),
            "{shown}: {err}"
        );
        assert!(!err.contains("File exists"), "{shown}: {err}");
    }
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a request was made: {accepted:?}"
    );
    assert_eq!(
        std::fs::read(dir.join("images.txt")).unwrap(),
        b"not a directory",
        "the file was changed"
    );
}

/// `list-fragments` with nothing but `vars` in its environment (no keys,
/// no region unless given there; never the instance's metadata service).
fn list_fragments_with(vars: &[(&str, &OsStr)]) -> Output {
    support::run(
        bin()
            .args(["list-fragments", "--stream", "cam"])
            .args(["--endpoint-url", "http://127.0.0.1:1"])
            .env_clear()
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(vars.iter().copied()),
    )
}

/// A shared config or credentials file with a line that is neither `key =
/// value` nor a `[section]` header ended in "no region", the file's
/// region never read, which hid the cause. The message names the file and
/// the line (exit 2): for ~/.aws/config found through HOME, and for the
/// credentials file of AWS_SHARED_CREDENTIALS_FILE with the keys in the
/// environment and the region in AWS_CONFIG_FILE's file.
#[test]
fn a_malformed_shared_file_is_named_with_its_line() {
    let home = scratch_dir("attack50-home");
    let aws = home.join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    let config = aws.join("config");
    std::fs::write(
        &config,
        "[default]\nregion = eu-west-1\nthis line is not a setting\n",
    )
    .unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[default]\naws_access_key_id = AKIDHOME\naws_secret_access_key = s\n",
    )
    .unwrap();
    let out = list_fragments_with(&[("HOME", home.as_os_str())]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}, line 3", config.display())),
        "{err}"
    );
    assert!(!err.contains("no region"), "{err}");

    let files = scratch_dir("attack50-files");
    let (credentials, config) = (files.join("credentials"), files.join("config"));
    std::fs::write(&credentials, "[default]\nAKIDONLY\n").unwrap();
    std::fs::write(&config, "[default]\nregion = eu-west-1\n").unwrap();
    let empty_home = scratch_dir("attack50-empty-home");
    let out = list_fragments_with(&[
        ("HOME", empty_home.as_os_str()),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.as_os_str()),
        ("AWS_CONFIG_FILE", config.as_os_str()),
        ("AWS_ACCESS_KEY_ID", OsStr::new(support::KEY_ID)),
        ("AWS_SECRET_ACCESS_KEY", OsStr::new(support::SECRET)),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}, line 2", credentials.display())),
        "{err}"
    );
    assert!(!err.contains("no region"), "{err}");
}

/// With the region in the environment and no keys there, a malformed
/// credentials file made the AWS SDK's chain fail with "could not parse
/// profile file" and no path: the path and the line were only in the
/// SDK's warning above it. The error itself now names them.
#[test]
fn a_malformed_credentials_file_is_named_when_the_region_is_elsewhere() {
    let files = scratch_dir("attack50-region-env");
    let credentials = files.join("credentials");
    std::fs::write(&credentials, "[default]\nAKIDONLY\n").unwrap();
    let (err, ours) = credentials_error(&files, &credentials);
    assert!(
        ours.contains(&format!("{}, line 2", credentials.display())),
        "{err}"
    );
}

/// `list-fragments` with the region in the environment, no keys, and
/// `credentials` as the only shared file (home `home`): its stderr, which
/// must come with exit status 2, and the error line of its own in it
/// (not the SDK's logged warnings).
fn credentials_error(home: &Path, credentials: &Path) -> (String, String) {
    let out = list_fragments_with(&[
        ("HOME", home.as_os_str()),
        ("AWS_REGION", OsStr::new("eu-west-1")),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.as_os_str()),
        ("AWS_CONFIG_FILE", OsStr::new("/dev/null")),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let ours = err
        .lines()
        .find(|l| l.starts_with("kvs-mkv:"))
        .unwrap_or_else(|| panic!("no error line: {err}"))
        .to_string();
    (err, ours)
}

/// The SDK's chain failing with "not properly configured" for a reason of
/// its own (here a `role_arn` without `source_profile`) was blamed on the
/// first line the built-in parser refuses, though the SDK parsed that line
/// (an indented `[x` continues the value above it): "cannot parse ...,
/// line 3". A file's line is named only when the SDK says it could not
/// parse a profile file; else its own reason stands.
#[test]
fn the_sdks_other_configuration_errors_are_not_blamed_on_a_line() {
    let files = scratch_dir("attack50-other-invalid");
    let credentials = files.join("credentials");
    std::fs::write(
        &credentials,
        "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\n  [x\n",
    )
    .unwrap();
    let (err, ours) = credentials_error(&files, &credentials);
    assert!(!ours.contains("cannot parse"), "{err}");
    assert!(ours.contains("source_profile"), "{err}");
}

/// A credentials file that is a named pipe, written once with a bad line:
/// the SDK read it and failed, then the error's look at the files opened
/// the pipe again, which waits for a writer that never comes: the process
/// hung instead of exiting with the SDK's error. Only regular files are
/// read again.
#[cfg(target_os = "linux")]
#[test]
fn a_credentials_pipe_is_not_read_again_for_the_error() {
    let files = scratch_dir("attack50-credentials-fifo");
    let credentials = files.join("credentials");
    common::mkfifo(&credentials);
    let writer = {
        let path = credentials.clone();
        std::thread::spawn(move || std::fs::write(path, "[default]\nAKIDONLY\n"))
    };
    // A hang is the hang guard's kill and a failure.
    let (err, _) = credentials_error(&files, &credentials);
    writer.join().unwrap().unwrap();
    assert!(err.contains("could not parse profile file"), "{err}");
}

/// A shared file was read whole however large: `AWS_SHARED_CREDENTIALS_FILE
/// =/dev/zero` never ended (the built-in reader, and the AWS SDK's, which
/// the default build asks first). A file past 4 MiB is refused, named
/// (exit 2), before the SDK reads it; `/dev/null`, the usual way to say
/// "no file", still reads as empty.
#[cfg(target_os = "linux")]
#[test]
fn a_shared_file_that_never_ends_is_refused() {
    let home = scratch_dir("attack50-zero-home");
    let keys = [
        ("HOME", home.as_os_str()),
        ("AWS_ACCESS_KEY_ID", OsStr::new(support::KEY_ID)),
        ("AWS_SECRET_ACCESS_KEY", OsStr::new(support::SECRET)),
        ("AWS_REGION", OsStr::new("eu-west-1")),
        ("AWS_EC2_METADATA_DISABLED", OsStr::new("true")),
    ];
    for var in ["AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"] {
        let out = run_within(
            bin()
                .args(["list-fragments", "--stream", "cam"])
                .args(["--endpoint-url", "http://127.0.0.1:1"])
                .env_clear()
                .envs(keys)
                .env(var, "/dev/zero"),
            Duration::from_secs(60),
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}: {err}");
        assert!(
            err.contains("cannot read /dev/zero: larger than 4 MiB"),
            "{var}: {err}"
        );
    }
    let out = run_within(
        bin()
            .args(["list-fragments", "--stream", "cam"])
            .args(["--endpoint-url", "http://127.0.0.1:1"])
            .env_clear()
            .envs(keys)
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_CONFIG_FILE", "/dev/null"),
        Duration::from_secs(60),
    );
    let err = text(&out.stderr);
    assert!(!err.contains("/dev/null"), "{err}");
    assert!(!err.contains("usage"), "{err}");
}

/// A shared file that is there but cannot be read (here a directory) was
/// taken for an empty one, so the region in it was "not there". It is
/// named, with what is wrong (exit 2).
#[test]
fn an_unreadable_shared_file_is_named() {
    let home = scratch_dir("attack50-dir-home");
    let config = home.join(".aws").join("config");
    std::fs::create_dir_all(&config).unwrap();
    let out = list_fragments_with(&[
        ("HOME", home.as_os_str()),
        ("AWS_ACCESS_KEY_ID", OsStr::new(support::KEY_ID)),
        ("AWS_SECRET_ACCESS_KEY", OsStr::new(support::SECRET)),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "cannot read {}: it is a directory",
            config.display()
        )),
        "{err}"
    );
}
