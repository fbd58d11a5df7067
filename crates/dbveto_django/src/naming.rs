//! The names Django gives tables, constraints and indexes on PostgreSQL
//! (`django/db/backends/utils.py`, `BaseDatabaseSchemaEditor._create_index_name`,
//! `Index.set_name_with_model`), character for character.

/// `connection.ops.max_name_length()` on PostgreSQL.
pub const POSTGRES_MAX_NAME: usize = 63;
/// `Index.max_name_length`: Django's own limit on index names, whatever
/// the backend (system check models.E034).
pub const INDEX_MAX_NAME: usize = 30;

/// `names_digest(*args, length)`: the first `length` hex digits of the MD5
/// of the arguments concatenated.
pub fn names_digest(args: &[&str], length: usize) -> String {
    let mut context = md5::Context::new();
    for arg in args {
        context.consume(arg.as_bytes());
    }
    let hex = format!("{:x}", context.finalize());
    hex[..length.min(hex.len())].to_string()
}

/// Python's `s[:n]`: the first `n` characters.
fn prefix(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `truncate_name(identifier, length)`: a generated table name longer than
/// `length` keeps `length - 4` characters and gains 4 hex digits of its MD5.
pub fn truncate_name(identifier: &str, length: usize) -> String {
    if identifier.chars().count() <= length {
        return identifier.to_string();
    }
    format!("{}{}", prefix(identifier, length - 4), names_digest(&[identifier], 4))
}

/// `_create_index_name(table, columns, suffix)`: the name of an index or
/// constraint that Django generates (`_uniq`, `_fk_<table>_<column>`,
/// `_like`, `_check`, or no suffix for `db_index`).
pub fn create_index_name(table: &str, columns: &[&str], suffix: &str) -> String {
    let mut digest_args = vec![table];
    digest_args.extend_from_slice(columns);
    let mut hash_suffix = format!("{}{suffix}", names_digest(&digest_args, 8));
    let joined = columns.join("_");
    let name = format!("{table}_{joined}_{hash_suffix}");
    if name.chars().count() <= POSTGRES_MAX_NAME {
        return name;
    }
    if hash_suffix.chars().count() * 3 > POSTGRES_MAX_NAME {
        hash_suffix = prefix(&hash_suffix, POSTGRES_MAX_NAME / 3).to_string();
    }
    let other = (POSTGRES_MAX_NAME - hash_suffix.chars().count()) / 2 - 1;
    let name = format!("{}_{}_{hash_suffix}", prefix(table, other), prefix(&joined, other));
    replace_leading(name, true)
}

/// `Index.set_name_with_model`: the name of an unnamed `models.Index`;
/// `columns` are `(column, descending)`.
pub fn default_index_name(table: &str, columns: &[(String, bool)]) -> String {
    let ordered: Vec<String> =
        columns.iter().map(|(c, desc)| if *desc { format!("-{c}") } else { c.clone() }).collect();
    let mut digest_args = vec![table];
    digest_args.extend(ordered.iter().map(String::as_str));
    digest_args.push("idx");
    let first = columns.first().map(|(c, _)| c.as_str()).unwrap_or("");
    let name = format!("{}_{}_{}_idx", prefix(table, 11), prefix(first, 7), names_digest(&digest_args, 6));
    replace_leading(name, false)
}

/// A name may not start with `_` or a digit: Django puts a `D` in front,
/// dropping the last character (`_create_index_name`) or the first
/// (`set_name_with_model`).
fn replace_leading(name: String, drop_last: bool) -> String {
    match name.chars().next() {
        Some(c) if c == '_' || c.is_ascii_digit() => {
            if drop_last {
                let mut chars: Vec<char> = name.chars().collect();
                chars.pop();
                format!("D{}", chars.into_iter().collect::<String>())
            } else {
                format!("D{}", name.chars().skip(1).collect::<String>())
            }
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Names observed on PostgreSQL (../shared/reference/django.md).
    #[test]
    fn generated_names_match_django() {
        assert_eq!(
            create_index_name("shop_orderitem", &["customer_id"], "_fk_shop_customer_id"),
            "shop_orderitem_customer_id_6c715ae3_fk_shop_customer_id"
        );
        assert_eq!(
            create_index_name("shop_orderitem", &["customer_id", "sku"], "_uniq"),
            "shop_orderitem_customer_id_sku_1accc34a_uniq"
        );
        assert_eq!(create_index_name("shop_orderitem", &["sku"], ""), "shop_orderitem_sku_4fe5dbcb");
        assert_eq!(create_index_name("shop_orderitem", &["sku"], "_like"), "shop_orderitem_sku_4fe5dbcb_like");
        let note_qty = [("note".to_string(), false), ("qty".to_string(), false)];
        assert_eq!(default_index_name("shop_orderitem", &note_qty), "shop_orderi_note_3b911b_idx");
        // Descending order is part of the hash (checked with Django 5.2).
        assert_eq!(default_index_name("shop_orderitem", &[("note".to_string(), true)]), "shop_orderi_note_320fa7_idx");
    }

    #[test]
    fn long_names_are_shortened_like_django() {
        let table = "a_very_long_application_label_with_a_long_model_name";
        let name = create_index_name(table, &["another_quite_long_column_name_id"], "_fk_target_table_id");
        assert!(name.chars().count() <= POSTGRES_MAX_NAME, "{name}");
        assert_eq!(truncate_name("short", 63), "short");
        let long = "x".repeat(70);
        let truncated = truncate_name(&long, 63);
        assert_eq!(truncated.len(), 63);
        assert!(truncated.starts_with(&"x".repeat(59)));
    }
}
