//! One shutdown switch for the whole process: thrown by SIGTERM or Ctrl-C (or by losing the
//! leader Lease), watched by every controller and the election.

use tokio::sync::watch;

/// A switch that, once thrown, stays thrown.
#[derive(Clone)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self {
            tx: watch::Sender::new(false),
        }
    }
}

impl Shutdown {
    /// A switch that SIGTERM and Ctrl-C throw. A second signal exits the process at once.
    pub fn on_signals() -> Self {
        let shutdown = Self::default();
        let thrown = shutdown.clone();
        tokio::spawn(async move {
            signal().await;
            tracing::info!("shutdown requested: finishing in-flight reconciles");
            thrown.trigger();
            signal().await;
            tracing::warn!("second signal: exiting now");
            std::process::exit(130);
        });
        shutdown
    }

    /// Throws the switch.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// A future that resolves once the switch is thrown.
    pub fn triggered(&self) -> impl Future<Output = ()> + Send + Sync + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            // The sender lives in `self`'s clones; if all are gone, nobody can throw it: stop too.
            let _ = rx.wait_for(|thrown| *thrown).await;
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the operator");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
