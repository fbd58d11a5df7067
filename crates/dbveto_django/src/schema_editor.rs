//! The DDL Django's PostgreSQL schema editor runs for each migration
//! operation (`django/db/backends/base/schema.py` and its PostgreSQL
//! subclass), as SQL text that the SQL replay then applies. Only what
//! changes the catalog is generated: the temporary `DEFAULT` that AddField
//! sets and drops again, for instance, is left out.

use dbveto_schema::{ConstraintKind as DbConstraint, Schema};
use dbveto_writes::Literal;

use crate::field::{quote, Default, Field, Relation, RelationKind};
use crate::naming::{create_index_name, truncate_name, POSTGRES_MAX_NAME};
use crate::state::{ConstraintKind, ConstraintSpec, IndexExpression, IndexSpec, ModelKey, ModelState, ProjectState, QValue, Q};

/// One change to apply to the schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Sql(String),
    /// A CHECK whose condition dbveto cannot compile: it exists, and
    /// nothing is known of what it allows.
    OpaqueCheck { table: String, name: String },
}

/// The relation target of a foreign key: table, column and column type.
struct Target {
    table: String,
    column: String,
    db_type: Option<String>,
}

/// Tables of Django's contrib apps that projects point foreign keys at;
/// their keys are `AutoField`s (integer) in every Django release.
const CONTRIB_TARGETS: &[(&str, &str, &str)] = &[
    ("auth", "user", "auth_user"),
    ("auth", "group", "auth_group"),
    ("auth", "permission", "auth_permission"),
    ("contenttypes", "contenttype", "django_content_type"),
    ("sites", "site", "django_site"),
];

pub struct Editor<'s> {
    pub state: &'s ProjectState,
    pub schema: &'s Schema,
    pub steps: Vec<Step>,
    /// Run when the migration ends (foreign keys, indexes, unique_together).
    pub deferred: Vec<Step>,
}

/// `"a", "b"`.
fn quoted_list(columns: &[String]) -> String {
    columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
}

/// The foreign key Django adds after the table, always deferrable.
fn foreign_key_sql(table: &str, column: &str, to_table: &str, to_column: &str) -> String {
    let name = create_index_name(table, &[column], &format!("_fk_{to_table}_{to_column}"));
    format!(
        "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) DEFERRABLE INITIALLY DEFERRED",
        quote(table),
        quote(&name),
        quote(column),
        quote(to_table),
        quote(to_column)
    )
}

/// The table of a many-to-many field: `db_table`, else `<table>_<field>`.
fn many_to_many_table(model: &ModelState, name: &str, relation: &Relation) -> String {
    relation.db_table.clone().unwrap_or_else(|| truncate_name(&format!("{}_{name}", model.db_table()), POSTGRES_MAX_NAME))
}

fn sql_value(value: &Literal) -> String {
    value.to_sql()
}

/// The value Django sends for a field's Python default (a parameter, only
/// known when the migration runs): DDL that stands for "some value".
const PYTHON_DEFAULT: &str = "dbveto_python_default()";

/// `BaseDatabaseSchemaEditor._effective_default` is not `None`: a
/// `default=`, the empty string of a `blank` string field, or `auto_now`.
fn has_effective_default(field: &Field) -> bool {
    if field.is_generated() || field.is_auto() {
        return false;
    }
    field.default.is_some() || (!field.null && field.blank && field.empty_strings_allowed()) || field.auto_now
}

/// A `db_default` as DDL; one dbveto cannot compile still is a default.
fn default_sql(default: &Default) -> String {
    match default {
        Default::Value(v) => sql_value(v),
        Default::Expression(sql) => sql.clone(),
        Default::Dynamic => "dbveto_unknown_default()".into(),
    }
}

impl<'s> Editor<'s> {
    pub fn new(state: &'s ProjectState, schema: &'s Schema) -> Self {
        Editor { state, schema, steps: Vec::new(), deferred: Vec::new() }
    }

    fn sql(&mut self, sql: String) {
        self.steps.push(Step::Sql(sql));
    }

    fn defer(&mut self, sql: String) {
        self.deferred.push(Step::Sql(sql));
    }

    fn target(&self, model: &ModelState, field: &Field) -> Option<Target> {
        let relation = field.relation.as_ref()?;
        let key = ModelKey::resolve(relation.to.as_deref()?, &model.app_label, &model.name);
        if let Some(target) = self.state.get(&key) {
            let (name, pk) = match &relation.to_field {
                Some(f) => (f.as_str(), target.field(f)?),
                None => target.primary_key()?,
            };
            return Some(Target {
                table: target.db_table(),
                column: pk.column(name)?,
                db_type: if pk.is_foreign_key() { self.target(target, pk)?.db_type } else { pk.own_db_type() },
            });
        }
        CONTRIB_TARGETS.iter().find(|(app, name, _)| key.app_label == *app && key.name == *name).map(|(_, _, table)| {
            Target { table: table.to_string(), column: "id".to_string(), db_type: Some("integer".to_string()) }
        })
    }

    /// The column type: the field's own, a relation's target key type, or
    /// the class name quoted (a type dbveto does not know, kept as such).
    fn db_type(&self, model: &ModelState, field: &Field) -> String {
        let known = if field.is_foreign_key() {
            self.target(model, field).and_then(|t| t.db_type)
        } else {
            field.own_db_type()
        };
        known.unwrap_or_else(|| quote(&field.class.written))
    }

    /// `column_sql` + check + identity, without the foreign key. With
    /// `include_default` (`AddField`), the field's Python default is the
    /// column's default until `add_field` drops it again.
    fn column_sql(&self, model: &ModelState, name: &str, field: &Field, include_default: bool) -> Option<String> {
        let column = field.column(name)?;
        let mut sql = format!("{} {}", quote(&column), self.db_type(model, field));
        if let Some(default) = &field.db_default {
            sql.push_str(&format!(" DEFAULT {}", default_sql(default)));
        } else if include_default && has_effective_default(field) {
            sql.push_str(&format!(" DEFAULT {PYTHON_DEFAULT}"));
        }
        if field.is_generated() {
            // An expression dbveto cannot compile still makes a generated column.
            let expression = field.generated.clone().unwrap_or_else(|| "dbveto_unknown_expression()".into());
            sql.push_str(&format!(" GENERATED ALWAYS AS ({expression}) STORED"));
        } else {
            sql.push_str(if field.null { " NULL" } else { " NOT NULL" });
        }
        if field.primary_key {
            sql.push_str(" PRIMARY KEY");
        } else if field.unique {
            sql.push_str(" UNIQUE");
        }
        if let Some(check) = field.check_sql(&column) {
            sql.push_str(&format!(" CHECK ({check})"));
        }
        if field.is_auto() {
            sql.push_str(" GENERATED BY DEFAULT AS IDENTITY");
        }
        Some(sql)
    }

    fn fk_sql(&self, model: &ModelState, name: &str, field: &Field) -> Option<String> {
        if !field.relation.as_ref()?.db_constraint || !field.is_foreign_key() {
            return None;
        }
        let target = self.target(model, field)?;
        Some(foreign_key_sql(&model.db_table(), &field.column(name)?, &target.table, &target.column))
    }

    /// `_field_indexes_sql`: `db_index` (and foreign keys), plus the
    /// `_like` index PostgreSQL gets for varchar and text.
    fn field_indexes(&self, model: &ModelState, name: &str, field: &Field) -> Vec<String> {
        let mut out = Vec::new();
        if field.db_index && !field.unique && !field.primary_key {
            out.extend(self.plain_index(model, name, field));
        }
        if (field.db_index || field.unique) && !field.primary_key {
            out.extend(self.like_index(model, name, field));
        }
        out
    }

    fn plain_index(&self, model: &ModelState, name: &str, field: &Field) -> Option<String> {
        let column = field.column(name)?;
        let table = model.db_table();
        Some(format!("CREATE INDEX {} ON {} ({})", quote(&create_index_name(&table, &[&column], "")), quote(&table), quote(&column)))
    }

    /// `_create_like_index_sql`: only for varchar and text columns.
    fn like_index(&self, model: &ModelState, name: &str, field: &Field) -> Option<String> {
        let column = field.column(name)?;
        let table = model.db_table();
        let db_type = self.db_type(model, field);
        let opclass = if db_type.starts_with("varchar") {
            "varchar_pattern_ops"
        } else if db_type == "text" {
            "text_pattern_ops"
        } else {
            return None;
        };
        Some(format!(
            "CREATE INDEX {} ON {} ({} {opclass})",
            quote(&create_index_name(&table, &[&column], "_like")),
            quote(&table),
            quote(&column)
        ))
    }

    pub fn create_model(&mut self, model: &ModelState) {
        if !model.has_table() {
            return;
        }
        let table = model.db_table();
        let mut definitions: Vec<String> = model
            .fields
            .iter()
            .filter_map(|(name, field)| self.column_sql(model, name, field, false))
            .collect();
        let mut opaque = Vec::new();
        for constraint in &model.options.constraints {
            match self.constraint_sql(model, constraint) {
                Some(ConstraintSql::Inline(sql)) => definitions.push(sql),
                Some(ConstraintSql::Separate(sql)) => self.defer(sql),
                Some(ConstraintSql::Opaque(name)) => opaque.push(name),
                None => {}
            }
        }
        self.sql(format!("CREATE TABLE {} ({})", quote(&table), definitions.join(", ")));
        for name in opaque {
            self.steps.push(Step::OpaqueCheck { table: table.clone(), name });
        }
        for (name, field) in &model.fields {
            if let Some(fk) = self.fk_sql(model, name, field) {
                self.defer(fk);
            }
        }
        for fields in &model.options.unique_together {
            if let Some(sql) = self.unique_together_sql(model, fields) {
                self.defer(sql);
            }
        }
        for (name, field) in &model.fields {
            for sql in self.field_indexes(model, name, field) {
                self.defer(sql);
            }
        }
        for fields in &model.options.index_together {
            if let Some(sql) = self.index_together_sql(model, fields) {
                self.defer(sql);
            }
        }
        for index in &model.options.indexes {
            if let Some(sql) = self.index_sql(model, index) {
                self.defer(sql);
            }
        }
        for (name, field) in &model.fields {
            self.create_many_to_many(model, name, field);
        }
    }

    /// The table Django creates for a `ManyToManyField` without `through`.
    fn create_many_to_many(&mut self, model: &ModelState, name: &str, field: &Field) {
        let Some(relation) = field.relation.as_ref().filter(|r| r.kind == RelationKind::ManyToMany && !r.through) else {
            return;
        };
        let Some(to) = relation.to.as_deref() else { return };
        let target_key = ModelKey::resolve(to, &model.app_label, &model.name);
        let from = model.name.to_lowercase();
        let (from_column, to_column) = if target_key == model.key() {
            (format!("from_{from}_id"), format!("to_{from}_id"))
        } else {
            (format!("{from}_id"), format!("{}_id", target_key.name))
        };
        let table = many_to_many_table(model, name, relation);
        let pk_class = match model.primary_key() {
            Some((_, pk)) if pk.is_auto() => pk.class.base.clone(),
            _ => "BigAutoField".to_string(),
        };
        let pk_type = if pk_class == "AutoField" { "integer" } else if pk_class == "SmallAutoField" { "smallint" } else { "bigint" };
        let Some(from_target) = model.primary_key().and_then(|(n, f)| Some((f.column(n)?, f.own_db_type()?))) else { return };
        let to_field = Field { relation: Some(Relation { kind: RelationKind::ForeignKey, ..relation.clone() }), ..field.clone() };
        let Some(target) = self.target(model, &to_field) else { return };
        let Some(to_type) = target.db_type.clone() else { return };
        self.sql(format!(
            "CREATE TABLE {} (\"id\" {pk_type} NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, {} {} NOT NULL, {} {to_type} NOT NULL)",
            quote(&table),
            quote(&from_column),
            from_target.1,
            quote(&to_column),
        ));
        let unique = create_index_name(&table, &[&from_column, &to_column], "_uniq");
        self.defer(format!("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({}, {})", quote(&table), quote(&unique), quote(&from_column), quote(&to_column)));
        for (column, to_table, to_col) in
            [(&from_column, model.db_table(), from_target.0.clone()), (&to_column, target.table.clone(), target.column.clone())]
        {
            self.defer(foreign_key_sql(&table, column, &to_table, &to_col));
            let index = create_index_name(&table, &[column], "");
            self.defer(format!("CREATE INDEX {} ON {} ({})", quote(&index), quote(&table), quote(column)));
        }
    }

    /// A foreign key whose target model was renamed: Django drops the
    /// constraint and adds it again under a name for the new target.
    pub fn repoint_foreign_key(&mut self, model: &ModelState, name: &str, field: &Field) {
        let Some(column) = field.column(name) else { return };
        if !model.has_table() {
            return;
        }
        for constraint in self.constraints_on(model, std::slice::from_ref(&column), |k| matches!(k, DbConstraint::ForeignKey { .. })) {
            self.sql(format!("ALTER TABLE {} DROP CONSTRAINT {}", quote(&model.db_table()), quote(&constraint)));
        }
        if let Some(fk) = self.fk_sql(model, name, field) {
            self.sql(fk);
        }
    }

    pub fn delete_model(&mut self, model: &ModelState) {
        if !model.has_table() {
            return;
        }
        for (name, field) in &model.fields {
            if let Some(r) = field.relation.as_ref().filter(|r| r.kind == RelationKind::ManyToMany && !r.through) {
                let table = many_to_many_table(model, name, r);
                self.sql(format!("DROP TABLE IF EXISTS {} CASCADE", quote(&table)));
            }
        }
        self.sql(format!("DROP TABLE IF EXISTS {} CASCADE", quote(&model.db_table())));
    }

    pub fn rename_table(&mut self, old: &str, new: &str) {
        if old != new {
            self.sql(format!("ALTER TABLE {} RENAME TO {}", quote(old), quote(new)));
        }
    }

    pub fn add_field(&mut self, model: &ModelState, name: &str, field: &Field) {
        if !model.has_table() {
            return;
        }
        if field.is_many_to_many() {
            self.create_many_to_many(model, name, field);
            return;
        }
        let Some(definition) = self.column_sql(model, name, field, true) else { return };
        self.sql(format!("ALTER TABLE {} ADD COLUMN {definition}", quote(&model.db_table())));
        // Existing rows got the default; Django keeps no database default.
        if field.db_default.is_none() && has_effective_default(field) {
            if let Some(column) = field.column(name) {
                self.sql(format!("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT", quote(&model.db_table()), quote(&column)));
            }
        }
        if let Some(fk) = self.fk_sql(model, name, field) {
            self.sql(fk);
        }
        for sql in self.field_indexes(model, name, field) {
            self.defer(sql);
        }
    }

    pub fn remove_field(&mut self, model: &ModelState, name: &str, field: &Field) {
        if !model.has_table() {
            return;
        }
        if let Some(r) = field.relation.as_ref().filter(|r| r.kind == RelationKind::ManyToMany) {
            if !r.through {
                let table = many_to_many_table(model, name, r);
                self.sql(format!("DROP TABLE IF EXISTS {} CASCADE", quote(&table)));
            }
            return;
        }
        let Some(column) = field.column(name) else { return };
        self.sql(format!("ALTER TABLE {} DROP COLUMN {} CASCADE", quote(&model.db_table()), quote(&column)));
    }

    /// Constraints on exactly `columns` of a kind, minus those that
    /// `Meta.constraints` names (`_constraint_names(..., exclude=...)`).
    fn constraints_on(&self, model: &ModelState, columns: &[String], kind: fn(&DbConstraint) -> bool) -> Vec<String> {
        let meta: Vec<&str> = model.options.constraints.iter().filter_map(|c| c.name.as_deref()).collect();
        let Some(table) = self.schema.table(None, &model.db_table()) else { return Vec::new() };
        table
            .constraints
            .iter()
            .filter(|c| c.columns == columns && kind(&c.kind) && !meta.contains(&c.name.as_str()))
            .map(|c| c.name.clone())
            .collect()
    }

    /// `_alter_field`: the catalog changes between two versions of a field.
    pub fn alter_field(&mut self, model: &ModelState, old_name: &str, old: &Field, new_name: &str, new: &Field) {
        if !model.has_table() || old.is_many_to_many() || new.is_many_to_many() {
            return;
        }
        let table = model.db_table();
        let Some(new_column) = new.column(new_name) else { return };
        let Some(old_column) = old.column(old_name) else {
            // The old field's class was not known, so neither was its column
            // (an mptt `TreeForeignKey` made a plain `ForeignKey`): it is
            // there, and known from here on.
            self.add_field(model, new_name, new);
            return;
        };
        let old_type = self.db_type(model, old);
        let new_type = self.db_type(model, new);
        let old_fk = old.is_foreign_key() && old.relation.as_ref().is_some_and(|r| r.db_constraint);
        let new_fk = new.is_foreign_key() && new.relation.as_ref().is_some_and(|r| r.db_constraint);
        let fk_changed = old_fk && (!new_fk || old.relation != new.relation || old_type != new_type || old_column != new_column);
        if fk_changed {
            for name in self.constraints_on(model, std::slice::from_ref(&old_column), |k| matches!(k, DbConstraint::ForeignKey { .. })) {
                self.sql(format!("ALTER TABLE {} DROP CONSTRAINT {}", quote(&table), quote(&name)));
            }
        }
        if old.unique && !new.unique && !old.primary_key {
            for name in self.constraints_on(model, std::slice::from_ref(&old_column), |k| matches!(k, DbConstraint::Unique)) {
                self.sql(format!("ALTER TABLE {} DROP CONSTRAINT {}", quote(&table), quote(&name)));
            }
        }
        // Django compares checks with a placeholder column: a rename alone
        // keeps the constraint.
        let check_changed = old.check_sql("__column_name__") != new.check_sql("__column_name__");
        if check_changed && old.check_sql(&old_column).is_some() {
            for name in self.constraints_on(model, std::slice::from_ref(&old_column), |k| matches!(k, DbConstraint::Check { .. })) {
                self.sql(format!("ALTER TABLE {} DROP CONSTRAINT {}", quote(&table), quote(&name)));
            }
        }
        if old_column != new_column {
            self.sql(format!("ALTER TABLE {} RENAME COLUMN {} TO {}", quote(&table), quote(&old_column), quote(&new_column)));
        }
        if old_type != new_type {
            self.sql(format!(
                "ALTER TABLE {} ALTER COLUMN {} TYPE {new_type} USING {}::{new_type}",
                quote(&table),
                quote(&new_column),
                quote(&new_column)
            ));
        }
        if old.db_default != new.db_default {
            match &new.db_default {
                Some(default) => self.sql(format!(
                    "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}",
                    quote(&table),
                    quote(&new_column),
                    default_sql(default)
                )),
                None => self.sql(format!("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT", quote(&table), quote(&new_column))),
            }
        }
        if old.null && !new.null {
            // A default fills the NULL rows first (`four_way_default_alteration`).
            match (&new.db_default, &new.default) {
                (Some(default), _) => self.sql(format!(
                    "UPDATE {} SET {} = {} WHERE {} IS NULL",
                    quote(&table),
                    quote(&new_column),
                    default_sql(default),
                    quote(&new_column)
                )),
                (None, Some(_)) => self.sql(format!(
                    "UPDATE {} SET {} = {PYTHON_DEFAULT} WHERE {} IS NULL",
                    quote(&table),
                    quote(&new_column),
                    quote(&new_column)
                )),
                (None, None) => {}
            }
            self.sql(format!("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL", quote(&table), quote(&new_column)));
        } else if !old.null && new.null {
            self.sql(format!("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL", quote(&table), quote(&new_column)));
        }
        if new.unique && !old.unique && !new.primary_key {
            let name = create_index_name(&table, &[&new_column], "_uniq");
            self.sql(format!("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({})", quote(&table), quote(&name), quote(&new_column)));
        }
        // `BaseDatabaseSchemaEditor._alter_field`: a plain index when
        // `db_index` is switched on, or a unique constraint no longer
        // stands in for one.
        if (!old.db_index || old.unique) && new.db_index && !new.unique && !new.primary_key {
            if let Some(sql) = self.plain_index(model, new_name, new) {
                self.sql(sql);
            }
        }
        // PostgreSQL's `_alter_field`: the `_like` index, when the column
        // had neither index nor unique constraint before.
        if ((!(old.db_index || old.unique) && new.db_index) || (!old.unique && new.unique)) && !new.primary_key {
            if let Some(sql) = self.like_index(model, new_name, new) {
                self.sql(sql);
            }
        }
        if old.unique && !(new.db_index || new.unique) && self.like_index(model, old_name, old).is_some() {
            self.sql(format!("DROP INDEX IF EXISTS {}", quote(&create_index_name(&table, &[&old_column], "_like"))));
        }
        if new_fk && (fk_changed || !old_fk) {
            if let Some(fk) = self.fk_sql(model, new_name, new) {
                self.sql(fk);
            }
        }
        if let Some(check) = new.check_sql(&new_column) {
            if check_changed {
                let name = create_index_name(&table, &[&new_column], "_check");
                self.sql(format!("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({check})", quote(&table), quote(&name)));
            }
        }
    }

    fn columns(&self, model: &ModelState, fields: &[String]) -> Option<Vec<String>> {
        fields.iter().map(|f| model.column_of(f.trim_start_matches('-'))).collect()
    }

    fn unique_together_sql(&self, model: &ModelState, fields: &[String]) -> Option<String> {
        let columns = self.columns(model, fields)?;
        let table = model.db_table();
        let refs: Vec<&str> = columns.iter().map(String::as_str).collect();
        let name = create_index_name(&table, &refs, "_uniq");
        Some(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({})",
            quote(&table),
            quote(&name),
            quoted_list(&columns)
        ))
    }

    fn index_together_sql(&self, model: &ModelState, fields: &[String]) -> Option<String> {
        let columns = self.columns(model, fields)?;
        let table = model.db_table();
        let refs: Vec<&str> = columns.iter().map(String::as_str).collect();
        let name = create_index_name(&table, &refs, "_idx");
        Some(format!(
            "CREATE INDEX {} ON {} ({})",
            quote(&name),
            quote(&table),
            quoted_list(&columns)
        ))
    }

    pub fn alter_unique_together(&mut self, model: &ModelState, old: &[Vec<String>], new: &[Vec<String>]) {
        if !model.has_table() {
            return;
        }
        let table = model.db_table();
        for fields in old.iter().filter(|f| !new.contains(f)) {
            let Some(columns) = self.columns(model, fields) else { continue };
            for name in self.constraints_on(model, &columns, |k| matches!(k, DbConstraint::Unique)) {
                self.sql(format!("ALTER TABLE {} DROP CONSTRAINT {}", quote(&table), quote(&name)));
            }
        }
        for fields in new.iter().filter(|f| !old.contains(f)) {
            if let Some(sql) = self.unique_together_sql(model, fields) {
                self.sql(sql);
            }
        }
    }

    pub fn alter_index_together(&mut self, model: &ModelState, old: &[Vec<String>], new: &[Vec<String>]) {
        if !model.has_table() {
            return;
        }
        for fields in old.iter().filter(|f| !new.contains(f)) {
            let Some(columns) = self.columns(model, fields) else { continue };
            let refs: Vec<&str> = columns.iter().map(String::as_str).collect();
            let name = create_index_name(&model.db_table(), &refs, "_idx");
            self.sql(format!("DROP INDEX IF EXISTS {}", quote(&name)));
        }
        for fields in new.iter().filter(|f| !old.contains(f)) {
            if let Some(sql) = self.index_together_sql(model, fields) {
                self.sql(sql);
            }
        }
    }

    fn index_sql(&self, model: &ModelState, index: &IndexSpec) -> Option<String> {
        let table = model.db_table();
        let columns: Vec<(String, bool)> = index
            .fields
            .iter()
            .map(|f| Some((model.column_of(f.trim_start_matches('-'))?, f.starts_with('-'))))
            .collect::<Option<_>>()?;
        if columns.is_empty() {
            return None;
        }
        let name = index.name.clone().unwrap_or_else(|| crate::naming::default_index_name(&table, &columns));
        let list: Vec<String> = columns.iter().map(|(c, desc)| format!("{}{}", quote(c), if *desc { " DESC" } else { "" })).collect();
        Some(format!("CREATE INDEX {} ON {} ({})", quote(&name), quote(&table), list.join(", ")))
    }

    pub fn add_index(&mut self, model: &ModelState, index: &IndexSpec) {
        if model.has_table() {
            if let Some(sql) = self.index_sql(model, index) {
                self.sql(sql);
            }
        }
    }

    pub fn remove_index(&mut self, model: &ModelState, name: &str) {
        if model.has_table() {
            self.sql(format!("DROP INDEX IF EXISTS {}", quote(name)));
        }
    }

    pub fn rename_index(&mut self, model: &ModelState, old: &str, new: &str) {
        if model.has_table() {
            self.sql(format!("ALTER INDEX IF EXISTS {} RENAME TO {}", quote(old), quote(new)));
        }
    }

    fn constraint_sql(&self, model: &ModelState, constraint: &ConstraintSpec) -> Option<ConstraintSql> {
        let name = constraint.name.clone()?;
        let table = model.db_table();
        match &constraint.kind {
            ConstraintKind::Check(condition) => match condition.as_ref().and_then(|q| compile(q, model)) {
                Some(sql) => Some(ConstraintSql::Inline(format!("CONSTRAINT {} CHECK ({sql})", quote(&name)))),
                None => Some(ConstraintSql::Opaque(name)),
            },
            ConstraintKind::Unique { fields, partial: false, deferrable, .. } => {
                let columns = self.columns(model, fields)?;
                let deferrable = match deferrable.as_deref() {
                    Some("DEFERRED") => " DEFERRABLE INITIALLY DEFERRED",
                    Some("IMMEDIATE") => " DEFERRABLE INITIALLY IMMEDIATE",
                    _ => "",
                };
                Some(ConstraintSql::Inline(format!(
                    "CONSTRAINT {} UNIQUE ({}){deferrable}",
                    quote(&name),
                    quoted_list(&columns)
                )))
            }
            // A unique constraint with a condition or expressions is a
            // unique index (`_create_unique_sql`).
            ConstraintKind::Unique { fields, partial: true, expressions, condition, .. } => {
                let elements = if fields.is_empty() {
                    let compiled: Vec<String> = expressions.as_ref()?.iter().map(|e| index_expression_sql(e, model)).collect::<Option<_>>()?;
                    compiled.join(", ")
                } else {
                    quoted_list(&self.columns(model, fields)?)
                };
                if elements.is_empty() {
                    return None;
                }
                let predicate = condition.as_ref().and_then(|q| compile(q, model)).map(|sql| format!(" WHERE {sql}")).unwrap_or_default();
                Some(ConstraintSql::Separate(format!("CREATE UNIQUE INDEX {} ON {} ({elements}){predicate}", quote(&name), quote(&table))))
            }
        }
    }

    pub fn add_constraint(&mut self, model: &ModelState, constraint: &ConstraintSpec) {
        if !model.has_table() {
            return;
        }
        let table = model.db_table();
        match self.constraint_sql(model, constraint) {
            Some(ConstraintSql::Inline(sql)) => self.sql(format!("ALTER TABLE {} ADD {sql}", quote(&table))),
            Some(ConstraintSql::Separate(sql)) => self.sql(sql),
            Some(ConstraintSql::Opaque(name)) => self.steps.push(Step::OpaqueCheck { table, name }),
            None => {}
        }
    }

    pub fn remove_constraint(&mut self, model: &ModelState, constraint: &ConstraintSpec) {
        let Some(name) = &constraint.name else { return };
        if !model.has_table() {
            return;
        }
        match &constraint.kind {
            ConstraintKind::Unique { partial: true, .. } => self.sql(format!("DROP INDEX IF EXISTS {}", quote(name))),
            _ => self.sql(format!("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}", quote(&model.db_table()), quote(name))),
        }
    }
}

enum ConstraintSql {
    /// `CONSTRAINT name ...`, inside CREATE TABLE or after ALTER TABLE ADD.
    Inline(String),
    /// A statement of its own (an index).
    Separate(String),
    Opaque(String),
}

/// A `Q` as the SQL Django compiles for a CHECK; `None` for lookups that
/// are not compiled here.
/// An index expression as Django writes it: each in its own parentheses.
fn index_expression_sql(e: &IndexExpression, model: &ModelState) -> Option<String> {
    Some(match e {
        IndexExpression::Field(f) => format!("({})", quote(&model.column_of(f)?)),
        IndexExpression::Lower(f) => format!("(LOWER({}))", quote(&model.column_of(f)?)),
        IndexExpression::Upper(f) => format!("(UPPER({}))", quote(&model.column_of(f)?)),
    })
}

pub fn compile(q: &Q, model: &ModelState) -> Option<String> {
    let joined = |children: &[Q], op: &str| -> Option<String> {
        let parts: Vec<String> = children.iter().map(|c| compile(c, model)).collect::<Option<_>>()?;
        match parts.len() {
            0 => None,
            1 => parts.into_iter().next(),
            _ => Some(format!("({})", parts.join(op))),
        }
    };
    match q {
        Q::And(children) => joined(children, " AND "),
        Q::Or(children) => joined(children, " OR "),
        Q::Not(inner) => Some(format!("NOT ({})", compile(inner, model)?)),
        Q::Lookup { field, lookup, value } => {
            let column = quote(&model.column_of(field)?);
            let operand = |v: &QValue| match v {
                QValue::Literal(l) => Some(sql_value(l)),
                QValue::Field(f) => Some(quote(&model.column_of(f)?)),
                QValue::List(_) => None,
            };
            match (lookup.as_str(), value) {
                ("exact", QValue::Literal(Literal::Null)) => Some(format!("{column} IS NULL")),
                ("isnull", QValue::Literal(Literal::Bool(true))) => Some(format!("{column} IS NULL")),
                ("isnull", QValue::Literal(Literal::Bool(false))) => Some(format!("{column} IS NOT NULL")),
                ("in", QValue::List(items)) if !items.is_empty() => {
                    let values: Vec<String> = items.iter().filter(|l| **l != Literal::Null).map(sql_value).collect();
                    Some(format!("{column} IN ({})", values.join(", ")))
                }
                ("range", QValue::List(items)) if items.len() == 2 => {
                    Some(format!("{column} BETWEEN {} AND {}", sql_value(&items[0]), sql_value(&items[1])))
                }
                (op, v) => {
                    let symbol = match op {
                        "exact" => "=",
                        "gt" => ">",
                        "gte" => ">=",
                        "lt" => "<",
                        "lte" => "<=",
                        _ => return None,
                    };
                    Some(format!("{column} {symbol} {}", operand(v)?))
                }
            }
        }
    }
}
