//! The Bitbucket client against the in-repo simulator: every token kind × valid, revoked, missing
//! scope, missing target, expired, and the transient failures (5xx, timeout, 429, bad TLS,
//! garbage body, connection refused).

use std::time::Duration;

use bitbucket_simulator::{Fault, Simulator};
use bitbucket_token_operator::{
    api::{AccessSpec, ExpirySource, Permission, TokenKind},
    bitbucket::{
        Backoff, ClientConfig, Invalid, Outcome, Server, Transient, ValidationRequest, Validator,
    },
    token::SecretToken,
};
use chrono::Utc;
use url::Url;

use crate::contract;
use crate::world;
use world::{DC_EXPIRY, World};

struct Case<'a> {
    token: &'a str,
    kind: TokenKind,
    access: AccessSpec,
    email: Option<&'a str>,
    username: Option<&'a str>,
    declared: Option<chrono::DateTime<Utc>>,
    accepted_before: bool,
    basic_user: Option<&'a str>,
}

fn cloud(
    workspace: &str,
    project: Option<&str>,
    repos: &[&str],
    permission: Permission,
) -> AccessSpec {
    AccessSpec {
        workspace: Some(workspace.into()),
        project: project.map(String::from),
        repositories: repos.iter().map(|r| r.to_string()).collect(),
        permission,
    }
}

fn dc(project: &str, repos: &[&str], permission: Permission) -> AccessSpec {
    AccessSpec {
        workspace: None,
        project: Some(project.into()),
        repositories: repos.iter().map(|r| r.to_string()).collect(),
        permission,
    }
}

fn case(token: &str, kind: TokenKind, access: AccessSpec) -> Case<'_> {
    Case {
        token,
        kind,
        access,
        email: None,
        username: None,
        declared: None,
        accepted_before: false,
        basic_user: None,
    }
}

fn config(sim: &Simulator) -> ClientConfig {
    ClientConfig {
        cloud_api_url: sim.cloud_api_url(),
        extra_ca_pem: Some(sim.ca_pem().into_bytes()),
        request_timeout: Duration::from_millis(800),
        connect_timeout: Duration::from_millis(800),
        requests_per_second: 1000.0,
        max_attempts: 2,
        backoff: Backoff {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(50),
        },
        max_inline_retry_after: Duration::from_secs(1),
        ..ClientConfig::default()
    }
}

async fn validate(world: &World, validator: &Validator, case: &Case<'_>) -> Outcome {
    let secret = world.secret(case.token);
    let token = SecretToken::parse(&secret).unwrap();
    let dc_url = Url::parse(&world.sim.dc_base_url()).unwrap();
    let ca = world.sim.ca_pem();
    let server = if case.kind == TokenKind::HttpAccessToken {
        Server::DataCenter {
            url: &dc_url,
            ca_pem: Some(ca.as_bytes()),
        }
    } else {
        Server::Cloud
    };
    let request = ValidationRequest {
        kind: case.kind,
        server,
        token: &token,
        email: case.email,
        username: case.username,
        access: &case.access,
        declared_expiry: case.declared,
        accepted_before: case.accepted_before,
        basic_user: case.basic_user,
    };
    validator.validate(&request).await
}

fn reason(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Valid(_) => "Valid".into(),
        Outcome::Invalid(invalid) => invalid.reason().to_string(),
        Outcome::Transient(transient) => format!("Transient:{}", transient.reason()),
    }
}

#[tokio::test]
async fn every_token_kind_against_its_verdicts() {
    let world = World::start().await;
    let validator = Validator::new(config(&world.sim)).unwrap();
    let alice = Some("alice@example.com");
    let past = Some(Utc::now() - chrono::TimeDelta::days(1));
    use Permission::{Read, Write};
    use TokenKind::*;
    let table: Vec<(Case, &str)> = vec![
        // Cloud repository access tokens
        (
            case(
                "rat-rw",
                RepositoryAccessToken,
                cloud("acme", None, &["payments"], Write),
            ),
            "Valid",
        ),
        (
            case(
                "rat-ro",
                RepositoryAccessToken,
                cloud("acme", None, &["payments"], Read),
            ),
            "Valid",
        ),
        (
            case(
                "rat-ro",
                RepositoryAccessToken,
                cloud("acme", None, &["payments"], Write),
            ),
            "InsufficientScope",
        ),
        (
            case(
                "rat-noscope",
                RepositoryAccessToken,
                cloud("acme", None, &["payments"], Read),
            ),
            "InsufficientScope",
        ),
        (
            case(
                "rat-rw",
                RepositoryAccessToken,
                cloud("acme", None, &["no-such-repo"], Read),
            ),
            "TargetNotFound",
        ),
        (
            case(
                "rat-rw",
                RepositoryAccessToken,
                cloud("acme", None, &["ledger"], Read),
            ),
            "TargetNotFound",
        ),
        (
            case(
                "rat-revoked",
                RepositoryAccessToken,
                cloud("acme", None, &["payments"], Read),
            ),
            "Unauthorized",
        ),
        (
            Case {
                accepted_before: true,
                ..case(
                    "rat-revoked",
                    RepositoryAccessToken,
                    cloud("acme", None, &["payments"], Read),
                )
            },
            "Revoked",
        ),
        (
            Case {
                declared: past,
                ..case(
                    "rat-expired",
                    RepositoryAccessToken,
                    cloud("acme", None, &["payments"], Read),
                )
            },
            "Expired",
        ),
        (
            case(
                "unknown-token",
                RepositoryAccessToken,
                cloud("acme", None, &["payments"], Read),
            ),
            "Unauthorized",
        ),
        // Cloud project and workspace access tokens
        (
            case(
                "pat",
                ProjectAccessToken,
                cloud("acme", Some("PAY"), &[], Write),
            ),
            "Valid",
        ),
        (
            case(
                "pat",
                ProjectAccessToken,
                cloud("acme", Some("PAY"), &["payments", "ledger"], Write),
            ),
            "Valid",
        ),
        (
            case(
                "pat",
                ProjectAccessToken,
                cloud("acme", Some("NOPE"), &[], Read),
            ),
            "TargetNotFound",
        ),
        (
            case("wat", WorkspaceAccessToken, cloud("acme", None, &[], Read)),
            "Valid",
        ),
        (
            case("wat", WorkspaceAccessToken, cloud("acme", None, &[], Write)),
            "InsufficientScope",
        ),
        (
            case(
                "wat",
                WorkspaceAccessToken,
                cloud("nowhere", None, &[], Read),
            ),
            "TargetNotFound",
        ),
        // Cloud API tokens (Basic with the email)
        (
            Case {
                email: alice,
                ..case(
                    "api-rw",
                    ApiToken,
                    cloud("acme", None, &["payments"], Write),
                )
            },
            "Valid",
        ),
        (
            Case {
                email: alice,
                ..case("api-rw", ApiToken, cloud("acme", None, &["ledger"], Write))
            },
            "InsufficientScope",
        ),
        (
            Case {
                email: alice,
                ..case(
                    "api-write-only",
                    ApiToken,
                    cloud("acme", None, &["payments"], Write),
                )
            },
            "InsufficientScope",
        ),
        (
            Case {
                email: Some("alice"),
                ..case("api-rw", ApiToken, cloud("acme", None, &["payments"], Read))
            },
            "Unauthorized",
        ),
        (
            Case {
                email: alice,
                ..case("api-rw", ApiToken, cloud("acme", None, &["missing"], Read))
            },
            "TargetNotFound",
        ),
        // Cloud app passwords (Basic with the username)
        (
            Case {
                username: Some("alice"),
                ..case(
                    "app",
                    AppPassword,
                    cloud("acme", None, &["payments"], Write),
                )
            },
            "Valid",
        ),
        // A 401 for an app password: Atlassian removed the kind (issue 14, fault 7).
        (
            Case {
                username: Some("alice@example.com"),
                ..case("app", AppPassword, cloud("acme", None, &["payments"], Read))
            },
            "AppPasswordRemoved",
        ),
        // Judged only on what git needs (issue 14, fault 2): a project token with only
        // `repository`, an API token with only read:repository:bitbucket.
        (
            case(
                "pat-repo-only",
                ProjectAccessToken,
                cloud("acme", Some("PAY"), &[], Read),
            ),
            "Valid",
        ),
        (
            case(
                "pat-repo-only",
                ProjectAccessToken,
                cloud("acme", Some("NOPE"), &[], Read),
            ),
            "Valid",
        ),
        // A public repository proves nothing: a project token bound to PAY that may read
        // projects is told that project PUB is not its own.
        (
            case(
                "pat",
                ProjectAccessToken,
                cloud("acme", Some("PUB"), &[], Read),
            ),
            "TargetNotFound",
        ),
        (
            Case {
                email: alice,
                ..case("api-read-only", ApiToken, cloud("acme", None, &[], Read))
            },
            "Valid",
        ),
        (
            Case {
                email: alice,
                ..case(
                    "api-read-only",
                    ApiToken,
                    cloud("acme", Some("PAY"), &[], Read),
                )
            },
            "Valid",
        ),
        (
            Case {
                email: alice,
                ..case(
                    "api-read-only",
                    ApiToken,
                    cloud("acme", None, &["payments"], Read),
                )
            },
            "Valid",
        ),
        // Data Center HTTP access tokens
        (
            case(
                "dc-repo-rw",
                HttpAccessToken,
                dc("PAY", &["payments"], Write),
            ),
            "Valid",
        ),
        (
            case("dc-repo-rw", HttpAccessToken, dc("PAY", &["ledger"], Read)),
            "InsufficientScope",
        ),
        (
            case("dc-repo-rw", HttpAccessToken, dc("PAY", &["ghost"], Read)),
            "TargetNotFound",
        ),
        (
            case("dc-project-r", HttpAccessToken, dc("PAY", &[], Read)),
            "Valid",
        ),
        (
            case(
                "dc-project-r",
                HttpAccessToken,
                dc("PAY", &["ledger"], Write),
            ),
            "InsufficientScope",
        ),
        (
            case(
                "dc-personal",
                HttpAccessToken,
                dc("PAY", &["payments", "ledger"], Write),
            ),
            "Valid",
        ),
        (
            case(
                "dc-no-record",
                HttpAccessToken,
                dc("PAY", &["payments"], Read),
            ),
            "Valid",
        ),
        // Tokens in the older form without the `BBDC-` prefix (issue 14, fault 1).
        (
            case(
                "dc-repo-legacy",
                HttpAccessToken,
                dc("PAY", &["payments"], Write),
            ),
            "Valid",
        ),
        // The Basic form a Secret would carry is checked too (issue 14, fault 3): project and
        // repository tokens are Bearer only; a personal token needs its owner's name.
        (
            Case {
                username: Some("svc-ci"),
                basic_user: Some("svc-ci"),
                ..case(
                    "dc-repo-rw",
                    HttpAccessToken,
                    dc("PAY", &["payments"], Read),
                )
            },
            "BasicAuthRefused",
        ),
        (
            Case {
                username: Some("bob"),
                basic_user: Some("bob"),
                ..case(
                    "dc-personal",
                    HttpAccessToken,
                    dc("PAY", &["payments"], Write),
                )
            },
            "Valid",
        ),
        (
            Case {
                username: Some("robert"),
                basic_user: Some("robert"),
                ..case(
                    "dc-personal",
                    HttpAccessToken,
                    dc("PAY", &["payments"], Read),
                )
            },
            "BasicAuthRefused",
        ),
        (
            case(
                "dc-no-record",
                HttpAccessToken,
                dc("PAY", &["payments"], Write),
            ),
            "InsufficientScope",
        ),
        (
            case("dc-no-record", HttpAccessToken, dc("PAY", &[], Write)),
            "InsufficientScope",
        ),
        (
            case(
                "dc-revoked",
                HttpAccessToken,
                dc("PAY", &["payments"], Read),
            ),
            "Unauthorized",
        ),
        (
            Case {
                declared: past,
                ..case(
                    "dc-revoked",
                    HttpAccessToken,
                    dc("PAY", &["payments"], Read),
                )
            },
            "Expired",
        ),
    ];
    let mut failures = Vec::new();
    for (case, expected) in &table {
        let outcome = validate(&world, &validator, case).await;
        if reason(&outcome) != *expected {
            failures.push(format!(
                "{} {:?} {:?}: expected {expected}, got {}: {}",
                case.token,
                case.kind,
                case.access,
                reason(&outcome),
                outcome.message()
            ));
        }
        let message = outcome.message();
        assert!(
            !message.contains(&world.secret(case.token)),
            "the token leaked into: {message}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
    // Every request those checks sent is an operation of Atlassian's documents, with documented
    // query parameters only.
    let contract = contract::contract();
    let context_path = &world.fixture.data_center.context_path;
    let mut used = std::collections::BTreeSet::new();
    for request in world.sim.requests() {
        match contract::check_request(&contract, &request, context_path) {
            Ok(operation) => {
                used.insert(operation.name.clone());
            }
            Err(problem) => panic!("{problem}"),
        }
    }
    // The verdict table reaches every operation the simulator serves, but two the validator has no
    // use for (the simulator keeps them for its own tests).
    let unused: Vec<String> = contract
        .iter()
        .map(|d| d.name.clone())
        .filter(|id| !used.contains(id))
        .collect();
    assert_eq!(
        unused,
        ["Get a workspace", "getApplicationProperties"],
        "operations the client never called"
    );
}

/// For every operation it serves, the simulator demands exactly the scopes (Cloud) or the
/// permission (Data Center) Atlassian's document gives, and knows the documented parameters.
#[test]
fn the_simulator_demands_what_the_documents_say() {
    contract::assert_simulator_follows(&contract::contract());
}

#[tokio::test]
async fn verdicts_carry_identity_scopes_expiry_and_fixes() {
    let world = World::start().await;
    let validator = Validator::new(config(&world.sim)).unwrap();
    let declared = Utc::now() + chrono::TimeDelta::days(30);
    let rat = validate(
        &world,
        &validator,
        &Case {
            declared: Some(declared),
            ..case(
                "rat-rw",
                TokenKind::RepositoryAccessToken,
                cloud("acme", None, &["payments"], Permission::Write),
            )
        },
    )
    .await;
    let Outcome::Valid(valid) = rat else {
        panic!("{rat:?}")
    };
    assert!(
        valid.granted.contains(&"repository:write".to_string()),
        "{:?}",
        valid.granted
    );
    assert_eq!(valid.credential_type.as_deref(), Some("repo_access_token"));
    assert_eq!(valid.expires_at, Some(declared));
    assert_eq!(valid.expiry_source, Some(ExpirySource::Declared));

    let api = validate(
        &world,
        &validator,
        &Case {
            email: Some("alice@example.com"),
            ..case(
                "api-rw",
                TokenKind::ApiToken,
                cloud("acme", None, &["payments"], Permission::Write),
            )
        },
    )
    .await;
    let Outcome::Valid(valid) = api else {
        panic!("{api:?}")
    };
    assert!(valid.identity.contains("alice"), "{}", valid.identity);

    // A public repository answers anyone: valid, but the warning says the token's own access
    // is not proven.
    let public = validate(
        &world,
        &validator,
        &case(
            "rat-rw",
            TokenKind::RepositoryAccessToken,
            cloud("acme", None, &["handbook"], Permission::Read),
        ),
    )
    .await;
    let Outcome::Valid(valid) = public else {
        panic!("{public:?}")
    };
    assert!(
        valid
            .warnings
            .iter()
            .any(|w| w.contains("acme/handbook is public")),
        "{:?}",
        valid.warnings
    );

    let app = validate(
        &world,
        &validator,
        &Case {
            username: Some("alice"),
            ..case(
                "app",
                TokenKind::AppPassword,
                cloud("acme", None, &["payments"], Permission::Read),
            )
        },
    )
    .await;
    let Outcome::Valid(valid) = app else {
        panic!("{app:?}")
    };
    assert!(
        valid
            .warnings
            .iter()
            .any(|w| w.contains("removed") && w.contains("28 July 2026")),
        "{:?}",
        valid.warnings
    );
    let removed = validate(
        &world,
        &validator,
        &Case {
            username: Some("alice"),
            ..case(
                "app-unknown",
                TokenKind::AppPassword,
                cloud("acme", None, &["payments"], Permission::Read),
            )
        },
    )
    .await;
    let message = removed.message();
    assert!(
        matches!(
            removed,
            Outcome::Invalid(Invalid::AppPasswordRemoved { .. })
        ) && message.contains("removed app passwords on 28 July 2026")
            && message.contains("API token with scopes")
            && message.contains("read:repository:bitbucket"),
        "{message}"
    );
    let basic = validate(
        &world,
        &validator,
        &Case {
            username: Some("svc-ci"),
            basic_user: Some("svc-ci"),
            ..case(
                "dc-repo-rw",
                TokenKind::HttpAccessToken,
                dc("PAY", &["payments"], Permission::Read),
            )
        },
    )
    .await;
    let message = basic.message();
    assert!(
        message.contains("svc-ci") && message.contains("only as Bearer"),
        "{message}"
    );

    let dc = validate(
        &world,
        &validator,
        &case(
            "dc-repo-rw",
            TokenKind::HttpAccessToken,
            dc("PAY", &["payments"], Permission::Write),
        ),
    )
    .await;
    let Outcome::Valid(valid) = dc else {
        panic!("{dc:?}")
    };
    assert_eq!(valid.expiry_source, Some(ExpirySource::Bitbucket));
    assert_eq!(
        valid.expires_at.map(|t| t.timestamp()),
        Some(DC_EXPIRY.timestamp())
    );
    assert!(valid.granted.contains(&"REPO_WRITE".to_string()));
    assert!(!valid.identity.is_empty());

    let scope = validate(
        &world,
        &validator,
        &Case {
            email: Some("alice@example.com"),
            ..case(
                "api-write-only",
                TokenKind::ApiToken,
                cloud("acme", None, &["payments"], Permission::Write),
            )
        },
    )
    .await;
    let Outcome::Invalid(Invalid::InsufficientScope { missing, fix, .. }) = &scope else {
        panic!("{scope:?}")
    };
    assert!(
        missing.contains(&"read:repository:bitbucket".to_string()),
        "{missing:?}"
    );
    assert!(fix.contains("push will fail"), "{fix}");
    assert!(scope.message().contains("read:repository:bitbucket"));
}

#[tokio::test]
async fn server_errors_timeouts_and_garbage_are_transient_and_retried() {
    let world = World::start().await;
    let validator = Validator::new(config(&world.sim)).unwrap();
    let rat = case(
        "rat-rw",
        TokenKind::RepositoryAccessToken,
        cloud("acme", None, &["payments"], Permission::Read),
    );
    let dc_case = case(
        "dc-repo-rw",
        TokenKind::HttpAccessToken,
        dc("PAY", &["payments"], Permission::Read),
    );
    for (fault, expected) in [
        (
            Fault::ServiceUnavailable,
            Transient::ServerError { status: 503 },
        ),
        (Fault::InternalError, Transient::ServerError { status: 500 }),
        (Fault::Slow(Duration::from_secs(3)), Transient::Timeout),
    ] {
        for case in [&rat, &dc_case] {
            world.sim.set_fault(fault);
            world.sim.reset_requests();
            let outcome = validate(&world, &validator, case).await;
            assert_eq!(
                outcome,
                Outcome::Transient(expected.clone()),
                "{fault:?} {}",
                case.token
            );
            assert_eq!(
                world.sim.request_count(),
                2,
                "{fault:?}: one retry, then give up"
            );
        }
    }
    world.sim.set_fault(Fault::GarbageBody);
    for case in [&rat, &dc_case] {
        let garbage = validate(&world, &validator, case).await;
        assert!(
            matches!(
                garbage,
                Outcome::Transient(Transient::MalformedResponse { .. })
            ),
            "{}: {garbage:?}",
            case.token
        );
    }
    world.sim.set_fault(Fault::None);
    assert_eq!(
        reason(&validate(&world, &validator, &rat).await),
        "Valid",
        "recovers once Bitbucket does"
    );
}

#[tokio::test]
async fn rate_limits_are_reported_with_when_to_retry() {
    let world = World::start().await;
    let validator = Validator::new(config(&world.sim)).unwrap();
    let rat = case(
        "rat-rw",
        TokenKind::RepositoryAccessToken,
        cloud("acme", None, &["payments"], Permission::Read),
    );
    let dc_case = case(
        "dc-repo-rw",
        TokenKind::HttpAccessToken,
        dc("PAY", &["payments"], Permission::Read),
    );
    // Cloud's 429 carries no Retry-After: reported at once, not hammered.
    world
        .sim
        .set_fault(Fault::RateLimited { retry_after: None });
    world.sim.reset_requests();
    assert_eq!(
        validate(&world, &validator, &rat).await,
        Outcome::Transient(Transient::RateLimited { retry_after: None })
    );
    assert_eq!(world.sim.request_count(), 1);
    assert!(
        validator
            .limiter()
            .is_slowed(&format!("localhost:{}", world.sim.port()))
    );
    // A long Retry-After is handed to the caller to schedule.
    world.sim.set_fault(Fault::RateLimited {
        retry_after: Some(120),
    });
    assert_eq!(
        validate(&world, &validator, &dc_case).await,
        Outcome::Transient(Transient::RateLimited {
            retry_after: Some(Duration::from_secs(120))
        })
    );
    world.sim.set_fault(Fault::None);
}

#[tokio::test]
async fn the_per_token_rate_budget_of_the_simulator_ends_in_rate_limited() {
    let world = World::start().await;
    let validator = Validator::new(config(&world.sim)).unwrap();
    let limited = case(
        "rat-limited",
        TokenKind::RepositoryAccessToken,
        cloud("acme", None, &["payments"], Permission::Read),
    );
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        outcomes.push(reason(&validate(&world, &validator, &limited).await));
    }
    assert_eq!(outcomes[0], "Valid");
    assert_eq!(
        outcomes.last().map(String::as_str),
        Some("Transient:RateLimited"),
        "{outcomes:?}"
    );
    assert!(
        validator
            .limiter()
            .is_slowed(&format!("localhost:{}", world.sim.port())),
        "NearLimit or 429 slows the host down"
    );
}

#[tokio::test]
async fn unknown_ca_and_refused_connections_are_transient() {
    let world = World::start().await;
    let untrusting = Validator::new(ClientConfig {
        extra_ca_pem: None,
        ..config(&world.sim)
    })
    .unwrap();
    let rat = case(
        "rat-rw",
        TokenKind::RepositoryAccessToken,
        cloud("acme", None, &["payments"], Permission::Read),
    );
    let outcome = validate(&world, &untrusting, &rat).await;
    assert!(
        matches!(outcome, Outcome::Transient(Transient::TlsFailure { .. })),
        "{outcome:?}"
    );
    assert!(outcome.message().contains("validity is unknown"));

    let validator = Validator::new(config(&world.sim)).unwrap();
    world.sim.stop_listening().await;
    let outcome = validate(&world, &validator, &rat).await;
    assert!(
        matches!(outcome, Outcome::Transient(Transient::Unreachable { .. })),
        "{outcome:?}"
    );
    world.sim.resume_listening().await.unwrap();
    assert_eq!(reason(&validate(&world, &validator, &rat).await), "Valid");
}

#[tokio::test]
async fn data_center_hosts_off_the_allowlist_are_never_contacted() {
    let world = World::start().await;
    let validator = Validator::new(ClientConfig {
        allowed_dc_hosts: Some(vec!["git.example.com".into()]),
        ..config(&world.sim)
    })
    .unwrap();
    world.sim.reset_requests();
    let outcome = validate(
        &world,
        &validator,
        &case(
            "dc-repo-rw",
            TokenKind::HttpAccessToken,
            dc("PAY", &["payments"], Permission::Read),
        ),
    )
    .await;
    assert!(
        matches!(outcome, Outcome::Invalid(Invalid::HostNotAllowed { .. })),
        "{outcome:?}"
    );
    assert_eq!(world.sim.request_count(), 0);
    let allowed = Validator::new(ClientConfig {
        allowed_dc_hosts: Some(vec!["localhost".into()]),
        ..config(&world.sim)
    })
    .unwrap();
    assert_eq!(
        reason(
            &validate(
                &world,
                &allowed,
                &case(
                    "dc-repo-rw",
                    TokenKind::HttpAccessToken,
                    dc("PAY", &["payments"], Permission::Read)
                )
            )
            .await
        ),
        "Valid"
    );
}

#[tokio::test]
async fn concurrent_checks_of_one_token_never_overlap() {
    let world = World::start().await;
    let validator = Validator::new(config(&world.sim)).unwrap();
    world.sim.set_fault(Fault::Slow(Duration::from_millis(100)));
    world.sim.reset_requests();
    let started = std::time::Instant::now();
    let checks = (0..4).map(|_| {
        let (validator, world) = (validator.clone(), &world);
        async move {
            validate(
                world,
                &validator,
                &case(
                    "rat-rw",
                    TokenKind::RepositoryAccessToken,
                    cloud("acme", None, &["payments"], Permission::Read),
                ),
            )
            .await
        }
    });
    let outcomes = futures::future::join_all(checks).await;
    assert!(outcomes.iter().all(|o| reason(o) == "Valid"));
    // Each check is one request of >=100 ms; serialized per (host, token) they take >= 400 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(world.sim.request_count(), 4);
    world.sim.set_fault(Fault::None);
}
