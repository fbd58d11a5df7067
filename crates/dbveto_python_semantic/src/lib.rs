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
//! ([`handlers_catch`], [`always_raises`]); the arguments a call binds to
//! a function's parameters, and the names used as values rather than
//! called ([`bind_arguments`], [`names_used_as_values`]); the values a
//! member such as `self.host` is assigned anywhere in a body
//! ([`member_assignments`]).
//!
//! Invariant: a value that cannot be determined statically is unknown,
//! never guessed; every walk has a depth bound; no input makes this crate
//! panic.

mod bindings;
mod calls;
mod environment;
mod eval;
mod exceptions;
mod flow;
mod index;
mod members;
mod modules;
mod origin;
mod parse;
mod text;

pub use bindings::{binary_operands, target_names, Binding, Bindings, DepthGuard, Import, ModulePath, Scope, ScopeKind, Source, MAX_DEPTH};
pub use calls::{bind_arguments, last_name, method_kind, names_used_as_values, passed_callable, MethodKind};
pub use environment::{Environment, LibraryClass};
pub use eval::{method_in_mro, Binds, Const, ConstValue, Evaluator, ModuleRef, TextClause, Value};
pub use exceptions::{always_raises, database_errors, handlers_catch, Catches, Clause};
pub use flow::{attribute_values, dict_entries, AttributeValues};
pub use index::{ModuleIndex, ProjectIndex};
pub use members::member_assignments;
pub use modules::{ModuleId, ModuleName, ModuleTable};
pub use origin::is_test_or_generated;
pub use parse::{ParsedModule, ParsedProject};
pub use text::{string_expr_text, LiteralKey, Text, MAX_TEXT_LEN};
