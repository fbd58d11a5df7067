//! PostgreSQL SQL through the real PostgreSQL parser (libpg_query, read
//! in place through `pg_raw_parse`).
//!
//! Two directions: `replay` turns migrations into a `Schema`; `dml` turns
//! SQL found in code into `Write`s. Invariant: parsing never aborts a file;
//! a statement that does not parse becomes a diagnostic and the rest goes on.

pub use dbveto_writes::*;


mod definitions;
mod expr;
mod psql;
mod long_names;
mod replay;
mod scanner;
mod statements;
mod types;

pub use replay::{replay, replay_generated, replay_noting_long_names};
mod dml;
mod placeholders;

pub use dml::{extract_writes, extract_writes_all};
mod row_changes;
pub use row_changes::{row_changes, RowChange};

/// The predicate of a CHECK definition as `pg_get_constraintdef` prints it
/// (`CHECK ((state = ANY (ARRAY['a'::text])))`), for catalogs read from a
/// live database.
pub fn check_definition(definition: &str) -> Option<dbveto_schema::Predicate> {
    let parsed = definitions::parse_constraint(definition)?;
    let k = definitions::constraint_of(&parsed)?;
    Some(expr::predicate(expr::present(k.raw_expr())?))
}

/// The byte ranges of the statements in `text`, split by PostgreSQL's own
/// scanner (dollar quotes, comments and strings respected), each starting
/// at its first token. psql meta-commands are left out. Text the scanner
/// cannot split is one range.
pub fn split_statements(text: &str) -> Vec<std::ops::Range<usize>> {
    let (text, _) = psql::blank_meta_commands(text);
    let text: &str = &text;
    let Ok(pieces) = scanner::split(text) else { return std::iter::once(0..text.len()).collect() };
    pieces
        .into_iter()
        .filter_map(|range| {
            let piece = text.get(range.clone())?;
            let lead = statements::leading_trivia(piece);
            (lead < piece.trim_end().len()).then(|| range.start + lead..range.end)
        })
        .collect()
}

#[cfg(test)]
mod split_tests {
    #[test]
    fn statements_are_split_by_the_scanner() {
        let sql = "-- a\nCREATE TABLE t (a int);\n\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n-- trailing";
        let parts: Vec<&str> = super::split_statements(sql).into_iter().map(|r| sql[r].trim_end()).collect();
        assert_eq!(parts, ["CREATE TABLE t (a int)", "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql"]);
    }
}
