//! Inline suppressions, ruff's way: a comment on the finding's line,
//! `dbveto: ignore[rule-id]`, `dbveto: ignore[rule-a, rule-b]`, or a bare
//! `dbveto: ignore` for every rule. The comment is one of the file's
//! language (`#` in Python, `//` or `/* */` in Go, `--` or `/* */` in SQL),
//! found by a lexical scan that skips string literals.
//!
//! A suppression that names an unknown rule, or that hides nothing of the
//! rules that ran, is a warning: stale suppressions hide future findings.

mod comments;

use std::collections::HashMap;
use std::sync::Arc;

use dbveto_report::Sources;
use dbveto_rules::Finding;
use dbveto_source::{Diagnostic, Location, Severity, SourceFile};
use rayon::prelude::*;

pub use comments::{comments, Comment, Language};

/// One `dbveto: ignore` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub location: Location,
    /// `None` for a bare `dbveto: ignore`: every rule.
    pub rules: Option<Vec<String>>,
}

impl Suppression {
    fn covers(&self, rule: &str) -> bool {
        self.rules.as_ref().is_none_or(|r| r.iter().any(|id| id == rule))
    }
}

/// The suppressions of one file, and warnings about malformed ones.
pub fn suppressions(file: &SourceFile) -> (Vec<Suppression>, Vec<Diagnostic>) {
    let mut found = Vec::new();
    let mut diagnostics = Vec::new();
    // Most files have none: skip the scan.
    let Some(language) = Language::of_path(&file.path).filter(|_| file.text.contains("dbveto:")) else {
        return (found, diagnostics);
    };
    for comment in comments(&file.text, language) {
        let location = Location { path: file.path.clone(), line: comment.line, column: comment.column };
        match directive(comment.text) {
            None => {}
            Some(Ok(rules)) => found.push(Suppression { location, rules }),
            Some(Err(message)) => diagnostics.push(Diagnostic { location, severity: Severity::Warning, message }),
        }
    }
    (found, diagnostics)
}

/// `None`: not a suppression; `Some(Ok(None))`: every rule;
/// `Some(Err(_))`: a suppression dbveto cannot read.
fn directive(comment: &str) -> Option<Result<Option<Vec<String>>, String>> {
    let at = comment.find("dbveto:")?;
    let rest = comment[at + "dbveto:".len()..].trim_start();
    let after = rest.strip_prefix("ignore")?;
    if after.starts_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_') {
        return None;
    }
    let after = after.trim_start();
    let Some(list) = after.strip_prefix('[') else {
        return Some(Ok(None));
    };
    let Some((list, _)) = list.split_once(']') else {
        return Some(Err("suppression `dbveto: ignore[` without its closing `]`; nothing suppressed".into()));
    };
    let rules: Vec<String> = list.split(',').map(str::trim).filter(|r| !r.is_empty()).map(String::from).collect();
    if rules.is_empty() {
        return Some(Err("suppression `dbveto: ignore[]` names no rule; nothing suppressed".into()));
    }
    Some(Ok(Some(rules)))
}

/// The suppressions on one line of one file, each with the rules of the
/// findings it hid.
type ByLine = HashMap<(Arc<str>, u32), Vec<(Suppression, Vec<&'static str>)>>;

/// Findings that a suppression on their line hides are dropped. Returns
/// the others, and warnings: malformed suppressions, unknown rules, and
/// suppressions that hid nothing among `ran` (the ids of the rules run).
pub fn apply(findings: Vec<Finding>, sources: &Sources, ran: &[&str]) -> (Vec<Finding>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut by_line: ByLine = HashMap::new();
    let mut files: Vec<&SourceFile> = sources.iter().collect();
    files.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
    // Every file is scanned, most for nothing: in parallel, then in path order.
    let scanned: Vec<(Vec<Suppression>, Vec<Diagnostic>)> = files.into_par_iter().map(suppressions).collect();
    for (found, diags) in scanned {
        diagnostics.extend(diags);
        for s in found {
            by_line.entry((s.location.path.clone(), s.location.line)).or_default().push((s, Vec::new()));
        }
    }
    let kept = findings
        .into_iter()
        .filter(|f| {
            let Some(here) = by_line.get_mut(&(f.location.path.clone(), f.location.line)) else { return true };
            match here.iter_mut().find(|(s, _)| s.covers(f.rule)) {
                Some((_, used)) => {
                    used.push(f.rule);
                    false
                }
                None => true,
            }
        })
        .collect();
    let mut all: Vec<(Suppression, Vec<&str>)> = by_line.into_values().flatten().collect();
    all.sort_by(|a, b| a.0.location.cmp(&b.0.location));
    for (s, used) in all {
        let warn = |message: String| Diagnostic { location: s.location.clone(), severity: Severity::Warning, message };
        match &s.rules {
            None if used.is_empty() => diagnostics.push(warn("unused suppression `dbveto: ignore`: no finding on this line".into())),
            None => {}
            Some(rules) => {
                for rule in rules {
                    if dbveto_rules::by_id(rule).is_none() {
                        diagnostics.push(warn(format!("unknown rule `{rule}` in suppression; `dbveto rules` lists them")));
                    } else if ran.contains(&rule.as_str()) && !used.contains(&rule.as_str()) {
                        diagnostics.push(warn(format!("unused suppression of `{rule}`: no such finding on this line")));
                    }
                }
            }
        }
    }
    (kept, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbveto_rules::Related;

    fn finding(rule: &'static str, path: &str, line: u32) -> Finding {
        Finding {
            rule,
            message: "m".into(),
            location: Location { path: path.into(), line, column: 5 },
            table: "t".into(),
            column: None,
            constraint: None,
            value: None,
            related: Vec::<Related>::new(),
            help: None,
            sqlstate: None,
            severity: Severity::Error,
            verification: None,
        }
    }

    fn sources(files: &[(&str, &str)]) -> Sources {
        let mut s = Sources::default();
        for (path, text) in files {
            s.insert(&SourceFile::new(*path, *text));
        }
        s
    }

    const RAN: &[&str] = &["check-value-rejected", "value-too-long", "not-null-omitted"];

    #[test]
    fn directives() {
        assert_eq!(directive(" dbveto: ignore"), Some(Ok(None)));
        assert_eq!(directive(" noqa # dbveto:ignore[a, b ]"), Some(Ok(Some(vec!["a".into(), "b".into()]))));
        assert_eq!(directive(" see dbveto: docs"), None);
        assert_eq!(directive(" dbveto: ignored"), None);
        assert!(matches!(directive("dbveto: ignore[a"), Some(Err(_))));
        assert!(matches!(directive("dbveto: ignore[]"), Some(Err(_))));
    }

    #[test]
    fn a_suppression_hides_only_its_rules_on_its_line() {
        let s = sources(&[(
            "svc/app.go",
            "db.Exec(q, \"x\") // dbveto: ignore[check-value-rejected]\ndb.Exec(q, \"y\")\n",
        )]);
        let findings = vec![finding("check-value-rejected", "svc/app.go", 1), finding("value-too-long", "svc/app.go", 1), finding("check-value-rejected", "svc/app.go", 2)];
        let (kept, diags) = apply(findings, &s, RAN);
        let kept: Vec<(&str, u32)> = kept.iter().map(|f| (f.rule, f.location.line)).collect();
        assert_eq!(kept, [("value-too-long", 1), ("check-value-rejected", 2)]);
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn bare_ignore_in_python_and_sql() {
        let s = sources(&[("a.py", "cur.execute(SQL, ('x',))  # dbveto: ignore\n"), ("m/1_a.up.sql", "ALTER TABLE t ADD c int NOT NULL; -- dbveto: ignore[add-not-null-without-default]\n")]);
        let findings = vec![finding("check-value-rejected", "a.py", 1), finding("value-too-long", "a.py", 1), finding("add-not-null-without-default", "m/1_a.up.sql", 1)];
        let ran = ["check-value-rejected", "value-too-long", "add-not-null-without-default"];
        let (kept, diags) = apply(findings, &s, &ran);
        assert!(kept.is_empty());
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn a_marker_inside_a_string_is_not_a_suppression() {
        let s = sources(&[("a.py", "cur.execute(\"INSERT INTO t VALUES ('# dbveto: ignore')\")\n")]);
        let (kept, diags) = apply(vec![finding("check-value-rejected", "a.py", 1)], &s, RAN);
        assert_eq!(kept.len(), 1);
        assert!(diags.is_empty());
    }

    #[test]
    fn the_line_above_is_not_covered() {
        let s = sources(&[("a.py", "# dbveto: ignore\ncur.execute(SQL, ('x',))\n")]);
        let (kept, diags) = apply(vec![finding("check-value-rejected", "a.py", 2)], &s, RAN);
        assert_eq!(kept.len(), 1);
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.starts_with("unused suppression"), "{diags:?}");
    }

    #[test]
    fn unknown_and_unused_rules_are_warnings_but_rules_not_run_are_not() {
        let s = sources(&[("a.py", "x = 1  # dbveto: ignore[no-such-rule, value-too-long, model-drift]\n")]);
        let (_, diags) = apply(Vec::new(), &s, RAN);
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            ["unknown rule `no-such-rule` in suppression; `dbveto rules` lists them", "unused suppression of `value-too-long`: no such finding on this line"]
        );
        assert_eq!((diags[0].location.line, diags[0].location.column), (1, 8));
    }
}
