//! Alembic: the revision files of `versions/`, ordered by their
//! `down_revision` chain, and the DDL each `op.*` call runs on PostgreSQL.

use dbveto_schema::Schema;
use dbveto_source::SourceFile;

/// The result of applying every revision.
pub struct Applied {
    pub schema: Schema,
    /// The revision files, in the order they were applied.
    pub files: Vec<SourceFile>,
    /// The folder holding `versions/`.
    pub dir: String,
}

/// Whether a file is an Alembic revision: a `.py` file directly in a
/// `versions/` folder.
pub fn is_revision_path(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or_default();
    parts.next() == Some("versions") && file.ends_with(".py") && file != "__init__.py"
}
