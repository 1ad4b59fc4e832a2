//! The floor: a minimal controller that makes only the writes no implementation can avoid — one
//! Secret created and one status patched per BitbucketToken — as fast as the API server allows.

use std::collections::BTreeMap;

use bitbucket_token_operator::api::BitbucketToken;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, ResourceExt,
    api::{ObjectMeta, Patch, PatchParams, PostParams},
    runtime::watcher,
};
use tokio::task::JoinHandle;

/// Starts the baseline controller for `namespace`; abort the handle to stop it.
pub fn start(client: &Client, namespace: &str) -> JoinHandle<()> {
    let tokens: Api<BitbucketToken> = Api::namespaced(client.clone(), namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    tokio::spawn(async move {
        let mut events = watcher(tokens.clone(), watcher::Config::default()).boxed();
        while let Some(event) = events.next().await {
            let token = match event {
                Ok(watcher::Event::Apply(t) | watcher::Event::InitApply(t)) => t,
                _ => continue,
            };
            if token.status.is_some() {
                continue;
            }
            let (tokens, secrets) = (tokens.clone(), secrets.clone());
            tokio::spawn(async move {
                let name = token.name_any();
                let secret = Secret {
                    metadata: ObjectMeta {
                        name: Some(format!("{name}-git")),
                        ..ObjectMeta::default()
                    },
                    string_data: Some(BTreeMap::from([(
                        ".gitconfig".to_string(),
                        "[http]\n".to_string(),
                    )])),
                    ..Secret::default()
                };
                if let Err(error) = secrets.create(&PostParams::default(), &secret).await {
                    eprintln!("baseline: create Secret: {error}");
                }
                let status = serde_json::json!({"status": {"conditions": [{
                    "type": "Ready", "status": "True", "reason": "Baseline", "message": "",
                    "lastTransitionTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                }]}});
                if let Err(error) = tokens
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                    .await
                {
                    eprintln!("baseline: patch status: {error}");
                }
            });
        }
    })
}
