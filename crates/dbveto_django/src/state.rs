//! Django's model state: the models as migrations (or `models.py`) declare
//! them, with the options that reach the database.

use std::collections::BTreeMap;

use dbveto_source::Location;
use dbveto_writes::Literal;

use crate::field::Field;
use crate::naming::{truncate_name, POSTGRES_MAX_NAME};

#[derive(Debug, Clone, PartialEq)]
pub struct ModelState {
    pub app_label: String,
    /// The class name, as written (`OrderItem`).
    pub name: String,
    pub fields: Vec<(String, Field)>,
    pub options: Options,
    /// Where the model is declared (the `CreateModel` or the class).
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub db_table: Option<String>,
    pub managed: bool,
    pub proxy: bool,
    pub abstract_: bool,
    pub unique_together: Vec<Vec<String>>,
    pub index_together: Vec<Vec<String>>,
    pub indexes: Vec<IndexSpec>,
    pub constraints: Vec<ConstraintSpec>,
    /// An option whose value is not known: the table may differ.
    pub uncertain: bool,
    /// `swappable = "AUTH_USER_MODEL"`: the setting that may name another
    /// model to be used instead of this one.
    pub swappable: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            db_table: None,
            managed: true,
            proxy: false,
            abstract_: false,
            unique_together: Vec::new(),
            index_together: Vec::new(),
            indexes: Vec::new(),
            constraints: Vec::new(),
            uncertain: false,
            swappable: None,
        }
    }
}

/// `models.Index(fields=[...], name=...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSpec {
    pub name: Option<String>,
    /// Field names with `-` for descending order, as written.
    pub fields: Vec<String>,
    /// `condition=`, `expressions`, `opclasses`: not a plain column index.
    pub partial: bool,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConstraintKind {
    Check(Option<Q>),
    /// `partial`: a condition, expressions, opclasses, `include` or
    /// `nulls_distinct`, which make it a unique index rather than a
    /// constraint; `expressions` and `condition` are what dbveto can compile
    /// of them (`None` when it cannot).
    Unique { fields: Vec<String>, partial: bool, deferrable: Option<String>, expressions: Option<Vec<IndexExpression>>, condition: Option<Q> },
}

/// An expression of a `UniqueConstraint(*expressions)` that dbveto
/// compiles: a field (`F("f")`), or `Lower`/`Upper` of one.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexExpression {
    Field(String),
    Lower(String),
    Upper(String),
}

/// `CheckConstraint` or `UniqueConstraint` of `Meta.constraints`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstraintSpec {
    pub name: Option<String>,
    pub kind: ConstraintKind,
    pub location: Location,
}

/// A `Q` object: a condition over fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Q {
    And(Vec<Q>),
    Or(Vec<Q>),
    Not(Box<Q>),
    /// `field__lookup=value`.
    Lookup { field: String, lookup: String, value: QValue },
}

#[derive(Debug, Clone, PartialEq)]
pub enum QValue {
    Literal(Literal),
    List(Vec<Literal>),
    /// `F("other")`.
    Field(String),
}

impl ModelState {
    pub fn key(&self) -> ModelKey {
        ModelKey::new(&self.app_label, &self.name)
    }

    /// `db_table`, else `<app_label>_<model name lower-cased>`, truncated.
    pub fn db_table(&self) -> String {
        match &self.options.db_table {
            Some(t) => t.clone(),
            None => truncate_name(&format!("{}_{}", self.app_label, self.name.to_lowercase()), POSTGRES_MAX_NAME),
        }
    }

    /// Whether the model has a table of its own that migrations manage.
    pub fn has_table(&self) -> bool {
        self.options.managed && !self.options.proxy && !self.options.abstract_
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    pub fn field_mut(&mut self, name: &str) -> Option<&mut Field> {
        self.fields.iter_mut().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    /// The column a field name (or its attname, `fabric_id`) stands for.
    pub fn column_of(&self, name: &str) -> Option<String> {
        if name == "pk" {
            return self.primary_key().and_then(|(n, f)| f.column(n));
        }
        for (n, f) in &self.fields {
            if n == name || (f.is_foreign_key() && format!("{n}_id") == name) {
                return f.column(n);
            }
        }
        None
    }

    pub fn primary_key(&self) -> Option<(&str, &Field)> {
        self.fields.iter().find(|(_, f)| f.primary_key).map(|(n, f)| (n.as_str(), f))
    }
}

/// A model's identity: app label and lower-cased name, as Django keys it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelKey {
    pub app_label: String,
    pub name: String,
}

impl ModelKey {
    pub fn new(app_label: &str, name: &str) -> Self {
        ModelKey { app_label: app_label.to_string(), name: name.to_lowercase() }
    }

    /// Resolves a relation target (`"app.Model"`, `"Model"`, `"self"`)
    /// written in a model of `app_label` named `from`.
    pub fn resolve(reference: &str, app_label: &str, from: &str) -> ModelKey {
        if reference == "self" {
            return ModelKey::new(app_label, from);
        }
        match reference.rsplit_once('.') {
            Some((app, model)) => ModelKey::new(app, model),
            None => ModelKey::new(app_label, reference),
        }
    }
}

/// All models, by key.
#[derive(Debug, Clone, Default)]
pub struct ProjectState {
    pub models: BTreeMap<ModelKey, ModelState>,
}

impl ProjectState {
    pub fn get(&self, key: &ModelKey) -> Option<&ModelState> {
        self.models.get(key)
    }
}
