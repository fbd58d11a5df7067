//! `--format sarif`: SARIF 2.1.0, as code-scanning services read it. One
//! run; the rules with their documentation as help; one result per
//! finding with the code location, the related places (the migration
//! line above all) and a fingerprint; problems with the input as tool
//! execution notifications.

use dbveto_rules::{Finding, Rule};
use dbveto_source::{Diagnostic, Location, Severity};
use serde_json::{json, Value};

use crate::{fingerprint, Sources};

pub const SARIF_SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

pub fn sarif(findings: &[Finding], diagnostics: &[Diagnostic], rules: &[Rule], sources: &Sources, version: &str) -> Value {
    let rule_index = |id: &str| rules.iter().position(|r| r.id == id);
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut result = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": {"text": message(f)},
                "locations": [{"physicalLocation": physical(&f.location)}],
                "relatedLocations": f.related.iter().enumerate().map(|(i, r)| json!({
                    "id": i,
                    "physicalLocation": physical(&r.location),
                    "message": {"text": r.message},
                })).collect::<Vec<_>>(),
                "partialFingerprints": {"dbveto/v1": fingerprint(f, sources)},
                "properties": {
                    "table": f.table,
                    "column": f.column,
                    "constraint": f.constraint,
                    "sqlstate": f.sqlstate,
                },
            });
            if let Some(i) = rule_index(f.rule) {
                result["ruleIndex"] = json!(i);
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            json!({
                "level": level(d.severity),
                "message": {"text": d.message},
                "locations": [{"physicalLocation": physical(&d.location)}],
            })
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "dbveto",
                "version": version,
                "informationUri": "https://github.com/dbveto/dbveto",
                "rules": rules.iter().map(rule).collect::<Vec<_>>(),
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn rule(r: &Rule) -> Value {
    json!({
        "id": r.id,
        "name": r.id,
        "shortDescription": {"text": r.summary},
        "help": {"text": r.docs, "markdown": r.docs},
    })
}

/// The message, with the fix when there is one: SARIF viewers show only this.
fn message(f: &Finding) -> String {
    match &f.help {
        Some(help) => format!("{}\nhelp: {help}", f.message),
        None => f.message.clone(),
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn physical(l: &Location) -> Value {
    json!({
        "artifactLocation": {"uri": uri_path(&l.path), "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": l.line.max(1), "startColumn": l.column.max(1)},
    })
}

/// A relative path as a URI reference: `/` kept, everything outside the
/// unreserved set percent-encoded (spaces, `#`, `%`, non-ASCII).
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{finding, sources};

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri_path("db/migrations/001 init.up.sql"), "db/migrations/001%20init.up.sql");
        assert_eq!(uri_path("app/é#.py"), "app/%C3%A9%23.py");
    }

    #[test]
    fn results_point_at_their_rule_and_carry_related_locations() {
        let s = sources(&[("app.py", "x\n")]);
        let v = sarif(&[finding("value-too-long", "app.py", 1)], &[], dbveto_rules::all(), &s, "0.0.0");
        let result = &v["runs"][0]["results"][0];
        let index = result["ruleIndex"].as_u64().expect("rule index") as usize;
        assert_eq!(v["runs"][0]["tool"]["driver"]["rules"][index]["id"], "value-too-long");
        assert_eq!(result["relatedLocations"][0]["physicalLocation"]["region"]["startLine"], 3);
        assert_eq!(result["level"], "error");
    }
}
