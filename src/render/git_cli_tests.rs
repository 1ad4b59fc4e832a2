//! Proofs with the real git CLI: the rendered `.gitconfig`, `.git-credentials` and env variables
//! reach git exactly for URLs inside the target and never outside it, and hostile input cannot add
//! a config key.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use url::Url;

use super::gitconfig::GitConfig;
use super::tests::{TOKEN, access, cloud, dc, token};
use super::*;
use crate::api::OutputFormat as F;
use crate::api::TokenKind as K;

/// Runs git with a clean environment: no system config, no prompts, `HOME` in `home`.
pub(super) fn git(
    home: &Path,
    envs: &[(&str, &str)],
    args: &[&str],
    stdin: Option<&str>,
) -> Output {
    let mut command = Command::new("git");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .current_dir(home)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    let mut child = command
        .spawn()
        .expect("git must be installed to run these tests");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

pub(super) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// `git config --file <file> --get-urlmatch http.extraHeader <url>`: the header, or None.
fn header_for(home: &Path, file: &Path, url: &str) -> Option<String> {
    let file = file.to_str().unwrap();
    let out = git(
        home,
        &[],
        &[
            "config",
            "--file",
            file,
            "--get-urlmatch",
            "http.extraHeader",
            url,
        ],
        None,
    );
    match out.status.code() {
        Some(0) => Some(stdout(&out).trim_end_matches('\n').to_string()),
        Some(1) => None,
        other => panic!(
            "git config failed ({other:?}): {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Writes the rendered data keys as files into `dir`, as a Secret volume would.
pub(super) fn write_keys(dir: &Path, secret: &RenderedSecret) {
    for (key, value) in &secret.data {
        std::fs::write(dir.join(key), value).unwrap();
    }
}

struct Scenario {
    name: &'static str,
    server: GitServer,
    access: AccessSpec,
    inside: &'static [&'static str],
    outside: &'static [&'static str],
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "cloud repository",
            server: cloud(),
            access: access(Some("acme"), None, &["payments"]),
            inside: &[
                "https://bitbucket.org/acme/payments.git",
                "https://bitbucket.org/acme/payments",
                "https://bitbucket.org/acme/payments/",
                "https://bitbucket.org:443/acme/payments.git",
                "https://BitBucket.org/acme/payments.git",
                "https://someone@bitbucket.org/acme/payments.git",
            ],
            outside: &[
                "https://bitbucket.org/acme/other.git",
                "https://bitbucket.org/acme/payments-fork.git",
                "https://bitbucket.org/acme/payments-fork",
                "https://bitbucket.org/acme/payments.gitx",
                "https://bitbucket.org/acme/",
                "https://bitbucket.org/acme2/payments.git",
                "https://bitbucket.org/other/payments.git",
                "http://bitbucket.org/acme/payments.git",
                "https://bitbucket.org:8443/acme/payments.git",
                "https://bitbucket.org.evil.example/acme/payments.git",
                "https://evil.example/acme/payments.git",
            ],
        },
        Scenario {
            name: "cloud several repositories",
            server: cloud(),
            access: access(Some("acme"), Some("PROJ"), &["payments", "ledger"]),
            inside: &[
                "https://bitbucket.org/acme/payments.git",
                "https://bitbucket.org/acme/ledger",
                "https://bitbucket.org/acme/ledger.git",
            ],
            outside: &[
                "https://bitbucket.org/acme/other.git",
                "https://bitbucket.org/acme/ledger2.git",
                "https://bitbucket.org/acme/PROJ/ledger.git",
            ],
        },
        Scenario {
            name: "cloud workspace (or project)",
            server: cloud(),
            access: access(Some("acme"), Some("PROJ"), &[]),
            inside: &[
                "https://bitbucket.org/acme/payments.git",
                "https://bitbucket.org/acme/anything",
                "https://bitbucket.org/acme",
            ],
            outside: &[
                "https://bitbucket.org/acme2/payments.git",
                "https://bitbucket.org/acmeish/x.git",
                "https://bitbucket.org/other/acme/x.git",
                "https://bitbucket.org/",
            ],
        },
        Scenario {
            name: "cloud test server on a port",
            server: GitServer::Cloud {
                git_base: Url::parse("https://localhost:8443").unwrap(),
            },
            access: access(Some("acme"), None, &["payments"]),
            inside: &[
                "https://localhost:8443/acme/payments.git",
                "https://localhost:8443/acme/payments",
            ],
            outside: &[
                "https://localhost/acme/payments.git",
                "https://localhost:9443/acme/payments.git",
                "https://bitbucket.org/acme/payments.git",
            ],
        },
        Scenario {
            name: "data center project",
            server: dc(),
            access: access(None, Some("PAY"), &[]),
            inside: &[
                "https://git.example.com/bitbucket/scm/PAY/payments.git",
                "https://git.example.com/bitbucket/scm/pay/payments.git",
                "https://git.example.com/bitbucket/scm/pay/ledger",
            ],
            outside: &[
                "https://git.example.com/bitbucket/scm/PAYX/payments.git",
                "https://git.example.com/bitbucket/scm/other/payments.git",
                "https://git.example.com/scm/pay/payments.git",
                "https://git.example.com/bitbucket2/scm/pay/payments.git",
                "https://git.example.com/bitbucket/rest/api/1.0/projects",
            ],
        },
        Scenario {
            name: "data center repository",
            server: dc(),
            access: access(None, Some("PAY"), &["payments"]),
            inside: &[
                "https://git.example.com/bitbucket/scm/PAY/payments.git",
                "https://git.example.com/bitbucket/scm/pay/payments.git",
                "https://git.example.com/bitbucket/scm/pay/payments",
            ],
            outside: &[
                "https://git.example.com/bitbucket/scm/pay/payments-fork.git",
                "https://git.example.com/bitbucket/scm/pay/ledger.git",
                "https://git.example.com/bitbucket/scm/pay/",
            ],
        },
    ]
}

fn kind_for(server: &GitServer) -> TokenKind {
    match server {
        GitServer::Cloud { .. } => K::WorkspaceAccessToken,
        GitServer::DataCenter { .. } => K::HttpAccessToken,
    }
}

/// The header each scenario's token kind is rendered with: Basic `x-token-auth` for a Cloud
/// workspace access token, Bearer for a Data Center HTTP access token.
fn expected_header(server: &GitServer) -> String {
    use base64::Engine as _;
    match server {
        GitServer::Cloud { .. } => format!(
            "Authorization: Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("x-token-auth:{TOKEN}"))
        ),
        GitServer::DataCenter { .. } => format!("Authorization: Bearer {TOKEN}"),
    }
}

#[test]
fn extra_header_reaches_git_only_inside_the_target() {
    let home = tempfile::tempdir().unwrap();
    let token = token(TOKEN);
    for scenario in scenarios() {
        let secret = render(&RenderInput {
            token: &token,
            kind: kind_for(&scenario.server),
            server: &scenario.server,
            access: &scenario.access,
            username: None,
            formats: &[F::GitConfig],
            mount_path: "/unused",
            ca_bundle: None,
        })
        .unwrap();
        write_keys(home.path(), &secret);
        let file = home.path().join(".gitconfig");
        let expected = expected_header(&scenario.server);
        for url in scenario.inside {
            assert_eq!(
                header_for(home.path(), &file, url).as_deref(),
                Some(expected.as_str()),
                "{}: {url}",
                scenario.name
            );
        }
        for url in scenario.outside {
            assert_eq!(
                header_for(home.path(), &file, url),
                None,
                "{}: {url}",
                scenario.name
            );
        }
    }
}

#[test]
fn env_format_reaches_git_only_inside_the_target() {
    let home = tempfile::tempdir().unwrap();
    let token = token(TOKEN);
    for scenario in scenarios() {
        let secret = render(&RenderInput {
            token: &token,
            kind: kind_for(&scenario.server),
            server: &scenario.server,
            access: &scenario.access,
            username: None,
            formats: &[F::Env],
            mount_path: "/unused",
            ca_bundle: None,
        })
        .unwrap();
        let envs: Vec<(&str, &str)> = secret
            .data
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let lookup = |url: &str| {
            let out = git(
                home.path(),
                &envs,
                &["config", "--get-urlmatch", "http.extraHeader", url],
                None,
            );
            out.status
                .success()
                .then(|| stdout(&out).trim_end().to_string())
        };
        for url in scenario.inside {
            assert_eq!(
                lookup(url),
                Some(expected_header(&scenario.server)),
                "{}: {url}",
                scenario.name
            );
        }
        for url in scenario.outside {
            assert_eq!(lookup(url), None, "{}: {url}", scenario.name);
        }
    }
}

/// `git credential fill` for `url` with the rendered files as the global config; the
/// (username, password) git found, or None when it found nothing (and could not prompt).
pub(super) fn credential_for(home: &Path, mount: &Path, url: &str) -> Option<(String, String)> {
    let parsed = Url::parse(url).unwrap();
    let host = match parsed.port() {
        Some(port) => format!("{}:{port}", parsed.host_str().unwrap()),
        None => parsed.host_str().unwrap().to_string(),
    };
    let input = format!(
        "protocol={}\nhost={host}\npath={}\n\n",
        parsed.scheme(),
        parsed.path().trim_start_matches('/')
    );
    let global = mount.join(".gitconfig");
    let out = git(
        home,
        &[("GIT_CONFIG_GLOBAL", global.to_str().unwrap())],
        &["credential", "fill"],
        Some(&input),
    );
    if !out.status.success() {
        assert!(stdout(&out).is_empty());
        return None;
    }
    let text = stdout(&out);
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
    };
    Some((field("username").unwrap(), field("password").unwrap()))
}

#[test]
fn git_credentials_reach_git_only_inside_the_target() {
    let home = tempfile::tempdir().unwrap();
    let mount = tempfile::tempdir().unwrap();
    let token = token(TOKEN);
    for scenario in scenarios() {
        let (kind, username, user) = match scenario.server {
            GitServer::Cloud { .. } => (K::RepositoryAccessToken, None, "x-token-auth"),
            GitServer::DataCenter { .. } => (K::HttpAccessToken, Some("dev"), "dev"),
        };
        let secret = render(&RenderInput {
            token: &token,
            kind,
            server: &scenario.server,
            access: &scenario.access,
            username,
            formats: &F::DEFAULT,
            mount_path: mount.path().to_str().unwrap(),
            ca_bundle: None,
        })
        .unwrap();
        write_keys(mount.path(), &secret);
        for url in scenario.inside {
            assert_eq!(
                credential_for(home.path(), mount.path(), url),
                Some((user.to_string(), TOKEN.to_string())),
                "{}: {url}",
                scenario.name
            );
        }
        for url in scenario.outside {
            assert_eq!(
                credential_for(home.path(), mount.path(), url),
                None,
                "{}: {url}",
                scenario.name
            );
        }
    }
}

/// Every `key=value` line `git config --file <file> --list` prints.
fn listed(home: &Path, file: &Path) -> Vec<String> {
    let out = git(
        home,
        &[],
        &["config", "--file", file.to_str().unwrap(), "--list"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out).lines().map(str::to_string).collect()
}

const HOSTILE_TOKEN: &str = r#""]\[core]sshCommand=evil;#%0a%/+=~"#;
const HOSTILE_USER: &str = r#"d"e\v[core]%;#/+="#;

#[test]
fn hostile_token_and_username_add_no_key_and_read_back_exactly() {
    let home = tempfile::tempdir().unwrap();
    let mount = tempfile::tempdir().unwrap();
    let token = token(HOSTILE_TOKEN);
    for (kind, server, access, username) in [
        (
            K::RepositoryAccessToken,
            cloud(),
            access(Some("acme"), None, &["payments"]),
            None,
        ),
        (
            K::AppPassword,
            cloud(),
            access(Some("acme"), None, &["payments"]),
            Some(HOSTILE_USER),
        ),
        (
            K::HttpAccessToken,
            dc(),
            access(None, Some("PAY"), &["payments"]),
            Some(HOSTILE_USER),
        ),
    ] {
        let secret = render(&RenderInput {
            token: &token,
            kind,
            server: &server,
            access: &access,
            username,
            formats: &F::DEFAULT,
            mount_path: mount.path().to_str().unwrap(),
            ca_bundle: None,
        })
        .unwrap();
        write_keys(mount.path(), &secret);
        let file = mount.path().join(".gitconfig");

        // Only the keys the formats write: per section URL an extraHeader and a helper (each
        // after its empty reset value) and useHttpPath.
        let keys: Vec<String> = listed(home.path(), &file)
            .iter()
            .map(|line| line.split_once('=').unwrap().0.to_string())
            .collect();
        let urls = super::scope::Scope::new(&server, &access)
            .unwrap()
            .match_urls();
        let mut expected: Vec<String> = Vec::new();
        for u in &urls {
            expected.extend([
                format!("http.{u}.extraheader"),
                format!("http.{u}.extraheader"),
            ]);
        }
        for u in &urls {
            expected.push(format!("credential.{u}.helper"));
            expected.push(format!("credential.{u}.helper"));
            expected.push(format!("credential.{u}.usehttppath"));
        }
        expected.push("credentialstore.locktimeoutms".into());
        assert_eq!(keys, expected, "{kind}");
        assert!(!keys.iter().any(|k| k.starts_with("core.")), "{kind}");

        // The header git reads back carries the token (or user:token) unchanged.
        let url = urls.last().unwrap();
        let header = header_for(home.path(), &file, url).unwrap();
        let user = username.unwrap_or("x-token-auth");
        if kind.is_cloud() {
            use base64::Engine as _;
            let encoded = header.strip_prefix("Authorization: Basic ").unwrap();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap();
            assert_eq!(
                String::from_utf8(decoded).unwrap(),
                format!("{user}:{HOSTILE_TOKEN}")
            );
        } else {
            assert_eq!(header, format!("Authorization: Bearer {HOSTILE_TOKEN}"));
        }

        // The credential store yields the username and token unchanged.
        assert_eq!(
            credential_for(home.path(), mount.path(), url),
            Some((user.to_string(), HOSTILE_TOKEN.to_string())),
            "{kind}"
        );
    }
}

#[test]
fn newlines_in_the_username_are_refused() {
    let token = token(TOKEN);
    let server = cloud();
    let access = access(Some("acme"), None, &[]);
    for user in ["\"\n[core]\n\tsshCommand = evil", "a\rb", "a\0b"] {
        let result = render(&RenderInput {
            token: &token,
            kind: K::ApiToken,
            server: &server,
            access: &access,
            username: Some(user),
            formats: &F::DEFAULT,
            mount_path: crate::api::DEFAULT_MOUNT_PATH,
            ca_bundle: None,
        });
        assert!(
            matches!(
                result,
                Err(RenderError::ControlCharacter {
                    what: "token.username",
                    ..
                })
            ),
            "{user:?}: {result:?}"
        );
    }
}

#[test]
fn config_writer_round_trips_hostile_values_and_subsections_through_git() {
    let home = tempfile::tempdir().unwrap();
    let hostile_values = [
        r#""\[core] sshCommand = evil"#.to_string(),
        r#"ends with backslash \"#.to_string(),
        r#"quote " and ; and # and [x] and %41"#.to_string(),
        "\"".to_string(),
    ];
    let hostile_subsection = r#"https://h/a"] [core] \x"#;
    let mut config = GitConfig::default();
    for value in &hostile_values {
        config
            .set("http", Some(hostile_subsection), "extraHeader", value, "v")
            .unwrap();
    }
    let file = home.path().join("config");
    std::fs::write(&file, config.to_text()).unwrap();
    let lines = listed(home.path(), &file);
    let expected: Vec<String> = hostile_values
        .iter()
        .map(|v| format!("http.{hostile_subsection}.extraheader={v}"))
        .collect();
    assert_eq!(lines, expected);

    // What cannot be escaped is refused before anything is written.
    let mut config = GitConfig::default();
    for evil in ["\"\n[core]\n\tsshCommand = evil", "a\rb", "a\0b"] {
        assert!(
            config
                .set("http", Some("https://h/"), "extraHeader", evil, "v")
                .is_err()
        );
        assert!(
            config
                .set("http", Some(evil), "extraHeader", "v", "v")
                .is_err()
        );
    }
    assert!(config.is_empty());
}

/// Found by `prop_tests`: with `:` (or `!`, `$`, ...) in a Data Center context path, git matched
/// the `http.<url>` sections but never the `credential.<url>` ones (it percent-encodes the path it
/// compares those with), so `GitCredentials` sent nothing. Such base URLs are now refused.
#[test]
fn a_context_path_git_matches_inconsistently_is_refused() {
    let token = token(TOKEN);
    let access = access(None, Some("PAY"), &[]);
    const PATH_CHARACTERS: &str = "its path may contain only letters";
    // The last four were found by the property tests: `https://git.example.com//A` (1 run in 3)
    // and `https://=`.
    for (base, problem) in [
        ("https://git.example.com/:", PATH_CHARACTERS),
        ("https://git.example.com/a!b", PATH_CHARACTERS),
        ("https://git.example.com/$x", PATH_CHARACTERS),
        ("https://git.example.com/a%20b", PATH_CHARACTERS),
        ("https://git.example.com/a@b", PATH_CHARACTERS),
        ("https://git.example.com//A", "empty segment"),
        ("https://git.example.com/a//b/", "empty segment"),
        ("https://=", "its host may contain only"),
        (
            "https://a=b.example.com/bitbucket",
            "its host may contain only",
        ),
    ] {
        let server = GitServer::DataCenter {
            base: Url::parse(base).unwrap(),
        };
        let result = render(&RenderInput {
            token: &token,
            kind: K::HttpAccessToken,
            server: &server,
            access: &access,
            username: Some("dev"),
            formats: &[F::GitCredentials],
            mount_path: crate::api::DEFAULT_MOUNT_PATH,
            ca_bundle: None,
        });
        assert!(
            matches!(result, Err(RenderError::InvalidBaseUrl { problem: p, .. }) if p.contains(problem)),
            "{base}: {result:?}"
        );
    }
}
