use std::collections::BTreeMap;
use std::fmt::Write as _;

use dbveto_source::SourceFile;
use dbveto_writes::{Arg, EmbeddedQuery, Literal, Params};

use crate::{extract, GoExtraction};

const GO_MOD: &str = "module example.com/app\n\ngo 1.22\n";

fn run(files: &[(&str, &str)]) -> GoExtraction {
    run_with_mods(files, &[("go.mod", GO_MOD)])
}

fn run_with_mods(files: &[(&str, &str)], mods: &[(&str, &str)]) -> GoExtraction {
    let files: Vec<SourceFile> = files.iter().map(|(p, t)| SourceFile::new(*p, *t)).collect();
    let mods: Vec<SourceFile> = mods.iter().map(|(p, t)| SourceFile::new(*p, *t)).collect();
    let out = extract(&files, &mods);
    // Skimming function bodies before parsing changes nothing.
    assert_eq!(out, crate::extract_with(&files, &mods, false), "skimmed and whole parses differ");
    out
}

fn only(out: &GoExtraction) -> &EmbeddedQuery {
    assert_eq!(out.queries.len(), 1, "expected one query: {:#?}", out.queries);
    &out.queries[0]
}

fn named(q: &EmbeddedQuery) -> &BTreeMap<String, Arg> {
    match &q.params {
        Params::Named(params) => params,
        other => panic!("expected named params, got {other:?}"),
    }
}

fn positional(q: &EmbeddedQuery) -> &[Arg] {
    match &q.params {
        Params::Positional(args) => args,
        other => panic!("expected positional params, got {other:?}"),
    }
}

/// Known values as SQL, in order.
fn values(arg: &Arg) -> Vec<String> {
    arg.known.iter().map(|k| k.literal.to_sql()).collect()
}

/// `path:line:column` of each known value's origin.
fn origins(arg: &Arg) -> Vec<String> {
    arg.known.iter().map(|k| k.origin.as_ref().map_or("-".to_string(), |o| o.to_string())).collect()
}

fn render(out: &GoExtraction) -> String {
    let mut s = String::new();
    for q in &out.queries {
        let start = q.sql.location(0).map_or("?".into(), |l| l.to_string());
        let call = q.call.as_ref().map_or("none".into(), |l| l.to_string());
        let _ = writeln!(s, "query at {start}, call {call}\n  {}", q.sql.text);
        let mut arg_line = |name: &str, arg: &Arg| {
            let known: Vec<String> = arg
                .known
                .iter()
                .map(|k| {
                    let origin = k.origin.as_ref().map_or("-".into(), |o| o.to_string());
                    format!("{} @ {origin} ({})", k.literal.to_sql(), k.via.as_deref().unwrap_or("-"))
                })
                .collect();
            let _ = writeln!(
                s,
                "  {name}: [{}]{}",
                known.join(", "),
                if arg.unknown { " + unknown" } else { "" }
            );
        };
        match &q.params {
            Params::Unknown => arg_line("params", &Arg::unknown()),
            Params::Positional(args) => {
                args.iter().enumerate().for_each(|(i, a)| arg_line(&format!("${}", i + 1), a))
            }
            Params::Named(params) => params.iter().for_each(|(k, a)| arg_line(&format!(":{k}"), a)),
        }
    }
    for d in &out.diagnostics {
        let _ = writeln!(s, "diagnostic {} {:?}: {}", d.location, d.severity, d.message);
    }
    s
}

const UPDATE_LOG: &str = r#"package models

type UpdateLog struct {
	ID        string `db:"id"`
	CommandID string `db:"command_id"`
	Result    string `db:"result"`
	Message   string `db:"message"`
}
"#;

const REPOSITORY: &str = r#"package database

import (
	"context"

	"github.com/jmoiron/sqlx"

	"example.com/app/models"
)

type UpdateLogRepository struct{ db *sqlx.DB }

func (r *UpdateLogRepository) CreateUpdateLog(ctx context.Context, log *models.UpdateLog) error {
	query := `INSERT INTO update_logs (id, command_id, result, message) VALUES (:id, :command_id, :result, :message)`
	_, err := r.db.NamedExecContext(ctx, query, log)
	return err
}
"#;

fn seed_002(timeout: &str, extra: &[(&str, &str)]) -> GoExtraction {
    let mut files = vec![
        ("models/update_log.go", UPDATE_LOG),
        ("services/timeout.go", timeout),
        ("database/update_logs.go", REPOSITORY),
    ];
    files.extend_from_slice(extra);
    run(&files)
}

#[test]
fn named_exec_binds_struct_literal_from_another_package() {
    let timeout = r#"package services

import (
	"context"

	"example.com/app/models"
)

func (s *TimeoutService) Expire(ctx context.Context, cmd *models.Command) error {
	entry := &models.UpdateLog{
		CommandID: cmd.ID,
		Result:    "timed_out",
		Message:   "command timed out",
	}
	return s.logs.CreateUpdateLog(ctx, entry)
}
"#;
    let out = seed_002(timeout, &[]);
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let q = only(&out);
    assert!(q.sql.text.starts_with("INSERT INTO update_logs"));
    let start = q.sql.location(0).unwrap();
    assert_eq!((&*start.path, start.line, start.column), ("database/update_logs.go", 14, 12));
    let call = q.call.as_ref().unwrap();
    assert_eq!((&*call.path, call.line), ("database/update_logs.go", 15));

    let params = named(q);
    assert_eq!(params.keys().collect::<Vec<_>>(), ["command_id", "id", "message", "result"]);
    let result = &params["result"];
    assert_eq!(values(result), ["'timed_out'"]);
    assert_eq!(origins(result), ["services/timeout.go:12:14"]);
    assert!(!result.unknown);
    assert_eq!(result.known[0].via.as_deref(), Some(r#"field Result (db:"result") of models.UpdateLog"#));
    assert!(params["id"].unknown && params["id"].known.is_empty(), "never set");
    assert!(params["command_id"].unknown && params["command_id"].known.is_empty(), "set from cmd.ID");
    assert_eq!(values(&params["message"]), ["'command timed out'"]);
    insta::assert_snapshot!(render(&out));
}

#[test]
fn named_exec_binds_constant_of_another_package() {
    let timeout = r#"package services

import "example.com/app/models"

func expire(cmd *models.Command) *models.UpdateLog {
	return &models.UpdateLog{CommandID: cmd.ID, Result: models.ResultTimedOut}
}
"#;
    let results = "package models\n\nconst ResultTimedOut = \"timed_out\"\n";
    let out = seed_002(timeout, &[("models/results.go", results)]);
    let result = &named(only(&out))["result"];
    assert_eq!(values(result), ["'timed_out'"]);
    assert_eq!(origins(result), ["services/timeout.go:6:54"]);
    assert!(!result.unknown);
}

#[test]
fn aliased_import_resolves_struct_and_constant() {
    let timeout = r#"package services

import m "example.com/app/models"

func expire() *m.UpdateLog {
	return &m.UpdateLog{Result: m.ResultTimedOut}
}
"#;
    let results = "package models\n\nconst (\n\tResultOK = \"ok\"\n\tResultTimedOut = \"timed_out\"\n)\n";
    let out = seed_002(timeout, &[("models/results.go", results)]);
    assert_eq!(values(&named(only(&out))["result"]), ["'timed_out'"]);
}

#[test]
fn iota_const_blocks_and_typed_constants_evaluate() {
    let models = r#"package models

type Status string

type Attempt int

const (
	StatusQueued Status = "queued"
	StatusDone   Status = "done"
)

const (
	AttemptFirst Attempt = iota + 1
	AttemptSecond
	AttemptThird
	_
	AttemptFifth
)

const (
	FlagA = 1 << iota
	FlagB
	FlagC
)

type Job struct {
	Status  Status  `db:"status"`
	Attempt Attempt `db:"attempt"`
	Flags   int     `db:"flags"`
}
"#;
    let jobs = r#"package jobs

import (
	"example.com/app/models"
	"github.com/jmoiron/sqlx"
)

func retry(db *sqlx.DB) {
	job := models.Job{Status: models.Status("retrying"), Attempt: models.AttemptThird, Flags: models.FlagC | models.FlagA}
	db.NamedExec(`UPDATE jobs SET status = :status, attempt = :attempt, flags = :flags`, job)
	other := models.Job{Status: models.StatusDone, Attempt: models.AttemptFifth}
	_ = other
}
"#;
    let out = run(&[("models/models.go", models), ("jobs/jobs.go", jobs)]);
    let params = named(only(&out));
    assert_eq!(values(&params["status"]), ["'retrying'", "'done'"]);
    assert_eq!(values(&params["attempt"]), ["3", "5"]);
    assert!(!params["attempt"].unknown);
    assert_eq!(values(&params["flags"]), ["5"]);
}

#[test]
fn named_exec_binds_assignments_to_declared_variables() {
    let src = r#"package store

import (
	"context"

	"github.com/jmoiron/sqlx"
)

type Event struct {
	Kind   string `db:"kind"`
	Level  int    `db:"level,omitempty"`
	Ignore string `db:"-"`
	Plain  string
}

func record(ctx context.Context, db *sqlx.DB, level int) error {
	var ev Event
	ev.Kind = "audit"
	ev.Level = level
	_, err := db.NamedExecContext(ctx, "INSERT INTO events (kind, level) VALUES (:kind, :level)", &ev)
	return err
}

func other() {
	e := Event{}
	e.Kind = "debug"
}
"#;
    let out = run(&[("store/store.go", src)]);
    let params = named(only(&out));
    assert_eq!(params.keys().collect::<Vec<_>>(), ["kind", "level"]);
    assert_eq!(values(&params["kind"]), ["'audit'", "'debug'"]);
    assert_eq!(origins(&params["kind"]), ["store/store.go:18:12", "store/store.go:26:11"]);
    assert!(!params["kind"].unknown);
    assert!(params["level"].unknown && params["level"].known.is_empty());
}

#[test]
fn embedded_struct_fields_are_named_params() {
    let models = r#"package models

type Base struct {
	ID        string `db:"id"`
	CreatedBy string `db:"created_by"`
}

type Note struct {
	Base
	Body string `db:"body"`
}

func NewNote() *Note {
	n := &Note{Base: Base{CreatedBy: "system"}, Body: "hello"}
	n.ID = "fixed"
	return n
}
"#;
    let repo = r#"package repo

import "example.com/app/models"

func save(db DB, n *models.Note) {
	db.NamedExec("INSERT INTO notes (id, created_by, body) VALUES (:id, :created_by, :body)", n)
}
"#;
    let out = run(&[("models/note.go", models), ("repo/repo.go", repo)]);
    let params = named(only(&out));
    assert_eq!(params.keys().collect::<Vec<_>>(), ["body", "created_by", "id"]);
    assert_eq!(values(&params["created_by"]), ["'system'"]);
    assert_eq!(
        params["created_by"].known[0].via.as_deref(),
        Some(r#"field CreatedBy (db:"created_by") of models.Base"#)
    );
    // Promoted field assigned through the embedding struct.
    assert_eq!(values(&params["id"]), ["'fixed'"]);
    assert_eq!(values(&params["body"]), ["'hello'"]);
}

#[test]
fn elided_and_positional_struct_literals_count() {
    let src = r#"package seed

type Row struct {
	Name  string `db:"name"`
	State string `db:"state"`
}

var rows = []Row{{Name: "a", State: "new"}, {"b", "old"}}

func load(db DB) {
	db.NamedExec("INSERT INTO rows (name, state) VALUES (:name, :state)", rows)
}

func batch(db DB) {
	db.NamedExec("INSERT INTO rows (name, state) VALUES (:name, :state)", []Row{{State: "batch"}})
}
"#;
    let out = run(&[("seed/seed.go", src)]);
    assert_eq!(out.queries.len(), 2);
    // A package variable has no known type: unknown parameters.
    assert_eq!(out.queries[0].params, Params::Unknown);
    let params = named(&out.queries[1]);
    assert_eq!(values(&params["state"]), ["'new'", "'old'", "'batch'"]);
}

#[test]
fn field_scanned_into_is_unknown_too() {
    let src = r#"package s

type Row struct {
	State string `db:"state"`
}

func read(rows Rows) {
	var r Row
	rows.Scan(&r.State)
}

func write(db DB) {
	db.NamedExec("UPDATE t SET state = :state", &Row{State: "ok"})
}
"#;
    let out = run(&[("s/s.go", src)]);
    let state = &named(only(&out))["state"];
    assert_eq!(values(state), ["'ok'"]);
    assert!(state.unknown);
}

#[test]
fn map_literal_gives_named_params() {
    let src = r#"package s

const StateDone = "done"

func f(db DB, id string) {
	db.NamedExec("UPDATE jobs SET state = :state WHERE id = :id", map[string]interface{}{
		"state": StateDone,
		"id":    id,
	})
	args := map[string]any{"state": "failed"}
	db.NamedExec("UPDATE jobs SET state = :state", args)
}
"#;
    let out = run(&[("s/s.go", src)]);
    assert_eq!(out.queries.len(), 2);
    let first = named(&out.queries[0]);
    assert_eq!(values(&first["state"]), ["'done'"]);
    assert_eq!(origins(&first["state"]), ["s/s.go:7:12"]);
    assert!(first["id"].unknown);
    assert_eq!(values(&named(&out.queries[1])["state"]), ["'failed'"]);
}

#[test]
fn positional_args_are_known_for_constants_only() {
    let models = "package models\n\nconst StatusDone = \"done\"\n";
    let src = r#"package s

import (
	"context"

	"example.com/app/models"
)

func f(ctx context.Context, db DB, id string) {
	attempts := 3
	db.ExecContext(ctx, "UPDATE jobs SET status = $1, attempts = $2, note = $3, id = $4, ok = $5, gone = $6",
		models.StatusDone, attempts, 'x', id, true, nil)
}
"#;
    let out = run(&[("models/m.go", models), ("s/s.go", src)]);
    let args = positional(only(&out));
    assert_eq!(args.len(), 6);
    assert_eq!(values(&args[0]), ["'done'"]);
    assert_eq!(args[0].known[0].via.as_deref(), Some("constant models.StatusDone"));
    assert_eq!(origins(&args[0]), ["s/s.go:12:3"]);
    assert_eq!(values(&args[1]), ["3"]);
    assert_eq!(args[1].known[0].via.as_deref(), Some("variable attempts"));
    assert_eq!(values(&args[2]), ["120"]);
    assert_eq!(args[2].known[0].via.as_deref(), Some("argument 5 of ExecContext"));
    assert_eq!(args[3], Arg::unknown());
    assert_eq!(args[4].known[0].literal, Literal::Bool(true));
    assert_eq!(args[5].known[0].literal, Literal::Null);
}

#[test]
fn variadic_args_are_unknown() {
    let src = r#"package s

func f(db DB, args []any) {
	db.Exec("INSERT INTO t (a, b) VALUES ($1, $2)", args...)
}
"#;
    assert_eq!(only(&run(&[("s/s.go", src)])).params, Params::Unknown);
}

#[test]
fn concatenated_constants_map_offsets_to_each_piece() {
    let src = "package s\n\nconst cols = \"(a, b)\"\n\nconst insert = \"INSERT INTO t \" + cols +\n\t\" VALUES ($1, $2)\"\n\nfunc f(db DB) {\n\tdb.Exec(insert, 1, 2.5)\n}\n";
    let out = run(&[("s/s.go", src)]);
    let q = only(&out);
    assert_eq!(q.sql.text, "INSERT INTO t (a, b) VALUES ($1, $2)");
    let at = |needle: &str| q.sql.location(q.sql.text.find(needle).unwrap()).unwrap();
    assert_eq!((at("INSERT").line, at("INSERT").column), (5, 17));
    assert_eq!((at("(a, b)").line, at("(a, b)").column), (3, 15));
    assert_eq!((at("VALUES").line, at("VALUES").column), (6, 4));
    assert_eq!(values(&positional(q)[1]), ["2.5"]);
}

#[test]
fn interpreted_string_escapes_are_decoded() {
    let src = "package s\n\nfunc f(db DB) {\n\tdb.Exec(\"INSERT INTO t (a) VALUES ('x\\ty\\u00e9')\")\n}\n";
    let q = only(&run(&[("s/s.go", src)])).clone();
    assert_eq!(q.sql.text, "INSERT INTO t (a) VALUES ('x\ty\u{e9}')");
    assert_eq!(q.params, Params::Positional(vec![]));
}

#[test]
fn sql_constants_without_calls_are_emitted_without_call() {
    let src = r#"package db

const createLog = `-- name: CreateLog :exec
INSERT INTO logs (result) VALUES ($1)
`

var updateLog = "UPDATE logs SET result = $1"

const notSQL = "insert coin"

func f() {
	fmt.Println("SELECT 1")
}
"#;
    let out = run(&[("db/queries.go", src)]);
    assert_eq!(out.queries.len(), 3, "{}", render(&out));
    assert!(out.queries.iter().all(|q| q.call.is_none() && q.params == Params::Unknown));
    let start = out.queries[0].sql.location(0).unwrap();
    assert_eq!((start.line, start.column), (3, 20));
    // `insert coin` looks like a write; the SQL layer drops what does not parse.
    assert_eq!(out.queries[2].sql.text, "insert coin");
}

#[test]
fn constant_run_by_a_call_is_not_emitted_again() {
    let consts = "package q\n\nconst Base = \"INSERT INTO t (a) \"\nconst InsertA = Base + \"VALUES ($1)\"\nconst InsertB = Base + \"VALUES (2)\"\n";
    let src = "package s\n\nimport \"example.com/app/q\"\n\nfunc f(db DB) { db.Exec(q.InsertA, 1) }\n";
    let out = run(&[("q/q.go", consts), ("s/s.go", src)]);
    let texts: Vec<(&str, bool)> =
        out.queries.iter().map(|q| (q.sql.text.as_str(), q.call.is_some())).collect();
    assert_eq!(texts, [("INSERT INTO t (a) VALUES (2)", false), ("INSERT INTO t (a) VALUES ($1)", true)]);
}

#[test]
fn generated_files_produce_no_queries() {
    let generated = "// Code generated by sqlc. DO NOT EDIT.\n// versions:\n\npackage db\n\nconst createLog = `INSERT INTO logs (a) VALUES ($1)`\n\nfunc (q *Queries) CreateLog(ctx context.Context, a string) error {\n\t_, err := q.db.ExecContext(ctx, createLog, a)\n\treturn err\n}\n";
    let out = run(&[("db/query.sql.go", generated)]);
    assert!(out.queries.is_empty(), "{}", render(&out));
    // A marker after the package clause is just a comment.
    let late = "package db\n\n// Code generated by hand. DO NOT EDIT.\nconst q = `INSERT INTO logs (a) VALUES (1)`\n";
    assert_eq!(run(&[("db/late.go", late)]).queries.len(), 1);
}

#[test]
fn unparsable_file_gives_diagnostic() {
    let src = "package s\n\nfunc f(db DB) {\n\tdb.Exec(\"INSERT INTO t (a) VALUES (1)\")\n\tif {{{\n}\n";
    let out = run(&[("s/bad.go", src)]);
    assert_eq!(out.diagnostics.len(), 1);
    let d = &out.diagnostics[0];
    assert_eq!(d.severity, dbveto_source::Severity::Warning);
    assert_eq!(d.message, "could not parse Go: syntax error");
    assert_eq!(&*d.location.path, "s/bad.go");
    // What parsed is still used.
    assert!(out.queries.iter().any(|q| q.sql.text.starts_with("INSERT INTO t")), "{}", render(&out));
}

#[test]
fn binary_garbage_does_not_panic() {
    let mut garbage = String::new();
    for i in 0..20_000u32 {
        garbage.push(char::from_u32((i * 7919) % 0x2FFF).unwrap_or('\u{fffd}'));
        if i % 97 == 0 {
            garbage.push_str("\"`'\\{(*&.");
        }
    }
    let inputs = [
        garbage.as_str(),
        "",
        "package",
        "\"",
        "`",
        "package p\nconst x = '",
        "package p\nfunc f() { db.Exec(",
        "package p\nvar x = T{A: ",
        "package p\ntype T struct { A string `db:\"",
        "package p\nimport m \"",
        "\u{0}\u{1}package p\u{0}",
    ];
    for input in inputs {
        let _ = run(&[("g/g.go", input), ("g/h.go", "package g\nconst x = \"INSERT INTO t VALUES (1)\"\n")]);
    }
}

#[test]
fn deeply_nested_expressions_do_not_overflow() {
    let depth = 20_000;
    let parens = format!(
        "package p\n\nconst deep = {}\"INSERT INTO t VALUES (1)\"{}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let unary = format!("package p\n\nvar x = {}1\n", "-".repeat(depth));
    let chain = format!(
        "package p\n\nfunc f(db DB) {{ db.Exec(\"INSERT INTO t (a) VALUES \" {}) }}\n",
        "+ \"(1)\" ".repeat(depth)
    );
    let calls = format!("package p\n\nvar y = {}0{}\n", "f(".repeat(depth), ")".repeat(depth));
    for src in [parens, unary, chain, calls] {
        let out = run(&[("p/p.go", &src)]);
        assert!(out.queries.len() <= 1);
    }
}

#[test]
fn long_concatenation_resolves() {
    let pieces = "+ \"(1), \" ".repeat(2_000);
    let src = format!(
        "package p\n\nfunc f(db DB) {{ db.Exec(\"INSERT INTO t (a) VALUES \" {pieces} + \"(2)\") }}\n"
    );
    let q = only(&run(&[("p/p.go", &src)])).clone();
    assert!(q.sql.text.ends_with("(1), (2)"));
    assert!(q.call.is_some());
}

#[test]
fn cyclic_constants_terminate() {
    let src = r#"package p

const a = b
const b = a
const c = "INSERT INTO t (x) VALUES (" + c + ")"
const (
	d = e + 1
	e = d
)

func f(db DB) {
	db.Exec(a)
	db.Exec(c, d)
	q := q + "INSERT INTO t VALUES (1)"
	db.Exec(q)
}
"#;
    let out = run(&[("p/p.go", src)]);
    assert!(out.queries.iter().all(|q| q.call.is_none()), "{}", render(&out));
}

#[test]
fn exponential_constants_are_bounded() {
    let mut src = String::from("package p\n\nconst a0 = \"INSERT INTO t VALUES (1); \"\n");
    for i in 1..=60 {
        let _ = writeln!(src, "const a{i} = a{} + a{}", i - 1, i - 1);
    }
    src.push_str("func f(db DB) { db.Exec(a60) }\n");
    let started = std::time::Instant::now();
    let out = run(&[("p/p.go", &src)]);
    assert!(started.elapsed().as_secs() < 20);
    assert!(out.queries.iter().all(|q| q.sql.text.len() <= 1 << 20));
}

#[test]
fn local_assigned_twice_is_not_resolved() {
    let src = r#"package p

func f(db DB, admin bool) {
	query := "INSERT INTO t (a) VALUES (1)"
	if admin {
		query = "UPDATE t SET a = 2"
	}
	db.Exec(query)
}
"#;
    let out = run(&[("p/p.go", src)]);
    assert_eq!(out.queries.len(), 2);
    assert!(out.queries.iter().all(|q| q.call.is_none()));
}

#[test]
fn local_variable_hides_package_constant() {
    let src = r#"package p

const query = "INSERT INTO t (a) VALUES (1)"

func f(db DB) {
	query := build()
	db.Exec(query, 1)
}

func g(db DB) {
	if true {
		q := "UPDATE t SET a = 1"
		_ = q
	}
	db.Exec(q)
}
"#;
    let out = run(&[("p/p.go", src)]);
    assert!(out.queries.iter().all(|q| q.call.is_none()), "{}", render(&out));
    assert_eq!(out.queries.len(), 2);
}

#[test]
fn sqlx_package_functions_skip_executor() {
    let src = r#"package p

import (
	"context"

	sx "github.com/jmoiron/sqlx"
)

type Row struct {
	State string `db:"state"`
}

func f(ctx context.Context, db *sx.DB) {
	sx.NamedExecContext(ctx, db, "UPDATE t SET state = :state", Row{State: "x"})
	sx.MustExec(db, "INSERT INTO t (a) VALUES ($1)", 7)
}
"#;
    let out = run(&[("p/p.go", src)]);
    assert_eq!(out.queries.len(), 2);
    assert_eq!(values(&named(&out.queries[0])["state"]), ["'x'"]);
    assert_eq!(values(&positional(&out.queries[1])[0]), ["7"]);
}

#[test]
fn get_and_pgx_style_calls_find_the_query() {
    let src = r#"package p

import "context"

func f(ctx context.Context, db DB, conn Conn, r Request) {
	var id int
	db.GetContext(ctx, &id, "INSERT INTO t (a) VALUES ($1) RETURNING id", "a")
	db.Get(&id, "INSERT INTO t (a) VALUES ($1) RETURNING id", "b")
	conn.Exec(ctx, "UPDATE t SET a = $1", "c")
	conn.QueryRow(context.Background(), "UPDATE t SET a = $1", "d")
	conn.Exec(r.Context(), "UPDATE t SET a = $1", "e")
	db.Query("SELECT a FROM t WHERE b = $1", "f")
}
"#;
    let out = run(&[("p/p.go", src)]);
    let got: Vec<Vec<String>> = out.queries.iter().map(|q| values(&positional(q)[0])).collect();
    assert_eq!(got, [["'a'"], ["'b'"], ["'c'"], ["'d'"], ["'e'"]]);
    assert!(out.queries.iter().all(|q| q.call.is_some()));
}

#[test]
fn imports_without_go_mod_fall_back_to_unique_package_name() {
    let models = "package models\n\nconst Done = \"done\"\n";
    let src = "package s\n\nimport \"github.com/acme/app/internal/models\"\n\nfunc f(db DB) { db.Exec(\"UPDATE t SET s = $1\", models.Done) }\n";
    let out = run_with_mods(&[("internal/models/m.go", models), ("s/s.go", src)], &[]);
    assert_eq!(values(&positional(only(&out))[0]), ["'done'"]);

    // Two packages named models: no guess.
    let other = "package models\n\nconst Done = \"finished\"\n";
    let out = run_with_mods(
        &[("internal/models/m.go", models), ("legacy/models/m.go", other), ("s/s.go", src)],
        &[],
    );
    assert_eq!(positional(only(&out))[0], Arg::unknown());
}

#[test]
fn nested_modules_resolve_by_longest_module_path() {
    let models = "package models\n\nconst Done = \"done\"\n";
    let src = "package s\n\nimport \"example.com/app/tools/models\"\n\nfunc f(db DB) { db.Exec(\"UPDATE t SET s = $1\", models.Done) }\n";
    let mods = [("go.mod", GO_MOD), ("tools/go.mod", "module example.com/app/tools\n")];
    let out = run_with_mods(&[("tools/models/m.go", models), ("s/s.go", src)], &mods);
    assert_eq!(values(&positional(only(&out))[0]), ["'done'"]);
}

#[test]
fn constants_defined_twice_are_ambiguous() {
    let linux = "//go:build linux\n\npackage p\n\nconst state = \"linux\"\n";
    let other = "//go:build !linux\n\npackage p\n\nconst state = \"other\"\n";
    let src = "package p\n\nfunc f(db DB) { db.Exec(\"UPDATE t SET s = $1\", state) }\n";
    let out = run(&[("p/linux.go", linux), ("p/other.go", other), ("p/p.go", src)]);
    assert_eq!(positional(only(&out))[0], Arg::unknown());
}

#[test]
fn dot_imports_and_external_test_packages() {
    let models = "package models\n\nconst Done = \"done\"\n";
    let test = "package models_test\n\nimport . \"example.com/app/models\"\n\nfunc f(db DB) { db.Exec(\"UPDATE t SET s = $1\", Done) }\n";
    let out = run(&[("models/m.go", models), ("models/m_test.go", test)]);
    assert_eq!(values(&positional(only(&out))[0]), ["'done'"]);
}

#[test]
fn local_constants_and_conversions() {
    let src = r#"package p

type Kind string

func f(db DB) {
	const (
		first = iota * 10
		second
	)
	const insert = "INSERT INTO t (k, n, s) " + "VALUES ($1, $2, $3)"
	db.Exec(insert, Kind("k"), int64(second), string("s"))
}
"#;
    let out = run(&[("p/p.go", src)]);
    let q = only(&out);
    assert!(q.call.is_some());
    let got: Vec<Vec<String>> = positional(q).iter().map(values).collect();
    assert_eq!(got, [["'k'"], ["10"], ["'s'"]]);
}

#[test]
fn rebind_keeps_the_query() {
    let src = r#"package p

const insert = "INSERT INTO t (a) VALUES (?)"

func f(db DB) {
	db.Exec(db.Rebind(insert), "x")
}
"#;
    let out = run(&[("p/p.go", src)]);
    let q = only(&out);
    assert!(q.call.is_some());
    assert_eq!(values(&positional(q)[0]), ["'x'"]);
}

#[test]
fn oversized_file_is_skipped_with_diagnostic() {
    let mut huge = String::from("package p\n\nconst q = \"INSERT INTO t VALUES (1)\"\n");
    huge.push_str(&"// padding\n".repeat((33 << 20) / 11));
    let out = run(&[("p/huge.go", &huge)]);
    assert!(out.queries.is_empty());
    assert_eq!(out.diagnostics.len(), 1);
    assert!(out.diagnostics[0].message.contains("too large"));

    // A large generated file (embedded assets) is not indexed, and says so.
    let generated = format!("// Code generated by go-bindata. DO NOT EDIT.\n{huge}");
    let out = run(&[("p/bindata.go", &generated)]);
    assert!(out.queries.is_empty());
    assert_eq!(out.diagnostics.len(), 1);
    assert_eq!(out.diagnostics[0].severity, dbveto_source::Severity::Info);
}

#[test]
fn queries_are_in_file_order() {
    let src = r#"package p

const first = "UPDATE a SET x = 1"

func f(db DB) {
	db.Exec("UPDATE b SET x = $1", 2)
}

const last = "UPDATE c SET x = 3"
"#;
    let out = run(&[("p/p.go", src)]);
    let got: Vec<(&str, bool)> = out.queries.iter().map(|q| (&q.sql.text[..8], q.call.is_some())).collect();
    assert_eq!(got, [("UPDATE a", false), ("UPDATE b", true), ("UPDATE c", false)]);
}

#[test]
fn locals_bind_to_the_innermost_declaration() {
    let src = r#"package p

const query = "UPDATE t SET a = 0"

func f(db DB, admin bool) {
	if admin {
		query := "INSERT INTO t (a) VALUES (1)"
		db.Exec(query)
	} else {
		query := `INSERT INTO t (a) VALUES (2)`
		db.Exec(query)
	}
	db.Exec(query)
}

func g(db DB, q string) {
	q, err := "UPDATE t SET a = 3", error(nil)
	db.Exec(q)
}
"#;
    let out = run(&[("p/p.go", src)]);
    let got: Vec<(&str, bool)> =
        out.queries.iter().map(|q| (q.sql.text.as_str(), q.call.is_some())).collect();
    assert_eq!(
        got,
        [
            ("INSERT INTO t (a) VALUES (1)", true),
            ("INSERT INTO t (a) VALUES (2)", true),
            // The package constant, seen after the blocks.
            ("UPDATE t SET a = 0", true),
            // `q` is the parameter, assigned: not a known query.
            ("UPDATE t SET a = 3", false),
        ],
        "{}",
        render(&out)
    );
}

#[test]
fn types_declared_in_functions_hide_package_types() {
    let src = r#"package p

type Row struct {
	State string `db:"state"`
}

func local(db DB) {
	type Row struct {
		State int `db:"state"`
	}
	r := Row{State: 7}
	_ = r
}

func f(db DB) {
	db.NamedExec("UPDATE t SET state = :state", Row{State: "ok"})
}
"#;
    let out = run(&[("p/p.go", src)]);
    assert_eq!(values(&named(only(&out))["state"]), ["'ok'"]);
}

#[test]
fn escaped_newlines_do_not_shift_locations() {
    let src = "package p\n\nfunc f(db DB) {\n\tdb.Exec(\"INSERT INTO t (a)\\nVALUES ('\\xc3\\xa9')\")\n}\n";
    let out = run(&[("p/p.go", src)]);
    let q = only(&out);
    assert_eq!(q.sql.text, "INSERT INTO t (a)\nVALUES ('é')");
    let values = q.sql.location(q.sql.text.find("VALUES").unwrap()).unwrap();
    assert_eq!((values.line, values.column), (4, 30));
    let empty = run(&[("p/e.go", "package p\n\nconst q = \"\"\n")]);
    assert!(empty.queries.is_empty());
}

/// Skimmed and whole parses agree on a directory of real Go code
/// (`DBVETO_GO_CORPUS=dir cargo test -p dbveto_go -- --ignored corpus`).
#[test]
#[ignore]
fn corpus_skimmed_and_whole_parses_agree() {
    let Some(root) = std::env::var_os("DBVETO_GO_CORPUS") else { return };
    let root = std::path::PathBuf::from(root);
    let mut stack = vec![root.clone()];
    let mut files = Vec::new();
    let mut mods = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let rel = path.strip_prefix(&root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            if name == "go.mod" {
                mods.push(SourceFile::new(rel, text));
            } else if name.ends_with(".go") {
                files.push(SourceFile::new(rel, text));
            }
        }
    }
    let started = std::time::Instant::now();
    let skimmed = extract(&files, &mods);
    let skim_time = started.elapsed();
    let started = std::time::Instant::now();
    let whole = crate::extract_with(&files, &mods, false);
    eprintln!(
        "{} files: {} queries, {} diagnostics; skimmed {skim_time:?}, whole {:?}",
        files.len(),
        whole.queries.len(),
        whole.diagnostics.len(),
        started.elapsed()
    );
    assert_eq!(skimmed.queries, whole.queries);
    assert!(skimmed.diagnostics.iter().all(|d| whole.diagnostics.contains(d)));
    // A syntax error inside a function the skim leaves out is not reported.
    for d in &whole.diagnostics {
        if !skimmed.diagnostics.contains(d) {
            eprintln!("only in the whole parse: {} {}", d.location, d.message);
        }
    }
}
