//! Small findings and sources for the renderers' unit tests.

use dbveto_rules::{Finding, Related};
use dbveto_source::{Location, Severity, SourceFile};

use crate::Sources;

pub fn sources(files: &[(&str, &str)]) -> Sources {
    let mut s = Sources::default();
    for (path, text) in files {
        s.insert(&SourceFile::new(*path, *text));
    }
    s
}

pub fn location(path: &str, line: u32, column: u32) -> Location {
    Location { path: path.into(), line, column }
}

pub fn finding(rule: &'static str, path: &str, line: u32) -> Finding {
    Finding {
        rule,
        message: "'x' violates check constraint `t_c_check`".into(),
        location: location(path, line, 1),
        table: "t".into(),
        column: Some("c".into()),
        constraint: Some("t_c_check".into()),
        value: None,
        related: vec![Related { location: location("db/1_t.up.sql", 3, 5), message: "check constraint `t_c_check` defined here".into() }],
        help: Some("allowed values: 'a'".into()),
        sqlstate: Some("23514"),
        severity: Severity::Error,
        verification: None,
    }
}
