//! Leader election with two operator processes on one control plane: only the Lease holder
//! reconciles and writes; when it stops, the standby takes over.

use crate::support;
use crate::world;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use bitbucket_token_operator::api::BitbucketToken;
use k8s_openapi::api::{coordination::v1::Lease, core::v1::Secret, events::v1::Event};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use support::{TestNamespace, client, ensure_crd, operator::Operator, wait_for, wait_until};
use world::World;

const WAIT: Duration = Duration::from_secs(30);
const LEASE: &str = "bto-leader-test";

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases
        .get_opt(LEASE)
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
}

async fn get(url: String) -> Option<(u16, String)> {
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

/// The value of an unlabelled metric, from the operator's /metrics.
async fn metric(operator: &Operator, name: &str) -> Option<f64> {
    let addr = operator.http_addr()?;
    let (_, text) = get(format!("http://{addr}/metrics")).await?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

async fn create_token(tokens: &Api<BitbucketToken>, name: &str) {
    let object: BitbucketToken = serde_json::from_value(json!({
        "apiVersion": "bitbucket-token-operator.io/v1beta1",
        "kind": "BitbucketToken",
        "metadata": {"name": name},
        "spec": {
            "token": {"kind": "RepositoryAccessToken", "secretRef": {"name": "source", "key": "token"}},
            "access": {"workspace": "acme", "repositories": ["payments"], "permission": "Read"},
            "target": {"formats": ["GitConfig"]},
        },
    }))
    .expect("BitbucketToken");
    tokens
        .create(&PostParams::default(), &object)
        .await
        .expect("create BitbucketToken");
}

async fn wait_ready(tokens: &Api<BitbucketToken>, name: &str) {
    wait_for(tokens, name, WAIT, |o: Option<&BitbucketToken>| {
        o.and_then(|o| o.status.as_ref()).is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    })
    .await;
}

/// Who reported the SecretRendered Event of `name`.
async fn rendered_by(events: &Api<Event>, name: &str) -> String {
    wait_until(&format!("SecretRendered for {name}"), WAIT, || async {
        events
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .find(|e| {
                e.reason.as_deref() == Some("SecretRendered")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
            })
            .and_then(|e| e.reporting_instance)
    })
    .await
}

#[tokio::test]
async fn only_the_leader_writes_and_a_standby_takes_over() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "leader").await;
    let world = World::start().await;
    let leases: Api<Lease> = ns.api();
    let tokens: Api<BitbucketToken> = ns.api();
    let events: Api<Event> = ns.api();
    let lease_namespace = format!("--leader-election-namespace={}", ns.name);
    let lease_name = format!("--leader-election-lease-name={LEASE}");
    let flags = [
        "--leader-elect",
        lease_namespace.as_str(),
        lease_name.as_str(),
        "--leader-election-lease-duration=3s",
    ];
    let kubeconfig = support::cluster::kubeconfig_path();
    let mut first = Operator::start_as(
        kubeconfig,
        &ns.name,
        &world.sim,
        &flags,
        &[("POD_NAME", "op-a")],
    );
    wait_until("op-a holds the Lease", WAIT, || async {
        (holder(&leases).await.as_deref() == Some("op-a")).then_some(())
    })
    .await;
    let mut second = Operator::start_as(
        kubeconfig,
        &ns.name,
        &world.sim,
        &flags,
        &[("POD_NAME", "op-b")],
    );
    wait_until("op-b stands by", WAIT, || async {
        second.logs().contains("standing by").then_some(())
    })
    .await;
    // The standby is ready (to take over) but runs no controller.
    let addr = wait_until("op-b serves HTTP", WAIT, || async { second.http_addr() }).await;
    let (status, body) = get(format!("http://{addr}/readyz")).await.expect("readyz");
    assert_eq!((status, body.as_str()), (200, "ok: standby"));

    let secrets: Api<Secret> = ns.api();
    let source = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("source".into()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([(
            "token".to_string(),
            world.secret("rat-rw"),
        )])),
        ..Secret::default()
    };
    secrets
        .create(&PostParams::default(), &source)
        .await
        .expect("token Secret");
    create_token(&tokens, "before").await;
    wait_ready(&tokens, "before").await;
    assert_eq!(rendered_by(&events, "before").await, "op-a");
    assert_eq!(holder(&leases).await.as_deref(), Some("op-a"));
    assert!(metric(&first, "bitbucket_token_operator_reconcile_total").await >= Some(1.0));
    assert_eq!(
        metric(&first, "bitbucket_token_operator_leader").await,
        Some(1.0)
    );
    assert_eq!(
        metric(&second, "bitbucket_token_operator_reconcile_total").await,
        Some(0.0)
    );
    assert_eq!(
        metric(&second, "bitbucket_token_operator_leader").await,
        Some(0.0)
    );
    assert!(!second.logs().contains("acquired the leader Lease"));

    // Stop the leader as Kubernetes would; the standby takes over.
    let stopped = Instant::now();
    let exit = first.stop();
    assert!(exit.success(), "op-a exit {exit:?}:\n{}", first.logs());
    assert!(
        first.logs().contains("released the leader Lease"),
        "{}",
        first.logs()
    );
    wait_until("op-b holds the Lease", WAIT, || async {
        (holder(&leases).await.as_deref() == Some("op-b")).then_some(())
    })
    .await;
    let failover = stopped.elapsed();
    create_token(&tokens, "after").await;
    wait_ready(&tokens, "after").await;
    let reconciled = stopped.elapsed();
    assert_eq!(rendered_by(&events, "after").await, "op-b");
    assert_eq!(
        metric(&second, "bitbucket_token_operator_leader").await,
        Some(1.0)
    );
    eprintln!(
        "leader failover (lease 3s): the standby held the Lease {:.2}s after SIGTERM to the leader; \
         a new BitbucketToken was Ready {:.2}s after it",
        failover.as_secs_f64(),
        reconciled.as_secs_f64()
    );
    assert!(!second.has_exited());
    let exit = second.stop();
    assert!(exit.success(), "op-b exit {exit:?}:\n{}", second.logs());
    ns.delete().await;
}
