//! `bitbucket-token-operator check` as a person runs it: exit codes 0/1/2/64, short verdicts,
//! `--output json`, the token from a file or stdin, and the proxy variables.

use crate::world;

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use bitbucket_simulator::Fault;
use serde_json::Value;
use world::World;

struct Cli<'a> {
    world: &'a World,
    dir: tempfile::TempDir,
}

impl<'a> Cli<'a> {
    fn new(world: &'a World) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), world.sim.ca_pem()).unwrap();
        Self { world, dir }
    }

    fn token_file(&self, token: &str) -> String {
        let path = self.dir.path().join(token);
        std::fs::write(&path, format!("{}\n", self.world.secret(token))).unwrap();
        path.display().to_string()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bitbucket-token-operator"));
        command
            .arg("check")
            .args(["--cloud-api-url", &self.world.sim.cloud_api_url()])
            .args([
                "--ca-file",
                &self.dir.path().join("ca.pem").display().to_string(),
            ])
            .args(args)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY");
        command
    }

    fn run(&self, token: &str, args: &[&str]) -> Output {
        let file = self.token_file(token);
        let output = self
            .command(args)
            .args(["--token-file", &file])
            .output()
            .unwrap();
        self.assert_no_leak(token, &output);
        output
    }

    fn assert_no_leak(&self, token: &str, output: &Output) {
        let secret = self.world.secret(token);
        for stream in [&output.stdout, &output.stderr] {
            assert!(
                !String::from_utf8_lossy(stream).contains(&secret),
                "the token was printed"
            );
        }
    }
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const RAT: &[&str] = &[
    "--kind",
    "RepositoryAccessToken",
    "--workspace",
    "acme",
    "--repository",
    "payments",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_and_verdicts() {
    let world = World::start().await;
    let cli = Cli::new(&world);

    let valid = cli.run("rat-rw", &[RAT, &["--permission", "write"]].concat());
    assert_eq!(code(&valid), 0, "{}", stdout(&valid));
    assert!(
        stdout(&valid).starts_with("VALID: Bitbucket accepts the token"),
        "{}",
        stdout(&valid)
    );

    let scope = cli.run("rat-ro", &[RAT, &["--permission", "Write"]].concat());
    assert_eq!(code(&scope), 1);
    let text = stdout(&scope);
    assert!(
        text.starts_with("INVALID (InsufficientScope): The token lacks repository:write."),
        "{text}"
    );
    assert!(
        text.contains(
            "push will fail: create a repository access token with the scopes repository:write"
        ),
        "{text}"
    );

    let api = cli.run(
        "api-write-only",
        &[
            "--kind",
            "APIToken",
            "--email",
            "alice@example.com",
            "--workspace",
            "acme",
            "--repository",
            "payments",
            "--permission",
            "Write",
        ],
    );
    assert_eq!(code(&api), 1);
    assert!(
        stdout(&api).contains("lacks read:repository:bitbucket"),
        "{}",
        stdout(&api)
    );

    let revoked = cli.run("rat-revoked", RAT);
    assert_eq!(code(&revoked), 1);
    assert!(
        stdout(&revoked).starts_with("INVALID (Unauthorized)"),
        "{}",
        stdout(&revoked)
    );

    world.sim.set_fault(Fault::ServiceUnavailable);
    let down = cli.run("rat-rw", RAT);
    assert_eq!(code(&down), 2);
    assert!(
        stdout(&down).starts_with("COULD NOT TELL (BitbucketUnreachable)"),
        "{}",
        stdout(&down)
    );
    world.sim.set_fault(Fault::None);

    let dc_url = world.sim.dc_base_url();
    let dc = cli.run(
        "dc-repo-rw",
        &[
            "--kind",
            "HTTPAccessToken",
            "--server-url",
            &dc_url,
            "--project",
            "PAY",
            "--repository",
            "payments",
            "--permission",
            "Write",
        ],
    );
    assert_eq!(code(&dc), 0, "{}", stdout(&dc));
    assert!(stdout(&dc).contains("REPO_WRITE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_for_programs() {
    let world = World::start().await;
    let cli = Cli::new(&world);
    let output = cli.run(
        "rat-ro",
        &[RAT, &["--permission", "Write", "--output", "json"]].concat(),
    );
    assert_eq!(code(&output), 1);
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["verdict"], "invalid");
    assert_eq!(report["reason"], "InsufficientScope");
    assert_eq!(report["missing"], serde_json::json!(["repository:write"]));
    assert_eq!(report["granted"], serde_json::json!(["repository"]));

    let valid = cli.run(
        "dc-repo-rw",
        &[
            "--kind",
            "HTTPAccessToken",
            "--server-url",
            &world.sim.dc_base_url(),
            "--project",
            "PAY",
            "--repository",
            "payments",
            "--output",
            "json",
        ],
    );
    let report: Value = serde_json::from_slice(&valid.stdout).expect("JSON");
    assert_eq!(report["verdict"], "valid");
    assert_eq!(report["expirySource"], "Bitbucket");
    assert!(
        report["expiresAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_comes_from_stdin_or_a_file_never_an_argument() {
    let world = World::start().await;
    let cli = Cli::new(&world);
    let mut child = cli
        .command(&[RAT, &["--token-file", "-"]].concat())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(world.secret("rat-rw").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    cli.assert_no_leak("rat-rw", &output);

    let missing = cli
        .command(&[RAT, &["--token-file", "/nonexistent/token"]].concat())
        .output()
        .unwrap();
    assert_eq!(code(&missing), 64);
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("cannot read the token from /nonexistent/token")
    );
    let no_flag = cli.command(RAT).output().unwrap();
    assert_eq!(code(&no_flag), 64, "--token-file is required");
    assert_eq!(
        world.sim.request_count(),
        1,
        "bad input never reaches Bitbucket"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inconsistent_flags_are_refused_with_the_fix() {
    let world = World::start().await;
    let cli = Cli::new(&world);
    for (args, message) in [
        (
            vec!["--kind", "APIToken", "--workspace", "acme"],
            "needs --email",
        ),
        (
            vec!["--kind", "HTTPAccessToken", "--project", "PAY"],
            "give --server-url",
        ),
        (
            vec!["--kind", "RepositoryAccessToken", "--workspace", "acme"],
            "exactly one --repository",
        ),
        (
            vec!["--kind", "AppPassword", "--workspace", "acme"],
            "needs --username",
        ),
        (
            vec![
                "--kind",
                "HTTPAccessToken",
                "--server-url",
                "http://git.example.com",
                "--project",
                "PAY",
            ],
            "must start with https://",
        ),
        (
            vec!["--kind", "Nonsense", "--workspace", "acme"],
            "unknown token kind",
        ),
    ] {
        let output = cli.run("rat-rw", &args);
        assert_eq!(code(&output), 64, "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert_eq!(world.sim.request_count(), 0);
}

/// Issue 14: `check` as a person meets it: the help names the exit codes, input errors say what
/// to type (and are JSON with `--output json`), and an app password gets Atlassian's news.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_input_errors_and_removed_app_passwords_say_what_to_do() {
    let world = World::start().await;
    let cli = Cli::new(&world);
    let help = Command::new(env!("CARGO_BIN_EXE_bitbucket-token-operator"))
        .args(["check", "--help"])
        .output()
        .unwrap();
    assert_eq!(code(&help), 0);
    let text = stdout(&help);
    for line in [
        "Exit codes:",
        "0   valid",
        "1   invalid",
        "2   could not tell",
        "64  bad input",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let dc = |server: &str| {
        vec![
            "--kind",
            "HTTPAccessToken",
            "--server-url",
            server,
            "--project",
            "PAY",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (dc("git.example.com"), "https://git.example.com"),
        (
            [RAT, &["--expires-at", "2026-12-31"]]
                .concat()
                .into_iter()
                .map(String::from)
                .collect(),
            "2026-12-31T00:00:00Z",
        ),
    ];
    for (args, hint) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let text_out = cli.run("rat-rw", &args);
        assert_eq!(code(&text_out), 64, "{args:?}");
        let stderr = String::from_utf8_lossy(&text_out.stderr);
        assert!(stderr.contains(hint), "{args:?}: {stderr}");
        let json_out = cli.run("rat-rw", &[args.as_slice(), &["--output", "json"]].concat());
        assert_eq!(code(&json_out), 64, "{args:?}");
        let report: Value = serde_json::from_str(&stdout(&json_out))
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&json_out)));
        assert_eq!(report["verdict"], "error");
        assert_eq!(report["reason"], "InvalidInput");
        assert!(
            report["message"]
                .as_str()
                .unwrap_or_default()
                .contains(hint),
            "{report}"
        );
    }
    // An input error found after parsing (a missing flag) is JSON too.
    let missing = cli.run(
        "rat-rw",
        &["--kind", "APIToken", "--workspace", "acme", "--output=json"],
    );
    assert_eq!(code(&missing), 64);
    let report: Value = serde_json::from_str(&stdout(&missing)).unwrap();
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .contains("needs --email"),
        "{report}"
    );

    let app = cli.run(
        "app",
        &[
            "--kind",
            "AppPassword",
            "--username",
            "alice@example.com",
            "--workspace",
            "acme",
            "--repository",
            "payments",
        ],
    );
    assert_eq!(code(&app), 1);
    let text = stdout(&app);
    assert!(
        text.starts_with("INVALID (AppPasswordRemoved)")
            && text.contains("28 July 2026")
            && text.contains("read:repository:bitbucket"),
        "{text}"
    );
    assert_eq!(
        world.sim.request_count(),
        1,
        "only the app password check reached Bitbucket"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_variables_are_honoured() {
    let world = World::start().await;
    let cli = Cli::new(&world);
    let file = cli.token_file("rat-rw");
    // A proxy that refuses connections: Bitbucket cannot be reached through it.
    let through_dead_proxy = cli
        .command(&[RAT, &["--token-file", &file, "--timeout-seconds", "2"]].concat())
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    assert_eq!(
        code(&through_dead_proxy),
        2,
        "{}",
        stdout(&through_dead_proxy)
    );
    assert_eq!(world.sim.request_count(), 0);
    let bypassed = cli
        .command(&[RAT, &["--token-file", &file]].concat())
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "localhost")
        .output()
        .unwrap();
    assert_eq!(code(&bypassed), 0, "{}", stdout(&bypassed));
}
