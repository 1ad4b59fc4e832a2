//! A Bitbucket world for tests: one Cloud workspace and one Data Center project, with a token of
//! every kind in every interesting state, served by the in-repo simulator.
#![allow(dead_code)]

use std::{collections::BTreeMap, sync::LazyLock};

use bitbucket_simulator::{
    CloudFixture, CloudProject, CloudRepository, CloudUser, DataCenterFixture, DcUser, Fixture,
    RepoPermission, SimTokenKind, Simulator, TokenFixture, Workspace, dc_legacy_token_secret,
    dc_token_secret,
};
use chrono::{DateTime, TimeDelta, Utc};

/// When the DC tokens with an expiry expire (whole milliseconds, as DC reports them).
pub static DC_EXPIRY: LazyLock<DateTime<Utc>> = LazyLock::new(|| {
    DateTime::from_timestamp_millis((Utc::now() + TimeDelta::days(200)).timestamp_millis())
        .unwrap_or_default()
});

pub struct World {
    pub sim: Simulator,
    pub fixture: Fixture,
}

impl World {
    pub async fn start() -> Self {
        let fixture = fixture();
        let sim = Simulator::start(fixture.clone())
            .await
            .expect("the simulator starts");
        Self { sim, fixture }
    }

    /// The secret of fixture token `name`; an unknown name gets a token Bitbucket never issued.
    pub fn secret(&self, name: &str) -> String {
        self.fixture
            .tokens
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.secret.clone())
            .unwrap_or_else(|| format!("ATCTT3xFfGN0never-issued-{name}"))
    }
}

fn repo(slug: &str, project: &str) -> CloudRepository {
    CloudRepository {
        // Display names differ from slugs, as they often do on real workspaces.
        name: Some(format!("{slug} (display name)")),
        slug: slug.into(),
        project: project.into(),
        private: true,
    }
}

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn cloud_token(name: &str, kind: SimTokenKind, scope_list: &[&str]) -> TokenFixture {
    TokenFixture {
        name: name.into(),
        // Cloud access tokens look like this; `/`, `+` and `=` prove encoding everywhere.
        secret: format!("ATCTT3xFfGN0{name}+/=Zq9"),
        kind,
        workspace: Some("acme".into()),
        scopes: scopes(scope_list),
        ..TokenFixture::default()
    }
}

pub fn fixture() -> Fixture {
    use SimTokenKind::*;
    let mut tokens = vec![
        TokenFixture {
            repository: Some("payments".into()),
            ..cloud_token(
                "rat-rw",
                RepositoryAccessToken,
                &["repository", "repository:write"],
            )
        },
        TokenFixture {
            repository: Some("payments".into()),
            ..cloud_token("rat-ro", RepositoryAccessToken, &["repository"])
        },
        TokenFixture {
            repository: Some("payments".into()),
            ..cloud_token("rat-noscope", RepositoryAccessToken, &["pullrequest"])
        },
        TokenFixture {
            repository: Some("payments".into()),
            revoked: true,
            ..cloud_token("rat-revoked", RepositoryAccessToken, &["repository"])
        },
        TokenFixture {
            repository: Some("payments".into()),
            expires_at: Some(Utc::now() - TimeDelta::days(1)),
            ..cloud_token("rat-expired", RepositoryAccessToken, &["repository"])
        },
        TokenFixture {
            repository: Some("payments".into()),
            rate_limit: Some(3),
            ..cloud_token("rat-limited", RepositoryAccessToken, &["repository"])
        },
        TokenFixture {
            project: Some("PAY".into()),
            ..cloud_token(
                "pat",
                ProjectAccessToken,
                &["repository", "repository:write", "project"],
            )
        },
        // Only what git needs for a project (issue 14, fault 2): no `project` scope.
        TokenFixture {
            project: Some("PAY".into()),
            ..cloud_token("pat-repo-only", ProjectAccessToken, &["repository"])
        },
        cloud_token("wat", WorkspaceAccessToken, &["repository"]),
        TokenFixture {
            user: Some("alice".into()),
            secret: "ATATT3xFfGF0api-rw+/=".into(),
            ..cloud_token(
                "api-rw",
                ApiToken,
                &[
                    "read:repository:bitbucket",
                    "write:repository:bitbucket",
                    "read:user:bitbucket",
                ],
            )
        },
        // Only what git needs to clone: no read:user or read:workspace scope.
        TokenFixture {
            user: Some("alice".into()),
            secret: "ATATT3xFfGF0api-read-only".into(),
            ..cloud_token("api-read-only", ApiToken, &["read:repository:bitbucket"])
        },
        TokenFixture {
            user: Some("alice".into()),
            secret: "ATATT3xFfGF0api-w-only".into(),
            ..cloud_token("api-write-only", ApiToken, &["write:repository:bitbucket"])
        },
        TokenFixture {
            user: Some("alice".into()),
            secret: "app-password-alice".into(),
            ..cloud_token("app", AppPassword, &["repository", "repository:write"])
        },
        // `%` (and `%2F`, which must not be decoded twice) besides `+/=`, for the git e2e tests.
        TokenFixture {
            repository: Some("payments".into()),
            secret: "ATCTT3xFfGN0pct%2F%25+/=%zz".into(),
            ..cloud_token(
                "rat-pct",
                RepositoryAccessToken,
                &["repository", "repository:write"],
            )
        },
        TokenFixture {
            user: Some("alice".into()),
            secret: "app%2Fpass%+/=".into(),
            ..cloud_token("app-pct", AppPassword, &["repository", "repository:write"])
        },
    ];
    let dc = |name: &str, id: u64, kind: SimTokenKind| TokenFixture {
        name: name.into(),
        secret: dc_token_secret(id, id as u8),
        kind,
        project: Some("PAY".into()),
        expires_at: Some(*DC_EXPIRY),
        ..TokenFixture::default()
    };
    tokens.extend([
        TokenFixture {
            repository: Some("payments".into()),
            permissions: scopes(&["REPO_WRITE"]),
            ..dc("dc-repo-rw", 100_000_000_001, DcRepository)
        },
        TokenFixture {
            permissions: scopes(&["PROJECT_READ"]),
            ..dc("dc-project-r", 100_000_000_002, DcProject)
        },
        TokenFixture {
            user: Some("bob".into()),
            project: None,
            permissions: scopes(&["PROJECT_WRITE"]),
            ..dc("dc-personal", 100_000_000_003, DcPersonal)
        },
        TokenFixture {
            repository: Some("payments".into()),
            permissions: scopes(&["REPO_READ"]),
            dc_record_readable: false,
            expires_at: None,
            ..dc("dc-no-record", 100_000_000_004, DcRepository)
        },
        TokenFixture {
            repository: Some("payments".into()),
            permissions: scopes(&["REPO_READ"]),
            revoked: true,
            ..dc("dc-revoked", 100_000_000_005, DcRepository)
        },
        // The older form without the `BBDC-` prefix, still valid.
        TokenFixture {
            repository: Some("payments".into()),
            permissions: scopes(&["REPO_WRITE"]),
            secret: dc_legacy_token_secret(100_000_000_006, 6),
            ..dc("dc-repo-legacy", 100_000_000_006, DcRepository)
        },
    ]);
    let mut extra: Vec<CloudRepository> = (1..=5)
        .map(|i| repo(&format!("service-{i}"), "OPS"))
        .collect();
    extra.extend([repo("payments", "PAY"), repo("ledger", "PAY")]);
    // A public repository, alone in its project: Bitbucket shows it to anyone, so seeing it
    // proves nothing about a token.
    extra.push(CloudRepository {
        private: false,
        ..repo("handbook", "PUB")
    });
    Fixture {
        cloud: CloudFixture {
            workspaces: vec![
                Workspace {
                    slug: "acme".into(),
                    name: "Acme".into(),
                    projects: vec![
                        CloudProject {
                            key: "PAY".into(),
                            name: "Payments".into(),
                        },
                        CloudProject {
                            key: "OPS".into(),
                            name: "Operations".into(),
                        },
                        CloudProject {
                            key: "PUB".into(),
                            name: "Public".into(),
                        },
                    ],
                    repositories: extra,
                },
                // Another workspace with a same-named repository: credentials for acme must
                // never reach it.
                Workspace {
                    slug: "globex".into(),
                    name: "Globex".into(),
                    projects: vec![CloudProject {
                        key: "PAY".into(),
                        name: "Payments".into(),
                    }],
                    repositories: vec![repo("payments", "PAY")],
                },
            ],
            users: vec![CloudUser {
                username: "alice".into(),
                display_name: "Alice Example".into(),
                account_id: "557058:alice".into(),
                email: "alice@example.com".into(),
                permissions: BTreeMap::from([
                    ("acme/payments".to_string(), RepoPermission::Write),
                    ("acme/ledger".to_string(), RepoPermission::Read),
                ]),
            }],
        },
        data_center: DataCenterFixture {
            projects: vec![bitbucket_simulator::DcProject {
                key: "PAY".into(),
                name: "Payments".into(),
                repositories: scopes(&["payments", "ledger"]),
                // Display names differ from slugs, as they often do on real servers.
                repository_names: BTreeMap::from([
                    ("payments".to_string(), "Payments Service".to_string()),
                    ("ledger".to_string(), "General Ledger".to_string()),
                ]),
            }],
            users: vec![DcUser {
                slug: "bob".into(),
                display_name: "Bob Builder".into(),
                permissions: BTreeMap::from([("PAY".to_string(), RepoPermission::Write)]),
            }],
            ..DataCenterFixture::default()
        },
        tokens,
        // Small pages, so every listing the client reads spans several of them.
        page_size: Some(2),
        port: None,
        listen_address: None,
    }
}
