//! Which consumers read each key of a rendered Secret, given the formats it was rendered for (the
//! "read by" column of docs/formats.md).

use crate::api::OutputFormat;

/// The consumers that read `key` of a Secret rendered with `formats`. Keys the operator does not
/// write get "not written by the operator".
pub fn consumers(key: &str, formats: &[OutputFormat]) -> Vec<&'static str> {
    let has = |format: OutputFormat| formats.contains(&format);
    let mut readers = Vec::new();
    match key {
        ".gitconfig" => {
            readers.push("git CLI (as $HOME/.gitconfig or GIT_CONFIG_GLOBAL)");
        }
        ".git-credentials" => readers.push("git credential store (through .gitconfig)"),
        "username" | "password" => {
            if has(OutputFormat::BasicAuth) {
                readers.push("Flux, Tekton, Jenkins (basic-auth)");
            }
            if has(OutputFormat::ArgoCd) {
                readers.push("Argo CD");
            }
        }
        "bearerToken" => {
            if has(OutputFormat::BearerToken) {
                readers.push("Flux and Argo CD (Data Center), REST API clients");
            }
            if has(OutputFormat::ArgoCd) {
                readers.push("Argo CD");
            }
        }
        "url" if has(OutputFormat::ArgoCd) => readers.push("Argo CD"),
        "ca.crt" => readers.push("Flux and git (the Data Center CA)"),
        _ if is_env_key(key) => readers.push("git CLI through envFrom"),
        _ => {}
    }
    if readers.is_empty() {
        readers.push("not written by the operator");
    }
    readers
}

/// `GIT_CONFIG_COUNT`, `GIT_CONFIG_KEY_<n>`, `GIT_CONFIG_VALUE_<n>` (the `env` format).
fn is_env_key(key: &str) -> bool {
    key == "GIT_CONFIG_COUNT"
        || ["GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"]
            .iter()
            .any(|prefix| {
                key.strip_prefix(prefix)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_names_its_readers() {
        let all = [
            OutputFormat::GitConfig,
            OutputFormat::GitCredentials,
            OutputFormat::BasicAuth,
            OutputFormat::BearerToken,
            OutputFormat::Env,
            OutputFormat::ArgoCd,
        ];
        assert_eq!(consumers("username", &all).len(), 2);
        assert_eq!(consumers("username", &[OutputFormat::ArgoCd]), ["Argo CD"]);
        assert_eq!(
            consumers("GIT_CONFIG_VALUE_0", &all),
            ["git CLI through envFrom"]
        );
        assert_eq!(
            consumers("GIT_CONFIG_VALUE_x", &all),
            ["not written by the operator"]
        );
        assert!(consumers(".gitconfig", &all)[0].starts_with("git CLI"));
    }
}
