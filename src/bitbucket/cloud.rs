//! Bitbucket Cloud: access tokens (Bearer), API tokens (Basic with the account email) and app
//! passwords (Basic with the username).

use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use super::{
    Stop,
    credential::Credential,
    join,
    outcome::{Invalid, Transient, ValidToken},
    request::ValidationRequest,
    response::{Listing, cloud_error, cloud_list, json, status_text},
    scopes::{ScopeNames, cloud_role_level},
    transport::{ApiResponse, Transport},
    unexpected,
};
use crate::api::{Permission, TokenKind};

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct RepositoryPermission {
    permission: String,
    repository: PermissionRepository,
}

#[derive(Deserialize)]
struct PermissionRepository {
    #[serde(default)]
    full_name: String,
}

/// The part of a repository the check reads.
#[derive(Deserialize)]
struct RepositoryBody {
    #[serde(default = "private_by_default")]
    is_private: bool,
}

/// A repository body without `is_private` is treated as private: the 200 then came with access.
fn private_by_default() -> bool {
    true
}

/// One page of a Cloud listing; only whether it has values matters here.
#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    values: Vec<serde_json::Value>,
}

/// What one probe checks.
enum Target {
    /// `GET /repositories/{workspace}/{repo_slug}`.
    Repository { workspace: String, slug: String },
    /// `GET /repositories/{workspace}?q=project.key="KEY" AND is_private=true&pagelen=1` (or
    /// `is_private=true` alone for a workspace): a private repository git could reach, one is
    /// enough. Public ones prove nothing: Bitbucket lists them to anyone.
    Listing {
        workspace: String,
        project: Option<String>,
    },
}

impl Target {
    fn label(&self) -> String {
        match self {
            Target::Repository { workspace, slug } => format!("Repository {workspace}/{slug}"),
            Target::Listing {
                workspace,
                project: Some(key),
            } => format!("Project {key} in workspace {workspace}"),
            Target::Listing {
                workspace,
                project: None,
            } => format!("Workspace {workspace}"),
        }
    }

    fn url(&self, api: &Url) -> Url {
        match self {
            Target::Repository { workspace, slug } => join(api, &["repositories", workspace, slug]),
            Target::Listing { workspace, project } => {
                let mut url = join(api, &["repositories", workspace]);
                let query = match project {
                    Some(key) => {
                        format!("project.key=\"{}\" AND is_private=true", bbql_escape(key))
                    }
                    None => "is_private=true".to_string(),
                };
                url.query_pairs_mut()
                    .append_pair("q", &query)
                    .append_pair("pagelen", "1");
                url
            }
        }
    }
}

/// A value inside a BBQL string literal: `\` and `"` escaped.
fn bbql_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

struct Session<'a> {
    transport: &'a Transport,
    client: reqwest::Client,
    api: &'a Url,
    credential: Credential,
    request: &'a ValidationRequest<'a>,
    names: ScopeNames,
}

/// What one Cloud check found, before it becomes a [`ValidToken`].
#[derive(Default)]
struct Findings {
    granted: Option<Vec<String>>,
    credential_type: Option<String>,
}

pub(super) async fn validate(
    transport: &Transport,
    api: &Url,
    request: &ValidationRequest<'_>,
) -> Result<ValidToken, Stop> {
    let session = Session {
        transport,
        client: transport
            .client_for(None)
            .map_err(|e| Transient::Unreachable {
                detail: e.to_string(),
            })?,
        api,
        credential: credential(request)?,
        request,
        names: ScopeNames::for_kind(request.kind),
    };
    session.run().await
}

fn credential(request: &ValidationRequest<'_>) -> Result<Credential, Stop> {
    let token = request.token.clone();
    let user = match request.kind {
        TokenKind::ApiToken => request.email,
        TokenKind::AppPassword => request.username,
        _ => return Ok(Credential::Bearer(token)),
    };
    match user {
        Some(user) => Ok(Credential::Basic {
            user: user.to_string(),
            token,
        }),
        None => Err(Stop::Invalid(Invalid::Unauthorized {
            detail: format!(
                "{} needs {} to authenticate",
                request.kind,
                if request.kind == TokenKind::ApiToken {
                    "token.email"
                } else {
                    "token.username"
                }
            ),
        })),
    }
}

impl Session<'_> {
    async fn run(&self) -> Result<ValidToken, Stop> {
        let user_bound = matches!(
            self.request.kind,
            TokenKind::ApiToken | TokenKind::AppPassword
        );
        let mut warnings = Vec::new();
        let identity_from_user = if user_bound {
            self.who_am_i(&mut warnings).await?
        } else {
            None
        };
        let mut findings = Findings::default();
        for target in self.targets() {
            self.probe(&target, &mut findings, &mut warnings).await?;
        }
        let level = self.request.access.permission;
        match &findings.granted {
            Some(granted) => {
                let missing = self.names.missing(level, granted);
                if !missing.is_empty() {
                    return Err(self.insufficient(missing, granted.clone()));
                }
            }
            None => warnings.push(
                "Bitbucket did not report the token's scopes (no X-OAuth-Scopes header), so they could not be checked.".to_string(),
            ),
        }
        if user_bound && level > Permission::Read {
            self.check_role(level, &mut warnings).await?;
        }
        if let Some(kind_seen) = &findings.credential_type
            && let Some(expected) = expected_credential_type(self.request.kind)
            && kind_seen != expected
        {
            warnings.push(format!(
                "Bitbucket reports this credential as {kind_seen}, but token.kind is {}; set token.kind to match.",
                self.request.kind
            ));
        }
        let identity = identity_from_user.unwrap_or_else(|| self.default_identity(&findings));
        Ok(ValidToken {
            identity,
            credential_type: findings.credential_type,
            granted: findings.granted.unwrap_or_default(),
            expires_at: None,
            expiry_source: None,
            warnings,
        })
    }

    /// `GET /user` for user-bound credentials. A 403 (no `read:user:bitbucket`) is not fatal.
    async fn who_am_i(&self, warnings: &mut Vec<String>) -> Result<Option<String>, Stop> {
        let response = self.get(&["user"]).await?;
        match response.status {
            StatusCode::OK => {
                let user: User = json(&response, "GET /user")?;
                Ok(match (user.display_name, user.username) {
                    (Some(name), Some(username)) => Some(format!("{name} ({username})")),
                    (name, username) => name.or(username),
                })
            }
            StatusCode::UNAUTHORIZED => Err(unauthorized(&response)),
            StatusCode::FORBIDDEN => {
                warnings.push(format!(
                    "the token cannot read its own account (Bitbucket refused GET /user: {}; it needs the {} scope); the identity shown is the configured email or username.",
                    status_text(&response, &cloud_error(&response).error.message),
                    if self.request.kind == TokenKind::ApiToken {
                        "read:user:bitbucket"
                    } else {
                        "account"
                    }
                ));
                Ok(None)
            }
            _ => Err(unexpected(&response, "GET /user")),
        }
    }

    /// The resources to check: each repository, else the project, else the workspace. Every
    /// probe goes through an operation the scopes git needs cover (`repository` /
    /// `read:repository:bitbucket` in the Cloud 2.0 OpenAPI document), so a token is never judged
    /// on a scope git does not use.
    fn targets(&self) -> Vec<Target> {
        let access = self.request.access;
        let workspace = access.workspace.clone().unwrap_or_default();
        if !access.repositories.is_empty() {
            return access
                .repositories
                .iter()
                .map(|slug| Target::Repository {
                    workspace: workspace.clone(),
                    slug: slug.clone(),
                })
                .collect();
        }
        vec![Target::Listing {
            workspace,
            project: access.project.clone(),
        }]
    }

    /// Checks one target; a 200 notes the scopes Bitbucket reports.
    async fn probe(
        &self,
        target: &Target,
        findings: &mut Findings,
        warnings: &mut Vec<String>,
    ) -> Result<(), Stop> {
        let label = target.label();
        let response = self.get_url(target.url(self.api)).await?;
        if response.status != StatusCode::OK {
            return Err(self.refusal(&response, &label));
        }
        self.note(&response, findings);
        match target {
            Target::Repository { workspace, slug } => {
                let repository: RepositoryBody = json(&response, &label)?;
                if !repository.is_private {
                    warnings.push(format!(
                        "{workspace}/{slug} is public: Bitbucket shows it to anyone, so this token's own access to it is not proven; git push (and a clone with these credentials) is refused if the token is bound to another repository, project or workspace."
                    ));
                }
            }
            Target::Listing { workspace, project } => {
                let page: Page = json(&response, &label)?;
                if page.values.is_empty() {
                    warnings.push(self.empty_listing(workspace, project.as_deref()).await?);
                }
            }
        }
        Ok(())
    }

    /// No private repository of the project or workspace is visible to the token. A missing
    /// project (404 from `GET /workspaces/{workspace}/projects/{project_key}`) or one this token
    /// may not see (403 without scope detail) is definitive; a refusal for a missing scope (that
    /// operation needs `project`, which git does not) is a warning.
    async fn empty_listing(&self, workspace: &str, project: Option<&str>) -> Result<String, Stop> {
        let Some(key) = project else {
            return Ok(format!(
                "no private repository of workspace {workspace} is visible to this token; git will find nothing of its own to clone until one is."
            ));
        };
        let label = format!("Project {key} in workspace {workspace}");
        let response = self
            .get(&["workspaces", workspace, "projects", key])
            .await?;
        let scope_refusal = response.status == StatusCode::FORBIDDEN
            && cloud_error(&response).error.detail.is_some();
        match response.status {
            StatusCode::OK => Ok(format!(
                "no private repository of project {key} is visible to this token; git will find nothing of its own to clone until one is."
            )),
            StatusCode::NOT_FOUND => Err(self.refusal(&response, &label)),
            StatusCode::FORBIDDEN if !scope_refusal => Err(self.refusal(&response, &label)),
            StatusCode::UNAUTHORIZED => Err(unauthorized(&response)),
            _ => Ok(format!(
                "no private repository of project {key} is visible to this token, and whether the token may see the project could not be checked ({}).",
                status_text(&response, &cloud_error(&response).error.message)
            )),
        }
    }

    async fn get<S: AsRef<str>>(&self, path: &[S]) -> Result<ApiResponse, Stop> {
        let segments: Vec<&str> = path.iter().map(AsRef::as_ref).collect();
        self.get_url(join(self.api, &segments)).await
    }

    async fn get_url(&self, url: Url) -> Result<ApiResponse, Stop> {
        Ok(self
            .transport
            .get(&self.client, &url, &self.credential)
            .await?)
    }

    fn note(&self, response: &ApiResponse, findings: &mut Findings) {
        if let Some(scopes) = response.header("x-oauth-scopes") {
            let granted: Vec<String> = scopes
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            findings.granted = Some(granted);
        }
        if let Some(kind) = response.header("x-credential-type") {
            findings.credential_type = Some(kind.to_string());
        }
    }

    /// A non-200 answer for a target.
    fn refusal(&self, response: &ApiResponse, label: &str) -> Stop {
        match response.status {
            StatusCode::UNAUTHORIZED => unauthorized(response),
            StatusCode::FORBIDDEN => {
                let body = cloud_error(response);
                match body.error.detail {
                    Some(detail) if !detail.required.is_empty() => {
                        let missing: Vec<String> = detail
                            .required
                            .iter()
                            .filter(|s| !detail.granted.contains(s))
                            .cloned()
                            .collect();
                        let missing = if missing.is_empty() {
                            detail.required.clone()
                        } else {
                            missing
                        };
                        self.insufficient(missing, detail.granted)
                    }
                    _ => Stop::Invalid(Invalid::TargetNotFound {
                        target: label.to_string(),
                        detail: format!(
                            "{}; it exists but this token may not read it",
                            status_text(response, &body.error.message)
                        ),
                    }),
                }
            }
            StatusCode::NOT_FOUND => Stop::Invalid(Invalid::TargetNotFound {
                target: label.to_string(),
                detail: status_text(response, &cloud_error(response).error.message),
            }),
            _ => unexpected(response, label),
        }
    }

    fn insufficient(&self, missing: Vec<String>, granted: Vec<String>) -> Stop {
        Stop::Invalid(Invalid::InsufficientScope {
            missing,
            granted,
            fix: self
                .names
                .fix(self.request.kind, self.request.access.permission),
        })
    }

    /// For user-bound credentials: the account's role on each repository must reach `level`.
    /// The permission listing needs scopes git does not (`account` for app passwords, per the
    /// Cloud 2.0 OpenAPI document); when the token lacks them the role is left unchecked and a
    /// warning says so.
    async fn check_role(&self, level: Permission, warnings: &mut Vec<String>) -> Result<(), Stop> {
        let access = self.request.access;
        let workspace = access.workspace.clone().unwrap_or_default();
        let queries: Vec<Option<String>> = match (access.repositories.as_slice(), &access.project) {
            ([], Some(key)) => vec![Some(format!(
                "repository.project.key=\"{}\"",
                bbql_escape(key)
            ))],
            ([], None) => vec![None],
            (repos, _) => repos
                .iter()
                .map(|r| {
                    Some(format!(
                        "repository.full_name=\"{}\"",
                        bbql_escape(&format!("{workspace}/{r}"))
                    ))
                })
                .collect(),
        };
        let mut roles = Vec::new();
        for query in queries {
            match self.roles(&workspace, query).await? {
                Ok(found) => roles.extend(found),
                Err(why) => {
                    warnings.push(format!(
                        "the account's own {} permission could not be checked ({why}); git will tell when it pushes.",
                        level.as_str()
                    ));
                    return Ok(());
                }
            }
        }
        let wanted: Vec<String> = if access.repositories.is_empty() {
            roles
                .iter()
                .map(|r| r.repository.full_name.clone())
                .collect()
        } else {
            access
                .repositories
                .iter()
                .map(|r| format!("{workspace}/{r}"))
                .collect()
        };
        let short: Vec<String> = wanted
            .into_iter()
            .filter(|name| {
                let role = roles
                    .iter()
                    .find(|r| r.repository.full_name.eq_ignore_ascii_case(name))
                    .and_then(|r| cloud_role_level(&r.permission));
                role.is_none_or(|role| role < level)
            })
            .map(|name| format!("{} permission on {name}", level.as_str()))
            .collect();
        if short.is_empty() {
            return Ok(());
        }
        let who = self
            .request
            .email
            .or(self.request.username)
            .unwrap_or("the account");
        Err(Stop::Invalid(Invalid::InsufficientScope {
            missing: short,
            granted: roles
                .iter()
                .map(|r| format!("{}:{}", r.repository.full_name, r.permission))
                .collect(),
            fix: format!(
                "The token's scopes allow it, but the account {who} itself has less access: ask a workspace admin to grant it {} access to those repositories.",
                level.as_str()
            ),
        }))
    }

    /// The account's roles on the workspace's repositories matching `query`; `Ok(Err(why))` when
    /// Bitbucket refuses the listing to this token (403).
    async fn roles(
        &self,
        workspace: &str,
        query: Option<String>,
    ) -> Result<Result<Vec<RepositoryPermission>, String>, Stop> {
        let mut url = join(
            self.api,
            &[
                "user",
                "workspaces",
                workspace,
                "permissions",
                "repositories",
            ],
        );
        if let Some(query) = query {
            url.query_pairs_mut().append_pair("q", &query);
        }
        url.query_pairs_mut().append_pair("pagelen", "100");
        match cloud_list(self.transport, &self.client, url, &self.credential).await? {
            Listing::Items(items) => Ok(Ok(items)),
            Listing::Refused(response) => match response.status {
                StatusCode::FORBIDDEN => Ok(Err(status_text(
                    &response,
                    &cloud_error(&response).error.message,
                ))),
                StatusCode::UNAUTHORIZED => Err(unauthorized(&response)),
                _ => Err(unexpected(&response, "the permission list")),
            },
        }
    }

    fn default_identity(&self, findings: &Findings) -> String {
        let label = self.request.target_label();
        match (self.request.kind, &findings.credential_type) {
            (TokenKind::ApiToken, _) | (TokenKind::AppPassword, _) => self
                .request
                .email
                .or(self.request.username)
                .unwrap_or("unknown account")
                .to_string(),
            (kind, Some(seen)) => format!("{} for {label} ({seen})", kind_words(kind)),
            (kind, None) => format!("{} for {label}", kind_words(kind)),
        }
    }
}

fn kind_words(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::RepositoryAccessToken => "repository access token",
        TokenKind::ProjectAccessToken => "project access token",
        TokenKind::WorkspaceAccessToken => "workspace access token",
        TokenKind::ApiToken => "API token",
        TokenKind::AppPassword => "app password",
        TokenKind::HttpAccessToken => "HTTP access token",
    }
}

fn expected_credential_type(kind: TokenKind) -> Option<&'static str> {
    match kind {
        TokenKind::RepositoryAccessToken => Some("repo_access_token"),
        TokenKind::ProjectAccessToken => Some("project_access_token"),
        TokenKind::WorkspaceAccessToken => Some("workspace_access_token"),
        _ => None,
    }
}

fn unauthorized(response: &ApiResponse) -> Stop {
    let message = cloud_error(response).error.message;
    let detail = if message.is_empty() {
        "no reason given".to_string()
    } else {
        message
    };
    Stop::Invalid(Invalid::Unauthorized { detail })
}
