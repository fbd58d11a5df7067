//! A real database's catalog read into a `dbveto_schema::Schema`: tables,
//! columns (types, nullability, defaults, identity, generation),
//! constraints (CHECK expressions parsed by the SQL layer), enums, domains,
//! indexes and sequences. Read-only: plain SELECTs on `pg_catalog`.

use std::collections::BTreeMap;

use dbveto_schema::{
    Column, Constraint, ConstraintKind, DataType, Domain, EnumType, History, Identity, Index, Predicate, Provenance, QualifiedName, Schema, Table,
};
use dbveto_source::Location;
use postgres::{Client, Row};

use crate::error::describe;

/// Namespaces that are PostgreSQL's own.
pub(crate) const USER_NAMESPACES: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

/// Whether the object `oid` of catalog `class` is part of an extension
/// (PostGIS's `spatial_ref_sys`, citext's type): `CREATE EXTENSION` makes
/// it, not the user's DDL.
pub(crate) fn outside_extensions(class: &str, oid: &str) -> String {
    format!("NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{class}'::regclass AND e.objid = {oid} AND e.deptype = 'e')")
}

/// The type of a column, domain or array element as the pieces `DataType`
/// holds: built-in names as `format_type` prints them without modifiers,
/// user types by name and schema.
fn type_columns(oid: &str, typmod: &str) -> String {
    format!(
        "(SELECT CASE WHEN bt.typnamespace = 'pg_catalog'::regnamespace THEN format_type(bt.oid, -1) ELSE bt.typname::text END
            FROM pg_type bt WHERE bt.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END) AS type_name,
          (SELECT CASE WHEN bt.typnamespace = 'pg_catalog'::regnamespace THEN NULL ELSE bt.typnamespace::regnamespace::text END
            FROM pg_type bt WHERE bt.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END) AS type_schema,
          (t.typcategory = 'A' AND t.typelem <> 0) AS is_array,
          {typmod}::int4 AS typmod,
          {oid} AS type_oid"
    )
}

fn text(row: &Row, column: &str) -> String {
    row.try_get::<_, Option<String>>(column).ok().flatten().unwrap_or_default()
}

fn opt_text(row: &Row, column: &str) -> Option<String> {
    row.try_get::<_, Option<String>>(column).ok().flatten()
}

fn flag(row: &Row, column: &str) -> bool {
    row.try_get::<_, Option<bool>>(column).ok().flatten().unwrap_or(false)
}

fn names(row: &Row, column: &str) -> Vec<String> {
    row.try_get::<_, Option<Vec<String>>>(column).ok().flatten().unwrap_or_default()
}

/// Reads the catalog of the database `client` is connected to. `source`
/// names it in provenance (a redacted URL, or `PostgreSQL`).
pub fn read_schema(client: &mut Client, source: &str) -> Result<Schema, String> {
    let here = History::new(Provenance { location: Location { path: source.into(), line: 1, column: 1 }, action: "read from the catalog".into() });
    let q = |client: &mut Client, sql: &str| client.query(sql, &[]).map_err(|e| format!("could not read the catalog: {}", describe(&e)));
    let mut schema = Schema::default();

    for row in q(client, &format!(
        "SELECT n.nspname::text AS schema, t.typname::text AS name,
                array(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e' AND {USER_NAMESPACES} AND {}",
        outside_extensions("pg_type", "t.oid")
    ))? {
        let name = QualifiedName::new(text(&row, "schema"), text(&row, "name"));
        schema.enums.insert(name.clone(), EnumType { name, labels: names(&row, "labels"), provenance: here.clone() });
    }

    let domain_rows = q(client, &format!(
        "SELECT n.nspname::text AS schema, d.typname::text AS name, d.typnotnull AS not_null, d.typdefault AS default_expr, {}
           FROM pg_type d JOIN pg_namespace n ON n.oid = d.typnamespace JOIN pg_type t ON t.oid = d.typbasetype
          WHERE d.typtype = 'd' AND {USER_NAMESPACES} AND {}",
        type_columns("d.typbasetype", "d.typtypmod"),
        outside_extensions("pg_type", "d.oid")
    ))?;
    let domain_checks = q(client,
        "SELECT n.nspname::text AS schema, d.typname::text AS name, k.conname::text AS conname,
                pg_get_constraintdef(k.oid) AS def, pg_get_expr(k.conbin, 0) AS expr, k.convalidated AS validated
           FROM pg_constraint k JOIN pg_type d ON d.oid = k.contypid JOIN pg_namespace n ON n.oid = d.typnamespace
          WHERE k.contype = 'c' ORDER BY k.conname",
    )?;
    for row in domain_rows {
        let name = QualifiedName::new(text(&row, "schema"), text(&row, "name"));
        let checks = domain_checks
            .iter()
            .filter(|k| text(k, "schema") == name.schema && text(k, "name") == name.name)
            .map(|k| check_constraint(k, vec!["value".into()], &here))
            .collect();
        let domain = Domain {
            name: name.clone(),
            base: data_type(&row),
            not_null: flag(&row, "not_null"),
            default: opt_text(&row, "default_expr"),
            checks,
            provenance: here.clone(),
        };
        schema.domains.insert(name, domain);
    }

    let mut tables: BTreeMap<u32, Table> = BTreeMap::new();
    for row in q(client, &format!(
        "SELECT c.oid::int8 AS oid, n.nspname::text AS schema, c.relname::text AS name,
                (SELECT pn.nspname::text || '.' || p.relname::text FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                   JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1) AS partition_of
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND {USER_NAMESPACES} AND {} ORDER BY n.nspname, c.relname",
        outside_extensions("pg_class", "c.oid")
    ))? {
        let oid = row.try_get::<_, i64>("oid").unwrap_or(0) as u32;
        let partition_of = opt_text(&row, "partition_of").and_then(|p| p.split_once('.').map(|(s, n)| QualifiedName::new(s, n)));
        let name = QualifiedName::new(text(&row, "schema"), text(&row, "name"));
        tables.insert(oid, Table { name, columns: Vec::new(), constraints: Vec::new(), partition_of, like: Vec::new(), provenance: here.clone() });
    }

    for row in q(client, &format!(
        "SELECT a.attrelid::int8 AS oid, a.attname::text AS name, a.attnotnull AS not_null, a.attidentity::text AS identity,
                a.attgenerated::text AS generated, pg_get_expr(ad.adbin, ad.adrelid) AS default_expr, {}
           FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
           JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND {USER_NAMESPACES}
          ORDER BY a.attrelid, a.attnum",
        type_columns("a.atttypid", "a.atttypmod")
    ))? {
        let oid = row.try_get::<_, i64>("oid").unwrap_or(0) as u32;
        let Some(table) = tables.get_mut(&oid) else { continue };
        let generated = match text(&row, "generated").as_str() {
            "s" | "v" => opt_text(&row, "default_expr"),
            _ => None,
        };
        let identity = match text(&row, "identity").as_str() {
            "a" => Some(Identity::Always),
            "d" => Some(Identity::ByDefault),
            _ => None,
        };
        table.columns.push(Column {
            name: text(&row, "name"),
            data_type: data_type(&row),
            not_null: flag(&row, "not_null"),
            default: if generated.is_some() { None } else { opt_text(&row, "default_expr") },
            identity,
            generated,
            provenance: here.clone(),
        });
    }

    for row in q(client, &format!(
        "SELECT k.conrelid::int8 AS oid, k.conname::text AS conname, k.contype::text AS contype,
                array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
                      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i) AS columns,
                pg_get_constraintdef(k.oid) AS def, pg_get_expr(k.conbin, k.conrelid) AS expr, k.convalidated AS validated,
                rn.nspname::text AS ref_schema, r.relname::text AS ref_table,
                array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
                      JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i) AS ref_columns,
                k.condeferrable AS deferrable, k.condeferred AS deferred, k.confdeltype::text AS on_delete
           FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_class r ON r.oid = k.confrelid LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
          WHERE k.contype IN ('c', 'f', 'u', 'p', 'x') AND {USER_NAMESPACES} ORDER BY k.conrelid, k.conname"
    ))? {
        let oid = row.try_get::<_, i64>("oid").unwrap_or(0) as u32;
        let Some(table) = tables.get_mut(&oid) else { continue };
        let columns = names(&row, "columns");
        let constraint = match text(&row, "contype").as_str() {
            "c" => check_constraint(&row, columns, &here),
            other => {
                let kind = match other {
                    "f" => ConstraintKind::ForeignKey {
                        references: QualifiedName::new(text(&row, "ref_schema"), text(&row, "ref_table")),
                        referenced_columns: names(&row, "ref_columns"),
                        deferrable: flag(&row, "deferrable"),
                        initially_deferred: flag(&row, "deferred"),
                        on_delete: on_delete(&text(&row, "on_delete")),
                    },
                    "u" => ConstraintKind::Unique,
                    "p" => ConstraintKind::PrimaryKey,
                    _ => ConstraintKind::Exclusion { definition: text(&row, "def") },
                };
                Constraint { name: text(&row, "conname"), kind, columns, validated: flag(&row, "validated"), provenance: here.clone() }
            }
        };
        table.constraints.push(constraint);
    }
    for table in tables.into_values() {
        schema.tables.insert(table.name.clone(), table);
    }

    for row in q(client, &format!(
        "SELECT n.nspname::text AS schema, i.relname::text AS name, t.relname::text AS table_name, x.indisunique AS is_unique,
                EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x')) AS backs_constraint,
                array(SELECT pg_get_indexdef(x.indexrelid, k, true) FROM generate_series(1, x.indnkeyatts) k) AS columns,
                pg_get_indexdef(x.indexrelid) AS definition
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_namespace n ON n.oid = i.relnamespace WHERE {USER_NAMESPACES} AND {}",
        outside_extensions("pg_class", "t.oid")
    ))? {
        let name = QualifiedName::new(text(&row, "schema"), text(&row, "name"));
        let index = Index {
            name: name.clone(),
            table: QualifiedName::new(name.schema.clone(), text(&row, "table_name")),
            columns: names(&row, "columns"),
            unique: flag(&row, "is_unique"),
            constraint: flag(&row, "backs_constraint"),
            definition: opt_text(&row, "definition"),
            provenance: here.clone(),
        };
        schema.indexes.insert(name, index);
    }
    for row in q(client, &format!(
        "SELECT n.nspname::text AS schema, c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'S' AND {USER_NAMESPACES} AND {}",
        outside_extensions("pg_class", "c.oid")
    ))? {
        schema.sequences.insert(QualifiedName::new(text(&row, "schema"), text(&row, "name")), here.current.location.clone());
    }
    Ok(schema)
}

fn check_constraint(row: &Row, columns: Vec<String>, here: &History) -> Constraint {
    let definition = text(row, "def");
    let predicate = dbveto_sql::check_definition(&definition).unwrap_or(Predicate::Opaque);
    let expression = opt_text(row, "expr").unwrap_or(definition);
    Constraint {
        name: text(row, "conname"),
        kind: ConstraintKind::Check { expression, predicate },
        columns,
        validated: flag(row, "validated"),
        provenance: here.clone(),
    }
}

fn on_delete(code: &str) -> Option<String> {
    match code {
        "c" => Some("CASCADE".into()),
        "n" => Some("SET NULL".into()),
        "d" => Some("SET DEFAULT".into()),
        "r" => Some("RESTRICT".into()),
        _ => None,
    }
}

/// The `DataType` of a row that has the columns `type_columns` selects.
fn data_type(row: &Row) -> DataType {
    let mut name = text(row, "type_name");
    // `format_type` without a modifier calls `character` by its internal name.
    if name == "bpchar" {
        name = "character".into();
    }
    let schema = opt_text(row, "type_schema");
    let typmod = row.try_get::<_, Option<i32>>("typmod").ok().flatten().unwrap_or(-1);
    let mut length = None;
    let mut modifiers = Vec::new();
    if schema.is_none() && typmod >= 0 {
        match name.as_str() {
            "character varying" | "character" if typmod >= 4 => length = Some((typmod - 4) as u32),
            "bit" => length = Some(typmod as u32),
            "bit varying" => modifiers = vec![typmod as i64],
            "numeric" if typmod >= 4 => {
                let t = typmod - 4;
                modifiers = vec![((t >> 16) & 0xffff) as i64, (t & 0xffff) as i64];
            }
            "timestamp without time zone" | "timestamp with time zone" | "time without time zone" | "time with time zone" => {
                modifiers = vec![typmod as i64]
            }
            _ => {}
        }
    }
    let array_dims = u32::from(flag(row, "is_array"));
    DataType { name, schema, length, modifiers, array_dims }
}
