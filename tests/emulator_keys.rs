//! The emulator's changing, expiring key set (issue G): keys added while it
//! runs, expired keys answered with 403 `ExpiredTokenException`, unknown
//! ones with 403 `UnrecognizedClientException`; and `kvs-mkv serve
//! --credentials-file`, read again when the file changes.

mod common;
mod emulator_support;

use std::path::Path;
use std::time::{Duration, SystemTime};

use emulator_support::Client;
use kvs_mkv::emulator::{Emulator, KeyStore, Options};
use kvs_mkv::sigv4::Credentials;
use serde_json::json;

fn endpoint_body() -> serde_json::Value {
    json!({"StreamName": "cam", "APIName": "GET_MEDIA"})
}

fn temporary(id: &str, expires_at: SystemTime) -> Credentials {
    Credentials::new(id, format!("{id}-secret"))
        .with_session_token(format!("{id}-token"))
        .with_expiry(expires_at)
}

/// Keys inserted into a shared store while the emulator runs are accepted
/// from then on; a key past its expiry gets 403 ExpiredTokenException (with
/// the front end's lower-case `message`), an unknown one 403
/// UnrecognizedClientException, a removed one too.
#[tokio::test]
async fn keys_change_while_the_emulator_runs() {
    let keys = KeyStore::new();
    let emulator = Emulator::builder()
        .stream("cam", Path::new("testdata/sample.mkv"))
        .key_store(keys.clone())
        .options(Options::default())
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::new(&emulator);
    let now = SystemTime::now();
    let fresh = temporary("ASIAFRESH", now + Duration::from_secs(600));
    let expired = temporary("ASIAEXPIRED", now - Duration::from_secs(1));
    let signed_with = |c: &Credentials| client.with_credentials(c.clone());

    // Nothing accepted yet, not even the default pair.
    signed_with(&fresh)
        .call("/getDataEndpoint", endpoint_body())
        .await
        .assert_error(403, "UnrecognizedClientException");
    client
        .call("/getDataEndpoint", endpoint_body())
        .await
        .assert_error(403, "UnrecognizedClientException");

    keys.insert(fresh.clone());
    emulator.add_credentials(expired.clone());
    assert_eq!(
        emulator.keys().access_key_ids(),
        ["ASIAEXPIRED", "ASIAFRESH"]
    );
    let ok = signed_with(&fresh)
        .call("/getDataEndpoint", endpoint_body())
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.json());
    let reply = signed_with(&expired)
        .call("/getDataEndpoint", endpoint_body())
        .await;
    reply.assert_error(403, "ExpiredTokenException");
    let message = reply.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("expired"), "{message}");
    assert!(
        !message.contains("secret") && !message.contains("token-"),
        "{message}"
    );
    // The expired key with a wrong token is not recognized at all.
    let mut wrong_token = expired.clone();
    wrong_token.session_token = Some("another-token".into());
    signed_with(&wrong_token)
        .call("/getDataEndpoint", endpoint_body())
        .await
        .assert_error(403, "UnrecognizedClientException");

    keys.remove("ASIAFRESH");
    signed_with(&fresh)
        .call("/getDataEndpoint", endpoint_body())
        .await
        .assert_error(403, "UnrecognizedClientException");
    emulator.shutdown().await;
}

/// A key given to `credentials` with an expiry is accepted until then
/// (here: already past, so refused as expired), and `credentials` plus
/// `key_store` accept both.
#[tokio::test]
async fn builder_credentials_and_a_store_together() {
    let keys = KeyStore::with_keys([Credentials::new("AKIDSTORE", "store-secret")]);
    let emulator = Emulator::builder()
        .stream("cam", Path::new("testdata/sample.mkv"))
        .credentials(Credentials::new("AKIDBUILDER", "builder-secret"))
        .key_store(keys)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::new(&emulator);
    assert_eq!(client.credentials.access_key_id, "AKIDBUILDER");
    for c in [
        Credentials::new("AKIDBUILDER", "builder-secret"),
        Credentials::new("AKIDSTORE", "store-secret"),
    ] {
        let reply = client
            .with_credentials(c)
            .call("/getDataEndpoint", endpoint_body())
            .await;
        assert_eq!(reply.status, 200);
    }
    emulator.shutdown().await;

    let past = SystemTime::now() - Duration::from_secs(5);
    let emulator = Emulator::builder()
        .stream("cam", Path::new("testdata/sample.mkv"))
        .credentials(temporary("ASIAPAST", past))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    Client::new(&emulator)
        .call("/getDataEndpoint", endpoint_body())
        .await
        .assert_error(403, "ExpiredTokenException");
    emulator.shutdown().await;
}
