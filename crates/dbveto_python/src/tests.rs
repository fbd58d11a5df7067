use dbveto_source::Severity;
use dbveto_writes::{Arg, Literal, Params};

use super::*;

fn extract_files(files: &[(&str, &str)]) -> PythonExtraction {
    let files: Vec<SourceFile> = files.iter().map(|(path, text)| SourceFile::new(*path, *text)).collect();
    extract(&files)
}

fn queries(source: &str) -> Vec<EmbeddedQuery> {
    let extraction = extract_files(&[("app/db.py", source)]);
    assert_eq!(extraction.diagnostics, vec![], "unexpected diagnostics");
    extraction.queries
}

fn only(source: &str) -> EmbeddedQuery {
    let mut found = queries(source);
    assert_eq!(found.len(), 1, "expected one query, got {found:#?}");
    found.remove(0)
}

/// An argument as SQL spells its possible values: `'a'|1`, `?` if unknown.
fn show(arg: &Arg) -> String {
    let mut values: Vec<String> = arg.known.iter().map(|k| k.literal.to_sql()).collect();
    if arg.unknown {
        values.push("?".to_string());
    }
    values.join("|")
}

fn positional(params: &Params) -> Vec<String> {
    match params {
        Params::Positional(args) => args.iter().map(show).collect(),
        other => panic!("expected positional parameters, got {other:?}"),
    }
}

fn named(params: &Params) -> Vec<(String, String)> {
    match params {
        Params::Named(args) => args.iter().map(|(name, arg)| (name.clone(), show(arg))).collect(),
        other => panic!("expected named parameters, got {other:?}"),
    }
}

fn line_col(location: &dbveto_source::Location) -> (u32, u32) {
    (location.line, location.column)
}

#[test]
fn execute_with_tuple_binds_positional_values() {
    let q = only(
        "def save(cur, name):\n    cur.execute(\"INSERT INTO logs (name, level, ok, note) VALUES (%s, %s, %s, %s)\", (name, 3, True, None))\n",
    );
    assert_eq!(q.sql.text, "INSERT INTO logs (name, level, ok, note) VALUES (%s, %s, %s, %s)");
    assert_eq!(line_col(&q.call.unwrap()), (2, 5));
    assert_eq!(line_col(&q.sql.location(0).unwrap()), (2, 18));
    assert_eq!(positional(&q.params), ["?", "3", "true", "NULL"]);
    let Params::Positional(args) = &q.params else { unreachable!() };
    let level = &args[1].known[0];
    assert_eq!(line_col(level.origin.as_ref().unwrap()), (2, 92));
    assert_eq!(level.via.as_deref(), Some("parameter 2 of execute()"));
}

#[test]
fn implicit_concatenation_maps_lines() {
    let source = "def f(cur):\n    cur.execute(\n        \"INSERT INTO t (a) \"\n        'VALUES (%s)',\n        ('x',),\n    )\n";
    let q = only(source);
    assert_eq!(q.sql.text, "INSERT INTO t (a) VALUES (%s)");
    assert_eq!(line_col(&q.sql.location(0).unwrap()), (3, 10));
    let values = q.sql.text.find("VALUES").unwrap();
    assert_eq!(line_col(&q.sql.location(values).unwrap()), (4, 10));
    assert_eq!(positional(&q.params), ["'x'"]);
}

#[test]
fn escapes_and_triple_quotes_keep_lines_exact() {
    let source = "SQL = \"\"\"\n  INSERT INTO t (a)\\n\n  VALUES (\\t1)\"\"\"\ncur.execute(SQL)\n";
    let q = only(source);
    assert_eq!(q.sql.text, "\n  INSERT INTO t (a)\n\n  VALUES (\t1)");
    let values = q.sql.text.find("VALUES").unwrap();
    assert_eq!(line_col(&q.sql.location(values).unwrap()), (3, 3));
    let one = q.sql.text.find('1').unwrap();
    assert_eq!(line_col(&q.sql.location(one).unwrap()), (3, 13));
}

#[test]
fn raw_strings_keep_backslashes() {
    let q = only("cur.execute(r'INSERT INTO t (a) VALUES (E\\'\\n\\')')\n");
    assert_eq!(q.sql.text, r"INSERT INTO t (a) VALUES (E\'\n\')");
}

#[test]
fn imported_constant_sql_resolves() {
    let extraction = extract_files(&[
        ("app/queries.py", "INSERT_LOG = \"\"\"\nINSERT INTO logs (level) VALUES (%(level)s)\n\"\"\"\n"),
        (
            "app/views.py",
            "from app.queries import INSERT_LOG\n\ndef view(cur):\n    cur.execute(INSERT_LOG, {\"level\": \"warn\"})\n",
        ),
    ]);
    assert_eq!(extraction.queries.len(), 1, "{:#?}", extraction.queries);
    let q = &extraction.queries[0];
    assert_eq!(q.sql.text.trim(), "INSERT INTO logs (level) VALUES (%(level)s)");
    let start = q.sql.location(1).unwrap();
    assert_eq!((&*start.path, start.line, start.column), ("app/queries.py", 2, 1));
    assert_eq!(&*q.call.as_ref().unwrap().path, "app/views.py");
    assert_eq!(named(&q.params), [("level".to_string(), "'warn'".to_string())]);
}

#[test]
fn imports_resolve_relative_aliased_and_under_src() {
    let extraction = extract_files(&[
        ("src/shop/sql/__init__.py", "from .orders import *\n"),
        ("src/shop/sql/orders.py", "ORDER = 'INSERT INTO orders (state) VALUES (?)'\n"),
        ("src/shop/consts.py", "NEW = 'new'\n"),
        (
            "src/shop/service.py",
            "import shop.sql as q\nfrom . import consts\nfrom .consts import NEW as FRESH\n\n\
             def f(c):\n    c.execute(q.ORDER, [consts.NEW])\n    c.execute(q.ORDER, [FRESH])\n",
        ),
    ]);
    let found: Vec<_> =
        extraction.queries.iter().map(|q| (q.sql.text.as_str(), positional(&q.params))).collect();
    let order = "INSERT INTO orders (state) VALUES (?)";
    assert_eq!(found, [(order, vec!["'new'".to_string()]), (order, vec!["'new'".to_string()])]);
    let via = match &extraction.queries[0].params {
        Params::Positional(args) => args[0].known[0].via.clone(),
        _ => None,
    };
    assert_eq!(via.as_deref(), Some("parameter 1 of execute() (consts.NEW)"));
}

#[test]
fn docstring_is_not_a_query() {
    let source =
        "\"\"\"Update the cache of the module.\"\"\"\n\nclass Cache:\n    \"\"\"Insert rows.\"\"\"\n\n\
                  def refresh(self):\n        'Update everything.'\n        return 1\n";
    assert_eq!(queries(source), vec![]);
}

#[test]
fn other_write_like_literals_have_no_call_and_unknown_params() {
    let q = only("MESSAGE = 'Update the cache'\nlog(MESSAGE)\n");
    assert_eq!(q.sql.text, "Update the cache");
    assert_eq!(q.call, None);
    assert_eq!(q.params, Params::Unknown);
    assert_eq!(line_col(&q.sql.location(0).unwrap()), (1, 12));
}

#[test]
fn fstring_with_interpolation_is_skipped() {
    let source = "def f(cur, table):\n    cur.execute(f\"INSERT INTO {table} (a) VALUES (%s)\", (1,))\n    \
                  cur.execute(f\"INSERT INTO t (a) VALUES ({{1}})\")\n";
    let found = queries(source);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].sql.text, "INSERT INTO t (a) VALUES ({1})");
    assert_eq!(found[0].params, Params::Positional(vec![]));
}

#[test]
fn unparsable_file_gives_diagnostic() {
    let extraction =
        extract_files(&[("app/broken.py", "x = (\ncur.execute('INSERT INTO t (a) VALUES (1)')\ndef :\n")]);
    assert_eq!(extraction.diagnostics.len(), 1);
    let diagnostic = &extraction.diagnostics[0];
    assert_eq!(diagnostic.severity, Severity::Warning);
    assert!(diagnostic.message.starts_with("could not parse Python: "), "{}", diagnostic.message);
    assert_eq!(&*diagnostic.location.path, "app/broken.py");
    // What the parser recovered is still read.
    assert!(extraction.queries.iter().any(|q| q.sql.text == "INSERT INTO t (a) VALUES (1)"));
}

#[test]
fn cyclic_constants_terminate() {
    let extraction = extract_files(&[
        ("a.py", "from b import B\nA = B\nS = S + 'x'\ncur.execute(A)\ncur.execute(S)\n"),
        ("b.py", "from a import A\nB = A\nfrom c import *\n"),
        ("c.py", "from b import *\n"),
        ("d.py", "from c import X\ncur.execute(X)\nL1 = 'INSERT ' + 'INTO t (a) VALUES (1)'\n"),
    ]);
    assert_eq!(extraction.queries.len(), 1);
    assert_eq!(extraction.queries[0].call, None);
}

#[test]
fn exponential_constants_are_bounded() {
    let mut source = String::from("A0 = 'INSERT INTO t (a) VALUES (1) '\n");
    for i in 1..64 {
        source.push_str(&format!("A{i} = A{} + A{}\n", i - 1, i - 1));
    }
    source.push_str("cur.execute(A63)\n");
    // Only the literal itself, as a candidate: A63 is far too long.
    let found = queries(&source);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].call, None);
}

#[test]
fn sqlalchemy_text_with_dict_binds_named() {
    let source = "from sqlalchemy import text\n\ndef f(session, user):\n    \
                  session.execute(text(\"INSERT INTO users (name, role) VALUES (:name, :role)\"), {\"name\": user, \"role\": \"admin\"})\n";
    let q = only(source);
    assert_eq!(q.sql.text, "INSERT INTO users (name, role) VALUES (:name, :role)");
    assert_eq!(line_col(&q.call.unwrap()), (4, 5));
    assert_eq!(
        named(&q.params),
        [("name".to_string(), "?".to_string()), ("role".to_string(), "'admin'".to_string())]
    );
}

#[test]
fn sqlalchemy_bindparams_and_stored_text_clauses() {
    let source =
        "import sqlalchemy as sa\n\nSTMT = sa.text('UPDATE users SET role = :role WHERE id = :id')\n\n\
                  def f(conn, id):\n    conn.execute(STMT.bindparams(role='admin', id=id))\n    \
                  conn.execute(STMT, dict(role='user'))\n";
    let found = queries(source);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        named(&found[0].params),
        [("id".to_string(), "?".to_string()), ("role".to_string(), "'admin'".to_string())]
    );
    assert_eq!(named(&found[1].params), [("role".to_string(), "'user'".to_string())]);
    assert_eq!(line_col(found[0].call.as_ref().unwrap()), (6, 5));
}

#[test]
fn text_clause_not_run_here_is_sql_with_unknown_params() {
    let q =
        only("from sqlalchemy import text\nSTMT = text('INSERT INTO t (a) VALUES (:a)').bindparams(a=1)\n");
    assert_eq!(line_col(q.call.as_ref().unwrap()), (2, 8));
    assert_eq!(q.params, Params::Unknown);
}

#[test]
fn text_from_elsewhere_is_not_sqlalchemy() {
    let q = only("from app.ui import text\ntext('Update your profile')\n");
    assert_eq!(q.call, None);
}

#[test]
fn executemany_merges_rows() {
    let source = "def f(cur, x):\n    cur.executemany('INSERT INTO t (a, b) VALUES (%s, %s)', [(1, 'a'), (2, x), (3,)])\n    \
                  cur.executemany('INSERT INTO t (a) VALUES (:a)', [{'a': 1}, {'a': -2}])\n    \
                  cur.executemany('INSERT INTO t (a, b) VALUES (?, ?)', [(i, 'new') for i in x])\n    \
                  cur.executemany('INSERT INTO t (a) VALUES (?)', rows)\n";
    let found = queries(source);
    assert_eq!(found.len(), 4);
    assert_eq!(positional(&found[0].params), ["1|2|3", "'a'|?"]);
    assert_eq!(named(&found[1].params), [("a".to_string(), "1|-2".to_string())]);
    assert_eq!(positional(&found[2].params), ["?", "'new'"]);
    assert_eq!(found[3].params, Params::Unknown);
    let Params::Positional(args) = &found[0].params else { unreachable!() };
    assert_eq!(args[0].known[1].via.as_deref(), Some("parameter 1 of row 2 of executemany()"));
}

#[test]
fn params_that_are_not_literals_are_unknown() {
    let source = "def f(cur, params, *rest):\n    cur.execute('INSERT INTO t (a) VALUES (%s)', params)\n    \
                  cur.execute('INSERT INTO t (a) VALUES (%s)', *rest)\n    cur.execute('INSERT INTO t (a) VALUES (1)')\n";
    let found = queries(source);
    assert_eq!(found.len(), 3);
    assert_eq!(found[0].params, Params::Unknown);
    assert_eq!(found[1].params, Params::Unknown);
    assert_eq!(found[2].params, Params::Positional(vec![]));
}

#[test]
fn constants_names_and_class_attributes_are_known_values() {
    let source = "import enum\nLIMIT = -5\nBIG = 18446744073709551616\nclass Status(str, enum.Enum):\n    \
                  ACTIVE = 'active'\n\ndef f(cur):\n    kind = 'local'\n    \
                  cur.execute('INSERT INTO t VALUES (%s, %s, %s, %s, %s, %s)', (LIMIT, BIG, Status.ACTIVE, \
                  Status.ACTIVE.value, kind, 1.50))\n";
    let q = only(source);
    assert_eq!(
        positional(&q.params),
        ["-5", "18446744073709551616", "'active'", "'active'", "'local'", "1.50"]
    );
    let Params::Positional(args) = &q.params else { unreachable!() };
    assert_eq!(args[0].known[0].literal, Literal::Int(-5));
    assert_eq!(line_col(args[2].known[0].origin.as_ref().unwrap()), (5, 14));
}

#[test]
fn locals_bound_more_than_once_are_unknown() {
    let source = "def f(cur, flag):\n    sql = 'INSERT INTO t (a) VALUES (%s)'\n    v = 'a'\n    \
                  if flag:\n        v = 'b'\n    cur.execute(sql, (v,))\n\ndef g(cur):\n    \
                  sql = 'UPDATE t SET a = 1'\n    sql += ' WHERE b = 2'\n    cur.execute(sql)\n";
    let found = queries(source);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(positional(&found[0].params), ["?"]);
    assert!(found[0].call.is_some());
    // Reassigned: only the literal, with no call.
    assert_eq!(found[1].sql.text, "UPDATE t SET a = 1");
    assert_eq!(found[1].call, None);
}

#[test]
fn constants_reassigned_or_changed_by_functions_are_unknown() {
    let source = "SQL = 'INSERT INTO t (a) VALUES (%s)'\nSTATE = 'a'\ndef reset():\n    global STATE\n    \
                  STATE = 'b'\nclass K:\n    X = 'x'\nK.X = 'y'\ncur.execute(SQL, (STATE, K.X))\n";
    assert_eq!(positional(&only(source).params), ["?", "?"]);
}

#[test]
fn concatenation_of_constants_maps_each_piece() {
    let source =
        "BASE = 'INSERT INTO t (a) '\ndef f(cur):\n    cur.execute(BASE +\n        'VALUES (%s)', ('x',))\n";
    let q = only(source);
    assert_eq!(q.sql.text, "INSERT INTO t (a) VALUES (%s)");
    let values = q.sql.text.find("VALUES").unwrap();
    assert_eq!(line_col(&q.sql.location(values).unwrap()), (4, 10));
    assert_eq!(line_col(&q.sql.location(0).unwrap()), (1, 9));
}

#[test]
fn asyncpg_arguments_bind_each_placeholder() {
    let q = only(
        "async def f(conn, x):\n    await conn.execute('INSERT INTO t (a, b) VALUES ($1, $2)', 'a', x)\n",
    );
    assert_eq!(positional(&q.params), ["'a'", "?"]);
}

#[test]
fn selects_are_not_reported() {
    assert_eq!(queries("cur.execute('SELECT * FROM t WHERE a = %s', (1,))\nQ = 'DELETE FROM t'\n"), vec![]);
}

#[test]
fn hostile_inputs_do_not_panic() {
    let deep_parens = format!("x = {}1{}\n", "(".repeat(50_000), ")".repeat(50_000));
    let deep_unary = format!("x = {}1\n", "-".repeat(100_000));
    let long_chain = format!("x = 'INSERT INTO t VALUES (1)'{}\n", " + 'a'".repeat(100_000));
    let deep_calls =
        format!("cur.execute({}'INSERT INTO t VALUES (1)'{})\n", "f(".repeat(5_000), ")".repeat(5_000));
    // Blocks nested past the walk's depth limit, a function in them, blocks
    // nested again in it, and a long chain of constants to evaluate there.
    let mut deep_blocks = String::from("A0 = 'INSERT INTO t VALUES (1)'\n");
    for i in 1..300 {
        deep_blocks.push_str(&format!("A{i} = A{} + ''\n", i - 1));
    }
    let mut indent = String::new();
    for i in 0..300 {
        let block = if i == 95 { "def f(cur):" } else { "if x:" };
        deep_blocks.push_str(&format!("{indent}{block}\n"));
        indent.push(' ');
        if i == 95 || i == 190 {
            deep_blocks.push_str(&format!("{indent}cur.execute(A299, (A299, lambda: [x for x in A2]))\n"));
        }
    }
    let garbage: String = (0u32..5000).filter_map(|i| char::from_u32((i * 7919) % 0x2FFF)).collect();
    let fstring_specs = format!("f'{}x{}'\n", "{x:".repeat(2_000), "}".repeat(2_000));
    let files = [
        ("deep_parens.py", deep_parens.as_str()),
        ("deep_unary.py", deep_unary.as_str()),
        ("long_chain.py", long_chain.as_str()),
        ("deep_calls.py", deep_calls.as_str()),
        ("deep_blocks.py", deep_blocks.as_str()),
        ("garbage.py", garbage.as_str()),
        ("fstring_specs.py", fstring_specs.as_str()),
        ("unterminated.py", "cur.execute('INSERT INTO t VALUES (1)\n\"\"\"never closed"),
        ("nul.py", "\0\0\u{feff}x = '\\N{BOGUS NAME}' 'INSERT'\n"),
        ("empty.py", ""),
    ];
    // Worker threads have small stacks: run on smaller ones still (1 MiB,
    // half the default) to keep a margin, even in debug builds.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).stack_size(1 << 20).build().unwrap();
    let extraction = pool.install(|| extract_files(&files));
    assert!(extraction.diagnostics.iter().any(|d| &*d.location.path == "garbage.py"));
}

#[test]
fn output_is_in_file_then_source_order() {
    let extraction = extract_files(&[
        ("b.py", "cur.execute('INSERT INTO b VALUES (1)')\nX = 'INSERT INTO a VALUES (2)'\n"),
        ("a.py", "Y = 'UPDATE a SET x = 1'\n"),
    ]);
    let texts: Vec<&str> = extraction.queries.iter().map(|q| q.sql.text.as_str()).collect();
    assert_eq!(texts, ["INSERT INTO b VALUES (1)", "INSERT INTO a VALUES (2)", "UPDATE a SET x = 1"]);
}

#[test]
fn dedent_and_strip_keep_locations() {
    let source = "from textwrap import dedent\n\ndef f(cur):\n    cur.execute(dedent(\"\"\"\n        INSERT INTO t (a)\n          \n        VALUES (%s)\n    \"\"\").strip(), (1,))\n";
    let q = only(source);
    assert_eq!(q.sql.text, "INSERT INTO t (a)\n\nVALUES (%s)");
    assert_eq!(line_col(&q.sql.location(0).unwrap()), (5, 9));
    let values = q.sql.text.find("VALUES").unwrap();
    assert_eq!(line_col(&q.sql.location(values).unwrap()), (7, 9));
    assert_eq!(positional(&q.params), ["1"]);
}

#[test]
fn sqlalchemy_list_of_dicts_is_executemany_and_kwargs_are_unknown() {
    let source = "from sqlalchemy import text\nQ = text('INSERT INTO t (a) VALUES (:a)')\n\
                  conn.execute(Q, [{'a': 1}, {'a': 2}])\nconn.execute(Q, a=3)\n";
    let found = queries(source);
    assert_eq!(found.len(), 2);
    assert_eq!(named(&found[0].params), [("a".to_string(), "1|2".to_string())]);
    assert_eq!(found[1].params, Params::Unknown);
}

#[test]
fn line_continuations_inside_strings_map_to_the_next_line() {
    let q = only("cur.execute(\"INSERT INTO t (a) \\\nVALUES (1)\")\n");
    assert_eq!(q.sql.text, "INSERT INTO t (a) VALUES (1)");
    let values = q.sql.text.find("VALUES").unwrap();
    assert_eq!(line_col(&q.sql.location(values).unwrap()), (2, 1));
}

#[test]
fn exec_driver_sql_binds_tuples_and_lists_of_tuples() {
    let source = "conn.exec_driver_sql('INSERT INTO t (a, b) VALUES (%s, %s)', (1, 'x'))\n\
                  conn.exec_driver_sql('INSERT INTO t (a, b) VALUES (%s, %s)', [(1, 'x'), (2, 'y')])\n";
    let found = queries(source);
    assert_eq!(positional(&found[0].params), ["1", "'x'"]);
    assert_eq!(positional(&found[1].params), ["1|2", "'x'|'y'"]);
}

#[test]
fn execute_params_override_bindparams_and_classes_import() {
    let extraction = extract_files(&[
        ("app/models.py", "class Role:\n    ADMIN = 'admin'\n"),
        (
            "app/jobs.py",
            "from sqlalchemy import text\nfrom app.models import Role\n\
             conn.execute(text('UPDATE u SET role = :role, a = :a').bindparams(role='x', a=1), {'role': Role.ADMIN})\n",
        ),
    ]);
    let q = &extraction.queries[0];
    assert_eq!(
        named(&q.params),
        [("a".to_string(), "1".to_string()), ("role".to_string(), "'admin'".to_string())]
    );
    let Params::Named(args) = &q.params else { unreachable!() };
    let role = &args["role"].known[0];
    assert_eq!(&*role.origin.as_ref().unwrap().path, "app/models.py");
    assert_eq!(role.via.as_deref(), Some("parameter \"role\" of execute() (Role.ADMIN)"));
}

/// The whole output for a module in the style of an application, as people read it.
#[test]
fn realistic_module_snapshot() {
    let source = r#""""Orders, written with psycopg and SQLAlchemy."""
from textwrap import dedent

from sqlalchemy import text

from .states import State

INSERT_ORDER = dedent("""
    INSERT INTO orders (customer_id, state, total)
    VALUES (%s, %s, %s)
""")


def place(cur, customer_id, total):
    cur.execute(INSERT_ORDER, (customer_id, State.NEW, total))


def cancel_all(session, ids):
    session.execute(
        text("UPDATE orders SET state = :state WHERE id = ANY(:ids)"),
        {"state": State.CANCELLED, "ids": ids},
    )


def log(message="Update the order log"):
    return message
"#;
    let extraction = extract_files(&[
        ("shop/orders.py", source),
        ("shop/states.py", "class State:\n    NEW = 'new'\n    CANCELLED = 'cancelled'\n"),
    ]);
    let mut out = String::new();
    for q in &extraction.queries {
        let at = |l: &dbveto_source::Location| format!("{}:{}:{}", l.path, l.line, l.column);
        let call = q.call.as_ref().map_or("-".to_string(), at);
        let start = q.sql.location(0).map_or("-".to_string(), |l| at(&l));
        out.push_str(&format!("call {call}, sql at {start}\n  {:?}\n", q.sql.text));
        let args: Vec<(String, &Arg)> = match &q.params {
            Params::Positional(args) => {
                args.iter().enumerate().map(|(i, a)| (format!("${}", i + 1), a)).collect()
            }
            Params::Named(args) => args.iter().map(|(n, a)| (n.clone(), a)).collect(),
            Params::Unknown => {
                out.push_str("  params unknown\n");
                Vec::new()
            }
        };
        for (name, arg) in args {
            out.push_str(&format!("  {name} = {}\n", show(arg)));
            for known in &arg.known {
                let origin = known.origin.as_ref().map_or("-".to_string(), at);
                out.push_str(&format!(
                    "    {} at {origin} via {}\n",
                    known.literal.to_sql(),
                    known.via.as_deref().unwrap_or("-")
                ));
            }
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn params_bound_to_a_local_display_are_followed() {
    let q = only(
        "def add(cur, note):\n    params = {\"status\": \"open\", \"note\": note}\n    cur.execute(\"INSERT INTO t (status, note) VALUES (%(status)s, %(note)s)\", params)\n",
    );
    assert_eq!(named(&q.params), [("note".to_string(), "?".to_string()), ("status".to_string(), "'open'".to_string())]);
    let q = only("def add(cur):\n    row = (\"open\", 2)\n    cur.execute(\"INSERT INTO t (status, n) VALUES (%s, %s)\", row)\n");
    assert_eq!(positional(&q.params), ["'open'", "2"]);
}

#[test]
fn params_changed_in_place_or_bound_twice_are_unknown() {
    for source in [
        "def add(cur, s):\n    params = {\"status\": \"open\"}\n    params[\"status\"] = s\n    cur.execute(\"INSERT INTO t (status) VALUES (%(status)s)\", params)\n",
        "def add(cur, s):\n    params = {\"status\": \"open\"}\n    params.update(status=s)\n    cur.execute(\"INSERT INTO t (status) VALUES (%(status)s)\", params)\n",
        "def add(cur, s):\n    params = {\"status\": \"open\"}\n    if s:\n        params = {\"status\": s}\n    cur.execute(\"INSERT INTO t (status) VALUES (%(status)s)\", params)\n",
        "def add(cur, make):\n    params = make()\n    cur.execute(\"INSERT INTO t (status) VALUES (%(status)s)\", params)\n",
    ] {
        assert_eq!(only(source).params, Params::Unknown, "{source}");
    }
}
