#!/usr/bin/env python3
"""Check a tree made by generate.py against a real PostgreSQL server.

Not part of the benchmark: a test of the generator itself, for when you change
it. It needs `psql` and a server you may create databases on (PG* variables
or --psql-args say where), and runs:

1. every service's up migrations, in the order their tool would, into one
   fresh database (table, type and index names are unique across services);
2. every down migration in reverse order after them (golang-migrate, goose);
3. every INSERT the generator wrote (from `generate.py --dump-writes`) inside
   a savepoint that is rolled back, with foreign keys off
   (session_replication_role = replica): the ordinary writes must succeed, and
   each planted violation must fail with the error its kind predicts.

Usage:
    python3 generate.py /tmp/tree --scale 0.05 --force --dump-writes /tmp/writes.jsonl
    python3 check_generated.py /tmp/tree /tmp/writes.jsonl [--psql-args "-h /tmp/sock -U postgres"]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys

EXPECTED_SQLSTATE = {
    "check": {"23514"},
    "range": {"23514"},
    "enum": {"22P02"},
    "missing_not_null": {"23502"},
}


def migrations(tree: str) -> list[tuple[str, str, str, str | None]]:
    """(service, path, up sql, down sql or None) in apply order, service by service."""
    out = []
    services = os.path.join(tree, "services")
    for svc in sorted(os.listdir(services)):
        root = os.path.join(services, svc)
        gm = os.path.join(root, "db", "migrations")
        goose = os.path.join(root, "migrations")
        fly = os.path.join(root, "db", "migration")
        if os.path.isdir(gm):
            ups = sorted((f for f in os.listdir(gm) if f.endswith(".up.sql")), key=lambda f: int(f.split("_")[0]))
            for f in ups:
                up = open(os.path.join(gm, f)).read()
                down = open(os.path.join(gm, f.replace(".up.sql", ".down.sql"))).read()
                out.append((svc, os.path.join(gm, f), up, down))
        elif os.path.isdir(goose):
            for f in sorted(os.listdir(goose), key=lambda f: int(f.split("_")[0])):
                text = open(os.path.join(goose, f)).read()
                up_part, down_part = text.split("-- +goose Down", 1)
                up_part = up_part.split("-- +goose Up", 1)[1]
                out.append((svc, os.path.join(goose, f), up_part, down_part))
        elif os.path.isdir(fly):
            vs = sorted(os.listdir(fly), key=lambda f: int(re.match(r"V(\d+)__", f).group(1)))
            for f in vs:
                out.append((svc, os.path.join(fly, f), open(os.path.join(fly, f)).read(), None))
        else:
            raise SystemExit(f"{svc}: no migrations found")
    return out


def psql(args: list[str], db: str, script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", *args, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db],
                          input=script, text=True, capture_output=True)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree")
    ap.add_argument("writes")
    ap.add_argument("--psql-args", default="", help="extra psql arguments, e.g. '-h /tmp/sock -U postgres'")
    ap.add_argument("--db", default="dbveto_generator_check")
    args = ap.parse_args(argv)
    pa = shlex.split(args.psql_args)

    r = psql(pa, "postgres", f"DROP DATABASE IF EXISTS {args.db};\nCREATE DATABASE {args.db};\n")
    if r.returncode:
        print(r.stderr, file=sys.stderr)
        return 2
    ms = migrations(args.tree)
    ok = True

    # 1. Up migrations.
    script = []
    for svc, path, up, _ in ms:
        script.append(f"\\echo APPLYING {path}\n{up}\n")
    r = psql(pa, args.db, "".join(script))
    if r.returncode:
        last = [l for l in r.stdout.splitlines() if l.startswith("APPLYING")][-1:]
        print(f"up migrations failed at {last}:\n{r.stderr}", file=sys.stderr)
        return 1
    print(f"up: {len(ms)} migrations applied")

    # 3. Writes (before the downs drop everything).
    writes = [json.loads(l) for l in open(args.writes)]
    body = ["SET session_replication_role = replica;"]
    for i, w in enumerate(writes):
        sql = f"INSERT INTO {w['table']} ({', '.join(w['cols'])}) VALUES ({', '.join(w['values'])})"
        body.append(
            f"DO $w$ BEGIN {sql}; RAISE EXCEPTION '__ok'; "
            f"EXCEPTION WHEN others THEN RAISE NOTICE 'W% % %', {i}, SQLSTATE, SQLERRM; END $w$;")
    r = psql(pa, args.db, "\n".join(body) + "\n")
    if r.returncode:
        print(f"replaying writes failed:\n{r.stderr[-3000:]}", file=sys.stderr)
        return 1
    results: dict[int, tuple[str, str]] = {}
    for line in r.stderr.splitlines():
        m = re.match(r"(?:psql:.*?: )?NOTICE:  W(\d+) (\w+) (.*)", line)
        if m:
            results[int(m.group(1))] = (m.group(2), m.group(3))
    bad = 0
    planted = 0
    for i, w in enumerate(writes):
        state, msg = results.get(i, ("?", "no result"))
        if w["violation"]:
            planted += 1
            if state not in EXPECTED_SQLSTATE[w["violation"]]:
                bad += 1
                print(f"planted {w['violation']} did not fail as expected ({state} {msg}): {w}")
        elif not (state == "P0001" and msg == "__ok"):
            bad += 1
            if bad <= 20:
                print(f"ordinary write failed ({state} {msg}): {w}")
    print(f"writes: {len(writes)} replayed, {planted} planted violations, {bad} unexpected results")
    ok &= bad == 0

    # 2. Down migrations, newest first.
    downs = [(p, d) for _, p, _, d in ms if d is not None]
    script = [f"\\echo REVERTING {p}\n{d}\n" for p, d in reversed(downs)]
    r = psql(pa, args.db, "".join(script))
    if r.returncode:
        last = [l for l in r.stdout.splitlines() if l.startswith("REVERTING")][-1:]
        print(f"down migrations failed at {last}:\n{r.stderr}", file=sys.stderr)
        ok = False
    else:
        print(f"down: {len(downs)} migrations reverted")
    psql(pa, "postgres", f"DROP DATABASE IF EXISTS {args.db};\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
