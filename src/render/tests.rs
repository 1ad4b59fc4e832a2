//! Exact content of every format for every token kind, errors, `Debug` and the content hash.

use std::collections::BTreeMap;

use url::Url;

use super::*;
use crate::api::{DEFAULT_MOUNT_PATH, Permission};

pub(super) const TOKEN: &str = "tok/+=";
const TOP: &str =
    "# Written by bitbucket-token-operator; edit the BitbucketToken, not this file.\n";
const STORE_TAIL: &str = "[credentialStore]\n\tlockTimeoutMS = \"0\"\n";

pub(super) fn token(text: &str) -> SecretToken {
    SecretToken::parse(text).unwrap()
}

pub(super) fn cloud() -> GitServer {
    GitServer::Cloud {
        git_base: Url::parse("https://bitbucket.org").unwrap(),
    }
}

pub(super) fn dc() -> GitServer {
    GitServer::DataCenter {
        base: Url::parse("https://git.example.com/bitbucket").unwrap(),
    }
}

pub(super) fn access(workspace: Option<&str>, project: Option<&str>, repos: &[&str]) -> AccessSpec {
    AccessSpec {
        workspace: workspace.map(str::to_string),
        project: project.map(str::to_string),
        repositories: repos.iter().map(|r| r.to_string()).collect(),
        permission: Permission::Write,
    }
}

/// One rendering scenario.
struct Case {
    name: &'static str,
    kind: TokenKind,
    server: GitServer,
    access: AccessSpec,
    username: Option<&'static str>,
    formats: Vec<OutputFormat>,
}

impl Case {
    fn render(&self) -> Result<RenderedSecret, RenderError> {
        let token = token(TOKEN);
        render(&RenderInput {
            token: &token,
            kind: self.kind,
            server: &self.server,
            access: &self.access,
            username: self.username,
            formats: &self.formats,
            mount_path: DEFAULT_MOUNT_PATH,
            ca_bundle: None,
        })
    }
}

fn case(
    name: &'static str,
    kind: TokenKind,
    username: Option<&'static str>,
    formats: &[OutputFormat],
) -> Case {
    let (server, access) = if kind.is_cloud() {
        (cloud(), access(Some("acme"), None, &["payments"]))
    } else {
        (dc(), access(None, Some("PAY"), &[]))
    };
    Case {
        name,
        kind,
        server,
        access,
        username,
        formats: formats.to_vec(),
    }
}

fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

use OutputFormat as F;
use TokenKind as K;

const BEARER: &str = "Authorization: Bearer tok/+=";
/// base64("x-token-auth:tok/+="): the git form of Cloud access tokens.
const BASIC_XTA: &str = "Authorization: Basic eC10b2tlbi1hdXRoOnRvay8rPQ==";
const BASIC_API: &str = "Authorization: Basic eC1iaXRidWNrZXQtYXBpLXRva2VuLWF1dGg6dG9rLys9";
const BASIC_DEV: &str = "Authorization: Basic ZGV2OnRvay8rPQ==";
/// The empty `extraHeader` that resets git's header list before each rendered header.
const RESET: &str = "\textraHeader = \"\"\n";
const CLOUD_REPO: [&str; 2] = [
    "https://bitbucket.org/acme/payments",
    "https://bitbucket.org/acme/payments.git",
];
const DC_PROJECT: [&str; 2] = [
    "https://git.example.com/bitbucket/scm/pay/",
    "https://git.example.com/bitbucket/scm/PAY/",
];

fn cloud_repo_headers(header: &str) -> String {
    format!(
        "{TOP}[http \"https://bitbucket.org/acme/payments\"]\n{RESET}\textraHeader = \"{header}\"\n\
         [http \"https://bitbucket.org/acme/payments.git\"]\n{RESET}\textraHeader = \"{header}\"\n"
    )
}

#[test]
fn gitconfig_for_every_kind() {
    let dc_headers = format!(
        "{TOP}[http \"https://git.example.com/bitbucket/scm/pay/\"]\n{RESET}\textraHeader = \"{BEARER}\"\n\
         [http \"https://git.example.com/bitbucket/scm/PAY/\"]\n{RESET}\textraHeader = \"{BEARER}\"\n"
    );
    let table = [
        (
            case("rat", K::RepositoryAccessToken, None, &[F::GitConfig]),
            cloud_repo_headers(BASIC_XTA),
        ),
        (
            case("pat", K::ProjectAccessToken, None, &[F::GitConfig]),
            cloud_repo_headers(BASIC_XTA),
        ),
        (
            case(
                "wat",
                K::WorkspaceAccessToken,
                Some("ignored"),
                &[F::GitConfig],
            ),
            cloud_repo_headers(BASIC_XTA),
        ),
        (
            case("api default user", K::ApiToken, None, &[F::GitConfig]),
            cloud_repo_headers(BASIC_API),
        ),
        (
            case("api with user", K::ApiToken, Some("dev"), &[F::GitConfig]),
            cloud_repo_headers(BASIC_DEV),
        ),
        (
            case("app password", K::AppPassword, Some("dev"), &[F::GitConfig]),
            cloud_repo_headers(BASIC_DEV),
        ),
        (
            case(
                "dc project token",
                K::HttpAccessToken,
                None,
                &[F::GitConfig],
            ),
            dc_headers.clone(),
        ),
        (
            case(
                "dc personal token",
                K::HttpAccessToken,
                Some("dev"),
                &[F::GitConfig],
            ),
            dc_headers,
        ),
    ];
    for (case, gitconfig) in table {
        let secret = case
            .render()
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(secret.type_, "Opaque", "{}", case.name);
        assert_eq!(
            secret.data,
            map(&[(".gitconfig", &gitconfig)]),
            "{}",
            case.name
        );
        assert!(
            secret.labels.is_empty() && secret.annotations.is_empty(),
            "{}",
            case.name
        );
    }
}

#[test]
fn git_credentials_for_every_kind() {
    let helper = |url: &str| {
        format!(
            "[credential \"{url}\"]\n\thelper = \"\"\n\thelper = \"store --file=/etc/bitbucket-git/.git-credentials\"\n\tuseHttpPath = \"false\"\n"
        )
    };
    let cloud_config = format!(
        "{TOP}{}{}{STORE_TAIL}",
        helper("https://bitbucket.org/acme/payments"),
        helper("https://bitbucket.org/acme/payments.git")
    );
    let dc_config = format!(
        "{TOP}{}{}{STORE_TAIL}",
        helper("https://git.example.com/bitbucket/scm/pay/"),
        helper("https://git.example.com/bitbucket/scm/PAY/")
    );
    let table = [
        (
            case("rat", K::RepositoryAccessToken, None, &[F::GitCredentials]),
            &cloud_config,
            "https://x-token-auth:tok%2F%2B%3D@bitbucket.org/acme/payments.git\n",
        ),
        (
            case("api default user", K::ApiToken, None, &[F::GitCredentials]),
            &cloud_config,
            "https://x-bitbucket-api-token-auth:tok%2F%2B%3D@bitbucket.org/acme/payments.git\n",
        ),
        (
            case(
                "app password",
                K::AppPassword,
                Some("dev"),
                &[F::GitCredentials],
            ),
            &cloud_config,
            "https://dev:tok%2F%2B%3D@bitbucket.org/acme/payments.git\n",
        ),
        (
            case(
                "dc personal",
                K::HttpAccessToken,
                Some("dev"),
                &[F::GitCredentials],
            ),
            &dc_config,
            "https://dev:tok%2F%2B%3D@git.example.com/bitbucket/scm/pay/\n",
        ),
    ];
    for (case, gitconfig, store) in table {
        let secret = case
            .render()
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(secret.type_, "Opaque", "{}", case.name);
        assert_eq!(
            secret.data,
            map(&[(".gitconfig", gitconfig), (".git-credentials", store)]),
            "{}",
            case.name
        );
    }
}

#[test]
fn gitconfig_and_git_credentials_share_one_file() {
    let mut case = case("both", K::WorkspaceAccessToken, None, &F::DEFAULT);
    case.access = access(Some("acme"), None, &[]);
    let secret = case.render().unwrap();
    assert_eq!(
        secret.data[".gitconfig"],
        format!(
            "{TOP}[http \"https://bitbucket.org/acme/\"]\n{RESET}\textraHeader = \"{BASIC_XTA}\"\n\
             [credential \"https://bitbucket.org/acme/\"]\n\
             \thelper = \"\"\n\thelper = \"store --file=/etc/bitbucket-git/.git-credentials\"\n\tuseHttpPath = \"false\"\n\
             {STORE_TAIL}"
        )
    );
    assert_eq!(
        secret.data[".git-credentials"],
        "https://x-token-auth:tok%2F%2B%3D@bitbucket.org/acme/\n"
    );
    assert_eq!(secret.data.len(), 2);
}

#[test]
fn basic_auth_for_every_kind_that_has_a_username() {
    let table = [
        (
            case("rat", K::RepositoryAccessToken, None, &[F::BasicAuth]),
            "x-token-auth",
            CLOUD_REPO,
        ),
        (
            case("api", K::ApiToken, None, &[F::BasicAuth]),
            "x-bitbucket-api-token-auth",
            CLOUD_REPO,
        ),
        (
            case("api user", K::ApiToken, Some("dev"), &[F::BasicAuth]),
            "dev",
            CLOUD_REPO,
        ),
        (
            case("app password", K::AppPassword, Some("dev"), &[F::BasicAuth]),
            "dev",
            CLOUD_REPO,
        ),
        (
            case(
                "dc personal",
                K::HttpAccessToken,
                Some("dev"),
                &[F::BasicAuth],
            ),
            "dev",
            DC_PROJECT,
        ),
    ];
    for (case, user, urls) in table {
        let secret = case
            .render()
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(secret.type_, "kubernetes.io/basic-auth", "{}", case.name);
        assert_eq!(
            secret.data,
            map(&[("username", user), ("password", TOKEN)]),
            "{}",
            case.name
        );
        assert_eq!(
            secret.annotations,
            map(&[("tekton.dev/git-0", urls[0]), ("tekton.dev/git-1", urls[1])]),
            "{}",
            case.name
        );
        assert!(secret.labels.is_empty());
    }
}

#[test]
fn bearer_token_for_bearer_kinds() {
    for kind in [
        K::RepositoryAccessToken,
        K::ProjectAccessToken,
        K::WorkspaceAccessToken,
        K::HttpAccessToken,
    ] {
        let secret = case("bearer", kind, None, &[F::BearerToken])
            .render()
            .unwrap();
        assert_eq!(secret.type_, "Opaque");
        assert_eq!(secret.data, map(&[("bearerToken", TOKEN)]), "{kind}");
    }
}

#[test]
fn env_mirrors_the_gitconfig_headers() {
    let secret = case("rat", K::RepositoryAccessToken, None, &[F::Env])
        .render()
        .unwrap();
    assert_eq!(
        secret.data,
        map(&[
            ("GIT_CONFIG_COUNT", "4"),
            (
                "GIT_CONFIG_KEY_0",
                "http.https://bitbucket.org/acme/payments.extraHeader"
            ),
            ("GIT_CONFIG_VALUE_0", ""),
            (
                "GIT_CONFIG_KEY_1",
                "http.https://bitbucket.org/acme/payments.extraHeader"
            ),
            ("GIT_CONFIG_VALUE_1", BASIC_XTA),
            (
                "GIT_CONFIG_KEY_2",
                "http.https://bitbucket.org/acme/payments.git.extraHeader"
            ),
            ("GIT_CONFIG_VALUE_2", ""),
            (
                "GIT_CONFIG_KEY_3",
                "http.https://bitbucket.org/acme/payments.git.extraHeader"
            ),
            ("GIT_CONFIG_VALUE_3", BASIC_XTA),
        ])
    );
    let mut workspace = case("wat", K::AppPassword, Some("dev"), &[F::Env]);
    workspace.access = access(Some("acme"), Some("PROJ"), &[]);
    assert_eq!(
        workspace.render().unwrap().data,
        map(&[
            ("GIT_CONFIG_COUNT", "2"),
            (
                "GIT_CONFIG_KEY_0",
                "http.https://bitbucket.org/acme/.extraHeader"
            ),
            ("GIT_CONFIG_VALUE_0", ""),
            (
                "GIT_CONFIG_KEY_1",
                "http.https://bitbucket.org/acme/.extraHeader"
            ),
            ("GIT_CONFIG_VALUE_1", BASIC_DEV),
        ])
    );
}

#[test]
fn argocd_repository_or_repo_creds() {
    let label = |value| map(&[("argocd.argoproj.io/secret-type", value)]);

    let one_repo = case("rat", K::RepositoryAccessToken, None, &[F::ArgoCd])
        .render()
        .unwrap();
    assert_eq!(
        one_repo.data,
        map(&[
            ("url", "https://bitbucket.org/acme/payments.git"),
            ("username", "x-token-auth"),
            ("password", TOKEN),
        ])
    );
    assert_eq!(one_repo.labels, label("repository"));
    assert_eq!(one_repo.type_, "Opaque");

    let mut several = case("api", K::ApiToken, Some("dev"), &[F::ArgoCd]);
    several.access = access(Some("acme"), None, &["payments", "ledger"]);
    let several = several.render().unwrap();
    assert_eq!(
        several.data,
        map(&[
            ("url", "https://bitbucket.org/acme/"),
            ("username", "dev"),
            ("password", TOKEN)
        ])
    );
    assert_eq!(several.labels, label("repo-creds"));

    let dc_project = case("dc", K::HttpAccessToken, None, &[F::ArgoCd])
        .render()
        .unwrap();
    assert_eq!(
        dc_project.data,
        map(&[
            ("url", "https://git.example.com/bitbucket/scm/pay/"),
            ("bearerToken", TOKEN)
        ])
    );
    assert_eq!(dc_project.labels, label("repo-creds"));

    let mut dc_repo = case("dc personal", K::HttpAccessToken, Some("dev"), &[F::ArgoCd]);
    dc_repo.access = access(None, Some("PAY"), &["payments"]);
    let dc_repo = dc_repo.render().unwrap();
    assert_eq!(
        dc_repo.data,
        map(&[
            (
                "url",
                "https://git.example.com/bitbucket/scm/pay/payments.git"
            ),
            ("username", "dev"),
            ("password", TOKEN),
        ])
    );
    assert_eq!(dc_repo.labels, label("repository"));
}

#[test]
fn basic_auth_with_other_formats_keeps_the_basic_auth_type() {
    let all = [
        F::ArgoCd,
        F::Env,
        F::BearerToken,
        F::BasicAuth,
        F::GitCredentials,
        F::GitConfig,
    ];
    let secret = case("all", K::RepositoryAccessToken, None, &all)
        .render()
        .unwrap();
    assert_eq!(secret.type_, "kubernetes.io/basic-auth");
    let keys: Vec<_> = secret.data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            ".git-credentials",
            ".gitconfig",
            "GIT_CONFIG_COUNT",
            "GIT_CONFIG_KEY_0",
            "GIT_CONFIG_KEY_1",
            "GIT_CONFIG_KEY_2",
            "GIT_CONFIG_KEY_3",
            "GIT_CONFIG_VALUE_0",
            "GIT_CONFIG_VALUE_1",
            "GIT_CONFIG_VALUE_2",
            "GIT_CONFIG_VALUE_3",
            "bearerToken",
            "password",
            "url",
            "username",
        ]
    );
    assert_eq!(secret.labels.len(), 1);
    // tekton.dev/git-0 and -1: the repository with and without `.git`.
    assert_eq!(secret.annotations.len(), 2);
}

#[test]
fn format_order_and_repetition_do_not_matter() {
    let a = case("a", K::ApiToken, None, &[F::Env, F::GitConfig, F::Env])
        .render()
        .unwrap();
    let b = case("b", K::ApiToken, None, &[F::GitConfig, F::Env])
        .render()
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn errors_name_what_to_change() {
    let table = [
        (
            case(
                "dc gitCredentials",
                K::HttpAccessToken,
                None,
                &[F::GitCredentials],
            ),
            RenderError::BearerOnly {
                format: F::GitCredentials,
            },
            "use the GitConfig, Env or BearerToken formats instead, or set token.username",
        ),
        (
            case(
                "dc basicAuth",
                K::HttpAccessToken,
                None,
                &[F::GitConfig, F::BasicAuth],
            ),
            RenderError::BearerOnly {
                format: F::BasicAuth,
            },
            "set token.username if this is a personal access token",
        ),
        (
            case("api bearer", K::ApiToken, None, &[F::BearerToken]),
            RenderError::BasicOnly { kind: K::ApiToken },
            "remove BearerToken from target.formats",
        ),
        (
            case("app bearer", K::AppPassword, Some("dev"), &[F::BearerToken]),
            RenderError::BasicOnly {
                kind: K::AppPassword,
            },
            "use BasicAuth, GitConfig or GitCredentials",
        ),
        (
            case("app no user", K::AppPassword, None, &[F::GitConfig]),
            RenderError::MissingUsername {
                kind: K::AppPassword,
            },
            "needs token.username",
        ),
        (
            case("no formats", K::RepositoryAccessToken, None, &[]),
            RenderError::NoFormats,
            "list at least one of",
        ),
        (
            Case {
                server: dc(),
                ..case("rat on dc", K::RepositoryAccessToken, None, &[F::GitConfig])
            },
            RenderError::KindServerMismatch {
                kind: K::RepositoryAccessToken,
                server: "Bitbucket Data Center (server.dataCenter)",
            },
            "HTTPAccessToken is for server.dataCenter",
        ),
        (
            Case {
                server: cloud(),
                ..case("dc on cloud", K::HttpAccessToken, None, &[F::GitConfig])
            },
            RenderError::KindServerMismatch {
                kind: K::HttpAccessToken,
                server: "Bitbucket Cloud",
            },
            "every other kind is for Bitbucket Cloud",
        ),
        (
            case("colon", K::ApiToken, Some("a:b"), &[F::GitConfig]),
            RenderError::ColonInUsername,
            "token.username must not contain ':'",
        ),
    ];
    for (case, error, advice) in table {
        let got = case.render().unwrap_err();
        assert_eq!(got, error, "{}", case.name);
        assert!(got.to_string().contains(advice), "{}: {got}", case.name);
        assert!(!got.to_string().contains(TOKEN), "{}: {got}", case.name);
    }
}

#[test]
fn mount_path_is_used_for_the_store_file() {
    let token = token(TOKEN);
    let (server, access) = (cloud(), access(Some("acme"), None, &[]));
    let render_at = |mount_path| {
        render(&RenderInput {
            token: &token,
            kind: K::WorkspaceAccessToken,
            server: &server,
            access: &access,
            username: None,
            formats: &[F::GitCredentials],
            mount_path,
            ca_bundle: None,
        })
    };
    let secret = render_at("/home/ci/.config/git/").unwrap();
    assert!(
        secret.data[".gitconfig"].contains("store --file=/home/ci/.config/git/.git-credentials\"")
    );
    assert!(matches!(
        render_at("/tmp/$(curl evil)"),
        Err(RenderError::InvalidMountPath { .. })
    ));
    // Only gitCredentials uses the mount path.
    let bearer = render(&RenderInput {
        formats: &[F::BearerToken],
        mount_path: "relative",
        ca_bundle: None,
        token: &token,
        kind: K::WorkspaceAccessToken,
        server: &server,
        access: &access,
        username: None,
    });
    assert!(bearer.is_ok());
}

#[test]
fn debug_never_shows_data_values() {
    let secret = case(
        "all",
        K::ApiToken,
        Some("dev"),
        &[
            F::GitConfig,
            F::GitCredentials,
            F::BasicAuth,
            F::Env,
            F::ArgoCd,
        ],
    )
    .render()
    .unwrap();
    for shown in [
        format!("{secret:?}"),
        format!("{secret:#?}"),
        format!("{:?}", Some(&secret)),
    ] {
        assert!(!shown.contains("tok"), "{shown}");
        assert!(
            !shown.contains("dG9r"),
            "base64 of the token leaked: {shown}"
        );
        assert!(!shown.contains("Basic"), "{shown}");
        assert!(
            shown.contains(".gitconfig") && shown.contains("[redacted]"),
            "{shown}"
        );
        assert!(shown.contains("tekton.dev/git-0"), "{shown}");
    }
}

#[test]
fn a_private_ca_is_carried_and_named_to_git_for_the_data_center_base_only() {
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let render_with = |formats: &[OutputFormat], server: GitServer| {
        let token = token(TOKEN);
        let access = access(Some("acme"), Some("PAY"), &[]);
        let kind = if matches!(server, GitServer::Cloud { .. }) {
            K::WorkspaceAccessToken
        } else {
            K::HttpAccessToken
        };
        render(&RenderInput {
            token: &token,
            kind,
            server: &server,
            access: &access,
            username: Some("dev"),
            formats,
            mount_path: DEFAULT_MOUNT_PATH,
            ca_bundle: Some(pem.as_bytes()),
        })
        .unwrap()
    };
    let ca_section = "[http \"https://git.example.com/bitbucket/\"]\n\
                      \tsslCAInfo = \"/etc/bitbucket-git/ca.crt\"\n";
    for formats in [&[F::GitConfig][..], &[F::GitCredentials], &F::DEFAULT] {
        let secret = render_with(formats, dc());
        assert_eq!(secret.data["ca.crt"], pem, "{formats:?}");
        assert!(
            secret.data[".gitconfig"].ends_with(ca_section),
            "{formats:?}: {}",
            secret.data[".gitconfig"]
        );
        assert_eq!(secret.data[".gitconfig"].matches("sslCAInfo").count(), 1);
    }
    let env = render_with(&[F::Env], dc());
    assert_eq!(
        (
            env.data["GIT_CONFIG_KEY_0"].as_str(),
            env.data["GIT_CONFIG_VALUE_0"].as_str()
        ),
        (
            "http.https://git.example.com/bitbucket/.sslCAInfo",
            "/etc/bitbucket-git/ca.crt"
        )
    );
    assert_eq!(env.data["GIT_CONFIG_COUNT"], "5");
    for format in [F::BasicAuth, F::BearerToken, F::ArgoCd] {
        assert_eq!(
            render_with(&[format], dc()).data["ca.crt"],
            pem,
            "{format:?}"
        );
    }
    // Cloud has no caBundleSecretRef; a stray bundle changes nothing.
    let cloud = render_with(&[F::GitConfig], cloud());
    assert!(!cloud.data.contains_key("ca.crt"));
    assert!(!cloud.data[".gitconfig"].contains("sslCAInfo"));
}
