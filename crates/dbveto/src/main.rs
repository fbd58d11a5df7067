//! The `dbveto` command line: parses flags, runs the pipeline, prints, and
//! picks the exit code (0 no findings, 1 findings, 2 usage or internal error).

mod analysis;
mod schema_output;
mod verify;

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use dbveto_report::Style;

#[derive(Parser)]
#[command(name = "dbveto", version, about = "Finds the writes your database will veto, before it does")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Report every write that a constraint of the schema will reject
    Check {
        /// The repository to check
        #[arg(default_value = ".")]
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Only these rules (comma-separated ids)
        #[arg(long, value_delimiter = ',')]
        select: Vec<String>,
        /// Not these rules (comma-separated ids)
        #[arg(long, value_delimiter = ',')]
        ignore: Vec<String>,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Use this live database's catalog as the schema (read-only)
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Prove each finding on a real PostgreSQL built from the migrations
    Verify {
        #[arg(default_value = ".")]
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        #[arg(long, value_delimiter = ',')]
        select: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        ignore: Vec<String>,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// An existing database to read (never written): compare its catalog
        /// instead of starting a throwaway server
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// The directory of initdb, pg_ctl and postgres
        #[arg(long, value_name = "DIR")]
        postgres_bin: Option<PathBuf>,
        /// Only compare dbveto's schema with PostgreSQL's catalog
        #[arg(long)]
        schema_only: bool,
        /// With --database-url: count the existing rows that migrations not
        /// yet applied would fail on
        #[arg(long, requires = "database_url")]
        pending: bool,
    },
    /// Print the schema reconstructed from the migrations, with provenance
    Schema {
        #[arg(default_value = ".")]
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = SchemaFormat::Text)]
        format: SchemaFormat,
    },
    /// List the rules
    Rules,
    /// Print a rule's documentation
    Rule { id: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaFormat {
    Text,
    Json,
    Sql,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("dbveto: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn root(path: &PathBuf) -> Result<PathBuf, String> {
    if !path.is_dir() {
        return Err(format!("`{}` is not a directory; give the root of the repository to check", path.display()));
    }
    Ok(path.clone())
}

fn print(s: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`| head`) is not an error of dbveto's.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("could not write output: {e}")),
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Check { path, format, select, ignore, color, database_url } => {
            let rules = selected_rules(&select, &ignore)?;
            let mut analysis = analysis::analyze(&root(&path)?);
            if let Some(url) = &database_url {
                verify::use_live_catalog(&mut analysis, url)?;
            }
            let findings = analysis.check(&rules);
            match format {
                CheckFormat::Json => {
                    let v = dbveto_report::json(&findings, &analysis.diagnostics);
                    print(&format!("{}\n", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?))?;
                }
                CheckFormat::Text => {
                    let style = Style { color: use_color(color) };
                    let mut out = dbveto_report::text(&findings, &analysis.diagnostics, &analysis.sources, style);
                    out.push_str(&summary(&findings, analysis.files));
                    print(&out)?;
                }
            }
            Ok(if findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Verify { path, format, select, ignore, color, database_url, postgres_bin, schema_only, pending } => {
            let rules = selected_rules(&select, &ignore)?;
            let analysis = analysis::analyze(&root(&path)?);
            let options = verify::Options { database_url, postgres_bin, schema_only, pending };
            let report = verify::verify(&analysis, &rules, &options)?;
            let mut diagnostics = analysis.diagnostics.clone();
            diagnostics.extend(report.diagnostics.iter().cloned());
            match format {
                CheckFormat::Json => {
                    let mut v = dbveto_report::json(&report.findings, &diagnostics);
                    v["databases"] = serde_json::Value::Array(report.databases.clone());
                    print(&format!("{}\n", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?))?;
                }
                CheckFormat::Text => {
                    let style = Style { color: use_color(color) };
                    let mut out = dbveto_report::text(&report.findings, &diagnostics, &analysis.sources, style);
                    out.push_str(&verify::summary(&report, analysis.files));
                    print(&out)?;
                }
            }
            // 3: PostgreSQL disagrees with dbveto (a finding not reproduced,
            // a schema difference, a migration that fails).
            Ok(if report.disagrees() {
                ExitCode::from(3)
            } else if !report.findings.is_empty() || report.pending_violations > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Schema { path, format } => {
            let analysis = analysis::analyze(&root(&path)?);
            let out = match format {
                SchemaFormat::Json => {
                    let v = serde_json::json!({
                        "version": dbveto_report::JSON_VERSION,
                        "databases": schema_output::json(&analysis.databases),
                        "diagnostics": dbveto_report::json(&[], &analysis.diagnostics)["diagnostics"],
                    });
                    format!("{}\n", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?)
                }
                SchemaFormat::Sql => schema_output::sql(&analysis.databases),
                SchemaFormat::Text => {
                    let mut s = schema_output::text(&analysis.databases);
                    if analysis.databases.is_empty() {
                        s.push_str("no migrations found\n");
                    }
                    let diags = dbveto_report::text(&[], &analysis.diagnostics, &analysis.sources, Style { color: false });
                    eprint!("{diags}");
                    s
                }
            };
            print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules => {
            let mut s = String::new();
            for r in dbveto_rules::all() {
                s.push_str(&format!("{:<22} {}\n", r.id, r.summary));
            }
            print(&s)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rule { id } => match dbveto_rules::by_id(&id) {
            Some(r) => {
                print(&format!("# {}\n\n{}\n\n{}", r.id, r.summary, r.docs))?;
                Ok(ExitCode::SUCCESS)
            }
            None => Err(format!("no rule `{id}`; `dbveto rules` lists them")),
        },
    }
}

fn selected_rules(select: &[String], ignore: &[String]) -> Result<Vec<&'static dbveto_rules::Rule>, String> {
    for id in select.iter().chain(ignore) {
        if dbveto_rules::by_id(id).is_none() {
            return Err(format!("unknown rule `{id}`; `dbveto rules` lists them"));
        }
    }
    Ok(dbveto_rules::all()
        .iter()
        .filter(|r| select.is_empty() || select.iter().any(|s| s == r.id))
        .filter(|r| !ignore.iter().any(|s| s == r.id))
        .collect())
}

fn use_color(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal(),
    }
}

fn summary(findings: &[dbveto_rules::Finding], files: usize) -> String {
    if findings.is_empty() {
        return format!("All checks passed ({files} files).\n");
    }
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in findings {
        *counts.entry(f.rule).or_default() += 1;
    }
    let per_rule: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let noun = if findings.len() == 1 { "problem" } else { "problems" };
    format!("Found {} {noun} ({}) in {files} files.\n", findings.len(), per_rule.join(", "))
}
