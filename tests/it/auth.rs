//! Connecting to a NATS that demands credentials: token, user/password, mutual TLS.
//! Wrong credentials leave trustpath up and say why on /readyz.

use std::path::Path;

use async_nats::jetstream;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

use crate::harness::{NatsServer, TestApp, test_config, wait_for_counts, wait_until_ready};
use trustpath::config::Config;

async fn assert_consumes(config: Config, publisher: async_nats::Client) {
    let app = TestApp::start(config).await;
    wait_until_ready(&app.http, &app.base).await;
    let js = jetstream::new(publisher);
    js.publish("trustpath.in.native.auth", crate::event("auth-1").into())
        .await
        .unwrap()
        .await
        .unwrap();
    wait_for_counts(&app, 1, 0).await;
    app.stop().await;
}

#[tokio::test]
async fn token_authentication() {
    let nats = NatsServer::start_with(&["--auth", "s3cret-token"]);
    let dir = tempfile::tempdir().unwrap();

    let mut wrong = test_config(dir.path());
    wrong.nats.url = Some(nats.url());
    wrong.nats.token = Some("wrong".into());
    wrong.store.path = dir.path().join("wrong.duckdb");
    let app = TestApp::start(wrong).await;
    // Long enough for a right token to connect and set up the consumer (see below).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (status, readiness) = app.get("/readyz").await;
    assert_eq!(status, 503, "{readiness}");
    assert_eq!(
        app.get("/healthz").await.0,
        200,
        "bad credentials never stop the service"
    );
    app.stop().await;

    let mut config = test_config(dir.path());
    config.nats.url = Some(nats.url());
    config.nats.token = Some("s3cret-token".into());
    let publisher = async_nats::ConnectOptions::with_token("s3cret-token".into())
        .connect(nats.url())
        .await
        .unwrap();
    assert_consumes(config, publisher).await;
}

#[tokio::test]
async fn user_and_password_authentication() {
    let nats = NatsServer::start_with(&["--user", "trustpath", "--pass", "pa55word"]);
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.nats.url = Some(nats.url());
    config.nats.user = Some("trustpath".into());
    config.nats.password = Some("pa55word".into());
    let publisher =
        async_nats::ConnectOptions::with_user_and_password("trustpath".into(), "pa55word".into())
            .connect(nats.url())
            .await
            .unwrap();
    assert_consumes(config, publisher).await;
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `dir`.
fn write_pki(dir: &Path) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    for (name, san) in [("server", "127.0.0.1"), ("client", "trustpath")] {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![san.to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}-key.pem")), key.serialize_pem()).unwrap();
    }
}

#[tokio::test]
async fn mutual_tls() {
    let pki = tempfile::tempdir().unwrap();
    write_pki(pki.path());
    let file = |name: &str| pki.path().join(name).display().to_string();
    let nats = NatsServer::start_with(&[
        "--tlsverify",
        "--tlscert",
        &file("server.pem"),
        "--tlskey",
        &file("server-key.pem"),
        "--tlscacert",
        &file("ca.pem"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.nats.url = Some(nats.url());
    config.nats.tls_required = true;
    config.nats.tls_ca_file = Some(pki.path().join("ca.pem"));
    config.nats.tls_cert_file = Some(pki.path().join("client.pem"));
    config.nats.tls_key_file = Some(pki.path().join("client-key.pem"));
    let publisher = async_nats::ConnectOptions::new()
        .require_tls(true)
        .add_root_certificates(pki.path().join("ca.pem"))
        .add_client_certificate(
            pki.path().join("client.pem"),
            pki.path().join("client-key.pem"),
        )
        .connect(nats.url())
        .await
        .unwrap();
    assert_consumes(config, publisher).await;
}
