//! SQL found in code turned into `Write`s: which table, which columns, and
//! what each column gets, as far as it is known statically.

use std::collections::HashMap;

use dbveto_source::{Diagnostic, Location, Severity};
use dbveto_writes::{Arg, EmbeddedQuery, Params, TableRef, Write, WriteKind};
use pg_raw_parse::nodes::{InsertStmt, OnConflictAction, RangeVar, ResTarget, UpdateStmt, WithClause};
use pg_raw_parse::{Node, ParseResult};

use crate::expr;
use crate::placeholders::{normalize, Normalized, Slot};
use crate::statements::{leading_trivia, parse_sql, statement_range, summary};

/// The writes a query performs. A query that is run by a call and does
/// not parse gives a diagnostic; SQL-looking text that is not run by a
/// known call is dropped quietly when it does not parse (it may be prose).
pub fn extract_writes(query: &EmbeddedQuery) -> (Vec<Write>, Vec<Diagnostic>) {
    let normalized = normalize(&query.sql.text);
    let parsed = parse_sql(&normalized.text);
    let statements = statements_of(&query.sql.text, &normalized, &parsed);
    writes_of(query, &normalized, &parsed, &statements)
}

/// [`extract_writes`] of every query, in order, in parallel. Code often
/// runs the same SQL text in many places: each distinct text is parsed once.
pub fn extract_writes_all(queries: &[EmbeddedQuery]) -> Vec<(Vec<Write>, Vec<Diagnostic>)> {
    type Extracted = (Vec<Write>, Vec<Diagnostic>);
    use rayon::prelude::*;
    let mut by_text: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, q) in queries.iter().enumerate() {
        by_text.entry(q.sql.text.as_str()).or_default().push(i);
    }
    let groups: Vec<(&str, Vec<usize>)> = by_text.into_iter().collect();
    let done: Vec<(usize, Extracted)> = groups
        .par_iter()
        .flat_map_iter(|(text, indices)| {
            let normalized = normalize(text);
            let parsed = parse_sql(&normalized.text);
            let statements = statements_of(text, &normalized, &parsed);
            indices.iter().map(|&i| (i, writes_of(&queries[i], &normalized, &parsed, &statements))).collect::<Vec<_>>()
        })
        .collect();
    let mut out: Vec<Extracted> = Vec::new();
    out.resize_with(queries.len(), Default::default);
    for (i, result) in done {
        if let Some(slot) = out.get_mut(i) {
            *slot = result;
        }
    }
    out
}

/// Where each parsed statement of `text` starts (in the normalized text)
/// and how messages quote it: the same for every query that runs `text`.
fn statements_of(text: &str, normalized: &Normalized, parsed: &Result<ParseResult, String>) -> Vec<(usize, String)> {
    let Ok(parsed) = parsed else { return Vec::new() };
    parsed
        .iter()
        .map(|raw| {
            let (start, end) = statement_range(&normalized.text, raw);
            let stmt = normalized.text.get(start..end).unwrap_or("");
            let start = start + leading_trivia(stmt);
            // Messages quote the statement as the code spells it, placeholders and all.
            let original = text.get(normalized.original(start)..normalized.original(end)).unwrap_or(stmt);
            (start, summary(original))
        })
        .collect()
}

fn writes_of(
    query: &EmbeddedQuery,
    normalized: &Normalized,
    parsed: &Result<ParseResult, String>,
    statements: &[(usize, String)],
) -> (Vec<Write>, Vec<Diagnostic>) {
    let parsed = match parsed {
        Ok(p) => p,
        Err(message) => {
            let mut diagnostics = Vec::new();
            if let Some(call) = &query.call {
                let at = query.sql.location(leading_trivia(&query.sql.text)).unwrap_or_else(|| call.clone());
                diagnostics.push(Diagnostic {
                    location: at,
                    severity: Severity::Warning,
                    message: format!("could not parse SQL run here: {message}; its writes are not checked"),
                });
            }
            return (Vec::new(), diagnostics);
        }
    };
    let ctx = Context { query, normalized };
    let mut writes = Vec::new();
    for (raw, (start, summary)) in parsed.iter().zip(statements) {
        let stmt_ctx = StatementContext { ctx: &ctx, start: *start, summary };
        stmt_ctx.statement(raw.stmt(), &mut writes);
    }
    (writes, Vec::new())
}

struct Context<'a> {
    query: &'a EmbeddedQuery,
    normalized: &'a Normalized,
}

struct StatementContext<'a> {
    ctx: &'a Context<'a>,
    start: usize,
    summary: &'a str,
}

fn table_ref(rv: &RangeVar) -> TableRef {
    TableRef { schema: rv.schemaname().filter(|s| !s.is_empty()).map(str::to_string), name: rv.relname().unwrap_or("").to_string() }
}

impl StatementContext<'_> {
    fn location(&self, parser_offset: usize) -> Location {
        let original = self.ctx.normalized.original(parser_offset);
        self.ctx
            .query
            .sql
            .location(original)
            .or_else(|| self.ctx.query.call.clone())
            .unwrap_or_else(|| Location { path: "".into(), line: 1, column: 1 })
    }

    fn statement(&self, stmt: Node<'_>, writes: &mut Vec<Write>) {
        match stmt {
            Node::InsertStmt(i) => {
                self.ctes(i.with_clause(), writes);
                self.insert(i, writes);
            }
            Node::UpdateStmt(u) => {
                self.ctes(u.with_clause(), writes);
                self.update(u, writes);
            }
            Node::SelectStmt(s) => self.ctes(s.with_clause(), writes),
            _ => {}
        }
    }

    /// Data-modifying CTEs: `WITH x AS (INSERT ... RETURNING ...)`.
    fn ctes(&self, with: Option<&WithClause>, writes: &mut Vec<Write>) {
        for cte in with.into_iter().flat_map(|w| w.ctes()) {
            self.statement(cte.ctequery(), writes);
        }
    }

    fn write(&self, kind: WriteKind, table: TableRef, columns: Option<Vec<String>>, values: Vec<Arg>) -> Write {
        Write {
            kind,
            table,
            columns,
            values,
            location: self.location(self.start),
            call: self.ctx.query.call.clone(),
            model: None,
            partial: false,
            known_omitted: Vec::new(),
            statement: self.summary.to_string(),
        }
    }

    fn insert(&self, i: &InsertStmt, writes: &mut Vec<Write>) {
        let Some(rv) = i.relation() else { return };
        let table = table_ref(rv);
        let names: Vec<String> = i
            .cols()
            .iter()
            .filter_map(|c| match c {
                Node::ResTarget(t) => Some(t.name().unwrap_or("").to_string()),
                _ => None,
            })
            .collect();
        let columns = (!i.cols().is_empty()).then_some(names);
        let values = match i.select_stmt() {
            // DEFAULT VALUES
            Node::None => Some(Vec::new()),
            Node::SelectStmt(s) if !s.values_lists().is_empty() => {
                let mut merged: Vec<Arg> = Vec::new();
                for row in s.values_lists() {
                    let Node::NodeList(l) = row else { continue };
                    for (k, v) in l.iter().enumerate() {
                        let arg = self.value(v);
                        match merged.get_mut(k) {
                            Some(m) => m.merge(arg),
                            None => merged.push(arg),
                        }
                    }
                }
                Some(merged)
            }
            // INSERT ... SELECT: the columns are known, the values are not.
            _ => columns.as_ref().map(|c| vec![Arg::unknown(); c.len()]),
        };
        if let Some(values) = values {
            writes.push(self.write(WriteKind::Insert, table.clone(), columns, values));
        }
        if let Some(oc) = i.on_conflict_clause() {
            if oc.action == OnConflictAction::ONCONFLICT_UPDATE {
                let (cols, vals) = self.assignments(oc.target_list());
                writes.push(self.write(WriteKind::Update, table, Some(cols), vals));
            }
        }
    }

    fn update(&self, u: &UpdateStmt, writes: &mut Vec<Write>) {
        let Some(rv) = u.relation() else { return };
        let (cols, vals) = self.assignments(u.target_list());
        writes.push(self.write(WriteKind::Update, table_ref(rv), Some(cols), vals));
    }

    fn assignments<'t>(&self, targets: impl IntoIterator<Item = &'t ResTarget>) -> (Vec<String>, Vec<Arg>) {
        let mut cols = Vec::new();
        let mut vals = Vec::new();
        for t in targets {
            // `SET a.b = ...` writes into a composite or array element.
            if !t.indirection().is_empty() {
                continue;
            }
            cols.push(t.name().unwrap_or("").to_string());
            vals.push(match t.val() {
                Node::None | Node::MultiAssignRef(_) => Arg::unknown(),
                v => self.value(v),
            });
        }
        (cols, vals)
    }

    /// What one value expression sends.
    fn value(&self, v: Node<'_>) -> Arg {
        match v {
            Node::SetToDefault(_) => return Arg::default_keyword(),
            Node::ParamRef(p) => return self.param(p.number),
            Node::TypeCast(c) => {
                if let Node::ParamRef(p) = c.arg() {
                    return self.param(p.number);
                }
            }
            _ => {}
        }
        match expr::literal(v) {
            Some(lit) => {
                let origin = expr::location(v).map(|o| self.location(o));
                Arg::known(lit, origin, None)
            }
            None => Arg::unknown(),
        }
    }

    fn param(&self, number: i32) -> Arg {
        let Some(slot) = usize::try_from(number).ok().and_then(|n| n.checked_sub(1)).and_then(|i| self.ctx.normalized.slots.get(i)) else {
            return Arg::unknown();
        };
        let found = match (slot, &self.ctx.query.params) {
            (Slot::Position(i), Params::Positional(args)) => args.get(*i),
            (Slot::Name(n), Params::Named(args)) => args.get(n),
            _ => None,
        };
        found.cloned().unwrap_or_else(Arg::unknown)
    }
}
