//! Go's tokens, with the semicolons the language inserts at line ends
//! (the Go spec, "Semicolons"). Spans the caller leaves out are skipped as
//! if they were not there, the way tree-sitter's included ranges are.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum T {
    Ident,
    Int,
    Float,
    Imag,
    Rune,
    Str,
    RawStr,
    // Keywords.
    Break,
    Case,
    Chan,
    Const,
    Continue,
    Default,
    Defer,
    Else,
    Fallthrough,
    For,
    Func,
    Go,
    Goto,
    If,
    Import,
    Interface,
    Map,
    Package,
    Range,
    Return,
    Select,
    Struct,
    Switch,
    Type,
    Var,
    // Operators and punctuation.
    Add,
    Sub,
    Mul,
    Quo,
    Rem,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    AndNot,
    AddAssign,
    SubAssign,
    MulAssign,
    QuoAssign,
    RemAssign,
    AndAssign,
    OrAssign,
    XorAssign,
    ShlAssign,
    ShrAssign,
    AndNotAssign,
    LAnd,
    LOr,
    Arrow,
    Inc,
    Dec,
    Eql,
    Lss,
    Gtr,
    Assign,
    Not,
    Neq,
    Leq,
    Geq,
    Define,
    Ellipsis,
    LParen,
    LBrack,
    LBrace,
    Comma,
    Period,
    RParen,
    RBrack,
    RBrace,
    /// `;`, written or inserted at a line end (then its span is empty).
    Semi,
    Colon,
    Tilde,
    /// What is not Go: a stray character, an unterminated literal.
    Illegal,
    Eof,
}

impl T {
    /// The token's text, for an operator.
    pub(super) fn op(self) -> &'static str {
        match self {
            T::Add => "+",
            T::Sub => "-",
            T::Mul => "*",
            T::Quo => "/",
            T::Rem => "%",
            T::And => "&",
            T::Or => "|",
            T::Xor => "^",
            T::Shl => "<<",
            T::Shr => ">>",
            T::AndNot => "&^",
            T::AddAssign => "+=",
            T::SubAssign => "-=",
            T::MulAssign => "*=",
            T::QuoAssign => "/=",
            T::RemAssign => "%=",
            T::AndAssign => "&=",
            T::OrAssign => "|=",
            T::XorAssign => "^=",
            T::ShlAssign => "<<=",
            T::ShrAssign => ">>=",
            T::AndNotAssign => "&^=",
            T::LAnd => "&&",
            T::LOr => "||",
            T::Arrow => "<-",
            T::Inc => "++",
            T::Dec => "--",
            T::Eql => "==",
            T::Lss => "<",
            T::Gtr => ">",
            T::Assign => "=",
            T::Not => "!",
            T::Neq => "!=",
            T::Leq => "<=",
            T::Geq => ">=",
            T::Define => ":=",
            T::Tilde => "~",
            _ => "",
        }
    }

    pub(super) fn is_assign_op(self) -> bool {
        matches!(
            self,
            T::Assign
                | T::AddAssign
                | T::SubAssign
                | T::MulAssign
                | T::QuoAssign
                | T::RemAssign
                | T::AndAssign
                | T::OrAssign
                | T::XorAssign
                | T::ShlAssign
                | T::ShrAssign
                | T::AndNotAssign
        )
    }

    /// A binary operator's precedence (the Go spec's), 0 if it is none.
    pub(super) fn precedence(self) -> u8 {
        match self {
            T::LOr => 1,
            T::LAnd => 2,
            T::Eql | T::Neq | T::Lss | T::Leq | T::Gtr | T::Geq => 3,
            T::Add | T::Sub | T::Or | T::Xor => 4,
            T::Mul | T::Quo | T::Rem | T::Shl | T::Shr | T::And | T::AndNot => 5,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Token {
    pub(super) kind: T,
    pub(super) start: u32,
    pub(super) end: u32,
}

fn keyword(word: &[u8]) -> T {
    match word {
        b"break" => T::Break,
        b"case" => T::Case,
        b"chan" => T::Chan,
        b"const" => T::Const,
        b"continue" => T::Continue,
        b"default" => T::Default,
        b"defer" => T::Defer,
        b"else" => T::Else,
        b"fallthrough" => T::Fallthrough,
        b"for" => T::For,
        b"func" => T::Func,
        b"go" => T::Go,
        b"goto" => T::Goto,
        b"if" => T::If,
        b"import" => T::Import,
        b"interface" => T::Interface,
        b"map" => T::Map,
        b"package" => T::Package,
        b"range" => T::Range,
        b"return" => T::Return,
        b"select" => T::Select,
        b"struct" => T::Struct,
        b"switch" => T::Switch,
        b"type" => T::Type,
        b"var" => T::Var,
        _ => T::Ident,
    }
}

/// Whether a line break after this token ends the statement.
fn ends_statement(kind: T) -> bool {
    matches!(
        kind,
        T::Ident
            | T::Int
            | T::Float
            | T::Imag
            | T::Rune
            | T::Str
            | T::RawStr
            | T::Break
            | T::Continue
            | T::Fallthrough
            | T::Return
            | T::Inc
            | T::Dec
            | T::RParen
            | T::RBrack
            | T::RBrace
    )
}

/// The tokens of `src` without the `skipped` spans (sorted, disjoint),
/// ending with `Eof`. Offsets are `u32`: the caller parses no larger file.
pub(super) fn lex(src: &str, skipped: &[(usize, usize)]) -> Vec<Token> {
    let b = src.as_bytes();
    let mut toks: Vec<Token> = Vec::with_capacity(b.len() / 4 + 1);
    let mut skip = skipped.iter().peekable();
    let mut i = 0usize;
    // Whether a line break now inserts a semicolon.
    let mut semi_ok = false;
    // Where a comment holding a line break ended a statement.
    let mut forced: Option<usize> = None;
    // An inserted semicolon spans the line break, as tree-sitter's does.
    let auto_semi = |toks: &mut Vec<Token>, at: usize, len: usize| {
        toks.push(Token { kind: T::Semi, start: at as u32, end: (at + len) as u32 });
    };
    while i < b.len() {
        while let Some(&&(s, e)) = skip.peek() {
            if i >= s {
                if i < e {
                    i = e;
                }
                skip.next();
            } else {
                break;
            }
        }
        if i >= b.len() {
            break;
        }
        let c = b[i];
        match c {
            b'\n' => {
                if semi_ok {
                    // tree-sitter's terminator is the last line break of the blank run.
                    let mut last = i;
                    let mut j = i + 1;
                    while let Some(&c) = b.get(j) {
                        match c {
                            b'\n' => last = j,
                            b' ' | b'\t' | b'\r' | 0x0c => {}
                            _ => break,
                        }
                        if skip.peek().is_some_and(|&&(s, _)| j >= s) {
                            break;
                        }
                        j += 1;
                    }
                    auto_semi(&mut toks, last, 1);
                    semi_ok = false;
                    forced = None;
                    i = last;
                }
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | 0x0c => {
                i += 1;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                // To the line's end; the newline itself is seen next.
                i = memchr_newline(b, i).unwrap_or(b.len());
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = find(b, i + 2, b"*/").map(|e| e + 2);
                let stop = end.unwrap_or(b.len());
                if semi_ok && b[i..stop].contains(&b'\n') {
                    // The statement ends here; the semicolon goes on the
                    // line break after the comment, or before the next token.
                    forced = Some(i);
                }
                match end {
                    Some(e) => i = e,
                    None => {
                        toks.push(Token { kind: T::Illegal, start: i as u32, end: stop as u32 });
                        i = stop;
                    }
                }
                continue;
            }
            _ => {}
        }
        if let Some(at) = forced.take() {
            auto_semi(&mut toks, at, 0);
        }
        let start = i;
        let kind = if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 {
            i = ident_end(src, i);
            if i == start {
                // A non-ASCII character that is no letter.
                i += src.get(start..).and_then(|r| r.chars().next()).map_or(1, char::len_utf8);
                T::Illegal
            } else {
                keyword(&b[start..i])
            }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (end, kind) = number(b, i);
            i = end;
            kind
        } else {
            match c {
                b'"' => {
                    let (end, kind) = quoted(b, i, b'"', T::Str);
                    i = end;
                    kind
                }
                b'`' => match b[i + 1..].iter().position(|&x| x == b'`') {
                    Some(p) => {
                        i += p + 2;
                        T::RawStr
                    }
                    None => {
                        i = b.len();
                        T::Illegal
                    }
                },
                b'\'' => {
                    let (end, kind) = quoted(b, i, b'\'', T::Rune);
                    i = end;
                    kind
                }
                _ => {
                    let (len, kind) = operator(&b[i..]);
                    i += len;
                    kind
                }
            }
        };
        let end = i.min(b.len());
        i = end;
        toks.push(Token { kind, start: start as u32, end: end as u32 });
        semi_ok = ends_statement(kind);
    }
    if let Some(at) = forced {
        auto_semi(&mut toks, at, 0);
    } else if semi_ok {
        auto_semi(&mut toks, b.len(), 0);
    }
    toks.push(Token { kind: T::Eof, start: b.len() as u32, end: b.len() as u32 });
    toks
}

/// A string or rune literal from its opening `quote` at `i`, with
/// backslash escapes: its end and kind (`Illegal` if a line break or the
/// end of the text comes first).
fn quoted(b: &[u8], mut i: usize, quote: u8, kind: T) -> (usize, T) {
    i += 1;
    loop {
        match b.get(i) {
            None | Some(b'\n') => return (i, T::Illegal),
            Some(&c) if c == quote => return (i + 1, kind),
            Some(b'\\') => i += 2,
            Some(_) => i += 1,
        }
    }
}

fn memchr_newline(b: &[u8], from: usize) -> Option<usize> {
    b[from..].iter().position(|&x| x == b'\n').map(|p| from + p)
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

fn ident_end(src: &str, mut i: usize) -> usize {
    let b = src.as_bytes();
    while i < b.len() {
        let c = b[i];
        if c == b'_' || c.is_ascii_alphanumeric() {
            i += 1;
        } else if c >= 0x80 {
            match src.get(i..).and_then(|r| r.chars().next()) {
                Some(ch) if ch.is_alphanumeric() => i += ch.len_utf8(),
                _ => break,
            }
        } else {
            break;
        }
    }
    i
}

/// A number literal from `i`: its end and kind (int, float or imaginary).
fn number(b: &[u8], mut i: usize) -> (usize, T) {
    let hex = b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X'));
    if hex || (b[i] == b'0' && matches!(b.get(i + 1), Some(b'b' | b'B' | b'o' | b'O'))) {
        i += 2;
    }
    let mut float = false;
    loop {
        match b.get(i) {
            Some(c) if c.is_ascii_alphanumeric() || *c == b'_' => {
                let exponent = if hex { matches!(c, b'p' | b'P') } else { matches!(c, b'e' | b'E') };
                i += 1;
                if exponent {
                    float = true;
                    if matches!(b.get(i), Some(b'+' | b'-')) {
                        i += 1;
                    }
                }
            }
            // One point, not the first of `...`.
            Some(b'.') if !float && b.get(i + 1) != Some(&b'.') => {
                float = true;
                i += 1;
            }
            _ => break,
        }
    }
    let kind = if b[i - 1] == b'i' {
        T::Imag
    } else if float {
        T::Float
    } else {
        T::Int
    };
    (i, kind)
}

/// The operator at the start of `b`: its length and kind.
fn operator(b: &[u8]) -> (usize, T) {
    let at = |n: usize| b.get(n).copied().unwrap_or(0);
    let (c, d, e) = (at(0), at(1), at(2));
    match (c, d, e) {
        (b'<', b'<', b'=') => (3, T::ShlAssign),
        (b'>', b'>', b'=') => (3, T::ShrAssign),
        (b'&', b'^', b'=') => (3, T::AndNotAssign),
        (b'.', b'.', b'.') => (3, T::Ellipsis),
        (b'<', b'<', _) => (2, T::Shl),
        (b'>', b'>', _) => (2, T::Shr),
        (b'&', b'^', _) => (2, T::AndNot),
        (b'+', b'=', _) => (2, T::AddAssign),
        (b'-', b'=', _) => (2, T::SubAssign),
        (b'*', b'=', _) => (2, T::MulAssign),
        (b'/', b'=', _) => (2, T::QuoAssign),
        (b'%', b'=', _) => (2, T::RemAssign),
        (b'&', b'=', _) => (2, T::AndAssign),
        (b'|', b'=', _) => (2, T::OrAssign),
        (b'^', b'=', _) => (2, T::XorAssign),
        (b'&', b'&', _) => (2, T::LAnd),
        (b'|', b'|', _) => (2, T::LOr),
        (b'<', b'-', _) => (2, T::Arrow),
        (b'+', b'+', _) => (2, T::Inc),
        (b'-', b'-', _) => (2, T::Dec),
        (b'=', b'=', _) => (2, T::Eql),
        (b'!', b'=', _) => (2, T::Neq),
        (b'<', b'=', _) => (2, T::Leq),
        (b'>', b'=', _) => (2, T::Geq),
        (b':', b'=', _) => (2, T::Define),
        (b'+', ..) => (1, T::Add),
        (b'-', ..) => (1, T::Sub),
        (b'*', ..) => (1, T::Mul),
        (b'/', ..) => (1, T::Quo),
        (b'%', ..) => (1, T::Rem),
        (b'&', ..) => (1, T::And),
        (b'|', ..) => (1, T::Or),
        (b'^', ..) => (1, T::Xor),
        (b'<', ..) => (1, T::Lss),
        (b'>', ..) => (1, T::Gtr),
        (b'=', ..) => (1, T::Assign),
        (b'!', ..) => (1, T::Not),
        (b'(', ..) => (1, T::LParen),
        (b'[', ..) => (1, T::LBrack),
        (b'{', ..) => (1, T::LBrace),
        (b',', ..) => (1, T::Comma),
        (b'.', ..) => (1, T::Period),
        (b')', ..) => (1, T::RParen),
        (b']', ..) => (1, T::RBrack),
        (b'}', ..) => (1, T::RBrace),
        (b';', ..) => (1, T::Semi),
        (b':', ..) => (1, T::Colon),
        (b'~', ..) => (1, T::Tilde),
        _ => (1, T::Illegal),
    }
}
