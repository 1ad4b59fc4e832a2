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

/// Sends `signal` (e.g. "STOP", "CONT") to `operator`.
fn signal(operator: &Operator, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(operator.pid().to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal}");
}

/// `(name, resourceVersion)` of every object `api` lists.
async fn versions<K>(api: &Api<K>) -> BTreeMap<String, String>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|o| {
            (
                o.meta().name.clone().unwrap_or_default(),
                o.meta().resource_version.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// Issue 18: a leader paused mid-reconcile (as by a long stall) wakes up after a standby took the
/// Lease, with answers from Bitbucket waiting for it. It must write nothing: not the Secrets the new
/// leader rendered, not their statuses, no Event.
#[tokio::test]
async fn a_former_leader_writes_nothing_after_the_new_one_starts() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "fence").await;
    // Two simulators: what each leader renders names its own (the git URL's port).
    let (world_a, world_b) = (World::start().await, World::start().await);
    let leases: Api<Lease> = ns.api();
    let tokens: Api<BitbucketToken> = ns.api();
    let secrets: Api<Secret> = ns.api();
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
        &world_a.sim,
        &flags,
        &[("POD_NAME", "op-a")],
    );
    wait_until("op-a holds the Lease", WAIT, || async {
        (holder(&leases).await.as_deref() == Some("op-a")).then_some(())
    })
    .await;
    let second = Operator::start_as(
        kubeconfig,
        &ns.name,
        &world_b.sim,
        &flags,
        &[("POD_NAME", "op-b")],
    );
    wait_until("op-b stands by", WAIT, || async {
        second.logs().contains("standing by").then_some(())
    })
    .await;
    let source: Secret = serde_json::from_value(json!({
        "metadata": {"name": "source"},
        "stringData": {"token": world_a.secret("rat-rw")},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &source)
        .await
        .expect("token Secret");
    // op-a's Bitbucket answers slowly: its reconciles are in flight when it is paused.
    world_a
        .sim
        .set_fault(bitbucket_simulator::Fault::Slow(Duration::from_secs(4)));
    const K: usize = 5;
    let names: Vec<String> = (0..K).map(|i| format!("fenced-{i}")).collect();
    for name in &names {
        create_token(&tokens, name).await;
    }
    wait_until("op-a asks Bitbucket", WAIT, || async {
        (world_a.sim.request_count() > 0).then_some(())
    })
    .await;
    signal(&first, "STOP");
    wait_until("op-b holds the Lease", WAIT, || async {
        (holder(&leases).await.as_deref() == Some("op-b")).then_some(())
    })
    .await;
    let marker_b = format!("localhost:{}", world_b.sim.port());
    for name in &names {
        wait_ready(&tokens, name).await;
        let marker = marker_b.clone();
        wait_for(
            &secrets,
            &format!("{name}-git"),
            WAIT,
            move |s: Option<&Secret>| {
                s.and_then(|s| s.data.as_ref()).is_some_and(|d| {
                    d.values()
                        .any(|v| String::from_utf8_lossy(&v.0).contains(&marker))
                })
            },
        )
        .await;
    }
    let (secrets_before, tokens_before) = (versions(&secrets).await, versions(&tokens).await);
    // op-a wakes up: Bitbucket's answers are waiting for it, and it still believes it leads.
    signal(&first, "CONT");
    let deadline = Instant::now() + WAIT;
    while !first.has_exited() {
        assert!(
            Instant::now() < deadline,
            "op-a did not stop:\n{}",
            first.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        versions(&secrets).await,
        secrets_before,
        "no Secret was written after op-b took over:\n{}",
        first.logs()
    );
    assert_eq!(
        versions(&tokens).await,
        tokens_before,
        "no status was written after op-b took over"
    );
    let from_a: Vec<_> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reporting_instance.as_deref() == Some("op-a"))
        .map(|e| e.reason)
        .collect();
    assert!(from_a.is_empty(), "Events from op-a: {from_a:?}");
    assert!(
        first
            .logs()
            .contains("another replica holds the leader Lease"),
        "{}",
        first.logs()
    );
    drop(second);
    ns.delete().await;
}
