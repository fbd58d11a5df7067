//! What of the Go files the call graph needs, decided on tokens before any
//! parse (the skim's lexer): names are compared by hash, without their
//! package, so a collision only keeps more than needed.
//!
//! - Forward: the functions that register an entry point (an HTTP route,
//!   a cron job, a ticker, a loop that sleeps), `main`, and the methods a router or a cron
//!   calls by themselves (`ServeHTTP`, `Run`), then every function whose
//!   name one of those mentions, to a fixpoint.
//! - Backward, among those: the functions holding a write, then every one
//!   that mentions the name of one already kept, to a fixpoint.
//!
//! The bodies kept are those of the functions found both ways: every
//! function on a chain of calls from an entry point to a write is. A file
//! is parsed when it holds one, a write, or a top-level declaration whose
//! name a kept body mentions (a type, a variable, a constant, a signature),
//! and so on through those declarations; the other bodies of a parsed file
//! are left out.

use std::collections::{HashMap, HashSet};

use dbveto_source::SourceFile;
use rayon::prelude::*;

use crate::skim::{self, Tokens, K};

/// How to parse one file.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Plan {
    Skip,
    Whole,
    /// Leave out these byte spans (function bodies, inside their braces).
    Without(Vec<(usize, usize)>),
}

/// The frameworks a file imports, as far as registering entry points goes.
#[derive(Debug, Default, Clone, Copy)]
struct Imports {
    http: bool,
    chi: bool,
    gin_echo: bool,
    cron: bool,
    gocron: bool,
    time: bool,
}

impl Imports {
    fn add(&mut self, path: &str) {
        match path {
            "net/http" => self.http = true,
            "time" => self.time = true,
            _ if path.starts_with("github.com/gorilla/mux") => self.http = true,
            _ if path.starts_with("github.com/go-chi/chi") => self.chi = true,
            _ if path.starts_with("github.com/gin-gonic/gin") || path.starts_with("github.com/labstack/echo") => {
                self.gin_echo = true
            }
            _ if path.starts_with("github.com/robfig/cron") => self.cron = true,
            _ if path.starts_with("github.com/go-co-op/gocron") => self.gocron = true,
            _ => {}
        }
    }

    /// Whether the file imports anything that registers entry points.
    fn any(&self) -> bool {
        self.http || self.chi || self.gin_echo || self.cron || self.gocron || self.time
    }

    /// The method names through which this file may register an entry point.
    fn registers(&self, word: &str) -> bool {
        (self.time && matches!(word, "NewTicker" | "Tick" | "Sleep"))
            || (self.http && matches!(word, "HandleFunc" | "Handle" | "HandlerFunc"))
            || (self.chi
                && matches!(
                    word,
                    "Get" | "Post" | "Put" | "Patch" | "Delete" | "Head" | "Options" | "Connect" | "Trace" | "Method"
                        | "MethodFunc" | "HandleFunc" | "Handle"
                ))
            || (self.gin_echo
                && matches!(
                    word,
                    "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" | "CONNECT" | "TRACE" | "Any" | "Handle"
                        | "Add"
                ))
            || (self.cron && matches!(word, "AddFunc" | "AddJob" | "Schedule"))
            || (self.gocron && matches!(word, "Do" | "NewJob" | "NewTask"))
    }
}

/// A function declaration, on tokens.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LexFunc {
    name: u32,
    /// The bytes inside its braces.
    inner: (usize, usize),
    /// Where the whole declaration starts and where its closing brace is.
    bytes: (usize, usize),
    /// Tokens: the one after `func`, `{` and `}`.
    tokens: (usize, usize, usize),
    /// It registers an entry point, or something runs it by itself.
    seed: bool,
}

/// A top-level declaration other than a function: the names it declares,
/// and its tokens after the keyword.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LexDecl {
    names: Vec<u32>,
    tokens: (usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lexed {
    /// Does not lex: parsed whole if anything is parsed.
    Opaque,
    File { funcs: Vec<LexFunc>, decls: Vec<LexDecl> },
}

/// What the search needs of each Go file, kept from the skim's lexing
/// (see [`crate::extract`]) so that no file is lexed for it a second time.
/// Empty when not kept: then the search lexes the files itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoOutline(pub(crate) Vec<Lexed>);

/// Identifiers, hashed, sorted and without repeats.
type Idents = Box<[u32]>;

/// A function: its file and its index there.
type FuncAt = (usize, usize);

/// The identifiers each declaration of a file mentions, hashed: found
/// again on demand, for the few files the search visits.
struct Mentioned {
    /// Per function: its signature's, its body's.
    funcs: Vec<(Idents, Idents)>,
    decls: Vec<Idents>,
}

struct Search<'s> {
    files: &'s [SourceFile],
    lexed: &'s [Lexed],
    mentioned: HashMap<usize, Mentioned>,
}

impl Search<'_> {
    fn func(&self, (f, i): (usize, usize)) -> Option<&LexFunc> {
        match self.lexed.get(f)? {
            Lexed::File { funcs, .. } => funcs.get(i),
            Lexed::Opaque => None,
        }
    }

    fn mentioned(&mut self, f: usize) -> Option<&Mentioned> {
        if !self.mentioned.contains_key(&f) {
            let Lexed::File { funcs, decls } = self.lexed.get(f)? else { return None };
            let t = Tokens::new(&self.files.get(f)?.text)?;
            let found = Mentioned {
                funcs: funcs.iter().map(|l| (idents(&t, l.tokens.0, l.tokens.1), idents(&t, l.tokens.1 + 1, l.tokens.2))).collect(),
                decls: decls.iter().map(|d| idents(&t, d.tokens.0, d.tokens.1)).collect(),
            };
            self.mentioned.insert(f, found);
        }
        self.mentioned.get(&f)
    }

    /// The identifiers of a function's body (`signature`: of its signature).
    fn idents(&mut self, (f, i): (usize, usize), signature: bool) -> Box<[u32]> {
        self.mentioned(f)
            .and_then(|m| m.funcs.get(i))
            .map(|(sig, body)| if signature { sig.clone() } else { body.clone() })
            .unwrap_or_default()
    }
}

/// What to parse of every file, given the lines of each file that write.
pub(super) fn plan(files: &[SourceFile], writes: &HashMap<&str, Vec<u32>>, outline: &GoOutline) -> Vec<Plan> {
    let lexed_here: Vec<Lexed>;
    let lexed: &[Lexed] = if outline.0.len() == files.len() {
        &outline.0
    } else {
        lexed_here = files.par_iter().map(|f| lex_file(&f.text)).collect();
        &lexed_here
    };
    let mut by_name: HashMap<u32, Vec<(usize, usize)>> = HashMap::new();
    let mut seeds = Vec::new();
    for (f, lexed) in lexed.iter().enumerate() {
        if let Lexed::File { funcs, .. } = lexed {
            for (i, func) in funcs.iter().enumerate() {
                by_name.entry(func.name).or_default().push((f, i));
                if func.seed {
                    seeds.push((f, i));
                }
            }
        }
    }
    if seeds.is_empty() {
        return files.iter().map(|_| Plan::Skip).collect();
    }
    let mut search = Search { files, lexed, mentioned: HashMap::new() };
    // Forward from the seeds.
    let mut forward: HashSet<(usize, usize)> = seeds.iter().copied().collect();
    let mut todo = seeds;
    while let Some(at) = todo.pop() {
        for id in search.idents(at, false).iter() {
            for &g in by_name.get(id).into_iter().flatten() {
                if forward.insert(g) {
                    todo.push(g);
                }
            }
        }
    }
    // Backward from the writes, among those.
    let writes_in = |lex: &LexFunc, f: usize| {
        let file = &files[f];
        let lines = file.location(lex.bytes.0).line..=file.location(lex.bytes.1).line;
        writes.get(&*file.path).is_some_and(|at| at.iter().any(|l| lines.contains(l)))
    };
    let mut kept: HashSet<(usize, usize)> =
        forward.iter().copied().filter(|&at| search.func(at).is_some_and(|l| writes_in(l, at.0))).collect();
    if kept.is_empty() {
        return files.iter().map(|_| Plan::Skip).collect();
    }
    let mut names: HashSet<u32> = kept.iter().filter_map(|&at| search.func(at)).map(|l| l.name).collect();
    let mut candidates: Vec<(FuncAt, Idents)> =
        forward.iter().copied().filter(|at| !kept.contains(at)).map(|at| (at, search.idents(at, false))).collect();
    candidates.sort_unstable_by_key(|(at, _)| *at);
    loop {
        let before = kept.len();
        candidates.retain(|(at, body)| {
            let mentions = body.iter().any(|id| names.contains(id));
            if mentions {
                kept.insert(*at);
                if let Some(l) = search.func(*at) {
                    names.insert(l.name);
                }
            }
            !mentions
        });
        if kept.len() == before {
            break;
        }
    }
    // The declarations the kept bodies may need, through those they mention.
    let mut decls_by_name: HashMap<u32, Vec<(usize, Option<usize>, usize)>> = HashMap::new();
    for (f, lexed) in lexed.iter().enumerate() {
        if let Lexed::File { funcs, decls } = lexed {
            for (i, func) in funcs.iter().enumerate() {
                decls_by_name.entry(func.name).or_default().push((f, Some(i), 0));
            }
            for (d, decl) in decls.iter().enumerate() {
                for &name in &decl.names {
                    decls_by_name.entry(name).or_default().push((f, None, d));
                }
            }
        }
    }
    let mut needed: HashSet<u32> = HashSet::new();
    let mut todo: Vec<u32> = Vec::new();
    let mut kept_sorted: Vec<(usize, usize)> = kept.iter().copied().collect();
    kept_sorted.sort_unstable();
    for &at in &kept_sorted {
        todo.extend(search.idents(at, true).iter().chain(search.idents(at, false).iter()).copied());
    }
    let mut parsed_files: HashSet<usize> = kept.iter().map(|&(f, _)| f).collect();
    while let Some(name) = todo.pop() {
        if !needed.insert(name) {
            continue;
        }
        for &(f, function, d) in decls_by_name.get(&name).into_iter().flatten() {
            parsed_files.insert(f);
            let idents = match function {
                Some(i) => search.idents((f, i), true),
                None => search.mentioned(f).and_then(|m| m.decls.get(d)).cloned().unwrap_or_default(),
            };
            todo.extend(idents.iter().copied().filter(|id| !needed.contains(id)));
        }
    }
    files
        .iter()
        .zip(lexed)
        .enumerate()
        .map(|(f, (file, lexed))| match lexed {
            Lexed::Opaque => Plan::Whole,
            Lexed::File { funcs, .. } => {
                if !parsed_files.contains(&f) && !writes.contains_key(&*file.path) {
                    return Plan::Skip;
                }
                let mut spans: Vec<(usize, usize)> = funcs
                    .iter()
                    .enumerate()
                    .filter(|(i, l)| !kept.contains(&(f, *i)) && l.inner.1 > l.inner.0)
                    .map(|(_, l)| l.inner)
                    .collect();
                spans.sort_unstable();
                Plan::Without(spans)
            }
        })
        .collect()
}

pub(crate) fn lex_file(text: &str) -> Lexed {
    if !crate::indexed(text) || crate::is_generated(text) {
        return Lexed::File { funcs: Vec::new(), decls: Vec::new() };
    }
    outline(text, Tokens::new(text).as_ref())
}

/// What the search needs of one file, from its tokens (`None`: it does not lex).
pub(crate) fn outline(text: &str, tokens: Option<&Tokens<'_>>) -> Lexed {
    if !crate::indexed(text) || crate::is_generated(text) {
        return Lexed::File { funcs: Vec::new(), decls: Vec::new() };
    }
    let Some(t) = tokens else { return Lexed::Opaque };
    let items = t.items(0, t.toks.len());
    let mut imports = Imports::default();
    let mut package_main = false;
    for &(start, end) in &items {
        if t.is_word(start, "package") {
            package_main = t.is_word(start + 1, "main");
        } else if t.is_word(start, "import") {
            for i in start + 1..end {
                if matches!(t.kind(i), Some(K::Str | K::Raw)) {
                    let raw = t.text(i);
                    imports.add(raw.get(1..raw.len().saturating_sub(1)).unwrap_or(""));
                }
            }
        }
    }
    let byte = |i: usize, end: bool| t.toks.get(i).map_or(0, |t| if end { t.end } else { t.start } as usize);
    let mut funcs = Vec::new();
    let mut decls = Vec::new();
    for &(start, end) in &items {
        if t.is_word(start, "func") {
            let Some(open) = skim::body(t, start, end) else { continue };
            let close = t.partner[open] as usize;
            // The name: after the receiver, if any.
            let receiver = t.kind(start + 1) == Some(K::LParen);
            let name = t.text(if receiver { t.after(start + 1) } else { start + 1 });
            let registers = imports.any() && (open + 1..close).any(|i| t.kind(i) == Some(K::Ident) && imports.registers(t.text(i)));
            let seed = registers || (package_main && name == "main" && !receiver) || (receiver && matches!(name, "ServeHTTP" | "Run"));
            funcs.push(LexFunc {
                name: skim::hash(name),
                inner: (byte(open, true), byte(close, false)),
                bytes: (byte(start, false), byte(close, false)),
                tokens: (start + 1, open, close),
                seed,
            });
        } else if ["type", "var", "const"].iter().any(|w| t.is_word(start, w)) {
            decls.push(LexDecl { names: declared_names(t, start, end), tokens: (start + 1, end) });
        }
    }
    Lexed::File { funcs, decls }
}

/// The identifiers of tokens `from..to`, hashed, sorted and deduplicated.
fn idents(t: &Tokens<'_>, from: usize, to: usize) -> Box<[u32]> {
    let mut out: Vec<u32> =
        (from..to.min(t.toks.len())).filter(|&i| t.kind(i) == Some(K::Ident)).map(|i| skim::hash(t.text(i))).collect();
    out.sort_unstable();
    out.dedup();
    out.into_boxed_slice()
}

/// The names a `type`, `var` or `const` declaration declares: the first
/// identifier of each spec, and those after commas at its start
/// (`var a, b = ...`).
fn declared_names(t: &Tokens<'_>, start: usize, end: usize) -> Vec<u32> {
    let specs = if t.kind(start + 1) == Some(K::LParen) {
        t.items(start + 2, t.partner[start + 1] as usize)
    } else {
        vec![(start + 1, end)]
    };
    let mut names = Vec::new();
    for (s, e) in specs {
        let mut i = s;
        while i < e && t.kind(i) == Some(K::Ident) {
            names.push(skim::hash(t.text(i)));
            if t.kind(i + 1) != Some(K::Comma) {
                break;
            }
            i += 2;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bodies_on_a_chain_from_an_entry_point_to_a_write_are_parsed() {
        let store = "package store\n\ntype PG struct{}\n\nfunc (p *PG) Set() {\n\tp.db.Exec(`UPDATE t SET a = 1`)\n}\n\nfunc (p *PG) Read() {\n\tp.db.Query(`SELECT a FROM t`)\n}\n";
        let api = "package api\n\nimport \"net/http\"\n\nfunc routes(mux *http.ServeMux) {\n\tmux.HandleFunc(\"/a\", handle)\n}\n\nfunc handle(w http.ResponseWriter, r *http.Request) {\n\tstore.Set()\n}\n\nfunc format() string {\n\treturn \"unrelated\"\n}\n";
        let other = "package other\n\nfunc Set() {}\n\nfunc unrelated() {\n\tx := 1\n\t_ = x\n}\n";
        let files = [SourceFile::new("store/pg.go", store), SourceFile::new("api/api.go", api), SourceFile::new("x/other.go", other)];
        let writes = HashMap::from([("store/pg.go", vec![6])]);
        let plans = plan(&files, &writes, &GoOutline::default());
        let left_out = |f: usize| -> Vec<&str> {
            match &plans[f] {
                Plan::Without(spans) => spans.iter().map(|&(s, e)| files[f].text[s..e].trim()).collect(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(left_out(0), ["p.db.Query(`SELECT a FROM t`)"]);
        assert_eq!(left_out(1), ["return \"unrelated\""]);
        // Its `Set` has the name of one kept: its signature is parsed, its other body is not.
        assert_eq!(left_out(2), ["x := 1\n\t_ = x"]);
        // Without anything that registers an entry point, nothing is parsed.
        let plans = super::plan(&files[..1], &writes, &GoOutline::default());
        assert_eq!(plans, [Plan::Skip]);
    }

    #[test]
    fn the_outline_kept_from_the_skim_is_what_the_search_would_lex() {
        let api = "package main\n\nimport \"net/http\"\n\ntype S struct{ a int }\n\nvar x, y = 1, 2\n\nfunc main() {\n\thttp.HandleFunc(\"/\", h)\n}\n\nfunc (s *S) Run() {}\n";
        let generated = "// Code generated by sqlc. DO NOT EDIT.\n\npackage db\n\nfunc Q() {}\n";
        let unterminated = "package a\n\nfunc f() { s := \"open\n}\n";
        let texts = [api, generated, unterminated];
        let lexed: Vec<Lexed> = texts.iter().map(|t| lex_file(t)).collect();
        assert!(matches!(&lexed[0], Lexed::File { funcs, decls } if funcs.len() == 2 && funcs.iter().all(|f| f.seed) && decls.len() == 2));
        assert_eq!(lexed[1], Lexed::File { funcs: Vec::new(), decls: Vec::new() });
        assert_eq!(lexed[2], Lexed::Opaque);
        assert_eq!(crate::skim::Skim::new(&texts).outlines, lexed);
    }
}
