//! Reading expressions of the parse tree: constants, column references,
//! CHECK predicates, and a short rendering for messages.

use dbveto_schema::{Comparison, Predicate};
use dbveto_writes::Literal;
use pg_query::protobuf::{a_const, AExprKind, BoolExprType, NullTestType};
use pg_query::protobuf::{node::Node as N, Node};

/// The string of a `String` node (identifiers in name lists).
pub fn string(node: &Node) -> Option<&str> {
    match node.node.as_ref()? {
        N::String(s) => Some(&s.sval),
        _ => None,
    }
}

/// The strings of a name list (`schema.name`, column lists).
pub fn strings(nodes: &[Node]) -> Vec<String> {
    nodes.iter().filter_map(string).map(str::to_string).collect()
}

/// A constant, looking through casts (`'a'::text`).
pub fn literal(node: &Node) -> Option<Literal> {
    match node.node.as_ref()? {
        N::AConst(c) => {
            if c.isnull {
                return Some(Literal::Null);
            }
            Some(match c.val.as_ref()? {
                a_const::Val::Ival(i) => Literal::Int(i.ival as i64),
                a_const::Val::Fval(f) => match f.fval.parse::<i64>() {
                    Ok(i) => Literal::Int(i),
                    Err(_) => Literal::Num(f.fval.clone()),
                },
                a_const::Val::Boolval(b) => Literal::Bool(b.boolval),
                a_const::Val::Sval(s) => Literal::Str(s.sval.clone()),
                a_const::Val::Bsval(_) => return None,
            })
        }
        N::TypeCast(c) => {
            let inner = literal(c.arg.as_deref()?)?;
            // `'t'::boolean` and friends: only casts that keep the value's meaning.
            let ty = c.type_name.as_ref().map(|t| strings(&t.names)).unwrap_or_default();
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
pub fn location(node: &Node) -> Option<usize> {
    let loc = match node.node.as_ref()? {
        N::AConst(c) => c.location,
        N::TypeCast(c) => return c.arg.as_deref().and_then(location).or(Some(c.location as usize)),
        N::ParamRef(p) => p.location,
        N::ColumnRef(c) => c.location,
        N::FuncCall(f) => f.location,
        N::SetToDefault(d) => d.location,
        N::AExpr(e) => e.location,
        _ => return None,
    };
    usize::try_from(loc).ok()
}

/// The column a node names, looking through casts (`(s)::text`).
pub fn column_name(node: &Node) -> Option<String> {
    match node.node.as_ref()? {
        N::ColumnRef(c) => c.fields.last().and_then(string).map(str::to_string),
        N::TypeCast(c) => column_name(c.arg.as_deref()?),
        _ => None,
    }
}

/// The name PostgreSQL's `FigureColname` gives an expression (used for
/// index names: `lower(email)` gives `lower`, `a::text` gives `a`), or
/// `None` where it gives none (then an index says `expr`).
pub fn figure_colname(node: &Node) -> Option<String> {
    figure(node).map(|(name, _)| name)
}

/// `FigureColnameInternal`: a name and its strength (2 for a column or
/// function name, 1 for a type name, which a CASE's `case` outranks).
fn figure(node: &Node) -> Option<(String, u8)> {
    let last = |names: &[Node]| names.last().and_then(string).map(str::to_string);
    let strong = |name: &str| Some((name.to_string(), 2));
    match node.node.as_ref()? {
        N::ColumnRef(c) => last(&c.fields).map(|n| (n, 2)),
        N::AIndirection(a) => match a.indirection.iter().rev().find_map(string) {
            Some(field) => strong(field),
            None => figure(a.arg.as_deref()?),
        },
        N::FuncCall(f) => last(&f.funcname).map(|n| (n, 2)),
        N::TypeCast(c) => match c.arg.as_deref().and_then(figure) {
            Some(named) if named.1 > 1 => Some(named),
            _ => last(&c.type_name.as_ref()?.names).map(|n| (n, 1)),
        },
        N::CollateClause(c) => figure(c.arg.as_deref()?),
        N::CaseExpr(c) => match c.defresult.as_deref().and_then(figure) {
            Some(named) if named.1 > 1 => Some(named),
            _ => Some(("case".into(), 1)),
        },
        N::AArrayExpr(_) => strong("array"),
        N::RowExpr(_) => strong("row"),
        N::CoalesceExpr(_) => strong("coalesce"),
        N::MinMaxExpr(m) => strong(if m.op == pg_query::protobuf::MinMaxOp::IsGreatest as i32 { "greatest" } else { "least" }),
        N::NullIfExpr(_) => strong("nullif"),
        N::GroupingFunc(_) => strong("grouping"),
        _ => None,
    }
}

/// Every column an expression reads, in order of appearance, once each.
pub fn columns_read(node: &Node, out: &mut Vec<String>) {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        let Some(n) = node.node.as_ref() else { continue };
        match n {
            N::ColumnRef(_) => {
                if let Some(c) = column_name(node) {
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
            }
            N::AExpr(e) => stack.extend(e.rexpr.as_deref().into_iter().chain(e.lexpr.as_deref()).rev()),
            N::BoolExpr(b) => stack.extend(b.args.iter().rev()),
            N::NullTest(t) => stack.extend(t.arg.as_deref()),
            N::BooleanTest(t) => stack.extend(t.arg.as_deref()),
            N::TypeCast(c) => stack.extend(c.arg.as_deref()),
            N::FuncCall(f) => stack.extend(f.args.iter().rev()),
            N::List(l) => stack.extend(l.items.iter().rev()),
            N::AArrayExpr(a) => stack.extend(a.elements.iter().rev()),
            N::CoalesceExpr(c) => stack.extend(c.args.iter().rev()),
            N::CaseExpr(c) => {
                stack.extend(c.defresult.as_deref());
                stack.extend(c.args.iter().rev());
                stack.extend(c.arg.as_deref());
            }
            N::CaseWhen(w) => stack.extend(w.result.as_deref().into_iter().chain(w.expr.as_deref()).rev()),
            _ => {}
        }
    }
    // The stack visits in reverse for AExpr pairs; order of first
    // appearance matters only for naming, where one column is the case.
}

fn operator(names: &[Node]) -> Option<String> {
    names.last().and_then(string).map(str::to_string)
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
fn value_list(node: &Node) -> Option<Vec<Literal>> {
    match node.node.as_ref()? {
        N::List(l) => l.items.iter().map(literal).collect(),
        N::AArrayExpr(a) => a.elements.iter().map(literal).collect(),
        N::TypeCast(c) => {
            let arg = c.arg.as_deref()?;
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
pub fn predicate(node: &Node) -> Predicate {
    predicate_at(node, 0)
}

fn predicate_at(node: &Node, depth: usize) -> Predicate {
    if depth > 64 {
        return Predicate::Opaque;
    }
    let Some(n) = node.node.as_ref() else { return Predicate::Opaque };
    match n {
        N::BoolExpr(b) => {
            let operands: Vec<Predicate> = b.args.iter().map(|a| predicate_at(a, depth + 1)).collect();
            match BoolExprType::try_from(b.boolop) {
                Ok(BoolExprType::AndExpr) => Predicate::And { operands },
                Ok(BoolExprType::OrExpr) => Predicate::Or { operands },
                Ok(BoolExprType::NotExpr) => match operands.into_iter().next() {
                    Some(p) => Predicate::Not { operand: Box::new(p) },
                    None => Predicate::Opaque,
                },
                _ => Predicate::Opaque,
            }
        }
        N::NullTest(t) => match t.arg.as_deref().and_then(column_name) {
            Some(column) => Predicate::IsNull {
                column,
                negated: t.nulltesttype == NullTestType::IsNotNull as i32,
            },
            None => Predicate::Opaque,
        },
        N::AExpr(e) => a_expr(e, depth).unwrap_or(Predicate::Opaque),
        _ => Predicate::Opaque,
    }
}

fn a_expr(e: &pg_query::protobuf::AExpr, depth: usize) -> Option<Predicate> {
    let op = operator(&e.name)?;
    let kind = AExprKind::try_from(e.kind).ok()?;
    let (l, r) = (e.lexpr.as_deref(), e.rexpr.as_deref());
    match kind {
        AExprKind::AexprIn => Some(Predicate::InSet {
            column: column_name(l?)?,
            values: value_list(r?)?,
            negated: op == "<>",
        }),
        AExprKind::AexprOpAny | AExprKind::AexprOpAll => {
            let any = kind == AExprKind::AexprOpAny;
            let negated = match (op.as_str(), any) {
                ("=", true) => false,
                ("<>" | "!=", false) => true,
                _ => return None,
            };
            Some(Predicate::InSet { column: column_name(l?)?, values: value_list(r?)?, negated })
        }
        AExprKind::AexprOp => {
            let op = comparison(&op)?;
            let (l, r) = (l?, r?);
            if let (Some(column), Some(value)) = (column_name(l), literal(r)) {
                return Some(Predicate::Compare { column, op, value });
            }
            if let (Some(value), Some(column)) = (literal(l), column_name(r)) {
                return Some(Predicate::Compare { column, op: flipped(op), value });
            }
            let _ = depth;
            None
        }
        AExprKind::AexprBetween | AExprKind::AexprNotBetween => {
            let column = column_name(l?)?;
            let bounds = value_list(r?)?;
            let [lo, hi] = <[Literal; 2]>::try_from(bounds).ok()?;
            let between = kind == AExprKind::AexprBetween;
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
pub fn render(node: &Node) -> String {
    render_at(node, 0)
}

fn render_at(node: &Node, depth: usize) -> String {
    if depth > 32 {
        return "…".into();
    }
    if let Some(l) = literal(node) {
        if let (Some(N::TypeCast(c)), false) = (node.node.as_ref(), matches!(l, Literal::Null)) {
            let ty = c.type_name.as_ref().map(|t| strings(&t.names)).unwrap_or_default();
            if let Some(t) = ty.last() {
                return format!("{}::{t}", l.to_sql());
            }
        }
        return l.to_sql();
    }
    match node.node.as_ref() {
        Some(N::FuncCall(f)) => {
            let name = strings(&f.funcname).join(".");
            let args: Vec<String> = f.args.iter().map(|a| render_at(a, depth + 1)).collect();
            format!("{name}({})", args.join(", "))
        }
        Some(N::SqlvalueFunction(_)) => "CURRENT_TIMESTAMP".into(),
        Some(N::ColumnRef(_)) => column_name(node).unwrap_or_default(),
        Some(N::TypeCast(c)) => {
            let inner = c.arg.as_deref().map(|a| render_at(a, depth + 1)).unwrap_or_default();
            let ty = c.type_name.as_ref().map(|t| strings(&t.names)).unwrap_or_default();
            format!("{inner}::{}", ty.last().cloned().unwrap_or_default())
        }
        Some(N::AExpr(e)) => {
            let l = e.lexpr.as_deref().map(|a| render_at(a, depth + 1)).unwrap_or_default();
            let r = e.rexpr.as_deref().map(|a| render_at(a, depth + 1)).unwrap_or_default();
            format!("{l} {} {r}", operator(&e.name).unwrap_or_default()).trim().to_string()
        }
        _ => "(expression)".into(),
    }
}
