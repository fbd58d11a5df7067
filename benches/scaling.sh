#!/usr/bin/env bash
# How dbveto's time and memory grow with hostile sizes: a Python file that
# is one long line of strings, a migration of many statements, an error
# text of one long line. Each at three sizes, doubling: linear growth
# doubles the time.
#
# Usage: benches/scaling.sh           (DBVETO=path to use a built binary)
# Prints a Markdown table; the README keeps one run's.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
OUT="$HERE/out/scaling"
PY="${PYTHON:-python3}"
if [[ -z "${DBVETO:-}" ]]; then
    (cd "$REPO" && cargo build --release -q -p dbveto)
    DBVETO="$REPO/target/release/dbveto"
fi
rm -rf "$OUT"
mkdir -p "$OUT"

# `name size` → a project (or an input file) under $OUT/name-size.
"$PY" - "$OUT" <<'PY'
import os, sys
out = sys.argv[1]
def project(name, files):
    for path, text in files.items():
        full = os.path.join(out, name, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
for mb in (2.5, 5, 10):
    # One line of string literals (with non-ASCII), then a write to locate.
    n = int(mb * 1_000_000 / 12)
    line = "ROWS = [" + ", ".join(f'"é{i:06d}"' for i in range(n)) + "]\n"
    project(f"python-line-{mb}mb", {"app/data.py": line, "app/write.py": 'def f(cur):\n    cur.execute("INSERT INTO t (id) VALUES (1)")\n'})
for n in (25_000, 50_000, 100_000):
    stmts = "".join(f"CREATE TABLE t{i} (id int PRIMARY KEY, v int CHECK (v > 0), u text UNIQUE);\n" for i in range(n))
    project(f"sql-{n // 1000}k-statements", {"migrations/001_init.sql": stmts})
for kb in (256, 512, 1024):
    text = "ERROR:  " + ('null value in column "a" of relation "' * (kb * 1024 // 40))[: kb * 1024] + "\n"
    with open(os.path.join(out, f"error-{kb}kb.txt"), "w") as f:
        f.write(text)
PY

measure() { # label, command...: wall seconds and peak RSS (MB)
    local label="$1"; shift
    /usr/bin/time -o "$OUT/time" -f '%e %M' "$@" >/dev/null 2>&1 || true
    local wall rss
    read -r wall rss < <(tail -1 "$OUT/time")
    printf '| %s | %s | %d |\n' "$label" "$wall" "$((rss / 1024))"
}

echo "| input | wall s | peak RSS MB |"
echo "|---|---:|---:|"
for mb in 2.5 5 10; do
    measure "Python, one line of $mb MB" "$DBVETO" check "$OUT/python-line-${mb}mb" --exit-zero
done
for k in 25 50 100; do
    measure "SQL, ${k}k CREATE TABLEs" "$DBVETO" check "$OUT/sql-${k}k-statements" --exit-zero
done
for kb in 256 512 1024; do
    measure "explain, one line of $kb KB" sh -c "'$DBVETO' explain --path '$OUT' < '$OUT/error-${kb}kb.txt'"
done
