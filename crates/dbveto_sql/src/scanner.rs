//! PostgreSQL's scanner, through libpg_query's statement splitter (part
//! of the C library `pg_raw_parse` builds and links; its Rust API does not
//! wrap it): where each statement of a text starts and ends, with string
//! literals, quoted names, comments and dollar-quoted bodies respected.

use std::ffi::{c_char, c_int, CStr, CString};
use std::ops::Range;

/// `PgQueryError` of `pg_query.h`.
#[repr(C)]
struct PgQueryError {
    message: *mut c_char,
    funcname: *mut c_char,
    filename: *mut c_char,
    lineno: c_int,
    cursorpos: c_int,
    context: *mut c_char,
}

/// `PgQuerySplitStmt` of `pg_query.h`.
#[repr(C)]
struct PgQuerySplitStmt {
    stmt_location: c_int,
    stmt_len: c_int,
}

/// `PgQuerySplitResult` of `pg_query.h`.
#[repr(C)]
struct PgQuerySplitResult {
    stmts: *mut *mut PgQuerySplitStmt,
    n_stmts: c_int,
    stderr_buffer: *mut c_char,
    error: *mut PgQueryError,
}

extern "C" {
    fn pg_query_split_with_scanner(input: *const c_char) -> PgQuerySplitResult;
    fn pg_query_free_split_result(result: PgQuerySplitResult);
}

/// The byte ranges of the statements of `text` as the scanner splits them
/// (leading white space and comments included, the `;` not), or the
/// scanner's error message: an unterminated literal, quoted name, comment
/// or dollar-quoted body.
pub fn split(text: &str) -> Result<Vec<Range<usize>>, String> {
    let input = CString::new(text).map_err(|e| format!("the text holds a NUL byte at offset {}", e.nul_position()))?;
    // SAFETY: `input` is a NUL-terminated string that outlives the call;
    // the result is read as `pg_query.h` lays it out, then freed once.
    unsafe {
        let result = pg_query_split_with_scanner(input.as_ptr());
        let split = if let Some(error) = result.error.as_ref() {
            Err(if error.message.is_null() { "could not split".to_string() } else { CStr::from_ptr(error.message).to_string_lossy().into_owned() })
        } else {
            let n = if result.stmts.is_null() { 0 } else { usize::try_from(result.n_stmts).unwrap_or(0) };
            let mut ranges = Vec::with_capacity(n);
            for i in 0..n {
                let Some(stmt) = (*result.stmts.add(i)).as_ref() else { continue };
                let start = usize::try_from(stmt.stmt_location).unwrap_or(0).min(text.len());
                let end = (start + usize::try_from(stmt.stmt_len).unwrap_or(0)).min(text.len());
                ranges.push(start..end);
            }
            Ok(ranges)
        };
        pg_query_free_split_result(result);
        split
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn statements_are_split_outside_literals_and_comments() {
        let sql = "select /*;*/ 1; select ';', $$;$$; select \"a;\"";
        let parts: Vec<&str> = split(sql).unwrap().into_iter().map(|r| &sql[r]).collect();
        assert_eq!(parts, ["select /*;*/ 1", " select ';', $$;$$", " select \"a;\""]);
    }

    #[test]
    fn an_unterminated_literal_is_an_error() {
        assert!(split("select 'abc").is_err());
        assert!(split("select $$ abc").is_err());
        assert!(split("select 1 /* abc").is_err());
        assert!(split("select 'a\0b'").unwrap_err().contains("NUL"));
    }
}
