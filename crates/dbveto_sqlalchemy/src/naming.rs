//! `MetaData(naming_convention=...)`: the names SQLAlchemy gives
//! constraints and indexes (`sqlalchemy/sql/naming.py`), and how it
//! shortens a generated name that is too long for PostgreSQL
//! (`compiler._truncate_and_render_maxlen_name`).

/// PostgreSQL's `max_identifier_length` as SQLAlchemy's dialect knows it.
pub const POSTGRES_MAX_NAME: usize = 63;

/// The templates of a `MetaData`, by key (`ix`, `uq`, `ck`, `fk`, `pk`).
#[derive(Debug, Clone, PartialEq)]
pub struct Conventions {
    pub templates: Vec<(String, String)>,
    /// `false` when the convention could not be read: names are unknown.
    pub known: bool,
}

impl Default for Conventions {
    /// SQLAlchemy's `DEFAULT_NAMING_CONVENTION`.
    fn default() -> Self {
        Conventions { templates: vec![("ix".into(), "ix_%(column_0_label)s".into())], known: true }
    }
}

/// What a template's tokens are filled from.
pub struct Subject<'s> {
    pub table: &'s str,
    pub columns: &'s [String],
    pub referred_table: Option<&'s str>,
    pub referred_columns: &'s [String],
    pub constraint_name: Option<&'s str>,
}

impl Conventions {
    pub fn unknown() -> Self {
        Conventions { templates: Vec::new(), known: false }
    }

    /// The name a convention gives an object of kind `key`; `None` when
    /// the convention has no template for it (the database names it), or
    /// when a token cannot be filled.
    pub fn name(&self, key: &str, subject: &Subject<'_>) -> Option<String> {
        let template = &self.templates.iter().find(|(k, _)| k == key)?.1;
        let filled = fill(template, subject)?;
        Some(shorten(&filled, POSTGRES_MAX_NAME))
    }
}

fn fill(template: &str, s: &Subject<'_>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("%(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find(")s")?;
        out.push_str(&token(&after[..end], s)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Some(out)
}

fn token(token: &str, s: &Subject<'_>) -> Option<String> {
    let column_label = |c: &String| format!("{}_{c}", s.table);
    Some(match token {
        "table_name" => s.table.to_string(),
        "constraint_name" => s.constraint_name?.to_string(),
        "referred_table_name" => s.referred_table?.to_string(),
        "column_0_name" | "column_0_key" => s.columns.first()?.clone(),
        "column_0_label" => column_label(s.columns.first()?),
        "column_0N_name" | "column_0N_key" => s.columns.concat(),
        "column_0_N_name" | "column_0_N_key" => s.columns.join("_"),
        "column_0N_label" => s.columns.iter().map(column_label).collect::<Vec<_>>().concat(),
        "column_0_N_label" => s.columns.iter().map(column_label).collect::<Vec<_>>().join("_"),
        "referred_column_0_name" => s.referred_columns.first()?.clone(),
        "referred_column_0N_name" => s.referred_columns.concat(),
        "referred_column_0_N_name" => s.referred_columns.join("_"),
        _ => return None,
    })
}

/// A generated name over `max` characters: its first `max - 8`, `_`, and
/// the last 4 hex digits of its MD5.
pub fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let hex = format!("{:x}", md5::compute(name.as_bytes()));
    let head: String = name.chars().take(max - 8).collect();
    format!("{head}_{}", &hex[hex.len() - 4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'s>(table: &'s str, columns: &'s [String]) -> Subject<'s> {
        Subject { table, columns, referred_table: Some("device_cache"), referred_columns: &[], constraint_name: Some("positive") }
    }

    #[test]
    fn default_convention_names_indexes_only() {
        let c = Conventions::default();
        let cols = vec!["device_id".to_string()];
        assert_eq!(c.name("ix", &subject("arp_cache", &cols)).as_deref(), Some("ix_arp_cache_device_id"));
        assert_eq!(c.name("uq", &subject("arp_cache", &cols)), None);
    }

    #[test]
    fn tokens_are_filled() {
        let c = Conventions {
            templates: vec![
                ("fk".into(), "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s".into()),
                ("ck".into(), "ck_%(table_name)s_%(constraint_name)s".into()),
                ("uq".into(), "uq_%(table_name)s_%(column_0_N_name)s".into()),
            ],
            known: true,
        };
        let cols = vec!["a".to_string(), "b".to_string()];
        assert_eq!(c.name("fk", &subject("t", &cols)).as_deref(), Some("fk_t_a_device_cache"));
        assert_eq!(c.name("ck", &subject("t", &cols)).as_deref(), Some("ck_t_positive"));
        assert_eq!(c.name("uq", &subject("t", &cols)).as_deref(), Some("uq_t_a_b"));
    }

    #[test]
    fn long_names_are_shortened_like_sqlalchemy() {
        // Observed with SQLAlchemy 2.x on PostgreSQL.
        let long = "ck_a_table_with_quite_a_long_name_for_testing_some_long_constraint_names";
        let short = shorten(long, 63);
        assert_eq!(short.chars().count(), 60);
        assert!(short.starts_with("ck_a_table_with_quite_a_long_name_for_testing_some_long_"));
    }
}
