//! `dbveto writers TABLE[.COLUMN]`: every write site of a table or a
//! column, the entry points that run it, the value written and whether
//! the write is atomic.

use dbveto_rules::{ColumnWriters, JobFacts};

/// The columns `target` names: `table`, `table.column`, or a model's name
/// in place of the table (`Fabric.sync_status`).
pub fn select<'f>(facts: &'f JobFacts, target: &str) -> Vec<&'f ColumnWriters> {
    let whole = dbveto_jobs::writers(facts, target, None);
    if !whole.is_empty() {
        return whole;
    }
    match target.rsplit_once('.') {
        Some((table, column)) => dbveto_jobs::writers(facts, table, Some(column)),
        None => Vec::new(),
    }
}

pub fn text(target: &str, columns: &[&ColumnWriters]) -> String {
    if columns.is_empty() {
        return format!("no write of `{target}` found\n");
    }
    let mut out = String::new();
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let n = c.sites.len();
        let model = c.model.as_deref().map(|m| format!(" (model `{m}`)")).unwrap_or_default();
        out.push_str(&format!("{}.{}{model}: {n} write site{}\n", c.table, c.column, if n == 1 { "" } else { "s" }));
        for site in &c.sites {
            let marker = if site.atomicity.loses_updates() { "!" } else { " " };
            out.push_str(&format!("\n{marker} {}  {}\n", site.location, site.atomicity.describe()));
            let value = site.value.as_deref().unwrap_or("(not known statically)");
            out.push_str(&format!("    value:       {value}\n"));
            let statement = match &site.statement_location {
                Some(at) => format!("`{}` at {at}", site.statement),
                None => format!("`{}`", site.statement),
            };
            out.push_str(&format!("    statement:   {statement}\n"));
            if let Some(function) = &site.function {
                out.push_str(&format!("    in:          {function}\n"));
            }
            if site.entry_points.is_empty() {
                out.push_str("    entry point: none found (not reached from a view, task, job, command or signal)\n");
            }
            // One line per function, with every kind it is (an RQ job that is also scheduled).
            let mut seen: Vec<(&str, &dbveto_source::Location)> = Vec::new();
            for e in &site.entry_points {
                if seen.contains(&(e.name.as_str(), &e.location)) {
                    continue;
                }
                seen.push((e.name.as_str(), &e.location));
                let same: Vec<_> = site.entry_points.iter().filter(|o| o.name == e.name && o.location == e.location).collect();
                let kinds: Vec<&str> = same.iter().map(|o| o.kind.describe()).collect();
                let details: Vec<&str> = same.iter().filter_map(|o| o.detail.as_deref()).collect();
                let detail = if details.is_empty() { String::new() } else { format!(", {}", details.join(", ")) };
                out.push_str(&format!("    entry point: {} `{}`{detail} ({})\n", kinds.join(" + "), e.name, e.location));
            }
        }
    }
    out
}

pub fn json(columns: &[&ColumnWriters]) -> serde_json::Value {
    serde_json::json!({
        "version": dbveto_report::JSON_VERSION,
        "columns": columns,
    })
}
