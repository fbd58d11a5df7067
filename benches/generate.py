#!/usr/bin/env python3
"""Generate a synthetic monorepo for benchmarking dbveto.

The tree looks like a company monorepo of a dozen services. Each service has
PostgreSQL migrations in one of three layouts (golang-migrate, goose,
Flyway) and application code in Go or Python that writes to the tables those
migrations create. The schema evolves over the migrations (columns added,
NOT NULL set, CHECK constraints added, dropped and widened, enum labels
added) and the code is generated against the final schema, so every write is
valid except a few deliberate violations, which are listed in
`.bench/expected.json` at the root of the tree.

Usage:
    python3 generate.py OUT_DIR [--scale 1.0] [--seed 1] [--force]

Scale 1.0 makes about 40 MB: ~3,000 migrations, ~3,500 Go files and ~3,500
Python files. The output depends only on the scale, the seed and this file
(Python's `random.Random` is stable across CPython versions for the calls
used here: random(), randrange(), choice(), sample(), shuffle()).

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from dataclasses import dataclass, field

GENERATOR_VERSION = 1

# At scale 1.0.
BASE_MIGRATIONS = 3000
BASE_GO_FILES = 3500
BASE_PY_FILES = 3500
BASE_VIOLATIONS = 12

# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------

# (name, migration layout, primary language, PostgreSQL schema or None)
SERVICES = [
    ("billing", "golang-migrate", "go", None),
    ("catalog", "goose", "go", None),
    ("inventory", "golang-migrate", "go", None),
    ("accounts", "flyway", "python", None),
    ("shipping", "goose", "go", None),
    ("notifications", "golang-migrate", "go", None),
    ("analytics", "flyway", "python", "reporting"),
    ("payments", "goose", "go", None),
    ("reviews", "flyway", "python", None),
    ("search", "golang-migrate", "go", None),
    ("support", "goose", "go", None),
    ("identity", "golang-migrate", "go", "auth"),
]

NOUNS = """
account address adjustment alert allocation answer api_key approval article asset attachment
audit badge balance basket batch bid bill booking branch budget bundle campaign card carrier
cart category channel charge checkout claim client comment contract coupon course credit
customer dashboard deal delivery deposit device discount dispute document domain draft
employee entry estimate event export feature fee feedback file filter fulfillment gift goal
grant group import incident invoice issue item job journal label lead ledger license limit
listing location lot mandate manifest meeting membership merchant message metric milestone
note offer order organization package page parcel partner payment payout permission plan
policy portfolio post price product profile project promotion purchase quote rate receipt
recipient refund region reminder report request reservation return review reward role route
rule schedule seat segment session setting shipment site sku slot snapshot source
statement station subscription supplier survey tag task team template tenant ticket token
topic transaction transfer trip upload user vendor visit voucher wallet warehouse webhook
workflow zone
""".split()

TABLE_SUFFIXES = [
    "", "events", "items", "history", "snapshots", "links", "settings", "audits", "revisions",
    "notes", "attempts", "lines", "tags", "stats", "queue", "archive", "log", "members",
    "limits", "rules", "versions", "exports", "imports", "holds", "transitions",
]

CHECK_POOLS = {
    "status": ["pending", "active", "suspended", "closed", "archived", "failed", "queued",
               "running", "done", "cancelled", "draft", "published", "rejected", "approved"],
    "state": ["new", "open", "in_progress", "blocked", "resolved", "reopened", "expired",
              "settled", "held", "released"],
    "kind": ["standard", "express", "internal", "external", "manual", "automatic", "trial",
             "premium", "legacy", "partner"],
    "channel": ["email", "sms", "push", "webhook", "slack", "in_app", "voice"],
    "currency": ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK"],
    "region": ["us-east", "us-west", "eu-central", "eu-west", "ap-south", "ap-east", "sa-east"],
    "level": ["debug", "info", "notice", "warn", "error", "critical"],
    "source": ["web", "ios", "android", "api", "import", "backfill", "partner_feed"],
    "role": ["owner", "admin", "member", "viewer", "billing", "auditor", "support"],
    "visibility": ["public", "private", "unlisted", "internal"],
}

# Words for literals that belong to no CHECK set.
FREE_WORDS = """
alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar
papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu amber cobalt crimson
ember flint granite harbor indigo jasper lumen meadow nimbus onyx quartz ridge summit timber
""".split()

# (column name, kind). Kinds map to SQL types in sql_type().
COLUMN_POOL = [
    ("name", "text"), ("title", "text"), ("description", "text"), ("email", "text"),
    ("phone", "text"), ("note", "text"), ("external_ref", "text"), ("slug", "text"),
    ("url", "text"), ("sku", "text"), ("label", "text"), ("color", "text"), ("reason", "text"),
    ("locale", "text"), ("display_name", "text"), ("summary", "text"), ("code", "text"),
    ("amount_cents", "bigint"), ("quantity", "int"), ("attempts", "int"), ("position", "int"),
    ("version", "int"), ("weight_grams", "int"), ("score", "numeric"), ("price", "numeric"),
    ("ratio", "float"), ("rating", "smallint"), ("priority", "smallint"), ("seats", "int"),
    ("is_active", "bool"), ("is_archived", "bool"), ("verified", "bool"), ("pinned", "bool"),
    ("updated_at", "ts"), ("deleted_at", "ts"), ("expires_at", "ts"),
    ("processed_at", "ts"), ("starts_at", "ts"), ("due_on", "date"), ("effective_on", "date"),
    ("token", "uuid"), ("request_id", "uuid"), ("payload", "json"), ("metadata", "json"),
    ("settings", "json"), ("checksum", "bytes"), ("ip_address", "inet"), ("tags", "textarr"),
    ("retry_after", "interval"),
]

VERBS = """
build parse merge apply resolve render collect normalize compute load flush sync prepare
validate format split join filter sort dedupe index group count sum scan match encode decode
compare clamp retry schedule expire refresh rebuild trim pad mask hash sign verify
""".split()

ADJECTIVES = """
pending stale active recent default primary cached local remote partial raw clean final
""".split()

INITIALISMS = {"id": "ID", "url": "URL", "ip": "IP", "sku": "SKU", "api": "API", "uuid": "UUID"}

# ---------------------------------------------------------------------------
# Schema model
# ---------------------------------------------------------------------------


@dataclass
class Enum:
    qname: str
    labels: list[str]


@dataclass
class Col:
    name: str
    kind: str
    sql: str
    not_null: bool = False
    default: str | None = None
    identity: bool = False          # filled by the database: identity, serial, generated
    pk: bool = False
    check_in: list[str] | None = None    # live `col IN (...)` set
    check_name: str | None = None
    dropped_check: list[str] | None = None  # a set that was enforced once, then dropped
    int_lo: int | None = None
    int_hi: int | None = None
    enum: Enum | None = None
    fk: bool = False
    length: int | None = None

    def required(self) -> bool:
        return self.not_null and self.default is None and not self.identity

    def writable(self) -> bool:
        return not self.identity


@dataclass
class Table:
    schema: str | None
    name: str
    cols: list[Col] = field(default_factory=list)

    @property
    def qname(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def col(self, name: str) -> Col | None:
        for c in self.cols:
            if c.name == name:
                return c
        return None

    def pk(self) -> Col:
        return self.cols[0]


class Names:
    """Globally unique names (tables, types, constraints, indexes)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def take(self, base: str) -> str:
        base = base[:55]
        name = base
        n = 2
        while name in self.used:
            name = f"{base}_{n}"
            n += 1
        self.used.add(name)
        return name


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def camel(snake: str) -> str:
    return "".join(INITIALISMS.get(p, p[:1].upper() + p[1:]) for p in snake.split("_") if p)


def lower_camel(snake: str) -> str:
    c = camel(snake)
    for ini in INITIALISMS.values():
        if c.startswith(ini):
            return ini.lower() + c[len(ini):]
    return c[:1].lower() + c[1:]


def singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("sses") or word.endswith("ches") or word.endswith("xes"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def sql_quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def py_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------
# Migrations
# ---------------------------------------------------------------------------


@dataclass
class Migration:
    slug: str
    up: list[str]
    down: list[str]


class SchemaGen:
    """Evolves one service's schema, producing migrations."""

    def __init__(self, rng: random.Random, names: Names, service: str, pg_schema: str | None,
                 upper: bool):
        self.rng = rng
        self.names = names
        self.service = service
        self.pg_schema = pg_schema
        self.tables: list[Table] = []
        self.enums: list[Enum] = []
        self.upper = upper  # keyword case of this service's migrations
        self.trigger_done = False

    # -- small pieces -------------------------------------------------------

    def kw(self, s: str) -> str:
        return s if self.upper else s.lower()

    def q(self, name: str) -> str:
        return f"{self.pg_schema}.{name}" if self.pg_schema else name

    def new_table_name(self) -> str:
        rng = self.rng
        for _ in range(50):
            noun = rng.choice(NOUNS)
            suffix = rng.choice(TABLE_SUFFIXES)
            base = plural(noun) if not suffix else f"{noun}_{suffix}"
            if base not in self.names.used:
                return self.names.take(base)
        return self.names.take(f"{rng.choice(NOUNS)}_{rng.choice(TABLE_SUFFIXES) or 'data'}")

    def sql_type(self, kind: str) -> tuple[str, int | None]:
        rng = self.rng
        if kind == "text":
            if rng.random() < 0.4:
                n = rng.choice([64, 128, 255, 512])
                return self.kw(f"VARCHAR({n})") if rng.random() < 0.5 else f"character varying({n})", n
            return self.kw("TEXT"), None
        return {
            "bigint": self.kw("BIGINT"),
            "int": rng.choice([self.kw("INTEGER"), self.kw("INT"), "int4"]),
            "smallint": self.kw("SMALLINT"),
            "numeric": self.kw(rng.choice(["NUMERIC(12, 2)", "NUMERIC(10,4)", "DECIMAL(14, 2)"])),
            "float": self.kw(rng.choice(["DOUBLE PRECISION", "REAL"])),
            "bool": self.kw(rng.choice(["BOOLEAN", "BOOL"])),
            "ts": self.kw(rng.choice(["TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP"])),
            "date": self.kw("DATE"),
            "uuid": self.kw("UUID"),
            "json": self.kw(rng.choice(["JSONB", "JSONB", "JSON"])),
            "bytes": self.kw("BYTEA"),
            "inet": self.kw("INET"),
            "textarr": self.kw("TEXT[]"),
            "interval": self.kw("INTERVAL"),
        }[kind], None

    def default_for(self, col: Col) -> str | None:
        k = col.kind
        rng = self.rng
        if col.check_in:
            return sql_quote(col.check_in[0])
        if col.enum:
            return sql_quote(col.enum.labels[0])
        if col.int_lo is not None:
            return str(col.int_lo)
        return {
            "text": "''",
            "bigint": "0",
            "int": "0",
            "smallint": "0",
            "numeric": "0",
            "float": "0",
            "bool": rng.choice(["false", "true"]),
            "ts": self.kw("now()") if rng.random() < 0.7 else "CURRENT_TIMESTAMP",
            "date": "CURRENT_DATE",
            "uuid": "gen_random_uuid()",
            "json": "'{}'::jsonb",
            "bytes": None,
            "inet": None,
            "textarr": "'{}'",
            "interval": "'0 seconds'",
        }[k]

    def column_def(self, table: Table, col: Col, inline_check: bool) -> str:
        parts = [col.name, col.sql]
        if col.not_null and not col.pk:
            parts.append(self.kw("NOT NULL"))
        if col.default is not None:
            parts.append(self.kw("DEFAULT") + " " + col.default)
        if inline_check and col.check_in:
            vals = ", ".join(sql_quote(v) for v in col.check_in)
            parts.append(self.kw("CHECK") + f" ({col.name} {self.kw('IN')} ({vals}))")
        elif inline_check and col.int_lo is not None:
            parts.append(self.kw("CHECK") + f" ({self.range_expr(col)})")
        return " ".join(parts)

    def range_expr(self, col: Col) -> str:
        if col.int_hi is not None:
            return f"{col.name} {self.kw('BETWEEN')} {col.int_lo} {self.kw('AND')} {col.int_hi}"
        if col.int_lo == 0:
            return f"{col.name} >= 0"
        return f"{col.name} > {col.int_lo - 1}"

    def make_enum(self, table_name: str, col_name: str) -> tuple[Enum, str]:
        pool = CHECK_POOLS[col_name] if col_name in CHECK_POOLS else CHECK_POOLS["state"]
        labels = self.rng.sample(pool, self.rng.randint(3, min(6, len(pool))))
        name = self.names.take(f"{singular(table_name)}_{col_name}")
        e = Enum(self.q(name), labels)
        self.enums.append(e)
        vals = ", ".join(sql_quote(v) for v in labels)
        return e, f"{self.kw('CREATE TYPE')} {e.qname} {self.kw('AS ENUM')} ({vals});"

    def new_column(self, table: Table, for_create: bool) -> tuple[Col, list[str]]:
        """A fresh column for `table`; returns it and statements to run first."""
        rng = self.rng
        pre: list[str] = []
        used = {c.name for c in table.cols}
        roll = rng.random()
        if roll < 0.18:
            # A constrained text column (CHECK IN) or an enum.
            names = [n for n in CHECK_POOLS if n not in used]
            if names:
                cname = rng.choice(names)
                if rng.random() < 0.35:
                    e, stmt = self.make_enum(table.name, cname)
                    pre.append(stmt)
                    col = Col(cname, "enum", e.qname, enum=e)
                else:
                    pool = CHECK_POOLS[cname]
                    sql, length = self.sql_type("text")
                    if length is not None and length < 32:
                        length = None
                    col = Col(cname, "text", sql, length=length,
                              check_in=rng.sample(pool, rng.randint(2, min(6, len(pool)))))
                    col.check_name = f"{table.name}_{cname}_check"
                col.not_null = rng.random() < 0.7
                return col, pre
        if roll < 0.26:
            others = [t for t in self.tables if t is not table and f"{singular(t.name)}_id" not in used]
            if others:
                ref = rng.choice(others)
                cname = f"{singular(ref.name)}_id"
                pk = ref.pk()
                sql = self.kw("UUID") if pk.kind == "uuid" else self.kw("BIGINT")
                sql += " " + self.kw("REFERENCES") + f" {ref.qname} (id)"
                if rng.random() < 0.5:
                    sql += " " + self.kw(rng.choice(["ON DELETE CASCADE", "ON DELETE SET NULL", "ON DELETE RESTRICT"]))
                col = Col(cname, "uuid" if pk.kind == "uuid" else "bigint", sql, fk=True)
                col.not_null = rng.random() < 0.5 and "SET NULL" not in sql.upper()
                return col, pre
        for _ in range(20):
            cname, kind = rng.choice(COLUMN_POOL)
            if cname not in used:
                break
        else:
            cname, kind = f"extra_{len(table.cols)}", "text"
        sql, length = self.sql_type(kind)
        col = Col(cname, kind, sql, length=length)
        if kind in ("int", "smallint", "bigint") and rng.random() < 0.3:
            if kind == "smallint":
                col.int_lo, col.int_hi = 1, rng.choice([5, 10])
            else:
                col.int_lo = rng.choice([0, 0, 1])
            col.check_name = f"{table.name}_{cname}_check"
        col.not_null = rng.random() < 0.35
        if kind in ("bool",) or (kind == "ts" and cname == "updated_at"):
            col.not_null = True
        return col, pre

    def maybe_default(self, col: Col, p: float) -> None:
        if col.not_null and self.rng.random() < p:
            col.default = self.default_for(col)

    # -- operations -----------------------------------------------------------

    def op_create_table(self, first: bool = False) -> Migration:
        rng = self.rng
        kw = self.kw
        name = self.new_table_name()
        t = Table(self.pg_schema, name)
        pre: list[str] = []
        if self.pg_schema and first:
            pre.append(f"{kw('CREATE SCHEMA IF NOT EXISTS')} {self.pg_schema};")
        pk_style = rng.random()
        if pk_style < 0.35:
            pk = Col("id", "bigint", kw("BIGSERIAL PRIMARY KEY"), not_null=True, identity=True, pk=True)
        elif pk_style < 0.6:
            pk = Col("id", "bigint", kw("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
                     not_null=True, identity=True, pk=True)
        elif pk_style < 0.8:
            pk = Col("id", "uuid", kw("UUID PRIMARY KEY DEFAULT gen_random_uuid()"), not_null=True,
                     identity=True, pk=True)
        else:
            pk = Col("id", "uuid", kw("UUID PRIMARY KEY"), not_null=True, pk=True)
        t.cols.append(pk)
        # Every table has a required text column, so missing-NOT-NULL bugs are possible.
        sql, length = self.sql_type("text")
        t.cols.append(Col(rng.choice(["name", "title", "code", "email", "slug"]), "text", sql,
                          not_null=True, length=length))
        if first:
            # The first table of a service has a CHECK-constrained status and an enum.
            pool = CHECK_POOLS["status"]
            t.cols.append(Col("status", "text", kw("TEXT"), not_null=True,
                              check_in=rng.sample(pool, 5), check_name=f"{name}_status_check"))
            e, stmt = self.make_enum(name, "channel")
            pre.append(stmt)
            t.cols.append(Col("channel", "enum", e.qname, enum=e, not_null=True))
        for _ in range(rng.randint(3, 14)):
            col, p = self.new_column(t, True)
            pre.extend(p)
            self.maybe_default(col, 0.4)
            t.cols.append(col)
        t.cols.append(Col("created_at", "ts", kw(rng.choice(["TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"])),
                          not_null=True, default=kw("now()")))
        lines = []
        for c in t.cols:
            lines.append("    " + self.column_def(t, c, inline_check=True))
        uniq = [c for c in t.cols if c.name in ("email", "slug", "code", "sku", "external_ref")]
        if uniq and rng.random() < 0.6:
            u = uniq[0]
            lines.append(f"    {kw('CONSTRAINT')} {self.names.take(f'{name}_{u.name}_key')} {kw('UNIQUE')} ({u.name})")
        ine = kw("IF NOT EXISTS ") if rng.random() < 0.3 else ""
        up = pre + [f"{kw('CREATE TABLE')} {ine}{t.qname} (\n" + ",\n".join(lines) + "\n);"]
        down = [f"{kw('DROP TABLE IF EXISTS')} {t.qname};"]
        for e in [c.enum for c in t.cols if c.enum]:
            down.append(f"{kw('DROP TYPE IF EXISTS')} {e.qname};")
        for _ in range(rng.randint(0, 2)):
            up_i, down_i = self.index_stmt(t)
            up.append(up_i)
            down.insert(0, down_i)
        if self.pg_schema is None and not self.trigger_done and rng.random() < 0.2:
            self.trigger_done = True
            fn = self.names.take(f"{self.service}_touch_updated_at")
            up.append(
                f"{kw('CREATE OR REPLACE FUNCTION')} {fn}() {kw('RETURNS trigger AS')} $$\n"
                f"BEGIN\n    NEW.created_at = COALESCE(NEW.created_at, now());\n    RETURN NEW;\nEND;\n"
                f"$$ {kw('LANGUAGE')} plpgsql;")
            trg = self.names.take(f"{name}_touch")
            up.append(f"{kw('CREATE TRIGGER')} {trg} {kw('BEFORE INSERT ON')} {t.qname}\n"
                      f"    {kw('FOR EACH ROW EXECUTE FUNCTION')} {fn}();")
            down.insert(0, f"{kw('DROP FUNCTION IF EXISTS')} {fn}();")
            down.insert(0, f"{kw('DROP TRIGGER IF EXISTS')} {trg} {kw('ON')} {t.qname};")
        self.tables.append(t)
        return Migration(f"create_{name}", up, down)

    def index_stmt(self, t: Table) -> tuple[str, str]:
        rng = self.rng
        kw = self.kw
        cands = [c for c in t.cols if not c.pk and c.kind not in ("json", "bytes", "textarr")]
        cols = rng.sample(cands, min(len(cands), rng.choice([1, 1, 1, 2])))
        iname = self.names.take(f"idx_{t.name}_{'_'.join(c.name for c in cols)}")
        unique = kw("UNIQUE ") if rng.random() < 0.1 else ""
        conc = kw("CONCURRENTLY ") if rng.random() < 0.3 else ""
        where = ""
        if rng.random() < 0.15 and t.col("deleted_at"):
            where = f" {kw('WHERE')} deleted_at {kw('IS NULL')}"
        using = f" {kw('USING')} btree" if rng.random() < 0.1 else ""
        up = (f"{kw('CREATE')} {unique}{kw('INDEX')} {conc}{kw('IF NOT EXISTS ') if rng.random() < 0.3 else ''}"
              f"{iname} {kw('ON')} {t.qname}{using} ({', '.join(c.name for c in cols)}){where};")
        down = f"{kw('DROP INDEX IF EXISTS')} {self.q(iname)};"
        return up, down

    def op_add_column(self) -> Migration:
        rng = self.rng
        kw = self.kw
        t = rng.choice(self.tables)
        col, pre = self.new_column(t, False)
        if col.not_null and not col.fk:
            # Adding a NOT NULL column to a table with rows needs a default.
            col.default = self.default_for(col)
            if col.default is None:
                col.not_null = False
        inline = rng.random() < 0.5
        up = list(pre)
        up.append(f"{kw('ALTER TABLE')} {t.qname} {kw('ADD COLUMN')} {kw('IF NOT EXISTS ') if rng.random() < 0.2 else ''}"
                  f"{self.column_def(t, col, inline_check=inline)};")
        if not inline and (col.check_in or col.int_lo is not None):
            cname = self.names.take(f"chk_{t.name}_{col.name}")
            col.check_name = cname
            expr = (f"{col.name} {kw('IN')} ({', '.join(sql_quote(v) for v in col.check_in)})"
                    if col.check_in else self.range_expr(col))
            up.append(f"{kw('ALTER TABLE')} {t.qname} {kw('ADD CONSTRAINT')} {cname} {kw('CHECK')} ({expr});")
        t.cols.append(col)
        down = [f"{kw('ALTER TABLE')} {t.qname} {kw('DROP COLUMN IF EXISTS')} {col.name};"]
        if col.enum:
            down.append(f"{kw('DROP TYPE IF EXISTS')} {col.enum.qname};")
        return Migration(f"add_{col.name}_to_{t.name}", up, down)

    def op_set_not_null(self) -> Migration | None:
        rng = self.rng
        kw = self.kw
        cands = [(t, c) for t in self.tables for c in t.cols
                 if not c.not_null and not c.fk and c.kind not in ("bytes", "inet")]
        if not cands:
            return None
        t, c = rng.choice(cands)
        up = []
        fill = self.default_for(c)
        if fill is not None and rng.random() < 0.7:
            up.append(f"{kw('UPDATE')} {t.qname} {kw('SET')} {c.name} = {fill} {kw('WHERE')} {c.name} {kw('IS NULL')};")
        up.append(f"{kw('ALTER TABLE')} {t.qname} {kw('ALTER COLUMN')} {c.name} {kw('SET NOT NULL')};")
        c.not_null = True
        return Migration(f"set_{c.name}_not_null_on_{t.name}", up,
                         [f"{kw('ALTER TABLE')} {t.qname} {kw('ALTER COLUMN')} {c.name} {kw('DROP NOT NULL')};"])

    def op_default(self) -> Migration | None:
        rng = self.rng
        kw = self.kw
        cands = [(t, c) for t in self.tables for c in t.cols if not c.pk and not c.fk and c.kind != "bytes"
                 and c.kind != "inet"]
        if not cands:
            return None
        t, c = rng.choice(cands)
        if c.default is not None and rng.random() < 0.5:
            old = c.default
            c.default = None
            return Migration(f"drop_{c.name}_default_on_{t.name}",
                             [f"{kw('ALTER TABLE')} {t.qname} {kw('ALTER COLUMN')} {c.name} {kw('DROP DEFAULT')};"],
                             [f"{kw('ALTER TABLE')} {t.qname} {kw('ALTER COLUMN')} {c.name} {kw('SET DEFAULT')} {old};"])
        d = self.default_for(c)
        if d is None:
            return None
        c.default = d
        return Migration(f"set_{c.name}_default_on_{t.name}",
                         [f"{kw('ALTER TABLE')} {t.qname} {kw('ALTER COLUMN')} {c.name} {kw('SET DEFAULT')} {d};"],
                         [f"{kw('ALTER TABLE')} {t.qname} {kw('ALTER COLUMN')} {c.name} {kw('DROP DEFAULT')};"])

    def op_add_check(self) -> Migration | None:
        rng = self.rng
        kw = self.kw
        cands = [(t, c) for t in self.tables for c in t.cols
                 if c.check_name is None and not c.pk and not c.fk
                 and (c.kind in ("int", "bigint") or (c.kind == "text" and c.name in CHECK_POOLS))]
        if not cands:
            # Give a table a fresh constrainable column instead.
            t = rng.choice(self.tables)
            names = [n for n in CHECK_POOLS if not t.col(n)]
            if not names:
                return None
            cname = rng.choice(names)
            col = Col(cname, "text", kw("TEXT"))
            t.cols.append(col)
            pre = [f"{kw('ALTER TABLE')} {t.qname} {kw('ADD COLUMN')} {cname} {kw('TEXT')};"]
            cands = [(t, col)]
        else:
            pre = []
        t, c = rng.choice(cands)
        cname = self.names.take(f"chk_{t.name}_{c.name}")
        if c.kind == "text":
            pool = CHECK_POOLS[c.name]
            c.check_in = rng.sample(pool, rng.randint(2, min(6, len(pool))))
            if c.default is not None:
                # Keep the column's default inside the new set (or drop the default).
                d = c.default[1:-1] if c.default.startswith("'") and c.default.endswith("'") else None
                if d in pool:
                    if d not in c.check_in:
                        c.check_in.append(d)
                else:
                    pre.append(f"{kw('ALTER TABLE')} {t.qname} {kw('ALTER COLUMN')} {c.name} {kw('DROP DEFAULT')};")
                    c.default = None
            expr = f"{c.name} {kw('IN')} ({', '.join(sql_quote(v) for v in c.check_in)})"
            c.dropped_check = None
        else:
            c.int_lo = rng.choice([0, 1]) if c.default in (None, "1") else 0
            expr = self.range_expr(c)
        c.check_name = cname
        up = pre + []
        if rng.random() < 0.3:
            up.append(f"{kw('ALTER TABLE')} {t.qname} {kw('ADD CONSTRAINT')} {cname} {kw('CHECK')} ({expr}) {kw('NOT VALID')};")
            up.append(f"{kw('ALTER TABLE')} {t.qname} {kw('VALIDATE CONSTRAINT')} {cname};")
        else:
            up.append(f"{kw('ALTER TABLE')} {t.qname} {kw('ADD CONSTRAINT')} {cname} {kw('CHECK')} ({expr});")
        return Migration(f"add_{cname}", up,
                         [f"{kw('ALTER TABLE')} {t.qname} {kw('DROP CONSTRAINT IF EXISTS')} {cname};"])

    def op_drop_check(self) -> Migration | None:
        rng = self.rng
        kw = self.kw
        cands = [(t, c) for t in self.tables for c in t.cols if c.check_name and c.check_in]
        if not cands:
            return None
        t, c = rng.choice(cands)
        old_name, old_set = c.check_name, c.check_in
        up = [f"{kw('ALTER TABLE')} {t.qname} {kw('DROP CONSTRAINT')} {old_name};"]
        down_expr = f"{c.name} {kw('IN')} ({', '.join(sql_quote(v) for v in old_set)})"
        down = [f"{kw('ALTER TABLE')} {t.qname} {kw('ADD CONSTRAINT')} {old_name} {kw('CHECK')} ({down_expr});"]
        if rng.random() < 0.5:
            # Widen the set: drop and re-add under a new name.
            pool = [v for v in CHECK_POOLS[c.name] if v not in old_set]
            if pool:
                new_set = old_set + rng.sample(pool, min(len(pool), rng.randint(1, 2)))
                new_name = self.names.take(f"chk_{t.name}_{c.name}_v")
                expr = f"{c.name} {kw('IN')} ({', '.join(sql_quote(v) for v in new_set)})"
                up.append(f"{kw('ALTER TABLE')} {t.qname} {kw('ADD CONSTRAINT')} {new_name} {kw('CHECK')} ({expr});")
                down.insert(0, f"{kw('ALTER TABLE')} {t.qname} {kw('DROP CONSTRAINT IF EXISTS')} {new_name};")
                c.check_in, c.check_name = new_set, new_name
                return Migration(f"widen_{c.name}_on_{t.name}", up, down)
        c.check_in, c.check_name, c.dropped_check = None, None, old_set
        return Migration(f"drop_{old_name}", up, down)

    def op_add_unique(self) -> Migration | None:
        kw = self.kw
        cands = [(t, c) for t in self.tables for c in t.cols
                 if c.kind in ("text", "uuid") and not c.pk and c.check_in is None]
        if not cands:
            return None
        t, c = self.rng.choice(cands)
        cname = self.names.take(f"{t.name}_{c.name}_key")
        return Migration(f"add_{cname}",
                         [f"{kw('ALTER TABLE')} {t.qname} {kw('ADD CONSTRAINT')} {cname} {kw('UNIQUE')} ({c.name});"],
                         [f"{kw('ALTER TABLE')} {t.qname} {kw('DROP CONSTRAINT IF EXISTS')} {cname};"])

    def op_add_fk(self) -> Migration | None:
        rng = self.rng
        kw = self.kw
        if len(self.tables) < 2:
            return None
        t = rng.choice(self.tables)
        ref = rng.choice([x for x in self.tables if x is not t])
        cname = f"{singular(ref.name)}_id"
        if t.col(cname):
            return None
        pk = ref.pk()
        typ = kw("UUID") if pk.kind == "uuid" else kw("BIGINT")
        col = Col(cname, "uuid" if pk.kind == "uuid" else "bigint", typ, fk=True)
        t.cols.append(col)
        fk = self.names.take(f"fk_{t.name}_{ref.name}")
        up = [f"{kw('ALTER TABLE')} {t.qname} {kw('ADD COLUMN')} {cname} {typ};",
              f"{kw('ALTER TABLE')} {t.qname} {kw('ADD CONSTRAINT')} {fk} {kw('FOREIGN KEY')} ({cname}) "
              f"{kw('REFERENCES')} {ref.qname} (id){kw(' ON DELETE CASCADE') if rng.random() < 0.4 else ''};"]
        idx = self.names.take(f"idx_{t.name}_{cname}")
        up.append(f"{kw('CREATE INDEX')} {idx} {kw('ON')} {t.qname} ({cname});")
        down = [f"{kw('DROP INDEX IF EXISTS')} {self.q(idx)};",
                f"{kw('ALTER TABLE')} {t.qname} {kw('DROP CONSTRAINT IF EXISTS')} {fk};",
                f"{kw('ALTER TABLE')} {t.qname} {kw('DROP COLUMN IF EXISTS')} {cname};"]
        return Migration(f"link_{t.name}_to_{ref.name}", up, down)

    def op_index(self) -> Migration:
        t = self.rng.choice(self.tables)
        up, down = self.index_stmt(t)
        return Migration(f"index_{t.name}", [up], [down])

    def op_enum_add(self) -> Migration | None:
        rng = self.rng
        kw = self.kw
        if not self.enums:
            return None
        e = rng.choice(self.enums)
        pool = [v for vals in CHECK_POOLS.values() for v in vals if v not in e.labels and v.isidentifier()]
        label = rng.choice(pool)
        e.labels.append(label)
        ine = kw("IF NOT EXISTS ") if rng.random() < 0.5 else ""
        return Migration(f"add_{label}_to_{e.qname.split('.')[-1]}",
                         [f"{kw('ALTER TYPE')} {e.qname} {kw('ADD VALUE')} {ine}{sql_quote(label)};"],
                         ["-- enum labels cannot be removed"])

    def op_drop_column(self) -> Migration | None:
        kw = self.kw
        cands = [(t, c) for t in self.tables for c in t.cols
                 if not c.pk and c.name != "created_at" and not c.required() and len(t.cols) > 5 and not c.enum]
        if not cands:
            return None
        t, c = self.rng.choice(cands)
        t.cols.remove(c)
        return Migration(f"drop_{c.name}_from_{t.name}",
                         [f"{kw('ALTER TABLE')} {t.qname} {kw('DROP COLUMN')} {c.name};"],
                         [f"{kw('ALTER TABLE')} {t.qname} {kw('ADD COLUMN')} {c.name} {c.sql};"])

    def next_migration(self) -> Migration:
        rng = self.rng
        if not self.tables:
            return self.op_create_table(first=True)
        ops = [
            (26, self.op_create_table), (20, self.op_add_column), (7, self.op_set_not_null),
            (10, self.op_add_check), (5, self.op_drop_check), (4, self.op_add_unique),
            (5, self.op_add_fk), (12, self.op_index), (3, self.op_enum_add), (2, self.op_drop_column),
            (4, self.op_default),
        ]
        total = sum(w for w, _ in ops)
        while True:
            r = rng.random() * total
            for w, op in ops:
                r -= w
                if r < 0:
                    break
            m = op()
            if m is not None:
                return m


def migration_header(rng: random.Random, m: Migration) -> str:
    if rng.random() < 0.6:
        return f"-- {m.slug.replace('_', ' ')}\n"
    return ""


def write_migrations(root: str, layout: str, ms: list[Migration], rng: random.Random, out: "Output") -> None:
    if layout == "golang-migrate":
        d = os.path.join(root, "db", "migrations")
        for i, m in enumerate(ms, 1):
            base = f"{i:06d}_{m.slug[:60]}"
            out.write(os.path.join(d, base + ".up.sql"),
                      migration_header(rng, m) + "\n\n".join(m.up) + "\n", "sql")
            out.write(os.path.join(d, base + ".down.sql"), "\n\n".join(m.down) + "\n", "sql")
    elif layout == "goose":
        d = os.path.join(root, "migrations")
        # yyyymmddhhmmss timestamps, strictly increasing.
        minutes = 0
        for m in ms:
            minutes += rng.randint(30, 60 * 24 * 3)
            day, rem = divmod(minutes, 24 * 60)
            year = 2021 + day // 336
            month = 1 + (day % 336) // 28
            dom = 1 + day % 28
            stamp = f"{year:04d}{month:02d}{dom:02d}{rem // 60:02d}{rem % 60:02d}{rng.randint(0, 59):02d}"
            body = migration_header(rng, m) + "-- +goose Up\n"
            up = m.up
            if any("$$" in s for s in up):
                body += "\n".join("-- +goose StatementBegin\n" + s + "\n-- +goose StatementEnd" if "$$" in s else s
                                  for s in up) + "\n"
            elif rng.random() < 0.15:
                body += "-- +goose StatementBegin\n" + "\n".join(up) + "\n-- +goose StatementEnd\n"
            else:
                body += "\n".join(up) + "\n"
            if any("CONCURRENTLY" in s.upper() for s in up):
                body = body.replace("-- +goose Up\n", "-- +goose Up\n-- +goose NO TRANSACTION\n", 1)
            body += "\n-- +goose Down\n" + "\n".join(m.down) + "\n"
            out.write(os.path.join(d, f"{stamp}_{m.slug[:60]}.sql"), body, "sql")
    elif layout == "flyway":
        d = os.path.join(root, "db", "migration")
        for i, m in enumerate(ms, 1):
            out.write(os.path.join(d, f"V{i}__{m.slug[:60]}.sql"),
                      migration_header(rng, m) + "\n\n".join(m.up) + "\n", "sql")
    else:
        raise ValueError(layout)


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


class Output:
    def __init__(self, root: str):
        self.root = root
        self.counts: dict[str, int] = {}
        self.bytes: dict[str, int] = {}
        self.made: set[str] = set()

    def write(self, rel: str, text: str, cat: str) -> None:
        path = os.path.join(self.root, rel)
        d = os.path.dirname(path)
        if d not in self.made:
            os.makedirs(d, exist_ok=True)
            self.made.add(d)
        data = text.encode("utf-8")
        with open(path, "wb") as f:
            f.write(data)
        self.counts[cat] = self.counts.get(cat, 0) + 1
        self.bytes[cat] = self.bytes.get(cat, 0) + len(data)


# ---------------------------------------------------------------------------
# Values sent to the database
# ---------------------------------------------------------------------------

# A value for one column of a write, in a language-neutral form:
#   ("lit", python_value)  a literal in the code (str, int, float, bool, None)
#   ("var", kind)          a value only known at run time
#   ("sql", text)          written into the SQL text itself
#   ("expr", kind)         a call such as time.Now() / datetime.now()


def legit_value(rng: random.Random, c: Col, allow_sql: bool = True) -> tuple:
    r = rng.random()
    if c.fk or c.pk:
        return ("var", c.kind)
    if c.check_in or c.enum:
        allowed = c.check_in if c.check_in else c.enum.labels
        if r < 0.5:
            return ("lit", rng.choice(allowed))
        if r < 0.62 and allow_sql:
            return ("sql", sql_quote(rng.choice(allowed)))
        return ("var", c.kind)
    if c.dropped_check and r < 0.4:
        # Outside the old set, which no longer applies.
        return ("lit", "legacy_" + rng.choice(FREE_WORDS))
    if not c.not_null and r < 0.06:
        return ("lit", None)
    if c.kind in ("int", "bigint", "smallint"):
        if r < 0.35:
            lo = c.int_lo if c.int_lo is not None else 0
            hi = c.int_hi if c.int_hi is not None else lo + 500
            return ("lit", rng.randint(lo, hi))
        return ("var", c.kind)
    if c.kind == "text":
        if r < 0.3:
            return ("lit", rng.choice(FREE_WORDS) + ("_" + rng.choice(FREE_WORDS) if rng.random() < 0.3 else ""))
        return ("var", c.kind)
    if c.kind in ("numeric", "float"):
        if r < 0.2:
            return ("lit", round(rng.random() * 900 + 1, 2))
        return ("var", c.kind)
    if c.kind == "bool":
        if r < 0.5:
            return ("lit", rng.random() < 0.5)
        if r < 0.6 and allow_sql:
            return ("sql", rng.choice(["true", "false", "TRUE", "FALSE"]))
        return ("var", c.kind)
    if c.kind == "ts":
        if r < 0.3 and allow_sql:
            return ("sql", rng.choice(["now()", "NOW()", "CURRENT_TIMESTAMP"]))
        if r < 0.5:
            return ("expr", "ts")
        return ("var", c.kind)
    if c.kind == "json" and r < 0.15 and allow_sql:
        return ("sql", "'{}'::jsonb")
    return ("var", c.kind)


# When set (--dump-writes), every generated INSERT is recorded here with values a
# database can run, so that a test can replay the writes against the migrated schema.
WRITE_LOG: list | None = None


def sample_sql(c: Col) -> str:
    """A valid SQL value for a column whose value the code only knows at run time."""
    if c.check_in:
        return sql_quote(c.check_in[0])
    if c.enum:
        return sql_quote(c.enum.labels[0])
    if c.int_lo is not None:
        return str(c.int_lo)
    return {
        "text": "'x'", "bigint": "1", "int": "1", "smallint": "1", "numeric": "1.5", "float": "1.5",
        "bool": "false", "ts": "now()", "date": "CURRENT_DATE", "uuid": "gen_random_uuid()",
        "json": "'{}'", "bytes": "'\\x00'::bytea", "inet": "'127.0.0.1'", "textarr": "'{}'",
        "interval": "'1 second'",
    }[c.kind]


def value_sql(c: Col, v: tuple) -> str:
    if v[0] == "lit":
        x = v[1]
        if x is None:
            return "NULL"
        if isinstance(x, bool):
            return "true" if x else "false"
        if isinstance(x, (int, float)):
            return repr(x)
        return sql_quote(x)
    if v[0] == "sql":
        return v[1]
    if v[0] == "expr":
        return "now()"
    return sample_sql(c)


def log_insert(t: Table, cols: list[Col], values: list[tuple], violation: "Violation | None") -> None:
    if WRITE_LOG is not None:
        WRITE_LOG.append({"table": t.qname, "cols": [c.name for c in cols],
                          "values": [value_sql(c, v) for c, v in zip(cols, values)],
                          "violation": violation.kind if violation else None})


def choose_insert_cols(rng: random.Random, t: Table) -> list[Col]:
    req = [c for c in t.cols if c.required()]
    opt = [c for c in t.cols if c.writable() and not c.required()]
    extra = rng.sample(opt, rng.randint(0, min(len(opt), 6)))
    chosen = set(id(c) for c in req + extra)
    return [c for c in t.cols if id(c) in chosen]


@dataclass
class Violation:
    kind: str
    lang: str
    table: str
    column: str
    value: object | None
    form: str = ""  # how it is written: positional, named, dict, dict_inline, missing
    path: str = ""
    line: int = 0

    def plan(self) -> dict:
        return {"kind": self.kind, "lang": self.lang, "form": self.form,
                "path": self.path, "line": self.line,
                "table": self.table, "column": self.column, "value": self.value}


def bad_value(rng: random.Random, t: Table, kind: str) -> tuple[Col, object] | None:
    """A column of t and a literal that its constraint rejects (NOT NULL columns only, so
    that every language sends the literal as written)."""
    if kind == "check":
        cands = [c for c in t.cols if c.check_in and c.not_null]
        if cands:
            c = rng.choice(cands)
            return c, "bogus_" + rng.choice(FREE_WORDS)
    if kind == "enum":
        cands = [c for c in t.cols if c.enum and c.not_null]
        if cands:
            c = rng.choice(cands)
            return c, "unknown_" + rng.choice(FREE_WORDS)
    if kind == "range":
        cands = [c for c in t.cols if c.int_lo is not None and c.not_null and c.kind in ("int", "smallint", "bigint")]
        if cands:
            c = rng.choice(cands)
            return c, (c.int_hi + 7) if c.int_hi is not None else (c.int_lo - 1 if c.int_lo > 0 else None)
    return None


# ---------------------------------------------------------------------------
# Go
# ---------------------------------------------------------------------------

GO_TYPES = {
    "text": "string", "enum": "string", "bigint": "int64", "int": "int", "smallint": "int16",
    "numeric": "float64", "float": "float64", "bool": "bool", "ts": "time.Time", "date": "time.Time",
    "uuid": "string", "json": "[]byte", "bytes": "[]byte", "inet": "string", "textarr": "[]string",
    "interval": "string",
}


def go_lit(v: object) -> str:
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return go_quote(str(v))


class GoFile:
    def __init__(self, rng: random.Random, pkg: str, idents: set[str]):
        self.rng = rng
        self.pkg = pkg
        self.body: list[str] = []
        self.imports: set[str] = set()
        self.marks: list[tuple[Violation, int]] = []
        self.idents = idents  # package-wide identifiers, to keep declarations unique

    def ident(self, base: str) -> str:
        name = base
        n = 2
        while name in self.idents:
            name = f"{base}{n}"
            n += 1
        self.idents.add(name)
        return name

    def add(self, *lines: str) -> None:
        for l in lines:
            self.body.extend(l.split("\n"))

    def mark(self, v: Violation) -> None:
        self.marks.append((v, len(self.body)))  # the next line added

    def render(self, path: str, header_comment: str) -> str:
        std = sorted(i for i in self.imports if "." not in i.split("/")[0])
        ext = sorted(i for i in self.imports if "." in i.split("/")[0])
        head = [header_comment, f"package {self.pkg}", ""]
        if std or ext:
            head.append("import (")
            head.extend(f'\t"{i}"' for i in std)
            if std and ext:
                head.append("")
            head.extend(f'\t"{i}"' for i in ext)
            head.append(")")
            head.append("")
        for v, i in self.marks:
            v.path = path
            v.line = len(head) + i + 1
        return "\n".join(head + self.body).rstrip("\n") + "\n"


def go_struct(f: GoFile, t: Table, cols: list[Col]) -> str:
    rng = f.rng
    base = camel(singular(t.name))
    name = f.ident(base if rng.random() < 0.5 else base + rng.choice(["Row", "Record", "Params", "Model", "Entity"]))
    width = max(len(camel(c.name)) for c in cols)
    json_tags = rng.random() < 0.4
    lines = [f"// {name} mirrors a row of {t.qname}.", f"type {name} struct {{"]
    types = []
    for c in cols:
        typ = GO_TYPES[c.kind]
        if "time." in typ:
            f.imports.add("time")
        if not c.not_null and not typ.startswith("[]"):
            typ = "*" + typ
        types.append(typ)
    twidth = max(len(t) for t in types)
    for c, typ in zip(cols, types):
        tag = f'db:"{c.name}"'
        if json_tags:
            tag += f' json:"{c.name},omitempty"'
        lines.append(f"\t{camel(c.name).ljust(width)} {typ.ljust(twidth)} `{tag}`")
    lines.append("}")
    f.add(*lines, "")
    return name


def go_value_expr(f: GoFile, v: tuple, params: list[tuple[str, str]], cname: str) -> str:
    kind = v[0]
    if kind == "lit":
        return go_lit(v[1])
    if kind == "expr":
        f.imports.add("time")
        return f.rng.choice(["time.Now()", "time.Now().UTC()"])
    # var
    pname = lower_camel(cname)
    if pname in ("type", "func", "var", "range", "default", "select", "go", "map", "chan", "package"):
        pname += "Value"
    typ = GO_TYPES[v[1]]
    if "time." in typ:
        f.imports.add("time")
    params.append((pname, typ))
    return pname


def go_insert_sql(rng: random.Random, t: Table, cols: list[Col], values: list[tuple], named: bool,
                  upper: bool) -> str:
    kw = (lambda s: s) if upper else (lambda s: s.lower())
    names = []
    vals = []
    n = 1
    for c, v in zip(cols, values):
        names.append(c.name)
        if v[0] == "sql":
            vals.append(v[1])
        elif named:
            vals.append(":" + c.name)
        else:
            vals.append(f"${n}")
            n += 1
    sql = f"{kw('INSERT INTO')} {t.qname} ({', '.join(names)}) {kw('VALUES')} ({', '.join(vals)})"
    if rng.random() < 0.15:
        sql += f" {kw('RETURNING')} id"
    elif rng.random() < 0.08:
        sql += f" {kw('ON CONFLICT DO NOTHING')}"
    return sql


def go_sql_literal(rng: random.Random, sql: str, indent: str) -> str:
    if len(sql) > 90 and rng.random() < 0.6:
        # A multi-line raw string.
        s = sql.replace(" VALUES ", f"\n{indent}\tVALUES ").replace(" values ", f"\n{indent}\tvalues ")
        s = s.replace(" RETURNING ", f"\n{indent}\tRETURNING ")
        return "`\n" + indent + "\t" + s + "`"
    if rng.random() < 0.5:
        return "`" + sql + "`"
    return go_quote(sql)


def go_write_func(f: GoFile, t: Table, store: str, recv: str, upper: bool,
                  violation: Violation | None = None, vkind: str | None = None) -> None:
    """A store method performing one INSERT or UPDATE."""
    rng = f.rng
    f.imports.update(["context", "fmt"])
    cols = choose_insert_cols(rng, t)
    values = [legit_value(rng, c) for c in cols]
    if violation is not None:
        if vkind == "missing":
            req = [c for c in cols if c.required() and not c.pk]
            drop = rng.choice(req)
            i = cols.index(drop)
            cols.pop(i)
            values.pop(i)
            violation.table, violation.column = t.qname, drop.name
        else:
            c, bad = violation.value
            if c not in cols:
                cols.append(c)
                values.append(None)
            values[cols.index(c)] = ("lit", bad)
            violation.value = bad
            violation.table, violation.column = t.qname, c.name
    style = rng.random()
    verb = rng.choice(["Create", "Insert", "Add", "Record", "Save", "Store"])
    fname = f.ident(f"{verb}{camel(singular(t.name))}")
    ctx = "ctx"
    if violation is None and style < 0.25:
        # UPDATE of one or two columns.
        targets = [c for c in t.cols if c.writable() and not c.pk and (c.check_in or c.enum or c.kind in ("text", "bool", "int"))]
        if targets:
            upd = rng.sample(targets, min(len(targets), rng.randint(1, 2)))
            uvals = [legit_value(rng, c) for c in upd]
            for i, (c, v) in enumerate(zip(upd, uvals)):
                if c.not_null and v == ("lit", None):
                    uvals[i] = ("var", c.kind)
            params: list[tuple[str, str]] = []
            args = []
            sets = []
            n = 1
            for c, v in zip(upd, uvals):
                if v[0] == "sql":
                    sets.append(f"{c.name} = {v[1]}")
                else:
                    sets.append(f"{c.name} = ${n}")
                    n += 1
                    args.append(go_value_expr(f, v, params, c.name))
            params.insert(0, ("id", GO_TYPES[t.pk().kind]))
            args.append("id")
            kw = (lambda s: s) if upper else (lambda s: s.lower())
            sql = f"{kw('UPDATE')} {t.qname} {kw('SET')} {', '.join(sets)} {kw('WHERE')} id = ${n}"
            fname = f.ident(f"Update{camel(singular(t.name))}{camel(upd[0].name)}")
            sig = ", ".join(f"{p} {ty}" for p, ty in params)
            f.add(f"// {fname} changes {', '.join(c.name for c in upd)} of one {singular(t.name)}.",
                  f"func ({recv} *{store}) {fname}(ctx context.Context, {sig}) error {{",
                  f"\tres, err := {recv}.db.ExecContext(ctx, {go_sql_literal(rng, sql, chr(9))}, {', '.join(args)})",
                  "\tif err != nil {",
                  f'\t\treturn fmt.Errorf("update {t.name}: %w", err)',
                  "\t}",
                  "\tif n, _ := res.RowsAffected(); n == 0 {",
                  f"\t\treturn fmt.Errorf(\"update {t.name} %v: %w\", id, ErrNotFound)",
                  "\t}",
                  "\treturn nil",
                  "}", "")
            return
    log_insert(t, cols, values, violation)
    if (violation is None and style < 0.5) or vkind == "named":
        # NamedExecContext with a struct literal.
        f.imports.add("github.com/jmoiron/sqlx")
        sname = go_struct(f, t, [c for c in t.cols if c.writable()])
        sql = go_insert_sql(rng, t, cols, values, True, upper)
        params = []
        fields = []
        for c, v in zip(cols, values):
            if v[0] == "sql":
                continue
            expr = go_value_expr(f, v, params, c.name)
            if not c.not_null and not GO_TYPES[c.kind].startswith("[]"):
                if v[0] == "lit" and v[1] is None:
                    continue  # the zero value of a pointer is NULL
                if v[0] == "lit" or v[0] == "expr":
                    expr = f"ptr({expr})"
                    f.idents.add("__needs_ptr")
                else:
                    params[-1] = (params[-1][0], "*" + params[-1][1])
            fields.append((camel(c.name), expr, c))
        sig = ", ".join(f"{p} {ty}" for p, ty in params)
        sig = "ctx context.Context" + (", " + sig if sig else "")
        f.add(f"// {fname} inserts one {singular(t.name)}.",
              f"func ({recv} *{store}) {fname}({sig}) error {{")
        query = go_sql_literal(rng, sql, chr(9))
        kwidth = max((len(fld) for fld, _, _ in fields), default=0) + 1
        fields = [((fld + ":").ljust(kwidth), expr, c) for fld, expr, c in fields]
        if violation is None and rng.random() < 0.4:
            f.add(f"\t_, err := {recv}.db.NamedExecContext({ctx}, {query}, &{sname}{{")
            f.add(*(f"\t\t{fld} {expr}," for fld, expr, _ in fields))
            f.add("\t})")
        else:
            f.add(f"\trow := {sname}{{")
            for fld, expr, c in fields:
                if violation is not None and c.name == violation.column:
                    f.mark(violation)
                f.add(f"\t\t{fld} {expr},")
            f.add("\t}", f"\t_, err := {recv}.db.NamedExecContext({ctx}, {query}, row)")
        f.add("\tif err != nil {",
              f'\t\treturn fmt.Errorf("insert {t.name}: %w", err)',
              "\t}", "\treturn nil", "}", "")
        return
    # ExecContext with positional arguments.
    sql = go_insert_sql(rng, t, cols, values, False, upper)
    params = []
    args = []
    for c, v in zip(cols, values):
        if v[0] == "sql":
            continue
        args.append(go_value_expr(f, v, params, c.name))
    sig = ", ".join(f"{p} {ty}" for p, ty in params)
    sig = "ctx context.Context" + (", " + sig if sig else "")
    via_const = violation is None and rng.random() < 0.3
    lines = [f"// {fname} inserts one {singular(t.name)}.",
             f"func ({recv} *{store}) {fname}({sig}) error {{"]
    if via_const:
        cname = f.ident(f"{lower_camel(verb)}{camel(singular(t.name))}SQL")
        f.add(f"const {cname} = {go_sql_literal(rng, sql, '')}", "")
        sql_expr = cname
    else:
        sql_expr = go_sql_literal(rng, sql, "\t")
    if rng.random() < 0.3 and violation is None:
        f.add(*lines,
              f"\ttx, err := {recv}.db.BeginTxx(ctx, nil)",
              "\tif err != nil {", "\t\treturn err", "\t}",
              "\tdefer func() { _ = tx.Rollback() }()",
              f"\tif _, err := tx.ExecContext(ctx, {sql_expr}, {', '.join(args)}); err != nil {{",
              f'\t\treturn fmt.Errorf("insert {t.name}: %w", err)',
              "\t}", "\treturn tx.Commit()", "}", "")
        return
    f.add(*lines)
    if violation is not None:
        f.mark(violation)
    argstr = (", " + ", ".join(args)) if args else ""
    f.add(f"\t_, err := {recv}.db.ExecContext(ctx, {sql_expr}{argstr})",
          "\tif err != nil {",
          f'\t\treturn fmt.Errorf("insert {t.name}: %w", err)',
          "\t}", "\treturn nil", "}", "")


def go_select_func(f: GoFile, t: Table, store: str, recv: str) -> None:
    f.imports.update(["context", "database/sql", "errors"])
    cols = [c for c in t.cols if c.kind in ("text", "enum", "int", "bigint", "bool")][:4] or [t.pk()]
    fname = f.ident(f"Count{camel(t.name)}By{camel(cols[0].name)}")
    sql = f"SELECT count(*) FROM {t.qname} WHERE {cols[0].name} = $1"
    f.add(f"// {fname} counts rows of {t.qname} with the given {cols[0].name}.",
          f"func ({recv} *{store}) {fname}(ctx context.Context, v {GO_TYPES[cols[0].kind]}) (int64, error) {{",
          "\tvar n int64",
          f"\terr := {recv}.db.QueryRowContext(ctx, {go_quote(sql)}, v).Scan(&n)",
          "\tif errors.Is(err, sql.ErrNoRows) {", "\t\treturn 0, nil", "\t}",
          "\treturn n, err", "}", "")
    if "time" in GO_TYPES[cols[0].kind]:
        f.imports.add("time")


def go_filler(f: GoFile) -> None:
    """Plain Go code with no SQL."""
    rng = f.rng
    noun = rng.choice(NOUNS)
    verb = rng.choice(VERBS)
    adj = rng.choice(ADJECTIVES)
    k = rng.randrange(8)
    if k == 0:
        f.imports.add("strings")
        name = f.ident(f"{verb}{camel(noun)}List")
        f.add(f"// {name} splits a comma-separated list of {noun} names and trims each one.",
              f"func {name}(raw string) []string {{",
              '\tparts := strings.Split(raw, ",")',
              "\tout := make([]string, 0, len(parts))",
              "\tfor _, p := range parts {",
              "\t\tp = strings.TrimSpace(p)",
              '\t\tif p == "" {', "\t\t\tcontinue", "\t\t}",
              "\t\tout = append(out, strings.ToLower(p))",
              "\t}", "\treturn out", "}", "")
    elif k == 1:
        f.imports.update(["time", "context"])
        name = f.ident(f"{verb}{camel(noun)}WithRetry")
        tries = rng.randint(3, 8)
        ms = rng.choice([50, 100, 250, 500])
        f.add(f"// {name} calls fn until it succeeds, at most {tries} times, backing off between tries.",
              f"func {name}(ctx context.Context, fn func(context.Context) error) error {{",
              f"\tdelay := {ms} * time.Millisecond",
              "\tvar err error",
              f"\tfor attempt := 0; attempt < {tries}; attempt++ {{",
              "\t\tif err = fn(ctx); err == nil {", "\t\t\treturn nil", "\t\t}",
              "\t\tselect {", "\t\tcase <-ctx.Done():", "\t\t\treturn ctx.Err()",
              "\t\tcase <-time.After(delay):", "\t\t}",
              "\t\tdelay *= 2", "\t}", "\treturn err", "}", "")
    elif k == 2:
        name = f.ident(f"{camel(adj)}{camel(noun)}Label")
        cases = rng.sample(FREE_WORDS, rng.randint(3, 7))
        lines = [f"// {name} returns the display label of a {noun} code.",
                 f"func {name}(code int) string {{", "\tswitch code {"]
        for i, w in enumerate(cases):
            lines += [f"\tcase {i * rng.randint(1, 9) + i}:", f"\t\treturn {go_quote(w.title())}"]
        lines += ["\tdefault:", f"\t\treturn {go_quote('unknown ' + noun)}", "\t}", "}", ""]
        f.add(*lines)
    elif k == 3:
        f.imports.update(["sync"])
        typ = f.ident(f"{camel(noun)}Cache")
        f.add(f"// {typ} keeps recently used {plural(noun)} in memory.",
              f"type {typ} struct {{", "\tmu    sync.RWMutex", "\titems map[string]int64",
              "\tlimit int", "}", "",
              f"// New{typ} returns an empty cache holding at most limit entries.",
              f"func New{typ}(limit int) *{typ} {{",
              f"\treturn &{typ}{{items: make(map[string]int64, limit), limit: limit}}", "}", "",
              f"func (c *{typ}) Get(key string) (int64, bool) {{",
              "\tc.mu.RLock()", "\tdefer c.mu.RUnlock()", "\tv, ok := c.items[key]", "\treturn v, ok", "}", "",
              f"func (c *{typ}) Put(key string, v int64) {{",
              "\tc.mu.Lock()", "\tdefer c.mu.Unlock()",
              "\tif len(c.items) >= c.limit {", "\t\tfor k := range c.items {", "\t\t\tdelete(c.items, k)",
              "\t\t\tbreak", "\t\t}", "\t}", "\tc.items[key] = v", "}", "")
    elif k == 4:
        f.imports.update(["errors", "fmt"])
        typ = f.ident(f"{camel(noun)}{camel(verb)}Error")
        f.add(f"// {typ} reports why a {noun} could not be {verb}d.",
              f"type {typ} struct {{", "\tID     string", "\tReason string", "\tErr    error", "}", "",
              f"func (e *{typ}) Error() string {{",
              f'\treturn fmt.Sprintf("{noun} %s: %s: %v", e.ID, e.Reason, e.Err)', "}", "",
              f"func (e *{typ}) Unwrap() error {{ return e.Err }}", "",
              f"// Is{typ} tells whether err is a {typ}.",
              f"func Is{typ}(err error) bool {{", f"\tvar target *{typ}",
              "\treturn errors.As(err, &target)", "}", "")
    elif k == 5:
        f.imports.update(["sort"])
        name = f.ident(f"top{camel(plural(noun))}")
        f.add(f"// {name} returns the n keys with the largest counts, largest first.",
              f"func {name}(counts map[string]int, n int) []string {{",
              "\tkeys := make([]string, 0, len(counts))",
              "\tfor k := range counts {", "\t\tkeys = append(keys, k)", "\t}",
              "\tsort.Slice(keys, func(i, j int) bool {",
              "\t\tif counts[keys[i]] != counts[keys[j]] {", "\t\t\treturn counts[keys[i]] > counts[keys[j]]", "\t\t}",
              "\t\treturn keys[i] < keys[j]", "\t})",
              "\tif len(keys) > n {", "\t\tkeys = keys[:n]", "\t}", "\treturn keys", "}", "")
    elif k == 6:
        f.imports.update(["strconv", "fmt"])
        name = f.ident(f"parse{camel(noun)}{camel(adj)}Limit")
        lo, hi = rng.randint(1, 10), rng.randint(100, 5000)
        f.add(f"// {name} parses a limit from a query string value, defaulting to {lo * 10}.",
              f"func {name}(raw string) (int, error) {{",
              '\tif raw == "" {', f"\t\treturn {lo * 10}, nil", "\t}",
              "\tn, err := strconv.Atoi(raw)", "\tif err != nil {",
              f'\t\treturn 0, fmt.Errorf("invalid {noun} limit %q: %w", raw, err)', "\t}",
              f"\tif n < {lo} || n > {hi} {{",
              f'\t\treturn 0, fmt.Errorf("{noun} limit %d out of range [{lo}, {hi}]", n)', "\t}",
              "\treturn n, nil", "}", "")
    else:
        name = f.ident(f"{verb}{camel(noun)}Totals")
        f.add(f"// {name} sums amounts per key and returns the grand total.",
              f"func {name}(keys []string, amounts []int64) (map[string]int64, int64) {{",
              "\ttotals := make(map[string]int64, len(keys))",
              "\tvar sum int64",
              "\tfor i, k := range keys {",
              "\t\tif i >= len(amounts) {", "\t\t\tbreak", "\t\t}",
              f"\t\tif amounts[i] < {rng.randint(0, 3)} {{", "\t\t\tcontinue", "\t\t}",
              "\t\ttotals[k] += amounts[i]", "\t\tsum += amounts[i]", "\t}",
              "\treturn totals, sum", "}", "")


def go_package_file(rng: random.Random, pkg: str, idents: set[str], tables: list[Table],
                    has_sql: bool, upper: bool, violations: list[tuple[Violation, str]]) -> GoFile:
    f = GoFile(rng, pkg, idents)
    if has_sql and tables:
        f.imports.update(["github.com/jmoiron/sqlx"])
        t0 = rng.choice(tables)
        store = f.ident(f"{camel(singular(t0.name))}Store")
        recv = "s"
        f.add(f"// {store} reads and writes {t0.qname} and related tables.",
              f"type {store} struct {{", "\tdb *sqlx.DB", "}", "",
              f"// New{store} returns a {store} using db.",
              f"func New{store}(db *sqlx.DB) *{store} {{", f"\treturn &{store}{{db: db}}", "}", "")
        if rng.random() < 0.3:
            a = f"default{camel(singular(t0.name))}PageSize"
            b = f"max{camel(singular(t0.name))}Batch"
            w = max(len(a), len(b))
            f.add("const (", f"\t{a.ljust(w)} = {rng.choice([20, 50, 100])}",
                  f"\t{b.ljust(w)} = {rng.choice([500, 1000, 5000])}", ")", "")
        for v, vkind in violations:
            t = pick_table_for(rng, tables, v, vkind)
            go_write_func(f, t, store, recv, upper, v, vkind)
        for _ in range(rng.randint(3, 8)):
            t = t0 if rng.random() < 0.5 else rng.choice(tables)
            go_write_func(f, t, store, recv, upper)
            if rng.random() < 0.3:
                go_select_func(f, t, store, recv)
        for _ in range(rng.randint(2, 6)):
            go_filler(f)
    else:
        for _ in range(rng.randint(6, 16)):
            go_filler(f)
    return f


def pick_table_for(rng: random.Random, tables: list[Table], v: Violation, vkind: str) -> Table:
    """A table on which the planned violation is possible; sets v.value for value kinds."""
    order = list(tables)
    rng.shuffle(order)
    for t in order:
        if vkind == "missing":
            if any(c.required() and not c.pk for c in t.cols):
                return t
        else:
            bv = bad_value(rng, t, v.kind)
            if bv is not None and bv[1] is not None:
                v.value = bv
                return t
    raise RuntimeError(f"no table allows a {v.kind} violation")


# ---------------------------------------------------------------------------
# Python
# ---------------------------------------------------------------------------

PY_TYPES = {
    "text": "str", "enum": "str", "bigint": "int", "int": "int", "smallint": "int",
    "numeric": "Decimal", "float": "float", "bool": "bool", "ts": "datetime", "date": "date",
    "uuid": "UUID", "json": "dict", "bytes": "bytes", "inet": "str", "textarr": "list[str]",
    "interval": "timedelta",
}

PY_RESERVED = {"id", "type", "hash", "format", "filter", "input", "range", "min", "max", "sum", "list",
               "dict", "len", "str", "object", "vars", "next", "iter", "map", "zip", "open", "set"}


def py_lit(v: object) -> str:
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (int, float)):
        return repr(v)
    return py_quote(str(v))


class PyFile:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.body: list[str] = []
        self.imports: set[str] = set()   # "import x" or "from x import y"
        self.marks: list[tuple[Violation, int]] = []
        self.idents: set[str] = set()
        self.consts: list[str] = []

    def ident(self, base: str) -> str:
        name = base
        n = 2
        while name in self.idents:
            name = f"{base}_{n}"
            n += 1
        self.idents.add(name)
        return name

    def add(self, *lines: str) -> None:
        for l in lines:
            self.body.extend(l.split("\n"))

    def mark(self, v: Violation) -> None:
        self.marks.append((v, len(self.body)))

    def render(self, path: str, doc: str) -> str:
        head = [f'"""{doc}"""', "", "from __future__ import annotations", ""]
        plain = sorted(i for i in self.imports if i.startswith("import "))
        froms: dict[str, set[str]] = {}
        for i in self.imports:
            if i.startswith("from "):
                mod, name = i[5:].split(" import ")
                froms.setdefault(mod, set()).add(name)
        head += plain
        for mod in sorted(froms):
            head.append(f"from {mod} import {', '.join(sorted(froms[mod]))}")
        if plain or froms:
            head.append("")
        if self.consts:
            head += self.consts + [""]
        head.append("")
        for v, i in self.marks:
            v.path = path
            v.line = len(head) + i + 1
        return "\n".join(head + self.body).rstrip("\n") + "\n"


def py_value_expr(f: PyFile, v: tuple, params: list[str], cname: str) -> str:
    if v[0] == "lit":
        return py_lit(v[1])
    if v[0] == "expr":
        f.imports.update(["from datetime import datetime", "from datetime import timezone"])
        return "datetime.now(timezone.utc)"
    p = cname + "_value" if cname in PY_RESERVED else cname
    params.append(p)
    return p


def py_sql_literal(rng: random.Random, sql: str, indent: str) -> str:
    if len(sql) > 80 and rng.random() < 0.5:
        s = sql.replace(" VALUES ", f"\n{indent}    VALUES ").replace(" values ", f"\n{indent}    values ")
        s = s.replace(" WHERE ", f"\n{indent}    WHERE ")
        return f'"""\n{indent}    {s}\n{indent}"""'
    if len(sql) > 80 and rng.random() < 0.5:
        # Implicit concatenation of adjacent literals.
        cut = sql.find(" VALUES ") if " VALUES " in sql else sql.find(" values ")
        if cut > 0:
            return f"(\n{indent}    {py_quote(sql[:cut + 1])}\n{indent}    {py_quote(sql[cut + 1:])}\n{indent})"
    return py_quote(sql)


def py_write_func(f: PyFile, t: Table, upper: bool, violation: Violation | None = None,
                  vkind: str | None = None) -> None:
    rng = f.rng
    kw = (lambda s: s) if upper else (lambda s: s.lower())
    cols = choose_insert_cols(rng, t)
    values = [legit_value(rng, c) for c in cols]
    if violation is not None:
        if vkind == "missing":
            req = [c for c in cols if c.required() and not c.pk]
            drop = rng.choice(req)
            i = cols.index(drop)
            cols.pop(i)
            values.pop(i)
            violation.table, violation.column = t.qname, drop.name
        else:
            c, bad = violation.value
            if c not in cols:
                cols.append(c)
                values.append(None)
            values[cols.index(c)] = ("lit", bad)
            violation.value = bad
            violation.table, violation.column = t.qname, c.name
    ent = singular(t.name)
    style = rng.random()
    if violation is None and style < 0.2:
        targets = [c for c in t.cols if c.writable() and not c.pk and (c.check_in or c.enum or c.kind in ("text", "bool", "int"))]
        if targets:
            upd = rng.sample(targets, min(len(targets), rng.randint(1, 2)))
            uvals = [legit_value(rng, c) for c in upd]
            for i, (c, v) in enumerate(zip(upd, uvals)):
                if c.not_null and v == ("lit", None):
                    uvals[i] = ("var", c.kind)
            params: list[str] = []
            sets, args = [], []
            for c, v in zip(upd, uvals):
                if v[0] == "sql":
                    sets.append(f"{c.name} = {v[1]}")
                else:
                    sets.append(f"{c.name} = %s")
                    args.append(py_value_expr(f, v, params, c.name))
            args.append(f"{ent}_id")
            sql = f"{kw('UPDATE')} {t.qname} {kw('SET')} {', '.join(sets)} {kw('WHERE')} id = %s"
            fname = f.ident(f"update_{ent}_{upd[0].name}")
            sig = ", ".join(["cur", f"{ent}_id"] + params)
            f.add(f"def {fname}({sig}):",
                  f'    """Change {", ".join(c.name for c in upd)} of one {ent.replace("_", " ")}."""',
                  f"    cur.execute({py_sql_literal(rng, sql, '    ')}, ({', '.join(args)},))",
                  "    if cur.rowcount == 0:",
                  f"        raise LookupError(f\"{ent} {{{ent}_id}} not found\")",
                  "", "")
            return
    log_insert(t, cols, values, violation)
    named = (violation is None and style < 0.4) or vkind in ("dict", "dict_inline")
    params = []
    names, vals, args = [], [], []
    for c, v in zip(cols, values):
        names.append(c.name)
        if v[0] == "sql":
            vals.append(v[1])
            continue
        vals.append(f"%({c.name})s" if named else "%s")
        args.append((c.name, py_value_expr(f, v, params, c.name)))
    sql = f"{kw('INSERT INTO')} {t.qname} ({', '.join(names)}) {kw('VALUES')} ({', '.join(vals)})"
    returning = rng.random() < 0.25
    if returning:
        sql += f" {kw('RETURNING')} id"
    verb = rng.choice(["create", "insert", "add", "record", "save", "store"])
    fname = f.ident(f"{verb}_{ent}")
    sig = ", ".join(["cur"] + params)
    f.add(f"def {fname}({sig}):", f'    """Insert one {ent.replace("_", " ")}."""')
    if named and ((violation is None and rng.random() < 0.5) or vkind == "dict_inline"):
        # The dict written in the call.
        f.add("    cur.execute(", f"        {py_sql_literal(rng, sql, '        ')},", "        {")
        for n, e in args:
            if violation is not None and n == violation.column:
                f.mark(violation)
            f.add(f"            {py_quote(n)}: {e},")
        f.add("        },", "    )")
    elif named:
        # The dict bound to a local first.
        f.add("    params = {")
        for n, e in args:
            if violation is not None and n == violation.column:
                f.mark(violation)
            f.add(f"        {py_quote(n)}: {e},")
        f.add("    }", f"    cur.execute({py_sql_literal(rng, sql, '    ')}, params)")
    else:
        via_const = violation is None and rng.random() < 0.3
        if via_const:
            cname = f.ident(f"{verb.upper()}_{ent.upper()}_SQL")
            f.consts.append(f"{cname} = {py_quote(sql)}")
            sql_expr = cname
        else:
            sql_expr = py_sql_literal(rng, sql, "    ")
        if violation is not None:
            f.mark(violation)
        tup = ", ".join(e for _, e in args)
        if len(args) == 1:
            tup += ","
        if rng.random() < 0.25 and violation is None:
            f.add("    with cur.connection.transaction():",
                  f"        cur.execute({sql_expr.replace(chr(10), chr(10) + '    ')}, ({tup}))")
        else:
            f.add(f"    cur.execute({sql_expr}, ({tup}))")
    if returning:
        f.add("    return cur.fetchone()[0]")
    f.add("", "")


def py_many_func(f: PyFile, t: Table, upper: bool) -> None:
    """executemany with a list of tuples of literals."""
    rng = f.rng
    kw = (lambda s: s) if upper else (lambda s: s.lower())
    cols = choose_insert_cols(rng, t)
    cols = [c for c in cols if not (c.kind in ("json", "bytes", "textarr", "uuid", "inet", "interval", "date") or c.fk or c.pk)]
    req = [c for c in t.cols if c.required()]
    if any(c not in cols for c in req) or not cols:
        return
    ent = singular(t.name)
    fname = f.ident(f"seed_{plural(ent)}")
    rows = []
    for _ in range(rng.randint(2, 4)):
        specs = []
        for c in cols:
            v = legit_value(rng, c, allow_sql=False)
            if v[0] == "var":
                # executemany rows are spelled out: make up a valid literal.
                if c.kind == "ts":
                    v = ("expr", "ts")
                elif c.check_in or c.enum:
                    v = ("lit", (c.check_in or c.enum.labels)[0])
                elif c.kind in ("int", "bigint", "smallint"):
                    v = ("lit", (c.int_lo if c.int_lo is not None else 0) + rng.randint(0, 3))
                elif c.kind in ("numeric", "float"):
                    v = ("lit", round(rng.random() * 100 + 1, 2))
                elif c.kind == "bool":
                    v = ("lit", False)
                else:
                    v = ("lit", rng.choice(FREE_WORDS))
            specs.append(v)
        row = [py_value_expr(f, v, [], c.name) for c, v in zip(cols, specs)]
        rows.append("        (" + ", ".join(row) + ("," if len(row) == 1 else "") + "),")
        log_insert(t, cols, specs, None)
    sql = (f"{kw('INSERT INTO')} {t.qname} ({', '.join(c.name for c in cols)}) "
           f"{kw('VALUES')} ({', '.join('%s' for _ in cols)})")
    f.add(f"def {fname}(cur):", f'    """Insert the default {plural(ent).replace("_", " ")}."""',
          "    rows = [", *rows, "    ]", f"    cur.executemany({py_sql_literal(rng, sql, '    ')}, rows)",
          "    return len(rows)", "", "")


def py_dataclass(f: PyFile, t: Table) -> None:
    rng = f.rng
    f.imports.add("from dataclasses import dataclass")
    name = camel(singular(t.name))
    if name in f.idents:
        return
    f.idents.add(name)
    cols = [c for c in t.cols if c.writable()][:12]
    req = [c for c in cols if c.not_null]
    opt = [c for c in cols if not c.not_null]
    lines = ["@dataclass", f"class {name}:", f'    """One row of {t.qname}."""', ""]
    for c in req + opt:
        typ = PY_TYPES[c.kind]
        if typ == "Decimal":
            f.imports.add("from decimal import Decimal")
        elif typ in ("datetime", "date", "timedelta"):
            f.imports.add(f"from datetime import {typ}")
        elif typ == "UUID":
            f.imports.add("from uuid import UUID")
        if c.not_null:
            lines.append(f"    {c.name}: {typ}")
        else:
            lines.append(f"    {c.name}: {typ} | None = None")
    lines += ["", "    def as_params(self) -> dict:",
              '        """The row as query parameters."""',
              "        return {"]
    lines += [f"            {py_quote(c.name)}: self.{c.name}," for c in req + opt]
    lines += ["        }", "", ""]
    if rng.random() < 0.5:
        lines[-2:-2] = ["", "    def describe(self) -> str:",
                        f"        return f\"{name}({{self.{(req + opt)[0].name}!r}})\""]
    f.add(*lines)


def py_filler(f: PyFile) -> None:
    rng = f.rng
    noun = rng.choice(NOUNS)
    verb = rng.choice(VERBS)
    adj = rng.choice(ADJECTIVES)
    k = rng.randrange(8)
    if k == 0:
        name = f.ident(f"{verb}_{noun}_names")
        f.add(f"def {name}(raw: str) -> list[str]:",
              f'    """Split a comma-separated list of {noun} names, trimmed and lower-cased."""',
              "    out = []",
              '    for part in raw.split(","):',
              "        part = part.strip()",
              "        if not part:", "            continue",
              "        out.append(part.lower())", "    return out", "", "")
    elif k == 1:
        f.imports.update(["import time", "import logging"])
        if "log" not in f.idents:
            f.consts.append("log = logging.getLogger(__name__)")
            f.idents.add("log")
        name = f.ident(f"{verb}_{noun}_with_retry")
        tries = rng.randint(3, 8)
        f.add(f"def {name}(fn, *args, attempts: int = {tries}, delay: float = {rng.choice([0.05, 0.1, 0.5])}):",
              '    """Call fn until it succeeds, backing off between attempts."""',
              "    last = None",
              "    for attempt in range(attempts):",
              "        try:", "            return fn(*args)",
              "        except (ConnectionError, TimeoutError) as exc:",
              "            last = exc",
              f'            log.warning("{noun} {verb} failed (attempt %d): %s", attempt + 1, exc)',
              "            time.sleep(delay * (2 ** attempt))",
              "    raise RuntimeError(f\"gave up after {attempts} attempts\") from last", "", "")
    elif k == 2:
        name = f.ident(f"{adj}_{noun}_label")
        cases = rng.sample(FREE_WORDS, rng.randint(3, 7))
        tname = f.ident(f"_{noun.upper()}_LABELS")
        f.add(f"{tname} = {{")
        for i, w in enumerate(cases):
            f.add(f"    {i * 3 + rng.randint(0, 2)}: {py_quote(w.title())},")
        f.add("}", "", "",
              f"def {name}(code: int) -> str:",
              f'    """The display label of a {noun} code."""',
              f"    return {tname}.get(code, {py_quote('unknown ' + noun)})", "", "")
    elif k == 3:
        f.imports.update(["import threading", "from collections import OrderedDict"])
        cls = f.ident(f"{camel(noun)}Cache")
        f.add(f"class {cls}:",
              f'    """Recently used {plural(noun)}, least recently used evicted first."""', "",
              f"    def __init__(self, limit: int = {rng.choice([128, 256, 1024])}):",
              "        self._lock = threading.Lock()",
              "        self._items: OrderedDict[str, object] = OrderedDict()",
              "        self._limit = limit", "",
              "    def get(self, key: str):",
              "        with self._lock:",
              "            if key not in self._items:", "                return None",
              "            self._items.move_to_end(key)", "            return self._items[key]", "",
              "    def put(self, key: str, value) -> None:",
              "        with self._lock:",
              "            self._items[key] = value",
              "            self._items.move_to_end(key)",
              "            while len(self._items) > self._limit:",
              "                self._items.popitem(last=False)", "", "")
    elif k == 4:
        cls = f.ident(f"{camel(noun)}{camel(verb)}Error")
        f.add(f"class {cls}(Exception):",
              f'    """A {noun} could not be {verb}d."""', "",
              "    def __init__(self, ident: str, reason: str):",
              '        super().__init__(f"{ident}: {reason}")',
              "        self.ident = ident", "        self.reason = reason", "", "")
    elif k == 5:
        name = f.ident(f"top_{plural(noun)}")
        f.add(f"def {name}(counts: dict[str, int], n: int = {rng.randint(3, 20)}) -> list[str]:",
              '    """The n keys with the largest counts, largest first."""',
              "    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))",
              "    return [key for key, _ in ranked[:n]]", "", "")
    elif k == 6:
        name = f.ident(f"parse_{noun}_limit")
        lo, hi = rng.randint(1, 10), rng.randint(100, 5000)
        f.add(f"def {name}(raw: str | None) -> int:",
              f'    """A {noun} page size from a query string, defaulting to {lo * 10}."""',
              "    if not raw:", f"        return {lo * 10}",
              "    try:", "        n = int(raw)",
              "    except ValueError as exc:",
              f'        raise ValueError(f"invalid {noun} limit {{raw!r}}") from exc',
              f"    if not {lo} <= n <= {hi}:",
              f'        raise ValueError(f"{noun} limit {{n}} out of range")',
              "    return n", "", "")
    else:
        name = f.ident(f"{verb}_{noun}_totals")
        f.add(f"def {name}(rows):",
              '    """Sum amounts per key; return the totals and the grand total."""',
              "    totals = {}", "    grand = 0",
              "    for key, amount in rows:",
              f"        if amount < {rng.randint(0, 3)}:", "            continue",
              "        totals[key] = totals.get(key, 0) + amount",
              "        grand += amount",
              "    return totals, grand", "", "")


def py_module(rng: random.Random, tables: list[Table], has_sql: bool, upper: bool,
              violations: list[tuple[Violation, str]]) -> PyFile:
    f = PyFile(rng)
    if has_sql and tables:
        t0 = rng.choice(tables)
        if rng.random() < 0.5:
            py_dataclass(f, t0)
        if rng.random() < 0.3:
            f.consts.append(f"TABLE = {py_quote(t0.qname)}")
        for v, vkind in violations:
            t = pick_table_for(rng, tables, v, vkind)
            py_write_func(f, t, upper, v, vkind)
        for _ in range(rng.randint(3, 8)):
            t = t0 if rng.random() < 0.5 else rng.choice(tables)
            py_write_func(f, t, upper)
        if rng.random() < 0.25:
            py_many_func(f, rng.choice(tables), upper)
        if rng.random() < 0.3:
            sql = f"SELECT id, created_at FROM {t0.qname} WHERE id = %s"
            fname = f.ident(f"get_{singular(t0.name)}")
            f.add(f"def {fname}(cur, ident):", f"    cur.execute({py_quote(sql)}, (ident,))",
                  "    return cur.fetchone()", "", "")
        for _ in range(rng.randint(2, 6)):
            py_filler(f)
    else:
        for _ in range(rng.randint(7, 18)):
            py_filler(f)
    return f


# ---------------------------------------------------------------------------
# The repository
# ---------------------------------------------------------------------------

GO_PACKAGES = ["store", "handlers", "jobs", "billing", "sync", "reports", "events", "admin", "worker",
               "api", "importer", "exporter", "audit", "scheduler", "webhooks", "ledger"]
PY_PACKAGES = ["repositories", "services", "tasks", "api", "admin", "reports", "etl", "jobs",
               "integrations", "utils", "models", "workers"]

VIOLATION_PLAN = [
    # (kind recorded, language, how it is written)
    ("check", "go", "positional"),
    ("missing_not_null", "python", "missing"),
    ("enum", "python", "positional"),
    ("check", "go", "named"),
    ("missing_not_null", "go", "missing"),
    ("check", "python", "dict_inline"),
    ("range", "go", "positional"),
    ("check", "python", "positional"),
    ("enum", "go", "named"),
    ("missing_not_null", "python", "missing"),
    ("check", "go", "positional"),
    ("enum", "python", "dict"),  # the dict bound to a local first
]


def scaled(base: int, scale: float, minimum: int) -> int:
    return max(minimum, round(base * scale))


def split_counts(total: int, weights: list[float], minimum: int) -> list[int]:
    s = sum(weights)
    return [max(minimum, round(total * w / s)) for w in weights]


def generate(out_dir: str, scale: float, seed: int) -> dict:
    rng = random.Random(seed)
    out_paths.clear()
    out = Output(out_dir)
    names = Names(rng)
    n_migrations = scaled(BASE_MIGRATIONS, scale, len(SERVICES) * 4)
    n_go = scaled(BASE_GO_FILES, scale, 20)
    n_py = scaled(BASE_PY_FILES, scale, 20)
    n_viol = scaled(BASE_VIOLATIONS, scale, 5)

    go_svcs = [s for s in SERVICES if s[2] == "go"]
    mig_counts = split_counts(n_migrations, [rng.uniform(0.6, 1.4) for _ in SERVICES], 4)
    go_counts = split_counts(n_go, [rng.uniform(0.6, 1.4) for _ in go_svcs], 4)
    # Python files: mostly in the Python services, some scripts in the Go ones.
    py_weights = [(3.0 if s[2] == "python" else 0.25) * rng.uniform(0.7, 1.3) for s in SERVICES]
    py_counts = split_counts(n_py, py_weights, 2)

    # Which files carry a violation: (service index, language) -> list of plan entries.
    plans: list[tuple[int, str, Violation, str]] = []
    for i in range(n_viol):
        kind, lang, how = VIOLATION_PLAN[i % len(VIOLATION_PLAN)]
        svc_choices = [j for j, s in enumerate(SERVICES) if (s[2] == lang)]
        j = rng.choice(svc_choices)
        plans.append((j, lang, Violation(kind, lang, "", "", None, form=how), how))

    go_i = 0
    schemas: dict[str, SchemaGen] = {}
    for si, (svc, layout, lang, pg_schema) in enumerate(SERVICES):
        srng = random.Random(rng.random())
        root = os.path.join("services", svc)
        sg = SchemaGen(srng, names, svc, pg_schema, upper=srng.random() < 0.8)
        migrations = [sg.next_migration() for _ in range(mig_counts[si])]
        write_migrations(root, layout, migrations, srng, out)
        schemas[svc] = sg
        tables = sg.tables

        my_plans = [(p[2], p[3]) for p in plans if p[0] == si]
        if lang == "go":
            count = go_counts[go_i]
            go_i += 1
            module = f"example.com/platform/{svc}"
            out.write(os.path.join(root, "go.mod"),
                      f"module {module}\n\ngo 1.22\n\nrequire github.com/jmoiron/sqlx v1.4.0\n", "other")
            go_files = []
            pkgs = srng.sample(GO_PACKAGES, min(len(GO_PACKAGES), max(2, count // 25)))
            pkg_idents: dict[str, set[str]] = {p: set() for p in pkgs}
            go_plans = [p for p in my_plans if p[0].lang == "go"]
            # cmd/<svc>/main.go
            out.write(os.path.join(root, "cmd", svc, "main.go"), go_main(svc, module, pkgs[0]), "go")
            for k in range(count - 1):
                pkg = pkgs[k % len(pkgs)]
                has_sql = srng.random() < 0.55
                vs = []
                if go_plans and (has_sql or k >= count - 1 - len(go_plans)):
                    vs = [go_plans.pop()]
                    has_sql = True
                f = go_package_file(srng, pkg, pkg_idents[pkg], tables, has_sql, sg.upper, vs)
                noun = srng.choice(NOUNS)
                fname = f"{noun}_{srng.choice(['store', 'service', 'handler', 'repo', 'util', 'job', 'model'])}"
                rel = os.path.join(root, "internal", pkg, fname + ".go")
                n = 2
                while rel in out_paths:
                    rel = os.path.join(root, "internal", pkg, f"{fname}{n}.go")
                    n += 1
                out_paths.add(rel)
                go_files.append((rel, f))
            for pkg in pkgs:
                if "__needs_ptr" in pkg_idents[pkg]:
                    # The generic helper used by struct literals of nullable fields.
                    out.write(os.path.join(root, "internal", pkg, "ptr.go"),
                              f"package {pkg}\n\n// ptr returns a pointer to v.\nfunc ptr[T any](v T) *T {{ return &v }}\n", "go")
                errs = os.path.join(root, "internal", pkg, "errors.go")
                out.write(errs, f'package {pkg}\n\nimport "errors"\n\n// ErrNotFound is returned when no row matched.\n'
                                f'var ErrNotFound = errors.New("{pkg}: not found")\n', "go")
            for rel, f in go_files:
                out.write(rel, f.render(rel, f"// Package {f.pkg} is part of the {svc} service."), "go")
        # Python code.
        count = py_counts[si]
        py_plans = [p for p in my_plans if p[0].lang == "python"]
        if lang == "python":
            base = os.path.join(root, "src", svc)
            pkgs = srng.sample(PY_PACKAGES, min(len(PY_PACKAGES), max(2, count // 30)))
            out.write(os.path.join(root, "requirements.txt"), "psycopg[binary]==3.2.3\n", "other")
            out.write(os.path.join(base, "__init__.py"), f'"""The {svc} service."""\n', "py")
            for p in pkgs:
                out.write(os.path.join(base, p, "__init__.py"), "", "py")
        else:
            base = os.path.join(root, "scripts")
            pkgs = ["."]
        for k in range(count):
            pkg = pkgs[k % len(pkgs)]
            has_sql = srng.random() < 0.55
            vs = []
            if py_plans and (has_sql or k >= count - len(py_plans)):
                vs = [py_plans.pop()]
                has_sql = True
            f = py_module(srng, tables, has_sql, sg.upper, vs)
            noun = srng.choice(NOUNS)
            fname = f"{noun}_{srng.choice(['repository', 'service', 'tasks', 'views', 'helpers', 'models', 'sync'])}"
            rel = os.path.normpath(os.path.join(base, pkg, fname + ".py"))
            n = 2
            while rel in out_paths:
                rel = os.path.normpath(os.path.join(base, pkg, f"{fname}_{n}.py"))
                n += 1
            out_paths.add(rel)
            out.write(rel, f.render(rel, f"{camel(noun)} {fname.split('_')[-1]} for the {svc} service."), "py")
        assert not py_plans, "a planned Python violation found no file"

    violations = [p[2].plan() for p in plans]
    for v in violations:
        assert v["path"] and v["line"], v
    out.write("README.md", "# platform\n\nSynthetic monorepo generated by dbveto's benches/generate.py.\n", "other")
    meta = {
        "generator_version": GENERATOR_VERSION,
        "scale": scale,
        "seed": seed,
        "files": dict(sorted(out.counts.items())),
        "bytes": dict(sorted(out.bytes.items())),
        "tables": sum(len(s.tables) for s in schemas.values()),
        "expected_findings": sorted(violations, key=lambda v: (v["path"], v["line"])),
    }
    return meta


out_paths: set[str] = set()


def go_main(svc: str, module: str, pkg: str) -> str:
    return (f"// Command {svc} runs the {svc} service.\n"
            f"package main\n\n"
            f"import (\n\t\"log\"\n\t\"os\"\n\n\t\"github.com/jmoiron/sqlx\"\n\n\t\"{module}/internal/{pkg}\"\n)\n\n"
            f"func main() {{\n"
            f"\tdb, err := sqlx.Open(\"postgres\", os.Getenv(\"DATABASE_URL\"))\n"
            f"\tif err != nil {{\n\t\tlog.Fatal(err)\n\t}}\n"
            f"\tdefer db.Close()\n"
            f"\tlog.Printf(\"{svc}: starting with %T\", {pkg}.ErrNotFound)\n"
            f"}}\n")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--scale", type=float, default=1.0, help="size; 1.0 is about 40 MB (default 1.0)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true", help="replace out_dir if it exists")
    ap.add_argument("--dump-writes", metavar="FILE",
                    help="also write every generated INSERT, with runnable values, as JSON lines (for testing the generator)")
    args = ap.parse_args(argv)
    if args.scale <= 0:
        ap.error("--scale must be positive")
    if os.path.exists(args.out_dir) and os.listdir(args.out_dir):
        if not args.force:
            ap.error(f"{args.out_dir} exists and is not empty (use --force to replace it)")
        shutil.rmtree(args.out_dir)
    tmp = args.out_dir.rstrip("/") + ".partial"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    global WRITE_LOG
    if args.dump_writes:
        WRITE_LOG = []
    meta = generate(tmp, args.scale, args.seed)
    if args.dump_writes:
        with open(args.dump_writes, "w") as f:
            for w in WRITE_LOG:
                f.write(json.dumps(w) + "\n")
    os.makedirs(os.path.join(tmp, ".bench"), exist_ok=True)
    with open(os.path.join(tmp, ".bench", "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    if os.path.exists(args.out_dir):
        os.rmdir(args.out_dir)
    os.rename(tmp, args.out_dir)
    total_files = sum(meta["files"].values())
    total_bytes = sum(meta["bytes"].values())
    parts = ", ".join(f"{k}: {n} files / {meta['bytes'][k] / 1e6:.1f} MB" for k, n in meta["files"].items())
    print(f"generated {args.out_dir}: {total_files} files, {total_bytes / 1e6:.1f} MB ({parts}), "
          f"{meta['tables']} tables, {len(meta['expected_findings'])} planted violations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
