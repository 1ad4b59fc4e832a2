//! Definitive rejections of a token, shared by every BitbucketToken that uses it.
//!
//! Validation results are shared per question ([`super::validation_cache`]): the same token asked
//! for different access is a different question. But when Bitbucket rejects the token itself
//! (401: unauthorized, revoked, expired, an app password that no longer exists), the answer holds
//! for every question about that token on that server. This module remembers such rejections,
//! lets them replace older shared results, and wakes the other objects using the token so they
//! report it at once instead of at their next scheduled check.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use chrono::{DateTime, Utc};
use futures::Stream;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::broadcast;

use super::{validation_cache::CachedVerdict, verdict::TokenVerdict};
use crate::api::{BitbucketToken, Reason};

/// How many wake-ups may wait for a slow controller before the oldest are dropped (a dropped
/// wake-up only delays that object until its own next check).
const WAKE_BUFFER: usize = 4096;

/// One token on one server: `<server>/<token fingerprint>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenId(pub String);

/// The shared rejections and who to wake.
pub struct Rejections {
    state: Mutex<State>,
    wake: broadcast::Sender<ObjectRef<BitbucketToken>>,
}

#[derive(Default)]
struct State {
    rejected: HashMap<TokenId, (TokenVerdict, DateTime<Utc>)>,
    users: HashMap<TokenId, HashSet<ObjectRef<BitbucketToken>>>,
}

impl Default for Rejections {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            wake: broadcast::channel(WAKE_BUFFER).0,
        }
    }
}

/// True for verdicts about the token itself rather than about the access asked of it.
fn rejects_token(verdict: &TokenVerdict) -> bool {
    matches!(
        verdict,
        TokenVerdict::Invalid {
            reason: Reason::Unauthorized
                | Reason::Revoked
                | Reason::Expired
                | Reason::AppPasswordRemoved,
            ..
        }
    )
}

impl Rejections {
    /// Combines this object's shared result with what is known about its token: a fresh answer
    /// is remembered (a rejection wakes the token's other users; an acceptance clears it), and a
    /// reused answer older than a known rejection gives way to the rejection.
    pub fn apply(
        &self,
        token: &TokenId,
        object: &ObjectRef<BitbucketToken>,
        cached: CachedVerdict,
    ) -> CachedVerdict {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .users
            .entry(token.clone())
            .or_default()
            .insert(object.clone());
        if cached.fresh_call {
            if rejects_token(&cached.verdict) {
                state
                    .rejected
                    .insert(token.clone(), (cached.verdict.clone(), cached.at));
                self.wake_others(&state, token, object);
            } else if matches!(cached.verdict, TokenVerdict::Valid(_)) {
                state.rejected.remove(token);
            }
            return cached;
        }
        match state.rejected.get(token) {
            Some((verdict, at)) if *at > cached.at => CachedVerdict {
                verdict: verdict.clone(),
                at: *at,
                fresh_call: false,
            },
            _ => cached,
        }
    }

    fn wake_others(&self, state: &State, token: &TokenId, object: &ObjectRef<BitbucketToken>) {
        for other in state.users.get(token).into_iter().flatten() {
            if other != object {
                // No receiver (no controller running) is fine: nothing to wake.
                let _ = self.wake.send(other.clone());
            }
        }
    }

    /// The objects to reconcile now because their token was rejected for another object, limited
    /// to `namespace` (all namespaces for `None`).
    pub fn wake_ups(
        &self,
        namespace: Option<String>,
    ) -> impl Stream<Item = ObjectRef<BitbucketToken>> + Send + 'static {
        let receiver = self.wake.subscribe();
        futures::stream::unfold(receiver, move |mut receiver| {
            let namespace = namespace.clone();
            async move {
                loop {
                    match receiver.recv().await {
                        Ok(object) if namespace.is_none() || object.namespace == namespace => {
                            return Some((object, receiver));
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;
    use crate::bitbucket::ValidToken;

    fn object(name: &str) -> ObjectRef<BitbucketToken> {
        ObjectRef::new(name).within("team")
    }

    fn valid(at: DateTime<Utc>) -> CachedVerdict {
        CachedVerdict {
            verdict: TokenVerdict::Valid(ValidToken {
                identity: "x".into(),
                ..ValidToken::default()
            }),
            at,
            fresh_call: false,
        }
    }

    #[tokio::test]
    async fn a_rejection_replaces_older_shared_answers_and_wakes_the_other_users() {
        let rejections = Rejections::default();
        let token = TokenId("cloud/fp".into());
        let mut wakes = Box::pin(rejections.wake_ups(Some("team".into())));
        let t0 = Utc::now();
        let first = rejections.apply(&token, &object("a"), valid(t0));
        assert!(matches!(first.verdict, TokenVerdict::Valid(_)));
        rejections.apply(&token, &object("b"), valid(t0));
        let revoked = CachedVerdict {
            verdict: TokenVerdict::invalid(Reason::Revoked, "gone"),
            at: t0 + chrono::TimeDelta::seconds(1),
            fresh_call: true,
        };
        rejections.apply(&token, &object("a"), revoked);
        assert_eq!(wakes.next().await, Some(object("b")));
        let second = rejections.apply(&token, &object("b"), valid(t0));
        assert_eq!(
            second.verdict,
            TokenVerdict::invalid(Reason::Revoked, "gone")
        );
        // An access problem is not about the token: it is not shared.
        let other = TokenId("cloud/other".into());
        let scope = CachedVerdict {
            verdict: TokenVerdict::invalid(Reason::InsufficientScope, "scope"),
            at: t0,
            fresh_call: true,
        };
        rejections.apply(&other, &object("c"), scope);
        let unaffected = rejections.apply(
            &other,
            &object("d"),
            valid(t0 - chrono::TimeDelta::seconds(1)),
        );
        assert!(matches!(unaffected.verdict, TokenVerdict::Valid(_)));
        // A fresh acceptance (the token was restored) clears the rejection.
        let mut restored = valid(t0 + chrono::TimeDelta::seconds(2));
        restored.fresh_call = true;
        rejections.apply(&token, &object("a"), restored);
        let after = rejections.apply(&token, &object("b"), valid(t0));
        assert!(matches!(after.verdict, TokenVerdict::Valid(_)));
    }
}
