//! The public handle: start, inspect and steer a running simulator.

use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::Router;
use tokio::sync::Mutex;
use tokio_rustls::TlsAcceptor;

use crate::error::SimulatorError;
use crate::faults::Fault;
use crate::fixture::{Fixture, TokenFixture};
use crate::git::{GitRequest, Repositories};
use crate::recorder::RecordedRequest;
use crate::router::{self, CLOUD_PREFIX};
use crate::server::{self, RunningListener};
use crate::state::SimState;
use crate::tls;

/// A running Bitbucket Cloud + Data Center simulator serving HTTPS on 127.0.0.1.
///
/// Cheap to clone; all clones steer the same server. The server stops when
/// [`Simulator::shutdown`] is called or the last clone is dropped.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    state: Arc<SimState>,
    address: Ipv4Addr,
    port: u16,
    ca_pem: String,
    acceptor: TlsAcceptor,
    router: Router,
    listener: Mutex<Option<RunningListener>>,
    /// Kept for its lifetime: dropping it removes the repositories.
    _repositories: Repositories,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.get_mut().as_ref() {
            listener.abort();
        }
    }
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("port", &self.inner.port)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Validates `fixture`, creates a bare git repository (one commit, `main`) for each of its
    /// repositories, generates certificates and starts serving HTTPS on
    /// `{fixture.listen_address or 127.0.0.1}:{fixture.port or any free port}`. Needs the `git` CLI.
    pub async fn start(fixture: Fixture) -> Result<Simulator, SimulatorError> {
        fixture.validate()?;
        let repositories = Repositories::create(&fixture).await?;
        let material = tls::generate(fixture.listen_address)?;
        let address = fixture.listen_address.unwrap_or(Ipv4Addr::LOCALHOST);
        let requested = fixture.port.unwrap_or(0);
        let listener = server::bind(address, requested)?;
        let port = listener
            .local_addr()
            .map_err(|source| SimulatorError::Bind {
                port: requested,
                source,
            })?
            .port();
        let state = Arc::new(SimState::new(fixture, port));
        state.set_git_root(repositories.root().to_path_buf());
        let router = router::build(Arc::clone(&state));
        let acceptor = TlsAcceptor::from(material.server_config);
        let running = RunningListener::spawn(listener, acceptor.clone(), router.clone());
        let inner = Arc::new(Inner {
            state,
            address,
            port,
            ca_pem: material.ca_pem,
            acceptor,
            router,
            listener: Mutex::new(Some(running)),
            _repositories: repositories,
        });
        inner.state.set_simulator(Arc::downgrade(&inner));
        tracing::info!(port, "Bitbucket simulator listening");
        Ok(Simulator { inner })
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// Cloud API base, `https://localhost:{port}/2.0` (no trailing slash).
    pub fn cloud_api_url(&self) -> String {
        format!("{}{CLOUD_PREFIX}", self.inner.state.origin)
    }

    /// Data Center base, `https://localhost:{port}{context_path}` (no trailing slash).
    pub fn dc_base_url(&self) -> String {
        format!(
            "{}{}",
            self.inner.state.origin, self.inner.state.data_center.context_path
        )
    }

    /// Git clone URL of Cloud repository `workspace/slug`:
    /// `https://localhost:{port}/{workspace}/{slug}.git`.
    pub fn cloud_clone_url(&self, workspace: &str, slug: &str) -> String {
        format!("{}/{workspace}/{slug}.git", self.inner.state.origin)
    }

    /// Git clone URL of Data Center repository `key/slug`:
    /// `https://localhost:{port}{context_path}/scm/{key}/{slug}.git`.
    pub fn dc_clone_url(&self, key: &str, slug: &str) -> String {
        format!("{}/scm/{key}/{slug}.git", self.dc_base_url())
    }

    /// Every git request received so far, in arrival order (never the secrets).
    pub fn git_requests(&self) -> Vec<GitRequest> {
        self.inner.state.git_log.all()
    }

    /// Forgets the recorded git requests.
    pub fn reset_git_requests(&self) {
        self.inner.state.git_log.clear();
    }

    /// PEM of the simulator's CA; the serving certificate (SANs `DNS:localhost`,
    /// `IP:127.0.0.1`) chains to it.
    pub fn ca_pem(&self) -> String {
        self.inner.ca_pem.clone()
    }

    /// From now on the named token gets 401s (no effect for unknown names).
    pub fn revoke(&self, token_name: &str) {
        self.inner.state.set_revoked(token_name, true);
    }

    /// Undoes [`Simulator::revoke`] (also un-revokes a token revoked in the fixture).
    pub fn restore(&self, token_name: &str) {
        self.inner.state.set_revoked(token_name, false);
    }

    /// Imposes `fault` on every API request (not on the control API) until changed.
    pub fn set_fault(&self, fault: Fault) {
        self.inner.state.set_fault(fault);
    }

    /// The current fault.
    pub fn fault(&self) -> Fault {
        self.inner.state.fault()
    }

    /// Closes the listener and all open connections: new connections are refused.
    /// Returns once the socket is closed. Idempotent.
    pub async fn stop_listening(&self) {
        let running = self.inner.listener.lock().await.take();
        if let Some(running) = running {
            running.stop().await;
            tracing::info!(port = self.inner.port, "simulator stopped listening");
        }
    }

    /// Listens again on the same port. Idempotent.
    pub async fn resume_listening(&self) -> Result<(), SimulatorError> {
        let mut slot = self.inner.listener.lock().await;
        if slot.is_none() {
            let listener = server::bind(self.inner.address, self.inner.port)?;
            *slot = Some(RunningListener::spawn(
                listener,
                self.inner.acceptor.clone(),
                self.inner.router.clone(),
            ));
            tracing::info!(port = self.inner.port, "simulator listening again");
        }
        Ok(())
    }

    /// Whether the listener is currently open.
    pub async fn is_listening(&self) -> bool {
        self.inner.listener.lock().await.is_some()
    }

    /// Every API request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.state.recorder.all()
    }

    /// Number of API requests received so far.
    pub fn request_count(&self) -> usize {
        self.inner.state.recorder.count()
    }

    /// Number of API requests that presented the named token's secret.
    pub fn requests_for_token(&self, token_name: &str) -> usize {
        self.inner.state.recorder.count_for(token_name)
    }

    /// Forgets the recorded requests.
    pub fn reset_requests(&self) {
        self.inner.state.recorder.clear();
    }

    /// Adds a token at run time, replacing any token with the same name.
    pub fn add_token(&self, token: TokenFixture) {
        self.inner.state.add_token(token);
    }

    /// Stops serving (listener and connections). Other clones become inert.
    pub async fn shutdown(self) {
        self.stop_listening().await;
    }
}

#[cfg(test)]
mod tests {
    fn shareable<T: Clone + Send + Sync + 'static>() {}

    #[test]
    fn simulator_is_clone_send_sync() {
        shareable::<super::Simulator>();
    }
}
