//! Fix proposals: a forward migration in the repository's own form (SQL
//! up/down files, a Django migration, an Alembic revision) and the code
//! change. Templates filled with the real names and values; where a value
//! is a choice (a default), the proposal says so.

use dbveto_discover::MigrationTool;
use dbveto_explain::{DbError, ErrorKind};
use dbveto_schema::{Column, ConstraintKind};
use dbveto_source::Location;
use dbveto_writes::Literal;
use serde::Serialize;

use super::resolve::{Resolution, Role};
use crate::analysis::Analysis;

#[derive(Debug, Clone, Serialize)]
pub struct NewFile {
    pub path: String,
    pub content: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Fix {
    /// A new migration (or an edit of one that has not run anywhere yet).
    Migration { title: String, files: Vec<NewFile>, note: Option<String> },
    /// A change in the code at a place.
    Code { title: String, location: Option<Location>, change: String },
}

/// What a migration does, in SQL and, for Django, as operations.
struct Change {
    slug: String,
    up: Vec<String>,
    down: Vec<String>,
    /// Django operations to use instead of `RunSQL`.
    django: Option<String>,
}

pub fn propose(analysis: &Analysis, e: &DbError, r: &Resolution<'_>) -> Vec<Fix> {
    let mut fixes = Vec::new();
    let failing: Vec<&super::resolve::Site> = r.sites.iter().filter(|s| s.role == Role::Failing).take(5).collect();
    match e.kind {
        ErrorKind::NotNull => not_null(analysis, r, &failing, &mut fixes),
        ErrorKind::Check | ErrorKind::InvalidEnumValue => check(analysis, r, &failing, &mut fixes),
        ErrorKind::ForeignKeyMissingParent | ErrorKind::ForeignKey => missing_parent(analysis, e, r, &failing, &mut fixes),
        ErrorKind::ForeignKeyStillReferenced => still_referenced(analysis, r, &mut fixes),
        ErrorKind::Unique => unique(e, r, &failing, &mut fixes),
        ErrorKind::ValueTooLong => too_long(analysis, r, &mut fixes),
        ErrorKind::NullsInExistingRows => {
            if let (Some(t), Some(c)) = (r.table, r.column) {
                let value = default_for(c).map_or("<value>".to_string(), |(sql, _)| sql);
                fixes.push(Fix::Code {
                    title: format!("fill the existing NULLs before `{}` becomes NOT NULL", c.name),
                    location: Some(c.provenance.current.location.clone()),
                    change: format!("UPDATE {t} SET {col} = {value} WHERE {col} IS NULL;\n-- then, in the same migration:\nALTER TABLE {t} ALTER COLUMN {col} SET NOT NULL;", t = t.name, col = c.name),
                });
            }
        }
        ErrorKind::CheckViolatedByExistingRow => {
            if let (Some(t), Some(c)) = (r.table, r.constraint) {
                if let ConstraintKind::Check { expression, .. } = &c.kind {
                    fixes.push(Fix::Code {
                        title: "add the constraint NOT VALID, fix the old rows, then validate".into(),
                        location: Some(c.provenance.current.location.clone()),
                        change: format!(
                            "ALTER TABLE {t} ADD CONSTRAINT {n} CHECK ({expression}) NOT VALID;\n-- new rows are checked from here on; fix the rows that fail, then:\nALTER TABLE {t} VALIDATE CONSTRAINT {n};",
                            t = t.name,
                            n = c.name
                        ),
                    });
                }
            }
        }
        ErrorKind::IndexNameTooLong => index_name(analysis, e, r, &mut fixes),
        ErrorKind::InvalidInput => {}
    }
    fixes
}

fn not_null(analysis: &Analysis, r: &Resolution<'_>, failing: &[&super::resolve::Site], fixes: &mut Vec<Fix>) {
    let (Some(table), Some(column)) = (r.table, r.column) else { return };
    let t = &table.name;
    let c = &column.name;
    let default = default_for(column);
    if let Some(drift) = r.drift {
        let field = default.as_ref().map_or(format!("{c} = models.Field(...)  # the type of column `{c}`"), |(_, f)| format!("{c} = {f}"));
        fixes.push(Fix::Code {
            title: format!("declare `{c}` on the model `{}`, so that Django sends it", drift.model),
            location: Some(drift.location.clone()),
            change: format!("{field}\n# then `python manage.py makemigrations`: it writes a migration only where the field differs from what the migrations created"),
        });
    }
    for site in failing {
        if site.reasons.iter().any(|m| m.contains("does not declare")) {
            continue;
        }
        fixes.push(Fix::Code {
            title: format!("send a value for `{c}`"),
            location: Some(site.location.clone()),
            change: match &site.statement {
                Some(s) => format!("`{s}`: give `{c}` a value (it is NOT NULL and has no default)"),
                None => format!("give `{c}` a value (it is NOT NULL and has no default)"),
            },
        });
    }
    if let Some((value, _)) = &default {
        let change = Change {
            slug: format!("{t}_{c}_default"),
            up: vec![format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {value};")],
            down: vec![format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT;")],
            django: None,
        };
        fixes.push(migration(
            analysis,
            r,
            format!("give `{t}.{c}` a database default ({value}; choose the value the code means)"),
            change,
            Some("inserts that leave the column out then get the default instead of failing".into()),
        ));
    }
    let change = Change {
        slug: format!("{t}_{c}_drop_not_null"),
        up: vec![format!("ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL;")],
        down: vec![format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;")],
        django: None,
    };
    fixes.push(migration(analysis, r, format!("allow NULL in `{t}.{c}`"), change, Some("only if a row without a value is meaningful; the down migration fails once NULLs are stored".into())));
}

fn allowed(r: &Resolution<'_>) -> Option<(String, Vec<Literal>, String)> {
    let c = r.constraint?;
    let column = r.column?;
    let ConstraintKind::Check { expression, predicate } = &c.kind else { return None };
    let values = predicate.allowed_values(&column.name)?.into_iter().cloned().collect();
    Some((expression.clone(), values, column.name.clone()))
}

fn check(analysis: &Analysis, r: &Resolution<'_>, failing: &[&super::resolve::Site], fixes: &mut Vec<Fix>) {
    let Some(table) = r.table else { return };
    let t = &table.name;
    let (labels, what): (Option<Vec<Literal>>, String) = match (r.enum_type, allowed(r)) {
        (Some(en), _) => (Some(en.labels.iter().cloned().map(Literal::Str).collect()), format!("the labels of enum `{}`", en.name)),
        (None, Some((_, values, _))) => (Some(values), format!("check constraint `{}`", r.constraint.map_or("", |c| c.name.as_str()))),
        _ => (None, String::new()),
    };
    if let Some(labels) = &labels {
        let list: Vec<String> = labels.iter().map(Literal::to_sql).collect();
        for site in failing {
            let refused = r.value.as_ref().map_or("the refused value".to_string(), Literal::to_sql);
            fixes.push(Fix::Code {
                title: format!("write a value that {what} allows"),
                location: Some(site.location.clone()),
                change: format!("write one of {} instead of {refused}", list.join(", ")),
            });
        }
    }
    let Some(value) = r.value.clone().filter(|v| *v != Literal::Null) else {
        if labels.is_some() {
            return;
        }
        if let Some(c) = r.constraint {
            if let ConstraintKind::Check { expression, .. } = &c.kind {
                fixes.push(Fix::Code { title: "write values that satisfy the constraint".into(), location: failing.first().map(|s| s.location.clone()), change: format!("CHECK ({expression})") });
            }
        }
        return;
    };
    if let Some(en) = r.enum_type {
        let change = Change {
            slug: format!("{}_add_{}", en.name.name, slug_of(&value)),
            up: vec![format!("ALTER TYPE {} ADD VALUE {};", en.name, value.to_sql())],
            down: vec![format!("-- PostgreSQL cannot remove a label from an enum type: to undo, recreate `{}` without {}", en.name, value.to_sql())],
            django: None,
        };
        fixes.push(migration(analysis, r, format!("add {} to enum `{}`", value.to_sql(), en.name), change, None));
        return;
    }
    let (Some(c), Some((expression, mut values, column))) = (r.constraint, allowed(r)) else { return };
    if !values.contains(&value) {
        values.push(value.clone());
    }
    let list: Vec<String> = values.iter().map(Literal::to_sql).collect();
    let n = &c.name;
    let change = Change {
        slug: format!("{t}_{column}_allow_{}", slug_of(&value)),
        up: vec![format!("ALTER TABLE {t} DROP CONSTRAINT {n};"), format!("ALTER TABLE {t} ADD CONSTRAINT {n} CHECK ({column} IN ({}));", list.join(", "))],
        down: vec![format!("ALTER TABLE {t} DROP CONSTRAINT {n};"), format!("ALTER TABLE {t} ADD CONSTRAINT {n} CHECK ({});", unparen(&expression))],
        django: None,
    };
    fixes.insert(
        0,
        migration(
            analysis,
            r,
            format!("allow {} in `{t}.{column}`", value.to_sql()),
            change,
            Some(format!("the down migration fails while rows hold {}", value.to_sql())),
        ),
    );
}

fn missing_parent(analysis: &Analysis, e: &DbError, r: &Resolution<'_>, failing: &[&super::resolve::Site], fixes: &mut Vec<Fix>) {
    let (Some(child), Some(parent)) = (r.child, r.parent) else { return };
    let sqlalchemy = e.wrappers.iter().any(|w| w.starts_with("sqlalchemy."));
    let order = if sqlalchemy {
        format!(
            "create the `{p}` row before the `{c}` rows: give the child model a `relationship()` to the parent (the unit of work then inserts the parent first), or `session.flush()` after adding the parent",
            p = parent.name,
            c = child.name
        )
    } else {
        format!("insert (or look up) the `{}` row before writing `{}`, in the same transaction", parent.name, child.name)
    };
    for site in failing {
        fixes.push(Fix::Code { title: format!("make sure the parent row exists in `{}`", parent.name), location: Some(site.location.clone()), change: order.clone() });
    }
    if failing.is_empty() {
        fixes.push(Fix::Code { title: format!("make sure the parent row exists in `{}`", parent.name), location: None, change: order });
    }
    if e.pending_rollback {
        fixes.push(Fix::Code {
            title: "roll the session back after a failed flush".into(),
            location: None,
            change: "in each `except` that catches the error and goes on, call `session.rollback()` first; until then every use of the session raises PendingRollbackError".into(),
        });
    }
    if let Some(c) = r.constraint {
        if let ConstraintKind::ForeignKey { deferrable, .. } = &c.kind {
            if !deferrable {
                let change = Change {
                    slug: format!("{}_deferrable", c.name),
                    up: vec![format!("ALTER TABLE {} ALTER CONSTRAINT {} DEFERRABLE INITIALLY DEFERRED;", child.name, c.name)],
                    down: vec![format!("ALTER TABLE {} ALTER CONSTRAINT {} NOT DEFERRABLE;", child.name, c.name)],
                    django: None,
                };
                fixes.push(migration(
                    analysis,
                    r,
                    format!("check `{}` at COMMIT instead of at each statement", c.name),
                    change,
                    Some("helps only when the parent row is inserted later in the same transaction; a parent that never comes still fails, at COMMIT".into()),
                ));
            }
        }
    }
}

fn still_referenced(analysis: &Analysis, r: &Resolution<'_>, fixes: &mut Vec<Fix>) {
    let (Some(child), Some(parent), Some(c)) = (r.child, r.parent, r.constraint) else { return };
    fixes.push(Fix::Code {
        title: format!("delete (or re-point) the `{}` rows first", child.name),
        location: None,
        change: format!("DELETE FROM {} WHERE {} = <the parent's key>; -- before deleting from {}", child.name, c.columns.join(", "), parent.name),
    });
    if let ConstraintKind::ForeignKey { references, referenced_columns, on_delete, .. } = &c.kind {
        let cols = c.columns.join(", ");
        let refs = referenced_columns.join(", ");
        let restore = on_delete.as_ref().map(|a| format!(" ON DELETE {}", a.to_uppercase())).unwrap_or_default();
        let change = Change {
            slug: format!("{}_on_delete_cascade", c.name),
            up: vec![
                format!("ALTER TABLE {} DROP CONSTRAINT {};", child.name, c.name),
                format!("ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({cols}) REFERENCES {references} ({refs}) ON DELETE CASCADE;", child.name, c.name),
            ],
            down: vec![
                format!("ALTER TABLE {} DROP CONSTRAINT {};", child.name, c.name),
                format!("ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({cols}) REFERENCES {references} ({refs}){restore};", child.name, c.name),
            ],
            django: None,
        };
        fixes.push(migration(analysis, r, format!("delete the `{}` rows with their parent", child.name), change, Some("only if deleting the parent means deleting its children".into())));
    }
}

fn unique(e: &DbError, r: &Resolution<'_>, failing: &[&super::resolve::Site], fixes: &mut Vec<Fix>) {
    let key = e.key.as_ref().map(|k| k.columns.join(", ")).or_else(|| r.constraint.map(|c| c.columns.join(", "))).unwrap_or_default();
    let change = format!("make the write idempotent: `INSERT ... ON CONFLICT ({key}) DO UPDATE SET ...` (or `DO NOTHING`); with Django, `update_or_create()` / `get_or_create()` on ({key})");
    for site in failing {
        fixes.push(Fix::Code { title: "do not insert the same key twice".into(), location: Some(site.location.clone()), change: change.clone() });
    }
    if failing.is_empty() {
        fixes.push(Fix::Code { title: "do not insert the same key twice".into(), location: None, change });
    }
}

fn too_long(analysis: &Analysis, r: &Resolution<'_>, fixes: &mut Vec<Fix>) {
    let (Some(table), Some(column)) = (r.table, r.column) else { return };
    let Some(n) = column.data_type.length else { return };
    let longest = r.findings.iter().filter_map(|f| match &f.value {
        Some(Literal::Str(s)) => Some(s.chars().count() as u32),
        _ => None,
    });
    let (m, why) = match longest.max() {
        Some(m) => (m, "the longest value the code writes"),
        None => (n * 2, "twice the limit; choose what the data needs"),
    };
    let ty = if column.data_type.name == "character" { "char" } else { "varchar" };
    let change = Change {
        slug: format!("{}_{}_length", table.name, column.name),
        up: vec![format!("ALTER TABLE {} ALTER COLUMN {} TYPE {ty}({m});", table.name, column.name)],
        down: vec![format!("ALTER TABLE {} ALTER COLUMN {} TYPE {ty}({n});", table.name, column.name)],
        django: None,
    };
    fixes.push(migration(analysis, r, format!("widen `{}.{}` to {m} ({why})", table.name, column.name), change, Some(format!("or shorten the value to {n} characters in the code"))));
}

fn index_name(analysis: &Analysis, e: &DbError, r: &Resolution<'_>, fixes: &mut Vec<Fix>) {
    let (Some(index), Some(old)) = (r.index, e.value.as_deref()) else { return };
    let max = e.max_length.unwrap_or(30) as usize;
    let new = shorten(old, max);
    fixes.push(Fix::Code {
        title: format!("rename the index in the model to {} characters or fewer", max),
        location: Some(index.location.clone()),
        change: format!("name=\"{new}\"  # was \"{old}\" ({} characters)", old.chars().count()),
    });
    for rel in &index.related {
        fixes.push(Fix::Code {
            title: "if no database has applied this migration yet: rename it here too, and add no migration".into(),
            location: Some(rel.location.clone()),
            change: format!("name='{new}'"),
        });
    }
    let model_name = e.model.as_deref().and_then(|m| m.rsplit('.').next()).map(str::to_lowercase).unwrap_or_else(|| index.table.clone());
    let change = Change {
        slug: format!("rename_{}", truncate_slug(&new)),
        up: vec![format!("ALTER INDEX {old} RENAME TO {new};")],
        down: vec![format!("ALTER INDEX {new} RENAME TO {old};")],
        django: Some(format!("migrations.RenameIndex(\n            model_name='{model_name}',\n            new_name='{new}',\n            old_name='{old}',\n        ),")),
    };
    fixes.push(migration(analysis, r, format!("rename `{old}` to `{new}` where the migration already ran"), change, Some("RenameIndex needs Django 4.1 or later".into())));
}

/// A name of at most `max` characters: each word but the last cut to the
/// longest length that fits.
pub fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let Some((last, rest)) = words.split_last() else { return name.chars().take(max).collect() };
    let longest = rest.iter().map(|w| w.chars().count()).max().unwrap_or(1);
    for k in (1..=longest).rev() {
        let mut parts: Vec<String> = rest.iter().map(|w| w.chars().take(k).collect()).collect();
        parts.push(last.to_string());
        let candidate = parts.join("_");
        if candidate.chars().count() <= max {
            return candidate;
        }
    }
    name.chars().take(max).collect()
}

/// A column's default by its type, as SQL and as a Django field.
fn default_for(c: &Column) -> Option<(String, String)> {
    let ty = &c.data_type;
    if ty.array_dims > 0 {
        return None;
    }
    Some(match ty.name.as_str() {
        "character varying" | "character" => ("''".into(), format!("models.CharField(max_length={}, default=\"\")", ty.length.unwrap_or(255))),
        "text" => ("''".into(), "models.TextField(default=\"\")".into()),
        "smallint" => ("0".into(), "models.SmallIntegerField(default=0)".into()),
        "integer" => ("0".into(), "models.IntegerField(default=0)".into()),
        "bigint" => ("0".into(), "models.BigIntegerField(default=0)".into()),
        "boolean" => ("false".into(), "models.BooleanField(default=False)".into()),
        "jsonb" | "json" => ("'{}'".into(), "models.JSONField(default=dict)".into()),
        "real" | "double precision" => ("0".into(), "models.FloatField(default=0.0)".into()),
        "timestamp with time zone" | "timestamp without time zone" => ("now()".into(), "models.DateTimeField(default=timezone.now)".into()),
        _ => return None,
    })
}

fn slug_of(v: &Literal) -> String {
    match v {
        Literal::Str(s) => s.clone(),
        other => other.to_sql(),
    }
}

fn truncate_slug(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    out.trim_matches('_').chars().take(60).collect()
}

pub(super) fn unparen(expression: &str) -> String {
    let e = expression.trim();
    match e.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        // Only when the outer parentheses enclose the whole expression.
        Some(inner) if balanced(inner) => inner.to_string(),
        _ => e.to_string(),
    }
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// The digits a migration file name starts with (after Flyway's `V`), and their width.
fn leading_number(name: &str) -> Option<(u64, usize)> {
    let digits: String = name.trim_start_matches('V').chars().take_while(|c| c.is_ascii_digit()).collect();
    Some((digits.parse().ok()?, digits.len()))
}

fn split_path(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

/// The change as a migration of the database's own tool.
fn migration(analysis: &Analysis, r: &Resolution<'_>, title: String, change: Change, note: Option<String>) -> Fix {
    let slug = truncate_slug(&change.slug);
    let files = match r.db {
        Some(db) => files_for(analysis, db, r, &slug, &title, &change),
        None => Vec::new(),
    };
    let files = if files.is_empty() {
        vec![NewFile { path: format!("{slug}.sql"), content: sql_body(&title, &change.up, Some(&change.down)) }]
    } else {
        files
    };
    Fix::Migration { title, files, note }
}

fn sql_body(title: &str, up: &[String], down: Option<&[String]>) -> String {
    let mut s = format!("-- {title}\n{}\n", up.join("\n"));
    if let Some(down) = down {
        s.push_str(&format!("\n-- to undo:\n-- {}\n", down.join("\n-- ")));
    }
    s
}

fn files_for(analysis: &Analysis, db: &crate::analysis::Database, r: &Resolution<'_>, slug: &str, title: &str, change: &Change) -> Vec<NewFile> {
    let Some(last) = db.set.migrations.last() else { return Vec::new() };
    let (dir, last_name) = split_path(&last.file.path);
    let next = |width: usize| {
        let (n, w) = leading_number(last_name).unwrap_or((0, width));
        format!("{:0w$}", n + 1, w = w.max(1))
    };
    let up = change.up.join("\n");
    let down = change.down.join("\n");
    match db.set.tool {
        MigrationTool::GolangMigrate => {
            let v = next(3);
            vec![
                NewFile { path: join(dir, &format!("{v}_{slug}.up.sql")), content: format!("-- {title}\n{up}\n") },
                NewFile { path: join(dir, &format!("{v}_{slug}.down.sql")), content: format!("{down}\n") },
            ]
        }
        MigrationTool::Goose => vec![NewFile {
            path: join(dir, &format!("{}_{slug}.sql", next(5))),
            content: format!("-- +goose Up\n-- {title}\n{up}\n\n-- +goose Down\n{down}\n"),
        }],
        MigrationTool::Dbmate => vec![NewFile {
            path: join(dir, &format!("{}_{slug}.sql", next(14))),
            content: format!("-- migrate:up\n-- {title}\n{up}\n\n-- migrate:down\n{down}\n"),
        }],
        MigrationTool::Flyway => vec![NewFile {
            path: join(dir, &format!("V{}__{slug}.sql", leading_number(last_name).map_or(1, |(n, _)| n + 1))),
            content: format!("-- {title}\n{up}\n\n-- to undo:\n-- {}\n", change.down.join("\n-- ")),
        }],
        MigrationTool::Numbered => vec![NewFile {
            path: join(dir, &format!("{}_{slug}.sql", next(3))),
            content: format!("-- {title}\n{up}\n\n-- to undo:\n-- {}\n", change.down.join("\n-- ")),
        }],
        MigrationTool::SchemaDump => vec![NewFile { path: format!("migrations/{slug}.sql"), content: format!("-- {title}\n{up}\n") }],
        MigrationTool::Django => django_file(analysis, db, r, slug, title, change).into_iter().collect(),
        #[allow(unreachable_patterns)]
        _ if last_name.ends_with(".py") && dir.ends_with("versions") => vec![alembic_file(dir, last_name, slug, title, change)],
        #[allow(unreachable_patterns)]
        _ => Vec::new(),
    }
}

/// A Django migration in the app that created the table (or that owns the index).
fn django_file(analysis: &Analysis, db: &crate::analysis::Database, r: &Resolution<'_>, slug: &str, title: &str, change: &Change) -> Option<NewFile> {
    let anchor = r.index.map(|i| &i.location).or(r.table.map(|t| &t.provenance.created().location))?;
    // The app of a model file or of a migration: the longest app folder holding it.
    let app = analysis
        .django_apps
        .iter()
        .filter(|a| a.dir.is_empty() || anchor.path.starts_with(&format!("{}/", a.dir)))
        .max_by_key(|a| a.dir.len())?;
    let prefix = join(&app.dir, "migrations/");
    let last = db.set.migrations.iter().rev().find(|m| m.file.path.starts_with(&prefix) && !m.file.path[prefix.len()..].contains('/'))?;
    let (_, last_name) = split_path(&last.file.path);
    let last_stem = last_name.strip_suffix(".py").unwrap_or(last_name);
    let n = leading_number(last_name).map_or(1, |(n, _)| n + 1);
    let operations = match &change.django {
        Some(ops) => format!("        {ops}"),
        None => {
            let q = |v: &[String]| v.iter().map(|s| format!("                {s:?},")).collect::<Vec<_>>().join("\n");
            format!("        migrations.RunSQL(\n            sql=[\n{}\n            ],\n            reverse_sql=[\n{}\n            ],\n        ),", q(&change.up), q(&change.down))
        }
    };
    Some(NewFile {
        path: format!("{prefix}{n:04}_{slug}.py"),
        content: format!(
            "# {title}\n\nfrom django.db import migrations\n\n\nclass Migration(migrations.Migration):\n\n    dependencies = [\n        ('{}', '{last_stem}'),\n    ]\n\n    operations = [\n{operations}\n    ]\n",
            app.label
        ),
    })
}

/// An Alembic revision after the newest file of `versions/`.
fn alembic_file(dir: &str, last_name: &str, slug: &str, title: &str, change: &Change) -> NewFile {
    let down_revision = last_name.split('_').next().unwrap_or("").trim_end_matches(".py");
    // A stable id, so that the proposal does not change between runs.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in slug.bytes().chain(down_revision.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let revision = format!("{:012x}", h & 0xffff_ffff_ffff);
    let ops = |v: &[String]| v.iter().map(|s| format!("    op.execute({s:?})")).collect::<Vec<_>>().join("\n");
    NewFile {
        path: join(dir, &format!("{revision}_{slug}.py")),
        content: format!(
            "\"\"\"{title}\n\nRevision ID: {revision}\nRevises: {down_revision}\n\"\"\"\nfrom alembic import op\n\nrevision = \"{revision}\"\n# The revision of `{last_name}`; check it with `alembic heads`.\ndown_revision = \"{down_revision}\"\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n{}\n\n\ndef downgrade():\n{}\n",
            ops(&change.up),
            ops(&change.down)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_words_until_the_name_fits() {
        assert_eq!(shorten("netops_syncjob_fabric_type_start_idx", 30), "neto_sync_fabr_type_star_idx");
        assert_eq!(shorten("short_idx", 30), "short_idx");
        assert!(shorten("a_very_long_index_name_with_many_many_words_idx", 30).chars().count() <= 30);
    }

    #[test]
    fn unparen_keeps_parentheses_that_do_not_enclose_everything() {
        assert_eq!(unparen("(a IN ('x'))"), "a IN ('x')");
        assert_eq!(unparen("(a > 0) AND (b > 0)"), "(a > 0) AND (b > 0)");
        assert_eq!(unparen("result IN ('success')"), "result IN ('success')");
    }

    #[test]
    fn leading_numbers_keep_their_width() {
        assert_eq!(leading_number("002_create_update_logs.up.sql"), Some((2, 3)));
        assert_eq!(leading_number("V12__x.sql"), Some((12, 2)));
        assert_eq!(leading_number("0004_gitops.py"), Some((4, 4)));
        assert_eq!(leading_number("schema.sql"), None);
    }
}
