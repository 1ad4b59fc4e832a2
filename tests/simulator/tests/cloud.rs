//! Bitbucket Cloud behaviour: authentication rules, error bodies, headers, scopes,
//! pagination and rate limiting.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

const INVALID: &str = "Token is invalid, expired, or not supported for this endpoint.";

fn invalid_body() -> serde_json::Value {
    json!({"type": "error", "error": {"message": INVALID}})
}

#[tokio::test]
async fn repository_access_token_reads_its_repository_with_credential_headers() {
    let h = Harness::start().await;
    let response = h.bearer(&h.cloud("/repositories/acme/api"), RAT).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "x-oauth-scopes"),
        Some("repository, repository:write")
    );
    assert_eq!(
        header(&response, "x-credential-type"),
        Some("repo_access_token")
    );
    assert_eq!(header(&response, "x-ratelimit-limit"), Some("5"));
    assert_eq!(
        header(&response, "x-ratelimit-resource"),
        Some("api/repositories")
    );
    assert_eq!(header(&response, "x-ratelimit-nearlimit"), None);
    let body = json(response).await;
    assert_eq!(body["type"], "repository");
    assert_eq!(body["slug"], "api");
    assert_eq!(body["full_name"], "acme/api");
    assert_eq!(body["is_private"], true);
    assert_eq!(body["project"]["key"], "PLAT");
    let clone = body["links"]["clone"].as_array().expect("clone links");
    assert!(
        clone
            .iter()
            .any(|l| l["name"] == "https" && l["href"] == "https://bitbucket.org/acme/api.git")
    );
}

#[tokio::test]
async fn access_tokens_also_work_as_x_token_auth_basic_only() {
    let h = Harness::start().await;
    let url = h.cloud("/repositories/acme/api");
    assert_eq!(
        h.basic(&url, "x-token-auth", RAT).await.status(),
        StatusCode::OK
    );
    let wrong_user = h.basic(&url, USERNAME, RAT).await;
    assert_eq!(wrong_user.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(wrong_user).await, invalid_body());
}

#[tokio::test]
async fn project_and_workspace_tokens_see_their_scope_only() {
    let h = Harness::start().await;
    let pat_ok = h.bearer(&h.cloud("/repositories/acme/worker"), PAT).await;
    assert_eq!(pat_ok.status(), StatusCode::OK);
    assert_eq!(
        header(&pat_ok, "x-credential-type"),
        Some("project_access_token")
    );
    assert_eq!(header(&pat_ok, "x-ratelimit-limit"), Some("1000"));
    let pat_other = h.bearer(&h.cloud("/repositories/acme/frontend"), PAT).await;
    assert_eq!(pat_other.status(), StatusCode::FORBIDDEN);
    let wat = h.bearer(&h.cloud("/repositories/acme/frontend"), WAT).await;
    assert_eq!(wat.status(), StatusCode::OK);
    assert_eq!(
        header(&wat, "x-credential-type"),
        Some("workspace_access_token")
    );
    let wat_other = h.bearer(&h.cloud("/repositories/globex/secret"), WAT).await;
    assert_eq!(wat_other.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn api_tokens_need_basic_with_the_email() {
    let h = Harness::start().await;
    let url = h.cloud("/repositories/acme/api");
    let ok = h.basic(&url, EMAIL, API_TOKEN).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(header(&ok, "x-credential-type"), Some("apikey"));
    assert_eq!(
        header(&ok, "x-oauth-scopes"),
        Some(
            "read:repository:bitbucket, read:user:bitbucket, read:workspace:bitbucket, read:project:bitbucket"
        )
    );
    assert_eq!(
        header(&ok, "x-ratelimit-limit"),
        None,
        "only access tokens get rate headers"
    );
    for response in [
        h.bearer(&url, API_TOKEN).await,
        h.basic(&url, USERNAME, API_TOKEN).await,
    ] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(header(&response, "x-credential-type"), None);
        assert_eq!(json(response).await, invalid_body());
    }
}

#[tokio::test]
async fn app_passwords_need_basic_with_the_username() {
    let h = Harness::start().await;
    let url = h.cloud("/repositories/acme/api");
    let ok = h.basic(&url, USERNAME, APP_PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(header(&ok, "x-credential-type"), Some("app_password"));
    assert_eq!(header(&ok, "x-oauth-scopes"), Some("account, repository"));
    assert_eq!(
        h.basic(&url, EMAIL, APP_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.bearer(&url, APP_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn unknown_expired_and_missing_credentials_get_401() {
    let h = Harness::start().await;
    let url = h.cloud("/repositories/acme/api");
    for response in [
        h.bearer(&url, "nope").await,
        h.bearer(&url, EXPIRED).await,
        h.bearer(&url, &dc_personal()).await,
        h.anonymous(&url).await,
    ] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            header(&response, "content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(json(response).await, invalid_body());
    }
    let public = h.anonymous(&h.cloud("/repositories/acme/docs")).await;
    assert_eq!(public.status(), StatusCode::OK);
}

#[tokio::test]
async fn missing_repository_is_404_and_foreign_one_is_403_without_detail() {
    let h = Harness::start().await;
    let missing = h.bearer(&h.cloud("/repositories/acme/nope"), WAT).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        json(missing).await,
        json!({"type": "error", "error": {"message": "Repository acme/nope not found"}})
    );
    let foreign = h.bearer(&h.cloud("/repositories/acme/worker"), RAT).await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header(&foreign, "x-credential-type"),
        Some("repo_access_token")
    );
    assert_eq!(
        json(foreign).await,
        json!({"type": "error", "error": {"message": "Access denied. You must have read access to this repository."}})
    );
    let no_permission = h
        .basic(&h.cloud("/repositories/globex/secret"), EMAIL, API_TOKEN)
        .await;
    assert_eq!(no_permission.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn missing_scope_is_403_with_required_and_granted() {
    let h = Harness::start().await;
    let response = h
        .bearer(&h.cloud("/repositories/acme/api"), RAT_NO_SCOPE)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header(&response, "x-accepted-oauth-scopes"),
        Some("repository")
    );
    assert_eq!(header(&response, "x-oauth-scopes"), Some("webhook"));
    assert_eq!(
        json(response).await,
        json!({"type": "error", "error": {
            "message": "Your credentials lack one or more required privilege scopes.",
            "detail": {"required": ["repository"], "granted": ["webhook"]}
        }})
    );
    // write:repository:bitbucket does not imply read:repository:bitbucket.
    let write_only = h
        .basic(&h.cloud("/repositories/acme/api"), EMAIL, API_WRITE_ONLY)
        .await;
    assert_eq!(write_only.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header(&write_only, "x-accepted-oauth-scopes"),
        Some("read:repository:bitbucket")
    );
    let body = json(write_only).await;
    assert_eq!(
        body["error"]["detail"]["required"],
        json!(["read:repository:bitbucket"])
    );
    assert_eq!(
        body["error"]["detail"]["granted"],
        json!(["write:repository:bitbucket"])
    );
}

#[tokio::test]
async fn user_endpoint_depends_on_the_credential_kind() {
    let h = Harness::start().await;
    let url = h.cloud("/user");
    let user = json(h.basic(&url, EMAIL, API_TOKEN).await).await;
    assert_eq!(user["type"], "user");
    assert_eq!(user["username"], USERNAME);
    assert_eq!(user["display_name"], "Jane Doe");
    assert_eq!(user["account_id"], "712020:jane");
    assert!(user["uuid"].as_str().is_some_and(|u| u.starts_with('{')));
    let app = h.basic(&url, USERNAME, APP_PASSWORD).await;
    assert_eq!(app.status(), StatusCode::OK);
    // `/user` needs the `account` scope (the OpenAPI document's `security`): without it, 403.
    let mut fixture = fixture();
    for token in &mut fixture.tokens {
        if token.name == "app-password" {
            token.scopes = vec!["repository".into()];
        }
    }
    let narrow = Harness::with_fixture(fixture).await;
    let refused = narrow
        .basic(&narrow.cloud("/user"), USERNAME, APP_PASSWORD)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json(refused).await["error"]["detail"]["required"],
        json!(["account"])
    );
    let access = h.bearer(&url, RAT).await;
    assert_eq!(access.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json(access).await,
        json!({"type": "error", "error": {"message": "This API is not accessible by this authentication mechanism."}})
    );
    let no_scope = h.basic(&url, EMAIL, API_WRITE_ONLY).await;
    assert_eq!(no_scope.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json(no_scope).await["error"]["detail"]["required"],
        json!(["read:user:bitbucket"])
    );
    assert_eq!(h.anonymous(&url).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn workspaces_and_projects() {
    let h = Harness::start().await;
    let ws = h
        .basic(&h.cloud("/workspaces/acme"), EMAIL, API_TOKEN)
        .await;
    assert_eq!(ws.status(), StatusCode::OK);
    assert_eq!(json(ws).await["slug"], "acme");
    assert_eq!(
        h.bearer(&h.cloud("/workspaces/acme"), RAT).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        h.bearer(&h.cloud("/workspaces/globex"), WAT).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.bearer(&h.cloud("/workspaces/nowhere"), WAT)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let project = h
        .bearer(&h.cloud("/workspaces/acme/projects/PLAT"), PAT)
        .await;
    assert_eq!(project.status(), StatusCode::OK);
    let project = json(project).await;
    assert_eq!(project["key"], "PLAT");
    assert_eq!(project["type"], "project");
    assert_eq!(
        h.bearer(&h.cloud("/workspaces/acme/projects/WEB"), PAT)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.bearer(&h.cloud("/workspaces/acme/projects/NOPE"), PAT)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let rat = h
        .bearer(&h.cloud("/workspaces/acme/projects/PLAT"), RAT)
        .await;
    assert_eq!(rat.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json(rat).await["error"]["detail"]["required"],
        json!(["project"])
    );
    assert_eq!(
        h.basic(&h.cloud("/workspaces/acme/projects/WEB"), EMAIL, API_TOKEN)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn repository_permissions_filter_and_paginate() {
    let h = Harness::start().await;
    let base = h.cloud("/user/workspaces/acme/permissions/repositories");
    let filtered = h
        .client
        .get(&base)
        .query(&[("q", "repository.name=\"api\"")])
        .basic_auth(EMAIL, Some(API_TOKEN))
        .send()
        .await
        .expect("request");
    assert_eq!(filtered.status(), StatusCode::OK);
    let filtered = json(filtered).await;
    assert_eq!(filtered["size"], 1);
    assert_eq!(filtered["values"][0]["type"], "repository_permission");
    assert_eq!(filtered["values"][0]["permission"], "write");
    assert_eq!(filtered["values"][0]["repository"]["full_name"], "acme/api");
    assert!(filtered.get("next").is_none());

    let by_full_name = h
        .client
        .get(&base)
        .query(&[("q", "repository.full_name=\"acme/frontend\"")])
        .basic_auth(USERNAME, Some(APP_PASSWORD))
        .send()
        .await
        .expect("request");
    assert_eq!(json(by_full_name).await["values"][0]["permission"], "admin");

    // Three permissions, page size 2: two pages linked by absolute `next` URLs.
    let mut url = base.clone();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = json(h.basic(&url, EMAIL, API_TOKEN).await).await;
        pages += 1;
        assert_eq!(page["pagelen"], 2);
        assert_eq!(page["size"], 3);
        for value in page["values"].as_array().expect("values") {
            seen.push(
                value["repository"]["slug"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        match page.get("next").and_then(|n| n.as_str()) {
            Some(next) => {
                assert!(next.starts_with("https://localhost:"), "absolute: {next}");
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen, ["api", "frontend", "worker"]);

    let by_project = h
        .client
        .get(&base)
        .query(&[("q", "repository.project.key=\"PLAT\""), ("pagelen", "50")])
        .basic_auth(EMAIL, Some(API_TOKEN))
        .send()
        .await
        .expect("request");
    assert_eq!(json(by_project).await["size"], 2);

    let access = h.bearer(&base, WAT).await;
    assert_eq!(access.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json(access).await["error"]["message"],
        "This API is not accessible by this authentication mechanism."
    );
    let bad_q = h
        .client
        .get(&base)
        .query(&[("q", "nonsense")])
        .basic_auth(EMAIL, Some(API_TOKEN))
        .send()
        .await
        .expect("request");
    assert_eq!(bad_q.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn access_token_budget_runs_out_with_near_limit_then_plain_429() {
    let h = Harness::start().await;
    let url = h.cloud("/repositories/acme/api");
    for i in 1..=5 {
        let response = h.bearer(&url, RAT).await;
        assert_eq!(response.status(), StatusCode::OK, "request {i}");
        let near = header(&response, "x-ratelimit-nearlimit");
        // Less than 20% of 5 left only after the fifth request.
        assert_eq!(near, (i == 5).then_some("true"), "request {i}");
    }
    let limited = h.bearer(&url, RAT).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "retry-after"), None);
    assert_eq!(header(&limited, "content-type"), Some("text/plain"));
    assert_eq!(
        limited.text().await.expect("body"),
        "Rate limit for this resource has been exceeded"
    );
    // Other tokens keep their own budget.
    assert_eq!(h.bearer(&url, WAT).await.status(), StatusCode::OK);
}
