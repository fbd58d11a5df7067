//! Replaying DDL into a `Schema`: each statement changes the catalog the
//! way PostgreSQL would, and records where it did so.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use dbveto_schema::{
    choose_name, choose_name_from, truncate_identifier, Column, Constraint, ConstraintKind, Domain, EnumType, History, Identity,
    Index, LongName, Provenance, QualifiedName, Schema, Table,
};
use dbveto_source::{Diagnostic, Location, Severity, SourceFile};
use pg_raw_parse::nodes::{self, AlterTableCmd, AlterTableType, ColumnDef, ConstrType, ObjectType, RangeVar};
use pg_raw_parse::Node;

use crate::definitions::{check_renaming_column, constraint_renaming_column, index_columns, index_renamed, index_renaming_column};
use crate::expr::{self, names, present, strings};
use crate::long_names;
use crate::statements::{self, Statement};
use crate::types::{data_type, Serial};

/// Applies the SQL in `file.text[range]` to `schema`.
pub fn replay(schema: &mut Schema, file: &SourceFile, range: std::ops::Range<usize>, diagnostics: &mut Vec<Diagnostic>) {
    replay_noting_long_names(schema, file, range, diagnostics, &mut Vec::new());
}

/// [`replay`], noting in `long_names` the table, constraint and index
/// names written over 63 bytes.
pub fn replay_noting_long_names(
    schema: &mut Schema,
    file: &SourceFile,
    range: std::ops::Range<usize>,
    diagnostics: &mut Vec<Diagnostic>,
    long_names: &mut Vec<LongName>,
) {
    let mut constraint_names = ConstraintNames::default();
    for parsed in statements::parse(file, range, diagnostics) {
        for stmt in parsed.statements() {
            let mut r = Replayer {
                schema,
                constraint_names: &mut constraint_names,
                file,
                stmt: &stmt,
                diagnostics,
                origin: None,
                action: OnceCell::new(),
                long_names: Some(long_names),
            };
            r.statement();
        }
    }
}

/// Applies SQL that a framework generates (Django's schema editor) on
/// behalf of the code at `origin`: provenance and diagnostics point at
/// `origin`, described by `action`, not at the generated text.
pub fn replay_generated(schema: &mut Schema, sql: &str, origin: &Location, action: &str, diagnostics: &mut Vec<Diagnostic>) {
    let file = SourceFile::new(origin.path.to_string(), sql.to_string());
    let origin = Provenance { location: origin.clone(), action: action.to_string() };
    let mut parse_diagnostics = Vec::new();
    let statements = statements::parse(&file, 0..sql.len(), &mut parse_diagnostics);
    let mut replay_diagnostics = Vec::new();
    let mut constraint_names = ConstraintNames::default();
    for parsed in &statements {
        for stmt in parsed.statements() {
            let mut r = Replayer {
                schema,
                constraint_names: &mut constraint_names,
                file: &file,
                stmt: &stmt,
                diagnostics: &mut replay_diagnostics,
                origin: Some(&origin),
                action: OnceCell::new(),
                long_names: None,
            };
            r.statement();
        }
    }
    for d in parse_diagnostics.into_iter().chain(replay_diagnostics) {
        diagnostics.push(Diagnostic { location: origin.location.clone(), severity: d.severity, message: format!("{action}: {}", d.message) });
    }
}

/// The constraint names of each namespace, for the names PostgreSQL
/// generates (which must not be taken): built from the schema when first
/// needed, then kept up to date while statements only add constraints, and
/// built again after one that drops or renames. Without it each generated
/// name would scan every table.
#[derive(Default)]
pub(crate) struct ConstraintNames {
    names: Option<HashMap<String, HashSet<String>>>,
    /// Per generated name's parts (namespace, table, columns, label): the
    /// first pass (`label`, `label1`, ...) not known to be taken. Names are
    /// only added while this is kept, so the passes before stay taken.
    next_pass: HashMap<(String, String, Option<String>, &'static str), usize>,
}

impl ConstraintNames {
    fn taken(&mut self, schema: &Schema, namespace: &str, name: &str) -> bool {
        let names = self.names.get_or_insert_with(|| {
            let mut names: HashMap<String, HashSet<String>> = HashMap::new();
            for t in schema.tables.values() {
                names.entry(t.name.schema.clone()).or_default().extend(t.constraints.iter().map(|c| c.name.clone()));
            }
            for d in schema.domains.values() {
                names.entry(d.name.schema.clone()).or_default().extend(d.checks.iter().map(|c| c.name.clone()));
            }
            names
        });
        names.get(namespace).is_some_and(|n| n.contains(name))
    }

    fn add(&mut self, namespace: &str, name: &str) {
        if let Some(names) = &mut self.names {
            names.entry(namespace.to_string()).or_default().insert(name.to_string());
        }
    }

    fn forget(&mut self) {
        self.names = None;
        self.next_pass.clear();
    }

    /// A name PostgreSQL generates for an object of `table`, among those
    /// `taken` says exist, from the pass after the last one chosen alike.
    fn choose(&mut self, table: &QualifiedName, name2: Option<String>, label: &'static str, mut taken: impl FnMut(&mut Self, &str) -> bool) -> String {
        let key = (table.schema.clone(), table.name.clone(), name2, label);
        let start = self.next_pass.get(&key).copied().unwrap_or(0);
        let (name, pass) = choose_name_from(&table.name, key.2.as_deref(), label, start, |n| taken(self, n));
        self.next_pass.insert(key, pass + 1);
        name
    }
}

struct Replayer<'a> {
    schema: &'a mut Schema,
    constraint_names: &'a mut ConstraintNames,
    file: &'a SourceFile,
    stmt: &'a Statement<'a>,
    diagnostics: &'a mut Vec<Diagnostic>,
    /// Set when the SQL was generated for code elsewhere.
    origin: Option<&'a Provenance>,
    /// The statement's summary, made once: every column of a CREATE TABLE records it.
    action: OnceCell<String>,
    /// Where names written over 63 bytes go; `None` for generated SQL,
    /// whose framework judges the names it sends.
    long_names: Option<&'a mut Vec<LongName>>,
}

/// The table a statement names, in `public` unless it says otherwise.
pub(crate) fn qualified(rv: &RangeVar) -> QualifiedName {
    let schema = match rv.schemaname() {
        Some(s) if !s.is_empty() => truncate_identifier(s),
        _ => "public".to_string(),
    };
    QualifiedName::new(schema, truncate_identifier(rv.relname().unwrap_or("")))
}

/// A constraint of a CREATE TABLE or ADD COLUMN, waiting for its turn
/// (PostgreSQL names CHECKs first, then keys, then foreign keys), with the
/// column it is written on and the attributes that follow it.
struct Pending<'p> {
    constraint: &'p nodes::Constraint,
    column: Option<String>,
    deferrable: bool,
    initdeferred: bool,
}

impl<'p> Pending<'p> {
    fn new(constraint: &'p nodes::Constraint, column: Option<String>) -> Self {
        Pending { constraint, column, deferrable: constraint.deferrable, initdeferred: constraint.initdeferred }
    }
}

/// A `char` field of a parse node (`generated_when`, `fk_del_action`).
fn char_is(c: std::ffi::c_char, expected: u8) -> bool {
    c as u8 == expected
}

fn qualified_list(names: &[String]) -> Option<QualifiedName> {
    match names {
        [.., s, n] => Some(QualifiedName::new(truncate_identifier(s), truncate_identifier(n))),
        [n] => Some(QualifiedName::public(truncate_identifier(n))),
        [] => None,
    }
}

impl<'a> Replayer<'a> {
    fn text(&self) -> &str {
        self.file.text.get(self.stmt.start..self.stmt.end).unwrap_or("")
    }

    /// Notes a name the parser gives as `parsed` when it was written over
    /// 63 bytes (the parser keeps 63), where it is written: at or after the
    /// parser location `node` of the node that has it.
    fn note_long_name(&mut self, parsed: &str, what: &'static str, table: &str, node: Option<i32>) {
        if self.long_names.is_none() {
            return;
        }
        let from = node.map_or(0, |l| self.offset_in_stmt(l));
        let Some((name, offset)) = long_names::written_form(self.text(), parsed, from) else { return };
        let location = self.file.location(self.stmt.start + offset);
        if let Some(long_names) = self.long_names.as_deref_mut() {
            long_names.push(LongName { name, what, table: table.to_string(), location });
        }
    }

    /// Provenance at a parser location inside the statement (or its start).
    fn at(&self, location: i32) -> Provenance {
        if let Some(origin) = self.origin {
            return origin.clone();
        }
        Provenance { location: self.file.location(self.file_offset(location)), action: self.action() }
    }

    /// The file offset of a parser location (relative to the text the
    /// parser was given), kept inside the statement.
    fn file_offset(&self, location: i32) -> usize {
        match usize::try_from(location) {
            Ok(l) => (self.stmt.base + l).clamp(self.stmt.start, self.stmt.end.max(self.stmt.start)),
            Err(_) => self.stmt.start,
        }
    }

    fn here(&self) -> Provenance {
        if let Some(origin) = self.origin {
            return origin.clone();
        }
        Provenance { location: self.file.location(self.stmt.start), action: self.action() }
    }

    fn action(&self) -> String {
        self.action.get_or_init(|| statements::summary(self.text())).clone()
    }

    fn warn(&mut self, message: String) {
        self.diagnostics.push(self.file.diagnostic(self.stmt.start, Severity::Warning, message));
    }

    fn statement(&mut self) {
        // The statement outlives this replayer's borrows: no copy of its tree is needed.
        let stmt = self.stmt;
        match stmt.node {
            Node::CreateStmt(c) => self.create_table(c),
            Node::AlterTableStmt(a) => {
                if a.objtype != ObjectType::OBJECT_TABLE && a.objtype != ObjectType::OBJECT_FOREIGN_TABLE {
                    return;
                }
                let Some(rv) = a.relation() else { return };
                let name = qualified(rv);
                if !self.schema.tables.contains_key(&name) {
                    if !a.missing_ok {
                        self.warn(format!("ALTER TABLE of `{name}`, which no earlier migration creates; statement skipped"));
                    }
                    return;
                }
                for cmd in a.cmds() {
                    if let Node::AlterTableCmd(cmd) = cmd {
                        self.alter_table(&name, cmd);
                    }
                }
            }
            Node::RenameStmt(r) => {
                self.constraint_names.forget();
                self.rename(r)
            }
            Node::DropStmt(d) => {
                self.constraint_names.forget();
                self.drop(d)
            }
            Node::CreateEnumStmt(e) => {
                let Some(name) = qualified_list(&names(e.type_name())) else { return };
                let labels = names(e.vals());
                let history = History::new(self.here());
                self.schema.enums.insert(name.clone(), EnumType { name, labels, provenance: history });
            }
            Node::AlterEnumStmt(e) => {
                let Some(name) = qualified_list(&names(e.type_name())) else { return };
                let here = self.here();
                let Some(en) = self.schema.enums.get_mut(&name) else {
                    self.warn(format!("ALTER TYPE of `{name}`, which no earlier migration creates; statement skipped"));
                    return;
                };
                let new_val = e.new_val().unwrap_or("");
                match e.old_val().filter(|v| !v.is_empty()) {
                    Some(old_val) => {
                        if let Some(l) = en.labels.iter_mut().find(|l| *l == old_val) {
                            *l = new_val.to_string();
                        }
                    }
                    None if !en.labels.iter().any(|l| l == new_val) => {
                        let neighbor = e.new_val_neighbor().unwrap_or("");
                        match en.labels.iter().position(|l| l == neighbor) {
                            Some(i) if e.new_val_is_after => en.labels.insert(i + 1, new_val.to_string()),
                            Some(i) => en.labels.insert(i, new_val.to_string()),
                            None => en.labels.push(new_val.to_string()),
                        }
                    }
                    None => {}
                }
                en.provenance.record(here);
            }
            Node::CreateDomainStmt(d) => self.create_domain(d),
            Node::IndexStmt(i) => self.create_index(i),
            Node::CreateSeqStmt(s) => {
                if let Some(rv) = s.sequence() {
                    let loc = self.here().location;
                    self.schema.sequences.insert(qualified(rv), loc);
                }
            }
            _ => {}
        }
    }

    fn create_table(&mut self, c: &'a nodes::CreateStmt) {
        let Some(rv) = c.relation() else { return };
        let name = qualified(rv);
        if let Some(written) = rv.relname() {
            self.note_long_name(written, "table", &name.name, Some(rv.location));
        }
        if self.schema.tables.contains_key(&name) {
            if !c.if_not_exists {
                self.warn(format!("CREATE TABLE `{name}`, which an earlier migration already creates; statement skipped"));
            }
            return;
        }
        // PostgreSQL refuses a column written twice (42701).
        let mut declared = HashSet::new();
        for elt in c.table_elts() {
            if let Node::ColumnDef(col) = elt {
                let colname = truncate_identifier(col.colname().unwrap_or(""));
                if !declared.insert(colname.clone()) {
                    self.warn(format!("column `{colname}` specified more than once in CREATE TABLE `{name}`; statement skipped"));
                    return;
                }
            }
        }
        let mut table = Table {
            name: name.clone(),
            columns: Vec::new(),
            constraints: Vec::new(),
            partition_of: None,
            like: Vec::new(),
            provenance: History::new(self.here()),
        };
        // Inherited columns (PARTITION OF, INHERITS) come first, with their
        // NOT NULL and CHECK constraints.
        for parent in c.inh_relations() {
            let Node::RangeVar(prv) = parent else { continue };
            let pname = qualified(prv);
            if c.partbound().is_some() {
                table.partition_of = Some(pname.clone());
            }
            if let Some(p) = self.schema.tables.get(&pname) {
                // Identity is the parent's own; children share its sequence.
                table.columns.extend(p.columns.iter().cloned().map(|mut c| {
                    c.identity = None;
                    c
                }));
                self.constraint_names.forget();
                table.constraints.extend(
                    p.constraints.iter().filter(|k| matches!(k.kind, ConstraintKind::Check { .. })).cloned(),
                );
            }
        }
        self.schema.tables.insert(name.clone(), table);
        let mut pending = Vec::new();
        for elt in c.table_elts() {
            match elt {
                Node::ColumnDef(col) => {
                    let colname = truncate_identifier(col.colname().unwrap_or(""));
                    if self.table(&name).and_then(|t| t.column(&colname)).is_some() {
                        // A partition may restate an inherited column to add constraints.
                        self.column_constraints(&name, &colname, col, &mut pending);
                    } else {
                        self.add_column(&name, col, &mut pending);
                    }
                }
                Node::Constraint(k) => pending.push(Pending::new(k, None)),
                Node::TableLikeClause(like) => self.like(&name, like),
                _ => {}
            }
        }
        for k in c.constraints() {
            pending.push(Pending::new(k, None));
        }
        self.add_constraints(&name, pending, true);
    }

    fn like(&mut self, name: &QualifiedName, like: &nodes::TableLikeClause) {
        const CONSTRAINTS: u32 = 1 << 2;
        const DEFAULTS: u32 = 1 << 3;
        const GENERATED: u32 = 1 << 4;
        const IDENTITY: u32 = 1 << 5;
        let Some(rv) = like.relation() else { return };
        let source = qualified(rv);
        let here = self.here();
        let Some(src) = self.schema.tables.get(&source).cloned() else {
            self.warn(format!("LIKE `{source}`, which no earlier migration creates; its columns are unknown"));
            return;
        };
        let Some(table) = self.schema.tables.get_mut(name) else { return };
        table.like.push(source);
        for col in &src.columns {
            let mut col = col.clone();
            if like.options & DEFAULTS == 0 {
                col.default = None;
            }
            if like.options & GENERATED == 0 {
                col.generated = None;
            }
            if like.options & IDENTITY == 0 {
                col.identity = None;
            }
            col.provenance = History::new(here.clone());
            table.columns.push(col);
        }
        if like.options & CONSTRAINTS != 0 {
            for k in src.constraints.iter().filter(|k| matches!(k.kind, ConstraintKind::Check { .. })) {
                let mut k = k.clone();
                k.provenance = History::new(here.clone());
                self.constraint_names.forget();
                table.constraints.push(k);
            }
        }
    }

    fn table(&self, name: &QualifiedName) -> Option<&Table> {
        self.schema.tables.get(name)
    }

    fn add_column(&mut self, table: &QualifiedName, col: &'a ColumnDef, pending: &mut Vec<Pending<'a>>) {
        let name = truncate_identifier(col.colname().unwrap_or(""));
        let Some(tn) = col.type_name() else { return };
        let (data_type, serial) = data_type(tn, self.schema);
        let here = self.at(col.location);
        let mut column = Column {
            name: name.clone(),
            data_type: data_type.clone(),
            not_null: col.is_not_null,
            default: None,
            identity: None,
            generated: None,
            provenance: History::new(here),
        };
        if let Serial::Yes = serial {
            let seq = choose_name(&table.name, Some(&name), "seq", |n| {
                self.schema.relation_exists(&QualifiedName::new(table.schema.clone(), n))
            });
            column.not_null = true;
            // As `pg_get_expr` prints it: qualified outside `public`, quoted where needed.
            let quoted = |n: &str| match n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                true => n.to_string(),
                false => format!("\"{}\"", n.replace('"', "\"\"").replace('\'', "''")),
            };
            let qualified = match table.schema.as_str() {
                "public" => quoted(&seq),
                schema => format!("{}.{}", quoted(schema), quoted(&seq)),
            };
            column.default = Some(format!("nextval('{qualified}'::regclass)"));
            self.schema.sequences.insert(QualifiedName::new(table.schema.clone(), seq), self.here().location);
        }
        if let Some(domain) = self.schema.domain(&data_type) {
            // A domain's NOT NULL and default apply to the column.
            column.not_null |= domain.not_null;
            if column.default.is_none() {
                column.default = domain.default.clone();
            }
        }
        if let Some(t) = self.schema.tables.get_mut(table) {
            t.columns.push(column);
        }
        self.column_constraints(table, &name, col, pending);
    }

    /// The constraints written on a column: NOT NULL, DEFAULT, identity and
    /// generated apply now; CHECK, keys and references join `pending`.
    fn column_constraints(
        &mut self,
        table: &QualifiedName,
        column: &str,
        col: &'a ColumnDef,
        pending: &mut Vec<Pending<'a>>,
    ) {
        for k in col.constraints() {
            let Node::Constraint(k) = k else { continue };
            let here = self.at(k.location);
            let kind = k.contype;
            let Some(c) = self.schema.tables.get_mut(table).and_then(|t| t.column_mut(column)) else { return };
            match kind {
                ConstrType::CONSTR_NOTNULL => {
                    c.not_null = true;
                    c.provenance.record(here);
                }
                ConstrType::CONSTR_NULL => c.not_null = false,
                ConstrType::CONSTR_DEFAULT => {
                    c.default = present(k.raw_expr()).map(expr::render);
                    c.provenance.record(here);
                }
                ConstrType::CONSTR_IDENTITY => {
                    c.identity = Some(if char_is(k.generated_when, b'a') { Identity::Always } else { Identity::ByDefault });
                    c.not_null = true;
                }
                ConstrType::CONSTR_GENERATED => {
                    c.generated = Some(present(k.raw_expr()).map(expr::render).unwrap_or_default());
                }
                ConstrType::CONSTR_PRIMARY => {
                    c.not_null = true;
                    pending.push(Pending::new(k, Some(column.to_string())));
                }
                ConstrType::CONSTR_CHECK | ConstrType::CONSTR_UNIQUE | ConstrType::CONSTR_FOREIGN | ConstrType::CONSTR_EXCLUSION => {
                    pending.push(Pending::new(k, Some(column.to_string())))
                }
                ConstrType::CONSTR_ATTR_DEFERRABLE
                | ConstrType::CONSTR_ATTR_DEFERRED
                | ConstrType::CONSTR_ATTR_NOT_DEFERRABLE
                | ConstrType::CONSTR_ATTR_IMMEDIATE => {
                    // Attributes follow the constraint they qualify.
                    if let Some(last) = pending.last_mut() {
                        match kind {
                            ConstrType::CONSTR_ATTR_DEFERRABLE => last.deferrable = true,
                            ConstrType::CONSTR_ATTR_DEFERRED => {
                                last.deferrable = true;
                                last.initdeferred = true
                            }
                            ConstrType::CONSTR_ATTR_NOT_DEFERRABLE => last.deferrable = false,
                            _ => last.initdeferred = false,
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Adds constraints in PostgreSQL's order: CHECKs get names as they
    /// come, then keys (which create indexes), then foreign keys.
    fn add_constraints(&mut self, table: &QualifiedName, pending: Vec<Pending<'a>>, creating: bool) {
        let order = |p: &Pending<'_>| match p.constraint.contype {
            ConstrType::CONSTR_CHECK => 0,
            ConstrType::CONSTR_PRIMARY => 1,
            ConstrType::CONSTR_UNIQUE | ConstrType::CONSTR_EXCLUSION => 2,
            ConstrType::CONSTR_FOREIGN => 3,
            _ => 4,
        };
        let mut pending = pending;
        if creating {
            pending.sort_by_key(order);
        }
        for p in pending {
            self.add_constraint(table, &p);
        }
    }

    fn add_constraint(&mut self, table: &QualifiedName, pending: &Pending<'_>) {
        let (k, column) = (pending.constraint, pending.column.as_deref());
        let here = self.at(k.location);
        let kind = k.contype;
        if let Some(written) = k.conname().filter(|n| !n.is_empty()) {
            self.note_long_name(written, "constraint", &table.name, Some(k.location));
        }
        let given = k.conname().filter(|n| !n.is_empty()).map(truncate_identifier);
        let schema_name = table.schema.clone();
        let (ckind, columns, label, name2): (ConstraintKind, Vec<String>, &str, Option<String>) = match kind {
            ConstrType::CONSTR_CHECK => {
                let Some(e) = present(k.raw_expr()) else { return };
                let mut read = Vec::new();
                expr::columns_read(e, &mut read);
                let expression = expr::parenthesised(self.text(), self.offset_in_stmt(k.location))
                    .map(str::to_string)
                    .unwrap_or_else(|| expr::render(e));
                let name2 = if read.len() == 1 { Some(read[0].clone()) } else { None };
                (ConstraintKind::Check { expression, predicate: expr::predicate(e) }, read, "check", name2)
            }
            ConstrType::CONSTR_PRIMARY | ConstrType::CONSTR_UNIQUE | ConstrType::CONSTR_EXCLUSION => {
                let mut cols = if !k.exclusions().is_empty() {
                    exclusion_columns(k)
                } else if k.keys().is_empty() {
                    column.map(|c| vec![c.to_string()]).unwrap_or_default()
                } else {
                    strings(k.keys())
                };
                cols.iter_mut().for_each(|c| *c = truncate_identifier(c));
                if kind == ConstrType::CONSTR_PRIMARY {
                    if let Some(t) = self.schema.tables.get_mut(table) {
                        for c in &cols {
                            if let Some(col) = t.column_mut(c) {
                                col.not_null = true;
                            }
                        }
                    }
                }
                let (ck, label) = match kind {
                    ConstrType::CONSTR_PRIMARY => (ConstraintKind::PrimaryKey, "pkey"),
                    ConstrType::CONSTR_UNIQUE => (ConstraintKind::Unique, "key"),
                    _ => {
                        let definition = crate::definitions::constraint_definition(k).unwrap_or_else(|| "EXCLUDE (...)".into());
                        (ConstraintKind::Exclusion { definition }, "excl")
                    }
                };
                let name2 = if kind == ConstrType::CONSTR_PRIMARY { None } else { Some(cols.join("_")) };
                (ck, cols, label, name2)
            }
            ConstrType::CONSTR_FOREIGN => {
                let mut cols = if k.fk_attrs().is_empty() { column.map(|c| vec![c.to_string()]).unwrap_or_default() } else { strings(k.fk_attrs()) };
                cols.iter_mut().for_each(|c| *c = truncate_identifier(c));
                let Some(pk) = k.pktable() else { return };
                let references = qualified(pk);
                let mut referenced = strings(k.pk_attrs());
                if referenced.is_empty() {
                    referenced = self
                        .schema
                        .tables
                        .get(&references)
                        .and_then(|t| t.constraints.iter().find(|c| matches!(c.kind, ConstraintKind::PrimaryKey)))
                        .map(|c| c.columns.clone())
                        .unwrap_or_default();
                }
                let on_delete = match k.fk_del_action as u8 {
                    b'c' => Some("CASCADE"),
                    b'n' => Some("SET NULL"),
                    b'd' => Some("SET DEFAULT"),
                    b'r' => Some("RESTRICT"),
                    _ => None,
                }
                .map(str::to_string);
                let name2 = Some(cols.join("_"));
                (
                    ConstraintKind::ForeignKey {
                        references,
                        referenced_columns: referenced,
                        deferrable: pending.deferrable,
                        initially_deferred: pending.initdeferred,
                        on_delete,
                    },
                    cols,
                    "fkey",
                    name2,
                )
            }
            _ => return,
        };
        let index_backed = matches!(ckind, ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion { .. });
        let name = given.unwrap_or_else(|| {
            let schema = &*self.schema;
            self.constraint_names.choose(table, name2.as_deref().map(truncate_identifier), label, |names, n| match index_backed {
                true => schema.relation_exists(&QualifiedName::new(schema_name.clone(), n)),
                false => names.taken(schema, &schema_name, n),
            })
        });
        if index_backed {
            let unique = !matches!(ckind, ConstraintKind::Exclusion { .. });
            self.schema.indexes.insert(
                QualifiedName::new(schema_name.clone(), name.clone()),
                Index {
                    name: QualifiedName::new(schema_name.clone(), name.clone()),
                    table: table.clone(),
                    columns: columns.clone(),
                    unique,
                    constraint: true,
                    definition: None,
                    provenance: History::new(here.clone()),
                },
            );
        }
        let Some(t) = self.schema.tables.get_mut(table) else { return };
        if t.constraint(&name).is_some() {
            self.warn(format!("constraint `{name}` for relation `{table}` already exists; statement skipped"));
            return;
        }
        self.constraint_names.add(&schema_name, &name);
        t.constraints.push(Constraint {
            name,
            kind: ckind,
            columns,
            validated: !k.skip_validation,
            provenance: History::new(here),
        });
    }

    /// Offset of a parser location relative to the statement text.
    fn offset_in_stmt(&self, location: i32) -> usize {
        self.file_offset(location) - self.stmt.start
    }

    fn alter_table(&mut self, table: &QualifiedName, cmd: &'a AlterTableCmd) {
        let colname = truncate_identifier(cmd.name().unwrap_or(""));
        let here = self.here();
        match cmd.subtype {
            AlterTableType::AT_AddColumn => {
                let Node::ColumnDef(col) = cmd.def() else { return };
                let name = truncate_identifier(col.colname().unwrap_or(""));
                if self.table(table).is_some_and(|t| t.column(&name).is_some()) {
                    if !cmd.missing_ok {
                        self.warn(format!("column `{name}` of relation `{table}` already exists; statement skipped"));
                    }
                    return;
                }
                let mut pending = Vec::new();
                self.add_column(table, col, &mut pending);
                self.add_constraints(table, pending, true);
            }
            AlterTableType::AT_DropColumn => {
                let Some(t) = self.schema.tables.get_mut(table) else { return };
                if t.column(&colname).is_none() {
                    if !cmd.missing_ok {
                        self.warn(format!("column `{colname}` of relation `{table}` does not exist; statement skipped"));
                    }
                    return;
                }
                t.columns.retain(|c| c.name != colname);
                // Constraints and indexes on the column go with it.
                t.constraints.retain(|k| !k.columns.contains(&colname));
                self.constraint_names.forget();
                let schema = table.schema.clone();
                let reads = |i: &Index| i.columns.contains(&colname) || i.definition.as_deref().is_some_and(|d| index_columns(d).contains(&colname));
                self.schema.indexes.retain(|n, i| !(n.schema == schema && i.table == *table && reads(i)));
            }
            AlterTableType::AT_ColumnDefault => self.with_column(table, &colname, |c| {
                c.default = present(cmd.def()).map(expr::render);
                c.provenance.record(here);
            }),
            AlterTableType::AT_SetNotNull => self.with_column(table, &colname, |c| {
                c.not_null = true;
                c.provenance.record(here);
            }),
            AlterTableType::AT_DropNotNull => self.with_column(table, &colname, |c| {
                c.not_null = false;
                c.provenance.record(here);
            }),
            AlterTableType::AT_AlterColumnType => {
                let Node::ColumnDef(col) = cmd.def() else { return };
                let Some(tn) = col.type_name() else { return };
                let (dt, _) = data_type(tn, self.schema);
                self.with_column(table, &colname, |c| {
                    c.data_type = dt;
                    c.provenance.record(here);
                });
            }
            AlterTableType::AT_AddIdentity => {
                let identity = match cmd.def() {
                    Node::Constraint(k) if char_is(k.generated_when, b'a') => Identity::Always,
                    _ => Identity::ByDefault,
                };
                self.with_column(table, &colname, |c| {
                    c.identity = Some(identity);
                    c.provenance.record(here);
                });
            }
            AlterTableType::AT_DropIdentity => self.with_column(table, &colname, |c| {
                c.identity = None;
                c.provenance.record(here);
            }),
            AlterTableType::AT_DropExpression => self.with_column(table, &colname, |c| {
                c.generated = None;
                c.provenance.record(here);
            }),
            AlterTableType::AT_AddConstraint => {
                let Node::Constraint(k) = cmd.def() else { return };
                self.add_constraint(table, &Pending::new(k, None));
            }
            AlterTableType::AT_ValidateConstraint => {
                if let Some(k) = self.schema.tables.get_mut(table).and_then(|t| t.constraints.iter_mut().find(|k| k.name == colname)) {
                    k.validated = true;
                    k.provenance.record(here);
                }
            }
            AlterTableType::AT_DropConstraint => {
                self.constraint_names.forget();
                let Some(t) = self.schema.tables.get_mut(table) else { return };
                let before = t.constraints.len();
                t.constraints.retain(|k| k.name != colname);
                if t.constraints.len() == before && !cmd.missing_ok {
                    self.warn(format!("constraint `{colname}` of relation `{table}` does not exist; statement skipped"));
                }
                self.schema.indexes.remove(&QualifiedName::new(table.schema.clone(), colname));
            }
            _ => {}
        }
    }

    fn with_column(&mut self, table: &QualifiedName, column: &str, f: impl FnOnce(&mut Column)) {
        match self.schema.tables.get_mut(table).and_then(|t| t.column_mut(column)) {
            Some(c) => f(c),
            None => self.warn(format!("column `{column}` of relation `{table}` does not exist; statement skipped")),
        }
    }

    fn rename(&mut self, r: &nodes::RenameStmt) {
        let new = truncate_identifier(r.newname().unwrap_or(""));
        let here = self.here();
        match r.rename_type {
            ObjectType::OBJECT_TABLE => {
                let Some(old) = r.relation().map(qualified) else { return };
                let Some(mut t) = self.schema.tables.remove(&old) else {
                    if !r.missing_ok {
                        self.warn(format!("ALTER TABLE RENAME of `{old}`, which does not exist; statement skipped"));
                    }
                    return;
                };
                let renamed = QualifiedName::new(old.schema.clone(), new);
                t.name = renamed.clone();
                t.provenance.record(here);
                self.schema.tables.insert(renamed.clone(), t);
                for t in self.schema.tables.values_mut() {
                    for k in &mut t.constraints {
                        if let ConstraintKind::ForeignKey { references, .. } = &mut k.kind {
                            if *references == old {
                                *references = renamed.clone();
                            }
                        }
                    }
                }
                for i in self.schema.indexes.values_mut() {
                    if i.table == old {
                        i.table = renamed.clone();
                        i.definition = i.definition.as_deref().and_then(|d| index_renamed(d, &i.name.name, &renamed));
                    }
                }
            }
            ObjectType::OBJECT_COLUMN => {
                let Some(table) = r.relation().map(qualified) else { return };
                let old = truncate_identifier(r.subname().unwrap_or(""));
                let Some(t) = self.schema.tables.get_mut(&table) else { return };
                let Some(c) = t.column_mut(&old) else {
                    self.warn(format!("column `{old}` of relation `{table}` does not exist; statement skipped"));
                    return;
                };
                c.name = new.clone();
                c.provenance.record(here);
                for k in &mut t.constraints {
                    let reads_it = k.columns.contains(&old);
                    k.columns.iter_mut().filter(|c| **c == old).for_each(|c| *c = new.clone());
                    match &mut k.kind {
                        ConstraintKind::Check { predicate, expression } => {
                            predicate.rename_column(&old, &new);
                            // Rewritten only when it reads the column: the text stays as written otherwise.
                            if let Some(renamed) = check_renaming_column(expression, &old, &new).filter(|_| reads_it) {
                                *expression = renamed;
                            }
                        }
                        ConstraintKind::Exclusion { definition } => {
                            if let Some(renamed) = constraint_renaming_column(definition, &old, &new) {
                                *definition = renamed;
                            }
                        }
                        _ => {}
                    }
                }
                for i in self.schema.indexes.values_mut().filter(|i| i.table == table) {
                    i.columns.iter_mut().filter(|c| **c == old).for_each(|c| *c = new.clone());
                    i.definition = i.definition.as_deref().and_then(|d| index_renaming_column(d, &old, &new));
                }
                for t in self.schema.tables.values_mut() {
                    for k in &mut t.constraints {
                        if let ConstraintKind::ForeignKey { references, referenced_columns, .. } = &mut k.kind {
                            if *references == table {
                                referenced_columns.iter_mut().filter(|c| **c == old).for_each(|c| *c = new.clone());
                            }
                        }
                    }
                }
            }
            ObjectType::OBJECT_TABCONSTRAINT => {
                let Some(table) = r.relation().map(qualified) else { return };
                let old = truncate_identifier(r.subname().unwrap_or(""));
                let k = self.schema.tables.get_mut(&table).and_then(|t| t.constraints.iter_mut().find(|k| k.name == old));
                match k {
                    Some(k) => {
                        k.name = new.clone();
                        k.provenance.record(here);
                        if let Some(mut i) = self.schema.indexes.remove(&QualifiedName::new(table.schema.clone(), old)) {
                            i.name.name = new.clone();
                            self.schema.indexes.insert(i.name.clone(), i);
                        }
                    }
                    None => self.warn(format!("constraint `{old}` of relation `{table}` does not exist; statement skipped")),
                }
            }
            ObjectType::OBJECT_INDEX => {
                let Some(old) = r.relation().map(qualified) else { return };
                if let Some(mut i) = self.schema.indexes.remove(&old) {
                    i.name.name = new.clone();
                    i.definition = i.definition.as_deref().and_then(|d| index_renamed(d, &new, &i.table));
                    i.provenance.record(here);
                    // An index that backs a constraint renames the constraint too.
                    if i.constraint {
                        if let Some(k) = self.schema.tables.get_mut(&i.table).and_then(|t| t.constraints.iter_mut().find(|k| k.name == old.name)) {
                            k.name = new.clone();
                        }
                    }
                    self.schema.indexes.insert(i.name.clone(), i);
                }
            }
            ObjectType::OBJECT_TYPE | ObjectType::OBJECT_DOMAIN => {
                let Some(old) = type_object_name(r.object()) else { return };
                let renamed = QualifiedName::new(old.schema.clone(), new);
                if let Some(mut e) = self.schema.enums.remove(&old) {
                    e.name = renamed.clone();
                    e.provenance.record(here);
                    self.schema.enums.insert(renamed.clone(), e);
                } else if let Some(mut d) = self.schema.domains.remove(&old) {
                    d.name = renamed.clone();
                    d.provenance.record(here);
                    self.schema.domains.insert(renamed.clone(), d);
                } else {
                    return;
                }
                for t in self.schema.tables.values_mut() {
                    for c in &mut t.columns {
                        if c.data_type.schema.as_deref() == Some(&old.schema) && c.data_type.name == old.name {
                            c.data_type.name = renamed.name.clone();
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn drop(&mut self, d: &nodes::DropStmt) {
        for object in d.objects() {
            match d.remove_type {
                ObjectType::OBJECT_TABLE => {
                    let Node::NodeList(l) = object else { continue };
                    let Some(name) = qualified_list(&strings(l)) else { continue };
                    if self.schema.tables.remove(&name).is_none() {
                        if !d.missing_ok {
                            self.warn(format!("DROP TABLE `{name}`, which does not exist; statement skipped"));
                        }
                        continue;
                    }
                    self.schema.indexes.retain(|_, i| i.table != name);
                    // CASCADE drops the foreign keys that point at the table.
                    for t in self.schema.tables.values_mut() {
                        t.constraints.retain(|k| !matches!(&k.kind, ConstraintKind::ForeignKey { references, .. } if *references == name));
                    }
                }
                ObjectType::OBJECT_INDEX => {
                    let Node::NodeList(l) = object else { continue };
                    if let Some(name) = qualified_list(&strings(l)) {
                        self.schema.indexes.remove(&name);
                    }
                }
                ObjectType::OBJECT_TYPE | ObjectType::OBJECT_DOMAIN => {
                    if let Some(name) = type_object_name(object) {
                        self.schema.enums.remove(&name);
                        self.schema.domains.remove(&name);
                    }
                }
                ObjectType::OBJECT_SEQUENCE => {
                    let Node::NodeList(l) = object else { continue };
                    if let Some(name) = qualified_list(&strings(l)) {
                        self.schema.sequences.remove(&name);
                    }
                }
                _ => {}
            }
        }
    }

    fn create_domain(&mut self, d: &nodes::CreateDomainStmt) {
        let Some(name) = qualified_list(&names(d.domainname())) else { return };
        let Some(tn) = d.type_name() else { return };
        let (base, _) = data_type(tn, self.schema);
        let here = self.here();
        let mut domain = Domain { name: name.clone(), base, not_null: false, default: None, checks: Vec::new(), provenance: History::new(here) };
        for k in d.constraints() {
            match k.contype {
                ConstrType::CONSTR_NOTNULL => domain.not_null = true,
                ConstrType::CONSTR_DEFAULT => domain.default = present(k.raw_expr()).map(expr::render),
                ConstrType::CONSTR_CHECK => {
                    let Some(e) = present(k.raw_expr()) else { continue };
                    let given = k.conname().filter(|n| !n.is_empty());
                    let cname = if let Some(given) = given {
                        truncate_identifier(given)
                    } else {
                        let taken: Vec<String> = domain.checks.iter().map(|c| c.name.clone()).collect();
                        choose_name(&name.name, None, "check", |n| taken.iter().any(|t| t == n) || self.constraint_names.taken(self.schema, &name.schema, n))
                    };
                    self.constraint_names.add(&name.schema, &cname);
                    let expression = expr::parenthesised(self.text(), self.offset_in_stmt(k.location)).map(str::to_string).unwrap_or_else(|| expr::render(e));
                    domain.checks.push(Constraint {
                        name: cname,
                        kind: ConstraintKind::Check { expression, predicate: expr::predicate(e) },
                        columns: vec!["value".into()],
                        validated: true,
                        provenance: History::new(self.at(k.location)),
                    });
                }
                _ => {}
            }
        }
        self.schema.domains.insert(name, domain);
    }

    fn create_index(&mut self, i: &nodes::IndexStmt) {
        let Some(rv) = i.relation() else { return };
        let table = qualified(rv);
        if !self.schema.tables.contains_key(&table) {
            self.warn(format!("CREATE INDEX on `{table}`, which no earlier migration creates; statement skipped"));
            return;
        }
        let mut columns = Vec::new();
        let mut names_for_label = Vec::new();
        for e in i.index_params() {
            let elem_name = e.name().unwrap_or("");
            if let Some(expression) = present(e.expr()).filter(|_| elem_name.is_empty()) {
                names_for_label.push(expr::figure_colname(expression).map_or_else(|| "expr".to_string(), |n| truncate_identifier(&n)));
            } else {
                columns.push(truncate_identifier(elem_name));
                names_for_label.push(truncate_identifier(elem_name));
            }
        }
        // A unique index is a constraint only when a constraint made it.
        let label = if i.primary { "pkey" } else if i.isconstraint { "key" } else { "idx" };
        if let Some(written) = i.idxname().filter(|n| !n.is_empty()) {
            self.note_long_name(written, "index", &table.name, None);
        }
        let name = match i.idxname().filter(|n| !n.is_empty()) {
            Some(given) => truncate_identifier(given),
            None => {
                let name2 = truncate_identifier(&names_for_label.join("_"));
                let schema = &*self.schema;
                self.constraint_names.choose(&table, Some(name2), label, |_, n| schema.relation_exists(&QualifiedName::new(table.schema.clone(), n)))
            }
        };
        let qname = QualifiedName::new(table.schema.clone(), name);
        if self.schema.relation_exists(&qname) {
            if !i.if_not_exists {
                self.warn(format!("relation `{qname}` already exists; statement skipped"));
            }
            return;
        }
        let history = History::new(self.here());
        let definition = crate::definitions::index_definition(i, &qname.name);
        self.schema.indexes.insert(
            qname.clone(),
            Index { name: qname, table, columns, unique: i.unique, constraint: false, definition, provenance: history },
        );
    }
}

/// The columns of an exclusion constraint's elements, as PostgreSQL names
/// them for the constraint's name: an expression is `expr`.
fn exclusion_columns(k: &nodes::Constraint) -> Vec<String> {
    k.exclusions()
        .iter()
        .filter_map(|pair| match pair {
            Node::NodeList(l) => match l.first()? {
                Node::IndexElem(e) => match e.name() {
                    Some(name) if !name.is_empty() => Some(name.to_string()),
                    _ => Some("expr".to_string()),
                },
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The name of a type in `DROP TYPE` / `ALTER TYPE ... RENAME`: a TypeName
/// node or a list of strings.
fn type_object_name(node: Node<'_>) -> Option<QualifiedName> {
    match node {
        Node::TypeName(t) => qualified_list(&names(t.names())),
        Node::NodeList(l) => qualified_list(&strings(l)),
        Node::String(s) => qualified_list(&[s.sval()?.to_string()]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay_text(sql: &str) -> (Schema, Vec<Diagnostic>) {
        let file = SourceFile::new("m/001_init.up.sql", sql);
        let mut schema = Schema::default();
        let mut diagnostics = Vec::new();
        replay(&mut schema, &file, 0..sql.len(), &mut diagnostics);
        (schema, diagnostics)
    }

    #[test]
    fn a_statement_that_does_not_parse_is_a_diagnostic_and_replay_goes_on() {
        let (schema, d) = replay_text("CREATE TABLE a (x int);\nCREATE TABLE b (x int,, y);\nCREATE TABLE c (x int);");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].location.line, 2);
        assert!(d[0].message.starts_with("could not parse SQL: syntax error"), "{}", d[0].message);
        assert!(schema.table(None, "a").is_some() && schema.table(None, "c").is_some());
    }

    #[test]
    fn provenance_follows_the_last_change_and_keeps_history() {
        let (schema, _) = replay_text("CREATE TABLE t (\n  a int\n);\n\nALTER TABLE t ALTER COLUMN a SET NOT NULL;");
        let a = schema.table(None, "t").and_then(|t| t.column("a")).cloned().expect("column a");
        assert!(a.not_null);
        assert_eq!(a.provenance.current.location.line, 5);
        assert_eq!(a.provenance.history.iter().map(|p| p.location.line).collect::<Vec<_>>(), [2, 5]);
    }

    #[test]
    fn unnamed_expression_indexes_are_named_as_postgres_names_them() {
        let (schema, _) = replay_text(
            "CREATE TABLE t (a int, email text, b int);\n\
             CREATE INDEX ON t (lower(email));\n\
             CREATE INDEX ON t ((a + b));\n\
             CREATE INDEX ON t ((a::text));\n\
             CREATE INDEX ON t (a, lower(email));\n\
             CREATE INDEX ON t ((CASE WHEN a > 0 THEN 1 END));\n\
             CREATE UNIQUE INDEX ON t (upper(email));",
        );
        let names: Vec<&str> = schema.indexes.keys().map(|n| n.name.as_str()).collect();
        // Checked on PostgreSQL 15.
        assert_eq!(names, ["t_a_idx", "t_a_lower_idx", "t_case_idx", "t_expr_idx", "t_lower_idx", "t_upper_idx"]);
    }

    #[test]
    fn a_renamed_column_is_renamed_in_check_expressions() {
        let (schema, _) = replay_text("CREATE TABLE t (state text CHECK (state IN ('a', 'b')));\nALTER TABLE t RENAME COLUMN state TO status;");
        let t = schema.table(None, "t").expect("table t");
        let Some(ConstraintKind::Check { expression, .. }) = t.constraints.first().map(|k| &k.kind) else { panic!("no check") };
        assert!(expression.contains("status") && !expression.contains("state"), "{expression}");
    }

    #[test]
    fn dropping_a_column_drops_the_indexes_its_expressions_or_predicates_read() {
        let (schema, _) = replay_text(
            "CREATE TABLE t (a int, email text, b int);\n\
             CREATE INDEX by_email ON t (lower(email));\n\
             CREATE INDEX by_b ON t (b) WHERE email IS NOT NULL;\n\
             CREATE INDEX by_a ON t (a);\n\
             ALTER TABLE t RENAME COLUMN email TO mail;\n\
             ALTER TABLE t DROP COLUMN mail;",
        );
        let names: Vec<&str> = schema.indexes.keys().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["by_a"]);
    }

    #[test]
    fn unnamed_constraints_get_postgres_names() {
        let (schema, _) = replay_text(
            "CREATE TABLE p (id int PRIMARY KEY, code text UNIQUE);\n\
             CREATE TABLE c (p_id int REFERENCES p, n int CHECK (n > 0) CHECK (n < 9), CHECK (n > p_id));",
        );
        let names = |t: &str| schema.table(None, t).map(|t| t.constraints.iter().map(|k| k.name.clone()).collect::<Vec<_>>()).unwrap_or_default();
        assert_eq!(names("p"), ["p_pkey", "p_code_key"]);
        assert_eq!(names("c"), ["c_n_check", "c_n_check1", "c_check", "c_p_id_fkey"]);
    }

    #[test]
    fn renames_follow_through_constraints() {
        let (schema, _) = replay_text(
            "CREATE TABLE t (s text CHECK (s IN ('a', 'b')));\nALTER TABLE t RENAME COLUMN s TO state;\nALTER TABLE t RENAME TO u;",
        );
        let u = schema.table(None, "u").expect("renamed table");
        let ConstraintKind::Check { predicate, .. } = &u.constraints[0].kind else { panic!("check") };
        assert_eq!(u.constraints[0].name, "t_s_check");
        assert_eq!(predicate.allowed_values("state").map(|v| v.len()), Some(2));
    }

    #[test]
    fn long_identifiers_are_truncated_like_the_server() {
        let long = "x".repeat(70);
        let (schema, _) = replay_text(&format!("CREATE TABLE {long} (id int);"));
        assert_eq!(schema.tables.keys().next().map(|k| k.name.len()), Some(63));
    }
}
