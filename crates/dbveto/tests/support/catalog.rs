//! Reads a real PostgreSQL catalog and compares it with the schema that
//! `dbveto schema --format json` reconstructs: tables, column order, types,
//! NOT NULL, default present or not, identity, constraint names and types,
//! CHECK value sets, enum labels, and index names with their table and
//! uniqueness.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// One JSON document: `{"tables": [...], "enums": [...]}` for every user
/// schema of the current database.
pub const CATALOG: &str = r#"
SELECT json_build_object('tables', coalesce((SELECT json_agg(json_build_object(
    'schema', n.nspname, 'name', c.relname,
    'columns', (SELECT json_agg(json_build_object(
        'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
        'not_null', a.attnotnull, 'has_default', a.atthasdef, 'identity', a.attidentity, 'generated', a.attgenerated)
        ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
    'constraints', coalesce((SELECT json_agg(json_build_object('name', k.conname, 'type', k.contype, 'def', pg_get_constraintdef(k.oid))
        ORDER BY k.conname) FROM pg_constraint k WHERE k.conrelid = c.oid), '[]'))
    ORDER BY n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'), '[]'),
  'indexes', coalesce((SELECT json_agg(json_build_object('schema', n.nspname, 'name', i.relname, 'table', c.relname, 'unique', x.indisunique)
      ORDER BY n.nspname, i.relname)
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = i.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'), '[]'),
  'enums', coalesce((SELECT json_agg(json_build_object('name', t.typname,
      'labels', (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)) ORDER BY t.typname)
    FROM pg_type t WHERE t.typtype = 'e'), '[]'));
"#;

/// Runs `dbveto schema --format json DIR`; `Err` carries its stderr.
pub fn dbveto_schema(dir: &Path) -> Result<Value, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).args(["schema", "--format", "json"]).arg(dir).output().map_err(|e| format!("could not run dbveto: {e}"))?;
    if !out.status.success() {
        return Err(format!("dbveto schema exited with {}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("dbveto schema printed no JSON: {e}"))
}

/// Appends one line per table, enum list or index list that differs
/// between two catalogs read with [`CATALOG`].
pub fn same_catalog(fixture: &str, ours: &Value, theirs: &Value, differences: &mut Vec<String>) {
    let (o, t) = (tables(ours), tables(theirs));
    for name in o.keys().chain(t.keys().filter(|n| !o.contains_key(*n))) {
        if o.get(name) != t.get(name) {
            differences.push(format!("{fixture}: table {name}: {} vs PostgreSQL's {}", show(o.get(name)), show(t.get(name))));
        }
    }
    for key in ["enums", "indexes"] {
        if ours[key] != theirs[key] {
            differences.push(format!("{fixture}: {key}: {} vs PostgreSQL's {}", ours[key], theirs[key]));
        }
    }
}

fn show(v: Option<&&Value>) -> String {
    v.map_or_else(|| "missing".to_string(), |v| v.to_string())
}

/// Runs `dbveto schema --format sql DIR`: DDL that applies as it is.
pub fn dbveto_schema_sql(dir: &Path) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).args(["schema", "--format", "sql"]).arg(dir).output().map_err(|e| format!("could not run dbveto: {e}"))?;
    if !out.status.success() {
        return Err(format!("dbveto schema exited with {}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// `catalog` without the tables `drop` says to leave out (by bare name),
/// and their indexes.
pub fn without_tables(catalog: &Value, drop: impl Fn(&str) -> bool) -> Value {
    let mut out = catalog.clone();
    if let Some(tables) = out["tables"].as_array_mut() {
        tables.retain(|t| !drop(t["name"].as_str().unwrap_or_default()));
    }
    if let Some(indexes) = out["indexes"].as_array_mut() {
        indexes.retain(|i| !drop(i["table"].as_str().unwrap_or_default()));
    }
    out
}

fn by_name<'a>(items: &'a Value, key: &str) -> BTreeMap<String, &'a Value> {
    items.as_array().into_iter().flatten().map(|v| (v[key].as_str().unwrap_or_default().to_string(), v)).collect()
}

fn tables(schema: &Value) -> BTreeMap<String, &Value> {
    schema["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| (format!("{}.{}", t["schema"].as_str().unwrap_or(""), t["name"].as_str().unwrap_or("")), t))
        .collect()
}

fn check_values(constraint: &Value) -> Option<Vec<String>> {
    let column = constraint["columns"].as_array().filter(|c| c.len() == 1)?[0].as_str()?.to_string();
    let predicate = dbveto_sql::check_definition(constraint["def"].as_str()?)?;
    let values = predicate.allowed_values(&column)?;
    let mut v: Vec<String> = values.iter().map(|l| l.to_sql()).collect();
    v.sort();
    Some(v)
}

fn constraint_type(code: Option<&str>) -> &'static str {
    match code {
        Some("c") => "check",
        Some("f") => "foreign key",
        Some("u") => "unique",
        Some("p") => "primary key",
        Some("x") => "exclusion",
        _ => "?",
    }
}

fn identity(code: Option<&str>) -> &'static str {
    match code {
        Some("a") => "always",
        Some("d") => "by_default",
        _ => "",
    }
}

/// A catalog column as one line: name, type, then `not null`, `default`
/// or `generated stored`, `identity ...` where they apply.
fn describe_column(c: &Value) -> String {
    let mut s = format!("{} {}", c["name"].as_str().unwrap_or(""), c["type"].as_str().unwrap_or(""));
    if c["not_null"] == Value::Bool(true) {
        s.push_str(" not null");
    }
    if c["generated"].as_str() == Some("s") {
        s.push_str(" generated stored");
    } else if c["has_default"] == Value::Bool(true) {
        s.push_str(" default");
    }
    let id = identity(c["identity"].as_str());
    if !id.is_empty() {
        s.push_str(&format!(" identity {id}"));
    }
    s
}

/// Appends one line per difference between dbveto's database `ours` and the
/// catalog `theirs`, each starting with `fixture: `.
pub fn compare(fixture: &str, ours: &Value, theirs: &Value, differences: &mut Vec<String>) {
    let ours_tables = tables(ours);
    let their_tables = tables(theirs);
    for (name, t) in &their_tables {
        if ours_tables.contains_key(name) {
            continue;
        }
        let columns: Vec<String> = t["columns"].as_array().into_iter().flatten().map(describe_column).collect();
        let constraints: Vec<String> = t["constraints"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| format!("{} ({})", k["name"].as_str().unwrap_or(""), constraint_type(k["type"].as_str())))
            .collect();
        differences.push(format!(
            "{fixture}: table {name} missing in dbveto; PostgreSQL has columns [{}] and constraints [{}]",
            columns.join(", "),
            constraints.join(", ")
        ));
    }
    for name in ours_tables.keys() {
        if !their_tables.contains_key(name) {
            differences.push(format!("{fixture}: table {name} in dbveto but not in PostgreSQL"));
        }
    }
    for (name, theirs) in &their_tables {
        let Some(ours) = ours_tables.get(name) else { continue };
        compare_table(fixture, name, ours, theirs, differences);
    }
    compare_indexes(fixture, ours, theirs, differences);
    let oe = by_name(&ours["enums"], "name");
    let te = by_name(&theirs["enums"], "name");
    for (n, t) in &te {
        match oe.get(n) {
            Some(o) if o["labels"] == t["labels"] => {}
            o => differences.push(format!("{fixture}: enum {n}: dbveto {:?}, PostgreSQL {}", o.map(|o| &o["labels"]), t["labels"])),
        }
    }
    for n in oe.keys() {
        if !te.contains_key(n) {
            differences.push(format!("{fixture}: enum {n} in dbveto but not in PostgreSQL"));
        }
    }
}

/// Index names (schema-qualified), each with its table and uniqueness.
fn compare_indexes(fixture: &str, ours: &Value, theirs: &Value, differences: &mut Vec<String>) {
    let described = |v: &Value| -> BTreeMap<String, String> {
        v["indexes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                let name = format!("{}.{}", i["schema"].as_str().unwrap_or(""), i["name"].as_str().unwrap_or(""));
                let unique = if i["unique"] == Value::Bool(true) { "unique " } else { "" };
                (name, format!("{unique}on {}", i["table"].as_str().unwrap_or("")))
            })
            .collect()
    };
    let (o, t) = (described(ours), described(theirs));
    for (name, theirs) in &t {
        match o.get(name) {
            Some(ours) if ours == theirs => {}
            Some(ours) => differences.push(format!("{fixture}: index {name}: dbveto {ours}, PostgreSQL {theirs}")),
            None => differences.push(format!("{fixture}: index {name} ({theirs}) missing in dbveto")),
        }
    }
    for (name, ours) in &o {
        if !t.contains_key(name) {
            differences.push(format!("{fixture}: index {name} ({ours}) in dbveto but not in PostgreSQL"));
        }
    }
}

fn compare_table(fixture: &str, name: &str, ours: &Value, theirs: &Value, differences: &mut Vec<String>) {
    let oc = by_name(&ours["columns"], "name");
    let tc = by_name(&theirs["columns"], "name");
    for (col, t) in &tc {
        if !oc.contains_key(col) {
            differences.push(format!("{fixture}: {name}.{col}: column missing in dbveto (PostgreSQL: {})", describe_column(t)));
        }
    }
    for col in oc.keys() {
        if !tc.contains_key(col) {
            differences.push(format!("{fixture}: {name}.{col}: column in dbveto but not in PostgreSQL"));
        }
    }
    let on: Vec<&str> = ours["columns"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
    let tn: Vec<&str> = theirs["columns"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
    let common_ours: Vec<&str> = on.iter().copied().filter(|c| tc.contains_key(*c)).collect();
    let common_theirs: Vec<&str> = tn.iter().copied().filter(|c| oc.contains_key(*c)).collect();
    if common_ours != common_theirs {
        differences.push(format!("{fixture}: {name}: column order: dbveto {on:?}, PostgreSQL {tn:?}"));
    }
    for (col_name, t) in &tc {
        let Some(o) = oc.get(col_name) else { continue };
        let col = format!("{fixture}: {name}.{col_name}");
        if o["type"] != t["type"] {
            differences.push(format!("{col}: type: dbveto {}, PostgreSQL {}", o["type"], t["type"]));
        }
        if o["not_null"] != t["not_null"] {
            differences.push(format!("{col}: not null: dbveto {}, PostgreSQL {}", o["not_null"], t["not_null"]));
        }
        let our_default = !o["default"].is_null() || !o["generated"].is_null();
        if Value::Bool(our_default) != t["has_default"] {
            differences.push(format!("{col}: default present: dbveto {our_default}, PostgreSQL {}", t["has_default"]));
        }
        let their_identity = identity(t["identity"].as_str());
        if o["identity"].as_str().unwrap_or("") != their_identity {
            differences.push(format!("{col}: identity: dbveto {}, PostgreSQL {their_identity:?}", o["identity"]));
        }
    }
    let ok = by_name(&ours["constraints"], "name");
    let tk = by_name(&theirs["constraints"], "name");
    for (cname, t) in &tk {
        if !ok.contains_key(cname) {
            differences.push(format!(
                "{fixture}: {name}.{cname}: constraint missing in dbveto (PostgreSQL: {} {})",
                constraint_type(t["type"].as_str()),
                t["def"].as_str().unwrap_or("")
            ));
        }
    }
    for (cname, o) in &ok {
        if !tk.contains_key(cname) {
            differences.push(format!("{fixture}: {name}.{cname}: constraint in dbveto ({}) but not in PostgreSQL", o["type"].as_str().unwrap_or("?")));
        }
    }
    for (cname, t) in &tk {
        let Some(o) = ok.get(cname) else { continue };
        let their_type = constraint_type(t["type"].as_str());
        if o["type"].as_str() != Some(their_type) {
            differences.push(format!("{fixture}: {name}.{cname}: type: dbveto {}, PostgreSQL {their_type}", o["type"]));
        }
        if their_type == "check" {
            let mut with_columns = (*t).clone();
            with_columns["columns"] = o["columns"].clone();
            let theirs = check_values(&with_columns);
            let mut ours: Option<Vec<String>> = o["values"].as_array().map(|v| {
                v.iter()
                    .map(|x| match x {
                        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
                        other => other.to_string(),
                    })
                    .collect()
            });
            if let Some(v) = ours.as_mut() {
                v.sort();
            }
            if ours != theirs {
                differences.push(format!("{fixture}: {name}.{cname}: CHECK values: dbveto {ours:?}, PostgreSQL {theirs:?}"));
            }
        }
    }
}
