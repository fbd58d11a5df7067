//! A finding's fingerprint: what stays the same while the code around it
//! changes. It hashes the rule, the path, the table, column and constraint,
//! and the text of the finding's line (trimmed), but not the line number,
//! so that edits above a finding do not make it new. Used by baselines and
//! SARIF's `partialFingerprints`.

use dbveto_rules::Finding;

use crate::Sources;

/// 16 hex digits, stable across runs, platforms and releases (FNV-1a, not
/// the standard library's hasher, whose output may change).
pub fn fingerprint(finding: &Finding, sources: &Sources) -> String {
    let line = sources.get(&finding.location.path).and_then(|f| f.line_text(finding.location.line)).unwrap_or("").trim();
    let parts: [&str; 6] = [
        finding.rule,
        &finding.location.path,
        &finding.table,
        finding.column.as_deref().unwrap_or(""),
        finding.constraint.as_deref().unwrap_or(""),
        line,
    ];
    let mut hash = Fnv1a::default();
    for part in parts {
        hash.write(part.as_bytes());
        // A separator no text contains, so that ("ab", "c") and ("a", "bc") differ.
        hash.write(&[0xff]);
    }
    format!("{:016x}", hash.0)
}

struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{finding, sources};

    #[test]
    fn line_numbers_do_not_matter_but_the_line_text_does() {
        let before = sources(&[("app.py", "x = 1\nINSERT 'a'\n")]);
        let after = sources(&[("app.py", "# new line\nx = 1\n\n  INSERT 'a'\n")]);
        let changed = sources(&[("app.py", "x = 1\nINSERT 'b'\n")]);
        let f2 = finding("check-value-rejected", "app.py", 2);
        let f4 = finding("check-value-rejected", "app.py", 4);
        assert_eq!(fingerprint(&f2, &before), fingerprint(&f4, &after));
        assert_ne!(fingerprint(&f2, &before), fingerprint(&f2, &changed));
    }

    #[test]
    fn rule_and_column_are_part_of_it() {
        let s = sources(&[("app.py", "INSERT\n")]);
        let a = finding("check-value-rejected", "app.py", 1);
        let b = finding("value-too-long", "app.py", 1);
        let mut c = a.clone();
        c.column = Some("other".into());
        assert_ne!(fingerprint(&a, &s), fingerprint(&b, &s));
        assert_ne!(fingerprint(&a, &s), fingerprint(&c, &s));
        assert_eq!(fingerprint(&a, &s).len(), 16);
    }

    #[test]
    /// The value an independent FNV-1a computes for these parts.
    fn known_value_so_baselines_stay_valid_across_releases() {
        let s = sources(&[("a.sql", "x\n")]);
        assert_eq!(fingerprint(&finding("r", "a.sql", 1), &s), "4311746d9914706c");
    }
}
