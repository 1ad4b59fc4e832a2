//! A private CA for a Data Center server: carried in the rendered Secret as `ca.crt` and named
//! to git with `http.<base>/.sslCAInfo`, so that git, Flux and Argo CD trust what the operator
//! trusted when it validated the token (issue 15 fault 2).

use super::RenderError;

/// A PEM bundle that holds at least one certificate, as UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaBundle {
    pem: String,
}

impl CaBundle {
    /// Checks that `pem` is text with a `CERTIFICATE` block; the operator's TLS client parses it
    /// fully before the token is validated, so this only guards what the Secret will carry.
    pub(crate) fn new(pem: &[u8]) -> Result<Self, RenderError> {
        let text = std::str::from_utf8(pem).map_err(|_| RenderError::InvalidCaBundle {
            problem: "it is not UTF-8 text",
        })?;
        if !text.contains("-----BEGIN CERTIFICATE-----") {
            return Err(RenderError::InvalidCaBundle {
                problem: "it has no -----BEGIN CERTIFICATE----- block",
            });
        }
        let mut pem = text.to_string();
        if !pem.ends_with('\n') {
            pem.push('\n');
        }
        Ok(Self { pem })
    }

    /// The bundle as written under `ca.crt`.
    pub(crate) fn pem(&self) -> &str {
        &self.pem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_are_text_with_a_certificate() {
        let pem = "-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----";
        assert_eq!(
            CaBundle::new(pem.as_bytes()).unwrap().pem(),
            format!("{pem}\n")
        );
        assert!(matches!(
            CaBundle::new(b"\xff\xfe"),
            Err(RenderError::InvalidCaBundle { .. })
        ));
        assert!(matches!(
            CaBundle::new(b"just text"),
            Err(RenderError::InvalidCaBundle { .. })
        ));
    }
}
