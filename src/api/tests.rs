//! Tests of the API types and the generated schema.

use kube::CustomResourceExt;
use serde_json::{Value, json};

use super::*;

/// The table of invalid specs shared with the integration tests.
pub(crate) const INVALID_SPECS: &str = include_str!("../../tests/fixtures/invalid-specs.yaml");

fn full_spec() -> Value {
    json!({
        "server": {"dataCenter": {
            "url": "https://git.example.com/bitbucket",
            "caBundleSecretRef": {"name": "corp-ca", "key": "ca.crt"}
        }},
        "token": {
            "kind": "HTTPAccessToken",
            "secretRef": {"name": "payments-ci-token", "key": "token"},
            "username": "dev",
            "expiresAt": "2027-03-01T00:00:00Z"
        },
        "access": {"project": "PAY", "repositories": ["payments", "ledger"], "permission": "Write"},
        "validation": {"interval": "1h"},
        "expiryWarning": "336h",
        "target": {
            "name": "payments-ci-git",
            "formats": ["GitConfig", "GitCredentials", "BasicAuth", "BearerToken", "Env", "ArgoCD"],
            "labels": {"team": "payments"},
            "annotations": {"owner": "platform"},
            "deletionPolicy": "Retain"
        }
    })
}

fn openapi_schema() -> Value {
    let crd = serde_json::to_value(BitbucketToken::crd()).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

#[test]
fn full_spec_round_trips_through_serde() {
    let original = full_spec();
    let spec: BitbucketTokenSpec = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(spec.token.kind, TokenKind::HttpAccessToken);
    assert_eq!(spec.access.permission, Permission::Write);
    assert_eq!(
        spec.validation
            .as_ref()
            .and_then(|v| v.interval.as_ref())
            .map(|d| d.as_duration()),
        Some(std::time::Duration::from_secs(3600))
    );
    assert_eq!(serde_json::to_value(&spec).unwrap(), original);
}

#[test]
fn omitted_fields_take_their_defaults() {
    let spec: BitbucketTokenSpec = serde_json::from_value(json!({
        "token": {"kind": "APIToken", "secretRef": {"name": "t", "key": "token"}, "email": "a@b.c"},
        "access": {"workspace": "acme"}
    }))
    .unwrap();
    assert_eq!(spec.access.permission, Permission::Read);
    assert!(spec.access.repositories.is_empty());
    assert!(spec.server.is_none());
    assert_eq!(
        TargetSpec::default().deletion_policy,
        DeletionPolicy::Delete
    );
}

#[test]
fn token_kind_names_match_the_crd_enum() {
    let schema = openapi_schema();
    let names = &schema["properties"]["spec"]["properties"]["token"]["properties"]["kind"]["enum"];
    let expected: Vec<Value> = TokenKind::ALL.iter().map(|k| json!(k.as_str())).collect();
    assert_eq!(names, &json!(expected));
    for kind in TokenKind::ALL {
        assert_eq!(kind.as_str().parse::<TokenKind>().unwrap(), kind);
    }
    assert!("GitHubToken".parse::<TokenKind>().is_err());
}

#[test]
fn crd_has_printer_columns_short_names_and_status() {
    let crd = serde_json::to_value(BitbucketToken::crd()).unwrap();
    assert_eq!(crd["spec"]["group"], API_GROUP);
    assert_eq!(
        crd["spec"]["names"]["shortNames"],
        json!(["bbt", "bbtoken"])
    );
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], API_VERSION);
    assert_eq!(version["subresources"]["status"], json!({}));
    let columns: Vec<(&str, i64)> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["priority"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    // Priority 1: shown by `kubectl get -o wide` only.
    assert_eq!(
        columns,
        [
            ("Ready", 0),
            ("Valid", 0),
            ("Expires", 0),
            ("Secret", 0),
            ("Age", 0),
            ("Identity", 1),
            ("Failures", 1),
            ("Message", 1)
        ]
    );
}

#[test]
fn schema_carries_every_cel_rule_with_a_message() {
    let text = serde_json::to_string(&openapi_schema()).unwrap();
    for rule in [
        "has(self.cloud) != has(self.dataCenter)",
        "self.startsWith('https://')",
        "duration(self) >= duration('1m')",
        "self.kind == 'APIToken' ? has(self.email) : !has(self.email)",
    ] {
        assert!(
            text.contains(&serde_json::to_string(rule).unwrap()[1..rule.len()]),
            "missing rule {rule}"
        );
    }
    fn check(node: &Value, count: &mut usize) {
        if let Some(rules) = node
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
        {
            for rule in rules {
                let message = rule["message"].as_str().unwrap_or_default();
                assert!(
                    message.len() > 20,
                    "rule {} has no actionable message",
                    rule["rule"]
                );
                *count += 1;
            }
        }
        match node {
            Value::Object(map) => map.values().for_each(|v| check(v, count)),
            Value::Array(items) => items.iter().for_each(|v| check(v, count)),
            _ => {}
        }
    }
    let mut count = 0;
    check(&openapi_schema(), &mut count);
    assert!(count >= 14, "expected at least 14 CEL rules, found {count}");
}

#[test]
fn base_specs_of_the_invalid_table_are_valid() {
    let table: Value = serde_saphyr::from_str(INVALID_SPECS).unwrap();
    let schema = openapi_schema();
    for (name, base) in table["bases"].as_object().unwrap() {
        let object = json!({"apiVersion": "bitbucket-token-operator.io/v1beta1", "kind": "BitbucketToken",
            "metadata": {"name": "x"}, "spec": base});
        kube_cel::validate(&schema, &object, None)
            .unwrap_or_else(|e| panic!("base {name} should be valid: {e:?}"));
        serde_json::from_value::<BitbucketTokenSpec>(base.clone()).unwrap();
    }
}

#[test]
fn every_invalid_spec_is_caught_by_the_right_rule() {
    let table: Value = serde_saphyr::from_str(INVALID_SPECS).unwrap();
    let schema = openapi_schema();
    let cases = table["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut spec = table["bases"][case["base"].as_str().unwrap()].clone();
        json_patch::merge(&mut spec, &case["spec"]);
        let object = json!({"apiVersion": "bitbucket-token-operator.io/v1beta1", "kind": "BitbucketToken",
            "metadata": {"name": "x"}, "spec": spec});
        let expected = case["message"].as_str().unwrap();
        let errors = kube_cel::validate(&schema, &object, None)
            .err()
            .unwrap_or_else(|| panic!("case {name:?} was accepted"));
        let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
        assert!(
            messages.iter().any(|m| m.contains(expected)),
            "case {name:?}: expected a message containing {expected:?}, got {messages:?}"
        );
    }
}

fn token_valid(
    status: &str,
    reason: &str,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
        type_: "TokenValid".into(),
        status: status.into(),
        reason: reason.into(),
        message: String::new(),
        last_transition_time: kube_time(chrono::Utc::now()),
        observed_generation: Some(1),
    }
}

/// Both the operator and `kubectl bbt check` read "accepted before" from here: a revoked token
/// stays revoked at the next check instead of turning into a plain `Unauthorized`.
#[test]
fn a_token_accepted_or_revoked_before_was_accepted_before() {
    let status = |condition| BitbucketTokenStatus {
        token_fingerprint: Some("sha256:aaaa".into()),
        conditions: vec![condition],
        ..BitbucketTokenStatus::default()
    };
    assert!(status(token_valid("True", "Valid")).accepted_before("sha256:aaaa"));
    assert!(status(token_valid("False", "Revoked")).accepted_before("sha256:aaaa"));
    assert!(!status(token_valid("True", "Valid")).accepted_before("sha256:bbbb"));
    assert!(!status(token_valid("False", "Unauthorized")).accepted_before("sha256:aaaa"));
}
