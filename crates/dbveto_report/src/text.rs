//! The terminal format: one block per finding, with a code frame for the
//! write and one for each related place (the migration line above all).

use std::fmt::Write as _;

use dbveto_rules::{Finding, Verification, VerificationStatus};
use dbveto_source::{Diagnostic, Location, Severity};

use crate::Sources;

/// Colours on or off (on only for a terminal, never with `NO_COLOR`).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
    fn error(&self, s: &str) -> String {
        self.paint("1;31", s)
    }
    fn warning(&self, s: &str) -> String {
        self.paint("1;33", s)
    }
    fn gutter(&self, s: &str) -> String {
        self.paint("1;34", s)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

pub fn text(findings: &[Finding], diagnostics: &[Diagnostic], sources: &Sources, style: Style) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let label = match d.severity {
            Severity::Error => style.error("error"),
            Severity::Warning => style.warning("warning"),
            Severity::Info => style.bold("note"),
        };
        let _ = writeln!(out, "{label}: {}", style.bold(&d.message));
        let _ = writeln!(out, "  {} {}\n", style.gutter("-->"), d.location);
    }
    for f in findings {
        let label = match f.severity {
            Severity::Error => style.error(&format!("error[{}]", f.rule)),
            Severity::Warning => style.warning(&format!("warning[{}]", f.rule)),
            Severity::Info => style.bold(&format!("note[{}]", f.rule)),
        };
        let _ = writeln!(out, "{label}: {}", style.bold(&f.message));
        let width = std::iter::once(&f.location)
            .chain(f.related.iter().map(|r| &r.location))
            .map(|l| l.line.to_string().len())
            .max()
            .unwrap_or(1);
        let pad = " ".repeat(width);
        let _ = writeln!(out, "{pad}{} {}", style.gutter("-->"), f.location);
        frame(&mut out, sources, &f.location, '^', "", width, style);
        for r in &f.related {
            let _ = writeln!(out, "{pad}{} {}", style.gutter(":::"), r.location);
            frame(&mut out, sources, &r.location, '-', &r.message, width, style);
        }
        if let Some(help) = &f.help {
            let _ = writeln!(out, "{pad} {} help: {help}", style.gutter("="));
        }
        if let Some(v) = &f.verification {
            let _ = writeln!(out, "{pad} {} {}", style.gutter("="), verification(v, style));
        }
        let _ = writeln!(out);
    }
    out
}

/// `confirmed by PostgreSQL: SQLSTATE 23514 new row for relation ...`.
fn verification(v: &Verification, style: Style) -> String {
    let code = v.sqlstate.as_deref().map(|c| format!("SQLSTATE {c} ")).unwrap_or_default();
    match v.status {
        VerificationStatus::Confirmed => format!("{} {code}{}", style.bold("confirmed by PostgreSQL:"), v.message),
        VerificationStatus::NotReproduced => format!("{} {code}{}", style.warning("NOT reproduced by PostgreSQL:"), v.message),
        VerificationStatus::Skipped => format!("not verified: {}", v.message),
    }
}

fn frame(out: &mut String, sources: &Sources, at: &Location, mark: char, label: &str, width: usize, style: Style) {
    let bar = style.gutter("|");
    let pad = " ".repeat(width);
    let Some(line) = sources.get(&at.path).and_then(|f| f.line_text(at.line)) else {
        if !label.is_empty() {
            let _ = writeln!(out, "{pad} {bar} {label}");
        }
        return;
    };
    let line = line.replace('\t', "    ");
    let col = (at.column as usize).saturating_sub(1);
    // Columns count characters; tabs were widened above.
    let original = sources.get(&at.path).and_then(|f| f.line_text(at.line)).unwrap_or("");
    let before: String = original.chars().take(col).collect();
    let indent = before.replace('\t', "    ").chars().count();
    let token = token_len(original.chars().skip(col).collect::<String>().as_str());
    let _ = writeln!(out, "{pad} {bar}");
    let _ = writeln!(out, "{} {bar} {line}", style.gutter(&format!("{:>width$}", at.line)));
    let marks: String = std::iter::repeat_n(mark, token).collect();
    let marks = if mark == '^' { style.error(&marks) } else { style.gutter(&marks) };
    let label = if label.is_empty() { String::new() } else { format!(" {label}") };
    let _ = writeln!(out, "{pad} {bar} {}{marks}{label}", " ".repeat(indent));
}

/// The length of the token at the start of `s`: a quoted string, a word, or one character.
fn token_len(s: &str) -> usize {
    let mut chars = s.chars();
    match chars.next() {
        Some(q @ ('\'' | '"' | '`')) => {
            let mut n = 1;
            let mut escaped = false;
            for c in chars {
                n += 1;
                if c == q && !escaped {
                    return n;
                }
                escaped = c == '\\' && !escaped;
            }
            n.min(60)
        }
        Some(c) if c.is_alphanumeric() || c == '_' => s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').count(),
        // A negative number.
        Some('-') if chars.clone().next().is_some_and(|c| c.is_ascii_digit()) => 1 + chars.take_while(|c| c.is_ascii_alphanumeric() || *c == '.').count(),
        Some(_) => 1,
        None => 1,
    }
}
