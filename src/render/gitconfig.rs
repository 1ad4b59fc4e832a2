//! Writing git config files safely: every value and subsection name is checked and quoted so that
//! nothing taken from the spec or the token can open a new section or key.
//!
//! Git's config grammar inside double quotes: in a value, `\\` and `\"` stand for `\` and `"` (and
//! `;`/`#` lose their comment meaning); in a subsection name (`[section "name"]`), a backslash makes
//! the next character literal. A line break ends the line in both places and cannot be escaped in a
//! subsection name, so control characters are refused rather than escaped.

use super::RenderError;

/// Refuses any control character (newline, carriage return, tab, NUL, DEL, C1 controls).
pub(crate) fn reject_control(what: &'static str, value: &str) -> Result<(), RenderError> {
    match value.char_indices().find(|(_, c)| c.is_control()) {
        Some((index, _)) => Err(RenderError::ControlCharacter { what, index }),
        None => Ok(()),
    }
}

/// `value` as a double-quoted git config value.
pub(crate) fn quote_value(what: &'static str, value: &str) -> Result<String, RenderError> {
    quote(what, value)
}

/// `name` as a double-quoted subsection name, as in `[http "<name>"]`.
pub(crate) fn quote_subsection(what: &'static str, name: &str) -> Result<String, RenderError> {
    quote(what, name)
}

/// Both grammars accept the same form: `"` + text with `\` and `"` backslash-escaped + `"`.
fn quote(what: &'static str, text: &str) -> Result<String, RenderError> {
    reject_control(what, text)?;
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// A git config file under construction. Section and key names are fixed identifiers chosen by
/// this module's callers; subsection names and values are untrusted and always quoted.
#[derive(Debug, Default)]
pub(crate) struct GitConfig {
    sections: Vec<Section>,
}

#[derive(Debug)]
struct Section {
    header: String,
    lines: Vec<String>,
}

impl GitConfig {
    /// Adds `key = value` to `[section "subsection"]` (or `[section]`), opening it if needed.
    /// `what` describes the value for error messages and must not be the value itself.
    pub(crate) fn set(
        &mut self,
        section: &'static str,
        subsection: Option<&str>,
        key: &'static str,
        value: &str,
        what: &'static str,
    ) -> Result<(), RenderError> {
        let header = match subsection {
            Some(name) => format!("[{section} {}]", quote_subsection("a URL", name)?),
            None => format!("[{section}]"),
        };
        let line = format!("\t{key} = {}", quote_value(what, value)?);
        match self.sections.iter_mut().find(|s| s.header == header) {
            Some(existing) => existing.lines.push(line),
            None => self.sections.push(Section {
                header,
                lines: vec![line],
            }),
        }
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// The file's text: a comment line, then every section in the order it was opened.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::from(
            "# Written by bitbucket-token-operator; edit the BitbucketToken, not this file.\n",
        );
        for section in &self.sections {
            out.push_str(&section.header);
            out.push('\n');
            for line in &section.lines {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_and_escaped() {
        assert_eq!(quote_value("v", "plain").unwrap(), r#""plain""#);
        assert_eq!(quote_value("v", r#"a"b\c"#).unwrap(), r#""a\"b\\c""#);
        assert_eq!(
            quote_value("v", "x;y #z [core]").unwrap(),
            r#""x;y #z [core]""#
        );
        assert_eq!(quote_value("v", "").unwrap(), r#""""#);
    }

    #[test]
    fn subsections_are_quoted_and_escaped() {
        assert_eq!(
            quote_subsection("u", r#"https://h/a"]b\"#).unwrap(),
            r#""https://h/a\"]b\\""#
        );
    }

    #[test]
    fn control_characters_are_refused_with_their_position() {
        for (text, index) in [
            ("a\nb", 1),
            ("\r", 0),
            ("ab\0", 2),
            ("a\tb", 1),
            ("x\u{7f}", 1),
            ("é\u{85}", 2),
        ] {
            assert_eq!(
                quote_value("the token", text),
                Err(RenderError::ControlCharacter {
                    what: "the token",
                    index
                })
            );
            assert!(quote_subsection("a URL", text).is_err());
        }
    }

    #[test]
    fn writer_groups_keys_by_section_in_first_use_order() {
        let mut config = GitConfig::default();
        assert!(config.is_empty());
        config
            .set("http", Some("https://h/a"), "extraHeader", "A", "h")
            .unwrap();
        config
            .set("credential", Some("https://h/a"), "helper", "s", "h")
            .unwrap();
        config
            .set("http", Some("https://h/a"), "other", "B", "h")
            .unwrap();
        config.set("core", None, "k", "v", "h").unwrap();
        assert_eq!(
            config.to_text(),
            "# Written by bitbucket-token-operator; edit the BitbucketToken, not this file.\n\
             [http \"https://h/a\"]\n\textraHeader = \"A\"\n\tother = \"B\"\n\
             [credential \"https://h/a\"]\n\thelper = \"s\"\n\
             [core]\n\tk = \"v\"\n"
        );
    }
}
