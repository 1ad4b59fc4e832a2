//! The CRD against a real kube-apiserver: installation, CEL validation, printer columns, and the
//! controller-manager's namespace deletion.

use crate::support;

use std::time::Duration;

use bitbucket_token_operator::api::BitbucketToken;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{
    Api, ResourceExt,
    api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};
use support::{TestNamespace, client, ensure_crd, kubectl, wait_for};

const INVALID_SPECS: &str = include_str!("../fixtures/invalid-specs.yaml");

fn token_object(name: &str, spec: &Value) -> BitbucketToken {
    serde_json::from_value(json!({
        "apiVersion": "bitbucket-token-operator.io/v1beta1",
        "kind": "BitbucketToken",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .expect("valid BitbucketToken object")
}

/// An untyped Api, so specs the Rust types would refuse still reach the apiserver.
fn raw_api(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        namespace,
        &ApiResource::erase::<BitbucketToken>(&()),
    )
}

async fn create_raw(
    api: &Api<DynamicObject>,
    name: &str,
    spec: Value,
) -> Result<DynamicObject, kube::Error> {
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "bitbucket-token-operator.io/v1beta1",
        "kind": "BitbucketToken",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .expect("dynamic object");
    api.create(&PostParams::default(), &object).await
}

fn table() -> Value {
    serde_saphyr::from_str(INVALID_SPECS).expect("invalid-specs.yaml parses")
}

#[tokio::test]
async fn crd_installs_and_becomes_established() {
    let client = client().await;
    ensure_crd(&client).await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client);
    let crd = crds
        .get("bitbuckettokens.bitbucket-token-operator.io")
        .await
        .unwrap();
    let established = crd
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .into_iter()
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established);
}

#[tokio::test]
async fn valid_specs_are_accepted_with_defaults_applied() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "valid").await;
    let api: Api<BitbucketToken> = ns.api();
    for (base_name, spec) in table()["bases"].as_object().unwrap() {
        let name = base_name.to_lowercase();
        let created = api
            .create(&PostParams::default(), &token_object(&name, spec))
            .await
            .unwrap();
        assert_eq!(
            created.spec.access.repositories,
            vec!["payments".to_string()]
        );
    }
    // Defaults are applied by the apiserver from the schema.
    let minimal = json!({
        "token": {"kind": "WorkspaceAccessToken", "secretRef": {"name": "t", "key": "token"}},
        "access": {"workspace": "acme"}
    });
    let created = api
        .create(&PostParams::default(), &token_object("minimal", &minimal))
        .await
        .unwrap();
    assert_eq!(created.spec.access.permission.as_str(), "Read");
    ns.delete().await;
}

#[tokio::test]
async fn every_invalid_spec_is_rejected_by_the_apiserver_with_its_message() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "invalid").await;
    let api = raw_api(&client, &ns.name);
    let table = table();
    for (index, case) in table["cases"].as_array().unwrap().iter().enumerate() {
        let case_name = case["name"].as_str().unwrap();
        let mut spec = table["bases"][case["base"].as_str().unwrap()].clone();
        json_patch::merge(&mut spec, &case["spec"]);
        let expected = case["message"].as_str().unwrap();
        match create_raw(&api, &format!("case-{index}"), spec).await {
            Ok(_) => panic!("case {case_name:?} was accepted by the apiserver"),
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 422, "case {case_name:?}: {status:?}");
                assert!(
                    status.message.contains(expected),
                    "case {case_name:?}: expected {expected:?} in {:?}",
                    status.message
                );
            }
            Err(other) => panic!("case {case_name:?}: unexpected error {other}"),
        }
    }
    ns.delete().await;
}

#[tokio::test]
async fn schema_patterns_reject_malformed_names() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "pattern").await;
    let api = raw_api(&client, &ns.name);
    let base = table()["bases"]["cloud"].clone();
    let cases = [
        (
            json!({"access": {"workspace": "Acme Corp"}}),
            "spec.access.workspace",
        ),
        (
            json!({"access": {"repositories": ["pay ments"]}}),
            "spec.access.repositories[0]",
        ),
        (
            json!({"token": {"secretRef": {"name": "Bad_Name"}}}),
            "spec.token.secretRef.name",
        ),
        (
            json!({"validation": {"interval": "1d"}}),
            "spec.validation.interval",
        ),
        (
            json!({"access": {"repositories": ["payments", "payments"]}}),
            "spec.access.repositories[1]",
        ),
    ];
    for (index, (patch, field)) in cases.iter().enumerate() {
        let mut spec = base.clone();
        json_patch::merge(&mut spec, patch);
        let error = create_raw(&api, &format!("p-{index}"), spec)
            .await
            .expect_err("must be rejected");
        let kube::Error::Api(status) = error else {
            panic!("unexpected error {error}")
        };
        assert!(
            status.message.contains(field),
            "expected {field} in {:?}",
            status.message
        );
    }
    ns.delete().await;
}

#[tokio::test]
async fn kubectl_get_shows_the_printer_columns() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "columns").await;
    let api: Api<BitbucketToken> = ns.api();
    let spec = table()["bases"]["cloud"].clone();
    api.create(&PostParams::default(), &token_object("payments-ci", &spec))
        .await
        .unwrap();
    let status = json!({"status": {
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "SecretRendered", "message": "ok",
             "lastTransitionTime": "2026-11-01T00:00:00Z", "observedGeneration": 1},
            {"type": "TokenValid", "status": "True", "reason": "Valid", "message": "ok",
             "lastTransitionTime": "2026-11-01T00:00:00Z", "observedGeneration": 1}
        ],
        "expiresAt": "2027-03-01T00:00:00Z",
        "secretName": "payments-ci-git"
    }});
    api.patch_status(
        "payments-ci",
        &PatchParams::default(),
        &Patch::Merge(&status),
    )
    .await
    .unwrap();
    let output = kubectl(&["get", "bbt", "-n", &ns.name]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "READY", "VALID", "EXPIRES", "SECRET", "AGE"]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        &row[..5],
        [
            "payments-ci",
            "True",
            "Valid",
            "2027-03-01T00:00:00Z",
            "payments-ci-git"
        ]
    );
    // The short name and the category resolve too.
    assert!(
        kubectl(&["get", "bbtoken", "-n", &ns.name])
            .status
            .success()
    );
    assert!(
        kubectl(&["get", "bitbucket", "-n", &ns.name])
            .status
            .success()
    );
    ns.delete().await;
}

#[tokio::test]
async fn deleting_a_namespace_completes() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "delete").await;
    let tokens: Api<BitbucketToken> = ns.api();
    tokens
        .create(
            &PostParams::default(),
            &token_object("t", &table()["bases"]["cloud"]),
        )
        .await
        .unwrap();
    let secrets: Api<Secret> = ns.api();
    let secret: Secret = serde_json::from_value(json!({"metadata": {"name": "payments-token"},
        "stringData": {"token": "x"}}))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let uid = namespaces.get(&ns.name).await.unwrap().uid().unwrap();
    let name = ns.name.clone();
    ns.delete().await;
    // Only the namespace controller (in kube-controller-manager) can finish this.
    let gone = move |object: Option<&Namespace>| {
        object.is_none_or(|o| o.uid().as_deref() != Some(uid.as_str()))
    };
    wait_for(&namespaces, &name, Duration::from_secs(60), gone).await;
}
