//! `--statistics`: how many findings each rule has, most first (as ruff
//! prints them).

use std::fmt::Write as _;

use dbveto_rules::Finding;
use serde_json::{json, Value};

/// `(rule, count)`, most findings first, then by rule id.
pub fn counts(findings: &[Finding]) -> Vec<(&'static str, usize)> {
    let mut counts: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for f in findings {
        *counts.entry(f.rule).or_default() += 1;
    }
    let mut counts: Vec<(&'static str, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counts
}

pub fn statistics_text(findings: &[Finding]) -> String {
    let counts = counts(findings);
    let count_width = counts.iter().map(|(_, n)| n.to_string().len()).max().unwrap_or(1);
    let rule_width = counts.iter().map(|(r, _)| r.len()).max().unwrap_or(1);
    let mut out = String::new();
    for (rule, n) in counts {
        let summary = dbveto_rules::by_id(rule).map_or("", |r| r.summary);
        let _ = writeln!(out, "{n:>count_width$}\t{rule:<rule_width$}\t{summary}");
    }
    out
}

pub fn statistics_json(findings: &[Finding]) -> Value {
    Value::Array(
        counts(findings)
            .into_iter()
            .map(|(rule, count)| json!({"rule": rule, "summary": dbveto_rules::by_id(rule).map(|r| r.summary), "count": count}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::finding;

    #[test]
    fn most_findings_first() {
        let f = [finding("value-too-long", "a.py", 1), finding("not-null-omitted", "a.py", 2), finding("value-too-long", "a.py", 3)];
        assert_eq!(counts(&f), [("value-too-long", 2), ("not-null-omitted", 1)]);
        let text = statistics_text(&f);
        assert!(text.starts_with("2\tvalue-too-long  \t"), "{text}");
        assert_eq!(statistics_json(&f)[1]["count"], 1);
    }
}
