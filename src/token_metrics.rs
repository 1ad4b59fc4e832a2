//! Per-token metrics computed at scrape time from the controllers' caches of BitbucketTokens, so a
//! deleted BitbucketToken's series disappear with it (no stale series to clean up).

use std::{
    fmt,
    sync::{Arc, RwLock},
};

use kube::{ResourceExt, runtime::reflector::Store};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{MetricType, gauge::ConstGauge},
};

use crate::api::{BitbucketToken, ConditionType};

/// Labels every per-token series carries. Never the token.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    namespace: String,
    name: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ValidLabels {
    namespace: String,
    name: String,
    kind: String,
    /// The TokenValid reason (`Valid`, `Revoked`, `InsufficientScope`, ...).
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    namespace: String,
    name: String,
    kind: String,
    /// `cloud` or the Data Center base URL's host.
    server: String,
    secret: String,
}

/// The collector; controllers add their stores as they start.
#[derive(Clone, Default)]
pub struct TokenCollector {
    stores: Arc<RwLock<Vec<Store<BitbucketToken>>>>,
}

impl fmt::Debug for TokenCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCollector")
    }
}

impl TokenCollector {
    /// Adds the cache of one controller (one per watched namespace, or one for all).
    pub fn add_store(&self, store: Store<BitbucketToken>) {
        self.stores
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(store);
    }

    fn tokens(&self) -> Vec<Arc<BitbucketToken>> {
        let stores = self.stores.read().unwrap_or_else(|p| p.into_inner());
        let mut tokens: Vec<_> = stores.iter().flat_map(Store::state).collect();
        tokens.sort_by_key(|t| (t.namespace(), t.name_any()));
        tokens.dedup_by_key(|t| (t.namespace(), t.name_any()));
        tokens
    }
}

fn labels(token: &BitbucketToken) -> TokenLabels {
    TokenLabels {
        namespace: token.namespace().unwrap_or_default(),
        name: token.name_any(),
        kind: token.spec.token.kind.as_str().to_string(),
    }
}

fn condition(token: &BitbucketToken, type_: ConditionType) -> Option<(&str, &str)> {
    token
        .status
        .as_ref()?
        .condition(type_)
        .map(|c| (c.status.as_str(), c.reason.as_str()))
}

/// 1 when Bitbucket accepted the token at the last definitive check, 0 when it rejected it; while
/// a check cannot complete (Unknown) the last definitive answer holds, read from Ready.
fn valid_value(token: &BitbucketToken) -> Option<i64> {
    match condition(token, ConditionType::TokenValid)? {
        ("True", _) => Some(1),
        ("False", _) => Some(0),
        _ => match condition(token, ConditionType::Ready) {
            Some(("True", _)) => Some(1),
            _ => None,
        },
    }
}

fn server(token: &BitbucketToken) -> String {
    token
        .spec
        .server
        .as_ref()
        .and_then(|s| s.data_center.as_ref())
        .and_then(|dc| url::Url::parse(&dc.url).ok())
        .and_then(|u| u.host_str().map(String::from))
        .unwrap_or_else(|| "cloud".to_string())
}

fn gauge<S: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: Vec<(S, i64)>,
) -> Result<(), fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in series {
        ConstGauge::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for TokenCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let tokens = self.tokens();
        let e = &mut encoder;
        gauge(
            e,
            "bitbucket_token_expiration_timestamp_seconds",
            "When the token expires (Unix seconds), from Bitbucket or the declared expiresAt",
            expiration_series(&tokens),
        )?;
        gauge(
            e,
            "bitbucket_token_valid",
            "1 if Bitbucket accepted the token with the requested access at the last definitive check, 0 if it rejected it; reason is the TokenValid reason",
            valid_series(&tokens),
        )?;
        gauge(
            e,
            "bitbucket_token_ready",
            "1 if the rendered Secret holds the current, valid token (Ready=True), else 0",
            condition_series(&tokens, ConditionType::Ready, "True"),
        )?;
        gauge(
            e,
            "bitbucket_token_validation_failing",
            "1 while checks cannot complete (TokenValid=Unknown: Bitbucket unreachable or rate limiting), else 0",
            condition_series(&tokens, ConditionType::TokenValid, "Unknown"),
        )?;
        gauge(
            e,
            "bitbucket_token_last_validated_timestamp_seconds",
            "When Bitbucket last gave a definitive answer about the token (Unix seconds)",
            last_validated_series(&tokens),
        )?;
        gauge(
            e,
            "bitbucket_token_info",
            "Always 1; labels describe the BitbucketToken",
            info_series(&tokens),
        )?;
        Ok(())
    }
}

/// `bitbucket_token_expiration_timestamp_seconds`: tokens with a known expiry.
fn expiration_series(tokens: &[Arc<BitbucketToken>]) -> Vec<(TokenLabels, i64)> {
    tokens
        .iter()
        .filter_map(|t| Some((labels(t), t.status.as_ref()?.expires_at?.timestamp())))
        .collect()
}

/// `bitbucket_token_valid`: the last definitive answer, labelled with the TokenValid reason.
fn valid_series(tokens: &[Arc<BitbucketToken>]) -> Vec<(ValidLabels, i64)> {
    tokens
        .iter()
        .filter_map(|t| {
            let reason = condition(t, ConditionType::TokenValid).map(|(_, r)| r.to_string())?;
            let l = labels(t);
            let labels = ValidLabels {
                namespace: l.namespace,
                name: l.name,
                kind: l.kind,
                reason,
            };
            valid_value(t).map(|v| (labels, v))
        })
        .collect()
}

/// 1 for tokens whose condition `type_` has the status `wanted`, else 0.
fn condition_series(
    tokens: &[Arc<BitbucketToken>],
    type_: ConditionType,
    wanted: &str,
) -> Vec<(TokenLabels, i64)> {
    tokens
        .iter()
        .map(|t| {
            let holds = condition(t, type_).is_some_and(|(status, _)| status == wanted);
            (labels(t), i64::from(holds))
        })
        .collect()
}

/// `bitbucket_token_last_validated_timestamp_seconds`.
fn last_validated_series(tokens: &[Arc<BitbucketToken>]) -> Vec<(TokenLabels, i64)> {
    tokens
        .iter()
        .filter_map(|t| Some((labels(t), t.status.as_ref()?.last_validated_at?.timestamp())))
        .collect()
}

/// `bitbucket_token_info`: always 1, with the server and the rendered Secret's name.
fn info_series(tokens: &[Arc<BitbucketToken>]) -> Vec<(InfoLabels, i64)> {
    tokens
        .iter()
        .map(|t| {
            let l = labels(t);
            let labels = InfoLabels {
                namespace: l.namespace,
                name: l.name,
                kind: l.kind,
                server: server(t),
                secret: t
                    .status
                    .as_ref()
                    .and_then(|s| s.secret_name.clone())
                    .unwrap_or_default(),
            };
            (labels, 1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use kube::runtime::{reflector::store::Writer, watcher::Event};
    use prometheus_client::{encoding::text::encode, registry::Registry};
    use serde_json::json;

    use super::*;

    fn token(
        name: &str,
        valid: (&str, &str),
        ready: &str,
        expires: Option<&str>,
    ) -> BitbucketToken {
        serde_json::from_value(json!({
            "apiVersion": "bitbucket-token-operator.io/v1beta1",
            "kind": "BitbucketToken",
            "metadata": {"name": name, "namespace": "ci"},
            "spec": {
                "token": {"kind": "RepositoryAccessToken", "secretRef": {"name": "s", "key": "token"}},
                "access": {"workspace": "acme", "repositories": ["payments"]},
            },
            "status": {
                "conditions": [
                    {"type": "Ready", "status": ready, "reason": "R", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                    {"type": "TokenValid", "status": valid.0, "reason": valid.1, "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                ],
                "expiresAt": expires,
                "secretName": format!("{name}-git"),
            },
        }))
        .unwrap()
    }

    fn scrape(collector: &TokenCollector) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(collector.clone()));
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn series_follow_the_cache() {
        let mut writer: Writer<BitbucketToken> = Writer::default();
        let collector = TokenCollector::default();
        collector.add_store(writer.as_reader());
        let good = token(
            "good",
            ("True", "Valid"),
            "True",
            Some("2027-03-01T00:00:00Z"),
        );
        writer.apply_watcher_event(&Event::Apply(good.clone()));
        writer.apply_watcher_event(&Event::Apply(token(
            "revoked",
            ("False", "Revoked"),
            "False",
            None,
        )));
        writer.apply_watcher_event(&Event::Apply(token(
            "flaky",
            ("Unknown", "BitbucketUnreachable"),
            "True",
            None,
        )));
        let text = scrape(&collector);
        assert!(text.contains(r#"bitbucket_token_expiration_timestamp_seconds{namespace="ci",name="good",kind="RepositoryAccessToken"} 1803859200"#), "{text}");
        assert!(text.contains(r#"bitbucket_token_valid{namespace="ci",name="good",kind="RepositoryAccessToken",reason="Valid"} 1"#), "{text}");
        assert!(text.contains(r#"bitbucket_token_valid{namespace="ci",name="revoked",kind="RepositoryAccessToken",reason="Revoked"} 0"#), "{text}");
        assert!(text.contains(r#"bitbucket_token_valid{namespace="ci",name="flaky",kind="RepositoryAccessToken",reason="BitbucketUnreachable"} 1"#), "{text}");
        assert!(text.contains(r#"bitbucket_token_validation_failing{namespace="ci",name="flaky",kind="RepositoryAccessToken"} 1"#), "{text}");
        assert!(text.contains(r#"bitbucket_token_ready{namespace="ci",name="revoked",kind="RepositoryAccessToken"} 0"#), "{text}");
        assert!(text.contains(r#"bitbucket_token_info{namespace="ci",name="good",kind="RepositoryAccessToken",server="cloud",secret="good-git"} 1"#), "{text}");
        writer.apply_watcher_event(&Event::Delete(good));
        let text = scrape(&collector);
        assert!(
            !text.contains(r#"name="good""#),
            "a deleted token's series are gone: {text}"
        );
    }
}
