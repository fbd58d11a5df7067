//! A quick look at the Go files before they are parsed: which parts can
//! matter to the analysis at all. Most of a repository's Go holds nothing
//! it uses; those parts are left out of the parse and the index (skipped
//! spans, see `cst::parse`).
//!
//! Left out of each file:
//! - function declarations that mention none of: an exec-like call whose
//!   query may be a write (`EXEC_METHODS`, unless every argument the query
//!   may be is a literal that does not look like a write); `const` (a local
//!   constant chain is evaluated even without a literal); a string literal
//!   that looks like a write on its own, or that is an operand of `+` (a
//!   root, or part of one); the name of a type sqlx may bind (see
//!   [`Skim::new`]: their struct literals and field assignments give values
//!   to `db` fields, and a parameter of such a type may be assigned);
//! - the fields and methods of the other struct and interface types (their
//!   names stay: conversions need to know they are types);
//! - `//` comments.
//!
//! Everything a function declares is only visible inside it, so leaving
//! such a function out changes nothing pass 2 computes. The skim works on
//! tokens, is conservative (names are matched without their package, by
//! hash), and gives up on anything it does not understand: then the whole
//! file is parsed. A file whose skimmed parse has a syntax error is parsed
//! again in full, so its diagnostic is the same; a syntax error inside a
//! function left out is not reported, since nothing in it is used.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use dbveto_writes::looks_like_write;
use rayon::prelude::*;

use crate::calls::SQLX_FUNCTIONS;
use crate::program::select;
use crate::strings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum K {
    Ident,
    Str,
    Raw,
    Rune,
    Num,
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBrack,
    RBrack,
    Semi,
    Comma,
    /// `+`
    Plus,
    /// `+=`
    PlusAssign,
    /// `++` or `--`
    IncDec,
    Dot,
    Star,
    /// `=`
    Assign,
    Other,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Tok {
    pub(crate) kind: K,
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// A newline (or a comment holding one) comes before the token.
    newline: bool,
}

/// A file as tokens, with each bracket's partner.
pub(crate) struct Tokens<'a> {
    text: &'a str,
    pub(crate) toks: Vec<Tok>,
    /// `// ...` comments after white space, up to their newline.
    comments: Vec<(usize, usize)>,
    /// For a bracket, the index of its partner; unused otherwise.
    pub(crate) partner: Vec<u32>,
}

/// Token offsets are `u32`: larger files (never indexed anyway) are not
/// skimmed.
const MAX_SKIM_BYTES: usize = 1 << 30;

impl<'a> Tokens<'a> {
    /// `None` when the file does not lex as Go, or its brackets do not pair.
    pub(crate) fn new(text: &'a str) -> Option<Self> {
        if text.len() > MAX_SKIM_BYTES {
            return None;
        }
        let (toks, comments) = lex(text.as_bytes())?;
        let mut partner = vec![0u32; toks.len()];
        let mut open: Vec<usize> = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            match t.kind {
                K::LBrace | K::LParen | K::LBrack => open.push(i),
                K::RBrace | K::RParen | K::RBrack => {
                    let o = open.pop()?;
                    let pair = matches!(
                        (toks[o].kind, t.kind),
                        (K::LBrace, K::RBrace) | (K::LParen, K::RParen) | (K::LBrack, K::RBrack)
                    );
                    if !pair {
                        return None;
                    }
                    partner[o] = u32::try_from(i).ok()?;
                    partner[i] = u32::try_from(o).ok()?;
                }
                _ => {}
            }
        }
        open.is_empty().then_some(Tokens { text, toks, comments, partner })
    }

    pub(crate) fn kind(&self, i: usize) -> Option<K> {
        self.toks.get(i).map(|t| t.kind)
    }

    pub(crate) fn text(&self, i: usize) -> &'a str {
        let text: &'a str = self.text;
        self.toks.get(i).and_then(|t| text.get(t.start as usize..t.end as usize)).unwrap_or("")
    }

    pub(crate) fn is_word(&self, i: usize, word: &str) -> bool {
        self.kind(i) == Some(K::Ident) && self.text(i) == word
    }

    /// The token after the bracket group opened at `i` (or after `i`).
    pub(crate) fn after(&self, i: usize) -> usize {
        match self.kind(i) {
            Some(K::LBrace | K::LParen | K::LBrack) => self.partner[i] as usize + 1,
            _ => i + 1,
        }
    }

    /// Whether Go ends a statement after token `i` when a newline follows.
    fn ends_statement(&self, i: usize) -> bool {
        match self.kind(i) {
            Some(K::Ident) => {
                let word = self.text(i);
                !is_keyword(word) || matches!(word, "break" | "continue" | "fallthrough" | "return")
            }
            Some(K::Str | K::Raw | K::Rune | K::Num | K::RParen | K::RBrack | K::RBrace | K::IncDec) => true,
            _ => false,
        }
    }

    /// Whether token `i` starts a statement or declaration of a list that
    /// starts at `first`.
    fn starts_item(&self, i: usize, first: usize) -> bool {
        i == first
            || self.kind(i - 1) == Some(K::Semi)
            || (self.toks[i].newline && self.ends_statement(i - 1))
    }

    /// The items (declarations, specs, fields) of the list in `from..to`,
    /// as token ranges; bracket groups stay inside their item.
    pub(crate) fn items(&self, from: usize, to: usize) -> Vec<(usize, usize)> {
        let mut items = Vec::new();
        let mut start = None;
        let mut i = from;
        while i < to {
            if self.starts_item(i, from) {
                if let Some(s) = start {
                    items.push((s, i));
                }
                start = Some(i);
            }
            i = self.after(i);
        }
        if let Some(s) = start {
            items.push((s, to.min(i)));
        }
        items
    }
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "break"
            | "case"
            | "chan"
            | "const"
            | "continue"
            | "default"
            | "defer"
            | "else"
            | "fallthrough"
            | "for"
            | "func"
            | "go"
            | "goto"
            | "if"
            | "import"
            | "interface"
            | "map"
            | "package"
            | "range"
            | "return"
            | "select"
            | "struct"
            | "switch"
            | "type"
            | "var"
    )
}

/// Go's tokens, as far as the skim needs them; `None` on anything a Go
/// compiler would reject at this level (an unterminated string or comment).
/// Tokens and `//` comments.
type Lexed = (Vec<Tok>, Vec<(usize, usize)>);

fn lex(b: &[u8]) -> Option<Lexed> {
    let mut toks = Vec::with_capacity(b.len() / 4);
    let mut comments = Vec::new();
    let mut i = 0;
    let mut newline = false;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = match c {
            b'\n' => {
                newline = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r') {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i += b[i..].iter().position(|&c| c == b'\n').unwrap_or(b.len() - i);
                // Leaving it out must not join the tokens around it.
                if start == 0 || matches!(b[start - 1], b' ' | b'\t' | b'\n' | b'\r') {
                    comments.push((start, i));
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = find(b, i + 2, b"*/")?;
                newline |= b[i..end].contains(&b'\n');
                i = end + 2;
                continue;
            }
            b'"' | b'\'' => {
                i += 1;
                loop {
                    i += b.get(i..)?.iter().position(|&x| x == c || x == b'\\' || x == b'\n')?;
                    match b[i] {
                        b'\\' => i += 2,
                        b'\n' => return None,
                        _ => break,
                    }
                }
                i += 1;
                if c == b'"' {
                    K::Str
                } else {
                    K::Rune
                }
            }
            b'`' => {
                i = find(b, i + 1, b"`")? + 1;
                K::Raw
            }
            b'0'..=b'9' => {
                i += 1;
                while i < b.len() {
                    match b[i] {
                        b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'.' => i += 1,
                        b'+' | b'-' if matches!(b[i - 1], b'e' | b'E' | b'p' | b'P') => i += 1,
                        _ => break,
                    }
                }
                K::Num
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | 0x80.. => {
                i += b[i..].iter().position(|&x| !IDENT[usize::from(x)]).unwrap_or(b.len() - i);
                K::Ident
            }
            _ => {
                i += 1;
                match c {
                    b'{' => K::LBrace,
                    b'}' => K::RBrace,
                    b'(' => K::LParen,
                    b')' => K::RParen,
                    b'[' => K::LBrack,
                    b']' => K::RBrack,
                    b';' => K::Semi,
                    b',' => K::Comma,
                    b'*' => K::Star,
                    b'.' if b.get(i).is_some_and(u8::is_ascii_digit) => {
                        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                            i += 1;
                        }
                        K::Num
                    }
                    b'.' => K::Dot,
                    b'+' | b'-' if b.get(i) == Some(&c) => {
                        i += 1;
                        K::IncDec
                    }
                    b'+' if b.get(i) == Some(&b'=') => {
                        i += 1;
                        K::PlusAssign
                    }
                    b'+' => K::Plus,
                    b'=' if b.get(i) == Some(&b'=') => {
                        i += 1;
                        K::Other
                    }
                    b'=' => K::Assign,
                    _ => K::Other,
                }
            }
        };
        toks.push(Tok { kind, start: start as u32, end: i.min(b.len()) as u32, newline });
        newline = false;
    }
    Some((toks, comments))
}

/// The bytes that continue an identifier (any non-ASCII byte: letters
/// beyond ASCII are not told apart).
static IDENT: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = matches!(i as u8, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | 0x80..);
        i += 1;
    }
    table
};

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// One type specification, as far as binding goes.
struct TypeSpec<'a> {
    name: &'a str,
    /// A struct with a `db` tag somewhere in it.
    tagged: bool,
    /// The names its value may come from: embedded types of a struct, every
    /// name of an alias's target.
    from: Vec<&'a str>,
}

/// What the skim keeps of one file until its parse.
#[derive(Default)]
struct FileSkim {
    /// Function declarations: their bytes, and what they mention.
    funcs: Vec<((usize, usize), Mentions)>,
    /// Struct and interface types: the hash of the name, and the bytes
    /// inside their braces.
    types: Vec<(u32, (usize, usize))>,
    /// `//` comments.
    comments: Vec<(usize, usize)>,
}

/// What to parse of every Go file.
pub(crate) struct Skim {
    /// `None` for a file parsed whole.
    files: Vec<Option<FileSkim>>,
    /// What the call graph's search needs of each file (see `program::select`).
    pub(crate) outlines: Vec<select::Lexed>,
    /// The names of the types whose literals and field assignments may give
    /// a `db` column its values, hashed: structs with a `db` tag, structs
    /// embedding those, and aliases of either (whatever their package), that
    /// a `Named*` call may bind (see [`relevant_names`]).
    relevant: IdSet,
}

type IdSet = HashSet<u32, BuildHasherDefault<IdHasher>>;

/// Hashes that are already hashes.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// FNV-1a: identifiers are compared by this hash; a collision only keeps
/// more than needed.
pub(crate) fn hash(word: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in word.as_bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

impl Skim {
    /// Skims every file (in parallel), then finds the relevant types.
    pub(crate) fn new(texts: &[&str]) -> Skim {
        let skimmed: Vec<Skimmed<'_>> = texts.par_iter().map(|text| skim_file(text)).collect();
        let mut files = Vec::with_capacity(skimmed.len());
        let mut outlines = Vec::with_capacity(skimmed.len());
        let mut specs = Vec::new();
        let mut bound: Option<IdSet> = Some(IdSet::default());
        for file in skimmed {
            files.push(file.skim);
            outlines.push(file.outline);
            specs.extend(file.specs);
            match (&mut bound, file.bound) {
                (Some(all), Some(names)) => all.extend(names),
                _ => bound = None,
            }
        }
        Skim { files, outlines, relevant: relevant_names(&specs, bound.as_ref()).into_iter().map(hash).collect() }
    }

    /// The spans of file `file` (whose text is `text`) not to parse,
    /// sorted and disjoint.
    pub(crate) fn skipped_spans(&self, file: usize, text: &str) -> Vec<(usize, usize)> {
        let Some(skim) = self.files.get(file).and_then(Option::as_ref) else { return Vec::new() };
        let mut skipped: Vec<(usize, usize)> = Vec::new();
        for (span, found) in &skim.funcs {
            if !found.matters && !found.idents.iter().any(|id| self.relevant.contains(id)) {
                skipped.push(*span);
            }
        }
        for (name, inside) in &skim.types {
            if !self.relevant.contains(name) {
                skipped.push(*inside);
            }
        }
        skipped.extend(skim.comments.iter().copied());
        skipped.retain(|(s, e)| e > s && *e <= text.len());
        skipped.sort_unstable();
        // Spans with only white space between them are one: each ends
        // where a newline, `;` or `}` still follows.
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(skipped.len());
        for (s, e) in skipped {
            match merged.last_mut() {
                Some(last) if s <= last.1 || text.get(last.1..s).is_some_and(|gap| gap.trim().is_empty()) => {
                    last.1 = last.1.max(e);
                }
                _ => merged.push((s, e)),
            }
        }
        merged
    }
}

/// The types whose literals and field assignments may matter: those that
/// have `db` columns (tagged structs, and the types whose value may come
/// from one of those, to a fixpoint) and that a `Named*` call may bind: a
/// name it mentions (`bound`, hashed; `None`: any), or one those embed or
/// alias, to a fixpoint. A `Named*` call finds its argument's type in its
/// own function: a literal, a local's declared type, `new(T)`.
fn relevant_names<'a>(specs: &[TypeSpec<'a>], bound: Option<&IdSet>) -> HashSet<&'a str> {
    // Which specs take their value from a name.
    let mut users: HashMap<&str, Vec<&str>> = HashMap::new();
    for spec in specs {
        for from in &spec.from {
            users.entry(from).or_default().push(spec.name);
        }
    }
    let mut columns: HashSet<&str> = HashSet::new();
    let mut todo: Vec<&str> = specs.iter().filter(|s| s.tagged).map(|s| s.name).collect();
    while let Some(name) = todo.pop() {
        if columns.insert(name) {
            todo.extend(users.get(name).into_iter().flatten().copied());
        }
    }
    let Some(bound) = bound else { return columns };
    let mut by_name: HashMap<&str, Vec<&TypeSpec<'a>>> = HashMap::new();
    for spec in specs {
        by_name.entry(spec.name).or_default().push(spec);
    }
    let mut relevant: HashSet<&str> = HashSet::new();
    let mut todo: Vec<&str> = columns.iter().copied().filter(|n| bound.contains(&hash(n))).collect();
    while let Some(name) = todo.pop() {
        if !relevant.insert(name) {
            continue;
        }
        for spec in by_name.get(name).into_iter().flatten() {
            todo.extend(spec.from.iter().copied().filter(|n| columns.contains(n) && !relevant.contains(n)));
        }
    }
    relevant
}

/// What skimming one file gives.
struct Skimmed<'a> {
    /// `None`: parse the file whole.
    skim: Option<FileSkim>,
    specs: Vec<TypeSpec<'a>>,
    /// The identifiers the file's `Named*` calls may bind through; `None`:
    /// any (a call the skim does not place in a function).
    bound: Option<Vec<u32>>,
    outline: select::Lexed,
}

/// One lexing of a file: what to leave out of it, and its type specs. A
/// file that does not lex is parsed whole; every identifier in it counts as
/// a tagged type, to stay on the safe side.
fn skim_file(text: &str) -> Skimmed<'_> {
    if !crate::indexed(text) {
        // Not parsed at all: nothing in it counts.
        return Skimmed { skim: None, specs: Vec::new(), bound: Some(Vec::new()), outline: select::outline(text, None) };
    }
    let Some(mut t) = Tokens::new(text) else {
        return Skimmed { skim: None, specs: unskimmable_type_specs(text), bound: None, outline: select::outline(text, None) };
    };
    let outline = select::outline(text, Some(&t));
    let mut skim = FileSkim { comments: std::mem::take(&mut t.comments), ..FileSkim::default() };
    let mut specs = Vec::new();
    let mut bound = Some(Vec::new());
    let byte = |i: usize, end: bool| t.toks.get(i).map_or(0, |t| if end { t.end } else { t.start } as usize);
    for (start, end) in t.items(0, t.toks.len()) {
        let func = t.is_word(start, "func").then(|| body(&t, start, end)).flatten();
        if let Some(open) = func {
            let close = t.partner[open] as usize;
            let span = (byte(start, false), byte(close, true));
            let found = mentions(&t, start, close);
            if found.binds {
                if let Some(bound) = &mut bound {
                    bound.extend_from_slice(&found.idents);
                }
            }
            skim.funcs.push((span, found));
            continue;
        }
        if (start..end).any(|i| binds(&t, i)) {
            bound = None;
        }
        if t.is_word(start, "type") {
            let type_specs = if t.kind(start + 1) == Some(K::LParen) {
                t.items(start + 2, t.partner[start + 1] as usize)
            } else {
                vec![(start + 1, end)]
            };
            for (s, e) in type_specs {
                if let Some(open) = type_body(&t, s, e) {
                    let inside = (byte(open, true), byte(t.partner[open] as usize, false));
                    skim.types.push((hash(t.text(s)), inside));
                }
                specs.extend(type_spec(&t, s, e));
            }
        }
    }
    Skimmed { skim: Some(skim), specs, bound, outline }
}

/// Every identifier of a file that could not be skimmed, as a tagged type:
/// whatever it declares may be a struct with `db` tags.
fn unskimmable_type_specs(text: &str) -> Vec<TypeSpec<'_>> {
    let b = text.as_bytes();
    let mut specs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b'a'..=b'z' | b'A'..=b'Z' | b'_' | 0x80..) {
            let start = i;
            while i < b.len() && matches!(b[i], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | 0x80..) {
                i += 1;
            }
            if let Some(name) = text.get(start..i) {
                specs.push(TypeSpec { name, tagged: true, from: Vec::new() });
            }
        } else {
            i += 1;
        }
    }
    specs
}

/// What a function declaration mentions.
#[derive(Debug)]
struct Mentions {
    /// Something that matters whatever the relevant types are.
    matters: bool,
    /// A `Named*` call that may run a write.
    binds: bool,
    /// Its identifiers, hashed, sorted.
    idents: Box<[u32]>,
}

/// What tokens `from..=to` (a function declaration) mention.
fn mentions(t: &Tokens<'_>, from: usize, to: usize) -> Mentions {
    let (mut matters, mut binds) = (false, false);
    let mut idents = Vec::new();
    for i in from..=to {
        match t.kind(i) {
            Some(K::Ident) => {
                let word = t.text(i);
                if word == "const" {
                    matters = true;
                } else if is_exec_method(word) && may_run_write(t, i) {
                    matters = true;
                    binds |= word.starts_with("Named");
                }
                idents.push(hash(word));
            }
            Some(K::Str | K::Raw) if !matters => {
                matters = next_to_plus(t, i, from, to) || literal_writes(t, i)
            }
            _ => {}
        }
    }
    idents.sort_unstable();
    idents.dedup();
    Mentions { matters, binds, idents: idents.into_boxed_slice() }
}

/// Whether token `i` names a `Named*` call that may run a write.
fn binds(t: &Tokens<'_>, i: usize) -> bool {
    t.kind(i) == Some(K::Ident) && {
        let word = t.text(i);
        word.starts_with("Named") && is_exec_method(word) && may_run_write(t, i)
    }
}

/// `EXEC_METHODS.contains(&word)`, without comparing with each.
fn is_exec_method(word: &str) -> bool {
    matches!(
        word,
        "Exec"
            | "ExecContext"
            | "MustExec"
            | "MustExecContext"
            | "Query"
            | "QueryContext"
            | "QueryRow"
            | "QueryRowContext"
            | "Queryx"
            | "QueryRowx"
            | "QueryxContext"
            | "QueryRowxContext"
            | "Get"
            | "GetContext"
            | "Select"
            | "SelectContext"
            | "NamedExec"
            | "NamedExecContext"
            | "NamedQuery"
            | "NamedQueryContext"
    )
}

/// Whether the string literal at `i` looks like a write on its own.
fn literal_writes(t: &Tokens<'_>, i: usize) -> bool {
    let raw = t.text(i);
    // Without escapes or carriage returns, the value is what is between
    // the delimiters: no need to decode it.
    if !raw.contains(['\\', '\r']) {
        let inner = raw.get(1..raw.len().saturating_sub(1).max(1)).unwrap_or("");
        return looks_like_write(inner);
    }
    let value = if t.kind(i) == Some(K::Raw) { strings::raw(raw) } else { strings::interpreted(raw) };
    // Bytes that are not UTF-8 decode piece by piece in pass 2: not worth
    // being sure they do the same.
    looks_like_write(&value) || value.contains(char::REPLACEMENT_CHARACTER)
}

/// Whether the exec-like method named at `i` may run a write: it is called
/// as a method (what pass 2 looks at), and an argument its query may be is
/// not a lone literal that does not look like a write.
fn may_run_write(t: &Tokens<'_>, i: usize) -> bool {
    if i == 0 || t.kind(i - 1) != Some(K::Dot) {
        return false;
    }
    match t.kind(i + 1) {
        Some(K::LParen) => {}
        // `db.Exec[T](...)`: not worth understanding.
        Some(K::LBrack) => return true,
        _ => return false,
    }
    let close = t.partner[i + 1] as usize;
    let mut args = Vec::new();
    let mut start = i + 2;
    let mut j = start;
    while j < close {
        if t.kind(j) == Some(K::Comma) {
            args.push((start, j));
            start = j + 1;
        }
        j = t.after(j);
    }
    if close > start {
        args.push((start, close));
    }
    // Where `calls` looks for the query: after a ctx or not, after the
    // executor of a sqlx function, after a destination.
    let method = t.text(i);
    let dest = usize::from(method.starts_with("Get") || method.starts_with("Select"));
    let context = usize::from(method.ends_with("Context"));
    // A method with a `Context` suffix takes the ctx first; another may.
    let mut at = if context == 1 { vec![dest + 1] } else { vec![dest, dest + 1] };
    if SQLX_FUNCTIONS.contains(&method) {
        at.push(context + 1 + dest);
    }
    at.into_iter()
        .filter_map(|a| args.get(a))
        .any(|&(s, e)| !(e == s + 1 && matches!(t.kind(s), Some(K::Str | K::Raw)) && !literal_writes(t, s)))
}

fn type_spec<'a>(t: &Tokens<'a>, start: usize, end: usize) -> Option<TypeSpec<'a>> {
    if t.kind(start) != Some(K::Ident) {
        return None;
    }
    let name = t.text(start);
    let mut i = start + 1;
    // Type parameters (or an array length: the same to us).
    if t.kind(i) == Some(K::LBrack) {
        i = t.after(i);
    }
    let tagged = (i..end).any(|j| matches!(t.kind(j), Some(K::Str | K::Raw)) && t.text(j).contains("db:"));
    if t.kind(i) == Some(K::Assign) {
        let from = (i + 1..end).filter(|&j| t.kind(j) == Some(K::Ident)).map(|j| t.text(j)).collect();
        return Some(TypeSpec { name, tagged: false, from });
    }
    // A struct, possibly behind an array or slice: anything else is not
    // one to the analysis.
    let open = (i..end).find(|&j| t.kind(j) == Some(K::LBrace) && j > 0 && t.is_word(j - 1, "struct"))?;
    let close = t.partner[open] as usize;
    let mut from = Vec::new();
    for (s, e) in t.items(open + 1, close) {
        from.extend(embedded(t, s, e));
    }
    Some(TypeSpec { name, tagged, from })
}

/// The type name of an embedded field (`Base`, `*Base`, `pkg.Base`,
/// `Base[T]`, each maybe tagged), `None` for a named field.
fn embedded<'a>(t: &Tokens<'a>, start: usize, end: usize) -> Option<&'a str> {
    let mut end = end;
    if end > start && matches!(t.kind(end - 1), Some(K::Str | K::Raw)) {
        end -= 1;
    }
    let mut i = start;
    if t.kind(i) == Some(K::Star) {
        i += 1;
    }
    if t.kind(i) != Some(K::Ident) {
        return None;
    }
    let mut name = i;
    i += 1;
    if t.kind(i) == Some(K::Dot) && i < end {
        if t.kind(i + 1) != Some(K::Ident) {
            return None;
        }
        name = i + 1;
        i += 2;
    }
    if i < end && t.kind(i) == Some(K::LBrack) {
        i = t.after(i);
    }
    (i == end).then(|| t.text(name))
}

/// The `{` of `Name [T any] struct {...}` or `interface {...}`, the whole
/// spec at `start..end`.
fn type_body(t: &Tokens<'_>, start: usize, end: usize) -> Option<usize> {
    let mut i = start + 1;
    if t.kind(i) == Some(K::LBrack) {
        i = t.after(i);
    }
    if !(t.is_word(i, "struct") || t.is_word(i, "interface")) || t.kind(i + 1) != Some(K::LBrace) {
        return None;
    }
    (t.after(i + 1) == end && end > i + 1).then_some(i + 1)
}

/// The index of the `{` opening the body of the function declared at
/// `start`, if it has one the skim is sure of.
pub(crate) fn body(t: &Tokens<'_>, start: usize, end: usize) -> Option<usize> {
    let mut i = start + 1;
    // The receiver.
    if t.kind(i) == Some(K::LParen) {
        i = t.after(i);
    }
    if t.kind(i) != Some(K::Ident) {
        return None;
    }
    i += 1;
    // Type parameters, then parameters.
    if t.kind(i) == Some(K::LBrack) {
        i = t.after(i);
    }
    if t.kind(i) != Some(K::LParen) {
        return None;
    }
    i = t.after(i);
    // The results, up to the body.
    while i < end {
        match t.kind(i)? {
            K::LBrace if i > 0 && (t.is_word(i - 1, "struct") || t.is_word(i - 1, "interface")) => {
                i = t.after(i)
            }
            K::LBrace => return (t.after(i) == end).then_some(i),
            _ => i = t.after(i),
        }
    }
    None
}

/// Whether the literal at `i` is an operand of `+` (through parentheses).
fn next_to_plus(t: &Tokens<'_>, i: usize, from: usize, to: usize) -> bool {
    let is_plus = |k: Option<K>| matches!(k, Some(K::Plus | K::PlusAssign));
    let mut j = i;
    while j > from && t.kind(j - 1) == Some(K::LParen) {
        j -= 1;
    }
    if j > from && is_plus(t.kind(j - 1)) {
        return true;
    }
    let mut j = i;
    while j < to && t.kind(j + 1) == Some(K::RParen) {
        j += 1;
    }
    j < to && is_plus(t.kind(j + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(text: &str, relevant: &[&str]) -> String {
        let skim =
            Skim { files: vec![skim_file(text).skim], outlines: Vec::new(), relevant: relevant.iter().map(|n| hash(n)).collect() };
        kept_text(text, &skim.skipped_spans(0, text))
    }

    fn kept_text(text: &str, skipped: &[(usize, usize)]) -> String {
        let mut kept = String::new();
        let mut from = 0;
        for &(s, e) in skipped {
            kept.push_str(&text[from..s]);
            from = e;
        }
        kept.push_str(&text[from..]);
        kept
    }

    #[test]
    fn only_types_a_named_call_may_bind_are_relevant() {
        let models = "package m\n\ntype Base struct {\n\tID string `db:\"id\"`\n}\n\ntype Note struct {\n\tBase\n\tBody string `db:\"body\"`\n}\n\ntype Scanned struct {\n\tN int `db:\"n\"`\n}\n\nfunc fill(s *Scanned) {\n\ts.N = 1\n}\n";
        let repo = "package r\n\nfunc save(db DB, n *m.Note) {\n\tdb.NamedExec(q, n)\n}\n\nfunc read(db DB, s *m.Scanned) {\n\tdb.Get(s, `SELECT n FROM t`)\n}\n";
        let skim = Skim::new(&[models, repo]);
        for (name, relevant) in [("Base", true), ("Note", true), ("Scanned", false)] {
            assert_eq!(skim.relevant.contains(&hash(name)), relevant, "{name}");
        }
        // So `fill` is not parsed, nor the fields of `Scanned`.
        let kept = kept_text(models, &skim.skipped_spans(0, models));
        assert!(kept.contains("type Scanned struct {}") && !kept.contains("fill"), "{kept}");
        assert!(kept.contains("Body string"), "{kept}");
        // A `Named*` call outside a function the skim understands binds anything.
        let top = "package r\n\nvar _, _ = db.NamedExec(q, x)\n";
        assert!(Skim::new(&[models, top]).relevant.contains(&hash("Scanned")));
    }

    #[test]
    fn functions_without_anything_used_are_left_out() {
        let src = "package p\n\n// a adds.\nfunc a(x int) int {\n\treturn x + 1 // one\n}\n\nfunc (s *S) b() error {\n\treturn fmt.Errorf(\"no: %w\", err)\n}\n\ntype S struct{ n int }\n\ntype T = S\n";
        assert_eq!(kept(src, &[]), "package p\n\n\n\ntype S struct{}\n\ntype T = S\n");
        // The fields of a relevant type stay.
        assert!(kept(src, &["S"]).contains("struct{ n int }"));
    }

    #[test]
    fn functions_with_calls_sql_constants_or_bound_types_are_kept() {
        for body in [
            "db.Exec(q)",
            "db.QueryRowContext(ctx, q, v)",
            "sqlx.Get(db, &n, ctx, \"SELECT 1\")",
            "db.Exec[T](\"SELECT 1\")",
            "x := `INSERT INTO t VALUES (1)`",
            "x := \"t\" + y",
            "x := (\"t\") + y",
            "const c = a + b",
            "r := Row{}",
        ] {
            let src = format!("package p\n\nfunc f() {{\n\t{body}\n}}\n");
            assert_eq!(kept(&src, &["Row"]), src, "{body}");
        }
        // A parameter of a bound type keeps the body: its fields may be set.
        let src = "package p\n\nfunc f(r *models.Row) {\n\tr.State = s\n}\n";
        assert_eq!(kept(src, &["Row"]), src);
    }

    #[test]
    fn exec_methods_are_known() {
        for m in crate::index::EXEC_METHODS {
            assert!(is_exec_method(m), "{m}");
        }
        assert!(!is_exec_method("Execute"));
    }

    #[test]
    fn calls_that_can_only_read_are_left_out() {
        for body in [
            "err := db.QueryRowContext(ctx, \"SELECT count(*) FROM t WHERE a = $1\", v).Scan(&n)",
            "db.GetContext(ctx, &n, `SELECT 1`)",
            "v, ok := cache.Get(key)",
            "f := db.Exec",
        ] {
            let src = format!("package p\n\nfunc f() {{\n\t{body}\n}}\n");
            assert_eq!(kept(&src, &[]), "package p\n\n\n", "{body}");
        }
    }

    #[test]
    fn signatures_with_types_and_generics_find_their_body() {
        let src = "package p\n\nfunc f[T any](x T) (struct{ a int }, error) {\n\treturn\n}\n\nfunc g() interface{ M() } {\n\treturn nil\n}\n\nfunc h()\n";
        let t = Tokens::new(src).unwrap();
        let bodies: Vec<String> = t
            .items(0, t.toks.len())
            .into_iter()
            .filter(|&(s, _)| t.is_word(s, "func"))
            .map(|(s, e)| {
                body(&t, s, e).map_or("none".into(), |open| {
                    src[t.toks[open].start as usize..].lines().next().unwrap_or("").to_string()
                })
            })
            .collect();
        assert_eq!(bodies, ["{", "{", "none"]);
    }

    #[test]
    fn what_does_not_lex_is_parsed_whole() {
        for src in [
            "package p\nfunc f() {\n",
            "package p\nfunc f() { \"x }\n",
            "package p\n/* x",
            "package p\nfunc f() { ) }",
        ] {
            assert!(skim_file(src).skim.is_none(), "{src}");
        }
    }

    #[test]
    fn long_embedding_chains_stay_linear() {
        let mut src = String::from("package p\n\ntype T0 struct {\n\tX int `db:\"x\"`\n}\n");
        for i in 1..20_000 {
            src.push_str(&format!("type T{i} struct {{\n\t*T{}\n}}\n", i - 1));
        }
        let started = std::time::Instant::now();
        let relevant = relevant_names(&skim_file(&src).specs, None);
        assert_eq!(relevant.len(), 20_000);
        assert!(started.elapsed().as_secs() < 10);
    }

    #[test]
    fn relevant_types_follow_embedding_and_aliases() {
        let models = "package m\n\ntype (\n\tBase struct {\n\t\tID string `db:\"id\"`\n\t}\n\tNote struct {\n\t\t*Base\n\t\tBody string\n\t}\n\tPlain struct{ N Base }\n)\n\ntype Alias = m.Note\n\ntype Page[T any] struct {\n\tItems []T `db:\"items\"`\n}\n";
        let relevant = relevant_names(&skim_file(models).specs, None);
        let mut names: Vec<&str> = relevant.into_iter().collect();
        names.sort_unstable();
        assert_eq!(names, ["Alias", "Base", "Note", "Page"]);
    }
}
