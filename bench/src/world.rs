//! The Bitbucket side of the benchmark: the in-repo simulator with one workspace, one repository
//! and as many distinct repository access tokens as needed, with no rate limit in the way.

use bitbucket_simulator::{
    CloudFixture, CloudProject, CloudRepository, Fixture, SimTokenKind, Simulator, TokenFixture,
    Workspace,
};

use crate::{Result, error::BenchError};

/// The secret of distinct token `i`.
pub fn token_secret(i: usize) -> String {
    format!("ATCTT3xFfGN0bench-{i:06}+/=")
}

fn token_name(i: usize) -> String {
    format!("bench-{i:06}")
}

/// Starts the simulator knowing `distinct` tokens.
pub async fn start(distinct: usize) -> Result<Simulator> {
    let tokens = (0..distinct)
        .map(|i| TokenFixture {
            name: token_name(i),
            secret: token_secret(i),
            kind: SimTokenKind::RepositoryAccessToken,
            workspace: Some("acme".into()),
            repository: Some("payments".into()),
            scopes: vec!["repository".into()],
            rate_limit: Some(u32::MAX),
            ..TokenFixture::default()
        })
        .collect();
    let fixture = Fixture {
        cloud: CloudFixture {
            workspaces: vec![Workspace {
                slug: "acme".into(),
                name: "Acme".into(),
                projects: vec![CloudProject {
                    key: "PAY".into(),
                    name: "Payments".into(),
                }],
                repositories: vec![CloudRepository {
                    name: None,
                    slug: "payments".into(),
                    project: "PAY".into(),
                    private: true,
                }],
            }],
            users: Vec::new(),
        },
        tokens,
        ..Fixture::default()
    };
    Simulator::start(fixture)
        .await
        .map_err(|e| BenchError::Failed(format!("start the simulator: {e}")))
}
