//! Small Go modules inline: entry points, calls, schedules.

use dbveto_source::{Location, SourceFile};

use super::{program, GoOutline, GoProgram};

const GO_MOD: &str = "module example.com/fab\n\ngo 1.22\n";

const STORE: &str = r#"package store

import "database/sql"

type Store interface {
	SetStatus(id int, status string) error
	Close() error
}

type PG struct {
	db *sql.DB
}

func New(db *sql.DB) *PG { return &PG{db: db} }

func (p *PG) SetStatus(id int, status string) error {
	_, err := p.db.Exec(`UPDATE fabric SET sync_status = $1 WHERE id = $2`, status, id)
	return err
}

func (p *PG) Close() error { return p.db.Close() }

// Not a Store: no Close.
type Fake struct{}

func (Fake) SetStatus(id int, status string) error {
	_, err := fakeDB.Exec(`UPDATE fabric SET sync_status = $1 WHERE id = $2`, status, id)
	return err
}
"#;

fn run(files: &[(&str, &str)]) -> GoProgram {
    let sources: Vec<SourceFile> = files.iter().map(|(p, t)| SourceFile::new(*p, *t)).collect();
    let mods = [SourceFile::new("go.mod", GO_MOD)];
    // The writes: every line of an UPDATE's Exec.
    let mut writes = Vec::new();
    for file in &sources {
        for (i, line) in file.text.lines().enumerate() {
            if line.contains(".Exec(") {
                writes.push(Location { path: file.path.clone(), line: i as u32 + 1, column: 1 });
            }
        }
    }
    program(&sources, &mods, &writes, &GoOutline::default())
}

/// `kind name detail` of every entry point.
fn entries(p: &GoProgram) -> Vec<String> {
    let mut out: Vec<String> = p
        .entries
        .iter()
        .map(|e| format!("{:?} {} {}", e.kind, p.functions[e.function].name, e.detail.as_deref().unwrap_or("-")))
        .collect();
    out.sort();
    out
}

/// The functions whose name is `name`: whether a chain of calls from `from` reaches it.
fn reaches(p: &GoProgram, from: &str, to: &str) -> bool {
    let ids = |name: &str| -> Vec<usize> { (0..p.functions.len()).filter(|&i| p.functions[i].name == name).collect() };
    let mut seen: Vec<usize> = ids(from);
    let mut i = 0;
    while i < seen.len() {
        let f = seen[i];
        for &(a, b) in &p.calls {
            if a == f && !seen.contains(&b) {
                seen.push(b);
            }
        }
        i += 1;
    }
    ids(to).iter().any(|t| seen.contains(t))
}

#[test]
fn http_handlers_reach_a_repository_method_through_an_interface_field() {
    let server = r#"package api

import (
	"net/http"

	"example.com/fab/store"
)

type Server struct {
	store store.Store
}

func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("/sync", s.handleSync)
	mux.Handle("/retry", http.HandlerFunc(s.handleRetry))
	http.HandleFunc("/inline", func(w http.ResponseWriter, r *http.Request) {
		s.store.SetStatus(1, "inline")
	})
}

func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) {
	s.mark(1)
}

func (s *Server) mark(id int) {
	s.store.SetStatus(id, "syncing")
}

func (s *Server) handleRetry(w http.ResponseWriter, r *http.Request) {
	s.store.SetStatus(2, "retry")
}
"#;
    let p = run(&[("store/store.go", STORE), ("api/server.go", server)]);
    assert_eq!(entries(&p), [
        "Http Server.Routes.func1 route `/inline`",
        "Http Server.handleRetry route `/retry`",
        "Http Server.handleSync route `/sync`",
    ]);
    assert!(reaches(&p, "Server.handleSync", "PG.SetStatus"));
    assert!(reaches(&p, "Server.Routes.func1", "PG.SetStatus"));
    // `Fake` does not implement `Store`: no call reaches it.
    assert!(!reaches(&p, "Server.handleSync", "Fake.SetStatus"));
    // Registering is not calling.
    assert!(!reaches(&p, "Server.Routes", "Server.handleSync"));
}

#[test]
fn cron_gocron_and_ticker_loops_with_constant_intervals() {
    let jobs = r#"package jobs

import (
	"time"

	"github.com/go-co-op/gocron"
	"github.com/robfig/cron/v3"

	"example.com/fab/store"
)

const interval = 60 * time.Second

type Syncer struct {
	st *store.PG
}

func (s *Syncer) SyncAll() {
	s.st.SetStatus(1, "synced")
}

func (s *Syncer) Loop() {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.SyncAll()
		}
	}
}

func (s *Syncer) Tick() {
	for range time.Tick(5 * time.Minute) {
		s.SyncAll()
	}
}

func Start(s *Syncer) {
	c := cron.New()
	c.AddFunc("@every 1m", s.SyncAll)
	c.AddFunc("*/5 * * * *", func() { s.SyncAll() })
	c.AddJob("@hourly", job{s: s})
	g := gocron.NewScheduler(time.UTC)
	g.Every(1).Minute().Do(s.SyncAll)
	g.Every("30s").Do(s.SyncAll)
}

type job struct{ s *Syncer }

func (j job) Run() { j.s.SyncAll() }
"#;
    let p = run(&[("store/store.go", STORE), ("jobs/jobs.go", jobs)]);
    let mut schedules: Vec<String> =
        p.schedules.iter().map(|s| format!("{} {} {:?} {}", s.scheduler, p.functions[s.function].name, s.every, s.interval)).collect();
    schedules.sort();
    assert_eq!(schedules, [
        "gocron Syncer.SyncAll Some(30) every 30 s",
        "gocron Syncer.SyncAll Some(60) every 60 s",
        "robfig/cron Start.func1 Some(300) every 300 s",
        "robfig/cron Syncer.SyncAll Some(60) every 60 s",
        "robfig/cron job.Run Some(3600) every 3600 s",
        "time.Ticker Syncer.Loop Some(60) every 60 s",
        "time.Ticker Syncer.Tick Some(300) every 300 s",
    ]);
    assert!(entries(&p).contains(&"Scheduled Syncer.Loop every 60 s (time.Ticker `Syncer.Loop`)".to_string()));
    assert!(reaches(&p, "Syncer.Loop", "PG.SetStatus"));
    assert!(reaches(&p, "job.Run", "PG.SetStatus"));
}

#[test]
fn loops_that_sleep_are_schedules_and_retries_are_not() {
    let jobs = r#"package jobs

import (
	"context"
	"time"

	"example.com/fab/store"
)

type Poller struct {
	st *store.PG
}

func (p *Poller) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		default:
		}
		p.st.SetStatus(1, "polled")
		time.Sleep(2 * time.Minute)
	}
}

func (p *Poller) Retry() error {
	for {
		if err := p.st.SetStatus(2, "retried"); err == nil {
			return nil
		}
		time.Sleep(time.Second)
	}
}

func (p *Poller) Backoff() {
	for i := 0; i < 3; i++ {
		p.st.SetStatus(3, "backoff")
		time.Sleep(time.Second)
	}
}

func (p *Poller) Drain() {
	for {
		for _, id := range []int{1, 2} {
			if id > 1 {
				break
			}
			p.st.SetStatus(id, "drained")
		}
		time.Sleep(30 * time.Second)
	}
}
"#;
    let p = run(&[("store/store.go", STORE), ("jobs/jobs.go", jobs)]);
    let mut schedules: Vec<String> =
        p.schedules.iter().map(|s| format!("{} {} {:?}", s.scheduler, p.functions[s.function].name, s.every)).collect();
    schedules.sort();
    // A `break` of an inner loop does not leave the outer one; a return on success does.
    assert_eq!(schedules, ["time.Sleep Poller.Drain Some(30)", "time.Sleep Poller.Run Some(120)"]);
    assert!(entries(&p).contains(&"Scheduled Poller.Run every 120 s (time.Sleep loop `Poller.Run`)".to_string()));
}

#[test]
fn goroutines_started_from_main() {
    let main = r#"package main

import "example.com/fab/store"

func main() {
	st := store.New(nil)
	w := &worker{st: st}
	go w.run()
	start(st)
	go func() {
		st.SetStatus(3, "bg")
	}()
}

func start(st *store.PG) {
	go drain(st)
}

func drain(st *store.PG) { st.SetStatus(4, "drained") }

type worker struct{ st *store.PG }

func (w *worker) run() { w.st.SetStatus(5, "working") }

func notFromMain(st *store.PG) {
	go drain(st)
}
"#;
    let p = run(&[("store/store.go", STORE), ("cmd/fab/main.go", main)]);
    assert_eq!(entries(&p), [
        "Goroutine drain started with `go` in `start`",
        "Goroutine main.func1 started with `go` in `main`",
        "Goroutine worker.run started with `go` in `main`",
    ]);
}

#[test]
fn routers_chi_gin_echo_and_gorilla() {
    let chi = r#"package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/gin-gonic/gin"

	"example.com/fab/store"
)

type H struct{ st store.Store }

func (h *H) Mount(r chi.Router, g *gin.Engine) {
	r.Post("/fabrics/{id}/sync", h.sync)
	r.Get("/fabrics", h.list)
	g.POST("/g/sync", h.ginSync)
}

func (h *H) sync(w http.ResponseWriter, r *http.Request) { h.st.SetStatus(1, "a") }
func (h *H) list(w http.ResponseWriter, r *http.Request) {}
func (h *H) ginSync(c *gin.Context)                      { h.st.SetStatus(1, "b") }
"#;
    let p = run(&[("store/store.go", STORE), ("web/web.go", chi)]);
    assert_eq!(entries(&p), [
        "Http H.ginSync route `POST /g/sync`",
        // Its body writes nothing and is not parsed, but it is registered.
        "Http H.list route `GET /fabrics`",
        "Http H.sync route `POST /fabrics/{id}/sync`",
    ]);
    assert!(reaches(&p, "H.sync", "PG.SetStatus") && !reaches(&p, "H.list", "PG.SetStatus"));

    let echo_gorilla = r#"package web

import (
	"net/http"

	"github.com/gorilla/mux"
	"github.com/labstack/echo/v4"

	"example.com/fab/store"
)

const syncPath = "/e/sync"

func Mount(e *echo.Echo, r *mux.Router, st *store.PG) {
	e.PUT(syncPath, func(c echo.Context) error { return st.SetStatus(1, "e") }, logRequests)
	r.HandleFunc("/m/sync", syncHandler(st)).Methods("POST")
}

// A handler made by a function: what it returns runs per request.
func syncHandler(st *store.PG) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { st.SetStatus(2, "m") }
}

func logRequests(next echo.HandlerFunc) echo.HandlerFunc { return next }
"#;
    let p = run(&[("store/store.go", STORE), ("web/web.go", echo_gorilla)]);
    assert_eq!(entries(&p), ["Http Mount.func1 route `PUT /e/sync`", "Http syncHandler route `/m/sync`"]);
    assert!(reaches(&p, "syncHandler", "PG.SetStatus"));
}

#[test]
fn nothing_is_guessed() {
    let odd = r#"package odd

import (
	"net/http"

	"example.com/fab/store"
)

// A method of the same name on an unknown receiver, a function value, a
// handler that is a parameter: no edge, no entry point.
func Wire(mux *http.ServeMux, h http.HandlerFunc, x interface{ SetStatus(int, string) error }, bus *Bus) {
	mux.HandleFunc("/p", h)
	// A method named like a router's, given no route.
	bus.Handle("fabric.synced", unregistered)
	x.SetStatus(1, "x")
	var f func()
	f()
}

func unregistered(st *store.PG) { st.SetStatus(1, "u") }

func broken( {
"#;
    let p = run(&[("store/store.go", STORE), ("odd/odd.go", odd)]);
    assert!(p.entries.is_empty(), "{:?}", entries(&p));
    assert!(!reaches(&p, "Wire", "PG.SetStatus"));
    // Nothing registers anything: nothing is parsed at all.
    let p = run(&[("store/store.go", STORE)]);
    assert!(p.functions.is_empty() && p.entries.is_empty());
}
