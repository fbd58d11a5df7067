//! The one semantic model of Python that the raw-SQL, Django, SQLAlchemy
//! and job frontends read. Nothing in it knows about rules or ORMs.
//!
//! Every file is parsed once ([`ParsedProject`]); a module-level index of
//! constants, imports and classes ([`ProjectIndex`]) lets an
//! [`Evaluator`] resolve names across modules. On top of them: the scopes
//! and bindings of a function, with every value a name may hold
//! ([`Bindings`], [`Source`]); methods found through the MRO of the
//! repository's classes ([`method_in_mro`]); flow-sensitive attribute
//! values ([`attribute_values`]); and what an `except` clause catches of
//! the errors a database raises, and whether a block always raises
//! ([`handlers_catch`], [`always_raises`]).
//!
//! Invariant: a value that cannot be determined statically is unknown,
//! never guessed; every walk has a depth bound; no input makes this crate
//! panic.

mod bindings;
mod environment;
mod eval;
mod exceptions;
mod flow;
mod index;
mod modules;
mod parse;
mod text;

pub use bindings::{binary_operands, target_names, Binding, Bindings, Import, ModulePath, Scope, ScopeKind, Source, MAX_DEPTH};
pub use environment::{Environment, LibraryClass};
pub use eval::{method_in_mro, Binds, Const, ConstValue, Evaluator, ModuleRef, TextClause, Value};
pub use exceptions::{always_raises, database_errors, handlers_catch, Catches};
pub use flow::{attribute_values, dict_entries, AttributeValues};
pub use index::{ModuleIndex, ProjectIndex};
pub use modules::{ModuleId, ModuleName, ModuleTable};
pub use parse::{ParsedModule, ParsedProject};
pub use text::{string_expr_text, LiteralKey, Text, MAX_TEXT_LEN};
