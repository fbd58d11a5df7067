//! An understood error resolved against the repository: the schema
//! objects it names, with their history, and the write sites that can
//! produce it, best first.

use dbveto_explain::{DbError, ErrorKind};
use dbveto_rules::{Finding, GivenName, ModelDrift};
use dbveto_schema::{Column, Constraint, ConstraintKind, EnumType, Table};
use dbveto_source::Location;
use dbveto_writes::{Arg, EmbeddedQuery, Literal, SqlText, Write, WriteKind};
use serde::Serialize;

use crate::analysis::{Analysis, Database};

/// Why a site is listed: the failing write itself, or the write that
/// must create the parent row first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Failing,
    CreatesParent,
    Definition,
}

/// A place in the code (or a migration) that explains the error.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub location: Location,
    pub role: Role,
    /// The statement that runs there, shortened.
    pub statement: Option<String>,
    /// Where the statement is, when the site is the value it sends.
    pub sent_by: Option<Location>,
    /// The `dbveto check` rule that reports it, when one does.
    pub rule: Option<&'static str>,
    pub reasons: Vec<String>,
    #[serde(skip)]
    pub score: i32,
    #[serde(skip)]
    writes: Vec<usize>,
}

pub struct Resolution<'a> {
    pub db: Option<&'a Database>,
    pub table: Option<&'a Table>,
    pub column: Option<&'a Column>,
    pub constraint: Option<&'a Constraint>,
    pub enum_type: Option<&'a EnumType>,
    /// Foreign keys: the referenced and the referencing table.
    pub parent: Option<&'a Table>,
    pub child: Option<&'a Table>,
    /// Django E034: the index name as the model gives it.
    pub index: Option<&'a GivenName>,
    /// The model whose table has the column it does not declare.
    pub drift: Option<&'a ModelDrift>,
    /// The value the database refused, when the error or a finding tells it.
    pub value: Option<Literal>,
    /// The statement of the error, as dbveto reads it.
    pub statement: Option<Write>,
    pub findings: Vec<Finding>,
    pub sites: Vec<Site>,
    pub notes: Vec<String>,
}

impl Resolution<'_> {
    /// Something in the repository matches the error.
    pub fn resolved(&self) -> bool {
        self.table.is_some() || self.constraint.is_some() || self.index.is_some() || self.enum_type.is_some()
    }
}

pub fn resolve<'a>(analysis: &'a Analysis, error: &DbError) -> Resolution<'a> {
    let mut r = Resolution {
        db: None,
        table: None,
        column: None,
        constraint: None,
        enum_type: None,
        parent: None,
        child: None,
        index: None,
        drift: None,
        value: None,
        statement: error.sql.as_deref().and_then(statement_write),
        findings: Vec::new(),
        sites: Vec::new(),
        notes: Vec::new(),
    };
    if error.kind == ErrorKind::IndexNameTooLong {
        resolve_index(analysis, error, &mut r);
        return r;
    }
    locate(analysis, error, &mut r);
    let rules: Vec<&dbveto_rules::Rule> = dbveto_rules::all().iter().collect();
    let findings = analysis.check(&rules);
    r.findings = findings.into_iter().filter(|f| relevant(f, error, &r)).collect();
    if r.value.is_none() {
        r.value = r.findings.iter().find_map(|f| f.value.clone()).filter(|_| error.kind != ErrorKind::NotNull);
    }
    if let (Some(table), Some(column)) = (r.table, r.column) {
        r.drift = analysis
            .facts
            .drifts
            .iter()
            .find(|d| d.table == table.name.name && d.database_only.iter().any(|(c, _, _)| *c == column.name));
    }
    if let (Some(drift), Some(column)) = (r.drift, r.column) {
        let others: Vec<String> = drift.database_only.iter().filter(|(c, _, fails)| *fails && *c != column.name).map(|(c, _, _)| format!("`{c}`")).collect();
        if !others.is_empty() {
            r.notes.push(format!(
                "the model `{}` does not declare {} other NOT NULL column{} without a default either: {}. PostgreSQL names only the first it meets; fixing `{}` alone reveals the next",
                drift.model,
                others.len(),
                if others.len() == 1 { "" } else { "s" },
                others.join(", "),
                column.name
            ));
        }
    }
    sites(analysis, error, &mut r);
    r
}

/// The SQL of the error, read like SQL found in code.
fn statement_write(sql: &str) -> Option<Write> {
    let at = Location { path: "<error>".into(), line: 1, column: 1 };
    let query = EmbeddedQuery { sql: SqlText::new(sql, at), params: Default::default(), call: None };
    dbveto_sql::extract_writes(&query).0.into_iter().next()
}

/// Every table of that name, in every database.
fn tables_named<'a>(analysis: &'a Analysis, name: &str) -> Vec<(&'a Database, &'a Table)> {
    analysis
        .databases
        .iter()
        .flat_map(|db| db.schema.tables.values().filter(move |t| t.name.name == name).map(move |t| (db, t)))
        .collect()
}

fn all_tables(analysis: &Analysis) -> impl Iterator<Item = (&Database, &Table)> {
    analysis.databases.iter().flat_map(|db| db.schema.tables.values().map(move |t| (db, t)))
}

/// Normalises a CHECK expression for comparison with SQLite's message.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace() && *c != '(' && *c != ')' && *c != '"').collect::<String>().to_lowercase()
}

fn locate<'a>(analysis: &'a Analysis, e: &DbError, r: &mut Resolution<'a>) {
    let constraint_matches = |c: &Constraint, name: &str| c.name == name || matches!(&c.kind, ConstraintKind::Check { expression, .. } if squash(expression) == squash(name));
    // The table the statement wrote, by the error's own words first.
    let table_name = e.table.clone().or_else(|| r.statement.as_ref().map(|w| w.table.name.clone()));
    let mut candidates: Vec<(&Database, &Table)> = match &table_name {
        Some(name) => tables_named(analysis, name),
        None => Vec::new(),
    };
    if candidates.is_empty() {
        if let Some(name) = &e.constraint {
            candidates = all_tables(analysis).filter(|(_, t)| t.constraints.iter().any(|c| constraint_matches(c, name))).collect();
            if candidates.is_empty() && e.kind == ErrorKind::Unique {
                candidates = analysis
                    .databases
                    .iter()
                    .flat_map(|db| db.schema.indexes.values().filter(|i| i.name.name == *name).filter_map(move |i| db.schema.tables.get(&i.table).map(|t| (db, t))))
                    .collect();
            }
        } else if let (Some(column), None) = (&e.column, &table_name) {
            candidates = all_tables(analysis).filter(|(_, t)| t.column(column).is_some()).collect();
            if candidates.len() > 1 {
                // The tables whose writes `dbveto check` already finds wrong for that column.
                let findings = analysis.check(&dbveto_rules::all().iter().collect::<Vec<_>>());
                let with: Vec<(&Database, &Table)> = candidates
                    .iter()
                    .copied()
                    .filter(|(_, t)| findings.iter().any(|f| f.table == t.name.to_string() && f.column.as_deref() == Some(column)))
                    .collect();
                if with.len() == 1 {
                    candidates = with;
                } else {
                    let names: Vec<String> = candidates.iter().map(|(_, t)| format!("`{}`", t.name)).collect();
                    r.notes.push(format!("column `{column}` is in {} tables ({}); the message does not say which", names.len(), names.join(", ")));
                    candidates.clear();
                }
            }
        } else if e.kind == ErrorKind::InvalidEnumValue {
            if let Some(ty) = &e.type_name {
                for db in &analysis.databases {
                    if let Some(en) = db.schema.enums.values().find(|en| en.name.name == *ty) {
                        r.enum_type = Some(en);
                        r.db = Some(db);
                        candidates = db.schema.tables.values().filter(|t| t.columns.iter().any(|c| c.data_type.name == *ty)).map(|t| (db, t)).collect();
                        if candidates.len() > 1 {
                            candidates.clear();
                        }
                        break;
                    }
                }
            }
        }
    }
    // Several databases with that table: the one that has the constraint.
    let pick = candidates
        .iter()
        .find(|(_, t)| e.constraint.as_ref().is_some_and(|n| t.constraints.iter().any(|c| constraint_matches(c, n))))
        .or(candidates.first())
        .copied();
    if candidates.len() > 1 {
        let dirs: Vec<&str> = candidates.iter().map(|(db, _)| db.set.dir.as_str()).collect();
        r.notes.push(format!("`{}` is in {} databases ({}); resolved against `{}`", candidates[0].1.name, dirs.len(), dirs.join(", "), pick.map_or("", |(db, _)| db.set.dir.as_str())));
    }
    let Some((db, table)) = pick else {
        if table_name.is_some() || e.constraint.is_some() || e.column.is_some() {
            r.notes.push("no migration in this repository creates the table or constraint the error names".into());
        }
        return;
    };
    r.db = Some(db);
    r.table = Some(table);
    r.constraint = e.constraint.as_ref().and_then(|n| table.constraints.iter().find(|c| constraint_matches(c, n)));
    // The column: named by the error, or the one the constraint is on.
    let column_name = e.column.clone().or_else(|| {
        let c = r.constraint?;
        match &c.kind {
            ConstraintKind::Check { predicate, .. } => match predicate.columns().as_slice() {
                [one] => Some(one.to_string()),
                _ => None,
            },
            _ => match c.columns.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            },
        }
    });
    r.column = column_name.as_ref().and_then(|c| table.column(c));
    if r.enum_type.is_none() {
        r.enum_type = r.column.and_then(|c| db.schema.enum_type(&c.data_type));
    }
    // Foreign keys: both ends.
    match e.kind {
        ErrorKind::ForeignKeyMissingParent | ErrorKind::ForeignKey => {
            r.child = Some(table);
            let fk = r.constraint.or_else(|| {
                // SQLite names nothing: the statement's foreign keys, when there is one.
                let fks: Vec<&Constraint> = table.constraints.iter().filter(|c| matches!(c.kind, ConstraintKind::ForeignKey { .. })).collect();
                match fks.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                }
            });
            r.constraint = fk;
            if let Some(Constraint { kind: ConstraintKind::ForeignKey { references, .. }, columns, .. }) = fk {
                r.parent = db.schema.tables.get(references);
                if r.column.is_none() {
                    if let [one] = columns.as_slice() {
                        r.column = table.column(one);
                    }
                }
            }
        }
        ErrorKind::ForeignKeyStillReferenced => {
            r.parent = Some(table);
            let child = e.child_table.as_ref().and_then(|n| db.schema.tables.values().find(|t| t.name.name == *n));
            r.child = child;
            r.constraint = child.and_then(|c| e.constraint.as_ref().and_then(|n| c.constraint(n)));
            r.column = None;
        }
        _ => {}
    }
    // The refused value: the failing row's, at the column's position.
    if let (Some(column), Some(row)) = (r.column, &e.failing_row) {
        if row.len() == table.columns.len() {
            if let Some(i) = table.columns.iter().position(|c| c.name == column.name) {
                r.value = Some(match &row[i] {
                    None => Literal::Null,
                    Some(v) => Literal::Str(v.clone()),
                });
            }
        } else {
            r.notes.push(format!(
                "the failing row has {} values and `{}` has {} columns: the row is not matched to columns",
                row.len(),
                table.name,
                table.columns.len()
            ));
        }
    }
    if r.value.is_none() && e.kind == ErrorKind::InvalidEnumValue {
        r.value = e.value.clone().map(Literal::Str);
    }
}

fn resolve_index<'a>(analysis: &'a Analysis, e: &DbError, r: &mut Resolution<'a>) {
    let Some(name) = &e.value else { return };
    let given: Vec<&GivenName> = analysis.facts.names.iter().filter(|g| g.name == *name).collect();
    // The model's `Meta.indexes` entry is the one the check reads.
    r.index = given.iter().find(|g| g.limit.is_some()).or(given.first()).copied();
    let Some(index) = r.index else {
        r.notes.push(format!("no model or migration in this repository names an index `{name}`"));
        return;
    };
    r.db = analysis.databases.iter().find(|db| db.set.tool == dbveto_discover::MigrationTool::Django);
    r.table = r.db.and_then(|db| db.schema.tables.values().find(|t| t.name.name == index.table));
    r.value = Some(Literal::Str(name.clone()));
    let site = |location: &Location, reason: String, role| Site {
        location: location.clone(),
        role,
        statement: None,
        sent_by: None,
        rule: Some("identifier-too-long"),
        reasons: vec![reason],
        score: 0,
        writes: Vec::new(),
    };
    let chars = name.chars().count();
    let max = e.max_length.unwrap_or(dbveto_django::INDEX_MAX_NAME as u32);
    r.sites.push(site(&index.location, format!("the model names the index `{name}` ({chars} characters, over {max}): the system check reads this"), Role::Definition));
    for rel in &index.related {
        r.sites.push(site(&rel.location, rel.message.clone(), Role::Definition));
    }
    for g in given.iter().filter(|g| !std::ptr::eq(**g, index)) {
        if !r.sites.iter().any(|s| s.location == g.location) {
            r.sites.push(site(&g.location, format!("`{name}` is also written here"), Role::Definition));
        }
    }
}

/// Whether a finding of `dbveto check` is about this error.
fn relevant(f: &Finding, e: &DbError, r: &Resolution<'_>) -> bool {
    let Some(table) = r.table else { return false };
    if f.table != table.name.to_string() {
        return false;
    }
    let column = r.column.map(|c| c.name.as_str());
    match e.kind {
        ErrorKind::NotNull => f.rule == "not-null-omitted" && f.column.as_deref() == column,
        ErrorKind::NullsInExistingRows => f.rule == "add-not-null-without-default" && f.column.as_deref() == column,
        ErrorKind::Check | ErrorKind::InvalidEnumValue => {
            f.rule == "check-value-rejected"
                && match (r.constraint, &f.constraint) {
                    (Some(c), Some(fc)) => c.name == *fc,
                    _ => column.is_some() && f.column.as_deref() == column,
                }
        }
        ErrorKind::ValueTooLong => {
            f.rule == "value-too-long" && (column.is_none() || f.column.as_deref() == column) && e.max_length.is_none_or(|n| f.message.contains(&format!("({n})")))
        }
        _ => false,
    }
}

/// Write sites, best first: `dbveto check` findings and the writes into
/// the table that can produce the error.
fn sites(analysis: &Analysis, e: &DbError, r: &mut Resolution<'_>) {
    let Some(table) = r.table else { return };
    let Some(db) = r.db else { return };
    let targets_table = |w: &Write| w.table.name == table.name.name && analysis.database_for(w).is_some_and(|d| std::ptr::eq(d, db));
    let writes: Vec<(usize, &Write)> = analysis.writes.iter().enumerate().filter(|(_, w)| targets_table(w)).collect();
    for f in &r.findings {
        let covered: Vec<usize> = writes
            .iter()
            .filter(|(_, w)| w.location == f.location || f.related.iter().any(|rel| rel.location == w.location))
            .map(|(i, _)| *i)
            .collect();
        let sent_by = covered.first().map(|i| analysis.writes[*i].location.clone()).filter(|l| *l != f.location);
        let statement = covered.first().map(|i| analysis.writes[*i].statement.clone());
        let role = if f.rule == "add-not-null-without-default" { Role::Definition } else { Role::Failing };
        match r.sites.iter_mut().find(|s| s.location == f.location) {
            Some(s) => s.reasons.push(f.message.clone()),
            None => r.sites.push(Site {
                location: f.location.clone(),
                role,
                statement,
                sent_by,
                rule: Some(f.rule),
                reasons: vec![f.message.clone()],
                score: 50,
                writes: covered,
            }),
        }
    }
    for (i, w) in writes {
        let (score, reasons) = evidence(e, r, table, w);
        if let Some(s) = r.sites.iter_mut().find(|s| s.writes.contains(&i)) {
            s.score += score;
            s.reasons.extend(reasons);
        } else if score > 0 {
            r.sites.push(Site {
                location: w.location.clone(),
                role: Role::Failing,
                statement: Some(w.statement.clone()),
                sent_by: None,
                rule: None,
                reasons,
                score,
                writes: vec![i],
            });
        }
    }
    // A missing parent: the code that creates parent rows must run first.
    if let (Some(parent), ErrorKind::ForeignKeyMissingParent | ErrorKind::ForeignKey) = (r.parent, e.kind) {
        for w in analysis.writes.iter().filter(|w| w.kind == WriteKind::Insert && w.table.name == parent.name.name) {
            r.sites.push(Site {
                location: w.location.clone(),
                role: Role::CreatesParent,
                statement: Some(w.statement.clone()),
                sent_by: None,
                rule: None,
                reasons: vec![format!("inserts the parent rows into `{}`: it must run, and be flushed, before the child rows are written", parent.name)],
                score: 1,
                writes: Vec::new(),
            });
        }
    }
    // The migration that made the column or constraint what it is, for
    // errors that a migration itself raises.
    if matches!(e.kind, ErrorKind::NullsInExistingRows | ErrorKind::CheckViolatedByExistingRow) && r.sites.is_empty() {
        let p = r.constraint.map(|c| &c.provenance.current).or(r.column.map(|c| &c.provenance.current));
        if let Some(p) = p {
            r.sites.push(Site {
                location: p.location.clone(),
                role: Role::Definition,
                statement: None,
                sent_by: None,
                rule: None,
                reasons: vec![format!("this migration fails on rows that already exist: {}", p.action)],
                score: 10,
                writes: Vec::new(),
            });
        }
    }
    let set_aside: Vec<String> = r.sites.iter().filter(|s| s.score <= 0 && s.reasons.iter().any(|m| m.starts_with("sends another value"))).map(|s| format!("{}", s.location)).collect();
    if !set_aside.is_empty() {
        r.notes.push(format!("set aside, because what they send differs from what the error shows: {}", set_aside.join(", ")));
    }
    r.sites.retain(|s| s.score > 0);
    r.sites.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| (a.role as u8).cmp(&(b.role as u8))).then_with(|| a.location.cmp(&b.location)));
}

/// The index of a table column in what a write sends.
fn sent<'w>(table: &Table, w: &'w Write, column: &str) -> Option<&'w Arg> {
    match &w.columns {
        Some(cols) => cols.iter().position(|c| dbveto_schema::truncate_identifier(c) == column).and_then(|i| w.values.get(i)),
        None => table.columns.iter().position(|c| c.name == column).and_then(|i| w.values.get(i)),
    }
}

/// How a known value compares with a value the error shows.
fn same_value(l: &Literal, shown: Option<&str>) -> Option<bool> {
    Some(match (l, shown) {
        (Literal::Null, None) => true,
        (Literal::Null, Some(_)) | (_, None) => false,
        (Literal::Str(s), Some(v)) => s == v,
        (Literal::Int(i), Some(v)) => v.parse::<i64>().ok()? == *i,
        (Literal::Bool(b), Some(v)) => matches!((b, v), (true, "t" | "true" | "True" | "1") | (false, "f" | "false" | "False" | "0")),
        (Literal::Num(_), Some(_)) => return None,
    })
}

/// What the error tells about one write into the table: a score and the
/// reasons for it.
fn evidence(e: &DbError, r: &Resolution<'_>, table: &Table, w: &Write) -> (i32, Vec<String>) {
    let mut score = 0;
    let mut reasons = Vec::new();
    if let Some(stmt) = &r.statement {
        if stmt.kind == w.kind && stmt.table.name == w.table.name {
            let set = |c: &Option<Vec<String>>| {
                let mut v: Vec<String> = c.clone().unwrap_or_default();
                v.sort();
                v
            };
            if set(&stmt.columns) == set(&w.columns) {
                score += 100;
                reasons.push("sends the statement in the error (same table and columns)".to_string());
            } else {
                score += 10;
                reasons.push(format!("{} into `{}` like the statement in the error, with other columns", if w.kind == WriteKind::Insert { "inserts" } else { "updates" }, table.name));
            }
        }
    }
    for frame in &e.frames {
        let on_path = frame.path == *w.location.path || frame.path.ends_with(&format!("/{}", w.location.path));
        let lines = [Some(w.location.line), w.call.as_ref().map(|c| c.line)];
        if on_path && lines.contains(&Some(frame.line)) {
            score += 80;
            reasons.push(format!("the traceback passes through this line (`{}`)", frame.function));
        }
    }
    // What the error shows the row held: the failing row, the parameters.
    let mut shown: Vec<(String, Option<String>)> = Vec::new();
    if let Some(row) = e.failing_row.as_ref().filter(|row| row.len() == table.columns.len()) {
        shown.extend(table.columns.iter().zip(row).map(|(c, v)| (c.name.clone(), v.clone())));
    }
    if let Some(dbveto_explain::Parameters::Named(params)) = &e.parameters {
        use dbveto_explain::Value;
        for (name, v) in params {
            let v = match v {
                Value::Str(s) | Value::Number(s) => Some(s.clone()),
                Value::Bool(b) => Some(if *b { "t".into() } else { "f".into() }),
                Value::None => None,
                Value::Other(_) => continue,
            };
            shown.push((name.clone(), v));
        }
    }
    for (column, v) in &shown {
        let Some(arg) = sent(table, w, column) else { continue };
        if arg.unknown || arg.default || arg.known.is_empty() {
            continue;
        }
        let verdicts: Vec<Option<bool>> = arg.known.iter().map(|k| same_value(&k.literal, v.as_deref())).collect();
        if verdicts.contains(&Some(true)) {
            score += 15;
            reasons.push(format!("sends {} for `{column}`, as the error shows", v.as_deref().map_or("NULL".to_string(), |v| format!("'{v}'"))));
        } else if verdicts.iter().all(|x| *x == Some(false)) {
            score -= 25;
            reasons.push(format!("sends another value for `{column}` than the error shows ({})", v.as_deref().unwrap_or("null")));
        }
    }
    let column = r.column.map(|c| c.name.as_str());
    match (e.kind, column) {
        (ErrorKind::NotNull, Some(column)) => match sent(table, w, column) {
            None if w.kind == WriteKind::Insert => {
                score += 30;
                reasons.push(format!("leaves out `{column}`"));
            }
            Some(arg) if arg.unknown => {
                score += 5;
                reasons.push(format!("sends `{column}` from a value known only at run time"));
            }
            _ => {}
        },
        (ErrorKind::Check | ErrorKind::InvalidEnumValue, Some(column)) => {
            if let Some(arg) = sent(table, w, column) {
                if arg.unknown {
                    score += 5;
                    reasons.push(format!("sends `{column}` from a value known only at run time"));
                }
                if let Some(value) = &r.value {
                    if arg.known.iter().any(|k| k.literal == *value) {
                        score += 40;
                        reasons.push(format!("sends {} for `{column}`, the refused value", value.to_sql()));
                    }
                }
            }
        }
        (ErrorKind::ForeignKeyMissingParent | ErrorKind::ForeignKey, _) => {
            let fk_columns = r.constraint.map(|c| c.columns.clone()).unwrap_or_default();
            if fk_columns.iter().any(|c| sent(table, w, c).is_some()) {
                score += 10;
                let parent = r.parent.map_or(String::new(), |p| format!(" to `{}`", p.name));
                reasons.push(format!("writes `{}`, the foreign key{parent}", fk_columns.join("`, `")));
            }
        }
        (ErrorKind::Unique, _) => {
            let key: Vec<String> = match (&e.key, r.constraint) {
                (Some(k), _) if !k.columns.is_empty() => k.columns.clone(),
                (_, Some(c)) => c.columns.clone(),
                _ => Vec::new(),
            };
            if !key.is_empty() && key.iter().all(|c| sent(table, w, c).is_some()) {
                score += 10;
                reasons.push(format!("writes the unique key ({})", key.join(", ")));
            }
        }
        (ErrorKind::ValueTooLong, _) => {
            let limited: Vec<&Column> = table
                .columns
                .iter()
                .filter(|c| c.data_type.length.is_some() && (e.max_length.is_none() || c.data_type.length == e.max_length))
                .filter(|c| column.is_none_or(|col| col == c.name))
                .collect();
            for c in limited {
                if sent(table, w, &c.name).is_some_and(|a| a.unknown) {
                    score += 5;
                    reasons.push(format!("sends `{}` ({}) from a value known only at run time", c.name, c.data_type.display()));
                }
            }
        }
        _ => {}
    }
    (score, reasons)
}
