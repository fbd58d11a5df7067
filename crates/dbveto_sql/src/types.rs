//! Type names as the parser gives them (`pg_catalog.int4`, `varchar(20)`)
//! turned into the names PostgreSQL's catalog prints (`integer`,
//! `character varying(20)`).

use dbveto_schema::{DataType, Schema};
use pg_raw_parse::nodes::TypeName;

use crate::expr::{literal, names};
use dbveto_writes::Literal;

/// What `serial`-like type names expand to.
pub enum Serial {
    No,
    Yes,
}

pub fn data_type(type_name: &TypeName, schema: &Schema) -> (DataType, Serial) {
    let names = names(type_name.names());
    let mods: Vec<i64> = type_name
        .typmods()
        .iter()
        .filter_map(|m| match literal(m) {
            Some(Literal::Int(i)) => Some(i),
            _ => None,
        })
        .collect();
    let array_dims = type_name.array_bounds().len() as u32;
    let (qualifier, base) = match names.as_slice() {
        [.., q, b] => (Some(q.as_str()), b.as_str()),
        [b] => (None, b.as_str()),
        [] => (None, ""),
    };
    let mut serial = Serial::No;
    let builtin = match (qualifier, base) {
        (None | Some("pg_catalog"), b) => Some(match b {
            "int2" | "smallint" => "smallint",
            "int4" | "int" | "integer" => "integer",
            "int8" | "bigint" => "bigint",
            "smallserial" | "serial2" => {
                serial = Serial::Yes;
                "smallint"
            }
            "serial" | "serial4" => {
                serial = Serial::Yes;
                "integer"
            }
            "bigserial" | "serial8" => {
                serial = Serial::Yes;
                "bigint"
            }
            "varchar" => "character varying",
            "bpchar" | "char" if qualifier == Some("pg_catalog") => "character",
            "bool" | "boolean" => "boolean",
            "float4" | "real" => "real",
            "float8" => "double precision",
            "numeric" | "decimal" => "numeric",
            "timestamptz" => "timestamp with time zone",
            "timestamp" => "timestamp without time zone",
            "timetz" => "time with time zone",
            "time" => "time without time zone",
            "varbit" => "bit varying",
            "interval" => "interval",
            "bit" => "bit",
            _ => "",
        })
        .filter(|s| !s.is_empty()),
        _ => None,
    };
    let data_type = match builtin {
        Some(name) => {
            let mut length = None;
            let mut modifiers = Vec::new();
            match name {
                "character varying" => length = mods.first().map(|n| *n as u32),
                // `char` alone is `character(1)`.
                "character" => length = Some(mods.first().map_or(1, |n| *n as u32)),
                "numeric" | "bit varying" | "interval" => modifiers = mods,
                "bit" => length = Some(mods.first().map_or(1, |n| *n as u32)),
                "timestamp with time zone" | "timestamp without time zone" | "time without time zone" | "time with time zone" => {
                    modifiers = mods
                }
                _ => {}
            }
            DataType { name: name.to_string(), schema: None, length, modifiers, array_dims }
        }
        None => {
            let schema_name = qualifier.unwrap_or("public");
            let user = schema.enums.keys().chain(schema.domains.keys()).any(|k| k.schema == schema_name && k.name == base);
            DataType {
                name: base.to_string(),
                schema: if user { Some(schema_name.to_string()) } else { qualifier.map(str::to_string) },
                length: None,
                modifiers: mods,
                array_dims,
            }
        }
    };
    (data_type, serial)
}
