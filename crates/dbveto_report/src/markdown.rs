//! `--format markdown`: a report for a pull-request comment. A summary
//! line, a table of findings, then one collapsible section per finding
//! with the code line, the related places (quoted) and the fix.

use std::fmt::Write as _;

use dbveto_rules::Finding;
use dbveto_source::{Diagnostic, Location, Severity};

use crate::Sources;

pub fn markdown(findings: &[Finding], diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let mut out = String::from("## dbveto\n\n");
    if findings.is_empty() {
        out.push_str("No writes the database will veto.\n");
    } else {
        let noun = if findings.len() == 1 { "problem" } else { "problems" };
        let _ = writeln!(out, "Found {} {noun}.\n", findings.len());
        out.push_str("| | Rule | Location | Message |\n|---|---|---|---|\n");
        for f in findings {
            let _ = writeln!(out, "| {} | `{}` | `{}` | {} |", severity(f.severity), f.rule, f.location, cell(&f.message));
        }
        for f in findings {
            let _ = writeln!(out, "\n<details>\n<summary><code>{}</code> at <code>{}</code></summary>\n", f.rule, html(&f.location.to_string()));
            let _ = writeln!(out, "{}\n", f.message);
            quote(&mut out, sources, &f.location, "");
            for r in &f.related {
                quote(&mut out, sources, &r.location, &r.message);
            }
            if let Some(help) = &f.help {
                let _ = writeln!(out, "**help:** {help}\n");
            }
            out.push_str("</details>\n");
        }
    }
    if !diagnostics.is_empty() {
        let _ = writeln!(out, "\n<details>\n<summary>{} input problem(s)</summary>\n", diagnostics.len());
        for d in diagnostics {
            let _ = writeln!(out, "- {} `{}`: {}", severity(d.severity), d.location, d.message);
        }
        out.push_str("\n</details>\n");
    }
    out
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A place and its line of code, in a fenced block longer than any run of
/// backticks in the line.
fn quote(out: &mut String, sources: &Sources, at: &Location, label: &str) {
    let label = if label.is_empty() { String::new() } else { format!(": {label}") };
    let _ = writeln!(out, "`{at}`{label}\n");
    if let Some(line) = sources.get(&at.path).and_then(|f| f.line_text(at.line)) {
        let fence = "`".repeat(3.max(longest_backtick_run(line) + 1));
        let lang = language(&at.path);
        let _ = writeln!(out, "{fence}{lang}\n{}\n{fence}\n", line.trim_end());
    }
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

fn language(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("go") => "go",
        Some("py") => "python",
        Some("sql") => "sql",
        _ => "",
    }
}

/// A table cell: one line, `|` escaped.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{finding, sources};

    #[test]
    fn table_cells_stay_on_one_row() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
    }

    #[test]
    fn code_with_backticks_gets_a_longer_fence() {
        let s = sources(&[("q.go", "db.Exec(`INSERT ```x`)\n")]);
        let mut f = finding("check-value-rejected", "q.go", 1);
        f.related.clear();
        let out = markdown(&[f], &[], &s);
        assert!(out.contains("````go\ndb.Exec(`INSERT ```x`)\n````"), "{out}");
    }

    #[test]
    fn nothing_found_says_so() {
        assert_eq!(markdown(&[], &[], &Sources::default()), "## dbveto\n\nNo writes the database will veto.\n");
    }
}
