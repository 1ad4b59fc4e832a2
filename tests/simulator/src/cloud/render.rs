//! JSON shapes of Cloud objects, modelled on the Cloud 2.0 OpenAPI schemas
//! (`repository`, `workspace`, `project`, `user`, `repository_permission`).

use serde_json::{Value, json};

use crate::fixture::{CloudProject, CloudRepository, CloudUser, RepoPermission, Workspace};
use crate::ids::uuid_for;

/// Public web host used in `html` and clone links, as real Cloud answers.
const WEB: &str = "https://bitbucket.org";

fn link(href: String) -> Value {
    json!({ "href": href })
}

pub(crate) fn workspace(api: &str, ws: &Workspace) -> Value {
    json!({
        "type": "workspace",
        "uuid": uuid_for(&format!("workspace:{}", ws.slug)),
        "slug": ws.slug,
        "name": ws.name,
        "is_private": true,
        "links": {
            "self": link(format!("{api}/workspaces/{}", ws.slug)),
            "html": link(format!("{WEB}/{}/", ws.slug)),
            "repositories": link(format!("{api}/repositories/{}", ws.slug)),
            "projects": link(format!("{api}/workspaces/{}/projects", ws.slug)),
        },
    })
}

fn workspace_ref(ws: &Workspace) -> Value {
    json!({
        "type": "workspace",
        "uuid": uuid_for(&format!("workspace:{}", ws.slug)),
        "slug": ws.slug,
        "name": ws.name,
    })
}

pub(crate) fn project(api: &str, ws: &Workspace, project: &CloudProject) -> Value {
    json!({
        "type": "project",
        "uuid": uuid_for(&format!("project:{}/{}", ws.slug, project.key)),
        "key": project.key,
        "name": project.name,
        "description": "",
        "is_private": true,
        "has_publicly_visible_repos": ws.repositories.iter().any(|r| r.project == project.key && !r.private),
        "owner": workspace_ref(ws),
        "links": {
            "self": link(format!("{api}/workspaces/{}/projects/{}", ws.slug, project.key)),
            "html": link(format!("{WEB}/{}/workspace/projects/{}", ws.slug, project.key)),
        },
    })
}

pub(crate) fn repository(api: &str, ws: &Workspace, repo: &CloudRepository) -> Value {
    let full_name = format!("{}/{}", ws.slug, repo.slug);
    let project_name = ws
        .projects
        .iter()
        .find(|p| p.key == repo.project)
        .map_or(repo.project.as_str(), |p| p.name.as_str());
    json!({
        "type": "repository",
        "uuid": uuid_for(&format!("repository:{full_name}")),
        "slug": repo.slug,
        "name": repo.display_name(),
        "full_name": full_name,
        "description": "",
        "scm": "git",
        "is_private": repo.private,
        "fork_policy": "no_public_forks",
        "mainbranch": { "type": "branch", "name": "main" },
        "project": {
            "type": "project",
            "key": repo.project,
            "name": project_name,
            "uuid": uuid_for(&format!("project:{}/{}", ws.slug, repo.project)),
        },
        "workspace": workspace_ref(ws),
        "links": {
            "self": link(format!("{api}/repositories/{full_name}")),
            "html": link(format!("{WEB}/{full_name}")),
            "clone": [
                { "name": "https", "href": format!("{WEB}/{full_name}.git") },
                { "name": "ssh", "href": format!("git@bitbucket.org:{full_name}.git") },
            ],
        },
    })
}

pub(crate) fn user(api: &str, user: &CloudUser) -> Value {
    json!({
        "type": "user",
        "username": user.username,
        "nickname": user.username,
        "display_name": user.display_name,
        "account_id": user.account_id,
        "uuid": uuid_for(&format!("user:{}", user.account_id)),
        "account_status": "active",
        "links": {
            "self": link(format!("{api}/users/{}", uuid_for(&format!("user:{}", user.account_id)))),
            "html": link(format!("{WEB}/{}/", user.username)),
        },
    })
}

pub(crate) fn repository_permission(
    api: &str,
    ws: &Workspace,
    repo: &CloudRepository,
    user: &CloudUser,
    permission: RepoPermission,
) -> Value {
    let full_name = format!("{}/{}", ws.slug, repo.slug);
    json!({
        "type": "repository_permission",
        "permission": permission.cloud_name(),
        "user": {
            "type": "user",
            "nickname": user.username,
            "display_name": user.display_name,
            "account_id": user.account_id,
            "uuid": uuid_for(&format!("user:{}", user.account_id)),
        },
        "repository": {
            "type": "repository",
            "name": repo.display_name(),
            "slug": repo.slug,
            "full_name": full_name,
            "uuid": uuid_for(&format!("repository:{full_name}")),
            "links": { "self": link(format!("{api}/repositories/{full_name}")) },
        },
    })
}
