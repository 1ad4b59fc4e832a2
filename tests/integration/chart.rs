//! The Helm chart and the plain manifests: rendering under Helm 3 and 4, the values schema,
//! installs on the control plane, and the chart's RBAC proven sufficient (the operator runs with a
//! token of the chart's ServiceAccount) and no broader than needed (`kubectl auth can-i`).

use crate::support;
use crate::world;

use std::{collections::BTreeMap, time::Duration};

use bitbucket_token_operator::api::BitbucketToken;
use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        core::v1::{Secret, ServiceAccount as ServiceAccountObject},
        events::v1::Event,
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};
use support::{
    TestNamespace, client, ensure_crd,
    helm::{Helm, ServiceAccount, chart_dir, fullname, parse_objects, service_account_kubeconfig},
    kubectl,
    operator::Operator,
    wait_for, wait_until,
};
use world::World;

const WAIT: Duration = Duration::from_secs(30);
const CRD_NAME: &str = "bitbuckettokens.bitbucket-token-operator.io";

fn kinds(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn container_args(objects: &[Value]) -> Vec<String> {
    let deployment = find(objects, "Deployment")[0];
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn lint_and_default_rendering_under_helm3_and_helm4() {
    let chart = chart_dir();
    let chart = chart.to_str().unwrap();
    for helm in Helm::ALL {
        helm.ok(&["lint", chart, "--strict"]);
        let objects = helm.template("rel", "ops", &[]);
        let kinds = kinds(&objects);
        for kind in [
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "Deployment",
            "Service",
            "CustomResourceDefinition",
        ] {
            assert!(
                kinds.contains(&kind.to_string()),
                "{helm:?}: no {kind} in {kinds:?}"
            );
        }
        for kind in ["ServiceMonitor", "PodDisruptionBudget", "NetworkPolicy"] {
            assert!(
                !kinds.contains(&kind.to_string()),
                "{helm:?}: {kind} is off by default"
            );
        }
        let crd = find(&objects, "CustomResourceDefinition")[0];
        assert_eq!(
            crd["metadata"]["annotations"]["helm.sh/resource-policy"],
            "keep"
        );
        assert_eq!(crd["metadata"]["name"], CRD_NAME);
        // The only Role is the leader-election one, limited to the one Lease.
        let roles = find(&objects, "Role");
        assert_eq!(roles.len(), 1);
        assert_eq!(roles[0]["metadata"]["namespace"], "ops");
        assert_eq!(
            roles[0]["rules"][1]["resourceNames"],
            json!(["rel-bitbucket-token-operator"])
        );
        let deployment = find(&objects, "Deployment")[0];
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let security = &container["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert!(container["resources"]["requests"]["memory"].is_string());
        assert!(container["resources"]["limits"]["memory"].is_string());
        assert_eq!(
            container["image"],
            format!(
                "ghcr.io/bitbucket-token-operator/bitbucket-token-operator:{}",
                env!("CARGO_PKG_VERSION")
            )
        );
        let args = container_args(&objects);
        for expected in [
            "run",
            "--leader-elect",
            "--leader-election-namespace=ops",
            "--metrics-addr=0.0.0.0:8080",
        ] {
            assert!(args.contains(&expected.to_string()), "{helm:?}: {args:?}");
        }
        assert!(!args.iter().any(|a| a.starts_with("--namespaces")));
    }
}

#[test]
fn non_default_values_render_under_helm3_and_helm4() {
    for helm in Helm::ALL {
        let sets = [
            "watchNamespaces={team-a,team-b}",
            "leaderElection.enabled=false",
            "extraCABundle.kind=ConfigMap",
            "extraCABundle.name=corp-ca",
            "allowedDataCenterHosts={git.example.com,git2.example.com:8443}",
            "podDisruptionBudget.enabled=true",
            "networkPolicy.enabled=true",
            "serviceMonitor.enabled=true",
            "crds.enabled=false",
            "replicaCount=2",
        ];
        let chart = chart_dir();
        let mut lint = vec!["lint", chart.to_str().unwrap(), "--strict"];
        for set in &sets {
            lint.extend(["--set", set]);
        }
        helm.ok(&lint);
        let objects = helm.template("rel", "ops", &sets);
        let kinds = kinds(&objects);
        for kind in ["PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"] {
            assert!(kinds.contains(&kind.to_string()), "{helm:?}: no {kind}");
        }
        for kind in [
            "ClusterRole",
            "ClusterRoleBinding",
            "CustomResourceDefinition",
        ] {
            assert!(
                !kinds.contains(&kind.to_string()),
                "{helm:?}: {kind} rendered"
            );
        }
        // A Role and a RoleBinding per watched namespace; no leader-election Role.
        let roles: Vec<_> = find(&objects, "Role")
            .iter()
            .map(|r| r["metadata"]["namespace"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(roles, ["team-a", "team-b"], "{helm:?}");
        assert_eq!(find(&objects, "RoleBinding").len(), 2);
        for binding in find(&objects, "RoleBinding") {
            assert_eq!(binding["subjects"][0]["namespace"], "ops");
        }
        let args = container_args(&objects);
        for expected in [
            "--namespaces=team-a,team-b",
            "--allowed-dc-host=git.example.com,git2.example.com:8443",
            "--extra-ca-file=/etc/bitbucket-token-operator/extra-ca/ca.crt",
        ] {
            assert!(args.contains(&expected.to_string()), "{helm:?}: {args:?}");
        }
        assert!(
            !args.iter().any(|a| a.starts_with("--leader-elect")),
            "{args:?}"
        );
        let deployment = find(&objects, "Deployment")[0];
        assert_eq!(deployment["spec"]["replicas"], 2);
        assert_eq!(
            deployment["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"],
            "corp-ca"
        );
        assert_eq!(
            find(&objects, "PodDisruptionBudget")[0]["spec"]["minAvailable"],
            1
        );
    }
}

#[test]
fn the_values_schema_rejects_bad_values() {
    for helm in Helm::ALL {
        for bad in [
            "logFormat=xml",
            "replicaCount=-1",
            "watchNamespaces={Not_A_Namespace}",
            "extraCABundle.kind=Volume",
            "leaderElection.leaseDuration=soon",
            "bitbucketRequestsPerSecond=0",
            "image.pullPolicy=Sometimes",
            "noSuchValue=1",
        ] {
            let chart = chart_dir();
            let output = helm.run(&["template", "rel", chart.to_str().unwrap(), "--set", bad]);
            assert!(!output.status.success(), "{helm:?} accepted {bad}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains("schema"), "{helm:?} {bad}: {stderr}");
        }
    }
}

/// A BitbucketToken, its token Secret, and the reconcile scenario: run by an operator that holds
/// only a token of the chart's ServiceAccount.
async fn rbac_scenario(
    release: &str,
    release_namespace: &str,
    watched: &TestNamespace,
    leader_election: bool,
) {
    let world = World::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = service_account_kubeconfig(dir.path(), release_namespace, &fullname(release));
    let lease_namespace = format!("--leader-election-namespace={release_namespace}");
    let lease_name = format!("--leader-election-lease-name={}", fullname(release));
    let mut flags = vec![];
    if leader_election {
        flags.extend(["--leader-elect", &lease_namespace, &lease_name]);
    }
    let mut operator = Operator::start_as(&kubeconfig, &watched.name, &world.sim, &flags, &[]);
    let secrets: Api<Secret> = watched.api();
    let tokens: Api<BitbucketToken> = watched.api();
    let token = world.secret("rat-rw");
    let source = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("source".into()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([("token".to_string(), token.clone())])),
        ..Secret::default()
    };
    secrets
        .create(&PostParams::default(), &source)
        .await
        .expect("create the token Secret");
    let bbt: BitbucketToken = serde_json::from_value(json!({
        "apiVersion": "bitbucket-token-operator.io/v1beta1",
        "kind": "BitbucketToken",
        "metadata": {"name": "ci"},
        "spec": {
            "token": {"kind": "RepositoryAccessToken", "secretRef": {"name": "source", "key": "token"}},
            "access": {"workspace": "acme", "repositories": ["payments"], "permission": "Write"},
            "target": {"formats": ["GitConfig"]},
        },
    }))
    .expect("BitbucketToken");
    tokens
        .create(&PostParams::default(), &bbt)
        .await
        .expect("create the BitbucketToken");
    let ready = wait_for(&tokens, "ci", WAIT, |o: Option<&BitbucketToken>| {
        o.and_then(|o| o.status.as_ref()).is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    })
    .await
    .expect("the BitbucketToken exists");
    let status = ready.status.expect("status");
    assert_eq!(status.secret_name.as_deref(), Some("ci-git"));
    assert_eq!(status.observed_generation, ready.metadata.generation);
    let rendered = secrets.get("ci-git").await.expect("the rendered Secret");
    assert!(rendered.data.unwrap_or_default().contains_key(".gitconfig"));
    let events: Api<Event> = watched.api();
    wait_until("a SecretRendered Event", WAIT, || async {
        events
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("SecretRendered"))
    })
    .await;
    // Changing the Secret's type makes the operator delete and recreate its own Secret.
    tokens
        .patch(
            "ci",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"target": {"formats": ["BasicAuth"]}}})),
        )
        .await
        .expect("switch to basicAuth");
    wait_for(&secrets, "ci-git", WAIT, |s: Option<&Secret>| {
        s.is_some_and(|s| s.type_.as_deref() == Some("kubernetes.io/basic-auth"))
    })
    .await;
    let logs = operator.logs();
    assert!(
        !logs.to_lowercase().contains("forbidden"),
        "RBAC refused something:\n{logs}"
    );
    assert!(!logs.contains(&token), "the token leaked into the log");
    let status = operator.stop();
    assert!(status.success(), "exit {status:?}:\n{}", operator.logs());
}

/// Default values (cluster-wide RBAC), installed with Helm 4 (server-side apply).
#[tokio::test]
async fn the_cluster_wide_rbac_is_enough_and_no_broader() {
    let client = client().await;
    ensure_crd(&client).await;
    let release_ns = TestNamespace::create(&client, "chart-cw").await;
    let watched = TestNamespace::create(&client, "chart-cw-work").await;
    let release = release_ns.name.clone();
    let chart = chart_dir();
    Helm::V4.ok(&[
        "install",
        &release,
        chart.to_str().unwrap(),
        "-n",
        &release_ns.name,
        "--set",
        "crds.enabled=false",
    ]);
    rbac_scenario(&release, &release_ns.name, &watched, true).await;

    let name = fullname(&release);
    let sa = ServiceAccount {
        namespace: &release_ns.name,
        name: &name,
    };
    let w = Some(watched.name.as_str());
    let bbt = "bitbuckettokens.bitbucket-token-operator.io";
    assert!(sa.can("list", bbt, None));
    assert!(sa.can("watch", bbt, None));
    assert!(sa.can_sub("patch", bbt, "status", &watched.name));
    for verb in ["create", "update", "patch", "delete", "deletecollection"] {
        assert!(!sa.can(verb, bbt, w), "{verb} bitbuckettokens");
    }
    assert!(!sa.can_sub("update", bbt, "status", &watched.name));
    for verb in ["get", "list", "watch", "create", "patch", "delete"] {
        assert!(sa.can(verb, "secrets", w), "{verb} secrets");
    }
    assert!(!sa.can("update", "secrets", w));
    assert!(!sa.can("deletecollection", "secrets", w));
    assert!(sa.can("create", "events.events.k8s.io", w));
    assert!(!sa.can("delete", "events.events.k8s.io", w));
    assert!(
        !sa.can("create", "events", w),
        "core/v1 Events are not used"
    );
    for resource in ["pods", "configmaps", "serviceaccounts", "namespaces"] {
        assert!(!sa.can("get", resource, w), "get {resource}");
        assert!(!sa.can("list", resource, None), "list {resource}");
    }
    // spec.target.restartOnRotation: find the selected workloads and annotate their pod template.
    for workload in ["deployments.apps", "statefulsets.apps", "daemonsets.apps"] {
        assert!(sa.can("list", workload, w), "list {workload}");
        assert!(sa.can("patch", workload, w), "patch {workload}");
        for verb in ["get", "create", "update", "delete"] {
            assert!(!sa.can(verb, workload, w), "{verb} {workload}");
        }
    }
    let without = Helm::V4.template("rel", "ops", &["rbac.restartWorkloads=false"]);
    let rules = &find(&without, "ClusterRole")[0]["rules"];
    assert!(
        !rules.to_string().contains("deployments"),
        "rbac.restartWorkloads=false grants nothing on workloads: {rules}"
    );
    assert!(!sa.can(
        "create",
        "customresourcedefinitions.apiextensions.k8s.io",
        None
    ));
    assert!(!sa.can(
        "create",
        "clusterrolebindings.rbac.authorization.k8s.io",
        None
    ));
    // The Lease: create, and get/patch only the chart's one, in the release namespace only.
    let ns = Some(release_ns.name.as_str());
    assert!(sa.can("get", &format!("leases/{name}"), ns));
    assert!(sa.can("patch", &format!("leases/{name}"), ns));
    assert!(!sa.can("get", "leases/someone-elses", ns));
    assert!(!sa.can("delete", &format!("leases/{name}"), ns));
    assert!(!sa.can("create", "leases", w));

    Helm::V4.ok(&["uninstall", &release, "-n", &release_ns.name]);
    release_ns.delete().await;
    watched.delete().await;
}

/// watchNamespaces set: Roles in the watched namespace only, installed with Helm 3.
#[tokio::test]
async fn the_namespace_scoped_rbac_is_enough_and_no_broader() {
    let client = client().await;
    ensure_crd(&client).await;
    let release_ns = TestNamespace::create(&client, "chart-ns").await;
    let watched = TestNamespace::create(&client, "chart-ns-work").await;
    let other = TestNamespace::create(&client, "chart-ns-other").await;
    let release = release_ns.name.clone();
    let chart = chart_dir();
    Helm::V3.ok(&[
        "install",
        &release,
        chart.to_str().unwrap(),
        "-n",
        &release_ns.name,
        "--set",
        "crds.enabled=false",
        "--set",
        &format!("watchNamespaces={{{}}}", watched.name),
    ]);
    rbac_scenario(&release, &release_ns.name, &watched, true).await;

    let name = fullname(&release);
    let sa = ServiceAccount {
        namespace: &release_ns.name,
        name: &name,
    };
    let w = Some(watched.name.as_str());
    let bbt = "bitbuckettokens.bitbucket-token-operator.io";
    assert!(sa.can("get", "secrets", w));
    assert!(sa.can_sub("patch", bbt, "status", &watched.name));
    for namespace in [
        other.name.as_str(),
        release_ns.name.as_str(),
        "default",
        "kube-system",
    ] {
        for verb in ["get", "list", "watch", "create", "patch", "delete"] {
            assert!(
                !sa.can(verb, "secrets", Some(namespace)),
                "{verb} secrets in {namespace}"
            );
        }
        assert!(!sa.can("list", bbt, Some(namespace)));
    }
    for verb in ["get", "list", "watch"] {
        assert!(
            !sa.can(verb, "secrets", None),
            "{verb} secrets cluster-wide"
        );
        assert!(
            !sa.can(verb, bbt, None),
            "{verb} bitbuckettokens cluster-wide"
        );
    }
    assert!(!sa.can("delete", bbt, w));
    assert!(!sa.can("get", "pods", w));
    assert!(!sa.can("get", "configmaps", w));
    let cluster_roles = kubectl(&["get", "clusterrole", &name]);
    assert!(
        !cluster_roles.status.success(),
        "no ClusterRole in namespace-scoped mode"
    );

    Helm::V3.ok(&["uninstall", &release, "-n", &release_ns.name]);
    for ns in [release_ns, watched, other] {
        ns.delete().await;
    }
}

/// Install (adopting the CRD the tests share), upgrade, uninstall: user Secrets, BitbucketTokens
/// and, with crds.keep, the CRD stay.
#[tokio::test]
async fn upgrade_and_uninstall_leave_user_secrets_and_the_crd() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "chart-life").await;
    let release = ns.name.clone();
    let chart = chart_dir();
    let chart = chart.to_str().unwrap();
    // Let this release adopt the CRD, as Helm requires for an object that already exists.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let adopt = json!({"metadata": {
        "labels": {"app.kubernetes.io/managed-by": "Helm"},
        "annotations": {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": ns.name},
    }});
    crds.patch(CRD_NAME, &PatchParams::default(), &Patch::Merge(&adopt))
        .await
        .expect("mark the CRD for adoption");

    Helm::V3.ok(&["install", &release, chart, "-n", &ns.name]);
    let secrets: Api<Secret> = ns.api();
    let user_secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("user-token".into()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([(
            "token".into(),
            "not-a-real-token".into(),
        )])),
        ..Secret::default()
    };
    secrets
        .create(&PostParams::default(), &user_secret)
        .await
        .expect("user Secret");
    let tokens: Api<BitbucketToken> = ns.api();
    let bbt: BitbucketToken = serde_json::from_value(json!({
        "apiVersion": "bitbucket-token-operator.io/v1beta1",
        "kind": "BitbucketToken",
        "metadata": {"name": "kept"},
        "spec": {
            "token": {"kind": "RepositoryAccessToken", "secretRef": {"name": "user-token", "key": "token"}},
            "access": {"workspace": "acme", "repositories": ["payments"]},
        },
    }))
    .expect("BitbucketToken");
    tokens
        .create(&PostParams::default(), &bbt)
        .await
        .expect("BitbucketToken");

    Helm::V3.ok(&[
        "upgrade",
        &release,
        chart,
        "-n",
        &ns.name,
        "--set",
        "logLevel=debug",
    ]);
    let deployments: Api<Deployment> = ns.api();
    let deployment = deployments
        .get(&fullname(&release))
        .await
        .expect("Deployment");
    let args = deployment.spec.template.spec.expect("pod spec").containers[0]
        .args
        .clone()
        .unwrap_or_default();
    assert!(args.contains(&"--log-level=debug".to_string()), "{args:?}");

    let out = Helm::V3.ok(&["uninstall", &release, "-n", &ns.name]);
    assert!(
        out.contains("kept due to the resource policy") || out.contains("uninstalled"),
        "{out}"
    );
    let crd = crds.get_opt(CRD_NAME).await.expect("read the CRD");
    assert!(
        crd.as_ref()
            .is_some_and(|c| c.metadata.deletion_timestamp.is_none()),
        "crds.keep kept the CRD"
    );
    assert!(secrets.get_opt("user-token").await.expect("read").is_some());
    assert!(tokens.get_opt("kept").await.expect("read").is_some());
    let accounts: Api<ServiceAccountObject> = ns.api();
    assert!(
        accounts
            .get_opt(&fullname(&release))
            .await
            .expect("read")
            .is_none(),
        "the release's own objects are gone"
    );
    // Hand the CRD back to the other tests as it was.
    let release_marks = json!({"metadata": {
        "labels": {"app.kubernetes.io/managed-by": null, "app.kubernetes.io/instance": null},
        "annotations": {"meta.helm.sh/release-name": null, "meta.helm.sh/release-namespace": null, "helm.sh/resource-policy": null},
    }});
    crds.patch(
        CRD_NAME,
        &PatchParams::default(),
        &Patch::Merge(&release_marks),
    )
    .await
    .expect("clear the release's marks");
    ns.delete().await;
}

/// Rewrites deploy/bitbucket-token-operator.yaml into `namespace`, with cluster-scoped names
/// made unique, so it can be applied next to other tests.
fn relocate(objects: Vec<Value>, namespace: &str) -> Vec<Value> {
    const DEFAULT_NS: &str = "bitbucket-token-operator";
    objects
        .into_iter()
        .map(|mut object| {
            let kind = object["kind"].as_str().unwrap_or_default().to_string();
            let metadata = &mut object["metadata"];
            match kind.as_str() {
                "Namespace" => metadata["name"] = namespace.into(),
                "ClusterRole" | "ClusterRoleBinding" => {
                    metadata["name"] = format!("{namespace}-operator").into();
                }
                _ => {}
            }
            if metadata.get("namespace").is_some() {
                metadata["namespace"] = namespace.into();
            }
            if object["roleRef"]["kind"] == "ClusterRole" {
                object["roleRef"]["name"] = format!("{namespace}-operator").into();
            }
            if let Some(subjects) = object.get_mut("subjects").and_then(Value::as_array_mut) {
                for subject in subjects {
                    subject["namespace"] = namespace.into();
                }
            }
            let text = serde_json::to_string(&object).expect("JSON");
            serde_json::from_str(&text.replace(
                &format!("--leader-election-namespace={DEFAULT_NS}"),
                &format!("--leader-election-namespace={namespace}"),
            ))
            .expect("JSON")
        })
        .collect()
}

#[tokio::test]
async fn deploy_manifests_apply_cleanly_server_side() {
    let client = client().await;
    ensure_crd(&client).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let crds = root.join("deploy/crds.yaml");
    let output = kubectl(&[
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=deploy-test",
        "-f",
        crds.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "deploy/crds.yaml: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(root.join("deploy/bitbucket-token-operator.yaml"))
        .expect("read deploy/");
    let suffix = std::process::id();
    let namespace = format!(
        "deploy-{suffix:x}-{}",
        chrono::Utc::now().timestamp_subsec_micros()
    );
    let objects = relocate(parse_objects(&text), &namespace);
    assert_eq!(objects[0]["kind"], "Namespace", "the namespace comes first");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("relocated.yaml");
    let yaml: Vec<String> = objects
        .iter()
        .map(|o| serde_saphyr::to_string(o).expect("YAML"))
        .collect();
    std::fs::write(&file, yaml.join("---\n")).expect("write");
    let output = kubectl(&["apply", "--server-side", "-f", file.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "kubectl apply --server-side: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let applied = String::from_utf8_lossy(&output.stdout);
    for kind in [
        "serviceaccount",
        "clusterrole",
        "deployment",
        "service",
        "role",
    ] {
        assert!(applied.contains(kind), "{kind} not applied: {applied}");
    }
    // A second apply changes nothing and reports no conflict.
    let again = kubectl(&["apply", "--server-side", "-f", file.to_str().unwrap()]);
    assert!(again.status.success());
    let _ = kubectl(&["delete", "-f", file.to_str().unwrap(), "--wait=false"]);
}
