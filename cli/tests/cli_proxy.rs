//! The real binary reads its proxy from the environment, as curl and the
//! AWS CLI do: `HTTP_PROXY` (or `http_proxy`) sends its calls through the
//! proxy, `NO_PROXY` takes hosts out again. The proxy is a small one on
//! loopback that logs what it is asked; endpoints are named `*.test`
//! (which nothing resolves), so a call that reaches its server went
//! through the proxy. The test process's own environment is never changed.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/hostile_support/mod.rs"]
mod hostile_support;
#[path = "../../tests/proxy_support/mod.rs"]
mod proxy_support;

use std::time::Duration;

use hostile_support::{guarded, Reply, Request, Server, SECRET};
use kvs_mkv::emulator::{Emulator, EmulatorHandle};
use kvs_mkv::sigv4::Credentials;
use proxy_support::TestProxy;

async fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .stream("cam", common::root().join("testdata/sample.mkv"))
        .credentials(Credentials::new("AKIDEXAMPLE", SECRET))
        .idle_timeout(Duration::from_millis(200))
        .start("127.0.0.1:0")
        .await
        .unwrap()
}

/// A control plane on loopback whose GetDataEndpoint names the emulator's
/// port under a `.test` name, so that data calls go through the proxy.
async fn control_plane(emulator: &EmulatorHandle) -> Server {
    let port = emulator.local_addr().port();
    Server::start(move |_: &Request| {
        Reply::json(format!(r#"{{"DataEndpoint":"http://kvs.test:{port}"}}"#))
    })
    .await
}

/// The real binary reads the proxy from its environment: `HTTP_PROXY`
/// (and the lower-case form) sends its calls through the proxy, and
/// `NO_PROXY` takes them out again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_takes_the_proxy_from_its_environment() {
    let emulator = emulator().await;
    let control = control_plane(&emulator).await;
    let proxy = TestProxy::start(None).await;
    let endpoint = format!("http://ctl.test:{}", control.addr.port());
    let run = |vars: Vec<(&'static str, String)>| {
        let endpoint = endpoint.clone();
        async move {
            let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kvs-mkv"));
            cmd.args(["list-fragments", "--json", "--stream", "cam"])
                .args(["--region", "us-west-2", "--endpoint-url", &endpoint])
                .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
                .env("AWS_SECRET_ACCESS_KEY", SECRET)
                .env_remove("AWS_SESSION_TOKEN")
                .env_remove("AWS_PROFILE");
            for name in [
                "HTTP_PROXY",
                "http_proxy",
                "HTTPS_PROXY",
                "https_proxy",
                "NO_PROXY",
                "no_proxy",
                "ALL_PROXY",
                "all_proxy",
                "REQUEST_METHOD",
            ] {
                cmd.env_remove(name);
            }
            for (k, v) in vars {
                cmd.env(k, v);
            }
            guarded(60, cmd.output()).await.unwrap()
        }
    };
    for var in ["HTTP_PROXY", "http_proxy"] {
        let before = proxy.asked().len();
        let out = run(vec![(var, proxy.url.clone())]).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{var}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
        let asked = proxy.asked();
        assert!(asked.len() >= before + 2, "{asked:?}");
        assert!(asked[before].line.starts_with("POST http://ctl.test:"));
        assert!(asked[before + 1].line.starts_with("POST http://kvs.test:"));
    }
    let before = proxy.asked().len();
    let out = run(vec![
        ("HTTP_PROXY", proxy.url.clone()),
        ("NO_PROXY", "ctl.test".into()),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(proxy.asked().len(), before, "NO_PROXY was not honoured");
    emulator.shutdown().await;
}
