//! Semantics on small inline projects.

use dbveto_source::SourceFile;
use dbveto_writes::Literal;

use crate::SqlAlchemy;

fn analyze(files: &[(&str, &str)]) -> SqlAlchemy {
    let files: Vec<SourceFile> = files.iter().map(|(p, t)| SourceFile::new(p.to_string(), t.to_string())).collect();
    let project = dbveto_python_semantic::ParsedProject::parse(&files);
    let index = project.index();
    crate::analyze(&index)
}

const MODELS: &str = r#"
from typing import Optional
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

class Base(DeclarativeBase):
    pass

class Parent(Base):
    __tablename__ = "parent"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    note: Mapped[Optional[str]]
    other: Mapped[str | None] = mapped_column(String(10), nullable=False)

class Child(Base):
    __tablename__ = "child"
    id = Column(Integer, primary_key=True)
    parent_id = Column(ForeignKey("parent.id"), nullable=False)
    label = Column(String(20), default="x")
"#;

#[test]
fn nullability_follows_annotation_unless_nullable_is_given() {
    let s = analyze(&[("app/models.py", MODELS)]);
    let schema = s.model_schema.expect("schema");
    let parent = schema.table(None, "parent").expect("parent");
    let not_null = |c: &str| parent.column(c).map(|c| c.not_null);
    assert_eq!((not_null("id"), not_null("name"), not_null("note"), not_null("other")), (Some(true), Some(true), Some(false), Some(true)));
    // A foreign key without a type takes its target's, never SERIAL.
    let child = schema.table(None, "child").expect("child");
    assert_eq!(child.column("parent_id").map(|c| c.data_type.name.as_str()), Some("integer"));
    assert!(child.column("parent_id").is_some_and(|c| c.default.is_none()));
}

#[test]
fn unset_attributes_get_the_python_default_else_null() {
    let code = "from app.models import Child\n\ndef f(db):\n    db.add(Child(parent_id=1))\n";
    let s = analyze(&[("app/models.py", MODELS), ("app/svc.py", code)]);
    let write = s.writes.iter().find(|w| w.table.name == "child").expect("write");
    let columns = write.columns.clone().unwrap_or_default();
    let label = columns.iter().position(|c| c == "label").expect("label sent");
    assert_eq!(write.values[label].known[0].literal, Literal::Str("x".into()));
    assert_eq!(write.model.as_deref(), Some("Child"));
}

#[test]
fn none_for_a_column_with_a_default_is_dropped() {
    let code = "from app.models import Parent\n\ndef f(db):\n    db.add(Parent(name=None))\n";
    let s = analyze(&[("app/models.py", MODELS), ("app/svc.py", code)]);
    let write = s.writes.iter().find(|w| w.table.name == "parent").expect("write");
    let columns = write.columns.clone().unwrap_or_default();
    let name = columns.iter().position(|c| c == "name").expect("name");
    // No default: the None is sent.
    assert_eq!(write.values[name].known[0].literal, Literal::Null);
}

const FLOW: &str = r#"
from app.models import Child, Parent

def helper(session, pid):
    session.add(Child(parent_id=pid))
    session.commit()

def wrong(db):
    helper(db, 1)
    db.add(Parent(id=1, name="p"))
    db.commit()

def right(db):
    db.add(Parent(id=1, name="p"))
    db.flush()
    helper(db, 1)

def parent_may_exist(db):
    helper(db, 1)
"#;

#[test]
fn child_flushed_in_a_helper_before_the_parent_is_added() {
    let s = analyze(&[("app/models.py", MODELS), ("app/flow.py", FLOW)]);
    let orders = &s.facts.insert_orders;
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!((orders[0].child_table.as_str(), orders[0].parent_table.as_str(), orders[0].column.as_str()), ("child", "parent", "parent_id"));
    assert_eq!(orders[0].child_at.line, 5);
    assert_eq!(orders[0].constraint.as_deref(), Some("child_parent_id_fkey"));
}

#[test]
fn a_relationship_orders_one_flush() {
    let related = MODELS.replace("    label = Column(String(20), default=\"x\")", "    label = Column(String(20), default=\"x\")\n    parent = relationship(Parent)");
    let code = "from app.models import Child, Parent\n\ndef f(db):\n    db.add(Parent(id=1, name='p'))\n    db.add(Child(parent_id=1))\n    db.commit()\n";
    // `app.models.Child` sorts before `app.models.Parent`: wrong without the relationship.
    let s = analyze(&[("app/models.py", MODELS), ("app/f.py", code)]);
    assert_eq!(s.facts.insert_orders.len(), 1);
    assert!(s.facts.insert_orders[0].flushed_at.is_none());
    let s = analyze(&[("app/models.py", &related), ("app/f.py", code)]);
    assert!(s.facts.insert_orders.is_empty());
}

const HANDLERS: &str = r#"
import logging
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from app.models import Child

def swallow_in_loop(db: Session, ids):
    for i in ids:
        try:
            db.add(Child(parent_id=i))
            db.commit()
        except Exception:
            logging.error("x")

def rolls_back(db: Session, ids):
    for i in ids:
        try:
            db.add(Child(parent_id=i))
            db.commit()
        except Exception:
            db.rollback()

def reraises(db: Session, ids):
    for i in ids:
        try:
            db.add(Child(parent_id=i))
            db.commit()
        except Exception:
            raise

def not_a_session(seen, x):
    try:
        seen.add(x)
    except Exception:
        pass
    seen.add(x)

def reads_only(db: Session):
    try:
        rows = db.query(Child).all()
    except Exception:
        logging.error("x")
    return db.query(Child).count()

def read_autoflushes(db: Session, i):
    db.add(Child(parent_id=i))
    try:
        db.query(Child).all()
    except Exception:
        logging.error("x")
    db.commit()

def read_expected_to_fail(db: Session):
    try:
        db.query(Child).all()
    except SQLAlchemyError:
        logging.error("x")
    db.query(Child).count()

class DatabaseError(Exception):
    pass

def read_under_own_error(db: Session):
    try:
        db.query(Child).all()
    except (DatabaseError, Exception):
        logging.error("x")
    db.query(Child).count()
"#;

#[test]
fn swallowed_errors_need_a_later_use_and_no_rollback() {
    let s = analyze(&[("app/models.py", MODELS), ("app/h.py", HANDLERS)]);
    let lines: Vec<u32> = s.facts.swallowed_errors.iter().map(|e| e.handler.line).collect();
    // A read counts when it autoflushes an object added before it, or when
    // the handler expects one of SQLAlchemy's errors by name (the
    // repository's own `DatabaseError` is not one).
    assert_eq!(lines, [12, 49, 56]);
    assert_eq!(s.facts.swallowed_errors[0].session, "db");
}

#[test]
fn alembic_revisions_follow_down_revision_not_file_names() {
    let first = "revision = 'b1'\ndown_revision = None\nfrom alembic import op\nimport sqlalchemy as sa\ndef upgrade():\n    op.create_table('t', sa.Column('id', sa.Integer(), primary_key=True))\n";
    let second = "revision = 'a2'\ndown_revision = 'b1'\nfrom alembic import op\nimport sqlalchemy as sa\ndef upgrade():\n    op.add_column('t', sa.Column('x', sa.String(5), nullable=False, server_default='y'))\n";
    let s = analyze(&[("db/versions/zz_first.py", first), ("db/versions/aa_second.py", second)]);
    let applied = s.alembic.expect("alembic");
    assert_eq!(applied.dir, "db");
    let t = applied.schema.table(None, "t").expect("t");
    assert_eq!(t.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["id", "x"]);
    assert!(t.column("x").is_some_and(|c| c.not_null && c.default.is_some()));
}

const CONVENTION_MODELS: &str = r#"
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(table_name)s__%(column_0_N_name)s",
        "uq": "uq_%(table_name)s__%(column_0_N_name)s",
        "ck": "ck_%(table_name)s__%(constraint_name)s",
        "fk": "fk_%(table_name)s__%(column_0_name)s__%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })
"#;

const CONVENTION_REVISION: &str = r#"
revision = "r1"
down_revision = None
from alembic import op
import sqlalchemy as sa

def upgrade():
    op.create_table(
        "parent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(5), unique=True),
        sa.CheckConstraint("code <> ''", name="code_set"),
        sa.CheckConstraint("id > 0", name=op.f("ck_parent_id_positive")),
    )
    op.create_table(
        "child",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("parent.id")),
        sa.Column("state_id", sa.Integer()),
        sa.ForeignKeyConstraint(["state_id"], ["parent.id"], name=op.f("fk_child_state"), use_alter=True),
    )
    op.create_index(None, "child", ["parent_id"])
    op.create_index("child_state_desc", "child", ["parent_id", sa.text("state_id DESC")], unique=True, postgresql_where=sa.text("state_id > 0"))
    op.create_unique_constraint(None, "child", ["state_id"])
    op.drop_constraint("code_set", "parent", type_="check")
    op.drop_constraint("uq_parent__code", "parent", type_="unique")
    op.create_index("child_lower", "child", [sa.func.lower("x")])
"#;

fn constraint_names(schema: &dbveto_schema::Schema, table: &str) -> Vec<String> {
    let mut names: Vec<String> = schema.table(None, table).map(|t| t.constraints.iter().map(|c| c.name.clone()).collect()).unwrap_or_default();
    names.sort();
    names
}

#[test]
fn alembic_names_unnamed_constraints_with_the_target_metadata_convention() {
    let env = "from alembic import context\nfrom app.models import Base\ntarget_metadata = Base.metadata\ncontext.configure(target_metadata=target_metadata)\n";
    let s = analyze(&[("app/models.py", CONVENTION_MODELS), ("db/env.py", env), ("db/versions/r1.py", CONVENTION_REVISION)]);
    let applied = s.alembic.expect("alembic");
    // `code_set` becomes `ck_parent__code_set`, dropped by its short name as Alembic does; `op.f()` names stay.
    assert_eq!(constraint_names(&applied.schema, "parent"), ["ck_parent_id_positive", "pk_parent"]);
    // The `use_alter` key is left out of `CREATE TABLE`.
    assert_eq!(constraint_names(&applied.schema, "child"), ["fk_child__parent_id__parent", "pk_child", "uq_child__state_id"]);
    let indexes: Vec<&str> = applied.schema.indexes.values().filter(|i| !i.constraint).map(|i| i.name.name.as_str()).collect();
    assert_eq!(indexes, ["child_state_desc", "ix_child__parent_id"]);
    let warnings: Vec<&str> = s.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(warnings, ["Alembic `op.create_index` could not be read statically; the schema may differ from what it builds"]);
}

#[test]
fn without_env_py_alembic_uses_sqlalchemy_default_names() {
    let s = analyze(&[("app/models.py", CONVENTION_MODELS), ("db/versions/r1.py", CONVENTION_REVISION)]);
    let applied = s.alembic.expect("alembic");
    let names = constraint_names(&applied.schema, "child");
    assert_eq!(names, ["child_parent_id_fkey", "child_pkey", "child_state_id_key"]);
    assert!(applied.schema.indexes.keys().any(|k| k.name == "ix_child_parent_id"));
}

#[test]
fn target_metadata_through_a_function_and_a_property() {
    let db = "from app import models\nclass Database:\n    @property\n    def Base(self) -> type[models.Base]:\n        \"\"\"The base.\"\"\"\n        return models.Base\ndef get_database() -> \"Database\":\n    return Database()\n";
    let env = "from alembic import context\nfrom app.db import get_database\ndef run():\n    database = get_database()\n    context.configure(target_metadata=database.Base.metadata)\n";
    let files = [("app/__init__.py", ""), ("app/models.py", CONVENTION_MODELS), ("app/db.py", db), ("db/env.py", env), ("db/versions/r1.py", CONVENTION_REVISION)];
    let s = analyze(&files);
    let applied = s.alembic.expect("alembic");
    assert!(constraint_names(&applied.schema, "child").contains(&"pk_child".to_string()));
    assert!(!s.diagnostics.iter().any(|d| d.message.contains("target_metadata")));
}

#[test]
fn unresolved_target_metadata_is_a_warning() {
    let env = "from alembic import context\ndef run(metadata):\n    context.configure(target_metadata=metadata)\n";
    let s = analyze(&[("app/models.py", CONVENTION_MODELS), ("db/env.py", env), ("db/versions/r1.py", CONVENTION_REVISION)]);
    let applied = s.alembic.expect("alembic");
    assert!(constraint_names(&applied.schema, "child").contains(&"child_pkey".to_string()));
    let warning = s.diagnostics.iter().find(|d| d.message.contains("target_metadata")).expect("warning");
    assert_eq!((warning.location.path.as_ref(), warning.location.line), ("db/env.py", 3));
}

/// Handlers on real code: what they catch, which session they leave
/// broken, and whether it is used again.
const REAL_HANDLERS: &str = r#"
import logging
import requests
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from app.models import Child
from app.db import db

SessionLocal = sessionmaker()

class AppError(Exception):
    pass

def save_one(i):
    with SessionLocal() as s:
        s.add(Child(parent_id=i))
        s.commit()

def fresh_session_per_call(ids):
    for i in ids:
        try:
            save_one(i)
        except Exception:
            logging.error("x")

def savepoint_block(db_: Session, ids):
    for i in ids:
        try:
            with db_.begin_nested():
                db_.add(Child(parent_id=i))
                db_.flush()
        except IntegrityError:
            pass
    db_.commit()

def savepoint_variable(db_: Session, i):
    sp = db_.begin_nested()
    try:
        db_.add(Child(parent_id=i))
        db_.flush()
    except IntegrityError:
        sp.rollback()
    db_.commit()

def application_error(db_: Session, i):
    try:
        db_.add(Child(parent_id=i))
        db_.commit()
    except (KeyError, AppError, requests.RequestException):
        pass
    db_.commit()

def reraised_before_catch_all(db_: Session, i):
    try:
        db_.add(Child(parent_id=i))
        db_.commit()
    except DBAPIError:
        raise
    except Exception:
        pass
    db_.commit()

def data_frame(df):
    try:
        df.query("a > 1")
        df.flush()
    except Exception:
        pass
    df.query("b > 1")

def transaction_block(db_: Session, i):
    try:
        with db_.begin():
            db_.add(Child(parent_id=i))
    except Exception:
        pass
    db_.query(Child).all()

def nothing_sent(db_: Session, i):
    try:
        db_.add(Child(parent_id=i))
    except Exception:
        pass
    db_.commit()

def http_session(url):
    s = requests.Session()
    try:
        s.get(url)
    except Exception:
        pass
    s.get(url)

def raises_on_every_path(db_: Session, i, strict):
    try:
        db_.add(Child(parent_id=i))
        db_.commit()
    except Exception:
        if strict:
            raise
        else:
            raise AppError()
    db_.commit()

def add_to_global():
    db.session.add(Child(parent_id=1))
    db.session.commit()

def global_session():
    try:
        add_to_global()
    except Exception:
        logging.error("x")
    db.session.query(Child).all()

def query_in_handler(db_: Session):
    try:
        db_.commit()
    except SQLAlchemyError:
        logging.error("count %s", db_.query(Child).count())

def raises_on_one_path(db_: Session, i, strict):
    try:
        db_.add(Child(parent_id=i))
        db_.commit()
    except Exception:
        if strict:
            raise
        logging.error("x")
    db_.commit()

def specific_error(db_: Session, i):
    try:
        db_.add(Child(parent_id=i))
        db_.commit()
    except IntegrityError:
        pass
    db_.commit()
"#;

const FLASK_DB: &str = "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n";

/// The function a line of `code` is in.
fn function_at(code: &str, line: u32) -> String {
    code.lines().take(line as usize).filter_map(|l| l.strip_prefix("def ")).last().and_then(|l| l.split('(').next()).unwrap_or_default().to_string()
}

#[test]
fn handlers_on_real_code_swallow_only_what_they_catch_on_paths_that_go_on() {
    let s = analyze(&[("app/models.py", MODELS), ("app/db.py", FLASK_DB), ("app/h.py", REAL_HANDLERS)]);
    let mut found: Vec<(String, String)> = s.facts.swallowed_errors.iter().map(|e| (function_at(REAL_HANDLERS, e.handler.line), e.session.clone())).collect();
    found.sort();
    let expected = [("global_session", "db.session"), ("query_in_handler", "db_"), ("raises_on_one_path", "db_"), ("specific_error", "db_")];
    assert_eq!(found, expected.map(|(f, s)| (f.to_string(), s.to_string())));
    // The query in the handler itself is the reuse.
    let in_handler = s.facts.swallowed_errors.iter().find(|e| function_at(REAL_HANDLERS, e.handler.line) == "query_in_handler").expect("found");
    assert_eq!(in_handler.reused.line, in_handler.handler.line + 1);
}

/// Active record (cookiecutter-flask's `CRUDMixin`) and nested helpers:
/// the session work is reached through the MRO, `cls(...)` and closures.
const ACTIVE_RECORD: &str = r#"
import logging
from app.db import db
from sqlalchemy.orm import Session

class CRUDMixin:
    @classmethod
    def create(cls, **kwargs):
        return cls(**kwargs).save()

    def save(self, commit=True):
        db.session.add(self)
        if commit:
            db.session.commit()
        return self

class Account(CRUDMixin, db.Model):
    __tablename__ = "account"
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(80), nullable=False)

def import_accounts(emails):
    for email in emails:
        try:
            Account.create(email=email)
        except Exception:
            logging.error("skipped %s", email)
    return db.session.query(Account).count()

def nested(session: Session, ids):
    def save_one(i):
        session.add(Account(email=str(i)))
        session.commit()
    for i in ids:
        try:
            save_one(i)
        except Exception:
            logging.error("x")
"#;

#[test]
fn session_work_is_reached_through_mixins_and_nested_functions() {
    let s = analyze(&[("app/db.py", FLASK_DB), ("app/accounts.py", ACTIVE_RECORD)]);
    let mut found: Vec<(String, String)> = s.facts.swallowed_errors.iter().map(|e| (function_at(ACTIVE_RECORD, e.handler.line), e.session.clone())).collect();
    found.sort();
    found.dedup();
    assert_eq!(found, [("import_accounts".to_string(), "db.session".to_string()), ("nested".to_string(), "session".to_string())]);
}

/// Revisions as large projects write them: dialect branches, loops over
/// constants, helpers that return a column or forward to an operation,
/// idempotent `try` blocks and data loops; a legacy chain in a subfolder.
#[test]
fn alembic_revisions_of_real_projects_are_followed() {
    let env = "from alembic import context\n";
    let helpers = "from alembic import op\n\ndef create_table(table_name, *columns, **kw):\n    if op.get_bind() is None:\n        return\n    op.create_table(table_name, *columns, **kw)\n";
    let first = r#"
revision = "r1"
down_revision = None
from alembic import op
import sqlalchemy as sa
from migrations.shared import create_table

def upgrade():
    create_table("a", sa.Column("id", sa.Integer(), primary_key=True))
    create_table("b", sa.Column("id", sa.Integer(), primary_key=True))
"#;
    let second = r#"
revision = "r2"
down_revision = "r1"
from alembic import op
import sqlalchemy as sa

def _workspace():
    return sa.Column("workspace", sa.String(63), nullable=False, server_default="default")

def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("a") as batch_op:
            batch_op.add_column(sa.Column("lite", sa.Integer()))
        return
    for table in ["a", "b"]:
        op.add_column(table, _workspace())
    try:
        op.add_column("a", sa.Column("workspace", sa.String(63)))
    except Exception:
        pass
    for row in bind.execute(sa.text("SELECT id FROM a")):
        bind.execute(sa.text("UPDATE a SET workspace = 'x'"))
"#;
    let legacy = "revision = 'old1'\ndown_revision = None\nfrom alembic import op\nimport sqlalchemy as sa\ndef upgrade():\n    op.create_table('legacy', sa.Column('id', sa.Integer(), primary_key=True))\n";
    let files = [
        ("migrations/env.py", env),
        ("migrations/shared.py", helpers),
        ("migrations/versions/r1.py", first),
        ("migrations/versions/r2.py", second),
        ("migrations/versions/legacy/old1.py", legacy),
        ("migrations/versions/legacy/old2.py", &legacy.replace("old1", "old2").replace("None", "'old1'").replace("legacy'", "legacy2'")),
        ("migrations/versions/legacy/old3.py", &legacy.replace("old1", "old3").replace("None", "'old2'").replace("legacy'", "legacy3'")),
    ];
    let s = analyze(&files);
    let applied = s.alembic.expect("alembic");
    assert_eq!(applied.revisions.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["r1", "r2"], "the chain directly in versions/");
    for table in ["a", "b"] {
        let t = applied.schema.table(None, table).unwrap_or_else(|| panic!("{table}"));
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "workspace"], "{table}: PostgreSQL's branch, once per element, the helper's column");
    }
    let warnings: Vec<&str> = s.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert!(warnings.iter().all(|w| !w.contains("control flow") && !w.contains("already exists")), "{warnings:?}");
}

#[test]
fn helpers_in_test_folders_and_generated_code_are_not_the_applications_writes() {
    let helper = "from app.models import Child\n\ndef make(db):\n    db.add(Child())\n";
    let generated = format!("# Generated from Query.g4 by ANTLR 4.13\n{helper}");
    let s = analyze(&[("app/models.py", MODELS), ("app/tests/factories.py", helper), ("app/parser/QueryParser.py", &generated), ("app/svc.py", helper)]);
    let paths: Vec<&str> = s.writes.iter().map(|w| w.location.path.as_ref()).collect();
    assert_eq!(paths, ["app/svc.py"]);
}

#[test]
fn a_long_name_of_a_model_names_the_revision_that_creates_it_too() {
    let long = "orders_customer_and_reference_must_be_unique_in_every_sales_channel";
    let models = format!("from sqlalchemy import UniqueConstraint\nfrom sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\nclass Base(DeclarativeBase):\n    pass\n\nclass Order(Base):\n    __tablename__ = 'orders'\n    __table_args__ = (UniqueConstraint('customer', 'reference', name='{long}'),)\n    id: Mapped[int] = mapped_column(primary_key=True)\n    customer: Mapped[int]\n    reference: Mapped[str]\n");
    let revision = format!("revision = 'r1'\ndown_revision = None\nfrom alembic import op\nimport sqlalchemy as sa\ndef upgrade():\n    op.create_table('orders', sa.Column('id', sa.Integer(), primary_key=True), sa.Column('customer', sa.Integer()), sa.Column('reference', sa.String()))\n    op.create_unique_constraint('{long}', 'orders', ['customer', 'reference'])\n    op.create_index(op.f('ix_orders_reference_for_the_sales_channel_reports_and_the_nightly_export'), 'orders', ['reference'])\n");
    let s = analyze(&[("app/models.py", &models), ("db/versions/r1.py", &revision)]);
    let names: Vec<(&str, u32, Vec<u32>)> =
        s.facts.names.iter().map(|n| (n.name.as_str(), n.location.line, n.related.iter().map(|r| r.location.line).collect())).collect();
    assert_eq!(names, [(long, 9, vec![7])]);
}
