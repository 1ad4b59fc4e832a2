//! The benchmark's objects: source Secrets, BitbucketTokens, unrelated Secrets, and a watch that
//! says when every BitbucketToken is Ready.

use std::{
    collections::{BTreeMap, HashSet},
    time::{Duration, Instant},
};

use bitbucket_token_operator::api::BitbucketToken;
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{
    Api, Client, ResourceExt,
    api::{ObjectMeta, PostParams},
    runtime::watcher,
};
use tokio::task::JoinHandle;

use crate::{
    Result,
    error::{BenchError, kube},
    world::token_secret,
};

pub async fn create_namespace(client: &Client, name: &str) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .map_err(kube(format!("create namespace {name}")))?;
    Ok(())
}

fn secret(name: String, key: &str, value: String) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name),
            ..ObjectMeta::default()
        },
        string_data: Some(BTreeMap::from([(key.to_string(), value)])),
        ..Secret::default()
    }
}

fn token(i: usize) -> Result<BitbucketToken> {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "bitbucket-token-operator.io/v1beta1",
        "kind": "BitbucketToken",
        "metadata": {"name": format!("bbt-{i:05}")},
        "spec": {
            "token": {"kind": "RepositoryAccessToken", "secretRef": {"name": format!("src-{i:05}"), "key": "token"}},
            "access": {"workspace": "acme", "repositories": ["payments"], "permission": "Read"},
            "validation": {"interval": "1m"},
            "target": {"formats": ["GitConfig"]},
        },
    }))
    .map_err(|e| BenchError::Failed(format!("BitbucketToken object: {e}")))
}

/// Creates `n` source Secrets (object i holds distinct token `i % distinct`) and `n`
/// BitbucketTokens, `concurrency` requests at a time.
pub async fn create_tokens(
    client: &Client,
    namespace: &str,
    n: usize,
    distinct: usize,
    concurrency: usize,
) -> Result<()> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let tokens: Api<BitbucketToken> = Api::namespaced(client.clone(), namespace);
    stream::iter(0..n)
        .map(|i| {
            let (secrets, tokens) = (secrets.clone(), tokens.clone());
            async move {
                let source = secret(format!("src-{i:05}"), "token", token_secret(i % distinct));
                secrets
                    .create(&PostParams::default(), &source)
                    .await
                    .map_err(kube("create a source Secret"))?;
                tokens
                    .create(&PostParams::default(), &token(i)?)
                    .await
                    .map_err(kube("create a BitbucketToken"))?;
                Ok::<_, BenchError>(())
            }
        })
        .buffer_unordered(concurrency)
        .try_collect::<()>()
        .await
}

/// Creates `n` Secrets of 1 KiB that no BitbucketToken refers to.
pub async fn create_unrelated(
    client: &Client,
    namespace: &str,
    n: usize,
    concurrency: usize,
) -> Result<()> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let filler = "x".repeat(1024);
    stream::iter(0..n)
        .map(|i| {
            let secrets = secrets.clone();
            let value = filler.clone();
            async move {
                secrets
                    .create(
                        &PostParams::default(),
                        &secret(format!("unrelated-{i:05}"), "data", value),
                    )
                    .await
                    .map_err(kube("create an unrelated Secret"))?;
                Ok::<_, BenchError>(())
            }
        })
        .buffer_unordered(concurrency)
        .try_collect::<()>()
        .await
}

fn is_ready(token: &BitbucketToken) -> bool {
    token.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    })
}

/// Watches the namespace's BitbucketTokens from now on; the handle resolves with the time from
/// `started` until `n` of them were Ready at once.
pub fn watch_until_ready(
    client: &Client,
    namespace: &str,
    n: usize,
    started: Instant,
    timeout: Duration,
) -> JoinHandle<Result<Duration>> {
    let tokens: Api<BitbucketToken> = Api::namespaced(client.clone(), namespace);
    tokio::spawn(async move {
        let mut ready = HashSet::new();
        let mut events = watcher(tokens, watcher::Config::default()).boxed();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let event = tokio::time::timeout_at(deadline, events.next())
                .await
                .map_err(|_| {
                    BenchError::Failed(format!(
                        "only {} of {n} BitbucketTokens Ready after {timeout:?}",
                        ready.len()
                    ))
                })?;
            match event {
                Some(Ok(watcher::Event::Apply(t) | watcher::Event::InitApply(t))) => {
                    if is_ready(&t) {
                        ready.insert(t.name_any());
                    } else {
                        ready.remove(&t.name_any());
                    }
                }
                Some(Ok(watcher::Event::Delete(t))) => {
                    ready.remove(&t.name_any());
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => eprintln!("bto-bench: watch error (retrying): {error}"),
                None => return Err(BenchError::Failed("the watch ended".into())),
            }
            if ready.len() >= n {
                return Ok(started.elapsed());
            }
        }
    })
}
