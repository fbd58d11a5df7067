//! Constant values of schedules: `time.Duration` arithmetic
//! (`60 * time.Second`, a named constant), strings (cron specs), and how
//! often a cron spec or a gocron chain fires.

/// A constant expression as written; names are looked up when linking.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ConstExpr {
    Int(i128),
    Str(String),
    /// A constant of the package (`None`) or of an imported one.
    Name(Option<String>, String),
    Mul(Box<ConstExpr>, Box<ConstExpr>),
    Div(Box<ConstExpr>, Box<ConstExpr>),
    Add(Box<ConstExpr>, Box<ConstExpr>),
    Sub(Box<ConstExpr>, Box<ConstExpr>),
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Const {
    Int(i128),
    Str(String),
}

const SECOND: i128 = 1_000_000_000;

/// Looks a constant up by qualifier and name, at a depth.
pub(super) type Lookup<'l> = dyn FnMut(Option<&str>, &str, u32) -> Option<Const> + 'l;

/// The nanoseconds of `time.<unit>`.
pub(super) fn time_unit(name: &str) -> Option<i128> {
    Some(match name {
        "Nanosecond" => 1,
        "Microsecond" => 1_000,
        "Millisecond" => 1_000_000,
        "Second" => SECOND,
        "Minute" => 60 * SECOND,
        "Hour" => 3_600 * SECOND,
        _ => return None,
    })
}

impl ConstExpr {
    /// Evaluates with `lookup` for names; depth-bounded (constants naming each other).
    pub(super) fn eval(&self, lookup: &mut Lookup<'_>, depth: u32) -> Option<Const> {
        if depth > 32 {
            return None;
        }
        let int = |e: &ConstExpr, lookup: &mut Lookup<'_>| match e.eval(lookup, depth + 1) {
            Some(Const::Int(n)) => Some(n),
            _ => None,
        };
        match self {
            ConstExpr::Int(n) => Some(Const::Int(*n)),
            ConstExpr::Str(s) => Some(Const::Str(s.clone())),
            ConstExpr::Name(q, n) => lookup(q.as_deref(), n, depth + 1),
            ConstExpr::Mul(a, b) => Some(Const::Int(int(a, lookup)?.checked_mul(int(b, lookup)?)?)),
            ConstExpr::Div(a, b) => Some(Const::Int(int(a, lookup)?.checked_div(int(b, lookup)?)?)),
            ConstExpr::Sub(a, b) => Some(Const::Int(int(a, lookup)?.checked_sub(int(b, lookup)?)?)),
            ConstExpr::Add(a, b) => match (a.eval(lookup, depth + 1)?, b.eval(lookup, depth + 1)?) {
                (Const::Int(x), Const::Int(y)) => Some(Const::Int(x.checked_add(y)?)),
                (Const::Str(x), Const::Str(y)) => Some(Const::Str(x + &y)),
                _ => None,
            },
            ConstExpr::Unknown => None,
        }
    }
}

/// An interval for people and, when whole, in seconds.
pub(super) fn every_nanos(nanos: i128) -> (Option<u64>, String) {
    if nanos > 0 && nanos % SECOND == 0 {
        let s = u64::try_from(nanos / SECOND).ok();
        if let Some(s) = s {
            return (Some(s), format!("every {s} s"));
        }
    }
    (None, format!("every {nanos} ns"))
}

/// A Go duration string, as `time.ParseDuration` reads it (`1m30s`,
/// `1.5h`, `500ms`): nanoseconds.
pub(super) fn parse_duration(text: &str) -> Option<i128> {
    let mut rest = text.trim();
    let negative = rest.starts_with('-');
    rest = rest.trim_start_matches(['-', '+']);
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * unit;
    }
    if !total.is_finite() || total > 1e30 {
        return None;
    }
    let nanos = total.round() as i128;
    Some(if negative { -nanos } else { nanos })
}

/// How often a robfig/cron spec fires: `@every 1m`, `@hourly`, and the
/// fields forms whose period is fixed (`*/5 * * * *`, `0 * * * *`, `30 2 * * *`).
/// Five fields, or six with seconds first.
pub(super) fn cron_every(spec: &str) -> Option<u64> {
    let mut spec = spec.trim();
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        spec = spec.split_once(char::is_whitespace)?.1.trim();
    }
    if let Some(rest) = spec.strip_prefix("@every ") {
        let nanos = parse_duration(rest)?;
        return every_nanos(nanos).0;
    }
    match spec {
        "@hourly" => return Some(3_600),
        "@daily" | "@midnight" => return Some(86_400),
        "@weekly" => return Some(604_800),
        _ => {}
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    let (seconds, rest): (Option<&str>, &[&str]) = match fields.len() {
        5 => (None, &fields[..]),
        6 => (Some(fields[0]), &fields[1..]),
        _ => return None,
    };
    let [minute, hour, day, month, weekday] = rest else { return None };
    if [*day, *month, *weekday].iter().any(|f| *f != "*" && *f != "?") {
        return None;
    }
    let step = |field: &str, range: u64| -> Option<Step> {
        if field == "*" {
            return Some(Step::Every(1));
        }
        if let Some(n) = field.strip_prefix("*/") {
            let n: u64 = n.parse().ok()?;
            return (n > 0 && range.is_multiple_of(n)).then_some(Step::Every(n));
        }
        field.parse::<u64>().ok().filter(|v| *v < range).map(|_| Step::Fixed)
    };
    let second = match seconds {
        Some(s) => step(s, 60)?,
        None => Step::Fixed,
    };
    let (minute, hour) = (step(minute, 60)?, step(hour, 24)?);
    // The finest field that varies sets the period; the coarser ones must all be `*`.
    match (second, minute, hour) {
        (Step::Every(n), Step::Every(1), Step::Every(1)) => Some(n),
        (Step::Fixed, Step::Every(n), Step::Every(1)) => Some(60 * n),
        (Step::Fixed, Step::Fixed, Step::Every(n)) => Some(3_600 * n),
        (Step::Fixed, Step::Fixed, Step::Fixed) => Some(86_400),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum Step {
    Every(u64),
    Fixed,
}

/// The seconds of a gocron unit method (`Minute`, `Minutes`, ...).
pub(super) fn gocron_unit(name: &str) -> Option<u64> {
    Some(match name.trim_end_matches('s') {
        "Second" => 1,
        "Minute" => 60,
        "Hour" => 3_600,
        "Day" => 86_400,
        "Week" => 604_800,
        "Monday" | "Tuesday" | "Wednesday" | "Thursday" | "Friday" | "Saturday" | "Sunday" | "Weekday" => 604_800,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("1m"), Some(60 * SECOND));
        assert_eq!(parse_duration("1h30m"), Some(5_400 * SECOND));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("1x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("m"), None);
    }

    #[test]
    fn cron_specs_with_a_fixed_period() {
        for (spec, every) in [
            ("@every 1m", Some(60)),
            ("@every 90s", Some(90)),
            ("@hourly", Some(3_600)),
            ("* * * * *", Some(60)),
            ("*/5 * * * *", Some(300)),
            ("0 * * * *", Some(3_600)),
            ("30 2 * * *", Some(86_400)),
            ("*/30 * * * * *", Some(30)),
            ("0 */1 * * * *", Some(60)),
            ("CRON_TZ=UTC * * * * *", Some(60)),
            // Not fixed: a weekday, a step that does not divide the hour, a list.
            ("0 9 * * 1", None),
            ("*/7 * * * *", None),
            ("0,30 * * * *", None),
            ("@monthly", None),
            ("", None),
        ] {
            assert_eq!(cron_every(spec), every, "{spec}");
        }
    }

    #[test]
    fn constant_arithmetic() {
        let sixty_seconds = ConstExpr::Mul(Box::new(ConstExpr::Int(60)), Box::new(ConstExpr::Name(None, "unit".into())));
        let mut lookup = |_: Option<&str>, name: &str, _| (name == "unit").then_some(Const::Int(SECOND));
        assert_eq!(sixty_seconds.eval(&mut lookup, 0), Some(Const::Int(60 * SECOND)));
        let unknown = ConstExpr::Mul(Box::new(ConstExpr::Int(60)), Box::new(ConstExpr::Name(None, "other".into())));
        assert_eq!(unknown.eval(&mut lookup, 0), None);
        assert_eq!(every_nanos(60 * SECOND), (Some(60), "every 60 s".into()));
    }
}
