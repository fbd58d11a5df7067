//! A Django model field, read from its constructor call
//! (`models.CharField(max_length=20, null=True)`), and what it means on
//! PostgreSQL: column name, column type, nullability, the CHECK Django
//! adds, and the value the ORM sends when the field is not given.

use dbveto_source::Location;
use dbveto_writes::Literal;
use ruff_python_ast::{self as ast, Expr};

/// A double-quoted SQL identifier.
pub use dbveto_schema::quote_ident as quote;

/// What the frontend can tell about the expressions around a field.
pub trait Resolve<'a> {
    /// A statically known value.
    fn literal(&mut self, expr: &'a Expr) -> Option<Literal>;
    /// The Django field class a constructor names, following subclasses
    /// defined in the repository to a class Django ships.
    fn field_class(&mut self, callee: &'a Expr) -> Option<FieldClass>;
    /// The model a relation points to: `"app_label.Model"`, `"Model"` (same
    /// app) or `"self"`.
    fn model_ref(&mut self, expr: &'a Expr) -> Option<String>;
    fn location(&self, expr: &Expr) -> Location;
}

/// A field class: the Django class it is (or derives from), and whether a
/// subclass in the repository overrides the column type.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldClass {
    /// `CharField`, `ForeignKey`, ...; for a class Django does not ship,
    /// the name as written; empty when the class cannot be resolved.
    pub base: String,
    /// The name used in the code (`SlugField`, `MoneyField`).
    pub written: String,
    pub custom_db_type: bool,
    /// What the `__init__` of the repository's subclasses does to the
    /// keyword arguments before Django's sees them, in the order it runs.
    pub init: Vec<InitRule>,
}

impl FieldClass {
    pub fn new(base: impl Into<String>, written: impl Into<String>) -> FieldClass {
        FieldClass { base: base.into(), written: written.into(), custom_db_type: false, init: Vec::new() }
    }
}

/// One change a custom field's `__init__` makes to its keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum InitRule {
    /// `kwargs["null"] = True`
    Set(String, Literal),
    /// `kwargs.setdefault("max_length", 64)`
    SetDefault(String, Literal),
    /// Something dbveto cannot follow (`kwargs.update(...)`, a value
    /// computed at run time): the options are not known.
    Opaque,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    ForeignKey,
    OneToOne,
    ManyToMany,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub kind: RelationKind,
    /// As [`Resolve::model_ref`] gives it; `None` when not known.
    pub to: Option<String>,
    pub to_field: Option<String>,
    pub db_constraint: bool,
    /// `through=` on a many-to-many: no table is created for it.
    pub through: bool,
    pub db_table: Option<String>,
}

/// A default: a value known statically, or one computed at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Default {
    Value(Literal),
    /// A database expression Django compiles to this SQL (`Now()`).
    Expression(String),
    /// A callable (`timezone.now`, `dict`) or an expression not known here.
    Dynamic,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub class: FieldClass,
    pub null: bool,
    pub blank: bool,
    pub primary_key: bool,
    pub unique: bool,
    pub db_index: bool,
    pub db_column: Option<String>,
    pub max_length: Option<i64>,
    pub max_digits: Option<i64>,
    pub decimal_places: Option<i64>,
    pub default: Option<Default>,
    pub db_default: Option<Default>,
    pub auto_now: bool,
    pub relation: Option<Relation>,
    /// `ArrayField(base_field)`: the element field.
    pub element: Option<Box<Field>>,
    /// `GeneratedField(expression=...)`: the SQL of the expression, when
    /// it is simple enough to compile (`F("a") * F("b")`).
    pub generated: Option<String>,
    /// A relation's `related_name=`: the manager on the target's objects.
    pub related_name: Option<String>,
    /// A keyword argument whose value is not known (`null=SETTING`): the
    /// field's meaning is then partly unknown, and rules stay silent.
    pub uncertain: bool,
    pub location: Location,
}

/// Fields Django ships, and what each is on PostgreSQL.
struct Kind {
    name: &'static str,
    /// `None` for relations (the target's key type) and many-to-many.
    db_type: Option<&'static str>,
    empty_strings_allowed: bool,
    positive: bool,
    auto: bool,
    default_max_length: Option<i64>,
}

const fn kind(name: &'static str, db_type: &'static str, empty: bool) -> Kind {
    Kind { name, db_type: Some(db_type), empty_strings_allowed: empty, positive: false, auto: false, default_max_length: None }
}

const fn chars(name: &'static str, max_length: i64) -> Kind {
    Kind { name, db_type: Some("varchar"), empty_strings_allowed: true, positive: false, auto: false, default_max_length: Some(max_length) }
}

const fn positive(name: &'static str, db_type: &'static str) -> Kind {
    Kind { name, db_type: Some(db_type), empty_strings_allowed: false, positive: true, auto: false, default_max_length: None }
}

const fn auto(name: &'static str, db_type: &'static str) -> Kind {
    Kind { name, db_type: Some(db_type), empty_strings_allowed: false, positive: false, auto: true, default_max_length: None }
}

const fn relation(name: &'static str) -> Kind {
    Kind { name, db_type: None, empty_strings_allowed: false, positive: false, auto: false, default_max_length: None }
}

/// `django/db/backends/postgresql/base.py` `data_types` and
/// `data_type_check_constraints`, with `empty_strings_allowed` from
/// `django/db/models/fields/__init__.py`.
const KINDS: &[Kind] = &[
    auto("AutoField", "integer"),
    auto("BigAutoField", "bigint"),
    auto("SmallAutoField", "smallint"),
    kind("BinaryField", "bytea", true),
    kind("BooleanField", "boolean", false),
    kind("NullBooleanField", "boolean", false),
    Kind { name: "CharField", db_type: Some("varchar"), empty_strings_allowed: true, positive: false, auto: false, default_max_length: None },
    chars("CommaSeparatedIntegerField", 0),
    chars("EmailField", 254),
    chars("SlugField", 50),
    chars("URLField", 200),
    chars("FileField", 100),
    chars("ImageField", 100),
    chars("FilePathField", 100),
    kind("DateField", "date", false),
    kind("DateTimeField", "timestamp with time zone", false),
    kind("TimeField", "time", false),
    kind("DurationField", "interval", false),
    kind("DecimalField", "numeric", false),
    kind("FloatField", "double precision", false),
    kind("IntegerField", "integer", false),
    kind("BigIntegerField", "bigint", false),
    kind("SmallIntegerField", "smallint", false),
    positive("PositiveIntegerField", "integer"),
    positive("PositiveSmallIntegerField", "smallint"),
    positive("PositiveBigIntegerField", "bigint"),
    kind("IPAddressField", "inet", false),
    kind("GenericIPAddressField", "inet", false),
    kind("TextField", "text", true),
    kind("UUIDField", "uuid", false),
    kind("JSONField", "jsonb", false),
    kind("HStoreField", "hstore", false),
    kind("CICharField", "citext", true),
    kind("CIEmailField", "citext", true),
    kind("CITextField", "citext", true),
    relation("ForeignKey"),
    relation("OneToOneField"),
    relation("ManyToManyField"),
    relation("ArrayField"),
];

fn kind_of(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// Whether `name` is a field class Django (or contrib.postgres) ships.
pub fn is_known_class(name: &str) -> bool {
    kind_of(name).is_some() || name == "GeneratedField"
}

impl Field {
    /// A field of `class` with Django's defaults for every option.
    pub fn new(class: FieldClass, location: Location) -> Field {
        Field {
            class,
            null: false,
            blank: false,
            primary_key: false,
            unique: false,
            db_index: false,
            db_column: None,
            max_length: None,
            max_digits: None,
            decimal_places: None,
            default: None,
            db_default: None,
            auto_now: false,
            relation: None,
            element: None,
            generated: None,
            related_name: None,
            uncertain: false,
            location,
        }
    }

    /// Reads a field constructor call; `None` if the callee is not a field.
    pub fn from_call<'a>(call: &'a ast::ExprCall, resolve: &mut dyn Resolve<'a>) -> Option<Field> {
        let class = resolve.field_class(&call.func)?;
        let location = resolve.location(&call.func);
        let mut field = Field::new(class, location);
        let base = field.class.base.clone();
        let kind = match base.as_str() {
            "ForeignKey" => Some(RelationKind::ForeignKey),
            "OneToOneField" => Some(RelationKind::OneToOne),
            "ManyToManyField" => Some(RelationKind::ManyToMany),
            _ => None,
        };
        if let Some(kind) = kind {
            let to = call.arguments.args.first().or_else(|| keyword(call, "to"));
            field.relation = Some(Relation {
                kind,
                to: to.and_then(|e| resolve.model_ref(e)),
                to_field: None,
                db_constraint: true,
                through: false,
                db_table: None,
            });
            if kind == RelationKind::OneToOne {
                field.unique = true;
            }
            // A relation is indexed unless told otherwise.
            field.db_index = kind == RelationKind::ForeignKey;
        }
        // `SlugField.__init__` defaults `db_index` to True.
        if base == "SlugField" {
            field.db_index = true;
        }
        if base == "ArrayField" {
            if let Some(Expr::Call(inner)) = call.arguments.args.first().or_else(|| keyword(call, "base_field")) {
                field.element = Field::from_call(inner, resolve).map(Box::new);
            }
        }
        if base == "GeneratedField" {
            if let Some(Expr::Call(output)) = keyword(call, "output_field") {
                field.element = Field::from_call(output, resolve).map(Box::new);
            }
            field.generated = keyword(call, "expression").and_then(|e| expression_sql(e, resolve));
        }
        if let Some(max) = kind_of(&base).and_then(|k| k.default_max_length) {
            field.max_length = Some(max).filter(|m| *m > 0);
        }
        if kind_of(&base).is_some_and(|k| k.auto) {
            field.primary_key = true;
        }
        for kw in call.arguments.keywords.iter() {
            let Some(name) = kw.arg.as_ref().map(|a| a.as_str()) else {
                // `**kwargs`: anything may be set.
                field.uncertain = true;
                continue;
            };
            let value = &kw.value;
            let mut flag = |target: &mut bool, uncertain: &mut bool| match resolve.literal(value) {
                Some(Literal::Bool(b)) => *target = b,
                _ => *uncertain = true,
            };
            match name {
                "null" => flag(&mut field.null, &mut field.uncertain),
                "blank" => flag(&mut field.blank, &mut field.uncertain),
                "primary_key" => flag(&mut field.primary_key, &mut field.uncertain),
                "unique" => flag(&mut field.unique, &mut field.uncertain),
                "db_index" => flag(&mut field.db_index, &mut field.uncertain),
                "auto_now" | "auto_now_add" => {
                    let mut on = false;
                    flag(&mut on, &mut field.uncertain);
                    field.auto_now |= on;
                }
                "db_constraint" => {
                    if let Some(r) = field.relation.as_mut() {
                        flag(&mut r.db_constraint, &mut field.uncertain);
                    }
                }
                "db_column" => match resolve.literal(value) {
                    Some(Literal::Str(s)) => field.db_column = Some(s),
                    Some(Literal::Null) => {}
                    _ => field.uncertain = true,
                },
                "max_length" | "max_digits" | "decimal_places" => {
                    let number = match resolve.literal(value) {
                        Some(Literal::Int(n)) => Some(n),
                        Some(Literal::Null) => None,
                        _ => {
                            field.uncertain = true;
                            None
                        }
                    };
                    match name {
                        "max_length" => field.max_length = number,
                        "max_digits" => field.max_digits = number,
                        _ => field.decimal_places = number,
                    }
                }
                "default" => field.default = Some(default_of(value, resolve)),
                "db_default" => field.db_default = Some(default_of(value, resolve)),
                "to_field" => {
                    if let (Some(r), Some(Literal::Str(s))) = (field.relation.as_mut(), resolve.literal(value)) {
                        r.to_field = Some(s);
                    }
                }
                "to" => {}
                "related_name" => {
                    if let Some(Literal::Str(s)) = resolve.literal(value) {
                        field.related_name = Some(s);
                    }
                }
                // Set by Django from the parent row, never by the caller.
                "parent_link" => field.uncertain = true,
                "through" => {
                    if let Some(r) = field.relation.as_mut() {
                        r.through = true;
                    }
                }
                "db_table" => {
                    if let (Some(r), Some(Literal::Str(s))) = (field.relation.as_mut(), resolve.literal(value)) {
                        r.db_table = Some(s);
                    }
                }
                _ => {}
            }
        }
        field.apply_init(call);
        if field.class.base == "NullBooleanField" {
            field.null = true;
        }
        Some(field)
    }

    /// The options a custom `__init__` sets, over those given in the call.
    fn apply_init(&mut self, call: &ast::ExprCall) {
        let mut set: Vec<(&str, &Literal)> = Vec::new();
        for rule in &self.class.init {
            match rule {
                InitRule::Set(key, value) => {
                    set.retain(|(k, _)| k != key);
                    set.push((key, value));
                }
                InitRule::SetDefault(key, value) => {
                    if keyword(call, key).is_none() && !set.iter().any(|(k, _)| k == key) {
                        set.push((key, value));
                    }
                }
                InitRule::Opaque => self.uncertain = true,
            }
        }
        let set: Vec<(String, Literal)> = set.into_iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        for (key, value) in set {
            match (key.as_str(), value) {
                ("null", Literal::Bool(b)) => self.null = b,
                ("blank", Literal::Bool(b)) => self.blank = b,
                ("unique", Literal::Bool(b)) => self.unique = b,
                ("db_index", Literal::Bool(b)) => self.db_index = b,
                ("primary_key", Literal::Bool(b)) => self.primary_key = b,
                ("max_length", Literal::Int(n)) => self.max_length = Some(n),
                ("default", literal) => self.default = Some(Default::Value(literal)),
                // Options that do not change the column or what is sent.
                ("editable" | "verbose_name" | "help_text" | "choices" | "validators", _) => {}
                _ => self.uncertain = true,
            }
        }
    }

    pub fn is_many_to_many(&self) -> bool {
        self.relation.as_ref().is_some_and(|r| r.kind == RelationKind::ManyToMany)
    }

    /// A foreign key or one-to-one: its column holds the target's key.
    pub fn is_foreign_key(&self) -> bool {
        self.relation.as_ref().is_some_and(|r| r.kind != RelationKind::ManyToMany)
    }

    /// The column: `db_column`, else `<name>_id` for a relation, else the name.
    /// The field's column; `None` for a many-to-many field, and for a
    /// class dbveto does not know (`TaggableManager` has no column,
    /// `ParentalKey` has `<name>_id`: guessing would be wrong either way).
    pub fn column(&self, name: &str) -> Option<String> {
        if self.is_many_to_many() || !is_known_class(&self.class.base) {
            return None;
        }
        Some(match &self.db_column {
            Some(c) => c.clone(),
            None if self.is_foreign_key() => format!("{name}_id"),
            None => name.to_string(),
        })
    }

    pub fn is_auto(&self) -> bool {
        kind_of(&self.class.base).is_some_and(|k| k.auto)
    }

    pub fn is_generated(&self) -> bool {
        self.class.base == "GeneratedField"
    }

    /// `empty_strings_allowed`: a string-like field sends `''` when not given.
    pub fn empty_strings_allowed(&self) -> bool {
        kind_of(&self.class.base).is_some_and(|k| k.empty_strings_allowed)
    }

    /// The column type on PostgreSQL, `None` when it depends on a relation
    /// target or on code dbveto does not know.
    pub fn own_db_type(&self) -> Option<String> {
        if self.class.custom_db_type {
            return None;
        }
        if self.class.base == "ArrayField" {
            return self.element.as_ref()?.own_db_type().map(|t| format!("{t}[]"));
        }
        if self.is_generated() {
            return self.element.as_ref()?.own_db_type();
        }
        let kind = kind_of(&self.class.base)?;
        let base = kind.db_type?;
        Some(match base {
            "varchar" => match self.max_length {
                Some(n) => format!("varchar({n})"),
                None => "varchar".to_string(),
            },
            "numeric" => match (self.max_digits, self.decimal_places) {
                (Some(p), Some(s)) => format!("numeric({p}, {s})"),
                _ => "numeric".to_string(),
            },
            other => other.to_string(),
        })
    }

    /// The CHECK Django adds for positive integer fields.
    pub fn check_sql(&self, column: &str) -> Option<String> {
        kind_of(&self.class.base).filter(|k| k.positive).map(|_| format!("{} >= 0", quote(column)))
    }

    /// `Field._get_default`: the value the ORM sends for a field that was
    /// not given. `None` when it is computed at run time.
    pub fn orm_default(&self) -> OrmDefault {
        match (&self.default, &self.db_default) {
            (Some(Default::Value(v)), _) => OrmDefault::Value(v.clone()),
            (Some(Default::Dynamic | Default::Expression(_)), _) => OrmDefault::Dynamic,
            (None, Some(_)) => OrmDefault::DatabaseDefault,
            (None, None) if self.auto_now => OrmDefault::Dynamic,
            (None, None) if !self.empty_strings_allowed() || self.null => OrmDefault::Value(Literal::Null),
            (None, None) => OrmDefault::Value(Literal::Str(String::new())),
        }
    }
}

/// What Django sends for a field the caller did not give.
#[derive(Debug, Clone, PartialEq)]
pub enum OrmDefault {
    Value(Literal),
    Dynamic,
    /// `db_default`: the keyword `DEFAULT`.
    DatabaseDefault,
}

fn default_of<'a>(value: &'a Expr, resolve: &mut dyn Resolve<'a>) -> Default {
    if let Some(literal) = resolve.literal(value) {
        return Default::Value(literal);
    }
    match value {
        Expr::Call(c) if crate::read::callee_name(&c.func) == Some("Now") => Default::Expression("STATEMENT_TIMESTAMP()".into()),
        _ => Default::Dynamic,
    }
}

/// SQL for a simple expression: `F("a")`, literals, and arithmetic of
/// them (`F("price") * F("copies")`, `CombinedExpression(F(...), "*", ...)`).
fn expression_sql<'a>(expr: &'a Expr, resolve: &mut dyn Resolve<'a>) -> Option<String> {
    match expr {
        Expr::Call(c) => match crate::read::callee_name(&c.func)? {
            "F" => match resolve.literal(c.arguments.args.first()?)? {
                Literal::Str(name) => Some(quote(&name)),
                _ => None,
            },
            "CombinedExpression" => {
                let [lhs, op, rhs] = &c.arguments.args[..] else { return None };
                let Literal::Str(op) = resolve.literal(op)? else { return None };
                if !["+", "-", "*", "/"].contains(&op.as_str()) {
                    return None;
                }
                Some(format!("({} {op} {})", expression_sql(lhs, resolve)?, expression_sql(rhs, resolve)?))
            }
            "Value" => resolve.literal(c.arguments.args.first()?).map(|l| l.to_sql()),
            _ => None,
        },
        Expr::BinOp(b) => {
            let op = match b.op {
                ast::Operator::Add => "+",
                ast::Operator::Sub => "-",
                ast::Operator::Mult => "*",
                ast::Operator::Div => "/",
                _ => return None,
            };
            Some(format!("({} {op} {})", expression_sql(&b.left, resolve)?, expression_sql(&b.right, resolve)?))
        }
        other => resolve.literal(other).map(|l| l.to_sql()),
    }
}

pub fn keyword<'a>(call: &'a ast::ExprCall, name: &str) -> Option<&'a Expr> {
    call.arguments.find_keyword(name).map(|k| &k.value)
}

