//! A corpus of malformed BitbucketTokens and token Secrets (tests/fixtures/malformed/, one case
//! per file) applied to the real API server while the operator runs: each change is refused by the
//! schema with a message naming the field, or reported in status with a specific reason; the
//! operator neither crashes nor panics, and the Secret each BitbucketToken rendered while it worked
//! stays exactly as it was.

use crate::support;
use crate::world;

use std::{collections::BTreeMap, time::Duration};

use bitbucket_token_operator::api::BitbucketToken;
use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams, ValidationDirective},
};
use serde::Deserialize;
use serde_json::{Value, json};
use support::{TestNamespace, client, ensure_crd, operator::Operator, wait_for};
use world::World;

const WAIT: Duration = Duration::from_secs(60);
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/malformed");

/// One file of the corpus.
#[derive(Deserialize, Debug)]
struct Case {
    #[serde(skip)]
    file: String,
    target: Target,
    #[serde(default)]
    patch: Value,
    #[serde(default)]
    data: BTreeMap<String, String>,
    expect: Expect,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Target {
    Token,
    Secret,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "lowercase")]
enum Expect {
    /// The API server refuses the change; its message names this field path.
    Refused(String),
    /// The operator reports Ready=False with this reason.
    Reason(String),
}

fn corpus() -> Vec<Case> {
    let mut files: Vec<_> = std::fs::read_dir(CORPUS)
        .expect("the corpus folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read a case");
            let mut case: Case =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            case.file = path.file_name().unwrap().to_string_lossy().into_owned();
            case
        })
        .collect()
}

/// Object names for case number `index`.
fn names(index: usize) -> (String, String) {
    (format!("case-{index:02}"), format!("case-{index:02}-src"))
}

async fn working_pair(ns: &TestNamespace, world: &World, index: usize) {
    let (name, source) = names(index);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": source},
        "stringData": {"token": world.secret("rat-ro")},
    }))
    .expect("Secret");
    ns.api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the token Secret");
    let bbt: BitbucketToken = serde_json::from_value(json!({
        "apiVersion": "bitbucket-token-operator.io/v1beta1",
        "kind": "BitbucketToken",
        "metadata": {"name": name},
        "spec": {
            "token": {"kind": "RepositoryAccessToken", "secretRef": {"name": source, "key": "token"}},
            "access": {"workspace": "acme", "repositories": ["payments"], "permission": "Read"},
            "target": {"formats": ["GitConfig"]},
        },
    }))
    .expect("BitbucketToken");
    ns.api::<BitbucketToken>()
        .create(&PostParams::default(), &bbt)
        .await
        .expect("create the BitbucketToken");
}

fn ready(bbt: &BitbucketToken) -> Option<(String, String)> {
    let condition = bbt
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")?;
    Some((condition.status.clone(), condition.reason.clone()))
}

/// Applies the case's change; returns the API server's refusal message, if any.
async fn apply(ns: &TestNamespace, index: usize, case: &Case) -> Option<String> {
    let (name, source) = names(index);
    let result = match case.target {
        Target::Token => {
            let params = PatchParams {
                field_validation: Some(ValidationDirective::Strict),
                ..PatchParams::default()
            };
            ns.api::<BitbucketToken>()
                .patch(&name, &params, &Patch::Merge(&case.patch))
                .await
                .map(|_| ())
        }
        Target::Secret => {
            use base64::Engine;
            let data: BTreeMap<String, ByteString> = case
                .data
                .iter()
                .map(|(k, v)| {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(v)
                        .expect("base64 in the corpus");
                    (k.clone(), ByteString(bytes))
                })
                .collect();
            let mut secret = ns.api::<Secret>().get(&source).await.expect("token Secret");
            secret.data = Some(data);
            secret.metadata.managed_fields = None;
            ns.api::<Secret>()
                .replace(&source, &PostParams::default(), &secret)
                .await
                .map(|_| ())
        }
    };
    match result {
        Ok(()) => None,
        Err(kube::Error::Api(status)) => Some(status.message),
        Err(other) => panic!("{}: {other}", case.file),
    }
}

#[tokio::test]
async fn malformed_tokens_and_secrets_are_refused_or_reported_and_change_nothing() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "malformed").await;
    let world = World::start().await;
    let mut operator = Operator::start(&ns.name, &world.sim, &[]);
    let cases = corpus();
    assert!(cases.len() >= 40, "only {} cases", cases.len());

    for index in 0..cases.len() {
        working_pair(&ns, &world, index).await;
    }
    let tokens: Api<BitbucketToken> = ns.api();
    let secrets: Api<Secret> = ns.api();
    let mut rendered = Vec::new();
    for index in 0..cases.len() {
        let (name, _) = names(index);
        let bbt = wait_for(&tokens, &name, WAIT, |o: Option<&BitbucketToken>| {
            o.and_then(ready)
                .is_some_and(|(status, _)| status == "True")
        })
        .await
        .expect("Ready");
        let secret_name = bbt
            .status
            .and_then(|s| s.secret_name)
            .expect("a rendered Secret");
        let secret = secrets
            .get(&secret_name)
            .await
            .expect("the rendered Secret");
        rendered.push((secret_name, secret.type_, secret.data));
    }

    let mut refused = 0;
    let mut reported = 0;
    for (index, case) in cases.iter().enumerate() {
        let refusal = apply(&ns, index, case).await;
        match (&case.expect, refusal) {
            (Expect::Refused(field), Some(message)) => {
                assert!(
                    message.contains(&format!("{field}: "))
                        || message.contains(&format!("\"{field}\"")),
                    "{}: the refusal does not name {field}: {message}",
                    case.file
                );
                refused += 1;
            }
            (Expect::Refused(field), None) => {
                panic!("{}: accepted, expected a refusal naming {field}", case.file)
            }
            (Expect::Reason(_), Some(message)) => {
                panic!("{}: refused, expected a status: {message}", case.file)
            }
            (Expect::Reason(_), None) => {}
        }
    }
    for (index, case) in cases.iter().enumerate() {
        let Expect::Reason(reason) = &case.expect else {
            continue;
        };
        let (name, _) = names(index);
        let wanted = reason.clone();
        let file = case.file.clone();
        wait_for(&tokens, &name, WAIT, move |o: Option<&BitbucketToken>| {
            let seen = o.and_then(ready);
            if let Some((status, seen)) = &seen
                && status == "False"
                && seen != &wanted
                && seen != "Pending"
            {
                eprintln!("{file}: Ready=False {seen}, expected {wanted}");
            }
            seen.is_some_and(|(status, seen)| status == "False" && seen == wanted)
        })
        .await;
        reported += 1;
    }
    println!(
        "measured: {} malformed cases: {refused} refused by the schema naming the field, {reported} reported in status",
        cases.len()
    );
    for (secret_name, type_, data) in &rendered {
        let now = secrets
            .get(secret_name)
            .await
            .expect("the rendered Secret stays");
        assert_eq!(&now.type_, type_, "{secret_name}");
        assert_eq!(&now.data, data, "{secret_name} changed");
    }
    assert!(
        operator.wait_exit(Duration::from_millis(1)).is_none(),
        "the operator exited:\n{}",
        operator.logs()
    );
    let logs = operator.logs();
    assert!(!logs.contains("panicked"), "a panic:\n{logs}");
    assert!(
        !logs.contains(&world.secret("rat-ro")),
        "the token leaked into the log"
    );
    assert!(operator.stop().success(), "{}", operator.logs());
    ns.delete().await;
}
