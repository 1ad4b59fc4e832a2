//! Exit codes of the commands that read the cluster (`status`, `revalidate`, `check NAME`), and
//! the help texts that list them. 0, 1, 2 and 64 mean what they mean for `check` with flags.

/// Ready (`status`, `revalidate --wait`), valid (`check`), or done (`revalidate`).
pub const READY: u8 = 0;
/// Not Ready (`Ready=False`), or invalid (`check`).
pub const NOT_READY: u8 = 1;
/// Undecided: `Ready=Unknown` or no status yet, Bitbucket could not be reached (`check`), or
/// `revalidate --wait` saw no answer from the operator in time.
pub const UNDECIDED: u8 = 2;
/// No BitbucketToken of that name in the namespace.
pub const NOT_FOUND: u8 = 3;
/// The cluster could not be used: no kubeconfig, unreachable, credentials refused, or forbidden
/// by RBAC (including a token Secret `check` may not read).
pub const CLUSTER: u8 = 4;
/// Bad command line (EX_USAGE), as for every command.
pub const USAGE: u8 = crate::check::EXIT_BAD_INPUT;

/// Exit codes of `status`, shown under its `--help`.
pub const STATUS_HELP: &str = "Exit codes:
  0   Ready: the rendered Secret holds the current token and the last check passed
  1   not Ready: Ready=False (the reason says what to fix)
  2   undecided: Ready=Unknown, or the operator has not reported on it yet
  3   not found: no BitbucketToken of that name in the namespace
  4   cluster: no kubeconfig, API server unreachable, credentials refused, or forbidden
  64  bad command line";

/// Exit codes of `revalidate`, shown under its `--help`.
pub const REVALIDATE_HELP: &str = "Exit codes:
  0   the request was recorded; with --wait: the new verdict arrived and it is Ready
  1   with --wait: the new verdict arrived and it is not Ready
  2   with --wait: no new verdict within --timeout (is the operator running and watching the namespace?)
  3   not found: no BitbucketToken of that name in the namespace
  4   cluster: no kubeconfig, API server unreachable, credentials refused, or forbidden
  64  bad command line";

/// Exit codes of `check`, shown under its `--help` (both forms).
pub const CHECK_HELP: &str = "Exit codes:
  0   valid: Bitbucket accepts the token with the requested access
  1   invalid: Bitbucket rejects the token or it lacks the access, or (NAME) the token Secret is missing or unusable
  2   could not tell: Bitbucket could not be reached, answered 5xx or rate-limited the check
  3   (NAME) not found: no BitbucketToken of that name in the namespace
  4   (NAME) cluster: no kubeconfig, API server unreachable, credentials refused, or you may not read the BitbucketToken or its Secret
  64  bad input: a flag, the token file or the CA file is unusable; nothing was sent";
