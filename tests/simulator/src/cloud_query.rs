//! A small subset of Bitbucket Cloud's `q` filter language, enough for the repository
//! permission listing: clauses `field OP "value"` joined with `AND`.
//!
//! Fields: `repository.name`, `repository.full_name`, `repository.slug`,
//! `repository.project.key`, `permission`; in a repository listing the repository's own
//! `name`, `full_name`, `slug`, `project.key` and `is_private` (a bare `true`/`false`). Operators: `=`, `!=`, `~` (contains,
//! case-insensitive) and, for `permission`, `>`, `>=`, `<`, `<=` (read < write < admin).

use crate::fixture::RepoPermission;

/// One row the filter is evaluated against.
#[derive(Debug, Clone)]
pub(crate) struct PermissionRow {
    pub name: String,
    pub full_name: String,
    pub slug: String,
    pub project_key: String,
    pub permission: RepoPermission,
    /// `is_private` of the repository.
    pub private: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Contains,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone)]
struct Clause {
    field: String,
    op: Op,
    value: String,
}

/// A parsed `q` expression (a conjunction of clauses).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    clauses: Vec<Clause>,
}

impl Filter {
    /// Parses `q`; `Err` carries a message for a 400 response.
    pub fn parse(q: &str) -> Result<Self, String> {
        Self::parse_with(q, "", &FIELDS)
    }

    /// Parses `q` whose field names, once `prefix` is put before them, must be in `fields`.
    fn parse_with(q: &str, prefix: &'static str, fields: &[&str]) -> Result<Self, String> {
        let mut parser = Parser {
            rest: q.trim(),
            prefix,
            fields,
        };
        let mut clauses = Vec::new();
        loop {
            clauses.push(parser.clause()?);
            parser.skip_ws();
            if parser.rest.is_empty() {
                break;
            }
            parser.keyword("AND")?;
        }
        Ok(Self { clauses })
    }

    /// Parses `q` for a repository listing, whose fields are the repository's own (`name`,
    /// `slug`, `full_name`, `project.key`); they are read as the `repository.`-prefixed fields.
    pub fn parse_repository(q: &str) -> Result<Self, String> {
        Self::parse_with(q, "repository.", &REPOSITORY_FIELDS)
    }

    pub fn matches(&self, row: &PermissionRow) -> bool {
        self.clauses.iter().all(|clause| clause.matches(row))
    }
}

impl Clause {
    fn matches(&self, row: &PermissionRow) -> bool {
        if self.field == "permission" {
            let Some(wanted) = RepoPermission::parse_cloud(&self.value) else {
                return false;
            };
            let have = row.permission;
            return match self.op {
                Op::Eq => have == wanted,
                Op::Ne => have != wanted,
                Op::Gt => have > wanted,
                Op::Ge => have >= wanted,
                Op::Lt => have < wanted,
                Op::Le => have <= wanted,
                Op::Contains => have.cloud_name().contains(&self.value.to_lowercase()),
            };
        }
        if self.field == "repository.is_private" {
            let have = row.private.to_string();
            return match self.op {
                Op::Eq => have == self.value,
                Op::Ne => have != self.value,
                _ => false,
            };
        }
        let actual = match self.field.as_str() {
            "repository.name" => &row.name,
            "repository.full_name" => &row.full_name,
            "repository.slug" => &row.slug,
            "repository.project.key" => &row.project_key,
            _ => return false,
        };
        match self.op {
            Op::Eq => *actual == self.value,
            Op::Ne => *actual != self.value,
            Op::Contains => actual.to_lowercase().contains(&self.value.to_lowercase()),
            Op::Gt => actual.as_str() > self.value.as_str(),
            Op::Ge => actual.as_str() >= self.value.as_str(),
            Op::Lt => actual.as_str() < self.value.as_str(),
            Op::Le => actual.as_str() <= self.value.as_str(),
        }
    }
}

const FIELDS: [&str; 5] = [
    "repository.name",
    "repository.full_name",
    "repository.slug",
    "repository.project.key",
    "permission",
];

/// The fields of a repository listing's `q`, as read after the `repository.` prefix.
const REPOSITORY_FIELDS: [&str; 5] = [
    "repository.name",
    "repository.full_name",
    "repository.slug",
    "repository.project.key",
    "repository.is_private",
];

struct Parser<'a> {
    rest: &'a str,
    prefix: &'static str,
    fields: &'a [&'a str],
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn clause(&mut self) -> Result<Clause, String> {
        self.skip_ws();
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(self.rest.len());
        let field = format!("{}{}", self.prefix, &self.rest[..end]);
        if !self.fields.contains(&field.as_str()) {
            return Err(format!("Invalid field name: {field:?}"));
        }
        self.rest = &self.rest[end..];
        self.skip_ws();
        let op = self.op()?;
        self.skip_ws();
        let value = self.value()?;
        Ok(Clause { field, op, value })
    }

    fn op(&mut self) -> Result<Op, String> {
        const OPS: [(&str, Op); 7] = [
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("=", Op::Eq),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("~", Op::Contains),
        ];
        for (text, op) in OPS {
            if let Some(rest) = self.rest.strip_prefix(text) {
                self.rest = rest;
                return Ok(op);
            }
        }
        Err(format!("Expected an operator at {:?}", self.rest))
    }

    fn value(&mut self) -> Result<String, String> {
        // BBQL booleans are bare words (`is_private = true`).
        for word in ["true", "false"] {
            if let Some(rest) = self.rest.strip_prefix(word)
                && !rest.starts_with(|c: char| c.is_ascii_alphanumeric())
            {
                self.rest = rest;
                return Ok(word.to_owned());
            }
        }
        let Some(body) = self.rest.strip_prefix('"') else {
            return Err(format!("Expected a quoted value at {:?}", self.rest));
        };
        let mut value = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                }
                '"' => {
                    self.rest = &body[i + 1..];
                    return Ok(value);
                }
                other => value.push(other),
            }
        }
        Err("Unterminated string value".to_owned())
    }

    fn keyword(&mut self, word: &str) -> Result<(), String> {
        let head = self.rest.get(..word.len()).unwrap_or_default();
        if head.eq_ignore_ascii_case(word) {
            self.rest = &self.rest[word.len()..];
            Ok(())
        } else {
            Err(format!("Expected {word} at {:?}", self.rest))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> PermissionRow {
        PermissionRow {
            name: "api".into(),
            full_name: "acme/api".into(),
            slug: "api".into(),
            project_key: "PROJ".into(),
            permission: RepoPermission::Write,
            private: true,
        }
    }

    #[test]
    fn repository_listing_fields_are_the_repository_own() {
        let row = row();
        assert!(
            Filter::parse_repository(r#"project.key="PROJ" AND slug = "api""#)
                .unwrap()
                .matches(&row)
        );
        assert!(
            !Filter::parse_repository(r#"name="web""#)
                .unwrap()
                .matches(&row)
        );
        assert!(Filter::parse_repository(r#"permission="read""#).is_err());
        assert!(
            Filter::parse_repository("is_private=true AND project.key=\"PROJ\"")
                .unwrap()
                .matches(&row)
        );
        assert!(
            !Filter::parse_repository("is_private = false")
                .unwrap()
                .matches(&row)
        );
        assert!(Filter::parse_repository(r#"repository.name="api""#).is_err());
    }

    #[test]
    fn supports_the_documented_forms() {
        assert!(
            Filter::parse(r#"repository.name="api""#)
                .unwrap()
                .matches(&row())
        );
        assert!(
            !Filter::parse(r#"repository.name="web""#)
                .unwrap()
                .matches(&row())
        );
        assert!(
            Filter::parse(r#"repository.full_name = "acme/api""#)
                .unwrap()
                .matches(&row())
        );
        assert!(
            Filter::parse(r#"repository.project.key="PROJ" AND permission>"read""#)
                .unwrap()
                .matches(&row())
        );
        assert!(
            !Filter::parse(r#"permission="admin""#)
                .unwrap()
                .matches(&row())
        );
        assert!(
            Filter::parse(r#"repository.name~"AP""#)
                .unwrap()
                .matches(&row())
        );
    }

    #[test]
    fn rejects_nonsense() {
        assert!(Filter::parse("bogus=\"x\"").is_err());
        assert!(Filter::parse("repository.name=x").is_err());
        assert!(Filter::parse("repository.name=\"x").is_err());
        assert!(Filter::parse("repository.name=\"x\" OR permission=\"read\"").is_err());
    }
}
