//! Rendering findings and diagnostics: rustc/ruff-style code frames for
//! people, JSON for programs. Locations become text here and nowhere else.

mod json;
mod text;

use std::collections::HashMap;
use std::sync::Arc;

use dbveto_source::SourceFile;

pub use json::{json, JSON_VERSION};
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
}
