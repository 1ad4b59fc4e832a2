//! Run-time steering: revocation, added tokens, faults, listener stop/resume, request
//! recording, the control API, TLS and fixture loading.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use bitbucket_simulator::{
    AuthSeen, Fault, Fixture, Platform, SimTokenKind, Simulator, TokenFixture, dc_token_id,
};
use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn revoke_and_restore_on_both_platforms() {
    let h = Harness::start().await;
    let cloud = h.cloud("/repositories/acme/api");
    let dc = h.dc("/api/latest/projects/OPS/repos/deploy");
    h.sim.revoke("wat");
    h.sim.revoke("dc-project");
    assert_eq!(
        h.bearer(&cloud, WAT).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let dc_revoked = h.bearer(&dc, &dc_project()).await;
    assert_eq!(dc_revoked.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&dc_revoked, "x-ausername"), None);
    h.sim.restore("wat");
    h.sim.restore("dc-project");
    assert_eq!(h.bearer(&cloud, WAT).await.status(), StatusCode::OK);
    assert_eq!(h.bearer(&dc, &dc_project()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn tokens_added_at_run_time_work_immediately() {
    let h = Harness::start().await;
    let url = h.cloud("/repositories/acme/api");
    let rotated = "ATCTT3xFfGN0-rotated";
    assert_eq!(
        h.bearer(&url, rotated).await.status(),
        StatusCode::UNAUTHORIZED
    );
    h.sim.add_token(TokenFixture {
        name: "rotated".into(),
        secret: rotated.into(),
        kind: SimTokenKind::RepositoryAccessToken,
        workspace: Some("acme".into()),
        repository: Some("api".into()),
        scopes: vec!["repository".into()],
        ..Default::default()
    });
    assert_eq!(h.bearer(&url, rotated).await.status(), StatusCode::OK);
    // The first request came before the token existed, so it is not attributed.
    assert_eq!(h.sim.requests_for_token("rotated"), 1);
}

#[tokio::test]
async fn error_faults_replace_every_api_answer() {
    let h = Harness::start().await;
    let cloud = h.cloud("/repositories/acme/api");
    let dc = h.dc("/api/latest/application-properties");
    for (fault, status) in [
        (Fault::ServiceUnavailable, StatusCode::SERVICE_UNAVAILABLE),
        (Fault::InternalError, StatusCode::INTERNAL_SERVER_ERROR),
    ] {
        h.sim.set_fault(fault);
        assert_eq!(h.bearer(&cloud, WAT).await.status(), status);
        assert_eq!(h.anonymous(&dc).await.status(), status);
    }
    h.sim.set_fault(Fault::GarbageBody);
    let garbage = h.bearer(&cloud, WAT).await;
    assert_eq!(garbage.status(), StatusCode::OK);
    let text = garbage.text().await.expect("body");
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());

    h.sim.set_fault(Fault::RateLimited {
        retry_after: Some(7),
    });
    let limited = h.anonymous(&dc).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "retry-after"), Some("7"));
    h.sim.set_fault(Fault::RateLimited { retry_after: None });
    let limited = h.bearer(&cloud, WAT).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "retry-after"), None);

    h.sim.set_fault(Fault::None);
    assert_eq!(h.bearer(&cloud, WAT).await.status(), StatusCode::OK);
    // Faulted requests are still recorded.
    assert_eq!(h.sim.request_count(), 8);
}

#[tokio::test]
async fn slow_fault_delays_answers() {
    let h = Harness::start().await;
    let url = h.cloud("/repositories/acme/api");
    h.sim.set_fault(Fault::Slow(Duration::from_millis(300)));
    let started = Instant::now();
    assert_eq!(h.bearer(&url, WAT).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let timed_out = h
        .client
        .get(&url)
        .bearer_auth(WAT)
        .timeout(Duration::from_millis(50))
        .send()
        .await;
    assert!(timed_out.is_err_and(|e| e.is_timeout()));
}

#[tokio::test]
async fn stop_listening_refuses_connections_until_resumed_on_the_same_port() {
    let h = Harness::start().await;
    let url = h.dc("/api/latest/application-properties");
    let port = h.sim.port();
    assert_eq!(h.anonymous(&url).await.status(), StatusCode::OK);
    h.sim.stop_listening().await;
    assert!(!h.sim.is_listening().await);
    let refused = h.client.get(&url).send().await;
    assert!(refused.is_err_and(|e| e.is_connect()));
    h.sim.stop_listening().await; // idempotent
    h.sim.resume_listening().await.expect("listens again");
    assert_eq!(h.sim.port(), port);
    assert_eq!(h.anonymous(&url).await.status(), StatusCode::OK);
    h.sim.clone().shutdown().await;
    assert!(h.client.get(&url).send().await.is_err());
}

#[tokio::test]
async fn requests_are_recorded_without_secrets() {
    let h = Harness::start().await;
    h.bearer(&h.cloud("/repositories/acme/api?fields=slug"), RAT)
        .await;
    h.basic(&h.cloud("/user"), EMAIL, API_TOKEN).await;
    h.bearer(&h.dc("/api/latest/repos?name=x"), &dc_project())
        .await;
    h.bearer(&h.cloud("/repositories/acme/api"), "unknown")
        .await;
    h.anonymous(&format!("https://localhost:{}/elsewhere", h.sim.port()))
        .await;
    let requests = h.sim.requests();
    assert_eq!(requests.len(), 5);
    assert_eq!(h.sim.request_count(), 5);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/2.0/repositories/acme/api");
    assert_eq!(requests[0].query.as_deref(), Some("fields=slug"));
    assert_eq!(requests[0].platform, Platform::Cloud);
    assert_eq!(requests[0].auth, AuthSeen::Bearer);
    assert_eq!(requests[0].token_name.as_deref(), Some("rat"));
    assert_eq!(
        requests[1].auth,
        AuthSeen::Basic {
            user: EMAIL.to_owned()
        }
    );
    assert_eq!(requests[2].platform, Platform::DataCenter);
    assert_eq!(requests[2].token_name.as_deref(), Some("dc-project"));
    assert_eq!(requests[3].token_name, None);
    assert_eq!(requests[4].platform, Platform::Unknown);
    assert_eq!(requests[4].auth, AuthSeen::None);
    assert!(!format!("{requests:?}").contains(RAT));
    assert_eq!(h.sim.requests_for_token("rat"), 1);
    assert_eq!(h.sim.requests_for_token("api-token"), 1);
    h.sim.reset_requests();
    assert_eq!(h.sim.request_count(), 0);
}

#[tokio::test]
async fn control_api_steers_the_simulator_and_is_never_faulted() {
    let h = Harness::start().await;
    let control = |path: &str| format!("https://localhost:{}/_sim{path}", h.sim.port());
    let url = h.cloud("/repositories/acme/api");
    let post = |path: &str, body: &'static str| h.client.post(control(path)).body(body).send();

    assert_eq!(
        post("/tokens/wat/revoke", "")
            .await
            .expect("revoke")
            .status(),
        StatusCode::OK
    );
    assert_eq!(h.bearer(&url, WAT).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        post("/tokens/wat/restore", "")
            .await
            .expect("restore")
            .status(),
        StatusCode::OK
    );
    assert_eq!(h.bearer(&url, WAT).await.status(), StatusCode::OK);
    assert_eq!(
        post("/tokens/nobody/revoke", "")
            .await
            .expect("revoke")
            .status(),
        StatusCode::NOT_FOUND
    );

    assert_eq!(
        post("/fault", "unavailable").await.expect("fault").status(),
        StatusCode::OK
    );
    assert_eq!(h.sim.fault(), Fault::ServiceUnavailable);
    assert_eq!(
        h.bearer(&url, WAT).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let counts = h
        .client
        .get(control("/requests"))
        .send()
        .await
        .expect("counts");
    assert_eq!(counts.status(), StatusCode::OK);
    let counts = json(counts).await;
    assert_eq!(counts["total"], 3);
    assert_eq!(counts["perToken"]["wat"], 3);
    assert_eq!(counts["perToken"]["rat"], 0);
    assert_eq!(
        post("/fault", "slow:5").await.expect("fault").status(),
        StatusCode::OK
    );
    assert_eq!(h.sim.fault(), Fault::Slow(Duration::from_millis(5)));
    assert_eq!(
        post("/fault", "bogus").await.expect("fault").status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post("/fault", "none").await.expect("fault").status(),
        StatusCode::OK
    );
    assert_eq!(h.sim.request_count(), 3, "control calls are not recorded");
}

#[tokio::test]
async fn serving_certificate_is_valid_for_127_0_0_1_too() {
    let h = Harness::start().await;
    let url = format!(
        "https://127.0.0.1:{}/2.0/repositories/acme/docs",
        h.sim.port()
    );
    assert_eq!(h.anonymous(&url).await.status(), StatusCode::OK);
    assert!(h.sim.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    // A client trusting another simulator's CA must fail the handshake.
    let other = Simulator::start(Fixture::default()).await.expect("starts");
    let stranger = client_for(&other);
    assert!(stranger.get(&url).send().await.is_err());
}

#[tokio::test]
async fn demo_fixture_loads_and_covers_every_kind() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo.yaml");
    let fixture = Fixture::from_yaml_file(&path).expect("demo fixture parses");
    for kind in [
        SimTokenKind::RepositoryAccessToken,
        SimTokenKind::ProjectAccessToken,
        SimTokenKind::WorkspaceAccessToken,
        SimTokenKind::ApiToken,
        SimTokenKind::AppPassword,
        SimTokenKind::DcPersonal,
        SimTokenKind::DcProject,
        SimTokenKind::DcRepository,
    ] {
        assert!(fixture.tokens.iter().any(|t| t.kind == kind), "{kind:?}");
    }
    for token in fixture.tokens.iter().filter(|t| t.kind.is_data_center()) {
        assert!(dc_token_id(&token.secret).is_some(), "{}", token.name);
    }
    let h = Harness::with_fixture(fixture).await;
    let ok = h
        .basic(
            &h.cloud("/repositories/acme/api"),
            "jane.doe@example.com",
            "ATATT3xFfGF0demo-api-token-0004",
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn yaml_defaults_and_validation() {
    let fixture = Fixture::from_yaml_str(
        "tokens:\n  - name: t\n    secret: s\n    kind: dcProject\n    project: OPS\n",
    )
    .expect("parses");
    assert_eq!(fixture.data_center.context_path, "/bitbucket");
    assert!(fixture.tokens[0].dc_record_readable);
    assert_eq!(fixture.tokens[0].kind, SimTokenKind::DcProject);
    let duplicate = Fixture::from_yaml_str(
        "tokens:\n  - {name: t, secret: a, kind: DcProject, project: X}\n  - {name: t, secret: b, kind: DcProject, project: X}\n",
    )
    .expect("parses");
    assert!(Simulator::start(duplicate).await.is_err());
    let orphan =
        Fixture::from_yaml_str("tokens:\n  - {name: t, secret: a, kind: apiToken, user: ghost}\n")
            .expect("parses");
    assert!(orphan.validate().is_err());
}

#[tokio::test]
async fn root_context_path_and_fixed_port() {
    let probe = Simulator::start(Fixture::default()).await.expect("starts");
    let port = probe.port();
    probe.shutdown().await;
    let mut fixture = Fixture {
        port: Some(port),
        ..Default::default()
    };
    fixture.data_center.context_path = String::new();
    let h = Harness::with_fixture(fixture).await;
    assert_eq!(h.sim.port(), port);
    assert_eq!(h.sim.dc_base_url(), format!("https://localhost:{port}"));
    assert_eq!(
        h.sim.cloud_api_url(),
        format!("https://localhost:{port}/2.0")
    );
    let props = h.anonymous(&h.dc("/api/1.0/application-properties")).await;
    assert_eq!(props.status(), StatusCode::OK);
}
