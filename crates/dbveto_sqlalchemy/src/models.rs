//! The mapped tables as the code declares them: declarative classes (old
//! style `Column`, new style `Mapped[...]` / `mapped_column`), their
//! bases and mixins in the repository, `__table_args__`, and Core
//! `Table(...)` objects on a `MetaData`. What the ORM sends is decided by
//! these, whatever the migrations say.

use std::collections::HashMap;

use dbveto_python_semantic::{ModuleId, ProjectIndex, Value};
use dbveto_source::Location;
use dbveto_writes::Literal;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::names::{argument, keyword, path, sql_string, Names};
use crate::naming::Conventions;
use crate::types::{annotation_type, column_type, ColumnType};

/// How deep a chain of base classes is followed.
const MAX_BASES: u32 = 16;
/// How deeply the statements of a `@validates` method are read.
const MAX_NESTING: u32 = 32;

/// What an unset attribute gets from the client side (`default=`).
#[derive(Debug, Clone, PartialEq)]
pub enum ClientDefault {
    None,
    Value(Literal),
    /// A callable or SQL expression: the value is not known statically.
    Dynamic,
}

/// `ForeignKey("table.column", ...)` of a column.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKeyRef {
    /// As written: `table.column` or `schema.table.column`.
    pub target: String,
    pub name: Option<String>,
    pub ondelete: Option<String>,
    pub onupdate: Option<String>,
    /// `use_alter=True`: `CREATE TABLE` leaves it out; `create_all()` adds
    /// it afterwards, Alembic's `create_table` never does.
    pub use_alter: bool,
    pub location: Location,
}

impl ForeignKeyRef {
    /// `(table, column)` the key points at (the schema dropped).
    pub fn table_column(&self) -> Option<(&str, &str)> {
        let (table, column) = self.target.rsplit_once('.')?;
        Some((table.rsplit('.').next().unwrap_or(table), column))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MappedColumn {
    /// The attribute the ORM sets (`key`).
    pub attr: String,
    pub name: String,
    /// `None` until a foreign key gives it its target's type.
    pub ty: Option<ColumnType>,
    pub primary_key: bool,
    pub nullable: bool,
    pub default: ClientDefault,
    /// The DDL default (`server_default=`), as SQL.
    pub server_default: Option<String>,
    pub foreign_keys: Vec<ForeignKeyRef>,
    pub unique: bool,
    pub index: bool,
    pub autoincrement: Option<bool>,
    /// Column-level `CheckConstraint`s: (name, SQL).
    pub checks: Vec<(Option<String>, Option<String>)>,
    pub location: Location,
}

/// A constraint or index of `__table_args__` or of a `Table(...)`.
#[derive(Debug, Clone, PartialEq)]
pub enum TableItem {
    PrimaryKey { name: Option<String>, columns: Vec<String> },
    Unique { name: Option<String>, columns: Vec<String> },
    /// `sql` is `None` for a condition written as a SQL expression object.
    Check { name: Option<String>, sql: Option<String> },
    ForeignKey { name: Option<String>, columns: Vec<String>, targets: Vec<String>, ondelete: Option<String>, onupdate: Option<String>, use_alter: bool },
    Index { name: Option<String>, columns: Vec<String>, unique: bool },
}

#[derive(Debug, Clone)]
pub struct MappedTable {
    /// The mapped class, `None` for a Core `Table`.
    pub class: Option<(ModuleId, u32)>,
    pub class_name: Option<String>,
    /// `<module>.<Class>`: how the unit of work orders mappers that no
    /// relationship orders (`Mapper._sort_key`).
    pub sort_key: String,
    pub schema: Option<String>,
    pub name: String,
    pub columns: Vec<MappedColumn>,
    pub items: Vec<(TableItem, Location)>,
    pub location: Location,
    /// Something dbveto cannot read declares columns or the table.
    pub incomplete: bool,
    /// Classes this class has a (non view-only) `relationship()` to.
    pub relationships: Vec<String>,
    /// Each `relationship()` attribute and the class it leads to: setting
    /// it (`Child(parent=p)`) fills the foreign key to that class at flush.
    pub relationship_attrs: Vec<(String, String)>,
    /// `@validates` hooks: setting one of their attributes runs them.
    pub validators: Vec<Validator>,
    /// The class defines `__init__`: its keywords are not attributes.
    pub custom_init: bool,
    pub conventions: Conventions,
    /// Names marked as final (`op.f()`, `conv()`): no convention applies to them.
    pub final_names: Vec<String>,
}

/// A `@validates("a", "b")` method.
#[derive(Debug, Clone, PartialEq)]
pub struct Validator {
    pub attrs: Vec<String>,
    /// The other attributes it sets (`self.name_key = value.lower()`).
    pub sets: Vec<String>,
    /// It returns the value it is given unchanged (`return value`).
    pub keeps_value: bool,
}

impl MappedTable {
    pub fn column_of_attr(&self, attr: &str) -> Option<&MappedColumn> {
        self.columns.iter().find(|c| c.attr == attr).or_else(|| self.columns.iter().find(|c| c.name == attr))
    }
}

#[derive(Debug, Default)]
pub struct Models {
    pub tables: Vec<MappedTable>,
    pub by_class: HashMap<(ModuleId, u32), usize>,
    /// Module-level `Table(...)` objects, by (module, name).
    pub by_table_var: HashMap<(ModuleId, String), usize>,
}

impl Models {
    pub fn of_class(&self, module: ModuleId, class: &ast::StmtClassDef) -> Option<&MappedTable> {
        self.by_class.get(&(module, class.start().to_u32())).map(|&i| &self.tables[i])
    }

    pub fn index_of_class(&self, module: ModuleId, class: &ast::StmtClassDef) -> Option<usize> {
        self.by_class.get(&(module, class.start().to_u32())).copied()
    }

    pub fn by_name(&self, table: &str) -> Option<&MappedTable> {
        self.tables.iter().find(|t| t.name == table)
    }
}

/// What a class is to the declarative system.
#[derive(Debug, Clone)]
enum Kind {
    /// A declarative base: its subclasses are mapped.
    Base { conventions: Conventions, flask: bool },
    /// A mixin, `__abstract__` class or any other class: its columns are
    /// copied into mapped subclasses.
    Mixin { declarative: Option<(Conventions, bool)>, columns: Vec<MappedColumn>, items: Vec<(TableItem, Location)>, tablename_from_class: bool, incomplete: bool },
    Mapped(usize),
}

pub fn read(index: &ProjectIndex<'_>) -> Models {
    let mut reader = Reader { names: Names::new(index), memo: HashMap::new(), models: Models::default(), final_names: Vec::new() };
    let migrations = crate::alembic::script_dirs(index);
    for module in &index.modules {
        if crate::alembic::is_migration_code(&migrations, &module.file.path) {
            continue;
        }
        for stmt in module.body {
            match stmt {
                Stmt::ClassDef(class) => {
                    reader.class(module.id, class, 0);
                }
                Stmt::Assign(assign) => {
                    let [Expr::Name(target)] = &assign.targets[..] else { continue };
                    let Expr::Call(call) = assign.value.as_ref() else { continue };
                    if let Some(table) = reader.core_table(module.id, call) {
                        reader.models.by_table_var.insert((module.id, target.id.to_string()), reader.models.tables.len());
                        reader.models.tables.push(table);
                    }
                }
                _ => {}
            }
        }
    }
    let mut models = reader.models;
    resolve_foreign_key_types(&mut models);
    models
}

/// `Column(ForeignKey("t.id"))` without a type takes its target's.
fn resolve_foreign_key_types(models: &mut Models) {
    for _ in 0..4 {
        let mut found = Vec::new();
        for (t, table) in models.tables.iter().enumerate() {
            for (c, column) in table.columns.iter().enumerate() {
                if column.ty.is_some() {
                    continue;
                }
                let Some((target_table, target_column)) = column.foreign_keys.first().and_then(|f| f.table_column()) else { continue };
                let ty = models.by_name(target_table).and_then(|t| t.columns.iter().find(|c| c.name == target_column)).and_then(|c| c.ty.clone());
                if let Some(ty) = ty {
                    found.push((t, c, ty));
                }
            }
        }
        if found.is_empty() {
            break;
        }
        for (t, c, ty) in found {
            models.tables[t].columns[c].ty = Some(ty);
        }
    }
}

struct Reader<'p, 'a> {
    names: Names<'p, 'a>,
    memo: HashMap<(ModuleId, u32), Kind>,
    models: Models,
    /// The final names (`op.f()`, `conv()`) read for the table being read.
    final_names: Vec<String>,
}

/// `use_alter=` of a foreign key; `None` when it is not a known boolean.
fn use_alter<'a>(reader: &mut Reader<'_, 'a>, module: ModuleId, call: &'a ast::ExprCall) -> Option<bool> {
    match keyword(call, "use_alter") {
        None => Some(false),
        Some(e) => match reader.names.literal(module, &[], e)? {
            Literal::Bool(b) => Some(b),
            _ => None,
        },
    }
}

/// `Mapped[T]`: `T`, and whether it admits `None`.
fn mapped_annotation(annotation: &Expr) -> Option<(&Expr, bool)> {
    let Expr::Subscript(sub) = annotation else { return None };
    if dbveto_python_semantic::last_name(&sub.value) != Some("Mapped") {
        return None;
    }
    Some(optional(&sub.slice))
}

/// `Optional[T]`, `T | None`, `None | T`, `Union[T, None]`: `(T, true)`.
fn optional(expr: &Expr) -> (&Expr, bool) {
    match expr {
        Expr::Subscript(sub) => {
            let outer = dbveto_python_semantic::last_name(&sub.value).unwrap_or_default();
            match (outer, sub.slice.as_ref()) {
                ("Optional", inner) => (inner, true),
                ("Union", Expr::Tuple(t)) if t.elts.iter().any(|e| matches!(e, Expr::NoneLiteral(_))) => {
                    let rest: Vec<&Expr> = t.elts.iter().filter(|e| !matches!(e, Expr::NoneLiteral(_))).collect();
                    (rest.first().copied().unwrap_or(expr), true)
                }
                _ => (expr, false),
            }
        }
        Expr::BinOp(b) if b.op == ast::Operator::BitOr => match (b.left.as_ref(), b.right.as_ref()) {
            (inner, Expr::NoneLiteral(_)) | (Expr::NoneLiteral(_), inner) => (inner, true),
            _ => (expr, false),
        },
        _ => (expr, false),
    }
}

/// `class Name(...)` → `name` as Flask-SQLAlchemy derives table names.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_uppercase())) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

impl<'p, 'a> Reader<'p, 'a> {
    fn class(&mut self, module: ModuleId, class: &'a ast::StmtClassDef, depth: u32) -> Kind {
        let key = (module, class.start().to_u32());
        if let Some(kind) = self.memo.get(&key) {
            return kind.clone();
        }
        let empty = Kind::Mixin { declarative: None, columns: Vec::new(), items: Vec::new(), tablename_from_class: false, incomplete: false };
        self.memo.insert(key, empty.clone());
        let outer = std::mem::take(&mut self.final_names);
        let kind = if depth > MAX_BASES { empty } else { self.read_class(module, class, depth) };
        self.final_names = outer;
        self.memo.insert(key, kind.clone());
        kind
    }

    /// The conventions of a `MetaData(...)` expression, or of `Base.metadata`.
    fn metadata(&mut self, module: ModuleId, expr: &'a Expr) -> Option<Conventions> {
        match expr {
            Expr::Call(call) if self.names.sqlalchemy(module, &[], &call.func).as_deref() == Some("MetaData") => {
                let Some(dict) = keyword(call, "naming_convention") else { return Some(Conventions::default()) };
                Some(self.conventions(module, dict))
            }
            Expr::Attribute(a) if a.attr.as_str() == "metadata" => {
                let (owner, class) = self.names.class(module, &[], &a.value)?;
                match self.class(owner, class, 0) {
                    Kind::Base { conventions, .. } => Some(conventions),
                    Kind::Mixin { declarative: Some((conventions, _)), .. } => Some(conventions),
                    _ => None,
                }
            }
            Expr::Name(n) => {
                let (owner, bound) = self.names.bound(module, &[], n.id.as_str())?;
                if std::ptr::eq(bound, expr) {
                    return None;
                }
                self.metadata(owner, bound)
            }
            _ => None,
        }
    }

    fn conventions(&mut self, module: ModuleId, expr: &'a Expr) -> Conventions {
        let expr = match expr {
            Expr::Name(n) => match self.names.bound(module, &[], n.id.as_str()) {
                Some((_, bound)) => bound,
                None => return Conventions::unknown(),
            },
            other => other,
        };
        let Expr::Dict(dict) = expr else { return Conventions::unknown() };
        let mut conventions = Conventions { templates: Vec::new(), known: true };
        for item in dict.items.iter() {
            let key = item.key.as_ref().and_then(|k| self.names.string(module, &[], k));
            let value = self.names.string(module, &[], &item.value);
            match (key, value) {
                (Some(k), Some(v)) => conventions.templates.push((k, v)),
                _ => conventions.known = false,
            }
        }
        conventions
    }

    /// A constraint's or index's name: a string, or a final name
    /// (`op.f()`, `conv()`), remembered for the table being read.
    fn given_name(&mut self, module: ModuleId, expr: &'a Expr) -> Option<String> {
        if let Some(name) = self.names.final_name(module, &[], expr) {
            self.final_names.push(name.clone());
            return Some(name);
        }
        self.names.string(module, &[], expr)
    }

    /// The declarative base a bound expression makes: `declarative_base(...)`,
    /// `registry(...).generate_base()`, Flask-SQLAlchemy's `db.Model`.
    fn declarative_factory(&mut self, module: ModuleId, expr: &'a Expr) -> Option<(Conventions, bool)> {
        if let Expr::Attribute(a) = expr {
            if a.attr.as_str() == "Model" {
                if let Expr::Name(db) = a.value.as_ref() {
                    if let Some((owner, Expr::Call(call))) = self.names.bound(module, &[], db.id.as_str()) {
                        let factory = self.names.external(owner, &[], &call.func).unwrap_or_default();
                        if factory.starts_with("flask_sqlalchemy") {
                            let conventions = match keyword(call, "metadata") {
                                Some(m) => self.metadata(owner, m).unwrap_or_else(Conventions::unknown),
                                None => Conventions::default(),
                            };
                            return Some((conventions, true));
                        }
                    }
                }
            }
        }
        let (owner, bound) = match expr {
            Expr::Name(n) => self.names.bound(module, &[], n.id.as_str())?,
            _ => return None,
        };
        let Expr::Call(call) = bound else { return None };
        let callee = match call.func.as_ref() {
            Expr::Attribute(a) if a.attr.as_str() == "generate_base" => "generate_base".to_string(),
            func => self.names.external(owner, &[], func)?,
        };
        if !(callee.ends_with("declarative_base") || callee == "generate_base") {
            return None;
        }
        let conventions = match keyword(call, "metadata") {
            Some(m) => self.metadata(owner, m).unwrap_or_else(Conventions::unknown),
            None => Conventions::default(),
        };
        Some((conventions, false))
    }

    fn read_class(&mut self, module: ModuleId, class: &'a ast::StmtClassDef, depth: u32) -> Kind {
        let location = self.names.location(module, class);
        let mut declarative: Option<(Conventions, bool)> = None;
        let mut is_base = false;
        let mut columns: Vec<MappedColumn> = Vec::new();
        let mut items: Vec<(TableItem, Location)> = Vec::new();
        let mut parent: Option<usize> = None;
        let mut tablename_from_class = false;
        let mut incomplete = false;
        let mut relationships = Vec::new();
        let mut relationship_attrs: Vec<(String, String)> = Vec::new();
        let mut validators: Vec<Validator> = Vec::new();
        // Bases are read right to left: the leftmost wins, as in the MRO.
        for base in class.bases().iter().rev() {
            if let Some(dotted) = self.names.external(module, &[], base) {
                let last = dotted.rsplit('.').next().unwrap_or("");
                if dotted.starts_with("sqlalchemy") && matches!(last, "DeclarativeBase" | "DeclarativeBaseNoMeta") {
                    is_base = true;
                    declarative = Some((Conventions::default(), false));
                }
                continue;
            }
            if let Some(found) = self.declarative_factory(module, base) {
                declarative = Some(found);
                continue;
            }
            let Some((owner, base_class)) = self.names.class(module, &[], base) else { continue };
            match self.class(owner, base_class, depth + 1) {
                Kind::Base { conventions, flask } => declarative = Some((conventions, flask)),
                Kind::Mixin { declarative: d, columns: c, items: i, tablename_from_class: t, incomplete: inc } => {
                    if d.is_some() {
                        declarative = d;
                    }
                    merge_columns(&mut columns, c);
                    items.extend(i);
                    tablename_from_class |= t;
                    incomplete |= inc;
                }
                Kind::Mapped(i) => {
                    let t = &self.models.tables[i];
                    declarative = Some((t.conventions.clone(), false));
                    relationships.extend(t.relationships.iter().cloned());
                    relationship_attrs.extend(t.relationship_attrs.iter().cloned());
                    validators.extend(t.validators.iter().cloned());
                    parent = Some(i);
                }
            }
        }
        if is_base {
            // `metadata = MetaData(...)`, else `registry = registry(metadata=...)`
            // (`_metadata_for_cls`: the class attribute wins).
            let metadata = class.body.iter().find_map(|s| match assignment(s) {
                Some(("metadata", Some(value), _)) => Some(value),
                _ => None,
            });
            let registry = class.body.iter().find_map(|s| match assignment(s) {
                Some(("registry", Some(Expr::Call(call)), _)) if self.names.sqlalchemy(module, &[], &call.func).as_deref() == Some("registry") => Some(call),
                _ => None,
            });
            let conventions = match (metadata, registry) {
                (Some(value), _) => self.metadata(module, value),
                (None, Some(call)) => match keyword(call, "metadata") {
                    Some(value) => self.metadata(module, value),
                    None => Some(Conventions::default()),
                },
                (None, None) => None,
            };
            return Kind::Base { conventions: conventions.unwrap_or_default(), flask: false };
        }
        let mut tablename: Option<String> = None;
        let mut abstract_ = false;
        let mut table_args: Option<&'a Expr> = None;
        let mut core_table: Option<&'a ast::ExprCall> = None;
        let mut custom_init = false;
        let mut own: Vec<MappedColumn> = Vec::new();
        for stmt in &class.body {
            if let Stmt::FunctionDef(f) = stmt {
                match f.name.as_str() {
                    "__init__" => custom_init = true,
                    "__tablename__" => tablename_from_class |= returns_lowered_class_name(f),
                    _ if f.decorator_list.iter().any(|d| matches!(&d.expression, Expr::Call(c) if self.names.sqlalchemy(module, &[], &c.func).as_deref() == Some("validates"))) => {
                        validators.extend(validator(f, &mut self.names, module));
                    }
                    _ if f.decorator_list.iter().any(|d| path(&d.expression).is_some_and(|p| p.ends_with("declared_attr"))) => incomplete = true,
                    _ => {}
                }
                continue;
            }
            let Some((target, value, annotation)) = assignment(stmt) else { continue };
            match target {
                "__tablename__" => {
                    tablename = value.and_then(|v| self.names.string(module, &[], v));
                    incomplete |= tablename.is_none();
                    continue;
                }
                "__abstract__" => {
                    abstract_ = value.is_some_and(|v| matches!(v, Expr::BooleanLiteral(b) if b.value));
                    continue;
                }
                "__table_args__" => {
                    table_args = value;
                    continue;
                }
                "__table__" => {
                    if let Some(Expr::Call(call)) = value {
                        core_table = Some(call);
                    }
                    continue;
                }
                _ if target.starts_with("__") => continue,
                _ => {}
            }
            match self.attribute(module, target, value, annotation, stmt) {
                Attribute::Column(column) => {
                    own.retain(|c| c.attr != column.attr);
                    own.push(*column);
                }
                Attribute::Relationship(Some(to)) => {
                    relationship_attrs.push((target.to_string(), to.clone()));
                    relationships.push(to);
                }
                Attribute::Relationship(None) | Attribute::Other => {}
                Attribute::Unknown => incomplete = true,
            }
        }
        let own_names: Vec<String> = own.iter().map(|c| c.attr.clone()).collect();
        if let Some(args) = table_args {
            let (more, schema_incomplete) = self.table_args(module, args, &own, &columns);
            items.extend(more);
            incomplete |= schema_incomplete;
        }
        // A class's own columns come first, then its mixins' (SQLAlchemy 2.x).
        columns.retain(|c| !own_names.contains(&c.attr));
        let columns = [own, columns].concat();
        let Some((conventions, flask)) = declarative else {
            return Kind::Mixin { declarative: None, columns, items, tablename_from_class, incomplete };
        };
        if abstract_ {
            return Kind::Mixin { declarative: Some((conventions, flask)), columns, items, tablename_from_class, incomplete };
        }
        let module_name = self.names.module_name(module);
        let sort_key = format!("{module_name}.{}", class.name);
        if let Some(call) = core_table {
            let Some(mut table) = self.core_table(module, call) else { return Kind::Mixin { declarative: Some((conventions, flask)), columns, items, tablename_from_class, incomplete: true } };
            table.class = Some((module, class.start().to_u32()));
            table.class_name = Some(class.name.to_string());
            table.sort_key = sort_key;
            table.relationships = relationships;
            table.relationship_attrs = relationship_attrs;
            table.validators = validators;
            table.custom_init = custom_init;
            return self.push(module, class, table);
        }
        let name = match (tablename, parent) {
            (Some(name), _) => Some(name),
            // Single-table inheritance: the rows go to the parent's table.
            (None, Some(p)) => {
                let parent_table = &mut self.models.tables[p];
                for c in columns.iter().filter(|c| own_names.contains(&c.attr)) {
                    let mut c = c.clone();
                    c.nullable = true;
                    if !parent_table.columns.iter().any(|p| p.name == c.name) {
                        parent_table.columns.push(c);
                    }
                }
                let key = (module, class.start().to_u32());
                self.models.by_class.insert(key, p);
                return Kind::Mapped(p);
            }
            (None, None) if flask => Some(snake_case(&class.name)),
            (None, None) if tablename_from_class => Some(class.name.to_lowercase()),
            (None, None) => None,
        };
        let Some(name) = name else {
            return Kind::Mixin { declarative: Some((conventions, flask)), columns, items, tablename_from_class, incomplete: true };
        };
        let schema = table_args.and_then(|args| self.table_schema(module, args));
        let table = MappedTable {
            class: Some((module, class.start().to_u32())),
            class_name: Some(class.name.to_string()),
            sort_key,
            schema,
            name,
            columns,
            items,
            location,
            incomplete,
            relationships,
            relationship_attrs,
            validators,
            custom_init,
            conventions,
            final_names: std::mem::take(&mut self.final_names),
        };
        self.push(module, class, table)
    }

    fn push(&mut self, module: ModuleId, class: &ast::StmtClassDef, table: MappedTable) -> Kind {
        let i = self.models.tables.len();
        self.models.tables.push(table);
        self.models.by_class.insert((module, class.start().to_u32()), i);
        Kind::Mapped(i)
    }

    fn table_schema(&mut self, module: ModuleId, args: &'a Expr) -> Option<String> {
        let dict = match args {
            Expr::Dict(d) => d,
            Expr::Tuple(t) => match t.elts.last() {
                Some(Expr::Dict(d)) => d,
                _ => return None,
            },
            _ => return None,
        };
        dict.items.iter().find_map(|item| {
            let key = self.names.string(module, &[], item.key.as_ref()?)?;
            (key == "schema").then(|| self.names.string(module, &[], &item.value)).flatten()
        })
    }

    /// `__table_args__`: its constraints and indexes; `true` when some item
    /// is not understood.
    fn table_args(&mut self, module: ModuleId, args: &'a Expr, own: &[MappedColumn], inherited: &[MappedColumn]) -> (Vec<(TableItem, Location)>, bool) {
        let elements: &[Expr] = match args {
            Expr::Tuple(t) => &t.elts,
            Expr::Dict(_) => &[],
            _ => return (Vec::new(), true),
        };
        let mut out = Vec::new();
        let mut incomplete = false;
        for element in elements {
            match element {
                Expr::Dict(_) => {}
                Expr::Call(call) => match self.item(module, call, own, inherited) {
                    Some(item) => out.push((item, self.names.location(module, call))),
                    None => incomplete = true,
                },
                _ => incomplete = true,
            }
        }
        (out, incomplete)
    }

    /// A column named in a constraint: a string, or a class-body name.
    fn column_ref(&mut self, module: ModuleId, expr: &'a Expr, own: &[MappedColumn], inherited: &[MappedColumn]) -> Option<String> {
        if let Some(s) = self.names.string(module, &[], expr) {
            // A string names a column key: the attribute, else the column.
            let found = own.iter().chain(inherited).find(|c| c.attr == s).map(|c| c.name.clone());
            return Some(found.unwrap_or(s));
        }
        match expr {
            Expr::Name(n) => own.iter().chain(inherited).find(|c| c.attr == n.id.as_str()).map(|c| c.name.clone()),
            Expr::Attribute(a) => Some(own.iter().chain(inherited).find(|c| c.attr == a.attr.as_str()).map(|c| c.name.clone()).unwrap_or_else(|| a.attr.to_string())),
            _ => None,
        }
    }

    fn item(&mut self, module: ModuleId, call: &'a ast::ExprCall, own: &[MappedColumn], inherited: &[MappedColumn]) -> Option<TableItem> {
        let kind = self.names.sqlalchemy(module, &[], &call.func)?;
        let name = match keyword(call, "name") {
            Some(Expr::NoneLiteral(_)) | None => None,
            Some(e) => Some(self.given_name(module, e)?),
        };
        let columns = |reader: &mut Self, exprs: &'a [Expr]| -> Option<Vec<String>> { exprs.iter().map(|e| reader.column_ref(module, e, own, inherited)).collect() };
        Some(match kind.as_str() {
            "CheckConstraint" => {
                let condition = argument(call, 0, "sqltext")?;
                let sql = match self.names.value(module, &[], condition) {
                    Some(Value::Text(t)) => Some(t.sql.value()),
                    Some(Value::Const(_)) => self.names.string(module, &[], condition),
                    _ => None,
                };
                TableItem::Check { name, sql }
            }
            "UniqueConstraint" => TableItem::Unique { name, columns: columns(self, &call.arguments.args)? },
            "PrimaryKeyConstraint" => TableItem::PrimaryKey { name, columns: columns(self, &call.arguments.args)? },
            "ForeignKeyConstraint" => {
                let list = |e: &'a Expr| -> Option<&'a [Expr]> {
                    match e {
                        Expr::List(l) => Some(&l.elts),
                        Expr::Tuple(t) => Some(&t.elts),
                        _ => None,
                    }
                };
                let cols = columns(self, list(argument(call, 0, "columns")?)?)?;
                let targets: Option<Vec<String>> = list(argument(call, 1, "refcolumns")?)?.iter().map(|e| self.names.string(module, &[], e)).collect();
                let ondelete = keyword(call, "ondelete").and_then(|e| self.names.string(module, &[], e));
                let onupdate = keyword(call, "onupdate").and_then(|e| self.names.string(module, &[], e));
                let use_alter = use_alter(self, module, call)?;
                TableItem::ForeignKey { name, columns: cols, targets: targets?, ondelete, onupdate, use_alter }
            }
            "Index" => {
                let name = match call.arguments.args.first() {
                    Some(Expr::NoneLiteral(_)) => None,
                    Some(e) => Some(self.given_name(module, e)?),
                    None => return None,
                };
                let unique = keyword(call, "unique").is_some_and(|e| matches!(e, Expr::BooleanLiteral(b) if b.value));
                TableItem::Index { name, columns: columns(self, &call.arguments.args[1..])?, unique }
            }
            _ => return None,
        })
    }

    /// `Table("name", metadata, Column(...), ..., schema=...)`.
    fn core_table(&mut self, module: ModuleId, call: &'a ast::ExprCall) -> Option<MappedTable> {
        if self.names.sqlalchemy(module, &[], &call.func).as_deref() != Some("Table") {
            return None;
        }
        let [name, metadata, rest @ ..] = &call.arguments.args[..] else { return None };
        let name = self.names.string(module, &[], name)?;
        let conventions = self.metadata(module, metadata).unwrap_or_else(Conventions::unknown);
        let location = self.names.location(module, call);
        let schema = keyword(call, "schema").and_then(|e| self.names.string(module, &[], e));
        Some(self.table_of(module, name, rest, schema, location, conventions))
    }

    /// A table from its columns and constraints (`Table(...)`, Alembic's `create_table`).
    fn table_of(&mut self, module: ModuleId, name: String, rest: &'a [Expr], schema: Option<String>, location: Location, conventions: Conventions) -> MappedTable {
        let outer = std::mem::take(&mut self.final_names);
        let mut columns = Vec::new();
        let mut pending = Vec::new();
        let mut incomplete = false;
        for arg in rest {
            let Expr::Call(c) = arg else {
                incomplete = true;
                continue;
            };
            match self.names.sqlalchemy(module, &[], &c.func).as_deref() {
                Some("Column") => match self.column(module, None, c, None, false) {
                    Some(column) => columns.push(column),
                    None => incomplete = true,
                },
                _ => pending.push(c),
            }
        }
        let mut items = Vec::new();
        for c in pending {
            match self.item(module, c, &columns, &[]) {
                Some(item) => items.push((item, self.names.location(module, c))),
                None => incomplete = true,
            }
        }
        MappedTable {
            class: None,
            class_name: None,
            sort_key: String::new(),
            schema,
            name,
            columns,
            items,
            location,
            incomplete,
            relationships: Vec::new(),
            relationship_attrs: Vec::new(),
            validators: Vec::new(),
            custom_init: false,
            conventions,
            final_names: std::mem::replace(&mut self.final_names, outer),
        }
    }

    fn attribute(&mut self, module: ModuleId, target: &str, value: Option<&'a Expr>, annotation: Option<&'a Expr>, stmt: &'a Stmt) -> Attribute {
        let mapped = annotation.and_then(mapped_annotation);
        let call = match value {
            Some(Expr::Call(call)) => Some(call),
            Some(_) => return Attribute::Other,
            None => None,
        };
        let Some(call) = call else {
            // `x: Mapped[int]` alone is `mapped_column()`.
            let Some((inner, optional)) = mapped else { return Attribute::Other };
            if let Some(to) = self.relationship_target_of_annotation(module, inner) {
                return Attribute::Relationship(Some(to));
            }
            return match annotation_type(&mut self.names, module, inner) {
                Some(ty) => Attribute::Column(Box::new(self.bare_column(module, target, ty, optional, stmt))),
                None => Attribute::Unknown,
            };
        };
        let kind = self.names.sqlalchemy(module, &[], &call.func);
        match kind.as_deref() {
            Some("Column" | "mapped_column") => {
                let is_mapped_column = kind.as_deref() == Some("mapped_column");
                match self.column(module, Some(target), call, mapped, is_mapped_column) {
                    Some(c) => Attribute::Column(Box::new(c)),
                    None => Attribute::Unknown,
                }
            }
            Some("relationship" | "relation") => {
                if keyword(call, "viewonly").is_some_and(|e| matches!(e, Expr::BooleanLiteral(b) if b.value)) {
                    return Attribute::Relationship(None);
                }
                let to = call.arguments.args.first().and_then(|e| self.class_name_of(module, e)).or_else(|| {
                    let (inner, _) = mapped?;
                    self.relationship_target_of_annotation(module, inner)
                });
                Attribute::Relationship(to)
            }
            Some("deferred" | "column_property" | "synonym" | "composite" | "association_proxy" | "hybrid_property" | "query_expression") => Attribute::Other,
            // A helper that builds the column (`id = pk_column()`) cannot be read.
            _ if mapped.is_some() => Attribute::Unknown,
            _ => Attribute::Other,
        }
    }

    /// `"Child"`, `Child`, `lambda: Child`: the class name.
    fn class_name_of(&mut self, module: ModuleId, expr: &'a Expr) -> Option<String> {
        match expr {
            Expr::StringLiteral(s) => Some(s.value.to_str().rsplit('.').next().unwrap_or_default().to_string()),
            Expr::Lambda(l) => self.class_name_of(module, &l.body),
            other => self.names.class(module, &[], other).map(|(_, c)| c.name.to_string()),
        }
    }

    /// `Mapped["Child"]`, `Mapped[List[Child]]`, `Mapped[list["Child"]]`.
    fn relationship_target_of_annotation(&mut self, module: ModuleId, inner: &'a Expr) -> Option<String> {
        match inner {
            Expr::StringLiteral(s) => Some(s.value.to_str().trim().trim_start_matches("List[").trim_end_matches(']').trim_matches('"').to_string()),
            Expr::Subscript(sub) => {
                let outer = path(&sub.value)?;
                matches!(outer.rsplit('.').next()?, "List" | "list" | "Set" | "set").then(|| self.class_name_of(module, &sub.slice)).flatten()
            }
            other => {
                let (owner, class) = self.names.class(module, &[], other)?;
                (!crate::types::is_enum_class(&mut self.names, owner, class)).then(|| class.name.to_string())
            }
        }
    }

    fn bare_column(&mut self, module: ModuleId, attr: &str, ty: ColumnType, optional: bool, stmt: &'a Stmt) -> MappedColumn {
        MappedColumn {
            attr: attr.to_string(),
            name: attr.to_string(),
            ty: Some(ty),
            primary_key: false,
            nullable: optional,
            default: ClientDefault::None,
            server_default: None,
            foreign_keys: Vec::new(),
            unique: false,
            index: false,
            autoincrement: None,
            checks: Vec::new(),
            location: self.names.location(module, stmt),
        }
    }

    /// `Column(...)` or `mapped_column(...)`; `None` when an argument that
    /// shapes the DDL cannot be read.
    fn column(&mut self, module: ModuleId, attr: Option<&str>, call: &'a ast::ExprCall, mapped: Option<(&'a Expr, bool)>, is_mapped_column: bool) -> Option<MappedColumn> {
        let mut name: Option<String> = None;
        let mut ty: Option<ColumnType> = None;
        let mut foreign_keys = Vec::new();
        let mut checks = Vec::new();
        for (i, arg) in call.arguments.args.iter().enumerate() {
            if i == 0 {
                if let Some(s) = self.names.string(module, &[], arg) {
                    name = Some(s);
                    continue;
                }
            }
            let callee = match arg {
                Expr::Call(c) => &c.func,
                other => other,
            };
            match self.names.sqlalchemy(module, &[], callee).as_deref() {
                Some("ForeignKey") => {
                    let Expr::Call(c) = arg else { return None };
                    foreign_keys.push(self.foreign_key(module, c)?);
                }
                Some("CheckConstraint") => {
                    let Expr::Call(c) = arg else { return None };
                    let sql = argument(c, 0, "sqltext").and_then(|e| self.names.string(module, &[], e));
                    let check_name = keyword(c, "name").and_then(|e| self.given_name(module, e));
                    checks.push((check_name, sql));
                }
                Some("Sequence" | "Identity" | "Computed" | "FetchedValue" | "DefaultClause") => return None,
                _ => ty = Some(column_type(&mut self.names, module, &[], arg)),
            }
        }
        if let Some(e) = keyword(call, "type_") {
            ty = Some(column_type(&mut self.names, module, &[], e));
        }
        if let Some(e) = keyword(call, "name") {
            name = Some(self.names.string(module, &[], e)?);
        }
        let bool_kw = |reader: &mut Self, key: &str| -> Option<Option<bool>> {
            match keyword(call, key) {
                None => Some(None),
                Some(e) => match reader.names.literal(module, &[], e)? {
                    Literal::Bool(b) => Some(Some(b)),
                    Literal::Null => Some(None),
                    _ => None,
                },
            }
        };
        let primary_key = bool_kw(self, "primary_key")?.unwrap_or(false);
        let explicit_nullable = bool_kw(self, "nullable")?;
        let unique = bool_kw(self, "unique")?.unwrap_or(false);
        let index = bool_kw(self, "index")?.unwrap_or(false);
        let autoincrement = match keyword(call, "autoincrement") {
            Some(e) => match self.names.literal(module, &[], e) {
                Some(Literal::Bool(b)) => Some(b),
                _ => None,
            },
            None => None,
        };
        if ty.is_none() {
            if let Some((inner, _)) = mapped {
                ty = annotation_type(&mut self.names, module, inner);
            }
        }
        // Nullability: `nullable=` wins; then the key; then the annotation.
        let nullable = match (explicit_nullable, primary_key, mapped, is_mapped_column) {
            (Some(n), _, _, _) => n,
            (None, true, _, _) => false,
            (None, false, Some((_, optional)), true) => optional,
            _ => true,
        };
        let default = match keyword(call, "default").or_else(|| if is_mapped_column { keyword(call, "insert_default") } else { None }) {
            None => ClientDefault::None,
            Some(e) => match self.names.literal(module, &[], e) {
                Some(Literal::Null) => ClientDefault::None,
                Some(l) => ClientDefault::Value(l),
                None => ClientDefault::Dynamic,
            },
        };
        let server_default = keyword(call, "server_default").and_then(|e| self.server_default(module, e));
        let attr = attr.map(str::to_string).or_else(|| name.clone())?;
        let key = keyword(call, "key").and_then(|e| self.names.string(module, &[], e));
        Some(MappedColumn {
            attr: key.unwrap_or_else(|| attr.clone()),
            name: name.unwrap_or(attr),
            ty,
            primary_key,
            nullable,
            default,
            server_default,
            foreign_keys,
            unique,
            index,
            autoincrement,
            checks,
            location: self.names.location(module, call),
        })
    }

    fn foreign_key(&mut self, module: ModuleId, call: &'a ast::ExprCall) -> Option<ForeignKeyRef> {
        let target_expr = argument(call, 0, "column")?;
        let target = match self.names.string(module, &[], target_expr) {
            Some(s) => s,
            // `ForeignKey(Parent.id)`: the class's table and the attribute.
            None => {
                let Expr::Attribute(a) = target_expr else { return None };
                let (owner, class) = self.names.class(module, &[], &a.value)?;
                let table = match self.class(owner, class, 0) {
                    Kind::Mapped(i) => self.models.tables[i].clone(),
                    _ => return None,
                };
                let column = table.column_of_attr(a.attr.as_str())?.name.clone();
                format!("{}.{column}", table.name)
            }
        };
        let text = |reader: &mut Self, key: &str| keyword(call, key).and_then(|e| reader.names.string(module, &[], e));
        Some(ForeignKeyRef {
            target,
            name: keyword(call, "name").and_then(|e| self.given_name(module, e)),
            ondelete: text(self, "ondelete"),
            onupdate: text(self, "onupdate"),
            use_alter: use_alter(self, module, call)?,
            location: self.names.location(module, call),
        })
    }

    /// `server_default=` as DDL: a string is quoted, `text(...)` is SQL,
    /// `func.now()` is `now()`; anything else is a default dbveto cannot
    /// spell, but a default all the same.
    fn server_default(&mut self, module: ModuleId, expr: &'a Expr) -> Option<String> {
        if matches!(expr, Expr::NoneLiteral(_)) {
            return None;
        }
        match self.names.value(module, &[], expr) {
            Some(Value::Text(t)) => return Some(t.sql.value()),
            Some(Value::Const(_)) => {
                if let Some(s) = self.names.string(module, &[], expr) {
                    return Some(sql_string(&s));
                }
            }
            _ => {}
        }
        if let Expr::Call(call) = expr {
            if let Expr::Attribute(a) = call.func.as_ref() {
                if path(&a.value).is_some_and(|p| p == "func" || p.ends_with(".func")) && call.arguments.is_empty() {
                    return Some(format!("{}()", a.attr));
                }
            }
            match self.names.sqlalchemy(module, &[], &call.func).as_deref() {
                Some("true") => return Some("true".into()),
                Some("false") => return Some("false".into()),
                _ => {}
            }
        }
        Some("dbveto_unknown_default()".into())
    }
}

/// Reads `Column(...)`s and tables outside model classes (Alembic's operations).
pub struct TableReader<'p, 'a> {
    reader: Reader<'p, 'a>,
}

impl<'p, 'a> TableReader<'p, 'a> {
    pub fn new(index: &'p ProjectIndex<'a>) -> Self {
        TableReader { reader: Reader { names: Names::new(index), memo: HashMap::new(), models: Models::default(), final_names: Vec::new() } }
    }

    pub fn names(&mut self) -> &mut Names<'p, 'a> {
        &mut self.reader.names
    }

    /// A `Column(...)` and the final names (`op.f()`) of its constraints.
    pub fn column(&mut self, module: ModuleId, call: &'a ast::ExprCall) -> Option<(MappedColumn, Vec<String>)> {
        if self.reader.names.sqlalchemy(module, &[], &call.func).as_deref() != Some("Column") {
            return None;
        }
        let outer = std::mem::take(&mut self.reader.final_names);
        let column = self.reader.column(module, None, call, None, false);
        let final_names = std::mem::replace(&mut self.reader.final_names, outer);
        Some((column?, final_names))
    }

    pub fn table(&mut self, module: ModuleId, name: String, rest: &'a [Expr], schema: Option<String>, location: Location, conventions: Conventions) -> MappedTable {
        self.reader.table_of(module, name, rest, schema, location, conventions)
    }

    /// The naming convention of the `MetaData` an expression stands for
    /// (`MetaData(...)`, `Base.metadata`, a name bound to either).
    pub fn metadata(&mut self, module: ModuleId, expr: &'a Expr) -> Option<Conventions> {
        self.reader.metadata(module, expr)
    }

    /// The naming convention of `Class.metadata` for a declarative class.
    pub fn class_metadata(&mut self, module: ModuleId, class: &'a ast::StmtClassDef) -> Option<Conventions> {
        match self.reader.class(module, class, 0) {
            Kind::Base { conventions, .. } | Kind::Mixin { declarative: Some((conventions, _)), .. } => Some(conventions),
            Kind::Mapped(i) => Some(self.reader.models.tables[i].conventions.clone()),
            Kind::Mixin { declarative: None, .. } => None,
        }
    }
}

enum Attribute {
    Column(Box<MappedColumn>),
    Relationship(Option<String>),
    Other,
    /// Something that may declare a column dbveto cannot read.
    Unknown,
}

/// Inherited columns, then the class's own (an own column overrides one
/// of the same attribute).
fn merge_columns(columns: &mut Vec<MappedColumn>, more: Vec<MappedColumn>) {
    for c in more {
        columns.retain(|o| o.attr != c.attr);
        columns.push(c);
    }
}

/// What a `@validates(...)` method validates and sets.
fn validator<'a>(f: &'a ast::StmtFunctionDef, names: &mut Names<'_, 'a>, module: ModuleId) -> Option<Validator> {
    let call = f.decorator_list.iter().find_map(|d| match &d.expression {
        Expr::Call(c) => Some(c),
        _ => None,
    })?;
    let attrs: Vec<String> = call.arguments.args.iter().filter_map(|a| names.string(module, &[], a)).collect();
    // `def validate(self, key, value)`: the value is the third parameter.
    let value = f.parameters.args.get(2).map(|p| p.parameter.name.as_str());
    let mut sets = Vec::new();
    let mut returns = Vec::new();
    collect_self_sets(&f.body, &mut sets, &mut returns, 0);
    let keeps_value = !returns.is_empty() && returns.iter().all(|r| matches!(r, Some(Expr::Name(n)) if Some(n.id.as_str()) == value));
    Some(Validator { attrs, sets, keeps_value })
}

/// `self.x = ...` targets and `return` values of a method body.
fn collect_self_sets<'a>(body: &'a [Stmt], sets: &mut Vec<String>, returns: &mut Vec<Option<&'a Expr>>, depth: u32) {
    if depth > MAX_NESTING {
        return;
    }
    for stmt in body {
        match stmt {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    if let Expr::Attribute(at) = t {
                        if matches!(at.value.as_ref(), Expr::Name(n) if n.id.as_str() == "self") {
                            sets.push(at.attr.to_string());
                        }
                    }
                }
            }
            Stmt::Return(r) => returns.push(r.value.as_deref()),
            Stmt::If(i) => {
                collect_self_sets(&i.body, sets, returns, depth + 1);
                for c in &i.elif_else_clauses {
                    collect_self_sets(&c.body, sets, returns, depth + 1);
                }
            }
            Stmt::With(w) => collect_self_sets(&w.body, sets, returns, depth + 1),
            Stmt::Try(t) => {
                collect_self_sets(&t.body, sets, returns, depth + 1);
                collect_self_sets(&t.orelse, sets, returns, depth + 1);
                collect_self_sets(&t.finalbody, sets, returns, depth + 1);
            }
            Stmt::For(f) => collect_self_sets(&f.body, sets, returns, depth + 1),
            _ => {}
        }
    }
}

/// `NAME = value`, `NAME: T = value`, `NAME: T`.
fn assignment(stmt: &Stmt) -> Option<(&str, Option<&Expr>, Option<&Expr>)> {
    match stmt {
        Stmt::Assign(a) => match &a.targets[..] {
            [Expr::Name(n)] => Some((n.id.as_str(), Some(a.value.as_ref()), None)),
            _ => None,
        },
        Stmt::AnnAssign(a) => match a.target.as_ref() {
            Expr::Name(n) => Some((n.id.as_str(), a.value.as_deref(), Some(a.annotation.as_ref()))),
            _ => None,
        },
        _ => None,
    }
}

/// `@declared_attr def __tablename__(cls): return cls.__name__.lower()`.
fn returns_lowered_class_name(f: &ast::StmtFunctionDef) -> bool {
    let [Stmt::Return(r)] = &f.body[..] else { return false };
    let Some(Expr::Call(call)) = r.value.as_deref() else { return false };
    let Expr::Attribute(lower) = call.func.as_ref() else { return false };
    lower.attr.as_str() == "lower" && matches!(lower.value.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "__name__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flask_table_names_are_snake_case() {
        assert_eq!(snake_case("DeviceCache"), "device_cache");
        assert_eq!(snake_case("ARPEntry"), "arp_entry");
        assert_eq!(snake_case("Ospf2Route"), "ospf2_route");
    }
}
