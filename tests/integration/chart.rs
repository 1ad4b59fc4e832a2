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
        coordination::v1::Lease,
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
    helm::{
        Helm, ServiceAccount, can_i, chart_dir, fullname, parse_objects, service_account_kubeconfig,
    },
    kubectl,
    operator::Operator,
    wait_for, wait_until,
};
use world::World;

const WAIT: Duration = Duration::from_secs(30);
/// The garbage collector rediscovers resources every 30 s (docs/control-plane notes): allow two rounds.
const GC_WAIT: Duration = Duration::from_secs(90);
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
        assert!(
            args.contains(&"--leader-election-lease-owner=rel-bitbucket-token-operator".into()),
            "{helm:?}: the Deployment owns the Lease: {args:?}"
        );
        assert!(
            !args.iter().any(|a| a.starts_with("--restart-workloads")),
            "{helm:?}: restarting workloads is off by default: {args:?}"
        );
        let cluster_role = find(&objects, "ClusterRole")
            .into_iter()
            .find(|r| r["metadata"]["name"] == "rel-bitbucket-token-operator")
            .expect("the operator's ClusterRole");
        assert!(
            !cluster_role["rules"].to_string().contains("deployments"),
            "{helm:?}: nothing on workloads by default: {}",
            cluster_role["rules"]
        );
        // The leader-election Role may read the one Deployment that owns the Lease.
        assert_eq!(
            roles[0]["rules"][2],
            json!({"apiGroups": ["apps"], "resources": ["deployments"],
                   "resourceNames": ["rel-bitbucket-token-operator"], "verbs": ["get"]})
        );
        assert_eq!(pod["automountServiceAccountToken"], true);
        assert_eq!(deployment["spec"]["revisionHistoryLimit"], 10);
        assert!(deployment["spec"].get("strategy").is_none());
        assert!(deployment["metadata"].get("annotations").is_none());
        assert!(pod.get("volumes").is_none() && container.get("volumeMounts").is_none());
        // Aggregated into view (read) and edit/admin (write).
        let view = aggregated(&objects, "rel-bitbucket-token-operator-view");
        let edit = aggregated(&objects, "rel-bitbucket-token-operator-edit");
        for (role, labels) in [
            (view, &["view", "edit", "admin"][..]),
            (edit, &["edit", "admin"][..]),
        ] {
            for to in ["view", "edit", "admin"] {
                let label = &role["metadata"]["labels"]
                    [format!("rbac.authorization.k8s.io/aggregate-to-{to}")];
                assert_eq!(
                    label.as_str() == Some("true"),
                    labels.contains(&to),
                    "{role}"
                );
            }
        }
        assert_eq!(view["rules"][0]["verbs"], json!(["get", "list", "watch"]));
        assert!(
            !edit["rules"].to_string().contains("status"),
            "nobody else writes status"
        );
    }
}

/// The aggregated ClusterRole `name` among `objects`.
fn aggregated<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    find(objects, "ClusterRole")
        .into_iter()
        .find(|r| r["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no ClusterRole {name}"))
}

/// The image reference the Deployment runs with `sets`.
fn image(helm: Helm, sets: &[&str]) -> String {
    let objects = helm.template("rel", "ops", sets);
    find(&objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .expect("image")
        .to_string()
}

#[test]
fn the_image_registry_override_under_helm3_and_helm4() {
    let version = env!("CARGO_PKG_VERSION");
    for helm in Helm::ALL {
        for (sets, expected) in [
            (
                vec!["image.registry=mirror.example.com"],
                format!("mirror.example.com/bitbucket-token-operator/bitbucket-token-operator:{version}"),
            ),
            (
                vec!["image.registry=localhost:5000", "image.repository=platform/bto"],
                format!("localhost:5000/platform/bto:{version}"),
            ),
            (
                vec!["image.registry=mirror.example.com", "image.repository=localhost/bto", "image.tag=dev"],
                "mirror.example.com/bto:dev".to_string(),
            ),
            (
                vec![
                    "image.registry=mirror.example.com:8443",
                    "image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                ],
                "mirror.example.com:8443/bitbucket-token-operator/bitbucket-token-operator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_string(),
            ),
            (
                vec!["image.repository=registry.example.com/platform/bto"],
                format!("registry.example.com/platform/bto:{version}"),
            ),
        ] {
            assert_eq!(image(helm, &sets), expected, "{helm:?} {sets:?}");
        }
    }
}

#[test]
fn the_extension_points_render_under_helm3_and_helm4() {
    let values = json!({
        "extraCABundle": {"kind": "Secret", "name": "corp-ca"},
        "extraVolumes": [{"name": "token", "projected": {"sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]}}],
        "extraVolumeMounts": [{"name": "token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
        "serviceAccount": {"automountServiceAccountToken": false},
        "deploymentAnnotations": {"reloader.stakater.com/auto": "true"},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "revisionHistoryLimit": 3,
        "podMonitor": {
            "enabled": true, "labels": {"release": "prom"},
            "relabelings": [{"action": "replace", "targetLabel": "cluster", "replacement": "eu-1"}],
            "metricRelabelings": [{"action": "drop", "sourceLabels": ["__name__"], "regex": "go_.*"}],
        },
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, serde_saphyr::to_string(&values).expect("YAML")).expect("write");
    let chart = chart_dir();
    let version = support::helm::kube_version();
    for helm in Helm::ALL {
        let base = ["--kube-version", &version, "-f", file.to_str().unwrap()];
        let mut lint = vec!["lint", chart.to_str().unwrap(), "--strict"];
        lint.extend(base);
        helm.ok(&lint);
        let mut template = vec!["template", "rel", chart.to_str().unwrap(), "-n", "ops"];
        template.extend(base);
        let objects = parse_objects(&helm.ok(&template));
        let deployment = find(&objects, "Deployment")[0];
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        assert_eq!(pod["automountServiceAccountToken"], false, "{helm:?}");
        let accounts = find(&objects, "ServiceAccount");
        assert_eq!(accounts[0]["automountServiceAccountToken"], false);
        let volumes: Vec<&str> = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(volumes, ["extra-ca", "token"], "{helm:?}");
        assert_eq!(pod["volumes"][0]["secret"]["secretName"], "corp-ca");
        assert_eq!(pod["volumes"][1], values["extraVolumes"][0]);
        let mounts: Vec<&str> = container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(mounts, ["extra-ca", "token"], "{helm:?}");
        assert_eq!(container["volumeMounts"][1], values["extraVolumeMounts"][0]);
        assert_eq!(
            deployment["metadata"]["annotations"],
            values["deploymentAnnotations"]
        );
        assert!(pod.get("annotations").is_none());
        assert_eq!(deployment["spec"]["strategy"], values["strategy"]);
        assert_eq!(deployment["spec"]["revisionHistoryLimit"], 3);
        let monitor = find(&objects, "PodMonitor")[0];
        assert!(find(&objects, "ServiceMonitor").is_empty());
        assert_eq!(monitor["metadata"]["labels"]["release"], "prom");
        let endpoint = &monitor["spec"]["podMetricsEndpoints"][0];
        assert_eq!(endpoint["port"], "http-metrics");
        assert_eq!(endpoint["relabelings"], values["podMonitor"]["relabelings"]);
        assert_eq!(
            endpoint["metricRelabelings"],
            values["podMonitor"]["metricRelabelings"]
        );
        assert_eq!(
            monitor["spec"]["selector"]["matchLabels"],
            deployment["spec"]["selector"]["matchLabels"]
        );
        // The ServiceMonitor takes the same relabelings; not both monitors at once.
        let relabel = "serviceMonitor.relabelings[0].targetLabel=cluster";
        let objects = helm.template(
            "rel",
            "ops",
            &[
                "serviceMonitor.enabled=true",
                relabel,
                "serviceMonitor.metricRelabelings[0].action=drop",
                "serviceMonitor.metricRelabelings[0].regex=go_.*",
            ],
        );
        let endpoint = &find(&objects, "ServiceMonitor")[0]["spec"]["endpoints"][0];
        assert_eq!(endpoint["relabelings"], json!([{"targetLabel": "cluster"}]));
        assert_eq!(
            endpoint["metricRelabelings"],
            json!([{"action": "drop", "regex": "go_.*"}])
        );
        let both = helm.run(&[
            "template",
            "rel",
            chart.to_str().unwrap(),
            "--kube-version",
            &version,
            "--set",
            "serviceMonitor.enabled=true",
            "--set",
            "podMonitor.enabled=true",
        ]);
        assert!(!both.status.success());
        assert!(
            String::from_utf8_lossy(&both.stderr).contains("not both"),
            "{helm:?}"
        );
    }
}

#[test]
fn kube_version_names_the_tested_range_under_helm3_and_helm4() {
    let chart = chart_dir();
    let tested = support::helm::kube_version();
    for helm in Helm::ALL {
        for (version, accepted) in [
            (tested.as_str(), true),
            ("1.37.0", true),
            ("1.36.0", true),
            ("1.38.0", true),
            ("1.35.9", false),
        ] {
            let output = helm.run(&[
                "template",
                "rel",
                chart.to_str().unwrap(),
                "--kube-version",
                version,
            ]);
            assert_eq!(output.status.success(), accepted, "{helm:?} {version}");
            if !accepted {
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(
                    stderr.contains("chart requires kubeVersion: >=1.36.0-0"),
                    "{helm:?}: {stderr}"
                );
            }
        }
    }
}

#[test]
fn restarting_workloads_is_opt_in_and_narrowable_under_helm3_and_helm4() {
    for helm in Helm::ALL {
        // Opt in, every namespace: the operator's ClusterRole gains list/patch on workloads.
        let objects = helm.template("rel", "ops", &["rbac.restartWorkloads=true"]);
        let rules = find(&objects, "ClusterRole")
            .into_iter()
            .find(|r| r["metadata"]["name"] == "rel-bitbucket-token-operator")
            .expect("ClusterRole")["rules"]
            .to_string();
        assert!(rules.contains("deployments"), "{helm:?}: {rules}");
        let args = container_args(&objects);
        assert!(args.contains(&"--restart-workloads".into()), "{args:?}");
        assert!(
            !args
                .iter()
                .any(|a| a.starts_with("--restart-workloads-namespaces"))
        );
        // Narrowed: a Role in each listed namespace, nothing in the ClusterRole.
        let objects = helm.template(
            "rel",
            "ops",
            &[
                "rbac.restartWorkloads=true",
                "rbac.restartWorkloadsNamespaces={team-a,team-b}",
            ],
        );
        let cluster_role = find(&objects, "ClusterRole")
            .into_iter()
            .find(|r| r["metadata"]["name"] == "rel-bitbucket-token-operator")
            .expect("ClusterRole");
        assert!(!cluster_role["rules"].to_string().contains("deployments"));
        let restart_roles: Vec<(&str, &str)> = find(&objects, "Role")
            .into_iter()
            .filter(|r| r["metadata"]["name"] == "rel-bitbucket-token-operator-restart-workloads")
            .map(|r| {
                assert_eq!(r["rules"][0]["verbs"], json!(["list", "patch"]));
                (
                    r["metadata"]["namespace"].as_str().unwrap(),
                    r["rules"][0]["apiGroups"][0].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            restart_roles,
            [("team-a", "apps"), ("team-b", "apps")],
            "{helm:?}"
        );
        let bindings = find(&objects, "RoleBinding")
            .into_iter()
            .filter(|r| r["metadata"]["name"] == "rel-bitbucket-token-operator-restart-workloads")
            .count();
        assert_eq!(bindings, 2);
        let args = container_args(&objects);
        assert!(
            args.contains(&"--restart-workloads-namespaces=team-a,team-b".into()),
            "{args:?}"
        );
        // The list alone grants nothing.
        let objects = helm.template("rel", "ops", &["rbac.restartWorkloadsNamespaces={team-a}"]);
        assert!(
            !serde_json::to_string(&objects)
                .unwrap()
                .contains("restart-workloads")
        );
        // No aggregated ClusterRoles when turned off; no owner for a Lease in another namespace.
        let objects = helm.template(
            "rel",
            "ops",
            &[
                "rbac.aggregateClusterRoles=false",
                "leaderElection.namespace=kube-system",
            ],
        );
        assert_eq!(find(&objects, "ClusterRole").len(), 1, "{helm:?}");
        assert!(
            !container_args(&objects)
                .iter()
                .any(|a| a.starts_with("--leader-election-lease-owner"))
        );
        let lease_role = find(&objects, "Role")[0];
        assert_eq!(lease_role["metadata"]["namespace"], "kube-system");
        assert!(!lease_role["rules"].to_string().contains("deployments"));
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
        for kind in ["ClusterRoleBinding", "CustomResourceDefinition"] {
            assert!(
                !kinds.contains(&kind.to_string()),
                "{helm:?}: {kind} rendered"
            );
        }
        // The only ClusterRoles are the ones aggregated into view/edit/admin (bound to nobody).
        let cluster_roles: Vec<&str> = find(&objects, "ClusterRole")
            .iter()
            .map(|r| r["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            cluster_roles,
            [
                "rel-bitbucket-token-operator-view",
                "rel-bitbucket-token-operator-edit"
            ],
            "{helm:?}"
        );
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
            "image.registry=mirror.example.com/path",
            "strategy.type=Sometimes",
            "revisionHistoryLimit=-1",
            "rbac.restartWorkloadsNamespaces={Not_A_Namespace}",
            "podMonitor.noSuchValue=1",
            "noSuchValue=1",
        ] {
            let chart = chart_dir();
            let version = support::helm::kube_version();
            let output = helm.run(&[
                "template",
                "rel",
                chart.to_str().unwrap(),
                "--kube-version",
                &version,
                "--set",
                bad,
            ]);
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
    let lease_owner = format!("--leader-election-lease-owner={}", fullname(release));
    let mut flags = vec![];
    if leader_election {
        flags.extend([
            "--leader-elect",
            &lease_namespace,
            &lease_name,
            &lease_owner,
        ]);
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
    // Restarting workloads is opt-in: nothing on workloads by default.
    for workload in ["deployments.apps", "statefulsets.apps", "daemonsets.apps"] {
        for verb in ["list", "patch", "get", "create", "update", "delete"] {
            assert!(!sa.can(verb, workload, w), "{verb} {workload}");
        }
    }
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
    // Its own Deployment, read for the Lease's owner; no other.
    assert!(sa.can("get", &format!("deployments.apps/{name}"), ns));
    assert!(!sa.can("get", "deployments.apps/someone-elses", ns));
    assert!(!sa.can("list", "deployments.apps", ns));

    // The Lease is owned by the Deployment, so uninstalling removes it.
    let leases: Api<Lease> = release_ns.api();
    let lease = leases.get(&name).await.expect("the Lease");
    let deployment = release_ns
        .api::<Deployment>()
        .get(&name)
        .await
        .expect("the Deployment");
    let owners = lease.metadata.owner_references.unwrap_or_default();
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert_eq!(owners[0].kind, "Deployment");
    assert_eq!(Some(&owners[0].uid), deployment.metadata.uid.as_ref());
    Helm::V4.ok(&["uninstall", &release, "-n", &release_ns.name]);
    wait_for(&leases, &name, GC_WAIT, |l: Option<&Lease>| l.is_none()).await;
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

/// rbac.aggregateClusterRoles (the default): users bound to the built-in view, edit and admin
/// ClusterRoles in a namespace may read (view) or write (edit, admin) its BitbucketTokens, there
/// only, and nobody but the operator writes their status. Turned off, the ClusterRoles go.
#[tokio::test]
async fn view_edit_and_admin_users_reach_bitbuckettokens_through_aggregation() {
    let client = client().await;
    ensure_crd(&client).await;
    let release_ns = TestNamespace::create(&client, "chart-agg").await;
    let tenant = TestNamespace::create(&client, "chart-agg-tenant").await;
    let elsewhere = TestNamespace::create(&client, "chart-agg-other").await;
    let release = release_ns.name.clone();
    let chart = chart_dir();
    let chart = chart.to_str().unwrap();
    Helm::V3.ok(&[
        "install",
        &release,
        chart,
        "-n",
        &release_ns.name,
        "--set",
        "crds.enabled=false",
    ]);
    let users = [
        ("view", format!("{}-viewer", tenant.name)),
        ("edit", format!("{}-editor", tenant.name)),
        ("admin", format!("{}-admin", tenant.name)),
    ];
    for (role, user) in &users {
        let binding: k8s_openapi::api::rbac::v1::RoleBinding = serde_json::from_value(json!({
            "metadata": {"name": format!("{role}-binding")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }))
        .expect("RoleBinding");
        tenant
            .api::<k8s_openapi::api::rbac::v1::RoleBinding>()
            .create(&PostParams::default(), &binding)
            .await
            .expect("bind the built-in role");
    }
    // The built-in roles carry this release's rules once the aggregation controller has run.
    let cluster_roles: Api<k8s_openapi::api::rbac::v1::ClusterRole> = Api::all(client.clone());
    for role in ["view", "edit", "admin"] {
        wait_until(
            &format!("{role} aggregates BitbucketTokens"),
            WAIT,
            || async {
                let rules = cluster_roles
                    .get(role)
                    .await
                    .ok()?
                    .rules
                    .unwrap_or_default();
                rules
                    .iter()
                    .any(|r| {
                        r.resources
                            .as_ref()
                            .is_some_and(|x| x.contains(&"bitbuckettokens".to_string()))
                    })
                    .then_some(())
            },
        )
        .await;
    }
    let bbt = "bitbuckettokens.bitbucket-token-operator.io";
    let t = Some(tenant.name.as_str());
    let o = Some(elsewhere.name.as_str());
    let [(_, viewer), (_, editor), (_, admin)] = &users;
    for verb in ["get", "list", "watch"] {
        for user in [viewer, editor, admin] {
            assert!(can_i(user, verb, bbt, None, t), "{user} {verb}");
            assert!(!can_i(user, verb, bbt, None, o), "{user} {verb} elsewhere");
        }
    }
    assert!(can_i(viewer, "get", bbt, Some("status"), t));
    for verb in ["create", "update", "patch", "delete", "deletecollection"] {
        assert!(!can_i(viewer, verb, bbt, None, t), "view may not {verb}");
        for user in [editor, admin] {
            assert!(can_i(user, verb, bbt, None, t), "{user} {verb}");
            assert!(!can_i(user, verb, bbt, None, o), "{user} {verb} elsewhere");
        }
    }
    for user in [viewer, editor, admin] {
        for verb in ["update", "patch"] {
            assert!(
                !can_i(user, verb, bbt, Some("status"), t),
                "{user} {verb} status"
            );
        }
        assert!(
            !can_i(user, "list", bbt, None, None),
            "{user} lists cluster-wide"
        );
    }
    assert!(
        !can_i(viewer, "get", "secrets", None, t),
        "view reads no Secret"
    );

    Helm::V3.ok(&[
        "upgrade",
        &release,
        chart,
        "-n",
        &release_ns.name,
        "--set",
        "crds.enabled=false",
        "--set",
        "rbac.aggregateClusterRoles=false",
    ]);
    for suffix in ["view", "edit"] {
        let name = format!("{}-{suffix}", fullname(&release));
        assert!(
            cluster_roles.get_opt(&name).await.expect("read").is_none(),
            "{name} stays"
        );
    }
    Helm::V3.ok(&["uninstall", &release, "-n", &release_ns.name]);
    for ns in [release_ns, tenant, elsewhere] {
        ns.delete().await;
    }
}

/// A Deployment labelled `git-credentials: payments`, with a pod template (no pod ever runs).
fn selected_deployment(name: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"git-credentials": "payments"}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "registry.example.com/c:1"}]},
            },
        },
    }))
    .expect("Deployment")
}

/// rbac.restartWorkloads narrowed by rbac.restartWorkloadsNamespaces, run with the chart's
/// ServiceAccount and flags: a rotation restarts the selected Deployment in the listed namespace;
/// in another watched namespace the operator sends no workload request and says why in a
/// WorkloadRestartNotPermitted Event.
#[tokio::test]
async fn restarting_workloads_stays_in_the_listed_namespaces() {
    use bitbucket_token_operator::controller::rollout::ROTATED_TO_ANNOTATION;
    let client = client().await;
    ensure_crd(&client).await;
    let release_ns = TestNamespace::create(&client, "chart-rs").await;
    let allowed = TestNamespace::create(&client, "chart-rs-yes").await;
    let other = TestNamespace::create(&client, "chart-rs-no").await;
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
        "--set",
        &format!("watchNamespaces={{{},{}}}", allowed.name, other.name),
        "--set",
        "rbac.restartWorkloads=true",
        "--set",
        &format!("rbac.restartWorkloadsNamespaces={{{}}}", allowed.name),
    ]);
    let name = fullname(&release);
    let sa = ServiceAccount {
        namespace: &release_ns.name,
        name: &name,
    };
    for verb in ["list", "patch"] {
        assert!(
            sa.can(verb, "deployments.apps", Some(&allowed.name)),
            "{verb} where listed"
        );
        assert!(
            !sa.can(verb, "deployments.apps", Some(&other.name)),
            "{verb} elsewhere"
        );
        assert!(
            !sa.can(verb, "deployments.apps", None),
            "{verb} cluster-wide"
        );
    }
    // The operator runs with the flags the chart gives it (read back from the Deployment).
    let deployment = release_ns
        .api::<Deployment>()
        .get(&name)
        .await
        .expect("Deployment");
    let args = deployment.spec.template.spec.expect("pod spec").containers[0]
        .args
        .clone()
        .unwrap_or_default();
    let restart_flags: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| a.starts_with("--restart-workloads"))
        .collect();
    let expected_namespaces = format!("--restart-workloads-namespaces={}", allowed.name);
    assert_eq!(
        restart_flags,
        ["--restart-workloads", expected_namespaces.as_str()]
    );

    let world = World::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = service_account_kubeconfig(dir.path(), &release_ns.name, &name);
    let watched = format!("{},{}", allowed.name, other.name);
    let mut operator = Operator::start_as(&kubeconfig, &watched, &world.sim, &restart_flags, &[]);
    for ns in [&allowed, &other] {
        ns.api::<Deployment>()
            .create(&PostParams::default(), &selected_deployment("runner"))
            .await
            .expect("Deployment");
        apply_token_secret(ns, &world.secret("rat-ro")).await;
        let bbt: BitbucketToken = serde_json::from_value(json!({
            "apiVersion": "bitbucket-token-operator.io/v1beta1",
            "kind": "BitbucketToken",
            "metadata": {"name": "rolling"},
            "spec": {
                "token": {"kind": "RepositoryAccessToken", "secretRef": {"name": "source", "key": "token"}},
                "access": {"workspace": "acme", "repositories": ["payments"], "permission": "Read"},
                "target": {"formats": ["GitConfig"], "restartOnRotation": {"selector": {"matchLabels": {"git-credentials": "payments"}}}},
            },
        }))
        .expect("BitbucketToken");
        ns.api::<BitbucketToken>()
            .create(&PostParams::default(), &bbt)
            .await
            .expect("BitbucketToken");
        wait_ready(ns, "rolling").await;
    }
    for ns in [&allowed, &other] {
        apply_token_secret(ns, &world.secret("rat-rw")).await;
    }
    let restarted = wait_for(
        &allowed.api::<BitbucketToken>(),
        "rolling",
        WAIT,
        |o: Option<&BitbucketToken>| {
            o.and_then(|o| o.status.as_ref()?.last_restart.as_ref())
                .is_some()
        },
    )
    .await
    .expect("restarted");
    assert_eq!(
        restarted.status.unwrap().last_restart.unwrap().workloads,
        ["Deployment/runner"]
    );
    let event = wait_event(&other, "WorkloadRestartNotPermitted").await;
    let note = event.note.unwrap_or_default();
    assert!(
        note.contains(&format!("only in {} (not in {})", allowed.name, other.name)),
        "{note}"
    );
    assert!(note.contains("rbac.restartWorkloadsNamespaces"), "{note}");
    let untouched = other
        .api::<Deployment>()
        .get("runner")
        .await
        .expect("Deployment");
    let annotations = untouched
        .spec
        .template
        .metadata
        .and_then(|m| m.annotations)
        .unwrap_or_default();
    assert!(
        !annotations.contains_key(ROTATED_TO_ANNOTATION),
        "{annotations:?}"
    );
    assert!(
        other
            .api::<BitbucketToken>()
            .get("rolling")
            .await
            .expect("read")
            .status
            .and_then(|s| s.last_restart)
            .is_none()
    );
    let logs = operator.logs();
    assert!(
        !logs.to_lowercase().contains("forbidden"),
        "a refused request:\n{logs}"
    );
    let status = operator.stop();
    assert!(status.success(), "exit {status:?}:\n{}", operator.logs());
    Helm::V4.ok(&["uninstall", &release, "-n", &release_ns.name]);
    for ns in [release_ns, allowed, other] {
        ns.delete().await;
    }
}

/// Writes Secret `source` (key `token`) in `ns` with `token`.
async fn apply_token_secret(ns: &TestNamespace, token: &str) {
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "source"},
        "stringData": {"token": token},
    }))
    .expect("Secret");
    ns.api::<Secret>()
        .patch(
            "source",
            &PatchParams::apply("chart-tests").force(),
            &Patch::Apply(&secret),
        )
        .await
        .expect("apply the token Secret");
}

/// Waits until BitbucketToken `name` in `ns` is Ready.
async fn wait_ready(ns: &TestNamespace, name: &str) {
    wait_for(
        &ns.api::<BitbucketToken>(),
        name,
        WAIT,
        |o: Option<&BitbucketToken>| {
            o.and_then(|o| o.status.as_ref()).is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
        },
    )
    .await;
}

/// Waits for an Event with `reason` in `ns`.
async fn wait_event(ns: &TestNamespace, reason: &str) -> Event {
    let events: Api<Event> = ns.api();
    wait_until(&format!("a {reason} Event"), WAIT, || async {
        events
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some(reason))
    })
    .await
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
                    let name = metadata["name"].as_str().unwrap_or_default().to_string();
                    metadata["name"] = format!("{namespace}-{name}").into();
                }
                _ => {}
            }
            if metadata.get("namespace").is_some() {
                metadata["namespace"] = namespace.into();
            }
            if object["roleRef"]["kind"] == "ClusterRole" {
                let name = object["roleRef"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                object["roleRef"]["name"] = format!("{namespace}-{name}").into();
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
