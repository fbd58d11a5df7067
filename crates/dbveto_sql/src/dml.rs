//! SQL found in code turned into `Write`s: which table, which columns, and
//! what each column gets, as far as it is known statically.

use std::collections::HashMap;

use dbveto_source::{Diagnostic, Location, Severity};
use dbveto_writes::{Arg, EmbeddedQuery, Params, TableRef, Write, WriteKind};
use pg_query::protobuf::node::Node as N;
use pg_query::protobuf::{InsertStmt, Node, OnConflictAction, RangeVar, UpdateStmt};

use crate::expr;
use crate::placeholders::{normalize, Normalized, Slot};
use crate::statements::{leading_trivia, summary};

/// The writes a query performs. A query that is run by a call and does
/// not parse gives a diagnostic; SQL-looking text that is not run by a
/// known call is dropped quietly when it does not parse (it may be prose).
pub fn extract_writes(query: &EmbeddedQuery) -> (Vec<Write>, Vec<Diagnostic>) {
    let normalized = normalize(&query.sql.text);
    let parsed = pg_query::parse(&normalized.text, 0);
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
            let parsed = pg_query::parse(&normalized.text, 0);
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
fn statements_of(text: &str, normalized: &Normalized, parsed: &Result<pg_query::ParseResult, pg_query::Error>) -> Vec<(usize, String)> {
    let Ok(parsed) = parsed else { return Vec::new() };
    parsed
        .protobuf
        .stmts
        .iter()
        .map(|raw| {
            let start = raw.stmt_location.max(0) as usize;
            let end = if raw.stmt_len == 0 { normalized.text.len() } else { (start + raw.stmt_len as usize).min(normalized.text.len()) };
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
    parsed: &Result<pg_query::ParseResult, pg_query::Error>,
    statements: &[(usize, String)],
) -> (Vec<Write>, Vec<Diagnostic>) {
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            let mut diagnostics = Vec::new();
            if let Some(call) = &query.call {
                let at = query.sql.location(leading_trivia(&query.sql.text)).unwrap_or_else(|| call.clone());
                let message = match e {
                    pg_query::Error::Parse(m) => m.clone(),
                    other => other.to_string(),
                };
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
    for (raw, (start, summary)) in parsed.protobuf.stmts.iter().zip(statements) {
        let Some(stmt) = raw.stmt.as_deref() else { continue };
        let stmt_ctx = StatementContext { ctx: &ctx, start: *start, summary };
        stmt_ctx.statement(stmt, &mut writes);
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
    TableRef { schema: (!rv.schemaname.is_empty()).then(|| rv.schemaname.clone()), name: rv.relname.clone() }
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

    fn statement(&self, stmt: &Node, writes: &mut Vec<Write>) {
        match stmt.node.as_ref() {
            Some(N::InsertStmt(i)) => {
                self.ctes(i.with_clause.as_ref().map(|w| &w.ctes[..]), writes);
                self.insert(i, writes);
            }
            Some(N::UpdateStmt(u)) => {
                self.ctes(u.with_clause.as_ref().map(|w| &w.ctes[..]), writes);
                self.update(u, writes);
            }
            Some(N::SelectStmt(s)) => self.ctes(s.with_clause.as_ref().map(|w| &w.ctes[..]), writes),
            _ => {}
        }
    }

    /// Data-modifying CTEs: `WITH x AS (INSERT ... RETURNING ...)`.
    fn ctes(&self, ctes: Option<&[Node]>, writes: &mut Vec<Write>) {
        for cte in ctes.unwrap_or_default() {
            if let Some(N::CommonTableExpr(c)) = cte.node.as_ref() {
                if let Some(q) = c.ctequery.as_deref() {
                    self.statement(q, writes);
                }
            }
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
            statement: self.summary.to_string(),
        }
    }

    fn insert(&self, i: &InsertStmt, writes: &mut Vec<Write>) {
        let Some(rv) = i.relation.as_ref() else { return };
        let table = table_ref(rv);
        let names: Vec<String> = i
            .cols
            .iter()
            .filter_map(|c| match c.node.as_ref() {
                Some(N::ResTarget(t)) => Some(t.name.clone()),
                _ => None,
            })
            .collect();
        let columns = (!i.cols.is_empty()).then_some(names);
        let values = match i.select_stmt.as_deref().and_then(|s| s.node.as_ref()) {
            // DEFAULT VALUES
            None => Some(Vec::new()),
            Some(N::SelectStmt(s)) if !s.values_lists.is_empty() => {
                let mut merged: Vec<Arg> = Vec::new();
                for row in &s.values_lists {
                    let Some(N::List(l)) = row.node.as_ref() else { continue };
                    for (k, v) in l.items.iter().enumerate() {
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
            Some(_) => columns.as_ref().map(|c| vec![Arg::unknown(); c.len()]),
        };
        if let Some(values) = values {
            writes.push(self.write(WriteKind::Insert, table.clone(), columns, values));
        }
        if let Some(oc) = i.on_conflict_clause.as_deref() {
            if oc.action == OnConflictAction::OnconflictUpdate as i32 {
                let (cols, vals) = self.assignments(&oc.target_list);
                writes.push(self.write(WriteKind::Update, table, Some(cols), vals));
            }
        }
    }

    fn update(&self, u: &UpdateStmt, writes: &mut Vec<Write>) {
        let Some(rv) = u.relation.as_ref() else { return };
        let (cols, vals) = self.assignments(&u.target_list);
        writes.push(self.write(WriteKind::Update, table_ref(rv), Some(cols), vals));
    }

    fn assignments(&self, targets: &[Node]) -> (Vec<String>, Vec<Arg>) {
        let mut cols = Vec::new();
        let mut vals = Vec::new();
        for t in targets {
            let Some(N::ResTarget(t)) = t.node.as_ref() else { continue };
            // `SET a.b = ...` writes into a composite or array element.
            if !t.indirection.is_empty() {
                continue;
            }
            cols.push(t.name.clone());
            vals.push(match t.val.as_deref() {
                Some(v) if !matches!(v.node, Some(N::MultiAssignRef(_))) => self.value(v),
                _ => Arg::unknown(),
            });
        }
        (cols, vals)
    }

    /// What one value expression sends.
    fn value(&self, v: &Node) -> Arg {
        match v.node.as_ref() {
            Some(N::SetToDefault(_)) => return Arg::default_keyword(),
            Some(N::ParamRef(p)) => return self.param(p.number),
            Some(N::TypeCast(c)) => {
                if let Some(N::ParamRef(p)) = c.arg.as_deref().and_then(|a| a.node.as_ref()) {
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
