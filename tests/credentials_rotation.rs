//! Credentials that rotate, with real parts on loopback (issue G): a live
//! emulator that accepts only unexpired keys, a container-credentials
//! endpoint that hands out a new key pair living 3 s on every call, and a
//! GetMedia tail across at least three rotations through a provider
//! written without the AWS SDK (`rotation_support::ContainerEndpoint`).
//! The same rig through the AWS SDK's own chain is
//! `credentials_aws_config.rs` (feature `aws-config`).

mod rotation_support;

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use kvs_mkv::client::{Api, Client, ClientConfig, ServiceErrorKind, StreamId};
use rotation_support::{check_once_in_order, client, listing, tail, ContainerEndpoint, Rig};

fn own_provider(rig: &Rig) -> Client {
    let provider = ContainerEndpoint {
        url: rig.endpoint.url.clone(),
    };
    client(
        rig,
        ClientConfig::with_credentials_provider(rig.emulator.region(), provider),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_across_rotations_with_a_provider_of_our_own() {
    let rig = Rig::start().await;
    let client = own_provider(&rig);
    let got = tokio::time::timeout(Duration::from_secs(180), tail(&client))
        .await
        .expect("hang guard");
    let stats = client.credentials().stats();
    let issued = rig.endpoint.issued.load(Ordering::SeqCst);
    eprintln!(
        "rotation (own provider): {} fragments, {} reconnects, {issued} keys issued, cache {stats:?}",
        got.numbers.len(),
        got.reconnects,
    );
    // Each reconnect came after the service ended a session that outlived
    // its key, and needed a new key: three rotations, four keys at least,
    // each fetched by the client's cache.
    assert!(got.reconnects >= 3, "{got:?}");
    assert!(got.failed_reconnects.is_empty(), "{got:?}");
    assert!(issued >= 4, "{issued} keys issued");
    assert_eq!(stats.refreshes, issued);
    assert_eq!(rig.endpoint.refused.load(Ordering::SeqCst), 0);

    // The listing, with a key of its own from the endpoint.
    check_once_in_order(&got.numbers, &listing(&own_provider(&rig)).await);

    // The first key has expired, and the emulator says so (to a client
    // that does not know: its own cache would not send it).
    let mut first = rig.keys.get("ASIAROTATED0001").unwrap();
    assert!(first.is_expired_at(SystemTime::now()));
    first.expires_at = None;
    let stale = Client::new(
        ClientConfig::new(rig.emulator.region(), first).with_endpoint_url(rig.emulator.url()),
    )
    .unwrap();
    let err = stale
        .data_endpoint(&StreamId::Name("cam".into()), Api::GetMedia)
        .await
        .unwrap_err();
    assert_eq!(
        err.service().map(|s| &s.kind),
        Some(&ServiceErrorKind::ExpiredToken),
        "{err}"
    );
    rig.emulator.shutdown().await;
}
