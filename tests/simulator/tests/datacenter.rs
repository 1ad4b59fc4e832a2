//! Bitbucket Data Center behaviour: authentication rules, identity headers, 401 for
//! missing permission, effective permissions, pagination, token records, rate limit.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

fn auth_failed() -> serde_json::Value {
    json!({"errors": [{
        "context": null,
        "message": "Authentication failed. Please check your credentials and try again.",
        "exceptionName": "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"
    }]})
}

#[tokio::test]
async fn application_properties_are_anonymous() {
    let h = Harness::start().await;
    let response = h
        .anonymous(&h.dc("/api/latest/application-properties"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "x-ausername"), None);
    let body = json(response).await;
    assert_eq!(body["version"], "9.2.0");
    assert_eq!(body["displayName"], "Bitbucket");
    assert!(body.get("buildNumber").is_some());
    let who = h
        .bearer(&h.dc("/api/latest/application-properties"), &dc_personal())
        .await;
    assert_eq!(header(&who, "x-ausername"), Some("alice"));
    assert!(h.sim.dc_base_url().ends_with("/bitbucket"));
}

#[tokio::test]
async fn personal_token_reads_repository_by_bearer_or_basic() {
    let h = Harness::start().await;
    let url = h.dc("/api/latest/projects/OPS/repos/deploy");
    let response = h.bearer(&url, &dc_personal()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "x-ausername"), Some("alice"));
    assert!(header(&response, "x-auserid").is_some_and(|id| id.parse::<u64>().is_ok()));
    let body = json(response).await;
    assert_eq!(body["slug"], "deploy");
    assert_eq!(body["project"]["key"], "OPS");
    let clone = format!(
        "https://localhost:{}/bitbucket/scm/ops/deploy.git",
        h.sim.port()
    );
    assert!(
        body["links"]["clone"]
            .as_array()
            .expect("clone links")
            .iter()
            .any(|l| l["name"] == "http" && l["href"] == clone.as_str())
    );
    assert_eq!(
        h.basic(&url, "alice", &dc_personal()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        h.basic(&url, "bob", &dc_personal()).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn project_and_repository_tokens_are_bearer_only_bots() {
    let h = Harness::start().await;
    let url = h.dc("/api/latest/projects/OPS/repos/deploy");
    let project = h.bearer(&url, &dc_project()).await;
    assert_eq!(project.status(), StatusCode::OK);
    assert_eq!(header(&project, "x-ausername"), Some("project-ops-bot"));
    let repo = h.bearer(&url, &dc_repo()).await;
    assert_eq!(repo.status(), StatusCode::OK);
    assert_eq!(header(&repo, "x-ausername"), Some("repo-ops-deploy-bot"));
    for basic in [
        h.basic(&url, "project-ops-bot", &dc_project()).await,
        h.basic(&url, "alice", &dc_repo()).await,
    ] {
        assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(header(&basic, "x-ausername"), None);
    }
}

#[tokio::test]
async fn bad_revoked_or_expired_tokens_get_401_without_identity() {
    let h = Harness::start().await;
    let url = h.dc("/api/latest/projects/OPS/repos/deploy");
    for response in [
        h.bearer(&url, "definitely-wrong").await,
        h.bearer(&url, &dc_expired()).await,
        h.bearer(&url, RAT).await,
    ] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(header(&response, "x-ausername"), None);
        assert_eq!(json(response).await, auth_failed());
    }
}

#[tokio::test]
async fn missing_permission_is_401_with_identity_and_missing_repo_404_with_identity() {
    let h = Harness::start().await;
    let denied = h
        .bearer(&h.dc("/api/latest/projects/SEC/repos/vault"), &dc_project())
        .await;
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&denied, "x-ausername"), Some("project-ops-bot"));
    assert_eq!(
        json(denied).await["errors"][0]["message"],
        "You are not permitted to access this resource"
    );
    let other_repo = h
        .bearer(&h.dc("/api/latest/projects/OPS/repos/infra"), &dc_repo())
        .await;
    assert_eq!(other_repo.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&other_repo, "x-ausername"),
        Some("repo-ops-deploy-bot")
    );

    let missing = h
        .bearer(&h.dc("/api/latest/projects/OPS/repos/nope"), &dc_personal())
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&missing, "x-ausername"), Some("alice"));
    assert_eq!(
        json(missing).await["errors"][0]["message"],
        "Repository OPS/nope does not exist."
    );
    let no_project = h
        .bearer(&h.dc("/api/latest/projects/NOPE"), &dc_personal())
        .await;
    assert_eq!(no_project.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        json(no_project).await["errors"][0]["message"],
        "Project NOPE does not exist."
    );
}

#[tokio::test]
async fn projects_are_visible_through_project_or_repository_permissions() {
    let h = Harness::start().await;
    let ops = h.dc("/api/latest/projects/OPS");
    for secret in [dc_personal(), dc_project(), dc_repo()] {
        let response = h.bearer(&ops, &secret).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(json(response).await["key"], "OPS");
    }
    let sec = h
        .bearer(&h.dc("/api/latest/projects/SEC"), &dc_personal())
        .await;
    assert_eq!(sec.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.anonymous(&ops).await.status(), StatusCode::UNAUTHORIZED);
}

async fn repos_named(h: &Harness, secret: &str, query: &[(&str, &str)]) -> Vec<String> {
    let response = h
        .client
        .get(h.dc("/api/latest/repos"))
        .query(query)
        .query(&[("limit", "100")])
        .bearer_auth(secret)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v["slug"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn repos_listing_applies_the_effective_permission() {
    let h = Harness::start().await;
    let write = [
        ("projectkey", "OPS"),
        ("name", "deploy"),
        ("permission", "REPO_WRITE"),
    ];
    assert_eq!(repos_named(&h, &dc_personal(), &write).await, ["deploy"]);
    assert!(
        repos_named(&h, &dc_personal_read(), &write)
            .await
            .is_empty()
    );
    assert_eq!(repos_named(&h, &dc_repo(), &write).await, ["deploy"]);
    assert!(repos_named(&h, &dc_project(), &write).await.is_empty());
    let read = [("projectkey", "ops"), ("name", "DEPLOY")];
    assert_eq!(repos_named(&h, &dc_project(), &read).await, ["deploy"]);
    // The owner is admin on runbooks but the token is capped at REPO_WRITE.
    let admin = [("name", "runbooks"), ("permission", "REPO_ADMIN")];
    assert!(repos_named(&h, &dc_personal(), &admin).await.is_empty());
    // Bob's token never sees OPS.
    assert!(
        repos_named(&h, DC_PLAIN, &[("projectkey", "OPS")])
            .await
            .is_empty()
    );
    assert_eq!(repos_named(&h, DC_PLAIN, &[]).await, ["vault"]);
}

#[tokio::test]
async fn repos_listing_paginates_with_start_and_limit() {
    let h = Harness::start().await;
    let mut start = 0u64;
    let mut slugs = Vec::new();
    let mut pages = 0;
    loop {
        let response = h
            .client
            .get(h.dc("/api/latest/repos"))
            .query(&[("projectkey", "OPS"), ("start", &start.to_string())])
            .bearer_auth(dc_personal())
            .send()
            .await
            .expect("request");
        let page = json(response).await;
        pages += 1;
        assert_eq!(page["limit"], 2);
        assert_eq!(page["start"], start);
        for v in page["values"].as_array().expect("values") {
            slugs.push(v["slug"].as_str().unwrap_or_default().to_owned());
        }
        if page["isLastPage"] == true {
            assert!(page.get("nextPageStart").is_none());
            break;
        }
        start = page["nextPageStart"].as_u64().expect("nextPageStart");
    }
    assert_eq!(pages, 3);
    assert_eq!(slugs, ["deploy", "infra", "runbooks", "tools", "web"]);
}

#[tokio::test]
async fn tokens_read_their_own_records_only() {
    let h = Harness::start().await;
    let own = h
        .bearer(
            &h.dc(&format!(
                "/access-tokens/latest/users/alice/{DC_PERSONAL_ID}"
            )),
            &dc_personal(),
        )
        .await;
    assert_eq!(own.status(), StatusCode::OK);
    let record = json(own).await;
    assert_eq!(record["id"], DC_PERSONAL_ID.to_string());
    assert_eq!(record["name"], "dc-personal");
    assert_eq!(record["permissions"], json!(["PROJECT_READ", "REPO_WRITE"]));
    assert_eq!(record["user"]["name"], "alice");
    assert!(record["createdDate"].is_i64());
    assert!(record["lastAuthenticated"].is_i64());
    assert!(record["expiryDate"].is_i64());
    assert_eq!(record["expiryDays"], 30);

    let repo = h
        .bearer(
            &h.dc(&format!(
                "/access-tokens/latest/projects/OPS/repos/deploy/{DC_REPO_ID}"
            )),
            &dc_repo(),
        )
        .await;
    assert_eq!(repo.status(), StatusCode::OK);
    let repo = json(repo).await;
    assert_eq!(repo["user"]["name"], "repo-ops-deploy-bot");
    assert!(repo.get("expiryDate").is_none());
    let project = h
        .bearer(
            &h.dc(&format!(
                "/access-tokens/latest/projects/OPS/{DC_PROJECT_ID}"
            )),
            &dc_project(),
        )
        .await;
    assert_eq!(project.status(), StatusCode::OK);

    let someone_elses = h
        .bearer(
            &h.dc(&format!(
                "/access-tokens/latest/users/alice/{DC_PERSONAL_READ_ID}"
            )),
            &dc_personal(),
        )
        .await;
    assert_eq!(someone_elses.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&someone_elses, "x-ausername"), Some("alice"));
    let hidden = h
        .bearer(
            &h.dc(&format!("/access-tokens/latest/users/alice/{DC_HIDDEN_ID}")),
            &dc_hidden(),
        )
        .await;
    assert_eq!(hidden.status(), StatusCode::UNAUTHORIZED);
    let missing = h
        .bearer(
            &h.dc("/access-tokens/latest/users/alice/999999999999"),
            &dc_personal(),
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&missing, "x-ausername"), Some("alice"));
    // A secret without the id shape authenticates but has no readable record.
    let plain = h
        .bearer(&h.dc("/api/latest/projects/SEC/repos/vault"), DC_PLAIN)
        .await;
    assert_eq!(plain.status(), StatusCode::OK);
    let plain_record = h
        .bearer(&h.dc("/access-tokens/latest/users/bob/0"), DC_PLAIN)
        .await;
    assert_eq!(plain_record.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bucket_exhaustion_gives_429_with_retry_after() {
    let h = Harness::start().await;
    let url = h.dc("/api/latest/projects/OPS/repos/deploy");
    for _ in 0..3 {
        assert_eq!(h.bearer(&url, &dc_limited()).await.status(), StatusCode::OK);
    }
    let limited = h.bearer(&url, &dc_limited()).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&limited, "retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=3600).contains(&retry));
    assert_eq!(header(&limited, "x-ausername"), Some("project-ops-bot"));
    let body = json(limited).await;
    assert!(body["errors"][0]["message"].is_string());
    assert_eq!(h.bearer(&url, &dc_project()).await.status(), StatusCode::OK);
}
