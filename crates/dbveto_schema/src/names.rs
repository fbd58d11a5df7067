//! PostgreSQL's identifier rules: truncation to `NAMEDATALEN - 1` bytes and
//! the names it generates for unnamed constraints and indexes
//! (`makeObjectName` and `ChooseConstraintName`/`ChooseRelationName` in
//! PostgreSQL's `indexcmds.c` and `pg_constraint.c`).

/// PostgreSQL's `NAMEDATALEN`; identifiers keep at most `NAMEDATALEN - 1` bytes.
pub const NAMEDATALEN: usize = 64;

/// A table, constraint or index name written longer than 63 bytes, where
/// it is written: PostgreSQL truncates it (a NOTICE), and two such names
/// may then collide.
#[derive(Debug, Clone, PartialEq)]
pub struct LongName {
    pub name: String,
    /// `table`, `constraint` or `index`.
    pub what: &'static str,
    /// The table it belongs to (its own name for a table).
    pub table: String,
    pub location: dbveto_source::Location,
}

/// Whether PostgreSQL truncates `name`.
pub fn is_truncated(name: &str) -> bool {
    name.len() > NAMEDATALEN - 1
}

/// Cuts an identifier to 63 bytes at a character boundary, as the server
/// does for every identifier it is given.
pub fn truncate_identifier(name: &str) -> String {
    clip(name, NAMEDATALEN - 1).to_string()
}

fn clip(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    &s[..dbveto_source::floor_char_boundary(s, max_bytes)]
}

/// `name1_name2_label`, with name1 and name2 shortened (the longer one
/// first, a byte at a time) so that the result fits in 63 bytes.
pub fn make_object_name(name1: &str, name2: Option<&str>, label: Option<&str>) -> String {
    let mut overhead = 0;
    if name2.is_some() {
        overhead += 1;
    }
    if let Some(label) = label {
        overhead += label.len() + 1;
    }
    let avail = (NAMEDATALEN - 1).saturating_sub(overhead);
    let mut n1 = name1.len();
    let mut n2 = name2.map_or(0, str::len);
    while n1 + n2 > avail {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let mut out = clip(name1, n1).to_string();
    if let Some(name2) = name2 {
        out.push('_');
        out.push_str(clip(name2, n2));
    }
    if let Some(label) = label {
        out.push('_');
        out.push_str(label);
    }
    out
}

/// The first of `name1_name2_label`, `…_label1`, `…_label2`, … that `taken`
/// says is free: how PostgreSQL names an unnamed constraint or index.
pub fn choose_name(name1: &str, name2: Option<&str>, label: &str, taken: impl FnMut(&str) -> bool) -> String {
    choose_name_from(name1, name2, label, 0, taken).0
}

/// [`choose_name`] from pass `start` (`label{start}`; 0 is `label`), when
/// the caller knows the passes before are taken; with the pass it chose.
pub fn choose_name_from(name1: &str, name2: Option<&str>, label: &str, start: usize, mut taken: impl FnMut(&str) -> bool) -> (String, usize) {
    let mut pass = start;
    loop {
        let modlabel = if pass == 0 { label.to_string() } else { format!("{label}{pass}") };
        let name = make_object_name(name1, name2, Some(&modlabel));
        if !taken(&name) {
            return (name, pass);
        }
        pass += 1;
    }
}

/// A double-quoted SQL identifier: `"update_logs"`, `"a""b"`.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_joined() {
        assert_eq!(make_object_name("update_logs", Some("result"), Some("check")), "update_logs_result_check");
        assert_eq!(make_object_name("t", None, Some("pkey")), "t_pkey");
    }

    #[test]
    fn long_names_are_shortened_like_postgres() {
        // Observed on PostgreSQL 15: a 63-character generated name.
        let name = make_object_name(
            "tbl_with_a_rather_long_name_for_testing_generated_names",
            Some("a_column_with_a_long_name_as_well"),
            Some("check"),
        );
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_check"));
        assert_eq!(name, "tbl_with_a_rather_long_name__a_column_with_a_long_name_as_check");
    }

    #[test]
    fn a_taken_name_gets_a_number() {
        let taken = ["t_a_check".to_string(), "t_a_check1".to_string()];
        assert_eq!(choose_name("t", Some("a"), "check", |n| taken.iter().any(|t| t == n)), "t_a_check2");
    }

    #[test]
    fn truncation_is_by_bytes_at_a_character_boundary() {
        let name = "é".repeat(35);
        assert_eq!(truncate_identifier(&name), "é".repeat(31));
        assert_eq!(truncate_identifier("short"), "short");
    }
}
