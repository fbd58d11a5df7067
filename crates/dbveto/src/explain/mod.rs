//! `dbveto explain`: from an error message (or a whole log) to the
//! migration and the line of code that collided, and what to do about it.

mod fixes;
mod render;
mod resolve;

use std::path::Path;

pub use render::Format;

/// The exit code: 0 resolved, 1 recognised but nothing in the repository
/// matches, 2 no database error in the input.
pub fn run(root: &Path, options: &dbveto_discover::Options, input: &str, format: Format) -> (String, u8) {
    let Some(error) = dbveto_explain::understand(input) else {
        return (render::not_found(format), 2);
    };
    let analysis = crate::analysis::analyze_with(root, options);
    let resolution = resolve::resolve(&analysis, &error);
    let fixes = fixes::propose(&analysis, &error, &resolution);
    let code = if resolution.resolved() { 0 } else { 1 };
    (render::render(format, &analysis, &error, &resolution, &fixes), code)
}
