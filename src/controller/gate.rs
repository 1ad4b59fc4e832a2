//! Who reconciles next when the operator is saturated: a fair queue in front of the reconciler.
//!
//! kube's controller runner, once at its concurrency limit, parks due objects in a hash set and
//! takes them out in hash order, so under sustained overload the same objects are picked again
//! and again while others wait forever (issue 18: 748 of 10,000 BitbucketTokens had no status 17
//! minutes after creation). The runner therefore runs without a limit and every reconcile passes
//! this gate first: at most `permits` run at once, the others wait in arrival order, and objects
//! whose status does not answer their spec yet ([`Class::First`]) go before the others
//! ([`Class::Again`]), so every object gets its first reconcile before any gets its second.
//! Closing the gate (shutdown, lost leadership) turns every waiter away at once, so what is in
//! flight is bounded by `permits`.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use tokio::sync::oneshot;

/// Which queue a reconcile waits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Never reconciled (no status), or its spec changed since its status was written.
    First,
    /// Everything else: scheduled checks, repairs, wake-ups.
    Again,
}

impl Class {
    /// [`Class::First`] when `status` has not observed `generation` (or does not exist).
    pub fn of(generation: Option<i64>, status: Option<&crate::api::BitbucketTokenStatus>) -> Self {
        match status {
            Some(status) if status.observed_generation == generation => Class::Again,
            _ => Class::First,
        }
    }
}

/// The gate; share it through an `Arc`.
pub struct Gate {
    state: Mutex<State>,
}

struct State {
    free: usize,
    closed: bool,
    first: VecDeque<oneshot::Sender<bool>>,
    again: VecDeque<oneshot::Sender<bool>>,
}

/// Leave to run one reconcile; the slot is given to the next waiter when this is dropped.
pub struct Permit {
    gate: Arc<Gate>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.gate.release();
    }
}

/// A waiter's receiver; if the waiter is dropped after it was handed a slot, the slot goes on.
struct Waiting {
    gate: Arc<Gate>,
    receiver: Option<oneshot::Receiver<bool>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(mut receiver) = self.receiver.take() {
            receiver.close();
            if let Ok(true) = receiver.try_recv() {
                self.gate.release();
            }
        }
    }
}

impl Gate {
    /// A gate letting `permits` reconciles run at once (at least one).
    pub fn new(permits: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                free: permits.max(1),
                closed: false,
                first: VecDeque::new(),
                again: VecDeque::new(),
            }),
        })
    }

    /// Waits for a slot in `class`'s queue; `None` once the gate is closed.
    pub async fn enter(self: &Arc<Self>, class: Class) -> Option<Permit> {
        let receiver = {
            let mut state = self.lock();
            if state.closed {
                return None;
            }
            if state.free > 0 && state.first.is_empty() && state.again.is_empty() {
                state.free -= 1;
                return Some(Permit { gate: self.clone() });
            }
            let (sender, receiver) = oneshot::channel();
            match class {
                Class::First => state.first.push_back(sender),
                Class::Again => state.again.push_back(sender),
            }
            receiver
        };
        let mut waiting = Waiting {
            gate: self.clone(),
            receiver: Some(receiver),
        };
        let granted = match waiting.receiver.as_mut() {
            Some(receiver) => receiver.await,
            None => return None,
        };
        waiting.receiver = None;
        matches!(granted, Ok(true)).then(|| Permit { gate: self.clone() })
    }

    /// Turns away every waiter and every later [`Gate::enter`]; running reconciles finish.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        let State { first, again, .. } = &mut *state;
        for waiter in first.drain(..).chain(again.drain(..)) {
            let _ = waiter.send(false);
        }
    }

    /// How many reconciles wait for a slot.
    pub fn waiting(&self) -> usize {
        let state = self.lock();
        state.first.len() + state.again.len()
    }

    fn release(&self) {
        let mut state = self.lock();
        loop {
            let next = match state.first.pop_front() {
                Some(waiter) => Some(waiter),
                None => state.again.pop_front(),
            };
            let Some(waiter) = next else {
                state.free += 1;
                return;
            };
            // A waiter that went away (its reconcile was dropped) refuses: try the next.
            if waiter.send(true).is_ok() {
                return;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_reconciles_go_before_second_ones_in_arrival_order() {
        let gate = Gate::new(1);
        let running = gate.enter(Class::Again).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, class) in [
            ("again-1", Class::Again),
            ("first-1", Class::First),
            ("again-2", Class::Again),
            ("first-2", Class::First),
        ] {
            let (entering, order) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = entering.enter(class).await.unwrap();
                order.lock().unwrap().push(name);
            }));
            while gate.waiting() < tasks.len() {
                tokio::task::yield_now().await;
            }
        }
        drop(running);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["first-1", "first-2", "again-1", "again-2"]
        );
    }

    #[tokio::test]
    async fn a_dropped_waiter_passes_its_slot_on_and_close_turns_everyone_away() {
        let gate = Gate::new(1);
        let running = gate.enter(Class::First).await.unwrap();
        let abandoned = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(Class::First).await.is_some() }
        });
        while gate.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        abandoned.abort();
        let _ = abandoned.await;
        drop(running);
        let again = gate.enter(Class::Again).await;
        assert!(again.is_some(), "the slot was not lost");
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(Class::Again).await.is_some() }
        });
        while gate.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        gate.close();
        assert!(!waiter.await.unwrap(), "closing turns waiters away");
        drop(again);
        assert!(gate.enter(Class::First).await.is_none());
    }
}
