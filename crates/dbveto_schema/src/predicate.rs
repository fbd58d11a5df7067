//! CHECK expressions reduced to what can be judged statically: value sets
//! (`IN (...)`, `= ANY (ARRAY[...])`, `OR` chains of equalities),
//! comparisons with constants, `IS NULL`, and boolean structure. Anything
//! else is `Opaque` and never judged.

use dbveto_writes::Literal;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "<>")]
    Ne,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Predicate {
    /// `column IN (values)`, or `NOT IN` when `negated`.
    InSet { column: String, values: Vec<Literal>, negated: bool },
    /// `column <op> value`.
    Compare { column: String, op: Comparison, value: Literal },
    /// `column IS NULL`, or `IS NOT NULL` when `negated`.
    IsNull { column: String, negated: bool },
    And { operands: Vec<Predicate> },
    Or { operands: Vec<Predicate> },
    Not { operand: Box<Predicate> },
    /// An expression dbveto does not judge statically.
    Opaque,
}

/// The outcomes an expression may have: a set of SQL's true, false and null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eval(u8);

impl Eval {
    pub const TRUE: Eval = Eval(1);
    pub const FALSE: Eval = Eval(2);
    pub const NULL: Eval = Eval(4);
    pub const ANY: Eval = Eval(7);

    /// A CHECK rejects a row only when its expression is surely false.
    pub fn surely_false(self) -> bool {
        self == Eval::FALSE
    }

    fn has(self, e: Eval) -> bool {
        self.0 & e.0 != 0
    }

    fn combine(self, other: Eval, op: impl Fn(Eval, Eval) -> Eval) -> Eval {
        let mut out = 0;
        for a in [Eval::TRUE, Eval::FALSE, Eval::NULL] {
            for b in [Eval::TRUE, Eval::FALSE, Eval::NULL] {
                if self.has(a) && other.has(b) {
                    out |= op(a, b).0;
                }
            }
        }
        Eval(out)
    }

    fn and(self, other: Eval) -> Eval {
        self.combine(other, |a, b| {
            if a == Eval::FALSE || b == Eval::FALSE {
                Eval::FALSE
            } else if a == Eval::NULL || b == Eval::NULL {
                Eval::NULL
            } else {
                Eval::TRUE
            }
        })
    }

    fn or(self, other: Eval) -> Eval {
        self.combine(other, |a, b| {
            if a == Eval::TRUE || b == Eval::TRUE {
                Eval::TRUE
            } else if a == Eval::NULL || b == Eval::NULL {
                Eval::NULL
            } else {
                Eval::FALSE
            }
        })
    }

    fn not(self) -> Eval {
        let mut out = self.0 & Eval::NULL.0;
        if self.has(Eval::TRUE) {
            out |= Eval::FALSE.0;
        }
        if self.has(Eval::FALSE) {
            out |= Eval::TRUE.0;
        }
        Eval(out)
    }

    fn from_bool(b: Option<bool>) -> Eval {
        match b {
            Some(true) => Eval::TRUE,
            Some(false) => Eval::FALSE,
            None => Eval::ANY,
        }
    }
}

impl Predicate {
    /// The columns the expression reads.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.walk(&mut |p| match p {
            Predicate::InSet { column, .. } | Predicate::Compare { column, .. } | Predicate::IsNull { column, .. }
                if !out.contains(&column.as_str()) =>
            {
                out.push(column.as_str())
            }
            _ => {}
        });
        out
    }

    /// Follows `ALTER TABLE ... RENAME COLUMN`.
    pub fn rename_column(&mut self, old: &str, new: &str) {
        match self {
            Predicate::InSet { column, .. } | Predicate::Compare { column, .. } | Predicate::IsNull { column, .. } => {
                if column == old {
                    *column = new.to_string();
                }
            }
            Predicate::And { operands } | Predicate::Or { operands } => {
                operands.iter_mut().for_each(|p| p.rename_column(old, new))
            }
            Predicate::Not { operand } => operand.rename_column(old, new),
            Predicate::Opaque => {}
        }
    }

    fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Predicate)) {
        f(self);
        match self {
            Predicate::And { operands } | Predicate::Or { operands } => operands.iter().for_each(|p| p.walk(f)),
            Predicate::Not { operand } => operand.walk(f),
            _ => {}
        }
    }

    /// The value set of a column, when the expression is exactly one
    /// `IN`/`= ANY`/`OR` of equalities (possibly allowing NULL).
    pub fn allowed_values(&self, column: &str) -> Option<Vec<&Literal>> {
        match self {
            Predicate::InSet { column: c, values, negated: false } if c == column => Some(values.iter().collect()),
            Predicate::Compare { column: c, op: Comparison::Eq, value } if c == column => Some(vec![value]),
            Predicate::Or { operands } => {
                let mut out = Vec::new();
                for p in operands {
                    match p {
                        Predicate::IsNull { column: c, negated: false } if c == column => {}
                        p => out.extend(p.allowed_values(column)?),
                    }
                }
                Some(out)
            }
            _ => None,
        }
    }

    /// What the expression may evaluate to when `column` holds `value` and
    /// every other column is unknown.
    pub fn eval(&self, column: &str, value: &Literal) -> Eval {
        match self {
            Predicate::InSet { column: c, values, negated } => {
                if c != column {
                    return Eval::ANY;
                }
                if *value == Literal::Null {
                    return Eval::NULL;
                }
                let mut result = Some(false);
                for v in values {
                    match equals(value, v) {
                        Some(true) => {
                            result = Some(true);
                            break;
                        }
                        Some(false) => {}
                        None => result = None,
                    }
                }
                let e = Eval::from_bool(result);
                if *negated { e.not() } else { e }
            }
            Predicate::Compare { column: c, op, value: v } => {
                if c != column {
                    return Eval::ANY;
                }
                if *value == Literal::Null || *v == Literal::Null {
                    return Eval::NULL;
                }
                Eval::from_bool(compare(value, *op, v))
            }
            Predicate::IsNull { column: c, negated } => {
                if c != column {
                    return Eval::ANY;
                }
                let is_null = *value == Literal::Null;
                Eval::from_bool(Some(is_null != *negated))
            }
            Predicate::And { operands } => operands.iter().fold(Eval::TRUE, |acc, p| acc.and(p.eval(column, value))),
            Predicate::Or { operands } => operands.iter().fold(Eval::FALSE, |acc, p| acc.or(p.eval(column, value))),
            Predicate::Not { operand } => operand.eval(column, value).not(),
            Predicate::Opaque => Eval::ANY,
        }
    }
}

fn number(l: &Literal) -> Option<f64> {
    match l {
        Literal::Int(i) => Some(*i as f64),
        Literal::Num(n) => n.parse().ok(),
        // A quoted number is cast to the column's numeric type by the server.
        Literal::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// SQL equality of two constants, `None` when it depends on a cast dbveto
/// does not model.
fn equals(a: &Literal, b: &Literal) -> Option<bool> {
    match (a, b) {
        (Literal::Str(x), Literal::Str(y)) => Some(x == y),
        (Literal::Bool(x), Literal::Bool(y)) => Some(x == y),
        (Literal::Str(_), _) | (_, Literal::Str(_)) => {
            let (x, y) = (number(a)?, number(b)?);
            Some(x == y)
        }
        _ => Some(number(a)? == number(b)?),
    }
}

fn compare(a: &Literal, op: Comparison, b: &Literal) -> Option<bool> {
    use std::cmp::Ordering;
    let ordering = match (a, b) {
        // String order depends on the collation: only equality is judged.
        (Literal::Str(_), Literal::Str(_)) | (Literal::Bool(_), Literal::Bool(_)) => {
            let eq = equals(a, b)?;
            return match op {
                Comparison::Eq => Some(eq),
                Comparison::Ne => Some(!eq),
                _ => None,
            };
        }
        _ => number(a)?.partial_cmp(&number(b)?)?,
    };
    Some(match op {
        Comparison::Eq => ordering == Ordering::Equal,
        Comparison::Ne => ordering != Ordering::Equal,
        Comparison::Lt => ordering == Ordering::Less,
        Comparison::Le => ordering != Ordering::Greater,
        Comparison::Gt => ordering == Ordering::Greater,
        Comparison::Ge => ordering != Ordering::Less,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Literal {
        Literal::Str(v.into())
    }

    fn result_in(values: &[&str]) -> Predicate {
        Predicate::InSet { column: "result".into(), values: values.iter().map(|v| s(v)).collect(), negated: false }
    }

    #[test]
    fn value_outside_the_set_is_surely_false() {
        let p = result_in(&["success", "failed", "partial"]);
        assert!(p.eval("result", &s("timed_out")).surely_false());
        assert_eq!(p.eval("result", &s("failed")), Eval::TRUE);
    }

    #[test]
    fn null_passes_a_check() {
        assert_eq!(result_in(&["a"]).eval("result", &Literal::Null), Eval::NULL);
    }

    #[test]
    fn other_columns_make_or_undecidable_but_not_and() {
        let other = Predicate::Compare { column: "n".into(), op: Comparison::Gt, value: Literal::Int(0) };
        let and = Predicate::And { operands: vec![result_in(&["a"]), other.clone()] };
        let or = Predicate::Or { operands: vec![result_in(&["a"]), other] };
        assert!(and.eval("result", &s("b")).surely_false());
        assert!(!or.eval("result", &s("b")).surely_false());
    }

    #[test]
    fn numeric_ranges_are_judged() {
        let p = Predicate::Compare { column: "qty".into(), op: Comparison::Ge, value: Literal::Int(0) };
        assert!(p.eval("qty", &Literal::Int(-1)).surely_false());
        assert_eq!(p.eval("qty", &Literal::Num("0.5".into())), Eval::TRUE);
        assert_eq!(p.eval("qty", &s("abc")), Eval::ANY);
    }

    #[test]
    fn string_order_is_not_judged() {
        let p = Predicate::Compare { column: "c".into(), op: Comparison::Lt, value: s("m") };
        assert_eq!(p.eval("c", &s("z")), Eval::ANY);
    }

    #[test]
    fn allowed_values_of_an_or_chain_with_null() {
        let p = Predicate::Or {
            operands: vec![
                Predicate::IsNull { column: "r".into(), negated: false },
                Predicate::Compare { column: "r".into(), op: Comparison::Eq, value: s("a") },
                Predicate::Compare { column: "r".into(), op: Comparison::Eq, value: s("b") },
            ],
        };
        assert_eq!(p.allowed_values("r"), Some(vec![&s("a"), &s("b")]));
    }
}
