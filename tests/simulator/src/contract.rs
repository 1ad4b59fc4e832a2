//! The REST operations the simulator serves, each as Atlassian's OpenAPI documents name it
//! (method and path template relative to the server URL), with what the document says a caller
//! needs. The handlers check exactly these requirements, and the operator's contract test
//! compares this table with the documents (`tests/integration/bitbucket_client.rs` in the operator's crate).
//!
//! Sources: the Cloud 2.0 document (`servers: https://api.bitbucket.org/2.0`): each operation's
//! `security` lists the classic OAuth scopes (`oauth2`, all required) and
//! `x-atlassian-oauth2-scopes` the granular ones (API tokens). The Data Center 9.2 document
//! (`servers: http://{baseurl}/rest`) has no `security` per operation; its descriptions say
//! "The authenticated user must have <strong>PERMISSION</strong> permission".

/// Which Bitbucket an operation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// Bitbucket Cloud, paths relative to `https://api.bitbucket.org/2.0`.
    Cloud,
    /// Bitbucket Data Center, paths relative to `{base}/rest`.
    DataCenter,
}

/// One documented operation and what it demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub product: Product,
    /// How the document names it: `operationId` (Data Center) or `summary` (the Cloud document
    /// has no operation ids).
    pub name: &'static str,
    /// `GET`, `PUT`, ...
    pub method: &'static str,
    /// Path template exactly as in the document, e.g. `/repositories/{workspace}/{repo_slug}`.
    pub path: &'static str,
    /// Cloud: classic scopes of `security[].oauth2`, all required.
    pub oauth2_scopes: &'static [&'static str],
    /// Cloud: `x-atlassian-oauth2-scopes[].scopes`, all required (API tokens).
    pub granular_scopes: &'static [&'static str],
    /// Data Center: the permission its description names, `None` when it names none.
    pub dc_permission: Option<&'static str>,
    /// Query parameters the document lists (besides path parameters).
    pub query: &'static [&'static str],
}

const fn cloud(
    name: &'static str,
    path: &'static str,
    oauth2_scopes: &'static [&'static str],
    granular_scopes: &'static [&'static str],
    query: &'static [&'static str],
) -> Operation {
    Operation {
        product: Product::Cloud,
        name,
        method: "GET",
        path,
        oauth2_scopes,
        granular_scopes,
        dc_permission: None,
        query,
    }
}

const fn dc(
    name: &'static str,
    path: &'static str,
    dc_permission: Option<&'static str>,
    query: &'static [&'static str],
) -> Operation {
    Operation {
        product: Product::DataCenter,
        name,
        method: "GET",
        path,
        oauth2_scopes: &[],
        granular_scopes: &[],
        dc_permission,
        query,
    }
}

/// Cloud pagination parameters: documented for every paginated listing in the introduction
/// ("Pagination": `page`, `pagelen`), not per operation.
pub const CLOUD_PAGINATION: [&str; 2] = ["page", "pagelen"];

pub const CLOUD_GET_REPOSITORY: Operation = cloud(
    "Get a repository",
    "/repositories/{workspace}/{repo_slug}",
    &["repository"],
    &["read:repository:bitbucket"],
    &[],
);
pub const CLOUD_LIST_REPOSITORIES: Operation = cloud(
    "List repositories in a workspace",
    "/repositories/{workspace}",
    &["repository"],
    &["read:repository:bitbucket"],
    &["role", "q", "sort"],
);
pub const CLOUD_GET_WORKSPACE: Operation = cloud(
    "Get a workspace",
    "/workspaces/{workspace}",
    &[],
    &["read:workspace:bitbucket"],
    &[],
);
pub const CLOUD_GET_PROJECT: Operation = cloud(
    "Get a project for a workspace",
    "/workspaces/{workspace}/projects/{project_key}",
    &["project"],
    &["read:project:bitbucket"],
    &[],
);
pub const CLOUD_GET_USER: Operation = cloud(
    "Get current user",
    "/user",
    &["account"],
    &["read:user:bitbucket"],
    &[],
);
pub const CLOUD_LIST_USER_REPOSITORY_PERMISSIONS: Operation = cloud(
    "List repository permissions in a workspace for a user",
    "/user/workspaces/{workspace}/permissions/repositories",
    &["account", "repository"],
    &["read:repository:bitbucket"],
    &["q", "sort"],
);

pub const DC_APPLICATION_PROPERTIES: Operation = dc(
    "getApplicationProperties",
    "/api/latest/application-properties",
    None,
    &[],
);
pub const DC_GET_PROJECT: Operation = dc(
    "getProject",
    "/api/latest/projects/{projectKey}",
    Some("PROJECT_VIEW"),
    &[],
);
pub const DC_GET_REPOSITORY: Operation = dc(
    "getRepository",
    "/api/latest/projects/{projectKey}/repos/{repositorySlug}",
    Some("REPO_READ"),
    &[],
);
pub const DC_LIST_REPOSITORIES: Operation = dc(
    "getRepositories_1",
    "/api/latest/repos",
    None,
    &[
        "archived",
        "projectname",
        "projectkey",
        "visibility",
        "name",
        "permission",
        "state",
        "start",
        "limit",
    ],
);
pub const DC_GET_USER_TOKEN: Operation = dc(
    "getById_2",
    "/access-tokens/latest/users/{userSlug}/{tokenId}",
    None,
    &[],
);
pub const DC_GET_PROJECT_TOKEN: Operation = dc(
    "getById",
    "/access-tokens/latest/projects/{projectKey}/{tokenId}",
    None,
    &[],
);
pub const DC_GET_REPOSITORY_TOKEN: Operation = dc(
    "getById_1",
    "/access-tokens/latest/projects/{projectKey}/repos/{repositorySlug}/{tokenId}",
    None,
    &[],
);

/// Every operation the simulator serves.
pub const OPERATIONS: [Operation; 13] = [
    CLOUD_GET_REPOSITORY,
    CLOUD_LIST_REPOSITORIES,
    CLOUD_GET_WORKSPACE,
    CLOUD_GET_PROJECT,
    CLOUD_GET_USER,
    CLOUD_LIST_USER_REPOSITORY_PERMISSIONS,
    DC_APPLICATION_PROPERTIES,
    DC_GET_PROJECT,
    DC_GET_REPOSITORY,
    DC_LIST_REPOSITORIES,
    DC_GET_USER_TOKEN,
    DC_GET_PROJECT_TOKEN,
    DC_GET_REPOSITORY_TOKEN,
];

impl Operation {
    /// True when `path` (relative to the product's server URL, without query) is an instance
    /// of this operation's template. Data Center's `latest` also answers as `1.0`.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        let want: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let have: Vec<&str> = path.trim_matches('/').split('/').collect();
        want.len() == have.len()
            && want.iter().zip(&have).all(|(w, h)| {
                (w.starts_with('{') && w.ends_with('}') && !h.is_empty())
                    || w == h
                    || (*w == "latest" && *h == "1.0")
            })
    }

    /// The operation `method path` is an instance of, if the simulator serves it.
    pub fn find(product: Product, method: &str, path: &str) -> Option<&'static Operation> {
        OPERATIONS
            .iter()
            .find(|op| op.product == product && op.matches(method, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_their_instances_only() {
        let op = CLOUD_GET_REPOSITORY;
        assert!(op.matches("GET", "/repositories/acme/api"));
        assert!(!op.matches("GET", "/repositories/acme"));
        assert!(!op.matches("PUT", "/repositories/acme/api"));
        assert!(DC_GET_REPOSITORY.matches("GET", "/api/1.0/projects/PAY/repos/payments"));
        assert_eq!(
            Operation::find(Product::Cloud, "GET", "/repositories/acme"),
            Some(&CLOUD_LIST_REPOSITORIES)
        );
    }
}
