//! The explanation for people (text, a Markdown incident report) and for
//! programs (JSON, fields only ever added).

use std::fmt::Write as _;

use dbveto_explain::{DbError, Dialect, ErrorKind};
use dbveto_schema::{ConstraintKind, History, Provenance};
use dbveto_source::Location;
use dbveto_writes::Literal;
use serde_json::json;

use super::fixes::Fix;
use super::resolve::{Resolution, Role, Site};
use crate::analysis::Analysis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

pub fn not_found(format: Format) -> String {
    let message = "no database error found in the input (expected a PostgreSQL, MySQL/MariaDB or SQLite constraint error, or a Django system check)";
    match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&json!({"version": dbveto_report::JSON_VERSION, "resolved": false, "error": null, "message": message})).unwrap_or_default()),
        _ => format!("{message}\n"),
    }
}

pub fn render(format: Format, analysis: &Analysis, e: &DbError, r: &Resolution<'_>, fixes: &[Fix]) -> String {
    match format {
        Format::Text => text(analysis, e, r, fixes),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&to_json(e, r, fixes)).unwrap_or_default()),
        Format::Markdown => markdown(analysis, e, r, fixes),
    }
}

fn code_of(e: &DbError) -> String {
    match (&e.sqlstate, e.errno, &e.check_id) {
        (_, Some(n), _) => n.to_string(),
        (Some(s), _, _) => s.clone(),
        (_, _, Some(id)) => id.clone(),
        _ => e.kind.describe().to_string(),
    }
}

fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::Postgresql => "PostgreSQL",
        Dialect::Mysql => "MySQL/MariaDB",
        Dialect::Mariadb => "MariaDB",
        Dialect::Sqlite => "SQLite",
        Dialect::Django => "Django",
    }
}

/// `CHECK violation; PostgreSQL via psycopg2, raised as sqlalchemy.exc.IntegrityError`.
fn origin(e: &DbError) -> String {
    let mut s = format!("{}; {}", e.kind.describe(), dialect_name(e.dialect));
    if let Some(d) = &e.driver {
        let _ = write!(s, " via {d}");
    }
    if !e.wrappers.is_empty() {
        let _ = write!(s, ", raised as {}", e.wrappers.join(" then "));
    }
    s
}

fn at(p: &Provenance) -> String {
    format!("{} ({})", p.location, p.action)
}

fn definition(r: &Resolution<'_>) -> Option<String> {
    let c = r.constraint?;
    Some(match &c.kind {
        ConstraintKind::Check { expression, .. } => format!("CHECK ({})", super::fixes::unparen(expression)),
        ConstraintKind::ForeignKey { references, referenced_columns, deferrable, initially_deferred, .. } => format!(
            "FOREIGN KEY ({}) REFERENCES {references} ({}){}",
            c.columns.join(", "),
            referenced_columns.join(", "),
            match (deferrable, initially_deferred) {
                (true, true) => " DEFERRABLE INITIALLY DEFERRED",
                (true, false) => " DEFERRABLE",
                _ => "",
            }
        ),
        kind => format!("{} ({})", kind.label().to_uppercase(), c.columns.join(", ")),
    })
}

/// One sentence: what failed, where, because of what.
fn summary(e: &DbError, r: &Resolution<'_>) -> String {
    let table = r.table.map(|t| t.name.to_string()).or(e.table.clone()).unwrap_or_else(|| "?".into());
    let sites = r.sites.iter().filter(|s| s.role == Role::Failing).count();
    let site_text = match sites {
        0 => "no write site in the code was matched".to_string(),
        1 => "1 write site in the code can produce it".to_string(),
        n => format!("{n} write sites in the code can produce it"),
    };
    match e.kind {
        ErrorKind::NotNull => {
            let c = r.column.map(|c| c.name.clone()).or(e.column.clone()).unwrap_or_default();
            match r.drift {
                Some(d) => format!("Inserts into `{table}` fail: `{c}` is NOT NULL without a default, and the model `{}` does not declare it, so Django never sends it; {site_text}.", d.model),
                None => format!("Inserts into `{table}` fail: `{c}` is NOT NULL without a default and the write does not give it a value; {site_text}."),
            }
        }
        ErrorKind::Check | ErrorKind::InvalidEnumValue => {
            let value = r.value.as_ref().map(|v| format!(" {}", v.to_sql())).unwrap_or_default();
            let what = r.constraint.map(|c| format!("check constraint `{}`", c.name)).or(r.enum_type.map(|en| format!("enum type `{}`", en.name))).unwrap_or_else(|| "a constraint".into());
            format!("Writes into `{table}` fail: the value{value} is not allowed by {what}; {site_text}.")
        }
        ErrorKind::ForeignKeyMissingParent | ErrorKind::ForeignKey => {
            let parent = r.parent.map(|p| p.name.to_string()).or(e.parent_table.clone()).unwrap_or_else(|| "the parent table".into());
            let mut s = format!("Writes into `{table}` fail: the row points at a `{parent}` row that does not exist (yet); {site_text}.");
            if e.pending_rollback {
                s.push_str(" The session was not rolled back after the failure, so every later statement on it failed too (PendingRollbackError).");
            }
            s
        }
        ErrorKind::ForeignKeyStillReferenced => {
            let child = r.child.map(|c| c.name.to_string()).or(e.child_table.clone()).unwrap_or_default();
            format!("A delete or key update on `{table}` fails: rows of `{child}` still reference it.")
        }
        ErrorKind::Unique => format!("Inserts into `{table}` fail: the key already exists; {site_text}."),
        ErrorKind::ValueTooLong => {
            let c = r.column.map(|c| format!("`{table}.{}`", c.name)).unwrap_or_else(|| format!("a column of `{table}`"));
            format!("Writes fail: a value is longer than {c} allows; {site_text}.")
        }
        ErrorKind::NullsInExistingRows | ErrorKind::CheckViolatedByExistingRow => format!("A migration fails on `{table}`: rows that already exist do not satisfy the new constraint."),
        ErrorKind::IndexNameTooLong => {
            let name = e.value.clone().unwrap_or_default();
            format!(
                "Django refuses to start: the index name `{name}` has {} characters, over Django's limit of {} (system check models.E034).",
                name.chars().count(),
                e.max_length.unwrap_or(30)
            )
        }
        ErrorKind::InvalidInput => format!("A value does not convert to the column's type on `{table}`."),
    }
}

fn history_lines(out: &mut String, indent: &str, h: &History) {
    let mut previous: Option<&Location> = None;
    for (i, p) in h.history.iter().enumerate() {
        // One statement may change an object twice (a type, then NOT NULL).
        if previous == Some(&p.location) {
            continue;
        }
        previous = Some(&p.location);
        let verb = if i == 0 { "created" } else { "changed" };
        let _ = writeln!(out, "{indent}{verb} at {}", at(p));
    }
}

fn quote_line(analysis: &Analysis, l: &Location) -> Option<String> {
    analysis.sources.get(&l.path).and_then(|f| f.line_text(l.line)).map(|s| s.trim_end().to_string())
}

fn text(analysis: &Analysis, e: &DbError, r: &Resolution<'_>, fixes: &[Fix]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "error[{}]: {}", code_of(e), e.message);
    if let Some(d) = &e.detail {
        let _ = writeln!(out, "  = detail: {d}");
    }
    let _ = writeln!(out, "  = {}", origin(e));
    let _ = writeln!(out, "\n{}\n", summary(e, r));
    if let Some(db) = r.db {
        let _ = writeln!(out, "database: {} ({:?})", db.set.dir, db.set.tool);
    }
    if let Some(t) = r.table {
        let _ = writeln!(out, "table `{}`", t.name);
        history_lines(&mut out, "  ", &t.provenance);
    }
    if let Some(c) = r.column {
        let nullability = if c.not_null { " NOT NULL" } else { "" };
        let default = c.default.as_ref().map(|d| format!(" DEFAULT {d}")).unwrap_or_default();
        let _ = writeln!(out, "column `{}`: {}{nullability}{default}", c.name, c.data_type.display());
        history_lines(&mut out, "  ", &c.provenance);
    }
    if let (Some(c), Some(def)) = (r.constraint, definition(r)) {
        let _ = writeln!(out, "constraint `{}`: {def}", c.name);
        history_lines(&mut out, "  ", &c.provenance);
    }
    if let Some(p) = r.parent.filter(|p| r.table.is_none_or(|t| t.name != p.name)) {
        let _ = writeln!(out, "parent table `{}`", p.name);
        history_lines(&mut out, "  ", &p.provenance);
    }
    if let Some(c) = r.child.filter(|c| r.table.is_none_or(|t| t.name != c.name)) {
        let _ = writeln!(out, "child table `{}`", c.name);
        history_lines(&mut out, "  ", &c.provenance);
    }
    if let Some(en) = r.enum_type {
        let labels: Vec<String> = en.labels.iter().map(|l| format!("'{l}'")).collect();
        let _ = writeln!(out, "enum `{}`: {}", en.name, labels.join(", "));
        history_lines(&mut out, "  ", &en.provenance);
    }
    if let Some(d) = r.drift {
        let _ = writeln!(out, "model `{}` at {} does not declare the column", d.model, d.location);
    }
    if let Some(v) = r.value.as_ref().filter(|_| e.kind != ErrorKind::IndexNameTooLong) {
        let _ = writeln!(out, "refused value: {}", v.to_sql());
    }
    if !r.sites.is_empty() {
        let _ = writeln!(out, "\nsites, best first:");
        for (i, s) in r.sites.iter().enumerate() {
            site_text(&mut out, analysis, i + 1, s);
        }
    }
    if !fixes.is_empty() {
        let _ = writeln!(out, "\nfixes:");
        for (i, f) in fixes.iter().enumerate() {
            match f {
                Fix::Migration { title, files, note } => {
                    let _ = writeln!(out, "  {}. migration: {title}", i + 1);
                    for file in files {
                        let _ = writeln!(out, "     + {}", file.path);
                        for line in file.content.lines() {
                            let _ = writeln!(out, "       | {line}");
                        }
                    }
                    if let Some(n) = note {
                        let _ = writeln!(out, "     note: {n}");
                    }
                }
                Fix::Code { title, location, change } => {
                    let place = location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default();
                    let _ = writeln!(out, "  {}. code{place}: {title}", i + 1);
                    for line in change.lines() {
                        let _ = writeln!(out, "       | {line}");
                    }
                }
            }
        }
    }
    for n in &r.notes {
        let _ = writeln!(out, "\nnote: {n}");
    }
    if !r.resolved() {
        let _ = writeln!(out, "\nnothing in this repository matches the error");
    }
    out
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Failing => "",
        Role::CreatesParent => " (creates the parent rows)",
        Role::Definition => " (definition)",
    }
}

fn site_text(out: &mut String, analysis: &Analysis, n: usize, s: &Site) {
    let rule = s.rule.map(|r| format!(" [{r}]")).unwrap_or_default();
    let _ = writeln!(out, "  {n}. {}{rule}{}", s.location, role_label(s.role));
    if let Some(line) = quote_line(analysis, &s.location) {
        let _ = writeln!(out, "     {:>4} | {}", s.location.line, line.replace('\t', "    "));
    }
    for reason in &s.reasons {
        let _ = writeln!(out, "     - {reason}");
    }
    if let Some(by) = &s.sent_by {
        let stmt = s.statement.as_ref().map(|st| format!(": `{st}`")).unwrap_or_default();
        let _ = writeln!(out, "     sent by {by}{stmt}");
    }
}

fn loc_json(l: &Location) -> serde_json::Value {
    json!({"path": &*l.path, "line": l.line, "column": l.column})
}

fn history_json(h: &History) -> serde_json::Value {
    json!(h.history.iter().map(|p| json!({"location": loc_json(&p.location), "action": p.action})).collect::<Vec<_>>())
}

fn to_json(e: &DbError, r: &Resolution<'_>, fixes: &[Fix]) -> serde_json::Value {
    json!({
        "version": dbveto_report::JSON_VERSION,
        "resolved": r.resolved(),
        "summary": summary(e, r),
        "error": e,
        "database": r.db.map(|db| json!({"dir": db.set.dir, "tool": db.set.tool})),
        "table": r.table.map(|t| json!({"name": t.name.to_string(), "history": history_json(&t.provenance)})),
        "column": r.column.map(|c| json!({
            "name": c.name,
            "type": c.data_type.display(),
            "not_null": c.not_null,
            "default": c.default,
            "history": history_json(&c.provenance),
        })),
        "constraint": r.constraint.map(|c| json!({
            "name": c.name,
            "kind": c.kind.label(),
            "definition": definition(r),
            "history": history_json(&c.provenance),
        })),
        "parent_table": r.parent.map(|t| json!({"name": t.name.to_string(), "history": history_json(&t.provenance)})),
        "child_table": r.child.map(|t| json!({"name": t.name.to_string(), "history": history_json(&t.provenance)})),
        "enum": r.enum_type.map(|en| json!({"name": en.name.to_string(), "labels": en.labels, "history": history_json(&en.provenance)})),
        "index": r.index.map(|i| json!({
            "name": i.name,
            "table": i.table,
            "location": loc_json(&i.location),
            "related": i.related.iter().map(|rel| json!({"location": loc_json(&rel.location), "message": rel.message})).collect::<Vec<_>>(),
        })),
        "model": r.drift.map(|d| json!({"name": d.model, "location": loc_json(&d.location)})),
        "value": r.value,
        "sites": r.sites.iter().map(|s| json!({
            "location": loc_json(&s.location),
            "role": s.role,
            "rule": s.rule,
            "statement": s.statement,
            "sent_by": s.sent_by.as_ref().map(loc_json),
            "reasons": s.reasons,
        })).collect::<Vec<_>>(),
        "fixes": fixes,
        "notes": r.notes,
    })
}

fn lang(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("go") => "go",
        Some("py") => "python",
        Some("sql") => "sql",
        _ => "text",
    }
}

/// Up to two lines either side of a location, numbered.
fn snippet(analysis: &Analysis, l: &Location) -> Option<String> {
    let f = analysis.sources.get(&l.path)?;
    let first = l.line.saturating_sub(2).max(1);
    let last = (l.line + 2).min(f.line_count());
    let mut s = String::new();
    for n in first..=last {
        let text = f.line_text(n)?;
        let mark = if n == l.line { ">" } else { " " };
        let _ = writeln!(s, "{mark}{n:>4} | {}", text.trim_end());
    }
    Some(s)
}

fn markdown(analysis: &Analysis, e: &DbError, r: &Resolution<'_>, fixes: &[Fix]) -> String {
    let mut out = String::new();
    let subject = r.table.map(|t| format!(" on `{}`", t.name)).or(e.table.as_ref().map(|t| format!(" on `{t}`"))).unwrap_or_default();
    let _ = writeln!(out, "# Incident report: {}{subject}\n", e.kind.describe());
    let _ = writeln!(out, "## Summary\n\n{}\n", summary(e, r));
    let _ = writeln!(out, "## Error\n\n```text\n{}", e.message);
    if let Some(d) = &e.detail {
        let _ = writeln!(out, "DETAIL:  {d}");
    }
    if let Some(h) = &e.hint {
        let _ = writeln!(out, "HINT:  {h}");
    }
    let _ = writeln!(out, "```\n");
    let _ = writeln!(out, "- Kind: {}", origin(e));
    if let Some(s) = &e.sqlstate {
        let _ = writeln!(out, "- SQLSTATE: `{s}`");
    }
    if let Some(n) = e.errno {
        let _ = writeln!(out, "- Error number: {n}");
    }
    if let Some(sql) = &e.sql {
        let _ = writeln!(out, "- Statement: `{}`", sql.replace('\n', " "));
    }
    if let Some(v) = r.value.as_ref().filter(|_| e.kind != ErrorKind::IndexNameTooLong) {
        let _ = writeln!(out, "- Refused value: {}", v.to_sql());
    }
    let _ = writeln!(out, "\n## Root cause\n\n{}\n", root_cause(e, r));
    let mut schema = String::new();
    if let Some(t) = r.table {
        for (i, p) in t.provenance.history.iter().enumerate() {
            let _ = writeln!(schema, "- Table `{}` {} at `{}:{}` ({})", t.name, if i == 0 { "created" } else { "changed" }, p.location.path, p.location.line, p.action);
        }
    }
    if let Some(c) = r.column {
        for (i, p) in c.provenance.history.iter().enumerate() {
            let _ = writeln!(schema, "- Column `{}` {} at `{}:{}` ({})", c.name, if i == 0 { "created" } else { "changed" }, p.location.path, p.location.line, p.action);
        }
    }
    if let Some(c) = r.constraint {
        for (i, p) in c.provenance.history.iter().enumerate() {
            let _ = writeln!(schema, "- Constraint `{}` {} at `{}:{}` ({})", c.name, if i == 0 { "created" } else { "changed" }, p.location.path, p.location.line, p.action);
        }
    }
    if !schema.is_empty() {
        let _ = writeln!(out, "Schema history:\n\n{schema}");
    }
    let _ = writeln!(out, "## Evidence\n");
    if r.sites.is_empty() {
        let _ = writeln!(out, "No site in the repository was matched.\n");
    }
    for (i, s) in r.sites.iter().enumerate() {
        let rule = s.rule.map(|r| format!(" (`dbveto check`: {r})")).unwrap_or_default();
        let _ = writeln!(out, "### {}. `{}:{}`{}{rule}\n", i + 1, s.location.path, s.location.line, role_label(s.role));
        if let Some(snip) = snippet(analysis, &s.location) {
            let _ = writeln!(out, "```{}\n{snip}```\n", lang(&s.location.path));
        }
        for reason in &s.reasons {
            let _ = writeln!(out, "- {reason}");
        }
        if let Some(by) = &s.sent_by {
            let _ = writeln!(out, "- Sent by `{}:{}`{}", by.path, by.line, s.statement.as_ref().map(|st| format!(": `{st}`")).unwrap_or_default());
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## Impact\n\n{}\n", impact(e, r));
    let _ = writeln!(out, "## Fix options\n");
    if fixes.is_empty() {
        let _ = writeln!(out, "No fix is proposed: the error did not resolve to a schema object of this repository.\n");
    }
    for (i, f) in fixes.iter().enumerate() {
        match f {
            Fix::Migration { title, files, note } => {
                let _ = writeln!(out, "### Option {}: migration — {title}\n", i + 1);
                for file in files {
                    let _ = writeln!(out, "`{}`:\n\n```{}\n{}```\n", file.path, lang(&file.path), file.content);
                }
                if let Some(n) = note {
                    let _ = writeln!(out, "Note: {n}\n");
                }
            }
            Fix::Code { title, location, change } => {
                let place = location.as_ref().map(|l| format!(" (`{}:{}`)", l.path, l.line)).unwrap_or_default();
                let _ = writeln!(out, "### Option {}: code — {title}{place}\n\n```text\n{change}\n```\n", i + 1);
            }
        }
    }
    let _ = writeln!(out, "## Test plan\n");
    for (i, step) in test_plan(e, r).iter().enumerate() {
        let _ = writeln!(out, "{}. {step}", i + 1);
    }
    if !r.notes.is_empty() {
        let _ = writeln!(out, "\n## Notes\n");
        for n in &r.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}

fn root_cause(e: &DbError, r: &Resolution<'_>) -> String {
    let Some(table) = r.table.map(|t| t.name.to_string()) else {
        if let Some(i) = r.index {
            return format!(
                "Django's `Index.max_name_length` is 30 characters on every database backend; the model sets `{}` at `{}:{}`. The system check runs before every management command, so nothing starts.",
                i.name, i.location.path, i.location.line
            );
        }
        return "The error names no table, column or constraint that the migrations of this repository create.".into();
    };
    let since = |h: &History| format!("`{}:{}` ({})", h.current.location.path, h.current.location.line, h.current.action);
    match e.kind {
        ErrorKind::NotNull => match (r.column, r.drift) {
            (Some(c), Some(d)) => format!(
                "`{table}.{}` is NOT NULL without a database default since {}. The model `{}` (`{}:{}`) does not declare it, and Django's INSERT lists only the fields a model declares: the column is never sent, so PostgreSQL fills it with NULL and refuses the row.",
                c.name, since(&c.provenance), d.model, d.location.path, d.location.line
            ),
            (Some(c), None) => format!("`{table}.{}` is NOT NULL without a database default since {}; the writes below leave it out or send NULL.", c.name, since(&c.provenance)),
            _ => format!("A NOT NULL column of `{table}` gets no value."),
        },
        ErrorKind::Check | ErrorKind::InvalidEnumValue => {
            let value = r.value.as_ref().map_or("The refused value".to_string(), Literal::to_sql);
            match (r.constraint, r.enum_type, definition(r)) {
                (Some(c), _, Some(def)) => format!("{value} is outside `{}` = `{def}`, defined at {}. The code writes a value the schema was never changed to allow.", c.name, since(&c.provenance)),
                (_, Some(en), _) => format!("{value} is not a label of enum `{}` (defined at {}).", en.name, since(&en.provenance)),
                _ => format!("{value} is outside a constraint of `{table}`."),
            }
        }
        ErrorKind::ForeignKeyMissingParent | ErrorKind::ForeignKey => {
            let mut s = match (r.constraint, r.parent, definition(r)) {
                (Some(c), Some(p), Some(def)) => format!(
                    "`{table}` has `{}` = `{def}` (defined at {}). The `{table}` row was written before a `{}` row with that key existed{}.",
                    c.name,
                    since(&c.provenance),
                    p.name,
                    e.key.as_ref().map(|k| format!(" (key {} = {})", k.columns.join(", "), k.values)).unwrap_or_default()
                ),
                _ => format!("A `{table}` row references a parent row that does not exist."),
            };
            if e.pending_rollback {
                s.push_str(" The code caught the error and went on using the same SQLAlchemy session without `rollback()`: every later statement raised PendingRollbackError, so the failure cascaded.");
            }
            s
        }
        ErrorKind::ForeignKeyStillReferenced => match (r.constraint, r.child, definition(r)) {
            (Some(c), Some(child), Some(def)) => format!("`{}` has `{}` = `{def}` (defined at {}) without ON DELETE: a `{table}` row with children cannot be deleted.", child.name, c.name, since(&c.provenance)),
            _ => format!("Rows still reference the `{table}` row being deleted."),
        },
        ErrorKind::Unique => format!("The code inserts a key that `{table}` already holds{}.", r.constraint.map(|c| format!(" (`{}` at {})", c.name, since(&c.provenance))).unwrap_or_default()),
        ErrorKind::ValueTooLong => match r.column {
            Some(c) => format!("`{table}.{}` is `{}` since {}; the code writes longer values.", c.name, c.data_type.display(), since(&c.provenance)),
            None => "A value is longer than its column allows.".into(),
        },
        ErrorKind::NullsInExistingRows => format!("The migration makes a column of `{table}` NOT NULL while existing rows hold NULL in it."),
        ErrorKind::CheckViolatedByExistingRow => format!("The migration adds a CHECK to `{table}` that existing rows fail."),
        ErrorKind::IndexNameTooLong | ErrorKind::InvalidInput => summary(e, r),
    }
}

fn impact(e: &DbError, r: &Resolution<'_>) -> String {
    let n = r.sites.iter().filter(|s| s.role == Role::Failing).count();
    let mut s = match e.kind {
        ErrorKind::IndexNameTooLong => "Every Django management command stops at the system check: `migrate`, `runserver`, workers and schedulers do not start until the name is fixed.".to_string(),
        ErrorKind::NullsInExistingRows | ErrorKind::CheckViolatedByExistingRow => "The migration stops and rolls back; the migrations after it do not run, and the code that needs them fails.".to_string(),
        _ => format!(
            "The statement fails and its transaction rolls back. {} A caller that only logs the error loses the write silently.",
            match n {
                0 => "No write site was matched in the code.".to_string(),
                1 => "One write site in the code can hit it (listed under Evidence).".to_string(),
                n => format!("{n} write sites in the code can hit it (listed under Evidence)."),
            }
        ),
    };
    if e.kind == ErrorKind::NotNull && r.drift.is_some() {
        s.push_str(" Every insert through the model fails, not only this one: the column is never sent.");
    }
    if e.pending_rollback {
        s.push_str(" After the first failure the SQLAlchemy session refuses every statement until `rollback()` (PendingRollbackError): unrelated writes on the same session fail too.");
    }
    s
}

fn test_plan(e: &DbError, r: &Resolution<'_>) -> Vec<String> {
    let mut steps = Vec::new();
    let tool = r.db.map(|db| db.set.tool);
    let apply = match tool {
        Some(dbveto_discover::MigrationTool::Django) => "`python manage.py migrate`, then migrate back to the previous migration and forward again".to_string(),
        Some(dbveto_discover::MigrationTool::GolangMigrate) => format!("`migrate -path {} -database \"$DATABASE_URL\" up 1`, `down 1`, `up 1`", r.db.map_or("", |d| d.set.dir.as_str())),
        _ => "the migration tool's up, down and up again".to_string(),
    };
    if e.kind == ErrorKind::IndexNameTooLong {
        steps.push("`python manage.py check` reports no issues (before the fix it prints models.E034).".to_string());
        steps.push(format!("On a database that already has the old index, apply the rename: {apply}."));
        steps.push("`python manage.py makemigrations --check` reports no changes.".to_string());
        steps.push("`dbveto check` no longer reports identifier-too-long for this name.".to_string());
        return steps;
    }
    steps.push(format!("Apply the migration on a copy of the production database: {apply}."));
    let t = r.table.map(|t| t.name.to_string()).unwrap_or_default();
    match (e.kind, r.column, r.constraint) {
        (ErrorKind::NotNull, Some(c), _) => steps.push(format!(
            "`SELECT is_nullable, column_default FROM information_schema.columns WHERE table_name = '{t}' AND column_name = '{}';` shows the new default (or `YES`).",
            c.name
        )),
        (ErrorKind::Check | ErrorKind::CheckViolatedByExistingRow, _, Some(c)) => {
            steps.push(format!("`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = '{}';` shows the new definition.", c.name))
        }
        (ErrorKind::ForeignKeyMissingParent | ErrorKind::ForeignKey | ErrorKind::ForeignKeyStillReferenced, _, Some(c)) => {
            steps.push(format!("`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = '{}';` shows what the migration set.", c.name))
        }
        _ => {}
    }
    let first = r.sites.iter().find(|s| s.role == Role::Failing);
    match first {
        Some(s) => steps.push(format!("Run the code path of `{}:{}` (a test that performs this write) against the migrated database: it succeeds, and it failed with {} before the fix.", s.location.path, s.location.line, e.sqlstate.clone().unwrap_or_else(|| e.kind.describe().into()))),
        None => steps.push("Repeat the operation that failed: it succeeds.".into()),
    }
    if e.pending_rollback {
        steps.push("Make the first write fail on purpose (a missing parent) and check that the writes after it still succeed: the session is rolled back.".into());
    }
    if r.sites.iter().any(|s| s.rule.is_some()) {
        steps.push("`dbveto check` no longer reports the sites listed under Evidence.".into());
    }
    steps
}
