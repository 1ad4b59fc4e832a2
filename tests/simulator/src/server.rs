//! The HTTPS listener: binds 127.0.0.1, accepts TLS connections and serves HTTP/1.1
//! and HTTP/2 through the axum router. Stopping it closes the listening socket and
//! every open connection, so clients see refused connections, as during an outage.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::error::SimulatorError;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed `accept` (e.g. too many open files) to avoid a busy loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Binds `address:port` (0 = any free port) with `SO_REUSEADDR`, so the same port can
/// be bound again right after a stop.
pub(crate) fn bind(address: Ipv4Addr, port: u16) -> Result<TcpListener, SimulatorError> {
    let bind_error = |source| SimulatorError::Bind { port, source };
    let socket = TcpSocket::new_v4().map_err(bind_error)?;
    socket.set_reuseaddr(true).map_err(bind_error)?;
    socket
        .bind(SocketAddr::from((address, port)))
        .map_err(bind_error)?;
    socket.listen(1024).map_err(bind_error)
}

/// A running accept loop.
pub(crate) struct RunningListener {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningListener {
    /// Starts serving `listener`.
    pub fn spawn(listener: TcpListener, acceptor: TlsAcceptor, router: Router) -> Self {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, acceptor, router, stopped));
        Self { stop, task }
    }

    /// Closes the listening socket and all connections, and waits until they are gone.
    pub async fn stop(self) {
        // The loop may already have ended; then there is nothing to signal.
        let _ = self.stop.send(());
        if let Err(err) = self.task.await {
            tracing::warn!(%err, "listener task ended abnormally");
        }
    }

    /// Immediate, non-waiting stop (used on drop).
    pub fn abort(&self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, acceptor.clone(), router.clone()));
                }
                Err(err) => {
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, acceptor: TlsAcceptor, router: Router) {
    // Nagle only adds latency to small request/response exchanges.
    let _ = stream.set_nodelay(true);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(err)) => {
            tracing::debug!(%err, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            return;
        }
    };
    let service = TowerToHyperService::new(router);
    if let Err(err) = Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), service)
        .await
    {
        tracing::debug!(%err, "connection ended with an error");
    }
}
