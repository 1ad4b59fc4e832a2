//! Property tests of rendering with the real git CLI: for arbitrary bytes in the token, the
//! username, the workspace, project and repository names, the Data Center base URL and the mount
//! path, either rendering refuses the input with a specific error (that never repeats the token),
//! or every rendered git config, as `git config -l` and `git config --get-all` read it (from the
//! `.gitconfig` file and from the `Env` format's variables), holds exactly the intended keys and
//! values: no injected section or key, the header and credentials read back unchanged.

use std::path::Path;

use base64::Engine as _;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use url::Url;

use super::git_cli_tests::{credential_for, git, stdout, write_keys};
use super::tests::cloud;
use super::*;
use crate::api::{OutputFormat as F, Permission, TokenKind as K};

/// One generated input.
#[derive(Debug, Clone)]
struct Case {
    kind: TokenKind,
    token: String,
    username: Option<String>,
    workspace: String,
    project: String,
    repositories: Vec<String>,
    /// The Data Center base URL as typed in the spec (Cloud kinds ignore it).
    dc_base: String,
    /// `target.mountPath`; `None`: a real directory, so that git's store helper can read it.
    mount: Option<String>,
}

/// Bytes as the operator sees them after UTF-8 decoding, plus strings made of the characters git's
/// config grammar, URLs and shells treat specially.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        "[\"\\\\\\[\\]\\n\\r\\t\\x00\\x7f ;#=%:/@?&$`'!~.a-zA-Z0-9_-]{0,24}",
        "[!-~]{1,40}",
        any::<String>(),
    ]
}

/// Names: usually well formed, often not.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![8 => "[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,15}", 1 => hostile()]
}

fn kind() -> impl Strategy<Value = TokenKind> {
    prop::sample::select(K::ALL.to_vec())
}

fn case() -> impl Strategy<Value = Case> {
    (
        kind(),
        prop_oneof![6 => "[!-~]{1,48}", 1 => hostile()],
        // Printable ASCII but `:` (which the schema and rendering refuse in a username).
        prop::option::of(prop_oneof![6 => "[!-9;-~]{1,16}", 1 => hostile()]),
        name(),
        name(),
        prop::collection::vec(name(), 0..3),
        prop_oneof![
            4 => "[a-zA-Z0-9/._~-]{0,24}".prop_map(|path| format!("https://git.example.com/{path}")),
            2 => "[!-~]{0,24}".prop_map(|path| format!("https://git.example.com/{path}")),
            1 => hostile().prop_map(|path| format!("https://git.example.com:8443/{path}")),
            1 => hostile().prop_map(|host| format!("https://{host}")),
            1 => hostile(),
        ],
        prop::option::of(prop_oneof![4 => "/[a-zA-Z0-9/._+@-]{0,16}", 1 => hostile()]),
    )
        .prop_map(
            |(kind, token, username, workspace, project, repositories, dc_base, mount)| Case {
                kind,
                token,
                username,
                workspace,
                project,
                repositories,
                dc_base,
                mount,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn rendered_git_config_holds_exactly_the_intended_entries(case in case()) {
        check(&case)?;
    }
}

/// The user that goes with the token, per kind (docs/formats.md); `None`: Bearer only.
fn intended_user(case: &Case) -> Option<String> {
    match case.kind {
        K::RepositoryAccessToken | K::ProjectAccessToken | K::WorkspaceAccessToken => {
            Some(CLOUD_ACCESS_TOKEN_USER.to_string())
        }
        K::ApiToken => Some(
            case.username
                .clone()
                .unwrap_or_else(|| API_TOKEN_USER.to_string()),
        ),
        K::AppPassword | K::HttpAccessToken => case.username.clone(),
    }
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    // The source Secret reader refuses these before rendering is asked.
    let Ok(token) = crate::token::SecretToken::parse(&case.token) else {
        return Ok(());
    };
    let server = if case.kind.is_cloud() {
        cloud()
    } else {
        match Url::parse(&case.dc_base) {
            Ok(base) => GitServer::DataCenter { base },
            // The CRD's schema and the reconciler refuse what does not parse.
            Err(_) => return Ok(()),
        }
    };
    let access = AccessSpec {
        workspace: case.kind.is_cloud().then(|| case.workspace.clone()),
        project: (!case.kind.is_cloud()).then(|| case.project.clone()),
        repositories: case.repositories.clone(),
        permission: Permission::Read,
    };
    let mount_dir = tempfile::tempdir().expect("temp dir");
    let mount = case
        .mount
        .clone()
        .unwrap_or_else(|| mount_dir.path().to_str().expect("UTF-8").to_string());
    let result = render(&RenderInput {
        token: &token,
        kind: case.kind,
        server: &server,
        access: &access,
        username: case.username.as_deref(),
        formats: &[F::GitConfig, F::GitCredentials, F::Env],
        mount_path: &mount,
        ca_bundle: None,
    });
    let secret = match result {
        Ok(secret) => secret,
        Err(error) => return refused_specifically(&error, token.expose()),
    };
    let urls = scope::Scope::new(&server, &access)
        .expect("rendered, so the scope is valid")
        .match_urls();
    let user = intended_user(case);
    // Git's header: HTTP Basic for every Cloud kind, Bearer for Data Center (docs/formats.md).
    let basic_user = user.as_ref().filter(|_| case.kind.is_cloud());
    let header = match basic_user {
        Some(user) => {
            let pair = format!("{user}:{}", token.expose());
            format!(
                "Authorization: Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        }
        None => format!("Authorization: Bearer {}", token.expose()),
    };
    let store = format!(
        "store --file={}/.git-credentials",
        mount.trim_end_matches('/')
    );

    let mut intended = Vec::new();
    for url in &urls {
        intended.push((format!("http.{url}.extraheader"), String::new()));
        intended.push((format!("http.{url}.extraheader"), header.clone()));
    }
    let from_env = intended.clone();
    for url in &urls {
        intended.push((format!("credential.{url}.helper"), String::new()));
        intended.push((format!("credential.{url}.helper"), store.clone()));
        intended.push((format!("credential.{url}.usehttppath"), "false".into()));
    }
    intended.push(("credentialstore.locktimeoutms".into(), "0".into()));

    let home = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    write_keys(files.path(), &secret);
    let file = files.path().join(keys::GITCONFIG);
    prop_assert_eq!(listed(home.path(), &[], Some(&file)), intended);
    for url in [urls.first(), urls.last()].into_iter().flatten() {
        prop_assert_eq!(
            get_all(home.path(), &file, &format!("http.{url}.extraHeader")),
            vec![String::new(), header.clone()]
        );
        prop_assert_eq!(
            get_all(home.path(), &file, &format!("credential.{url}.helper")),
            vec![String::new(), store.clone()]
        );
    }
    let envs: Vec<(&str, &str)> = secret
        .data
        .iter()
        .filter(|(key, _)| key.starts_with("GIT_CONFIG_"))
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    prop_assert_eq!(listed(home.path(), &envs, None), from_env);

    // With the Secret mounted where the spec says, git's store helper returns user and token.
    if case.mount.is_none() {
        write_keys(mount_dir.path(), &secret);
        let url = urls.last().expect("at least one URL");
        let expected = user.map(|user| (user, token.expose().to_string()));
        prop_assert_eq!(credential_for(home.path(), mount_dir.path(), url), expected);
    }
    Ok(())
}

/// A refusal names what is wrong (a field, a value's problem) and never repeats the token.
fn refused_specifically(error: &RenderError, token: &str) -> Result<(), TestCaseError> {
    let message = error.to_string();
    prop_assert!(!message.is_empty());
    if token.len() >= 8 {
        prop_assert!(
            !message.contains(token),
            "the token leaked into {message:?}"
        );
    }
    let specific = matches!(
        error,
        RenderError::ControlCharacter { .. }
            | RenderError::Empty { .. }
            | RenderError::ColonInUsername
            | RenderError::InvalidUrlSegment { .. }
            | RenderError::InvalidBaseUrl { .. }
            | RenderError::MissingUsername { .. }
            | RenderError::BearerOnly { .. }
            | RenderError::InvalidMountPath { .. }
    );
    prop_assert!(specific, "unexpected refusal: {error:?}");
    Ok(())
}

/// `(key, value)` of every entry git reads from `file` (or, without one, from the environment
/// variables `envs` alone), in order: `git config -l -z` (a key may hold `=`, so not `-l`).
fn listed(home: &Path, envs: &[(&str, &str)], file: Option<&Path>) -> Vec<(String, String)> {
    let mut args = vec!["config", "-l", "-z"];
    let path;
    if let Some(file) = file {
        path = file.to_str().expect("UTF-8").to_string();
        args.extend(["--file", path.as_str()]);
    }
    let out = git(home, envs, &args, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
        .split('\0')
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.split_once('\n') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (entry.to_string(), String::new()),
        })
        .collect()
}

/// `git config --file <file> --get-all <key>`: every value, in order.
fn get_all(home: &Path, file: &Path, key: &str) -> Vec<String> {
    let file = file.to_str().expect("UTF-8");
    let out = git(
        home,
        &[],
        &["config", "--file", file, "-z", "--get-all", key],
        None,
    );
    stdout(&out)
        .split('\0')
        .map(str::to_string)
        .collect::<Vec<_>>()
        .split_last()
        .map(|(_, values)| values.to_vec())
        .unwrap_or_default()
}
