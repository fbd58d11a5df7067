#!/usr/bin/env bash
# Benchmark dbveto against ruff and squawk on a generated repository.
#
# Usage: benches/run.sh
# Settings (environment variables):
#   DBVETO=path   use this dbveto binary instead of building one in release;
#                 DBVETO=none leaves dbveto out
#   SCALE=1.0     size of the generated tree (1.0 is about 38 MB)
#   SEED=1        seed of the generator
#   RUNS=3        timed runs per tool (the best one is reported)
#   HYPERFINE=none  time by hand even if hyperfine is installed
#
# Writes benches/out/results.md (and keeps the tree, the venv and the raw
# measurements in benches/out/). See benches/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
OUT="$HERE/out"
TREE="$OUT/tree"
VENV="$OUT/venv"
SCALE="${SCALE:-1.0}"
SEED="${SEED:-1}"
RUNS="${RUNS:-3}"
PY="${PYTHON:-python3}"

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }

mkdir -p "$OUT"
RAW="$OUT/raw"
rm -rf "$RAW"
mkdir -p "$RAW"

# --- dbveto ------------------------------------------------------------------
if [[ -n "${DBVETO:-}" ]]; then
    if [[ "$DBVETO" != none ]]; then
        if [[ ! -x "$DBVETO" || -d "$DBVETO" ]]; then
            echo "DBVETO=$DBVETO is not an executable file" >&2
            exit 2
        fi
        DBVETO="$(realpath "$DBVETO")"
    fi
else
    log "building dbveto (cargo build --release -p dbveto)"
    if ! (cd "$REPO" && cargo build --release -p dbveto); then
        echo "cargo build --release -p dbveto failed; fix the build, or run with DBVETO=path or DBVETO=none" >&2
        exit 1
    fi
    DBVETO="$REPO/target/release/dbveto"
fi

# --- the tree ----------------------------------------------------------------
gen_hash="$(sha256sum "$HERE/generate.py" | cut -c1-16)"
stamp="scale=$SCALE seed=$SEED generator=$gen_hash"
if [[ -f "$OUT/tree.stamp" && -d "$TREE" && "$(cat "$OUT/tree.stamp")" == "$stamp" ]]; then
    log "tree $TREE is up to date ($stamp)"
else
    log "generating $TREE ($stamp)"
    rm -f "$OUT/tree.stamp"
    "$PY" "$HERE/generate.py" "$TREE" --scale "$SCALE" --seed "$SEED" --force
    echo "$stamp" > "$OUT/tree.stamp"
fi

# --- ruff and squawk ---------------------------------------------------------
RUFF=""
SQUAWK=""
if [[ ! -x "$VENV/bin/ruff" || ! -x "$VENV/bin/squawk" ]]; then
    log "installing ruff and squawk-cli into $VENV"
    if "$PY" -m venv "$VENV" && "$VENV/bin/pip" install --quiet --disable-pip-version-check ruff squawk-cli; then
        :
    else
        warn "pip install ruff squawk-cli failed"
    fi
fi
if [[ -x "$VENV/bin/ruff" ]] && "$VENV/bin/ruff" --version >/dev/null 2>&1; then
    RUFF="$VENV/bin/ruff"
else
    warn "no working ruff; it is left out"
fi
if [[ -x "$VENV/bin/squawk" ]] && "$VENV/bin/squawk" --version >/dev/null 2>&1; then
    SQUAWK="$VENV/bin/squawk"
else
    # The npm package is the other official channel.
    NPM_SQUAWK="$OUT/npm/node_modules/.bin/squawk"
    if [[ ! -x "$NPM_SQUAWK" ]] && command -v npm >/dev/null 2>&1; then
        log "squawk from PyPI does not run here; trying npm squawk-cli"
        npm install --silent --prefix "$OUT/npm" squawk-cli >/dev/null 2>&1 || warn "npm install squawk-cli failed"
    fi
    if [[ -x "$NPM_SQUAWK" ]] && "$NPM_SQUAWK" --version >/dev/null 2>&1; then
        SQUAWK="$NPM_SQUAWK"
    else
        warn "no working squawk (neither pip squawk-cli nor npm squawk-cli); it is left out"
    fi
fi

# --- measuring tools ---------------------------------------------------------
if [[ "${HYPERFINE:-}" == none ]]; then
    HYPERFINE=""
elif command -v hyperfine >/dev/null 2>&1; then
    HYPERFINE="$(command -v hyperfine)"
elif [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing hyperfine (apt-get)"
    if apt-get install -y -qq hyperfine >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq hyperfine >/dev/null 2>&1; }; then
        HYPERFINE="$(command -v hyperfine)"
    fi
fi
[[ -n "$HYPERFINE" ]] || warn "hyperfine not available; timing with best of $RUNS runs by hand"
TIME_BIN=/usr/bin/time
if [[ ! -x $TIME_BIN ]] && [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing GNU time (apt-get)"
    apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq time >/dev/null 2>&1; } || true
fi
[[ -x $TIME_BIN ]] || { warn "/usr/bin/time missing; peak RSS not measured"; TIME_BIN=""; }

# Files and bytes a tool reads: find predicates, over the tree minus hidden dirs.
count_files() { # name-predicates... -> "files bytes"
    find "$TREE" -name '.*' -prune -o -type f \( "$@" \) -printf '%s\n' |
        awk '{n++; b+=$1} END {printf "%d %d\n", n, b}'
}
DBVETO_FILES="$(count_files -name '*.sql' -o \( -name '*.go' ! -name '*_test.go' \) -o -name go.mod \
    -o \( -name '*.py' ! -name 'test_*.py' ! -name '*_test.py' ! -name conftest.py \))"
RUFF_FILES="$(count_files -name '*.py' -o -name '*.pyi')"
SQUAWK_FILES="$(count_files -name '*.sql')"

# measure NAME "FILES BYTES" CMD...: timing into $RAW/NAME.time, RSS into $RAW/NAME.rss
measure() {
    local name="$1" files="$2"
    shift 2
    local cmd
    cmd="$(printf '%q ' "$@")"
    log "measuring $name: $cmd"
    echo "$files" > "$RAW/$name.files"
    # One run to keep the output and exit code, for the sanity checks below.
    set +e
    "$@" > "$RAW/$name.stdout" 2> "$RAW/$name.stderr"
    echo $? > "$RAW/$name.exit"
    set -e
    if [[ -n "$HYPERFINE" ]]; then
        "$HYPERFINE" --shell=bash --style basic --runs "$RUNS" --warmup 1 --ignore-failure \
            --export-json "$RAW/$name.hyperfine.json" "$cmd" >&2
        "$PY" - "$RAW/$name.hyperfine.json" > "$RAW/$name.time" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(r["min"], r["mean"], r["stddev"] or 0.0, r["user"] + r["system"])
EOF
    else
        "$@" >/dev/null 2>&1 || true # warm-up
        local i t0 t1 times=()
        for ((i = 0; i < RUNS; i++)); do
            t0=$(date +%s%N)
            "$@" >/dev/null 2>&1 || true
            t1=$(date +%s%N)
            times+=("$(( t1 - t0 ))")
        done
        printf '%s\n' "${times[@]}" | "$PY" -c '
import statistics, sys
t = [int(l) / 1e9 for l in sys.stdin if l.strip()]
print(min(t), statistics.mean(t), statistics.stdev(t) if len(t) > 1 else 0.0, -1)' > "$RAW/$name.time"
    fi
    if [[ -n "$TIME_BIN" ]]; then
        # Maximum RSS in KB, then user and system CPU seconds.
        "$TIME_BIN" -f '%M %U %S' -o "$RAW/$name.rss" "$@" >/dev/null 2>&1 || true
    fi
    "$1" --version 2>&1 | head -n 1 > "$RAW/$name.version" || true
}

cd "$OUT"
if [[ "$DBVETO" != none ]]; then
    measure dbveto "$DBVETO_FILES" "$DBVETO" check "$TREE" --format json
fi
if [[ -n "$RUFF" ]]; then
    measure ruff "$RUFF_FILES" "$RUFF" check --select F --no-cache "$TREE"
fi
if [[ -n "$SQUAWK" ]]; then
    # squawk takes glob patterns and expands them itself: one process for all files.
    measure squawk "$SQUAWK_FILES" "$SQUAWK" "$TREE/**/*.sql"
fi

# --- the report --------------------------------------------------------------
"$PY" - "$RAW" "$OUT/results.md" "$TREE" "$stamp" "$RUNS" "${HYPERFINE:+hyperfine}" <<'EOF'
import json, os, platform, re, sys

raw, results, tree, stamp, runs, timer = sys.argv[1:7]
tools = [t for t in ("dbveto", "ruff", "squawk") if os.path.exists(os.path.join(raw, t + ".time"))]
label = {
    "dbveto": "dbveto check --format json",
    "ruff": "ruff check --select F --no-cache",
    "squawk": "squawk (all .sql files)",
}
rows = {}
for t in tools:
    files, nbytes = map(int, open(os.path.join(raw, t + ".files")).read().split())
    best, mean, sd, cpu = map(float, open(os.path.join(raw, t + ".time")).read().split())
    rss_path = os.path.join(raw, t + ".rss")
    rss = None
    if os.path.exists(rss_path):
        # GNU time writes "Command exited with non-zero status N" first when it is.
        m = re.search(r"^(\d+) ([\d.]+) ([\d.]+)$", open(rss_path).read(), re.M)
        if m:
            rss = int(m.group(1)) / 1024
            if cpu < 0:
                cpu = float(m.group(2)) + float(m.group(3))
    rows[t] = dict(files=files, mb=nbytes / 1e6, best=best, mean=mean, sd=sd, rss=rss,
                   cpu=None if cpu < 0 else cpu,
                   exit=open(os.path.join(raw, t + ".exit")).read().strip())

def rate(mb, s):
    return f"{mb / s:.1f}" if s > 0 else "n/a"

def fmt_rss(r):
    return "n/a" if r is None else f"{r:.0f}"

lines = []
def fmt_cpu(c):
    return "n/a" if c is None else f"{c:.2f}"

lines.append("| tool | files | MB | wall s (best) | mean ± σ s | MB/s | CPU s | peak RSS MB | exit |")
lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for t in tools:
    r = rows[t]
    lines.append(f"| {label[t]} | {r['files']} | {r['mb']:.1f} | {r['best']:.3f} | {r['mean']:.3f} ± {r['sd']:.3f} | "
                 f"{rate(r['mb'], r['best'])} | {fmt_cpu(r['cpu'])} | {fmt_rss(r['rss'])} | {r['exit']} |")
if "ruff" in rows and "squawk" in rows:
    a, b = rows["ruff"], rows["squawk"]
    best = a["best"] + b["best"]
    mb = a["mb"] + b["mb"]
    rss = None if a["rss"] is None or b["rss"] is None else max(a["rss"], b["rss"])
    cpu = None if a["cpu"] is None or b["cpu"] is None else a["cpu"] + b["cpu"]
    lines.append(f"| ruff + squawk (one after the other) | {a['files'] + b['files']} | {mb:.1f} | {best:.3f} | "
                 f"{a['mean'] + b['mean']:.3f} | {rate(mb, best)} | {fmt_cpu(cpu)} | {fmt_rss(rss)} | |")

summary = []
if "dbveto" in rows and "ruff" in rows and "squawk" in rows:
    d = rows["dbveto"]["best"]
    c = rows["ruff"]["best"] + rows["squawk"]["best"]
    verdict = "meets" if d <= c else "misses"
    summary.append(f"dbveto {d:.3f} s vs ruff + squawk {c:.3f} s: dbveto takes {d / c if c else float('inf'):.2f}× their combined time "
                   f"({verdict} the goal of being no slower than the two together).")
    dc, cc = rows["dbveto"]["cpu"], (rows["ruff"]["cpu"] or 0) + (rows["squawk"]["cpu"] or 0)
    if dc is not None and cc:
        summary.append(f"In CPU time (user + system, which other load on the machine disturbs less): "
                       f"dbveto {dc:.2f} s vs ruff + squawk {cc:.2f} s, {dc / cc:.2f}×.")

for t in tools:
    if rows[t]["exit"] not in ("0", "1"):
        summary.append(f"warning: {t} exited with {rows[t]['exit']} (an error, not findings): its time is not "
                       f"meaningful; see benches/out/raw/{t}.stderr.")

# Sanity: did dbveto read the tree and find the planted violations?
meta_path = os.path.join(tree, ".bench", "meta.json")
if "dbveto" in rows and os.path.exists(meta_path):
    meta = json.load(open(meta_path))
    expected = meta["expected_findings"]
    out = open(os.path.join(raw, "dbveto.stdout")).read()
    try:
        doc = json.loads(out)
        findings = doc.get("findings", [])
        diags = doc.get("diagnostics", [])
        texts = [json.dumps(f) for f in findings]
        missed = [e for e in expected
                  if not any(f'"{e["path"]}"' in t and f'"{e["column"]}"' in t for t in texts)]
        summary.append(f"dbveto reported {len(findings)} findings and {len(diags)} diagnostics; "
                       f"{len(expected) - len(missed)} of the {len(expected)} planted violations are among the findings "
                       f"(matched by file and column; the list is in benches/out/tree/.bench/meta.json, "
                       f"dbveto's output in benches/out/raw/dbveto.stdout).")
        for e in missed:
            summary.append(f"missed: {e['kind']} ({e['lang']}, {e['form']}) {e['path']}:{e['line']} "
                           f"{e['table']}.{e['column']} = {e['value']!r}")
    except ValueError:
        summary.append("dbveto's output was not JSON; see benches/out/raw/dbveto.stdout and dbveto.stderr.")
if "squawk" in rows:
    m = re.search(r"checked (\d+) source files", open(os.path.join(raw, "squawk.stdout")).read()
                  + open(os.path.join(raw, "squawk.stderr")).read())
    if m and int(m.group(1)) != rows["squawk"]["files"]:
        summary.append(f"note: squawk says it checked {m.group(1)} files, not {rows['squawk']['files']}.")

versions = ", ".join(open(os.path.join(raw, t + ".version")).read().strip() or t for t in tools)
env = [f"versions: {versions}",
       f"tree: {tree} ({stamp})",
       f"timing: {'hyperfine' if timer else 'by hand'}, best of {runs} runs after one warm-up; "
       f"CPU s is user + system time ({'hyperfine mean' if timer else 'the /usr/bin/time run'}); peak RSS from /usr/bin/time (one run)",
       f"load average when done: {', '.join(f'{x:.2f}' for x in os.getloadavg())} (on {os.cpu_count()} CPUs; above that, other jobs were competing)",
       f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Linux {platform.release()}"]
text = "# dbveto benchmark\n\n" + "\n".join(lines) + "\n\n" + "\n\n".join(summary) + ("\n\n" if summary else "") \
    + "\n".join(f"- {e}" for e in env) + "\n"
open(results, "w").write(text)
print(text)
EOF
