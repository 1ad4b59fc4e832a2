//! On the real node: the chart installed as users install it runs the operator image (built from
//! the release binary) as a pod; pods clone and push with the Secrets it renders, through a mounted
//! `gitconfig` and through `envFrom`; leadership moves when the leader pod goes; a rotated token
//! reaches a running pod's volume and rolls a Deployment; `helm uninstall` leaves the user's
//! objects. The simulator listens on the node's bridge address, where pods reach this machine.
//! Figures (hand-over gap, volume delay) are printed as `measured:` lines (`--nocapture`).

use crate::support;
use crate::world;

use std::time::{Duration, Instant};

use bitbucket_simulator::Simulator;
use bitbucket_token_operator::api::BitbucketToken;
use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        coordination::v1::Lease,
        core::v1::{Pod, Secret, ServiceAccount},
        rbac::v1::{Role, RoleBinding},
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};
use support::{
    TestNamespace, client, ensure_crd,
    helm::{Helm, fullname},
    node::{
        Install, exec, gateway, git_pod_spec, install_operator, lease_holder, node_var, pod_names,
        run_job, wait_available, wait_default_service_account, wait_log, wait_pod_ready,
    },
    wait_for, wait_rendered, wait_until,
};
use world::World;

const WAIT: Duration = Duration::from_secs(90);
const CRD_NAME: &str = "bitbuckettokens.bitbucket-token-operator.io";
/// Where pods mount the rendered Secret; the BitbucketToken's `target.mountPath`.
const MOUNT: &str = "/var/run/bitbucket";

/// A namespace, a simulator reachable from pods, and the chart's operator watching the namespace.
struct NodeEnv {
    ns: TestNamespace,
    world: World,
    release: String,
}

impl NodeEnv {
    async fn start(prefix: &str, how: Install) -> Self {
        let client = client().await;
        ensure_crd(&client).await;
        let ns = TestNamespace::create(&client, prefix).await;
        let mut fixture = world::fixture();
        fixture.listen_address = Some(gateway());
        let sim = Simulator::start(fixture.clone())
            .await
            .expect("the simulator starts on the node's bridge address");
        let world = World { sim, fixture };
        let release = ns.name.clone();
        if how.crds {
            adopt_crd(&client, &release, &ns.name).await;
        }
        wait_default_service_account(&ns).await;
        let origin = format!("https://{}:{}", gateway(), world.sim.port());
        install_operator(&ns, &origin, &world.sim.ca_pem(), how).await;
        Self { ns, world, release }
    }

    fn selector(&self) -> String {
        format!("app.kubernetes.io/instance={}", self.release)
    }

    fn clone_url(&self) -> String {
        self.world.sim.cloud_clone_url("acme", "payments")
    }

    /// Writes fixture token `token` into Secret `name` (key `token`).
    async fn token_secret(&self, name: &str, token: &str) {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": name},
            "stringData": {"token": self.world.secret(token)},
        }))
        .expect("Secret");
        self.ns
            .api::<Secret>()
            .patch(
                name,
                &PatchParams::apply("node-tests").force(),
                &Patch::Apply(&secret),
            )
            .await
            .expect("apply the token Secret");
    }

    /// A BitbucketToken for the repository access token in Secret `secret`.
    async fn bitbucket_token(&self, name: &str, secret: &str, permission: &str, target: Value) {
        let object: BitbucketToken = serde_json::from_value(json!({
            "apiVersion": "bitbucket-token-operator.io/v1beta1",
            "kind": "BitbucketToken",
            "metadata": {"name": name},
            "spec": {
                "token": {"kind": "RepositoryAccessToken", "secretRef": {"name": secret, "key": "token"}},
                "access": {"workspace": "acme", "repositories": ["payments"], "permission": permission},
                "target": target,
            },
        }))
        .expect("BitbucketToken");
        self.ns
            .api::<BitbucketToken>()
            .create(&PostParams::default(), &object)
            .await
            .expect("create BitbucketToken");
    }

    /// Waits until `name` is Ready and returns the name of its rendered Secret.
    async fn ready(&self, name: &str) -> String {
        wait_rendered(&self.ns.api::<BitbucketToken>(), name, WAIT).await
    }

    async fn finish(self) {
        let _ = Helm::V4.run(&["uninstall", &self.release, "-n", &self.ns.name, "--wait"]);
        self.ns.delete().await;
        self.world.sim.shutdown().await;
    }
}

/// Lets release `release` adopt the shared CRD, as Helm requires for an object that exists.
async fn adopt_crd(client: &kube::Client, release: &str, namespace: &str) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let adopt = json!({"metadata": {
        "labels": {"app.kubernetes.io/managed-by": "Helm"},
        "annotations": {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace},
    }});
    crds.patch(CRD_NAME, &PatchParams::default(), &Patch::Merge(&adopt))
        .await
        .expect("mark the CRD for adoption");
}

/// Hands the CRD back to the other tests without the release's marks.
async fn release_crd(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let marks = json!({"metadata": {
        "labels": {"app.kubernetes.io/managed-by": null, "app.kubernetes.io/instance": null},
        "annotations": {"meta.helm.sh/release-name": null, "meta.helm.sh/release-namespace": null, "helm.sh/resource-policy": null},
    }});
    crds.patch(CRD_NAME, &PatchParams::default(), &Patch::Merge(&marks))
        .await
        .expect("clear the release's marks");
}

/// Clone, commit and push to branch `branch`; `git` is configured by `setup` (shell).
fn clone_and_push(setup: &str, url: &str, branch: &str) -> String {
    format!(
        "{setup}\ngit clone -q {url} /tmp/repo\ncd /tmp/repo\necho {branch} > {branch}.txt\n\
         git add . && git commit -qm {branch}\ngit push -q origin HEAD:refs/heads/{branch}\necho pushed-{branch}"
    )
}

/// The chart, unchanged, with Helm 3 and Helm 4: the operator pod becomes Ready as a non-root
/// user on a read-only root filesystem and takes the Lease; Jobs running as user 1000 clone and
/// push through the mounted `gitconfig` Secret and through `envFrom`, and fail without them;
/// `helm uninstall` leaves the rendered Secrets, the BitbucketTokens and the CRD, and nothing of
/// the release.
#[tokio::test]
async fn the_chart_runs_the_operator_pod_and_jobs_clone_and_push_with_helm_3_and_4() {
    let client = client().await;
    for helm in Helm::ALL {
        let how = Install {
            helm,
            replicas: 1,
            crds: true,
        };
        let env = NodeEnv::start("node-chart", how).await;
        let lease = fullname(&env.release);
        let pods = pod_names(&env.ns, &env.selector()).await;
        assert_eq!(pods.len(), 1, "{helm:?}: one operator pod: {pods:?}");
        let holder = lease_holder(&env.ns, &lease, WAIT).await;
        assert_eq!(
            holder, pods[0],
            "{helm:?}: the operator pod holds the Lease"
        );

        env.token_secret("src", "rat-rw").await;
        env.bitbucket_token(
            "vol",
            "src",
            "Write",
            json!({"formats": ["GitConfig"], "mountPath": MOUNT}),
        )
        .await;
        env.bitbucket_token("env", "src", "Write", json!({"formats": ["Env"]}))
            .await;
        let vol_secret = env.ready("vol").await;
        let env_secret = env.ready("env").await;

        let url = env.clone_url();
        let volume_setup = format!("export GIT_CONFIG_GLOBAL={MOUNT}/.gitconfig\nid -u");
        let (ok, logs) = run_job(
            &env.ns,
            "clone-volume",
            git_pod_spec(
                &clone_and_push(&volume_setup, &url, "from-volume"),
                &[(&vol_secret, MOUNT)],
                &[],
            ),
        )
        .await;
        assert!(
            ok && logs.contains("pushed-from-volume"),
            "{helm:?} volume Job: {logs}"
        );
        assert!(
            logs.starts_with("1000"),
            "{helm:?}: the Job ran as user 1000: {logs}"
        );
        let (ok, logs) = run_job(
            &env.ns,
            "clone-env",
            git_pod_spec(
                &clone_and_push("true", &url, "from-env"),
                &[],
                &[&env_secret],
            ),
        )
        .await;
        assert!(
            ok && logs.contains("pushed-from-env"),
            "{helm:?} envFrom Job: {logs}"
        );
        let (ok, logs) = run_job(
            &env.ns,
            "clone-without-secret",
            git_pod_spec(&clone_and_push("true", &url, "nothing"), &[], &[]),
        )
        .await;
        assert!(
            !ok && !logs.contains("pushed-nothing"),
            "{helm:?}: no Secret, no clone: {logs}"
        );

        helm.ok(&["uninstall", &env.release, "-n", &env.ns.name, "--wait"]);
        assert_uninstalled(&env, &lease, &[&vol_secret, &env_secret]).await;
        release_crd(&client).await;
        env.finish().await;
    }
}

/// After `helm uninstall`: the user's Secrets, BitbucketTokens, rendered Secrets and the CRD stay;
/// the release's Deployment, pods, ServiceAccount, Roles and bindings are gone.
async fn assert_uninstalled(env: &NodeEnv, lease: &str, rendered: &[&str]) {
    let client = client().await;
    let crd = Api::<CustomResourceDefinition>::all(client.clone())
        .get_opt(CRD_NAME)
        .await
        .expect("read the CRD");
    assert!(
        crd.is_some_and(|c| c.metadata.deletion_timestamp.is_none()),
        "the CRD stays"
    );
    let secrets = env.ns.api::<Secret>();
    for name in rendered.iter().chain(&["src"]) {
        assert!(
            secrets.get_opt(name).await.expect("read").is_some(),
            "Secret {name} stays"
        );
    }
    let tokens = env.ns.api::<BitbucketToken>();
    assert_eq!(
        tokens
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        2
    );
    none_of_the_release::<Deployment>(env).await;
    none_of_the_release::<ServiceAccount>(env).await;
    none_of_the_release::<Role>(env).await;
    none_of_the_release::<RoleBinding>(env).await;
    wait_until("the operator pods are gone", WAIT, || async {
        pod_names(&env.ns, &env.selector())
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    // Not Helm's: the Lease the operator created stays, still naming the deleted pod. Helm deletes
    // the Role with the Deployment, before the pod's SIGTERM step-down could release the Lease.
    let lease = env
        .ns
        .api::<Lease>()
        .get_opt(lease)
        .await
        .expect("read the Lease");
    eprintln!(
        "found: after helm uninstall the Lease stays, holder {:?}",
        lease.and_then(|l| l.spec?.holder_identity)
    );
}

/// Fails unless no object of kind `K` carries the release's instance label.
async fn none_of_the_release<K>(env: &NodeEnv)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
    <K as kube::Resource>::DynamicType: Default,
{
    let left = env
        .ns
        .api::<K>()
        .list(&ListParams::default().labels(&env.selector()))
        .await
        .expect("list")
        .items;
    assert!(left.is_empty(), "left by the release: {left:?}");
}

/// Two replicas: deleting the leader's pod hands the Lease to the standby, and a BitbucketToken
/// created right after the deletion becomes Ready through the new leader.
#[tokio::test]
async fn deleting_the_leader_pod_hands_over_and_a_new_token_becomes_ready() {
    let how = Install {
        helm: Helm::V4,
        replicas: 2,
        crds: false,
    };
    let env = NodeEnv::start("node-failover", how).await;
    let lease = fullname(&env.release);
    let leader = lease_holder(&env.ns, &lease, WAIT).await;
    env.token_secret("src", "rat-ro").await;
    env.bitbucket_token("before", "src", "Read", json!({"formats": ["GitConfig"]}))
        .await;
    env.ready("before").await;

    let started = Instant::now();
    env.ns
        .api::<Pod>()
        .delete(&leader, &DeleteParams::default())
        .await
        .expect("delete the leader pod");
    env.bitbucket_token("after", "src", "Read", json!({"formats": ["GitConfig"]}))
        .await;
    let old = leader.clone();
    let handed = wait_for(
        &env.ns.api::<Lease>(),
        &lease,
        WAIT,
        move |l: Option<&Lease>| {
            l.and_then(|l| l.spec.as_ref()?.holder_identity.as_ref())
                .is_some_and(|h| !h.is_empty() && *h != old)
        },
    )
    .await
    .expect("the Lease exists");
    let gap = started.elapsed();
    let new_leader = handed.spec.and_then(|s| s.holder_identity).expect("holder");
    env.ready("after").await;
    let ready = started.elapsed();
    eprintln!(
        "measured: leader hand-over {gap:.1?} (new leader {new_leader}); new BitbucketToken Ready {ready:.1?} after the delete"
    );
    assert!(
        pod_names(&env.ns, &env.selector())
            .await
            .contains(&new_leader)
    );
    assert!(gap < Duration::from_secs(30), "hand-over took {gap:?}");
    wait_available(&env.ns, &lease, 2).await;
    env.finish().await;
}

/// A rotated token (the user's Secret now holds a token with write access) reaches a running
/// pod's Secret volume, and with `restartOnRotation` the selected Deployment rolls: its old pod
/// could not push with the read-only token, its new pod pushes with the new one.
#[tokio::test]
async fn a_rotated_token_reaches_a_running_pod_and_rolls_the_selected_deployment() {
    let how = Install {
        helm: Helm::V4,
        replicas: 1,
        crds: false,
    };
    let env = NodeEnv::start("node-rotate", how).await;
    env.token_secret("src", "rat-ro").await;
    env.bitbucket_token(
        "rot",
        "src",
        "Read",
        json!({
            "formats": ["GitConfig"],
            "mountPath": MOUNT,
            "restartOnRotation": {"selector": {"matchLabels": {"git-credentials": "payments"}}},
        }),
    )
    .await;
    let rendered = env.ready("rot").await;
    let url = env.clone_url();

    // A running pod that only reads its volume, and a Deployment whose pods push at start.
    let watcher: Pod = serde_json::from_value(json!({
        "metadata": {"name": "watcher"},
        "spec": git_pod_spec("exec sleep 3600", &[(&rendered, MOUNT)], &[]),
    }))
    .expect("Pod");
    env.ns
        .api::<Pod>()
        .create(&PostParams::default(), &watcher)
        .await
        .expect("create Pod");
    let setup = format!("export GIT_CONFIG_GLOBAL={MOUNT}/.gitconfig");
    let script = format!(
        "{}\nif git push -q origin HEAD:refs/heads/$HOSTNAME; then echo push-ok; else echo push-denied; fi\nexec sleep 3600",
        clone_and_push(&setup, &url, "x")
            .split("\ngit push")
            .next()
            .expect("script")
    );
    let mut pod_spec = git_pod_spec(&script, &[(&rendered, MOUNT)], &[]);
    pod_spec["restartPolicy"] = "Always".into();
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "ci-runner", "labels": {"git-credentials": "payments"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "ci-runner"}},
            "template": {"metadata": {"labels": {"app": "ci-runner"}}, "spec": pod_spec},
        },
    }))
    .expect("Deployment");
    env.ns
        .api::<Deployment>()
        .create(&PostParams::default(), &deployment)
        .await
        .expect("create Deployment");
    wait_pod_ready(&env.ns, "watcher").await;
    wait_available(&env.ns, "ci-runner", 1).await;
    let first = pod_names(&env.ns, "app=ci-runner").await;
    assert_eq!(first.len(), 1);
    let logs = wait_log(&env.ns, &format!("pod/{}", first[0]), "push-").await;
    assert!(
        logs.contains("push-denied"),
        "the read-only token cannot push: {logs}"
    );
    let before = exec(&env.ns, "watcher", &["cat", &format!("{MOUNT}/.gitconfig")])
        .expect("read the volume");

    // Rotate, and time the rendered Secret's update and its arrival in the running pod.
    let rotated = Instant::now();
    env.token_secret("src", "rat-rw").await;
    let old = before.clone();
    let secret = wait_for(
        &env.ns.api::<Secret>(),
        &rendered,
        WAIT,
        move |s: Option<&Secret>| {
            s.and_then(|s| s.data.as_ref()?.get(".gitconfig"))
                .is_some_and(|v| String::from_utf8_lossy(&v.0) != old)
        },
    )
    .await
    .expect("the rendered Secret");
    let rendered_after = rotated.elapsed();
    let new = String::from_utf8_lossy(&secret.data.expect("data")[".gitconfig"].0).into_owned();
    let path = format!("{MOUNT}/.gitconfig");
    wait_until(
        "the new gitconfig in the running pod's volume",
        Duration::from_secs(180),
        || async {
            (exec(&env.ns, "watcher", &["cat", &path]).as_deref() == Some(new.as_str()))
                .then_some(())
        },
    )
    .await;
    let in_volume = rotated.elapsed();
    eprintln!(
        "measured: rendered Secret updated {rendered_after:.1?} after the rotation; in the running pod's volume {:.1?} later ({in_volume:.1?} in all)",
        in_volume - rendered_after
    );

    // The Deployment rolled: a new pod, which pushes with the new token.
    let old_pod = first[0].clone();
    let new_pod = wait_until("a new ci-runner pod", WAIT, || async {
        pod_names(&env.ns, "app=ci-runner")
            .await
            .into_iter()
            .find(|p| *p != old_pod)
    })
    .await;
    let logs = wait_log(&env.ns, &format!("pod/{new_pod}"), "push-").await;
    assert!(
        logs.contains("push-ok"),
        "the new pod pushes with the rotated token: {logs}"
    );
    let annotated = env
        .ns
        .api::<Deployment>()
        .get("ci-runner")
        .await
        .expect("Deployment");
    let name = annotated.name_any();
    assert!(
        annotated
            .spec
            .template
            .metadata
            .and_then(|m| m.annotations)
            .is_some_and(|a| !a.is_empty()),
        "the operator stamped the pod template of {name}"
    );
    env.finish().await;
}

/// The pod network: a pod (non-root, no hostNetwork) reaches the API server at the `kubernetes`
/// Service address with its ServiceAccount token mounted, and this machine at the bridge address,
/// and not an address outside (the guard rules drop whatever leaves the bridge for elsewhere).
#[tokio::test]
async fn a_pod_reaches_the_api_server_and_this_machine_and_nothing_else() {
    let client = client().await;
    let ns = TestNamespace::create(&client, "node-net").await;
    wait_default_service_account(&ns).await;
    let host = tokio::net::TcpListener::bind((gateway(), 0))
        .await
        .expect("listen on the bridge address");
    let port = host.local_addr().expect("address").port();
    let accept = tokio::spawn(async move { host.accept().await.map(|_| ()) });
    let script = format!(
        "test -s /var/run/secrets/kubernetes.io/serviceaccount/token && echo token\n\
         (exec 3<>/dev/tcp/$KUBERNETES_SERVICE_HOST/$KUBERNETES_SERVICE_PORT) && echo api\n\
         (exec 3<>/dev/tcp/{}/{port}) && echo host\n\
         rc=0; timeout 3 bash -c 'exec 3<>/dev/tcp/192.0.2.1/53' 2>/dev/null || rc=$?; echo outside=$rc\n\
         rc=0; timeout 3 bash -c 'exec 3<>/dev/tcp/10.0.0.77/443' 2>/dev/null || rc=$?; echo service=$rc",
        gateway()
    );
    let dropped = guard_drops();
    let (ok, logs) = run_job(&ns, "net", git_pod_spec(&script, &[], &[])).await;
    assert!(ok, "{logs}");
    let lines: Vec<&str> = logs.lines().collect();
    // 124: timed out, nothing answered (the machine itself is refused at once by 192.0.2.1)
    assert_eq!(
        lines,
        ["token", "api", "host", "outside=124", "service=124"],
        "{logs}"
    );
    assert!(
        guard_drops() > dropped,
        "the FORWARD guard dropped the pod's packets"
    );
    accept
        .await
        .expect("join")
        .expect("the pod connected to this machine");
    ns.delete().await;
}

/// Packets the node's FORWARD guard rules (tagged with the node's name) have dropped so far.
fn guard_drops() -> u64 {
    let tag = format!("/* {} */", node_var("BTO_NODE_NAME"));
    let output = std::process::Command::new("iptables")
        .args(["-w", "-t", "filter", "-L", "FORWARD", "-v", "-x", "-n"])
        .output()
        .expect("run iptables");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.contains(&tag) && l.contains("DROP"))
        .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}
