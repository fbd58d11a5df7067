//! Inline schemas and statements for rule tests.

use dbveto_schema::Schema;
use dbveto_source::SourceFile;
use dbveto_writes::{Arg, EmbeddedQuery, Literal, Params, SqlText};

use crate::{check_write, Finding, Rule};

pub fn schema(ddl: &str) -> Schema {
    let file = SourceFile::new("migrations/001_init.up.sql", ddl);
    let mut schema = Schema::default();
    let mut diagnostics = Vec::new();
    dbveto_sql::replay(&mut schema, &file, 0..ddl.len(), &mut diagnostics);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    schema
}

/// Findings of `rule` for `sql` run with positional string arguments
/// (`None` for an argument that is not known).
pub fn check(rule: &Rule, ddl: &str, sql: &str, args: &[Option<&str>]) -> Vec<Finding> {
    let schema = schema(ddl);
    let file = SourceFile::new("app/store.go", sql);
    let params = Params::Positional(
        args.iter()
            .map(|a| match a {
                Some(v) => Arg::known(Literal::Str(v.to_string()), None, None),
                None => Arg::unknown(),
            })
            .collect(),
    );
    let query = EmbeddedQuery { sql: SqlText::new(sql, file.location(0)), params, call: None };
    let (writes, diagnostics) = dbveto_sql::extract_writes(&query);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    writes.iter().flat_map(|w| check_write(&[rule], &schema, w)).collect()
}

pub fn messages(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(|f| f.message.clone()).collect()
}
