//! Run-time state shared by every request handler: the fixture, token lifecycle
//! (revocation, additions, last use), the current fault, the request log and budgets.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, Weak};

use chrono::{DateTime, Utc};

use crate::faults::Fault;
use crate::fixture::{CloudFixture, CloudUser, DataCenterFixture, DcUser, Fixture, TokenFixture};
use crate::git::GitLog;
use crate::ratelimit::RateLimiter;
use crate::recorder::Recorder;
use crate::simulator::Inner;
use crate::sync::lock;

/// A token plus what the simulator learned about it while running.
#[derive(Debug, Clone)]
pub(crate) struct TokenEntry {
    pub token: TokenFixture,
    pub created_at: DateTime<Utc>,
    pub last_authenticated: Option<DateTime<Utc>>,
}

pub(crate) struct SimState {
    pub cloud: CloudFixture,
    pub data_center: DataCenterFixture,
    pub page_size: Option<u32>,
    /// `https://localhost:{port}`, or `https://{listen_address}:{port}`.
    pub origin: String,
    pub recorder: Recorder,
    /// Git requests (kept apart from API requests, whose counts tests assert).
    pub git_log: GitLog,
    pub rate: RateLimiter,
    tokens: Mutex<Vec<TokenEntry>>,
    fault: Mutex<Fault>,
    simulator: OnceLock<Weak<Inner>>,
    git_root: OnceLock<PathBuf>,
}

impl SimState {
    pub fn new(fixture: Fixture, port: u16) -> Self {
        let now = Utc::now();
        let origin = match fixture.listen_address {
            Some(address) => format!("https://{address}:{port}"),
            None => format!("https://localhost:{port}"),
        };
        let tokens = fixture
            .tokens
            .into_iter()
            .map(|token| TokenEntry {
                token,
                created_at: now,
                last_authenticated: None,
            })
            .collect();
        Self {
            cloud: fixture.cloud,
            data_center: fixture.data_center,
            page_size: fixture.page_size,
            origin,
            recorder: Recorder::default(),
            git_log: GitLog::default(),
            rate: RateLimiter::default(),
            tokens: Mutex::new(tokens),
            fault: Mutex::new(Fault::None),
            simulator: OnceLock::new(),
            git_root: OnceLock::new(),
        }
    }

    pub fn set_simulator(&self, inner: Weak<Inner>) {
        // Set once right after start; a second call would be a bug and is ignored.
        let _ = self.simulator.set(inner);
    }

    /// The owning simulator, for control actions that need the listener.
    pub fn simulator(&self) -> Option<crate::Simulator> {
        self.simulator
            .get()
            .and_then(Weak::upgrade)
            .map(crate::Simulator::from_inner)
    }

    /// Sets the directory of the served repositories (once, at start).
    pub fn set_git_root(&self, root: PathBuf) {
        let _ = self.git_root.set(root);
    }

    /// `GIT_PROJECT_ROOT`, once the repositories exist.
    pub fn git_root(&self) -> Option<&Path> {
        self.git_root.get().map(PathBuf::as_path)
    }

    pub fn fault(&self) -> Fault {
        *lock(&self.fault)
    }

    pub fn set_fault(&self, fault: Fault) {
        *lock(&self.fault) = fault;
    }

    pub fn token_by_secret(&self, secret: &str) -> Option<TokenFixture> {
        lock(&self.tokens)
            .iter()
            .find(|e| e.token.secret == secret)
            .map(|e| e.token.clone())
    }

    pub fn token_entries(&self) -> Vec<TokenEntry> {
        lock(&self.tokens).clone()
    }

    /// Sets the revoked flag; false when no token has that name.
    pub fn set_revoked(&self, name: &str, revoked: bool) -> bool {
        let mut tokens = lock(&self.tokens);
        match tokens.iter_mut().find(|e| e.token.name == name) {
            Some(entry) => {
                entry.token.revoked = revoked;
                true
            }
            None => false,
        }
    }

    /// Adds a token, replacing any token with the same name.
    pub fn add_token(&self, token: TokenFixture) {
        let mut tokens = lock(&self.tokens);
        tokens.retain(|e| e.token.name != token.name);
        tokens.push(TokenEntry {
            token,
            created_at: Utc::now(),
            last_authenticated: None,
        });
    }

    pub fn mark_authenticated(&self, name: &str) {
        let mut tokens = lock(&self.tokens);
        if let Some(entry) = tokens.iter_mut().find(|e| e.token.name == name) {
            entry.last_authenticated = Some(Utc::now());
        }
    }

    pub fn cloud_user(&self, username: Option<&str>) -> Option<&CloudUser> {
        let username = username?;
        self.cloud.users.iter().find(|u| u.username == username)
    }

    pub fn dc_user(&self, slug: Option<&str>) -> Option<&DcUser> {
        let slug = slug?;
        self.data_center
            .users
            .iter()
            .find(|u| u.slug.eq_ignore_ascii_case(slug))
    }
}
