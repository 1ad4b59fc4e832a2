//! Bitbucket Data Center: HTTP access tokens (personal, project, repository), always as Bearer.

use base64::Engine;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use super::{
    Stop,
    credential::Credential,
    join,
    outcome::{Invalid, Transient, ValidToken},
    request::ValidationRequest,
    response::{Listing, dc_error_message, dc_list, json, status_text},
    scopes::{dc_effective_level, dc_repo_permission},
    transport::{ApiResponse, Transport},
    unexpected,
};
use crate::api::{ExpirySource, Permission};

/// A token's own record under `/rest/access-tokens/latest/...`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRecord {
    #[serde(default)]
    permissions: Vec<String>,
    /// Milliseconds since the epoch, present when the token has an expiry.
    #[serde(default)]
    expiry_date: Option<i64>,
}

#[derive(Deserialize)]
struct Repository {
    slug: String,
}

struct Session<'a> {
    transport: &'a Transport,
    client: reqwest::Client,
    rest: Url,
    credential: Credential,
    request: &'a ValidationRequest<'a>,
    project: String,
}

pub(super) async fn validate(
    transport: &Transport,
    base: &Url,
    ca_pem: Option<&[u8]>,
    request: &ValidationRequest<'_>,
) -> Result<ValidToken, Stop> {
    let client = transport
        .client_for(ca_pem)
        .map_err(|e| Invalid::TargetNotFound {
            target: "server.dataCenter.caBundleSecretRef".into(),
            detail: e.to_string(),
        })?;
    let session = Session {
        transport,
        client,
        rest: join(
            &super::parse_base(base.as_str()).map_err(|e| Transient::MalformedResponse {
                detail: e.to_string(),
            })?,
            &["rest"],
        ),
        credential: Credential::Bearer(request.token.clone()),
        request,
        project: request.access.project.clone().unwrap_or_default(),
    };
    session.run().await
}

impl Session<'_> {
    async fn run(&self) -> Result<ValidToken, Stop> {
        let mut user = None;
        for (label, path) in self.targets() {
            let response = self.get(&path).await?;
            let seen_user = response.header("x-ausername").map(String::from);
            match response.status {
                StatusCode::OK => {
                    json::<serde_json::Map<String, serde_json::Value>>(&response, &label)?;
                    user = user.or(seen_user);
                }
                StatusCode::UNAUTHORIZED if seen_user.is_some() => {
                    // DC answers 401 both for a bad token and for a missing permission;
                    // X-AUSERNAME tells them apart (only an accepted token has a user).
                    return Err(self.insufficient(
                        vec![format!(
                            "{} on {label}",
                            dc_repo_permission(Permission::Read)
                        )],
                        Vec::new(),
                        &format!(
                            "the token authenticates as {} but may not read {label}",
                            seen_user.unwrap_or_default()
                        ),
                    ));
                }
                StatusCode::UNAUTHORIZED => return Err(unauthorized(&response)),
                StatusCode::NOT_FOUND => {
                    return Err(Stop::Invalid(Invalid::TargetNotFound {
                        target: label,
                        detail: status_text(&response, &dc_error_message(&response)),
                    }));
                }
                _ => return Err(unexpected(&response, &label)),
            }
        }
        let user = user.unwrap_or_else(|| "unknown user".into());
        let level = self.request.access.permission;
        let mut warnings = Vec::new();
        let record = self.own_record(&user).await?;
        let (granted, expires_at) = match &record {
            Some(record) => {
                let effective = dc_effective_level(&record.permissions);
                if effective.is_none_or(|have| have < level) {
                    return Err(self.insufficient(
                        vec![dc_repo_permission(level).to_string()],
                        record.permissions.clone(),
                        "the token's own permissions are lower than spec.access.permission",
                    ));
                }
                let expiry = record
                    .expiry_date
                    .and_then(DateTime::<Utc>::from_timestamp_millis);
                (record.permissions.clone(), expiry)
            }
            None => {
                warnings.push("the token cannot read its own access-token record, so its permissions and expiry were checked through the repository list and spec.token.expiresAt.".to_string());
                if level > Permission::Read {
                    self.check_level_by_listing(level).await?;
                }
                (Vec::new(), None)
            }
        };
        if let Some(at) = expires_at.filter(|at| *at <= Utc::now()) {
            return Err(Stop::Invalid(Invalid::Expired { at }));
        }
        if let Some(basic_user) = self.request.basic_user {
            self.check_basic(basic_user, &user).await?;
        }
        Ok(ValidToken {
            identity: user,
            credential_type: Some("http_access_token".into()),
            granted,
            expiry_source: expires_at.map(|_| ExpirySource::Bitbucket),
            expires_at,
            warnings,
        })
    }

    fn targets(&self) -> Vec<(String, Vec<String>)> {
        let key = &self.project;
        let repos = &self.request.access.repositories;
        if repos.is_empty() {
            return vec![(
                format!("project {key}"),
                path(&["api", "latest", "projects", key]),
            )];
        }
        repos
            .iter()
            .map(|slug| {
                (
                    format!("repository {key}/{slug}"),
                    path(&["api", "latest", "projects", key, "repos", slug]),
                )
            })
            .collect()
    }

    async fn get(&self, segments: &[String]) -> Result<ApiResponse, Stop> {
        let refs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let url = join(&self.rest, &refs);
        Ok(self
            .transport
            .get(&self.client, &url, &self.credential)
            .await?)
    }

    /// The token's own record, looked up under the repository, the project and the user it may
    /// belong to. `None` when the token's id cannot be derived or no record is readable.
    async fn own_record(&self, user: &str) -> Result<Option<TokenRecord>, Stop> {
        let Some(id) = token_id(self.request.token.expose()) else {
            return Ok(None);
        };
        let key = &self.project;
        let mut owners: Vec<Vec<String>> = Vec::new();
        if let [slug] = self.request.access.repositories.as_slice() {
            owners.push(path(&["projects", key, "repos", slug]));
        }
        owners.push(path(&["projects", key]));
        owners.push(path(&["users", user]));
        for owner in owners {
            let mut segments = path(&["access-tokens", "latest"]);
            segments.extend(owner);
            segments.push(id.clone());
            let response = self.get(&segments).await?;
            match response.status {
                StatusCode::OK => return Ok(Some(json(&response, "the access-token record")?)),
                StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => {
                    continue;
                }
                _ => return Err(unexpected(&response, "the access-token record")),
            }
        }
        Ok(None)
    }

    /// Without the record: a repository appears in `GET /api/latest/repos?projectkey=K&permission=
    /// REPO_WRITE` (`getRepositories_1`) only when the caller holds that permission on it. The
    /// listing is matched on slugs here: its `name` parameter filters on the display name, which
    /// may differ from the slug (DC 9.2 OpenAPI parameter description), so it is not used.
    async fn check_level_by_listing(&self, level: Permission) -> Result<(), Stop> {
        let permission = dc_repo_permission(level);
        let key = &self.project;
        let wanted: Vec<String> = if self.request.access.repositories.is_empty() {
            self.repos_in_project(None).await?
        } else {
            self.request.access.repositories.clone()
        };
        let allowed = self.repos_in_project(Some(permission)).await?;
        let short: Vec<String> = wanted
            .iter()
            .filter(|slug| !allowed.iter().any(|a| a.eq_ignore_ascii_case(slug)))
            .map(|slug| format!("{permission} on {key}/{slug}"))
            .collect();
        if short.is_empty() {
            Ok(())
        } else {
            Err(self.insufficient(
                short,
                Vec::new(),
                "the repository list shows less access than spec.access.permission",
            ))
        }
    }

    /// Slugs of the project's repositories the caller holds `permission` on (without one: the
    /// implicit read the document describes).
    async fn repos_in_project(&self, permission: Option<&str>) -> Result<Vec<String>, Stop> {
        let mut url = join(&self.rest, &["api", "latest", "repos"]);
        url.query_pairs_mut()
            .append_pair("projectkey", &self.project);
        if let Some(permission) = permission {
            url.query_pairs_mut().append_pair("permission", permission);
        }
        Ok(self
            .list::<Repository>(url)
            .await?
            .into_iter()
            .map(|r| r.slug)
            .collect())
    }

    /// The Secret will also carry `user:token` as HTTP Basic: ask Bitbucket whether it accepts
    /// that form, on the first target. Project and repository tokens never do ("In Git and API
    /// calls, you can use the project and repository level token only with Bearer
    /// authentication", <https://confluence.atlassian.com/bitbucketserver091/http-access-tokens-1443038354.html>).
    async fn check_basic(&self, user: &str, identity: &str) -> Result<(), Stop> {
        let Some((label, path)) = self.targets().into_iter().next() else {
            return Ok(());
        };
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let basic = Credential::Basic {
            user: user.to_string(),
            token: self.request.token.clone(),
        };
        let response = self
            .transport
            .get(&self.client, &join(&self.rest, &refs), &basic)
            .await?;
        match response.status {
            StatusCode::OK => Ok(()),
            StatusCode::UNAUTHORIZED => Err(Stop::Invalid(Invalid::BasicAuthRefused {
                user: user.to_string(),
                detail: status_text(&response, &dc_error_message(&response)),
                fix: format!(
                    "Data Center project and repository HTTP access tokens work only as Bearer: remove token.username and use the GitConfig, Env or BearerToken formats (ArgoCD then writes bearerToken). If this is a personal token, token.username must be its owner's user name (Bearer calls act as {identity})."
                ),
            })),
            _ => Err(unexpected(&response, &label)),
        }
    }

    async fn list<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<Vec<T>, Stop> {
        match dc_list(self.transport, &self.client, url, &self.credential).await? {
            Listing::Items(items) => Ok(items),
            Listing::Refused(response)
                if response.status == StatusCode::UNAUTHORIZED
                    && response.header("x-ausername").is_none() =>
            {
                Err(unauthorized(&response))
            }
            Listing::Refused(response) => Err(unexpected(&response, "a repository list")),
        }
    }

    fn insufficient(&self, missing: Vec<String>, granted: Vec<String>, why: &str) -> Stop {
        let level = self.request.access.permission;
        Stop::Invalid(Invalid::InsufficientScope {
            missing,
            granted,
            fix: format!(
                "{why}. Create an HTTP access token with {} permission (or the project-level equivalent) and put it into the source Secret.",
                dc_repo_permission(level)
            ),
        })
    }
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// The prefix current Data Center releases put before a token's base64 part.
const TOKEN_PREFIX: &str = "BBDC-";

/// The numeric id a Data Center token encodes: `BBDC-` (current releases; older ones issued
/// tokens without it) followed by base64 of `<id>:<random bytes>` (the DC 9.2 OpenAPI example of an
/// access token decodes to its own id).
fn token_id(token: &str) -> Option<String> {
    let encoded = token.strip_prefix(TOKEN_PREFIX).unwrap_or(token);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let colon = bytes.iter().position(|b| *b == b':')?;
    let id = std::str::from_utf8(&bytes[..colon]).ok()?;
    (!id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| id.to_string())
}

fn unauthorized(response: &ApiResponse) -> Stop {
    let message = dc_error_message(response);
    let detail = if message.is_empty() {
        "no reason given".to_string()
    } else {
        message
    };
    Stop::Invalid(Invalid::Unauthorized { detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_come_from_the_encoded_prefix() {
        let mut raw = b"123456789012:".to_vec();
        raw.extend([7u8; 20]);
        let token = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(token_id(&token).as_deref(), Some("123456789012"));
        assert_eq!(
            token_id(&format!("BBDC-{token}")).as_deref(),
            Some("123456789012")
        );
        assert_eq!(token_id("ATCTT3xFfGN0-not-base64"), None);
        assert_eq!(
            token_id(&base64::engine::general_purpose::STANDARD.encode("abc:def")),
            None
        );
    }
}
