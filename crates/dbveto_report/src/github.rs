//! `--format github`: GitHub Actions workflow commands, one line per
//! finding and per input problem, which GitHub shows as annotations on the
//! pull request: `::error file=…,line=…,col=…,title=…::message`.

use std::fmt::Write as _;

use dbveto_rules::Finding;
use dbveto_source::{Diagnostic, Location, Severity};

pub fn github(findings: &[Finding], diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        command(&mut out, d.severity, &d.location, "dbveto", &d.message);
    }
    for f in findings {
        let mut message = format!("{}: {}", f.location, f.message);
        for r in &f.related {
            let _ = write!(message, "\n  {}: {}", r.location, r.message);
        }
        if let Some(help) = &f.help {
            let _ = write!(message, "\nhelp: {help}");
        }
        command(&mut out, f.severity, &f.location, &format!("dbveto ({})", f.rule), &message);
    }
    out
}

fn command(out: &mut String, severity: Severity, at: &Location, title: &str, message: &str) {
    let name = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let _ = writeln!(
        out,
        "::{name} file={},line={},col={},title={}::{}",
        escape_property(&at.path),
        at.line,
        at.column,
        escape_property(title),
        escape_data(message)
    );
}

/// The message of a command: `%`, CR and LF are encoded (GitHub decodes
/// them, so a message keeps its lines).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property value: also `:` and `,`, which separate properties.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{finding, location};

    #[test]
    fn messages_and_properties_are_escaped() {
        assert_eq!(escape_data("100% a\r\nb: c, d"), "100%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn one_line_per_finding_with_related_places_in_the_message() {
        let out = github(&[finding("check-value-rejected", "dir,1/app.py", 4)], &[]);
        assert_eq!(out.lines().count(), 1);
        assert!(out.starts_with("::error file=dir%2C1/app.py,line=4,col=1,title=dbveto (check-value-rejected)::dir,1/app.py:4:1: "), "{out}");
        assert!(out.contains("%0A  db/1_t.up.sql:3:5: check constraint"), "{out}");
    }

    #[test]
    fn input_problems_are_warnings() {
        let d = Diagnostic { location: location("a.sql", 2, 1), severity: Severity::Warning, message: "syntax error".into() };
        assert_eq!(github(&[], &[d]), "::warning file=a.sql,line=2,col=1,title=dbveto::syntax error\n");
    }
}
