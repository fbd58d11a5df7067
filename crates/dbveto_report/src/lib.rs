//! Rendering findings and diagnostics: rustc/ruff-style code frames for
//! people, JSON and SARIF for programs, GitHub annotations and Markdown for
//! pull requests. Locations become text here and nowhere else.

mod fingerprint;
mod github;
mod json;
mod markdown;
mod sarif;
mod statistics;
mod text;

#[cfg(test)]
mod test_support;

use std::collections::HashMap;
use std::sync::Arc;

use dbveto_source::SourceFile;

pub use fingerprint::fingerprint;
pub use github::github;
pub use json::{json, JSON_VERSION};
pub use markdown::markdown;
pub use sarif::{sarif, SARIF_SCHEMA};
pub use statistics::{counts, statistics_json, statistics_text};
pub use text::{text, Style};

/// The files a report may quote, by their relative path.
#[derive(Default)]
pub struct Sources {
    files: HashMap<Arc<str>, SourceFile>,
}

impl Sources {
    pub fn insert(&mut self, file: &SourceFile) {
        self.files.insert(file.path.clone(), file.clone());
    }

    pub fn get(&self, path: &str) -> Option<&SourceFile> {
        self.files.get(path)
    }

    /// Every file, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.values()
    }
}
