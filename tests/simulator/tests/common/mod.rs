//! Shared fixture and HTTPS client for the simulator's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use bitbucket_simulator::{
    CloudFixture, CloudProject, CloudRepository, CloudUser, DataCenterFixture, DcProject, DcUser,
    Fixture, RepoPermission, SimTokenKind, Simulator, TokenFixture, Workspace, dc_token_secret,
};
use chrono::{Duration, Utc};
use reqwest::{Certificate, Client, Response};
use serde_json::Value;

pub const RAT: &str = "ATCTT3xFfGN0-rat";
pub const RAT_NO_SCOPE: &str = "ATCTT3xFfGN0-rat-webhook";
pub const PAT: &str = "ATCTT3xFfGN0-pat";
pub const WAT: &str = "ATCTT3xFfGN0-wat";
pub const API_TOKEN: &str = "ATATT3xFfGF0-api";
pub const API_WRITE_ONLY: &str = "ATATT3xFfGF0-api-write-only";
pub const APP_PASSWORD: &str = "app-password-secret";
pub const EXPIRED: &str = "ATCTT3xFfGN0-expired";
pub const EMAIL: &str = "jane@example.com";
pub const USERNAME: &str = "jdoe";

pub const DC_PERSONAL_ID: u64 = 100_000_000_001;
pub const DC_PROJECT_ID: u64 = 100_000_000_002;
pub const DC_REPO_ID: u64 = 100_000_000_003;
pub const DC_PERSONAL_READ_ID: u64 = 100_000_000_004;
pub const DC_HIDDEN_ID: u64 = 100_000_000_005;
pub const DC_PLAIN: &str = "plain-dc-token-without-an-id";

pub fn dc_personal() -> String {
    dc_token_secret(DC_PERSONAL_ID, 1)
}
pub fn dc_project() -> String {
    dc_token_secret(DC_PROJECT_ID, 2)
}
pub fn dc_repo() -> String {
    dc_token_secret(DC_REPO_ID, 3)
}
pub fn dc_personal_read() -> String {
    dc_token_secret(DC_PERSONAL_READ_ID, 4)
}
pub fn dc_hidden() -> String {
    dc_token_secret(DC_HIDDEN_ID, 5)
}
pub fn dc_limited() -> String {
    dc_token_secret(100_000_000_006, 6)
}
pub fn dc_expired() -> String {
    dc_token_secret(100_000_000_007, 7)
}

fn token(name: &str, secret: &str, kind: SimTokenKind) -> TokenFixture {
    TokenFixture {
        name: name.into(),
        secret: secret.into(),
        kind,
        ..Default::default()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn cloud_repo(slug: &str, project: &str, private: bool) -> CloudRepository {
    CloudRepository {
        name: None,
        slug: slug.into(),
        project: project.into(),
        private,
    }
}

pub fn fixture() -> Fixture {
    let acme = Workspace {
        slug: "acme".into(),
        name: "Acme".into(),
        projects: vec![
            CloudProject {
                key: "PLAT".into(),
                name: "Platform".into(),
            },
            CloudProject {
                key: "WEB".into(),
                name: "Web".into(),
            },
        ],
        repositories: vec![
            cloud_repo("api", "PLAT", true),
            cloud_repo("worker", "PLAT", true),
            cloud_repo("frontend", "WEB", true),
            cloud_repo("docs", "WEB", false),
        ],
    };
    let globex = Workspace {
        slug: "globex".into(),
        name: "Globex".into(),
        projects: vec![CloudProject {
            key: "G".into(),
            name: "G".into(),
        }],
        repositories: vec![cloud_repo("secret", "G", true)],
    };
    let jdoe = CloudUser {
        username: USERNAME.into(),
        display_name: "Jane Doe".into(),
        account_id: "712020:jane".into(),
        email: EMAIL.into(),
        permissions: BTreeMap::from([
            ("acme/api".into(), RepoPermission::Write),
            ("acme/worker".into(), RepoPermission::Read),
            ("acme/frontend".into(), RepoPermission::Admin),
        ]),
    };
    let alice = DcUser {
        slug: "alice".into(),
        display_name: "Alice".into(),
        permissions: BTreeMap::from([
            ("OPS".into(), RepoPermission::Write),
            ("OPS/runbooks".into(), RepoPermission::Admin),
        ]),
    };
    let bob = DcUser {
        slug: "bob".into(),
        display_name: "Bob".into(),
        permissions: BTreeMap::from([("SEC/vault".into(), RepoPermission::Read)]),
    };
    let in_acme = |mut t: TokenFixture| {
        t.workspace = Some("acme".into());
        t
    };
    let tokens = vec![
        TokenFixture {
            repository: Some("api".into()),
            scopes: strings(&["repository", "repository:write"]),
            rate_limit: Some(5),
            ..in_acme(token("rat", RAT, SimTokenKind::RepositoryAccessToken))
        },
        TokenFixture {
            repository: Some("api".into()),
            scopes: strings(&["webhook"]),
            ..in_acme(token(
                "rat-webhook",
                RAT_NO_SCOPE,
                SimTokenKind::RepositoryAccessToken,
            ))
        },
        TokenFixture {
            project: Some("PLAT".into()),
            scopes: strings(&["repository", "project"]),
            ..in_acme(token("pat", PAT, SimTokenKind::ProjectAccessToken))
        },
        TokenFixture {
            scopes: strings(&["repository", "project"]),
            ..in_acme(token("wat", WAT, SimTokenKind::WorkspaceAccessToken))
        },
        TokenFixture {
            user: Some(USERNAME.into()),
            scopes: strings(&[
                "read:repository:bitbucket",
                "read:user:bitbucket",
                "read:workspace:bitbucket",
                "read:project:bitbucket",
            ]),
            ..token("api-token", API_TOKEN, SimTokenKind::ApiToken)
        },
        TokenFixture {
            user: Some(USERNAME.into()),
            scopes: strings(&["write:repository:bitbucket"]),
            ..token("api-write-only", API_WRITE_ONLY, SimTokenKind::ApiToken)
        },
        // "Account: Read" and "Repositories: Read", as app passwords were usually made.
        TokenFixture {
            user: Some(USERNAME.into()),
            scopes: strings(&["account", "repository"]),
            ..token("app-password", APP_PASSWORD, SimTokenKind::AppPassword)
        },
        TokenFixture {
            repository: Some("api".into()),
            scopes: strings(&["repository"]),
            expires_at: Some(Utc::now() - Duration::days(1)),
            ..in_acme(token(
                "expired",
                EXPIRED,
                SimTokenKind::RepositoryAccessToken,
            ))
        },
        TokenFixture {
            user: Some("alice".into()),
            permissions: strings(&["PROJECT_READ", "REPO_WRITE"]),
            expires_at: Some(Utc::now() + Duration::days(30)),
            ..token("dc-personal", &dc_personal(), SimTokenKind::DcPersonal)
        },
        TokenFixture {
            user: Some("alice".into()),
            permissions: strings(&["REPO_READ"]),
            ..token(
                "dc-personal-read",
                &dc_personal_read(),
                SimTokenKind::DcPersonal,
            )
        },
        TokenFixture {
            project: Some("OPS".into()),
            permissions: strings(&["PROJECT_READ", "REPO_READ"]),
            ..token("dc-project", &dc_project(), SimTokenKind::DcProject)
        },
        TokenFixture {
            project: Some("OPS".into()),
            repository: Some("deploy".into()),
            permissions: strings(&["REPO_WRITE"]),
            ..token("dc-repo", &dc_repo(), SimTokenKind::DcRepository)
        },
        TokenFixture {
            user: Some("alice".into()),
            permissions: strings(&["REPO_READ"]),
            dc_record_readable: false,
            ..token("dc-hidden", &dc_hidden(), SimTokenKind::DcPersonal)
        },
        TokenFixture {
            user: Some("bob".into()),
            permissions: strings(&["REPO_READ"]),
            ..token("dc-plain", DC_PLAIN, SimTokenKind::DcPersonal)
        },
        TokenFixture {
            project: Some("OPS".into()),
            permissions: strings(&["REPO_READ"]),
            rate_limit: Some(3),
            ..token("dc-limited", &dc_limited(), SimTokenKind::DcProject)
        },
        TokenFixture {
            user: Some("alice".into()),
            permissions: strings(&["REPO_READ"]),
            expires_at: Some(Utc::now() - Duration::minutes(1)),
            ..token("dc-expired", &dc_expired(), SimTokenKind::DcPersonal)
        },
    ];
    Fixture {
        cloud: CloudFixture {
            workspaces: vec![acme, globex],
            users: vec![jdoe],
        },
        data_center: DataCenterFixture {
            projects: vec![
                DcProject {
                    key: "OPS".into(),
                    name: "Operations".into(),
                    repositories: strings(&["deploy", "infra", "runbooks", "tools", "web"]),
                    repository_names: [("runbooks".to_string(), "Run Books".to_string())].into(),
                },
                DcProject {
                    key: "SEC".into(),
                    name: "Security".into(),
                    repositories: strings(&["vault"]),
                    ..DcProject::default()
                },
            ],
            users: vec![alice, bob],
            ..Default::default()
        },
        tokens,
        page_size: Some(2),
        port: None,
        listen_address: None,
    }
}

/// A started simulator and a client that trusts only its CA and keeps no idle
/// connections (so listener stops are observed immediately).
pub struct Harness {
    pub sim: Simulator,
    pub client: Client,
}

impl Harness {
    pub async fn start() -> Self {
        Self::with_fixture(fixture()).await
    }

    pub async fn with_fixture(fixture: Fixture) -> Self {
        let sim = Simulator::start(fixture).await.expect("simulator starts");
        let client = client_for(&sim);
        Self { sim, client }
    }

    pub fn cloud(&self, path: &str) -> String {
        format!("{}{path}", self.sim.cloud_api_url())
    }

    pub fn dc(&self, path: &str) -> String {
        format!("{}/rest{path}", self.sim.dc_base_url())
    }

    pub async fn bearer(&self, url: &str, token: &str) -> Response {
        self.client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request succeeds")
    }

    pub async fn basic(&self, url: &str, user: &str, secret: &str) -> Response {
        self.client
            .get(url)
            .basic_auth(user, Some(secret))
            .send()
            .await
            .expect("request succeeds")
    }

    pub async fn anonymous(&self, url: &str) -> Response {
        self.client.get(url).send().await.expect("request succeeds")
    }
}

pub fn client_for(sim: &Simulator) -> Client {
    let ca = Certificate::from_pem(sim.ca_pem().as_bytes()).expect("CA PEM parses");
    Client::builder()
        .tls_certs_only([ca])
        .pool_max_idle_per_host(0)
        .build()
        .expect("client builds")
}

pub fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

pub async fn json(response: Response) -> Value {
    response.json().await.expect("JSON body")
}
