//! The chart's alerting rules and dashboard: `promtool test rules` runs the fixture in
//! `tests/alerts/` against the PrometheusRule that helm renders, under Helm 3 and Helm 4.

use crate::support;

use std::{collections::BTreeSet, path::Path, process::Command};

use serde_json::Value;
use support::{
    cluster::bin_dir,
    helm::{Helm, chart_dir},
};

const NAMESPACE: &str = "bitbucket-token-operator";

fn only<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<_> = objects.iter().filter(|o| o["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "exactly one {kind}: {found:?}");
    found[0]
}

fn promtool(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(bin_dir().join("promtool"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run promtool (scripts/install-tools.sh builds it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn the_alert_rules_pass_their_promtool_tests_under_helm3_and_helm4() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alerts/rules.test.yaml");
    for helm in Helm::ALL {
        let objects = helm.template("rel", NAMESPACE, &["prometheusRule.enabled=true"]);
        let rule = only(&objects, "PrometheusRule");
        assert_eq!(rule["metadata"]["namespace"], NAMESPACE);
        let dir = tempfile::tempdir().expect("temp dir");
        let rules = serde_json::json!({"groups": rule["spec"]["groups"]});
        std::fs::write(
            dir.path().join("rules.yaml"),
            serde_json::to_string_pretty(&rules).expect("rules as JSON (a subset of YAML)"),
        )
        .expect("write rules");
        std::fs::copy(&fixture, dir.path().join("rules.test.yaml")).expect("copy fixture");
        let checked = promtool(dir.path(), &["check", "rules", "rules.yaml"]);
        assert!(checked.contains("SUCCESS: 8 rules found"), "{checked}");
        let tested = promtool(dir.path(), &["test", "rules", "rules.test.yaml"]);
        assert!(tested.contains("SUCCESS"), "{helm:?}: {tested}");

        let alerts: BTreeSet<&str> = rules["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .flat_map(|g| g["rules"].as_array().expect("rules"))
            .map(|r| r["alert"].as_str().expect("alert name"))
            .collect();
        let runbooks =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/alerts.md"))
                .expect("docs/alerts.md");
        for alert in alerts {
            assert!(
                runbooks.contains(&format!("\n## {alert}\n")),
                "docs/alerts.md has no runbook section for {alert}"
            );
        }
    }
}

#[test]
fn alert_windows_and_labels_follow_the_values() {
    let objects = Helm::V4.template(
        "rel",
        NAMESPACE,
        &[
            "prometheusRule.enabled=true",
            "prometheusRule.expiringWithinDays=30",
            "prometheusRule.additionalAlertLabels.team=platform",
            "prometheusRule.severity.expired=page",
        ],
    );
    let rule = only(&objects, "PrometheusRule");
    let rules: Vec<&Value> = rule["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    let by_name = |name: &str| *rules.iter().find(|r| r["alert"] == name).unwrap();
    let expiring = by_name("BitbucketTokenExpiringSoon");
    assert!(
        expiring["expr"].as_str().unwrap().contains("< 2592000 > 0"),
        "{expiring}"
    );
    assert_eq!(
        by_name("BitbucketTokenExpired")["labels"]["severity"],
        "page"
    );
    for rule in &rules {
        assert_eq!(rule["labels"]["team"], "platform", "{rule}");
    }
}

#[test]
fn monitoring_objects_are_off_by_default_and_the_dashboard_is_valid() {
    let defaults = Helm::V4.template("rel", NAMESPACE, &[]);
    for kind in ["PrometheusRule", "ServiceMonitor"] {
        assert!(
            defaults.iter().all(|o| o["kind"] != kind),
            "{kind} is opt-in"
        );
    }
    assert!(
        defaults.iter().all(|o| o["kind"] != "ConfigMap"),
        "the dashboard is opt-in"
    );

    let objects = Helm::V4.template(
        "rel",
        NAMESPACE,
        &[
            "grafanaDashboard.enabled=true",
            "serviceMonitor.enabled=true",
        ],
    );
    let monitor = only(&objects, "ServiceMonitor");
    assert_eq!(
        monitor["spec"]["endpoints"][0]["honorLabels"], true,
        "the per-token namespace label must survive the scrape"
    );
    let config_map = only(&objects, "ConfigMap");
    assert_eq!(config_map["metadata"]["labels"]["grafana_dashboard"], "1");
    let dashboard: Value = serde_json::from_str(
        config_map["data"]["bitbucket-tokens.json"]
            .as_str()
            .unwrap(),
    )
    .expect("the dashboard is JSON");
    let expressions: Vec<&str> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap())
        .map(|t| t["expr"].as_str().unwrap())
        .collect();
    assert!(expressions.len() >= 10, "{expressions:?}");
    assert!(
        expressions.iter().any(
            |e| e.contains("bitbucket_token_expiration_timestamp_seconds") && e.contains("86400")
        ),
        "days to expiry: {expressions:?}"
    );
    assert!(
        expressions
            .iter()
            .any(|e| e.contains("count by (reason) (bitbucket_token_valid")),
        "tokens by state: {expressions:?}"
    );
    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(chart_dir().join("dashboards/bitbucket-tokens.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(dashboard, on_disk);
}
