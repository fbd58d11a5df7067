//! PostgreSQL SQL through the real PostgreSQL parser (`pg_query`).
//!
//! Two directions: `replay` turns migrations into a `Schema`; `dml` turns
//! SQL found in code into `Write`s. Invariant: parsing never aborts a file;
//! a statement that does not parse becomes a diagnostic and the rest goes on.

pub use dbveto_writes::*;


mod expr;
mod replay;
mod statements;
mod types;

pub use replay::replay;
mod dml;
mod placeholders;

pub use dml::extract_writes;
