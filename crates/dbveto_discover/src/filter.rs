//! `include` / `exclude` globs from the configuration, matched against
//! paths relative to the checked root (with `/` separators).
//!
//! As in `.gitignore`: a pattern without `/` matches a name at any depth
//! (`legacy` excludes every folder or file named so), a pattern with `/`
//! is anchored at the root, `*` stays within one path component and `**`
//! crosses them. A path matches when it or one of its parent folders does.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl PathFilter {
    /// `Err` names the pattern that is not a valid glob.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, String> {
        Ok(PathFilter { include: set(include)?, exclude: set(exclude)? })
    }

    /// A folder whose whole subtree is excluded (not walked at all).
    pub fn excludes_dir(&self, rel: &str) -> bool {
        self.exclude.as_ref().is_some_and(|g| matches_or_parent(g, rel))
    }

    /// A file to read: included (when `include` is given) and not excluded.
    pub fn accepts_file(&self, rel: &str) -> bool {
        self.include.as_ref().is_none_or(|g| matches_or_parent(g, rel)) && !self.excludes_dir(rel)
    }
}

fn set(patterns: &[String]) -> Result<Option<GlobSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        builder.add(glob(p)?);
    }
    builder.build().map(Some).map_err(|e| e.to_string())
}

fn glob(pattern: &str) -> Result<Glob, String> {
    let trimmed = pattern.trim_end_matches('/');
    let anchored = match trimmed.strip_prefix('/') {
        Some(rest) => rest.to_string(),
        None if trimmed.contains('/') => trimmed.strip_prefix("./").unwrap_or(trimmed).to_string(),
        None => format!("**/{trimmed}"),
    };
    GlobBuilder::new(&anchored).literal_separator(true).build().map_err(|e| format!("invalid glob `{pattern}`: {e}"))
}

fn matches_or_parent(set: &GlobSet, rel: &str) -> bool {
    if set.is_match(rel) {
        return true;
    }
    rel.match_indices('/').any(|(i, _)| set.is_match(&rel[..i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: &[&str], exclude: &[&str]) -> PathFilter {
        let v = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        PathFilter::new(&v(include), &v(exclude)).expect("valid globs")
    }

    #[test]
    fn a_bare_name_matches_at_any_depth_and_everything_below() {
        let f = filter(&[], &["legacy"]);
        assert!(!f.accepts_file("legacy/a.sql"));
        assert!(!f.accepts_file("svc/legacy/db/1_a.up.sql"));
        assert!(f.accepts_file("svc/legacy_tools/a.py"));
    }

    #[test]
    fn a_pattern_with_a_slash_is_anchored_and_star_stays_in_one_folder() {
        let f = filter(&[], &["services/*/scripts"]);
        assert!(!f.accepts_file("services/billing/scripts/fix.py"));
        assert!(f.accepts_file("other/services/billing/scripts/fix.py"));
        assert!(f.accepts_file("services/billing/deep/scripts/fix.py"));
        let f = filter(&[], &["**/*_generated.go"]);
        assert!(!f.accepts_file("a/b/x_generated.go"));
    }

    #[test]
    fn include_keeps_only_matching_paths_and_exclude_wins() {
        let f = filter(&["services/billing", "db/*.sql"], &["services/billing/old"]);
        assert!(f.accepts_file("services/billing/app.py"));
        assert!(f.accepts_file("db/1_a.up.sql"));
        assert!(!f.accepts_file("db/sub/1_a.up.sql"));
        assert!(!f.accepts_file("services/shipping/app.py"));
        assert!(!f.accepts_file("services/billing/old/app.py"));
    }

    #[test]
    fn invalid_globs_are_named() {
        let err = PathFilter::new(&[], &["a/[b".to_string()]).expect_err("invalid");
        assert!(err.contains("`a/[b`"), "{err}");
    }
}
