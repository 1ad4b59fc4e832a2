//! The simulated world: workspaces, projects, repositories, users and tokens.
//!
//! Every type is constructible in Rust (public fields, `Default`) and loadable from
//! YAML (camelCase keys) so the demo binary can read the same shape from a file.

use std::collections::BTreeMap;
use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::SimulatorError;

/// Default Data Center context path.
pub const DEFAULT_CONTEXT_PATH: &str = "/bitbucket";

/// The whole simulated world, for both platforms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Fixture {
    /// Bitbucket Cloud content (served under `/2.0`).
    pub cloud: CloudFixture,
    /// Bitbucket Data Center content (served under `{context_path}/rest`).
    pub data_center: DataCenterFixture,
    /// Every token known to either platform.
    pub tokens: Vec<TokenFixture>,
    /// Forces this page size (and caps any requested one) so clients must paginate.
    /// Defaults: Cloud 10 (max 100), Data Center 25.
    pub page_size: Option<u32>,
    /// Port to bind on 127.0.0.1 (default: any free port).
    pub port: Option<u16>,
    /// Address to listen on instead of 127.0.0.1, e.g. a pod bridge's address so that pods reach
    /// the simulator. The URLs and the serving certificate then name this address instead of
    /// `localhost`.
    pub listen_address: Option<std::net::Ipv4Addr>,
}

/// Bitbucket Cloud content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CloudFixture {
    /// Workspaces with their projects and repositories.
    pub workspaces: Vec<Workspace>,
    /// Atlassian accounts (owners of API tokens and app passwords).
    pub users: Vec<CloudUser>,
}

/// A Cloud workspace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Workspace {
    /// Workspace slug (the `{workspace}` path segment).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Projects of the workspace.
    pub projects: Vec<CloudProject>,
    /// Repositories of the workspace.
    pub repositories: Vec<CloudRepository>,
}

/// A Cloud project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CloudProject {
    /// Project key, e.g. `PROJ`.
    pub key: String,
    /// Display name.
    pub name: String,
}

/// A Cloud repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CloudRepository {
    /// Repository slug: the URL and clone-URL segment.
    pub slug: String,
    /// Display name (`name` in the API), which Bitbucket lets differ from the slug
    /// (`repository.name` vs `repository.slug` in the Cloud 2.0 OpenAPI `repository` schema);
    /// `None` means the same as the slug.
    pub name: Option<String>,
    /// Key of the project the repository belongs to.
    #[serde(alias = "projectKey")]
    pub project: String,
    /// Private repositories need credentials; public ones are readable by anyone.
    pub private: bool,
}

impl Default for CloudRepository {
    fn default() -> Self {
        Self {
            slug: String::new(),
            name: None,
            project: String::new(),
            private: true,
        }
    }
}

/// A repository permission level (Cloud `read|write|admin`; for Data Center the
/// `REPO_*`/`PROJECT_*` names are accepted as aliases of the same levels).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum RepoPermission {
    /// Read / clone.
    #[default]
    #[serde(
        rename = "read",
        alias = "READ",
        alias = "REPO_READ",
        alias = "PROJECT_READ"
    )]
    Read,
    /// Read and push.
    #[serde(
        rename = "write",
        alias = "WRITE",
        alias = "REPO_WRITE",
        alias = "PROJECT_WRITE"
    )]
    Write,
    /// Administration.
    #[serde(
        rename = "admin",
        alias = "ADMIN",
        alias = "REPO_ADMIN",
        alias = "PROJECT_ADMIN"
    )]
    Admin,
}

impl RepoPermission {
    /// Cloud spelling: `read`, `write`, `admin`.
    pub fn cloud_name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// Data Center repository permission name: `REPO_READ`, ...
    pub fn dc_repo_name(self) -> &'static str {
        match self {
            Self::Read => "REPO_READ",
            Self::Write => "REPO_WRITE",
            Self::Admin => "REPO_ADMIN",
        }
    }

    /// Parses `read|write|admin` (any case).
    pub fn parse_cloud(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// An Atlassian account on Bitbucket Cloud.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CloudUser {
    /// Bitbucket username (used with app passwords and git).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Atlassian account id.
    pub account_id: String,
    /// Atlassian account email (used with API tokens on the REST API).
    pub email: String,
    /// Effective permission per repository, keyed `"workspace/slug"`.
    pub permissions: BTreeMap<String, RepoPermission>,
}

/// Bitbucket Data Center content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataCenterFixture {
    /// Context path the instance is served under (default `/bitbucket`; `""` = root).
    pub context_path: String,
    /// Projects with their repositories.
    pub projects: Vec<DcProject>,
    /// Users (owners of personal tokens).
    pub users: Vec<DcUser>,
}

impl Default for DataCenterFixture {
    fn default() -> Self {
        Self {
            context_path: DEFAULT_CONTEXT_PATH.to_owned(),
            projects: Vec::new(),
            users: Vec::new(),
        }
    }
}

/// A Data Center project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DcProject {
    /// Project key, e.g. `PROJ`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Repository slugs.
    pub repositories: Vec<String>,
    /// Display names of repositories whose name differs from their slug (`name` vs `slug` in
    /// the DC 9.2 OpenAPI `RestRepository` schema); the others are named like their slug.
    pub repository_names: BTreeMap<String, String>,
}

impl DcProject {
    /// The display name of repository `slug`.
    pub fn repository_name<'a>(&'a self, slug: &'a str) -> &'a str {
        self.repository_names.get(slug).map_or(slug, String::as_str)
    }
}

impl CloudRepository {
    /// The display name (`name`), the slug when none is set.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.slug)
    }
}

/// A Data Center user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DcUser {
    /// User slug, also used as the user name (`X-AUSERNAME`).
    pub slug: String,
    /// Display name.
    pub display_name: String,
    /// Permissions keyed by `"KEY"` (every repository of the project) or `"KEY/slug"`.
    /// Values: `read|write|admin` or the `REPO_*` / `PROJECT_*` names.
    pub permissions: BTreeMap<String, RepoPermission>,
}

/// What kind of credential a [`TokenFixture`] is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SimTokenKind {
    /// Cloud repository access token (bound to `workspace` + `repository`).
    #[default]
    #[serde(alias = "RepositoryAccessToken")]
    RepositoryAccessToken,
    /// Cloud project access token (bound to `workspace` + `project`).
    #[serde(alias = "ProjectAccessToken")]
    ProjectAccessToken,
    /// Cloud workspace access token (bound to `workspace`).
    #[serde(alias = "WorkspaceAccessToken")]
    WorkspaceAccessToken,
    /// Cloud Atlassian API token (owned by `user`, used with the account email).
    #[serde(alias = "ApiToken")]
    ApiToken,
    /// Cloud app password (owned by `user`, used with the username).
    #[serde(alias = "AppPassword")]
    AppPassword,
    /// Data Center personal HTTP access token (owned by `user`).
    #[serde(alias = "DcPersonal")]
    DcPersonal,
    /// Data Center project HTTP access token (bound to `project`).
    #[serde(alias = "DcProject")]
    DcProject,
    /// Data Center repository HTTP access token (bound to `project` + `repository`).
    #[serde(alias = "DcRepository")]
    DcRepository,
}

impl SimTokenKind {
    /// True for the three Cloud access-token kinds.
    pub fn is_cloud_access_token(self) -> bool {
        matches!(
            self,
            Self::RepositoryAccessToken | Self::ProjectAccessToken | Self::WorkspaceAccessToken
        )
    }

    /// True for every Cloud kind.
    pub fn is_cloud(self) -> bool {
        !self.is_data_center()
    }

    /// True for the three Data Center kinds.
    pub fn is_data_center(self) -> bool {
        matches!(
            self,
            Self::DcPersonal | Self::DcProject | Self::DcRepository
        )
    }
}

/// One credential known to the simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenFixture {
    /// Name used for counting and in token records; never sent on the wire.
    pub name: String,
    /// The secret the client presents.
    pub secret: String,
    /// Credential kind.
    pub kind: SimTokenKind,
    /// Cloud workspace the access token is bound to.
    pub workspace: Option<String>,
    /// Project key the token is bound to (Cloud project token, DC project/repository token).
    pub project: Option<String>,
    /// Repository slug the token is bound to (Cloud repository token, DC repository token).
    pub repository: Option<String>,
    /// Owning account: Cloud username (ApiToken, AppPassword) or DC user slug (DcPersonal).
    pub user: Option<String>,
    /// Cloud scopes granted to the token.
    pub scopes: Vec<String>,
    /// Data Center permissions (`REPO_READ`, ..., `PROJECT_ADMIN`).
    pub permissions: Vec<String>,
    /// Expiry; a past instant makes the token invalid (401).
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked tokens get 401.
    pub revoked: bool,
    /// Requests allowed per rolling hour before 429 (`None` = unlimited).
    pub rate_limit: Option<u32>,
    /// Whether a DC token may read its own access-token record.
    pub dc_record_readable: bool,
}

impl Default for TokenFixture {
    fn default() -> Self {
        Self {
            name: String::new(),
            secret: String::new(),
            kind: SimTokenKind::default(),
            workspace: None,
            project: None,
            repository: None,
            user: None,
            scopes: Vec::new(),
            permissions: Vec::new(),
            expires_at: None,
            revoked: false,
            rate_limit: None,
            dc_record_readable: true,
        }
    }
}

impl Fixture {
    /// Parses a fixture from YAML text.
    pub fn from_yaml_str(text: &str) -> Result<Self, SimulatorError> {
        Ok(serde_saphyr::from_str(text)?)
    }

    /// Reads and parses a fixture file.
    pub fn from_yaml_file(path: &Path) -> Result<Self, SimulatorError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimulatorError::FixtureIo {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml_str(&text)
    }

    /// Checks the fixture for mistakes that would make tests silently meaningless.
    pub fn validate(&self) -> Result<(), SimulatorError> {
        let mut names = HashSet::new();
        let mut secrets = HashSet::new();
        for token in &self.tokens {
            if token.name.is_empty() || token.secret.is_empty() {
                return Err(SimulatorError::Fixture(
                    "every token needs a non-empty name and secret".to_owned(),
                ));
            }
            if !names.insert(token.name.as_str()) {
                return Err(SimulatorError::Fixture(format!(
                    "duplicate token name {:?}",
                    token.name
                )));
            }
            if !secrets.insert(token.secret.as_str()) {
                return Err(SimulatorError::Fixture(format!(
                    "token {:?} reuses another token's secret",
                    token.name
                )));
            }
            self.validate_owner(token)?;
        }
        let ctx = &self.data_center.context_path;
        if !ctx.is_empty() && (!ctx.starts_with('/') || ctx.ends_with('/')) {
            return Err(SimulatorError::Fixture(format!(
                "contextPath {ctx:?} must be empty or start (and not end) with '/'"
            )));
        }
        Ok(())
    }

    fn validate_owner(&self, token: &TokenFixture) -> Result<(), SimulatorError> {
        let missing = |what: &str| {
            SimulatorError::Fixture(format!(
                "token {:?} ({:?}) needs {what}",
                token.name, token.kind
            ))
        };
        match token.kind {
            SimTokenKind::ApiToken | SimTokenKind::AppPassword => {
                let user = token.user.as_deref().ok_or_else(|| missing("`user`"))?;
                if !self.cloud.users.iter().any(|u| u.username == user) {
                    return Err(missing("a `user` that exists in cloud.users"));
                }
            }
            SimTokenKind::DcPersonal => {
                let user = token.user.as_deref().ok_or_else(|| missing("`user`"))?;
                if !self.data_center.users.iter().any(|u| u.slug == user) {
                    return Err(missing("a `user` that exists in dataCenter.users"));
                }
            }
            SimTokenKind::RepositoryAccessToken => {
                if token.workspace.is_none() || token.repository.is_none() {
                    return Err(missing("`workspace` and `repository`"));
                }
            }
            SimTokenKind::ProjectAccessToken => {
                if token.workspace.is_none() || token.project.is_none() {
                    return Err(missing("`workspace` and `project`"));
                }
            }
            SimTokenKind::WorkspaceAccessToken => {
                if token.workspace.is_none() {
                    return Err(missing("`workspace`"));
                }
            }
            SimTokenKind::DcProject => {
                if token.project.is_none() {
                    return Err(missing("`project`"));
                }
            }
            SimTokenKind::DcRepository => {
                if token.project.is_none() || token.repository.is_none() {
                    return Err(missing("`project` and `repository`"));
                }
            }
        }
        Ok(())
    }
}
