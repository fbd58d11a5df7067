//! Django's system checks that stop every management command. Only
//! models.E034 (an index name over 30 characters) is a schema problem.

use crate::template::find;
use crate::{DbError, Dialect, ErrorKind, Primary};

pub(crate) fn primary(line: &str) -> Option<Primary> {
    let m = find(line, "(models.E034) The index name {} cannot be longer than {} characters.")?;
    let mut e = DbError::new(ErrorKind::IndexNameTooLong, Dialect::Django, &line[m.start..m.end]);
    e.check_id = Some("models.E034".into());
    e.value = Some(m.holes[0].clone());
    e.max_length = m.holes[1].trim().parse().ok();
    // `netops.SyncJob: (models.E034) ...`: the model is the word before.
    let before = line[..m.start].trim_end().strip_suffix(':').unwrap_or("");
    let model = before.rsplit(char::is_whitespace).next().filter(|s| s.contains('.'));
    let start = model.map_or(m.start, |model| before.len() - model.len());
    e.model = model.map(str::to_string);
    e.message = line[start..m.end].to_string();
    Some(Primary { error: e, start, end: m.end })
}
