//! Waiting for a condition with a timeout, driven by watch events rather than sleeps.

use std::{fmt::Debug, future::Future, time::Duration};

use kube::{
    Api, Resource,
    runtime::wait::{Condition, await_condition},
};
use serde::de::DeserializeOwned;

/// Waits until the named object satisfies `condition`, failing the test after `timeout` with the
/// object's last state. Returns the object, or `None` when the condition was its deletion.
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    condition: impl Condition<K> + Send + Sync + 'static,
) -> Option<K>
where
    K: Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    let condition = std::sync::Arc::new(condition);
    let shared = condition.clone();
    let watched = move |object: Option<&K>| shared.matches_object(object);
    match tokio::time::timeout(timeout, await_condition(api.clone(), name, watched)).await {
        Ok(Ok(Some(object))) => Some(object),
        Ok(Ok(None)) if condition.matches_object(None) => None,
        Ok(Ok(None)) => panic!("{name} was deleted while waiting"),
        Ok(Err(error)) => panic!("watching {name} failed: {error}"),
        Err(_) => {
            let last = api.get_opt(name).await.ok().flatten();
            panic!("timed out after {timeout:?} waiting for {name}; last state: {last:#?}")
        }
    }
}

/// Polls `probe` (for things no watch can observe, e.g. an external process) until it yields a
/// value, with a short back-off between attempts, failing after `timeout`.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(20);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// Waits until BitbucketToken `name` is `Ready=True` and returns the name of its rendered Secret
/// (`status.secretName`).
pub async fn wait_rendered(
    api: &Api<bitbucket_token_operator::api::BitbucketToken>,
    name: &str,
    timeout: Duration,
) -> String {
    use bitbucket_token_operator::api::BitbucketToken;
    let bbt = wait_for(api, name, timeout, |obj: Option<&BitbucketToken>| {
        obj.and_then(|o| o.status.as_ref()).is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    })
    .await
    .expect("exists");
    bbt.status
        .and_then(|s| s.secret_name)
        .expect("status names the Secret")
}
