//! Column types as SQLAlchemy's PostgreSQL dialect renders them in
//! `CREATE TABLE` (`PGTypeCompiler`), from the type objects of a `Column`
//! or the Python type of a `Mapped[...]` annotation (the default
//! `type_annotation_map`). A type dbveto does not know is kept by name,
//! never guessed.

use dbveto_python_semantic::{ModuleId, Scope};
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::names::{argument, keyword, quote, Names};

/// How deep type decorators and enum classes are followed.
const MAX_DEPTH: u32 = 8;

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnType {
    /// The DDL of a type SQLAlchemy renders the same on every run.
    Known { ddl: String, integer: bool },
    Enum(EnumSpec),
    /// A type dbveto does not know, by the name written in the code.
    Unknown(String),
}

/// `Enum(...)`: a PostgreSQL enum type (`native_enum=True`, the default),
/// or a `VARCHAR` as long as the longest label.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumSpec {
    pub name: Option<String>,
    /// The labels stored: member *names* of a Python enum (unless
    /// `values_callable` says otherwise), or the strings given.
    pub labels: Option<Vec<String>>,
    pub native: bool,
    /// `create_constraint=True` on a non-native enum adds a CHECK
    /// (the default is `False` since SQLAlchemy 1.4).
    pub create_constraint: bool,
    /// What a member of the Python enum class is stored as.
    pub members: Members,
}

/// What SQLAlchemy sends for a member of an `Enum(PyEnum)` column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Members {
    /// The member's name (`Status.ACTIVE` → `'ACTIVE'`): the default.
    Names,
    /// The member's value (`values_callable=lambda e: [m.value for m in e]`).
    Values,
    /// A `values_callable` dbveto does not read.
    Unknown,
}

impl ColumnType {
    /// The type as `CREATE TABLE` spells it; `None` for a native enum
    /// without a name, which SQLAlchemy refuses to create.
    pub fn ddl(&self) -> Option<String> {
        match self {
            ColumnType::Known { ddl, .. } => Some(ddl.clone()),
            ColumnType::Enum(e) if e.native => e.name.as_deref().map(quote),
            ColumnType::Enum(e) => {
                let longest = e.labels.as_ref()?.iter().map(|l| l.chars().count()).max().unwrap_or(0);
                Some(format!("VARCHAR({longest})"))
            }
            ColumnType::Unknown(name) => Some(quote(name)),
        }
    }

    pub fn is_integer(&self) -> bool {
        matches!(self, ColumnType::Known { integer: true, .. })
    }

    fn known(ddl: impl Into<String>) -> Self {
        ColumnType::Known { ddl: ddl.into(), integer: false }
    }

    fn integer(ddl: &str) -> Self {
        ColumnType::Known { ddl: ddl.into(), integer: true }
    }
}

/// The type of `expr` (`String(50)`, `sa.Integer`, `Enum(Status, name="status")`,
/// a `TypeDecorator` of the repository).
pub fn column_type<'a>(names: &mut Names<'_, 'a>, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr) -> ColumnType {
    type_at(names, module, scopes, expr, None, 0)
}

fn type_at<'a>(
    names: &mut Names<'_, 'a>,
    module: ModuleId,
    scopes: &[&Scope<'a>],
    expr: &'a Expr,
    // The arguments a `TypeDecorator` passes on to its `impl`.
    forwarded: Option<&'a ast::ExprCall>,
    depth: u32,
) -> ColumnType {
    let (callee, call) = match expr {
        Expr::Call(call) => (call.func.as_ref(), Some(call)),
        other => (other, forwarded),
    };
    let written = crate::names::path(callee).unwrap_or_else(|| "?".into());
    if depth > MAX_DEPTH {
        return ColumnType::Unknown(written);
    }
    if let Some(name) = names.sqlalchemy(module, scopes, callee) {
        return sqlalchemy_type(names, module, scopes, &name, call, depth).unwrap_or(ColumnType::Unknown(name));
    }
    if let Some((owner, class)) = names.class(module, scopes, callee) {
        // `class GUID(TypeDecorator): impl = CHAR(32)` renders as its impl,
        // unless it picks one per dialect.
        let decorates = class.bases().iter().any(|b| names.sqlalchemy(owner, &[], b).is_some_and(|n| n == "TypeDecorator"));
        let per_dialect = Names::method(class, "load_dialect_impl").is_some();
        if decorates && !per_dialect {
            let implementation = class.body.iter().find_map(|s| match s {
                Stmt::Assign(a) if a.targets.iter().any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == "impl")) => Some(a.value.as_ref()),
                _ => None,
            });
            if let Some(implementation) = implementation {
                let forward = if matches!(implementation, Expr::Call(_)) { None } else { call };
                return type_at(names, owner, &[], implementation, forward, depth + 1);
            }
        }
        return ColumnType::Unknown(class.name.to_string());
    }
    ColumnType::Unknown(written)
}

fn int_arg<'a>(names: &mut Names<'_, 'a>, module: ModuleId, scopes: &[&Scope<'a>], call: Option<&'a ast::ExprCall>, i: usize, name: &str) -> Option<Option<i64>> {
    let Some(expr) = call.and_then(|c| argument(c, i, name)) else { return Some(None) };
    match names.literal(module, scopes, expr)? {
        dbveto_writes::Literal::Int(n) => Some(Some(n)),
        dbveto_writes::Literal::Null => Some(None),
        _ => None,
    }
}

fn flag<'a>(names: &mut Names<'_, 'a>, module: ModuleId, scopes: &[&Scope<'a>], call: Option<&'a ast::ExprCall>, name: &str) -> Option<bool> {
    match call.and_then(|c| keyword(c, name)) {
        None => Some(false),
        Some(expr) => match names.literal(module, scopes, expr)? {
            dbveto_writes::Literal::Bool(b) => Some(b),
            _ => None,
        },
    }
}

fn sqlalchemy_type<'a>(
    names: &mut Names<'_, 'a>,
    module: ModuleId,
    scopes: &[&Scope<'a>],
    name: &str,
    call: Option<&'a ast::ExprCall>,
    depth: u32,
) -> Option<ColumnType> {
    let length = |names: &mut Names<'_, 'a>| int_arg(names, module, scopes, call, 0, "length");
    let with_length = |base: &str, n: Option<i64>| match n {
        Some(n) => format!("{base}({n})"),
        None => base.to_string(),
    };
    Some(match name {
        "String" | "Unicode" | "VARCHAR" | "NVARCHAR" => ColumnType::known(with_length("VARCHAR", length(names)?)),
        "CHAR" | "NCHAR" => ColumnType::known(with_length("CHAR", length(names)?)),
        "Text" | "UnicodeText" | "TEXT" | "CITEXT" => ColumnType::known(if name == "CITEXT" { "CITEXT" } else { "TEXT" }),
        "Integer" | "INTEGER" | "INT" => ColumnType::integer("INTEGER"),
        "BigInteger" | "BIGINT" => ColumnType::integer("BIGINT"),
        "SmallInteger" | "SMALLINT" => ColumnType::integer("SMALLINT"),
        "Boolean" | "BOOLEAN" => ColumnType::known("BOOLEAN"),
        "Float" | "FLOAT" => ColumnType::known(with_length("FLOAT", int_arg(names, module, scopes, call, 0, "precision")?)),
        "REAL" => ColumnType::known("REAL"),
        "Double" | "DOUBLE" | "DOUBLE_PRECISION" => ColumnType::known("DOUBLE PRECISION"),
        "Numeric" | "NUMERIC" | "DECIMAL" => {
            let precision = int_arg(names, module, scopes, call, 0, "precision")?;
            let scale = int_arg(names, module, scopes, call, 1, "scale")?;
            ColumnType::known(match (precision, scale) {
                (Some(p), Some(s)) => format!("NUMERIC({p}, {s})"),
                (Some(p), None) => format!("NUMERIC({p})"),
                _ => "NUMERIC".to_string(),
            })
        }
        "DateTime" | "TIMESTAMP" => {
            let zone = flag(names, module, scopes, call, "timezone")? || (name == "TIMESTAMP" && call.is_some_and(|c| c.arguments.args.first().is_some_and(|a| matches!(a, Expr::BooleanLiteral(b) if b.value))));
            ColumnType::known(if zone { "TIMESTAMP WITH TIME ZONE" } else { "TIMESTAMP WITHOUT TIME ZONE" })
        }
        "Date" | "DATE" => ColumnType::known("DATE"),
        "Time" | "TIME" => {
            let zone = flag(names, module, scopes, call, "timezone")?;
            ColumnType::known(if zone { "TIME WITH TIME ZONE" } else { "TIME WITHOUT TIME ZONE" })
        }
        "Interval" | "INTERVAL" => ColumnType::known("INTERVAL"),
        "LargeBinary" | "BYTEA" | "BLOB" => ColumnType::known("BYTEA"),
        "JSON" => ColumnType::known("JSON"),
        "JSONB" => ColumnType::known("JSONB"),
        "Uuid" | "UUID" => ColumnType::known("UUID"),
        "INET" | "CIDR" | "MACADDR" | "MONEY" | "TSVECTOR" | "OID" => ColumnType::known(name),
        "ARRAY" => {
            let item = call.and_then(|c| argument(c, 0, "item_type"))?;
            let inner = type_at(names, module, scopes, item, None, depth + 1);
            let ColumnType::Known { ddl, .. } = inner else { return None };
            ColumnType::known(format!("{ddl}[]"))
        }
        "Enum" => ColumnType::Enum(enum_spec(names, module, scopes, call?, depth)?),
        _ => return None,
    })
}

fn enum_spec<'a>(names: &mut Names<'_, 'a>, module: ModuleId, scopes: &[&Scope<'a>], call: &'a ast::ExprCall, depth: u32) -> Option<EnumSpec> {
    let native = match keyword(call, "native_enum") {
        None => true,
        Some(e) => matches!(names.literal(module, scopes, e)?, dbveto_writes::Literal::Bool(true)),
    };
    let create_constraint = flag(names, module, scopes, Some(call), "create_constraint")?;
    let mut name = match keyword(call, "name") {
        Some(e) => Some(names.string(module, scopes, e)?),
        None => None,
    };
    let mut labels = Vec::new();
    for arg in call.arguments.args.iter() {
        if let Some(s) = names.string(module, scopes, arg) {
            labels.push(s);
            continue;
        }
        let (owner, class) = names.class(module, scopes, arg)?;
        if depth > MAX_DEPTH {
            return None;
        }
        // The type is named after the enum class, lower-cased.
        name.get_or_insert_with(|| class.name.to_lowercase());
        let by_value = match keyword(call, "values_callable") {
            None => false,
            Some(callable) if values_of_members(callable) => true,
            Some(_) => return Some(EnumSpec { name, labels: None, native, create_constraint, members: Members::Unknown }),
        };
        labels.extend(enum_members(names, owner, class, by_value)?);
    }
    let members = match keyword(call, "values_callable") {
        None => Members::Names,
        Some(_) => Members::Values,
    };
    Some(EnumSpec { name, labels: Some(labels), native, create_constraint, members })
}

/// `lambda x: [e.value for e in x]`: the labels are the members' values.
fn values_of_members(callable: &Expr) -> bool {
    let Expr::Lambda(lambda) = callable else { return false };
    let Expr::ListComp(comp) = lambda.body.as_ref() else { return false };
    let [generator] = &comp.generators[..] else { return false };
    let Expr::Name(var) = &generator.target else { return false };
    matches!(comp.elt.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "value" && matches!(a.value.as_ref(), Expr::Name(n) if n.id == var.id))
}

/// The members of a Python enum class: names, or literal values.
pub fn enum_members<'a>(names: &mut Names<'_, 'a>, module: ModuleId, class: &'a ast::StmtClassDef, by_value: bool) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for stmt in &class.body {
        let (target, value) = match stmt {
            Stmt::Assign(a) => match &a.targets[..] {
                [Expr::Name(n)] => (n.id.as_str(), a.value.as_ref()),
                _ => continue,
            },
            _ => continue,
        };
        if target.starts_with('_') {
            continue;
        }
        if by_value {
            out.push(names.string(module, &[], value)?);
        } else {
            out.push(target.to_string());
        }
    }
    Some(out)
}

/// Whether a class of the repository is a Python `enum.Enum`: a base is
/// one of `enum`'s (or the `strenum` package's), or a class of the
/// repository that is.
pub fn is_enum_class<'a>(names: &mut Names<'_, 'a>, module: ModuleId, class: &'a ast::StmtClassDef) -> bool {
    enum_class_at(names, module, class, 0)
}

fn enum_class_at<'a>(names: &mut Names<'_, 'a>, module: ModuleId, class: &'a ast::StmtClassDef, depth: u32) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    class.bases().iter().any(|b| {
        if let Some(dotted) = names.external(module, &[], b) {
            return dotted.starts_with("enum.") || dotted.starts_with("strenum.");
        }
        match names.class(module, &[], b) {
            Some((owner, base)) => enum_class_at(names, owner, base, depth + 1),
            None => false,
        }
    })
}

/// The type SQLAlchemy maps a `Mapped[...]` annotation's Python type to.
pub fn annotation_type<'a>(names: &mut Names<'_, 'a>, module: ModuleId, expr: &'a Expr) -> Option<ColumnType> {
    if let Some(dotted) = names.external(module, &[], expr) {
        return Some(match dotted.as_str() {
            "datetime.datetime" => ColumnType::known("TIMESTAMP WITHOUT TIME ZONE"),
            "datetime.date" => ColumnType::known("DATE"),
            "datetime.time" => ColumnType::known("TIME WITHOUT TIME ZONE"),
            "datetime.timedelta" => ColumnType::known("INTERVAL"),
            "decimal.Decimal" => ColumnType::known("NUMERIC"),
            "uuid.UUID" => ColumnType::known("UUID"),
            other => ColumnType::Unknown(other.rsplit('.').next().unwrap_or(other).to_string()),
        });
    }
    if let Some((owner, class)) = names.class(module, &[], expr) {
        if is_enum_class(names, owner, class) {
            let labels = enum_members(names, owner, class, false);
            return Some(ColumnType::Enum(EnumSpec { name: Some(class.name.to_lowercase()), labels, native: true, create_constraint: false, members: Members::Names }));
        }
        return None;
    }
    let Expr::Name(name) = expr else { return None };
    Some(match name.id.as_str() {
        "int" => ColumnType::integer("INTEGER"),
        "str" => ColumnType::known("VARCHAR"),
        "bool" => ColumnType::known("BOOLEAN"),
        "float" => ColumnType::known("FLOAT"),
        "bytes" => ColumnType::known("BYTEA"),
        other => ColumnType::Unknown(other.to_string()),
    })
}
