//! JSON shapes of Data Center objects, modelled on the DC 9.2 OpenAPI schemas
//! (`RestRepository`, `RestProject`, `RestAccessToken`, `RestApplicationUser`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::access::Identity;
use crate::fixture::DcProject;
use crate::ids::{numeric_id, uuid_for};
use crate::state::TokenEntry;

/// `https://localhost:{port}{context_path}`.
pub(crate) struct Site<'a> {
    pub base: &'a str,
}

impl Site<'_> {
    pub fn project(&self, project: &DcProject) -> Value {
        json!({
            "key": project.key,
            "id": numeric_id(1, &format!("project:{}", project.key)),
            "name": project.name,
            "description": "",
            "public": false,
            "type": "NORMAL",
            "links": { "self": [ { "href": format!("{}/projects/{}", self.base, project.key) } ] },
        })
    }

    pub fn repository(&self, project: &DcProject, slug: &str) -> Value {
        let key_lower = project.key.to_lowercase();
        let host = self
            .base
            .trim_start_matches("https://")
            .split(['/', ':'])
            .next()
            .unwrap_or("localhost");
        let hierarchy =
            uuid_for(&format!("dc:{}/{slug}", project.key)).replace(['{', '}', '-'], "");
        json!({
            "slug": slug,
            "id": numeric_id(1, &format!("repo:{}/{slug}", project.key)),
            "name": project.repository_name(slug),
            "description": "",
            "hierarchyId": hierarchy.get(..20).unwrap_or_default(),
            "scmId": "git",
            "state": "AVAILABLE",
            "statusMessage": "Available",
            "forkable": true,
            "public": false,
            "archived": false,
            "project": self.project(project),
            "links": {
                "clone": [
                    { "href": format!("{}/scm/{key_lower}/{slug}.git", self.base), "name": "http" },
                    { "href": format!("ssh://git@{host}:7999/{key_lower}/{slug}.git"), "name": "ssh" },
                ],
                "self": [ { "href": format!("{}/projects/{}/repos/{slug}/browse", self.base, project.key) } ],
            },
        })
    }
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// A token's own record (`RestAccessToken` plus the fields community clients read).
pub(crate) fn access_token(id: u64, entry: &TokenEntry, user: &Identity) -> Value {
    let token = &entry.token;
    let mut body = json!({
        "id": id.to_string(),
        "name": token.name,
        "createdDate": millis(entry.created_at),
        "permissions": token.permissions,
        "user": {
            "name": user.name,
            "slug": user.name,
            "id": user.id,
            "displayName": user.display_name,
            "active": true,
            "type": if user.service { "SERVICE" } else { "NORMAL" },
        },
    });
    if let Some(last) = entry.last_authenticated {
        body["lastAuthenticated"] = json!(millis(last));
    }
    if let Some(expiry) = token.expires_at {
        let seconds = (expiry - entry.created_at).num_seconds().max(0);
        body["expiryDays"] = json!(((seconds + 86_399) / 86_400).max(1));
        body["expiryDate"] = json!(millis(expiry));
    }
    body
}
