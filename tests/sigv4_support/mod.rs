//! Shared helpers of the SigV4 tests: locating the AWS test suites in
//! `../shared/corpus/sigv4`, reading their `context.json`, and parsing and
//! printing their HTTP/1.1 request text.
#![allow(dead_code)] // each test crate uses a different subset

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use kvs_mkv::sigv4::{parse_amz_date, Credentials, Request, SigningSettings, VerifySettings};

/// The documented inputs of the classic suite (it has no context files).
pub const CLASSIC_ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
pub const CLASSIC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const CLASSIC_REGION: &str = "us-east-1";
pub const CLASSIC_SERVICE: &str = "service";
pub const CLASSIC_DATE: &str = "20150830T123600Z";

/// `../shared/corpus/sigv4`, or `None` (after saying so) when `../shared` is
/// absent. Under `CI=true` a missing corpus is a failure, not a skip.
pub fn corpus() -> Option<PathBuf> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let corpus = shared.join("corpus/sigv4");
    if corpus.is_dir() {
        return Some(corpus);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "../shared/corpus/sigv4 not found at {} (CI=true)",
            corpus.display()
        );
    }
    println!("skipped: ../shared not found");
    None
}

pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Subdirectories of `dir`, sorted.
fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// One case of the `v4/` suite.
pub struct V4Case {
    pub name: String,
    pub dir: PathBuf,
    pub credentials: Credentials,
    pub region: String,
    pub service: String,
    pub time: SystemTime,
    pub normalize: bool,
    pub sign_body: bool,
    pub omit_session_token: bool,
    pub expiration_in_seconds: u64,
}

impl V4Case {
    pub fn file(&self, name: &str) -> String {
        read(&self.dir.join(name))
    }

    pub fn signing_settings(&self) -> SigningSettings {
        SigningSettings {
            normalize_uri_path: self.normalize,
            double_uri_encode: self.normalize,
            content_sha256_header: self.sign_body,
            sign_session_token: !self.omit_session_token,
            ..SigningSettings::default()
        }
    }

    pub fn verify_settings(&self) -> VerifySettings {
        VerifySettings {
            normalize_uri_path: self.normalize,
            double_uri_encode: self.normalize,
            ..VerifySettings::new(&self.region, &self.service)
        }
    }
}

/// Every case directory of `v4/` (those holding a `context.json`).
pub fn v4_cases(corpus: &Path) -> Vec<V4Case> {
    subdirectories(&corpus.join("v4"))
        .into_iter()
        .filter(|dir| dir.join("context.json").is_file())
        .map(|dir| {
            let context: serde_json::Value = serde_json::from_str(&read(&dir.join("context.json")))
                .expect("context.json is JSON");
            let text = |v: &serde_json::Value| v.as_str().expect("string").to_owned();
            let creds = &context["credentials"];
            let mut credentials = Credentials::new(
                text(&creds["access_key_id"]),
                text(&creds["secret_access_key"]),
            );
            if let Some(token) = creds.get("token") {
                credentials = credentials.with_session_token(text(token));
            }
            // "2015-08-30T12:36:00Z" -> "20150830T123600Z"
            let timestamp = text(&context["timestamp"]).replace(['-', ':'], "");
            V4Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                credentials,
                region: text(&context["region"]),
                service: text(&context["service"]),
                time: parse_amz_date(&timestamp).expect("timestamp"),
                normalize: context["normalize"].as_bool().expect("normalize"),
                sign_body: context["sign_body"].as_bool().expect("sign_body"),
                omit_session_token: context
                    .get("omit_session_token")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
                expiration_in_seconds: context["expiration_in_seconds"]
                    .as_u64()
                    .expect("expiration"),
                dir,
            }
        })
        .collect()
}

/// One case of the `classic/` suite: a directory holding `<name>.req`.
pub struct ClassicCase {
    pub name: String,
    pub dir: PathBuf,
}

impl ClassicCase {
    pub fn file(&self, extension: &str) -> String {
        read(&self.dir.join(format!("{}.{extension}", self.name)))
    }
}

/// Every case of `classic/`, including those in nested groups
/// (`normalize-path/`, `post-sts-token/`).
pub fn classic_cases(corpus: &Path) -> Vec<ClassicCase> {
    fn walk(dir: &Path, out: &mut Vec<ClassicCase>) {
        for sub in subdirectories(dir) {
            let name = sub.file_name().unwrap().to_string_lossy().into_owned();
            if sub.join(format!("{name}.req")).is_file() {
                out.push(ClassicCase {
                    name,
                    dir: sub.clone(),
                });
            }
            walk(&sub, out);
        }
    }
    let mut cases = Vec::new();
    walk(&corpus.join("classic"), &mut cases);
    cases
}

/// The inputs of the classic suite, with the session token (if any) that the
/// case's signed request carries.
pub fn classic_credentials(token: Option<&str>) -> Credentials {
    let credentials = Credentials::new(CLASSIC_ACCESS_KEY_ID, CLASSIC_SECRET);
    match token {
        Some(token) => credentials.with_session_token(token),
        None => credentials,
    }
}

pub fn classic_time() -> SystemTime {
    parse_amz_date(CLASSIC_DATE).expect("classic date")
}

/// Parses the suites' request text: request line (`METHOD target HTTP/1.1`,
/// where the target may itself contain spaces), header lines (`Name:value`,
/// value kept verbatim; a line starting with a space or tab continues the
/// previous value, joined with `\n`), an empty line, then the body.
pub fn parse_request(text: &str) -> Request {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let (method, rest) = request_line.split_once(' ').expect("method");
    let target = rest
        .rsplit_once(' ')
        .map_or(rest, |(target, _version)| target);
    let mut request = Request::new(method, target).with_body(body.as_bytes().to_vec());
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let (_, value) = request
                .headers
                .last_mut()
                .expect("continuation after a header");
            value.push('\n');
            value.push_str(line);
        } else if let Some((name, value)) = line.split_once(':') {
            request.headers.push((name.to_owned(), value.to_owned()));
        } else if !line.is_empty() {
            panic!("not a header line: {line:?}");
        }
    }
    request
}

/// Prints a request the way the v4 suite's `*-signed-request.txt` files do.
pub fn print_request(request: &Request) -> String {
    let mut out = format!("{} {} HTTP/1.1\n", request.method, request.path);
    for (name, value) in &request.headers {
        out.push_str(&format!("{name}:{value}\n"));
    }
    out.push('\n');
    out.push_str(std::str::from_utf8(&request.body).expect("UTF-8 body"));
    out
}

/// A comparable form of a request: header values trimmed (the classic
/// suite's `.sreq` files write `Authorization: ...` with a space).
pub fn normalized(request: &Request) -> (String, String, Vec<(String, String)>, Vec<u8>) {
    (
        request.method.clone(),
        request.path.clone(),
        request
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), v.trim().to_owned()))
            .collect(),
        request.body.clone(),
    )
}
