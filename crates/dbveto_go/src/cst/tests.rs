//! The parser against tree-sitter-go: the same named nodes, fields and
//! spans on every Go file of the fixtures, on snippets of the constructs
//! where the two grammars could part, and on any Go tree named by
//! `DBVETO_GO_CORPUS` (a directory, such as Go's own `src`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{parse, Node};

/// Kinds whose spans may differ: tree-sitter ends a statement list after
/// the line break that ends its last statement, and a source file where
/// its last token ends.
fn span_shown(kind: &str) -> bool {
    !matches!(kind, "statement_list" | "source_file")
}

fn ours(node: Node<'_>, out: &mut String) {
    write!(out, "({}", node.kind()).unwrap();
    if span_shown(node.kind()) {
        write!(out, "@{}-{}", node.start_byte(), node.end_byte()).unwrap();
    }
    for (field, child) in node.fields_and_children() {
        if !child.is_named() {
            continue;
        }
        out.push(' ');
        if let Some(f) = field {
            write!(out, "{f}: ").unwrap();
        }
        ours(child, out);
    }
    out.push(')');
}

fn theirs(node: tree_sitter::Node<'_>, out: &mut String) {
    write!(out, "({}", node.kind()).unwrap();
    if span_shown(node.kind()) {
        write!(out, "@{}-{}", node.start_byte(), node.end_byte()).unwrap();
    }
    let mut cursor = node.walk();
    if cursor.goto_first_child() {
        loop {
            let child = cursor.node();
            if child.is_named() && child.kind() != "comment" {
                out.push(' ');
                if let Some(f) = cursor.field_name() {
                    write!(out, "{f}: ").unwrap();
                }
                theirs(child, out);
            }
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
    out.push(')');
}

/// Both trees of `src`, or `None` when tree-sitter finds an error (then
/// the trees need not agree).
fn both(src: &str) -> Option<(String, String)> {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_go::LANGUAGE.into()).ok()?;
    let ts = parser.parse(src, None)?;
    if ts.root_node().has_error() {
        return None;
    }
    let mut expected = String::new();
    theirs(ts.root_node(), &mut expected);
    let tree = parse(src, &[]);
    if has_long_parameter_group(tree.root_node()) {
        return None;
    }
    let mut got = String::new();
    ours(tree.root_node(), &mut got);
    if tree.error_offset().is_some() {
        got.push_str(&format!(" ERROR at {}", tree.error_offset().unwrap_or(0)));
    }
    Some((got, expected))
}

/// tree-sitter-go misreads a group of ten or more parameter names
/// (`func f(a, b, ..., j int)`): its first names become types. Such
/// files are not compared.
fn has_long_parameter_group(node: Node<'_>) -> bool {
    let mut cursor = node.walk();
    if node.kind() == "parameter_declaration" && node.children_by_field_name("name", &mut cursor).count() >= 9 {
        return true;
    }
    node.named_children(&mut cursor).any(has_long_parameter_group)
}

/// Where two renderings first differ, with some context.
fn first_difference(got: &str, expected: &str) -> String {
    let at = got.bytes().zip(expected.bytes()).take_while(|(a, b)| a == b).count();
    let from = got[..at].rfind(" (").unwrap_or(0);
    let from = got[..from].rfind(" (").unwrap_or(0);
    let context = |s: &str| s.get(from..(at + 120).min(s.len())).unwrap_or("").to_string();
    format!("\n  ours:        ...{}\n  tree-sitter: ...{}", context(got), context(expected))
}

fn go_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            go_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "go") {
            out.push(path);
        }
    }
}

fn check_files(files: &[PathBuf]) {
    check_files_allowing(files, 0.0);
}

/// Compares the trees of `files`; fails if more than `allowed` of them
/// (a share) differ.
fn check_files_allowing(files: &[PathBuf], allowed: f64) {
    let mut failures = Vec::new();
    let mut compared = 0;
    for path in files {
        let Ok(src) = std::fs::read_to_string(path) else { continue };
        let Some((got, expected)) = both(&src) else { continue };
        compared += 1;
        if got != expected {
            failures.push(format!("{}:{}", path.display(), first_difference(&got, &expected)));
        }
    }
    eprintln!("{compared} files compared, {} differ", failures.len());
    assert!(failures.len() as f64 <= allowed * compared as f64, "{} of {compared} files differ:\n{}", failures.len(), failures[..failures.len().min(60)].join("\n"));
}

#[test]
fn fixtures_parse_as_tree_sitter_parses_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["tests/fixtures", "examples", "crates/dbveto/tests"] {
        go_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10, "{} Go files", files.len());
    check_files(&files);
}

/// `DBVETO_GO_CORPUS=dir cargo test -p dbveto_go -- --ignored corpus`
#[test]
#[ignore]
fn corpus_parses_as_tree_sitter_parses_it() {
    let Some(dir) = std::env::var_os("DBVETO_GO_CORPUS") else { return };
    let mut files = Vec::new();
    go_files(Path::new(&dir), &mut files);
    // tree-sitter-go reads some nested index expressions as generic
    // instantiations (`a[b][c]`, `f[x.y](z)`) where Go does not; in Go's
    // own source, about one file in a hundred has one.
    check_files_allowing(&files, 0.015);
}

#[test]
fn constructs_parse_as_tree_sitter_parses_them() {
    let snippets = [
        // Conversions, calls and generic instantiations.
        "package p\nfunc f() {\n\ta := f[int](x)\n\tb := m[i](x)\n\tc := g[int, string](x)\n\td := List[int]{1}\n\te := []byte(s)\n\th := (*T)(x)\n\ti := new(T)\n\tj := make(map[string]int, 3)\n\tk := x.(*pkg.T)\n\tl := interface{}(x)\n\thandlers[name](w, r)\n\tfns[0](x)\n\ta.b[i](x)\n\ta.b.c[i](x)\n\tm[*p](x)\n\tm[i]\n\tg[int, string]\n\t_ = ([]int)(x)\n\t_ = f[int, string](a, b)\n\t_ = make(chan<- int)\n\t_ = <-chan int(nil)\n}\n",
        // Statements.
        "package p\nfunc f() {\n\tswitch v := x.(type) {\n\tcase nil, int:\n\tcase *pkg.T:\n\t\tbreak\n\tdefault:\n\t}\n\tswitch y := 1; y {\n\tcase 1, 2:\n\t\tfallthrough\n\tcase 3:\n\t}\n\tswitch {\n\t}\n\tfor i := range 10 {\n\t}\n\tfor k, v := range m {\n\t\t_ = k + v\n\t}\n\tfor k = range m {\n\t}\n\tfor range ch {\n\t}\n\tfor {\n\t\tbreak\n\t}\n\tfor x < 3 {\n\t\tx++\n\t}\n\tfor i := 0; i < 3; i++ {\n\t\tcontinue\n\t}\n\tfor ; ; {\n\t}\nL:\n\tfor {\n\t\tbreak L\n\t}\n\tgoto L\n\tselect {\n\tcase v := <-ch:\n\t\t_ = v\n\tcase v, ok = <-ch:\n\tcase <-done:\n\tcase ch <- 1:\n\tdefault:\n\t}\n\tif x := f(); x > 0 {\n\t} else if y {\n\t} else {\n\t}\n\tdefer func() { recover() }()\n\tgo run()\n\tx, y = y, x\n\tx += 1\n\tx <<= 2\n\tch <- 1\n\tx--\n\tvar (\n\t\ta = 1\n\t\tb, c int\n\t)\n\tconst (\n\t\tA = iota\n\t\tB\n\t)\n\ttype local int\n\t{\n\t\treturn\n\t}\n}\n",
        // Literals and expressions.
        "package p\nvar (\n\t_ = T{A: 1, B: {2}, C: []int{3}}\n\t_ = map[string][]int{\"a\": {1}}\n\t_ = [...]int{1, 2}\n\t_ = struct{ A int }{A: 1}\n\t_ = &T{}\n\t_ = pkg.T{X: 1}\n\t_ = -x * +y / z % 2 << 1 & ^m &^ n\n\t_ = !ok && a || b == c != d < e <= f > g >= h\n\t_ = a + b - c | d ^ e\n\t_ = <-ch\n\t_ = x[1:2]\n\t_ = x[:2:3]\n\t_ = x[1:]\n\t_ = x[:]\n\t_ = \"a\\n\\x41b\\101\\u00e9\\U0001F600\\\\\\\"\"\n\t_ = 'c'\n\t_ = '\\n'\n\t_ = 1.5 + 2i + 0x1F + 0o17 + 0b101 + 1e9 + .5 + 1_000\n\t_ = `raw\nstring`\n\t_ = ``\n\t_ = \"\"\n\t_ = nil == true != false\n\t_ = iota\n\t_ = func(a, b int) (int, error) { return a, nil }\n\t_ = x.(interface{ M() })\n\t_ = a.b.c.d()\n\t_ = f(a, b...)\n\t_ = f(\n\t\ta,\n\t\tb,\n\t)\n)\n",
        // Declarations and types.
        "package p\n\nimport \"fmt\"\nimport (\n\t\"os\"\n\tx \"example.com/x\"\n\t. \"example.com/dot\"\n\t_ \"example.com/blank\"\n)\n\ntype S struct {\n\t*T\n\tpkg.U\n\tA, B int `db:\"a\"`\n\tC    []string \"tag\"\n\tD    [2]int\n\tE    map[string]*T\n\tF    func(int) (string, error)\n\tG    chan<- int\n\tH    <-chan int\n\tI    struct{ X int }\n\tJ    interface{}\n\tV[int]\n}\n\ntype G[T any, U comparable] struct{ x T }\ntype H[K, V any] map[K]V\ntype C interface {\n\t~int | ~string\n\tM(a int) error\n\tio.Reader\n}\ntype Arr [N]int\ntype Alias = pkg.T\ntype (\n\tA int\n\tB = string\n)\n\nfunc (s *S) M(a, b int, c ...string) (n int, err error) { return }\nfunc (S) N() {}\nfunc h(int, string) error\nfunc g[T any](x T) T { return x }\nfunc v(...interface{}) {}\nfunc w(f func(), ch chan int) {}\nconst X, Y = 1, 2\nconst Z int = 3\nvar q [2]int\nvar r = fmt.Sprintf(\"%d\", 1)\n",
        // Comments and line breaks.
        "package p // trailing\n\n/* block\ncomment */\nfunc f() { /* inline */ x := 1 /* more */ + 2\n\t// line\n\t_ = x /* multi\nline */\n}\n",
    ];
    let mut failures = Vec::new();
    for (i, src) in snippets.iter().enumerate() {
        let (got, expected) = both(src).unwrap_or_else(|| panic!("snippet {i} has a syntax error for tree-sitter"));
        if got != expected {
            failures.push(format!("snippet {i}:{}", first_difference(&got, &expected)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn broken_code_keeps_what_parsed_and_says_where() {
    let src = "package s\n\nfunc f(db DB) {\n\tdb.Exec(\"INSERT INTO t (a) VALUES (1)\")\n\tif {{{\n}\n";
    let tree = parse(src, &[]);
    assert!(tree.error_offset().is_some());
    let mut out = String::new();
    ours(tree.root_node(), &mut out);
    assert!(out.contains("call_expression"), "{out}");
    for garbage in ["", "package", "func", "func (", "x := ", "type T struct {", "\u{0}\u{1}\u{ff}", "\"unterminated", "`raw", "/* open"] {
        let tree = parse(garbage, &[]);
        let _ = tree.root_node().named_child_count();
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let src = format!("package p\nvar x = {}1{}\n", "(".repeat(100_000), ")".repeat(100_000));
    let tree = parse(&src, &[]);
    assert!(tree.error_offset().is_some());
    let src = format!("package p\nfunc f() {}\n", "{".repeat(100_000));
    assert!(parse(&src, &[]).error_offset().is_some());
    let src = format!("package p\nvar x = T{}\n", "{".repeat(100_000));
    assert!(parse(&src, &[]).error_offset().is_some());
}

#[test]
fn skipped_spans_are_not_seen() {
    let src = "package p\n\nfunc skipped() { this is not go }\n\nfunc kept() { x := 1 }\n";
    let start = src.find("func skipped").unwrap();
    let end = src[start..].find('\n').unwrap() + start;
    let tree = parse(src, &[(start, end)]);
    assert_eq!(tree.error_offset(), None);
    let mut out = String::new();
    ours(tree.root_node(), &mut out);
    assert_eq!(out.matches("function_declaration").count(), 1, "{out}");
}
