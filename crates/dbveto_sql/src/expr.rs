//! Reading expressions of the parse tree: constants, column references,
//! CHECK predicates, and a short rendering for messages.

use dbveto_schema::{Comparison, Predicate};
use dbveto_writes::Literal;
use pg_raw_parse::nodes::{self, A_Expr_Kind, BoolExprType, MinMaxOp, NullTestType};
use pg_raw_parse::{ConstValue, Node};

/// The strings of a name list (`schema.name`, column lists).
pub fn strings<'a>(nodes: impl IntoIterator<Item = Node<'a>>) -> Vec<String> {
    nodes.into_iter().filter_map(Node::as_str).map(str::to_string).collect()
}

/// The strings of a list of `String` nodes.
pub fn names<'a>(nodes: impl IntoIterator<Item = &'a nodes::String>) -> Vec<String> {
    nodes.into_iter().filter_map(|s| s.sval()).map(str::to_string).collect()
}

/// The last string of a name list (a column of `t.c`, a type of `pg_catalog.int4`).
pub fn last_name<'a>(nodes: impl DoubleEndedIterator<Item = Node<'a>>) -> Option<String> {
    nodes.last().and_then(Node::as_str).map(str::to_string)
}

/// A constant, looking through casts (`'a'::text`).
pub fn literal(node: Node<'_>) -> Option<Literal> {
    match node {
        Node::A_Const(c) => {
            let Some(val) = c.val() else { return Some(Literal::Null) };
            Some(match val {
                ConstValue::Integer(i) => Literal::Int(i64::from(i)),
                ConstValue::Float(f) => match f.parse::<i64>() {
                    Ok(i) => Literal::Int(i),
                    Err(_) => Literal::Num(f.to_string()),
                },
                ConstValue::Boolean(b) => Literal::Bool(b),
                ConstValue::String(s) => Literal::Str(s.to_string()),
                _ => return None,
            })
        }
        Node::TypeCast(c) => {
            let inner = literal(c.arg())?;
            // `'t'::boolean` and friends: only casts that keep the value's meaning.
            let ty = c.type_name().map(|t| names(t.names())).unwrap_or_default();
            match (ty.last().map(String::as_str), &inner) {
                (Some("bool"), Literal::Str(s)) => match s.to_ascii_lowercase().as_str() {
                    "t" | "true" | "yes" | "on" | "1" => Some(Literal::Bool(true)),
                    "f" | "false" | "no" | "off" | "0" => Some(Literal::Bool(false)),
                    _ => None,
                },
                _ => Some(inner),
            }
        }
        _ => None,
    }
}

/// The location of a node that has one, for mapping values back to lines.
pub fn location(node: Node<'_>) -> Option<usize> {
    let loc = match node {
        Node::A_Const(c) => c.location,
        Node::TypeCast(c) => return location(c.arg()).or(usize::try_from(c.location).ok()),
        Node::ParamRef(p) => p.location,
        Node::ColumnRef(c) => c.location,
        Node::FuncCall(f) => f.location,
        Node::SetToDefault(d) => d.location,
        Node::A_Expr(e) => e.location,
        _ => return None,
    };
    usize::try_from(loc).ok()
}

/// The column a node names, looking through casts (`(s)::text`).
pub fn column_name(node: Node<'_>) -> Option<String> {
    match node {
        Node::ColumnRef(c) => last_name(c.fields().iter()),
        Node::TypeCast(c) => column_name(c.arg()),
        _ => None,
    }
}

/// The name PostgreSQL's `FigureColname` gives an expression (used for
/// index names: `lower(email)` gives `lower`, `a::text` gives `a`), or
/// `None` where it gives none (then an index says `expr`).
pub fn figure_colname(node: Node<'_>) -> Option<String> {
    figure(node).map(|(name, _)| name)
}

/// `FigureColnameInternal`: a name and its strength (2 for a column or
/// function name, 1 for a type name, which a CASE's `case` outranks).
fn figure(node: Node<'_>) -> Option<(String, u8)> {
    let strong = |name: &str| Some((name.to_string(), 2));
    match node {
        Node::ColumnRef(c) => last_name(c.fields().iter()).map(|n| (n, 2)),
        Node::A_Indirection(a) => match a.indirection().iter().rev().find_map(Node::as_str) {
            Some(field) => strong(field),
            None => figure(a.arg()),
        },
        Node::FuncCall(f) => last_name(f.funcname().iter()).map(|n| (n, 2)),
        Node::A_Expr(e) if e.kind == A_Expr_Kind::AEXPR_NULLIF => strong("nullif"),
        Node::TypeCast(c) => match figure(c.arg()) {
            Some(named) if named.1 > 1 => Some(named),
            _ => names(c.type_name()?.names()).pop().map(|n| (n, 1)),
        },
        Node::CollateClause(c) => figure(c.arg()),
        Node::CaseExpr(c) => match figure(c.defresult()) {
            Some(named) if named.1 > 1 => Some(named),
            _ => Some(("case".into(), 1)),
        },
        Node::A_ArrayExpr(_) => strong("array"),
        Node::RowExpr(_) => strong("row"),
        Node::CoalesceExpr(_) => strong("coalesce"),
        Node::MinMaxExpr(m) => strong(if m.op == MinMaxOp::IS_GREATEST { "greatest" } else { "least" }),
        Node::GroupingFunc(_) => strong("grouping"),
        _ => None,
    }
}

/// Every column an expression reads, in order of appearance, once each.
pub fn columns_read(node: Node<'_>, out: &mut Vec<String>) {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        match node {
            Node::ColumnRef(_) => {
                if let Some(c) = column_name(node) {
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
            }
            Node::A_Expr(e) => stack.extend([e.lexpr(), e.rexpr()]),
            Node::BoolExpr(b) => stack.extend(b.args().iter().rev()),
            Node::NullTest(t) => stack.push(t.arg()),
            Node::BooleanTest(t) => stack.push(t.arg()),
            Node::TypeCast(c) => stack.push(c.arg()),
            Node::FuncCall(f) => stack.extend(f.args().iter().rev()),
            Node::NodeList(l) => stack.extend(l.iter().rev()),
            Node::A_ArrayExpr(a) => stack.extend(a.elements().iter().rev()),
            Node::CoalesceExpr(c) => stack.extend(c.args().iter().rev()),
            Node::CaseExpr(c) => {
                stack.push(c.defresult());
                stack.extend(c.args().iter().rev());
                stack.push(c.arg());
            }
            Node::CaseWhen(w) => stack.extend([w.expr(), w.result()]),
            _ => {}
        }
    }
    // The stack visits in reverse for AExpr pairs; order of first
    // appearance matters only for naming, where one column is the case.
}

fn operator(names: &pg_raw_parse::list::NodeList) -> Option<String> {
    last_name(names.iter())
}

fn comparison(op: &str) -> Option<Comparison> {
    Some(match op {
        "=" => Comparison::Eq,
        "<>" | "!=" => Comparison::Ne,
        "<" => Comparison::Lt,
        "<=" => Comparison::Le,
        ">" => Comparison::Gt,
        ">=" => Comparison::Ge,
        _ => return None,
    })
}

fn flipped(op: Comparison) -> Comparison {
    match op {
        Comparison::Lt => Comparison::Gt,
        Comparison::Le => Comparison::Ge,
        Comparison::Gt => Comparison::Lt,
        Comparison::Ge => Comparison::Le,
        other => other,
    }
}

/// The constants of an `IN` list, an `ARRAY[...]`, or `'{a,b}'::text[]`.
fn value_list(node: Node<'_>) -> Option<Vec<Literal>> {
    match node {
        Node::NodeList(l) => l.iter().map(literal).collect(),
        Node::A_ArrayExpr(a) => a.elements().iter().map(literal).collect(),
        Node::TypeCast(c) => {
            let arg = present(c.arg())?;
            if let Some(Literal::Str(s)) = literal(arg) {
                return array_literal(&s);
            }
            value_list(arg)
        }
        _ => None,
    }
}

/// `{a,b,"c d"}`, the text form of a one-dimensional array.
fn array_literal(s: &str) -> Option<Vec<Literal>> {
    let inner = s.trim().strip_prefix('{')?.strip_suffix('}')?;
    if inner.contains(['{', '\\']) {
        return None;
    }
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    Some(
        inner
            .split(',')
            .map(|v| {
                let v = v.trim();
                match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                    Some(q) => Literal::Str(q.to_string()),
                    None if v.eq_ignore_ascii_case("null") => Literal::Null,
                    None => Literal::Str(v.to_string()),
                }
            })
            .collect(),
    )
}

/// A CHECK expression reduced to a `Predicate`. `depth` bounds recursion.
pub fn predicate(node: Node<'_>) -> Predicate {
    predicate_at(node, 0)
}

fn predicate_at(node: Node<'_>, depth: usize) -> Predicate {
    if depth > 64 {
        return Predicate::Opaque;
    }
    match node {
        Node::BoolExpr(b) => {
            let operands: Vec<Predicate> = b.args().iter().map(|a| predicate_at(a, depth + 1)).collect();
            match b.boolop {
                BoolExprType::AND_EXPR => Predicate::And { operands },
                BoolExprType::OR_EXPR => Predicate::Or { operands },
                BoolExprType::NOT_EXPR => match operands.into_iter().next() {
                    Some(p) => Predicate::Not { operand: Box::new(p) },
                    None => Predicate::Opaque,
                },
                _ => Predicate::Opaque,
            }
        }
        Node::NullTest(t) => match column_name(t.arg()) {
            Some(column) => Predicate::IsNull { column, negated: t.nulltesttype == NullTestType::IS_NOT_NULL },
            None => Predicate::Opaque,
        },
        Node::A_Expr(e) => a_expr(e).unwrap_or(Predicate::Opaque),
        _ => Predicate::Opaque,
    }
}

fn a_expr(e: &nodes::A_Expr) -> Option<Predicate> {
    let op = operator(e.name())?;
    let kind = e.kind;
    let (l, r) = (e.lexpr(), e.rexpr());
    match kind {
        A_Expr_Kind::AEXPR_IN => Some(Predicate::InSet { column: column_name(l)?, values: value_list(r)?, negated: op == "<>" }),
        A_Expr_Kind::AEXPR_OP_ANY | A_Expr_Kind::AEXPR_OP_ALL => {
            let any = kind == A_Expr_Kind::AEXPR_OP_ANY;
            let negated = match (op.as_str(), any) {
                ("=", true) => false,
                ("<>" | "!=", false) => true,
                _ => return None,
            };
            Some(Predicate::InSet { column: column_name(l)?, values: value_list(r)?, negated })
        }
        A_Expr_Kind::AEXPR_OP => {
            let op = comparison(&op)?;
            if let (Some(column), Some(value)) = (column_name(l), literal(r)) {
                return Some(Predicate::Compare { column, op, value });
            }
            if let (Some(value), Some(column)) = (literal(l), column_name(r)) {
                return Some(Predicate::Compare { column, op: flipped(op), value });
            }
            None
        }
        A_Expr_Kind::AEXPR_BETWEEN | A_Expr_Kind::AEXPR_NOT_BETWEEN => {
            let column = column_name(l)?;
            let bounds = value_list(r)?;
            let [lo, hi] = <[Literal; 2]>::try_from(bounds).ok()?;
            let between = kind == A_Expr_Kind::AEXPR_BETWEEN;
            let (a, b) = if between { (Comparison::Ge, Comparison::Le) } else { (Comparison::Lt, Comparison::Gt) };
            let operands = vec![
                Predicate::Compare { column: column.clone(), op: a, value: lo },
                Predicate::Compare { column, op: b, value: hi },
            ];
            Some(if between { Predicate::And { operands } } else { Predicate::Or { operands } })
        }
        _ => None,
    }
}

/// The text of the parenthesised expression that starts at or after
/// `from` in `text` (a CHECK's body), as written.
pub fn parenthesised(text: &str, from: usize) -> Option<&str> {
    let start = from + text.get(from..)?.find('(')?;
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return text.get(start + 1..i).map(str::trim);
                }
            }
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A short rendering of an expression for defaults and messages.
pub fn render(node: Node<'_>) -> String {
    render_at(node, 0)
}

fn render_at(node: Node<'_>, depth: usize) -> String {
    if depth > 32 {
        return "…".into();
    }
    if let Some(l) = literal(node) {
        if let (Node::TypeCast(c), false) = (node, matches!(l, Literal::Null)) {
            let ty = c.type_name().map(|t| names(t.names())).unwrap_or_default();
            if let Some(t) = ty.last() {
                return format!("{}::{t}", l.to_sql());
            }
        }
        return l.to_sql();
    }
    let operand = |n: Node<'_>| present(n).map_or_else(String::new, |n| render_at(n, depth + 1));
    match node {
        Node::FuncCall(f) => {
            let name = strings(f.funcname().iter()).join(".");
            let args: Vec<String> = f.args().iter().map(|a| render_at(a, depth + 1)).collect();
            format!("{name}({})", args.join(", "))
        }
        Node::SQLValueFunction(_) => "CURRENT_TIMESTAMP".into(),
        Node::ColumnRef(_) => column_name(node).unwrap_or_default(),
        Node::TypeCast(c) => {
            let inner = operand(c.arg());
            let ty = c.type_name().map(|t| names(t.names())).unwrap_or_default();
            format!("{inner}::{}", ty.last().cloned().unwrap_or_default())
        }
        Node::A_Expr(e) => {
            let (l, r) = (operand(e.lexpr()), operand(e.rexpr()));
            format!("{l} {} {r}", operator(e.name()).unwrap_or_default()).trim().to_string()
        }
        _ => "(expression)".into(),
    }
}

/// The node, unless it is a null pointer (an absent optional field).
pub fn present(node: Node<'_>) -> Option<Node<'_>> {
    (!matches!(node, Node::None)).then_some(node)
}
