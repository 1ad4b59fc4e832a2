//! `BitbucketToken.spec`: which token, where it is valid, what it is for, and what to render.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BitbucketTokenStatus, GoDuration};

/// A Bitbucket token, checked against Bitbucket and rendered into a git-credential Secret.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "bitbucket-token-operator.io",
    version = "v1beta1",
    kind = "BitbucketToken",
    namespaced,
    status = "BitbucketTokenStatus",
    shortname = "bbt",
    shortname = "bbtoken",
    category = "bitbucket",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Valid","type":"string","jsonPath":".status.conditions[?(@.type==\"TokenValid\")].reason"}"#,
    printcolumn = r#"{"name":"Expires","type":"string","jsonPath":".status.expiresAt"}"#,
    printcolumn = r#"{"name":"Secret","type":"string","jsonPath":".status.secretName"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Identity","type":"string","priority":1,"jsonPath":".status.identity"}"#,
    printcolumn = r#"{"name":"Failures","type":"integer","priority":1,"jsonPath":".status.failedValidationAttempts"}"#,
    printcolumn = r#"{"name":"Message","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[x_kube(
    validation = Rule::new("has(self.server) && has(self.server.dataCenter) ? self.token.kind == 'HTTPAccessToken' : self.token.kind != 'HTTPAccessToken'")
        .message("token.kind HTTPAccessToken belongs to Bitbucket Data Center (set server.dataCenter); Cloud servers take RepositoryAccessToken, ProjectAccessToken, WorkspaceAccessToken, APIToken or AppPassword"),
    validation = Rule::new("has(self.server) && has(self.server.dataCenter) ? has(self.access.project) : true")
        .message("access.project is required for Bitbucket Data Center: name the project key the token works in"),
    validation = Rule::new("has(self.server) && has(self.server.dataCenter) ? !has(self.access.workspace) : has(self.access.workspace)")
        .message("access.workspace is required for Bitbucket Cloud and not allowed for Data Center"),
    validation = Rule::new("self.token.kind != 'RepositoryAccessToken' || size(self.access.repositories) == 1")
        .message("a RepositoryAccessToken works for exactly one repository: list it in access.repositories"),
    validation = Rule::new("self.token.kind != 'ProjectAccessToken' || has(self.access.project)")
        .message("a ProjectAccessToken needs access.project: the key of the project it was created in")
)]
#[serde(rename_all = "camelCase")]
pub struct BitbucketTokenSpec {
    /// Which Bitbucket the token belongs to. Omit for Bitbucket Cloud (bitbucket.org).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerSpec>,
    /// The token: its kind and the Secret in this namespace that holds it.
    pub token: TokenSpec,
    /// What the token is for. The operator checks this access and scopes the rendered credentials to it.
    pub access: AccessSpec,
    /// How often the token is checked with Bitbucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationSpec>,
    /// Raise the Expiring condition this long before the token expires (Go duration, default 336h = 14 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("duration(self) > duration('0s')").message("expiryWarning must be a positive duration, such as 336h"))]
    pub expiry_warning: Option<GoDuration>,
    /// The Secret to render for pods and tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetSpec>,
}

/// Exactly one of `cloud` or `dataCenter`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[x_kube(validation = Rule::new("has(self.cloud) != has(self.dataCenter)").message("server must name exactly one of cloud or dataCenter (omit server entirely for Bitbucket Cloud)"))]
#[serde(rename_all = "camelCase")]
pub struct ServerSpec {
    /// Bitbucket Cloud (bitbucket.org). Same as omitting `server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudServer>,
    /// A Bitbucket Data Center (or Server) instance. Its host must be on the operator's allowlist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_center: Option<DataCenterServer>,
}

/// Bitbucket Cloud has no settings; the empty object selects it.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct CloudServer {}

/// Where a Data Center instance lives.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataCenterServer {
    /// Base URL including any context path, e.g. https://git.example.com/bitbucket. https only.
    #[schemars(length(min = 9, max = 2048))]
    #[x_kube(
        validation = Rule::new("self.startsWith('https://')").message("server.dataCenter.url must start with https:// (the token is never sent in clear text)"),
        validation = Rule::new("!self.matches('^https://[^/]*@')").message("server.dataCenter.url must not contain user info (user:password@); the credentials belong in the token Secret"),
        validation = Rule::new("!self.contains('?') && !self.contains('#')").message("server.dataCenter.url must not contain a query (?) or fragment (#): give the base URL only"),
        validation = Rule::new("isURL(self)").message("server.dataCenter.url is not a valid URL")
    )]
    pub url: String,
    /// A Secret in this namespace holding the PEM CA bundle that signs the server's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_secret_ref: Option<SecretKeyRef>,
}

/// A key of a Secret in the same namespace as the BitbucketToken.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret (same namespace).
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// Key inside the Secret's data.
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

/// The kinds of token Bitbucket issues.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Cloud repository access token (Bearer; git user `x-token-auth`).
    RepositoryAccessToken,
    /// Cloud project access token (Premium).
    ProjectAccessToken,
    /// Cloud workspace access token (Premium).
    WorkspaceAccessToken,
    /// Cloud Atlassian API token with Bitbucket scopes (REST: email + token; git: username + token).
    #[serde(rename = "APIToken")]
    ApiToken,
    /// Cloud app password: deprecated by Atlassian, still checked, with a warning.
    AppPassword,
    /// Data Center HTTP access token (personal, project or repository; Bearer).
    #[serde(rename = "HTTPAccessToken")]
    HttpAccessToken,
}

impl TokenKind {
    /// Every kind, in the order the CRD lists them.
    pub const ALL: [TokenKind; 6] = [
        TokenKind::RepositoryAccessToken,
        TokenKind::ProjectAccessToken,
        TokenKind::WorkspaceAccessToken,
        TokenKind::ApiToken,
        TokenKind::AppPassword,
        TokenKind::HttpAccessToken,
    ];

    /// The name used in the CRD and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::RepositoryAccessToken => "RepositoryAccessToken",
            TokenKind::ProjectAccessToken => "ProjectAccessToken",
            TokenKind::WorkspaceAccessToken => "WorkspaceAccessToken",
            TokenKind::ApiToken => "APIToken",
            TokenKind::AppPassword => "AppPassword",
            TokenKind::HttpAccessToken => "HTTPAccessToken",
        }
    }

    /// True for the kinds that belong to Bitbucket Cloud.
    pub fn is_cloud(self) -> bool {
        self != TokenKind::HttpAccessToken
    }

    /// True for Cloud repository, project and workspace access tokens.
    pub fn is_cloud_access_token(self) -> bool {
        matches!(
            self,
            TokenKind::RepositoryAccessToken
                | TokenKind::ProjectAccessToken
                | TokenKind::WorkspaceAccessToken
        )
    }
}

impl std::fmt::Display for TokenKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TokenKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TokenKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = TokenKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown token kind {s:?}; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// The token and what Bitbucket needs besides it.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(
    validation = Rule::new("self.kind == 'APIToken' ? has(self.email) : !has(self.email)")
        .message("token.email is required for kind APIToken (Bitbucket's REST API takes the Atlassian account email) and not allowed for other kinds"),
    validation = Rule::new("self.kind != 'AppPassword' || has(self.username)")
        .message("token.username is required for kind AppPassword: the Bitbucket username the app password belongs to")
)]
#[serde(rename_all = "camelCase")]
pub struct TokenSpec {
    /// Which kind of token this is.
    pub kind: TokenKind,
    /// The Secret key holding the token (same namespace).
    pub secret_ref: SecretKeyRef,
    /// Atlassian account email (APIToken only; used for REST calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 254), regex(pattern = r"^[^@\s]+@[^@\s]+$"))]
    pub email: Option<String>,
    /// Git username: for APIToken the Bitbucket username (default x-bitbucket-api-token-auth), for
    /// AppPassword and Data Center personal tokens the account's username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[^\s:@/\\]+$"))]
    pub username: Option<String>,
    /// Declared expiry, used where Bitbucket cannot tell (Cloud tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Permission level the pods need.
#[derive(
    JsonSchema,
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Default,
    PartialOrd,
    Ord,
)]
pub enum Permission {
    /// Clone and fetch.
    #[default]
    Read,
    /// Also push.
    Write,
    /// Also administer the repositories.
    Admin,
}

impl Permission {
    /// The name used in the CRD and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "Read",
            Permission::Write => "Write",
            Permission::Admin => "Admin",
        }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Bitbucket target the token is for.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessSpec {
    /// Cloud workspace slug (Cloud only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 62), regex(pattern = r"^[a-z0-9][a-z0-9_-]*$"))]
    pub workspace: Option<String>,
    /// Project key (Cloud project or Data Center project; `~user` for a DC personal project).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 128),
        regex(pattern = r"^~?[A-Za-z0-9_][A-Za-z0-9_.-]*$")
    )]
    pub project: Option<String>,
    /// Repository slugs. Empty means the whole workspace or project.
    #[serde(default)]
    #[schemars(
        length(max = 100),
        inner(length(min = 1, max = 128), regex(pattern = r"^[A-Za-z0-9._-]+$"))
    )]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub repositories: Vec<RepositorySlug>,
    /// The level the pods need: Read (clone), Write (push) or Admin.
    #[serde(default)]
    pub permission: Permission,
}

/// A repository slug as Bitbucket writes it in URLs.
pub type RepositorySlug = String;

/// Revalidation settings.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ValidationSpec {
    /// How often to check the token with Bitbucket (Go duration, at least 1m, default 1h). Jittered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("duration(self) >= duration('1m')").message("validation.interval must be at least 1m so Bitbucket's rate limits are respected"))]
    pub interval: Option<GoDuration>,
}

/// The rendered Secret.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TargetSpec {
    /// Name of the Secret to write (default `<metadata.name>-git`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: Option<String>,
    /// Which formats to render (default GitConfig and GitCredentials; GitConfig alone for a Data
    /// Center token without token.username, which works only as Bearer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 6), extend("x-kubernetes-list-type" = "set"))]
    pub formats: Option<Vec<OutputFormat>>,
    /// Directory where pods mount the Secret (default /etc/bitbucket-git). The GitCredentials format
    /// points git's credential store at `<mountPath>/.git-credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 1024), regex(pattern = r#"^/[^\s"\\]*$"#))]
    pub mount_path: Option<String>,
    /// Labels copied onto the rendered Secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations copied onto the rendered Secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// What happens to the rendered Secret when this BitbucketToken is deleted.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Workloads in this namespace to restart (roll) when the token rotates, for pods that read
    /// the credentials only at start. Never on the first render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_on_rotation: Option<RestartOnRotation>,
}

/// Which Deployments, StatefulSets and DaemonSets roll when the token rotates.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestartOnRotation {
    /// Label selector over Deployments, StatefulSets and DaemonSets in this namespace.
    pub selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
}

/// The keys to render; see docs/formats.md.
#[derive(
    JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum OutputFormat {
    /// `.gitconfig` with an `http.<url>.extraHeader` Authorization header.
    GitConfig,
    /// `.git-credentials` store file plus a `.gitconfig` pointing at it.
    GitCredentials,
    /// `username`/`password` (Secret type kubernetes.io/basic-auth).
    BasicAuth,
    /// `bearerToken` (the key).
    BearerToken,
    /// `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_0`/`GIT_CONFIG_VALUE_0` for `envFrom`.
    Env,
    /// Argo CD repository credentials.
    #[serde(rename = "ArgoCD")]
    ArgoCd,
}

impl OutputFormat {
    /// The name used in the CRD.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::GitConfig => "GitConfig",
            OutputFormat::GitCredentials => "GitCredentials",
            OutputFormat::BasicAuth => "BasicAuth",
            OutputFormat::BearerToken => "BearerToken",
            OutputFormat::Env => "Env",
            OutputFormat::ArgoCd => "ArgoCD",
        }
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mount directory assumed when `target.mountPath` is omitted.
pub const DEFAULT_MOUNT_PATH: &str = "/etc/bitbucket-git";

impl OutputFormat {
    /// The formats rendered when `target.formats` is omitted, for tokens that can authenticate
    /// as HTTP Basic.
    pub const DEFAULT: [OutputFormat; 2] = [OutputFormat::GitConfig, OutputFormat::GitCredentials];

    /// The formats rendered when `target.formats` is omitted for a token of `kind`, given
    /// `token.username`: [`OutputFormat::DEFAULT`], except `GitConfig` alone for a Data Center
    /// token without a username (project and repository tokens work only as Bearer, so a
    /// `.git-credentials` store could not be written for them).
    pub fn defaults_for(kind: TokenKind, username: Option<&str>) -> Vec<OutputFormat> {
        if kind == TokenKind::HttpAccessToken && username.is_none() {
            vec![OutputFormat::GitConfig]
        } else {
            OutputFormat::DEFAULT.to_vec()
        }
    }
}

/// Whether the rendered Secret outlives the BitbucketToken.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeletionPolicy {
    /// Delete the rendered Secret with the BitbucketToken (garbage-collected through its owner reference).
    #[default]
    Delete,
    /// Keep the rendered Secret; the owner reference is not set.
    Retain,
}
