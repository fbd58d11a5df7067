//! `--format json`: `{"findings": [...], "diagnostics": [...]}`. This is a
//! public contract: fields are only ever added.

use dbveto_rules::Finding;
use dbveto_source::Diagnostic;
use serde::Serialize;
use serde_json::json as j;

pub const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct Location<'a> {
    path: &'a str,
    line: u32,
    column: u32,
}

fn location(l: &dbveto_source::Location) -> Location<'_> {
    Location { path: &l.path, line: l.line, column: l.column }
}

pub fn json(findings: &[Finding], diagnostics: &[Diagnostic]) -> serde_json::Value {
    let findings: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let mut v = j!({
                "rule": f.rule,
                "severity": f.severity,
                "message": f.message,
                "location": location(&f.location),
                "table": f.table,
                "column": f.column,
                "constraint": f.constraint,
                "value": f.value,
                "sqlstate": f.sqlstate,
                "help": f.help,
                "related": f.related.iter().map(|r| j!({
                    "path": &*r.location.path,
                    "line": r.location.line,
                    "column": r.location.column,
                    "message": r.message,
                })).collect::<Vec<_>>(),
            });
            // Only `dbveto verify` adds it: `check`'s output is unchanged.
            if let Some(verification) = &f.verification {
                v["verification"] = j!(verification);
            }
            v
        })
        .collect();
    let diagnostics: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| j!({"severity": d.severity, "message": d.message, "location": location(&d.location)}))
        .collect();
    j!({"version": super::JSON_VERSION, "findings": findings, "diagnostics": diagnostics})
}
