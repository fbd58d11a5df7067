//! `dbveto check`: configuration, analysis, suppressions, baseline, then
//! the report in the format asked for.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use dbveto_report::Style;

use crate::{analysis, baseline};

#[derive(Args)]
pub struct CheckArgs {
    /// The repository to check
    #[arg(default_value = ".")]
    path: PathBuf,
    #[arg(long, alias = "output-format", value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
    /// Only these rules (comma-separated ids); replaces the configuration's `select`
    #[arg(long, value_delimiter = ',')]
    select: Vec<String>,
    /// These rules too (comma-separated ids)
    #[arg(long, value_delimiter = ',')]
    extend_select: Vec<String>,
    /// Not these rules (comma-separated ids); adds to the configuration's `ignore`
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// The configuration file (default: .dbveto.toml, dbveto.toml or
    /// [tool.dbveto] in pyproject.toml at the checked root)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Write the report to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print the findings only: no input problems, no summary
    #[arg(long, short)]
    quiet: bool,
    /// Print the number of findings of each rule instead of the findings
    #[arg(long)]
    statistics: bool,
    /// Exit with 0 even when there are findings
    #[arg(long)]
    exit_zero: bool,
    /// Report findings even where a `dbveto: ignore` comment hides them
    #[arg(long)]
    ignore_suppressions: bool,
    /// Hide the findings recorded in FILE (written by --write-baseline)
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    baseline: Option<PathBuf>,
    /// Record the current findings in FILE and exit with 0
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Use this live database's catalog as the schema (read-only)
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
    Sarif,
    Github,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// The configuration for `root`: `--config FILE`, else the one found there.
pub fn load_config(root: &Path, explicit: Option<&Path>) -> Result<dbveto_config::Config, String> {
    match explicit {
        Some(path) => match dbveto_config::read(path).map_err(|e| e.to_string())? {
            Some(config) => Ok(config),
            None => Err(format!("{}: no [tool.dbveto] table", path.display())),
        },
        None => Ok(dbveto_config::find(root).map_err(|e| e.to_string())?.map(|l| l.config).unwrap_or_default()),
    }
}

pub fn run(args: CheckArgs) -> Result<ExitCode, String> {
    let root = crate::root(&args.path)?;
    let config = load_config(&root, args.config.as_deref())?;
    let rules = dbveto_config::selected_rules(&config, &args.select, &args.extend_select, &args.ignore)?;
    let mut analysis = analysis::analyze_with(&root, &config.discover_options());
    if let Some(url) = &args.database_url {
        crate::verify::use_live_catalog(&mut analysis, url)?;
    }
    let ran: Vec<&str> = rules.iter().map(|r| r.id).collect();
    let (findings, suppression_diagnostics) = match args.ignore_suppressions {
        true => (analysis.check(&rules), Vec::new()),
        false => dbveto_suppress::apply(analysis.check(&rules), &analysis.sources, &ran),
    };
    let mut diagnostics = analysis.diagnostics.clone();
    diagnostics.extend(suppression_diagnostics);
    diagnostics.sort();

    if let Some(path) = &args.write_baseline {
        baseline::write(path, &findings, &analysis.sources)?;
        let noun = if findings.len() == 1 { "finding" } else { "findings" };
        eprintln!("dbveto: recorded {} {noun} in {}", findings.len(), path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let (findings, hidden) = match &args.baseline {
        Some(path) => baseline::filter(path, findings, &analysis.sources)?,
        None => (findings, 0),
    };

    let color = use_color(args.color, args.output.is_some());
    let out = if args.statistics {
        match args.format {
            CheckFormat::Json => json_text(&dbveto_report::statistics_json(&findings))?,
            _ => dbveto_report::statistics_text(&findings),
        }
    } else {
        match args.format {
            CheckFormat::Json => json_text(&dbveto_report::json(&findings, &diagnostics))?,
            CheckFormat::Sarif => json_text(&dbveto_report::sarif(&findings, &diagnostics, dbveto_rules::all(), &analysis.sources, env!("CARGO_PKG_VERSION")))?,
            CheckFormat::Github => dbveto_report::github(&findings, &diagnostics),
            CheckFormat::Markdown => dbveto_report::markdown(&findings, &diagnostics, &analysis.sources),
            CheckFormat::Text => {
                let shown: &[dbveto_source::Diagnostic] = if args.quiet { &[] } else { &diagnostics };
                let mut s = dbveto_report::text(&findings, shown, &analysis.sources, Style { color });
                if !args.quiet {
                    s.push_str(&summary(&findings, analysis.files, hidden));
                }
                s
            }
        }
    };
    let nothing_read = analysis.nothing_read;
    // The process ends right after printing: freeing the analysis (every
    // file, tree and write, one by one) would take longer than the report.
    std::mem::forget(analysis);
    match &args.output {
        Some(path) => std::fs::write(path, out).map_err(|e| format!("could not write `{}`: {e}", path.display()))?,
        None => crate::print(&out)?,
    }
    Ok(if args.exit_zero {
        ExitCode::SUCCESS
    } else if !findings.is_empty() {
        ExitCode::from(1)
    } else if nothing_read && args.database_url.is_none() {
        // Nothing was checked, and not by the configuration's choice: not
        // a pass (the report says why).
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn json_text(v: &serde_json::Value) -> Result<String, String> {
    Ok(format!("{}\n", serde_json::to_string_pretty(v).map_err(|e| e.to_string())?))
}

/// Colour on a terminal only, never into a file, never with `NO_COLOR`
/// set (and not empty); `always` and `never` win over both.
pub fn use_color(color: Color, to_file: bool) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => !to_file && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal(),
    }
}

fn summary(findings: &[dbveto_rules::Finding], files: usize, hidden: usize) -> String {
    let baseline = match hidden {
        0 => String::new(),
        1 => " 1 more is in the baseline.".to_string(),
        n => format!(" {n} more are in the baseline."),
    };
    if findings.is_empty() && files == 0 {
        return "Nothing checked: no file was read.\n".to_string();
    }
    if findings.is_empty() {
        return format!("All checks passed ({files} files).{baseline}\n");
    }
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in findings {
        *counts.entry(f.rule).or_default() += 1;
    }
    let per_rule: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let noun = if findings.len() == 1 { "problem" } else { "problems" };
    format!("Found {} {noun} ({}) in {files} files.{baseline}\n", findings.len(), per_rule.join(", "))
}
