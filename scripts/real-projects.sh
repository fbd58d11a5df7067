#!/usr/bin/env bash
# Runs `dbveto check` on large, well-kept projects from the Python package
# registry and compares the findings with the ones explained in
# scripts/real-projects.expected. Any other finding is a false positive to
# fix (or to explain there, with the reason). Needs network access and pip.
#
#   scripts/real-projects.sh                 # build dbveto (debug) and run
#   DBVETO=target/release/dbveto scripts/real-projects.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
trap '[ -z "${WORK:-}" ] && rm -rf "$work"' EXIT

if [ -z "${DBVETO:-}" ]; then
    cargo build -q -p dbveto
    DBVETO=$root/target/debug/dbveto
fi

# name==version: Django (its contrib apps, migrations and models), Django
# projects, a Django + Celery project, a SQLAlchemy + Alembic project;
# large Django applications with many apps, Celery, signals and squashed,
# hand-written or generated migrations (NetBox, Weblate, Misago, Mayan
# EDMS, Label Studio); large SQLAlchemy projects with Alembic: sessions
# opened per call and injected by decorators (Airflow), savepoints, helper
# columns and dialect branches in revisions (MLflow), Flask-SQLAlchemy's
# db.session across helpers (Superset, privacyIDEA), active-record mixins
# and a squashed revision chain beside a legacy one (Zou), Optuna's storage.
projects=(Django==5.2.8 wagtail==6.3 django-oscar==4.2.1 django-cms==5.1.3 pretix==2026.8.0 prefect==3.4.0
          netbox==4.7.3 weblate==5.14.3 misago==0.39.6 mayan-edms==4.12.2 label-studio==1.23.2
          apache-airflow-core==3.1.0 mlflow==3.18.0 apache-superset==6.1.0 zou==1.0.97 privacyidea==3.14 optuna==5.0.0)

actual=$work/actual
: > "$actual"
for spec in "${projects[@]}"; do
    name=${spec%%==*}
    dir=$work/$name
    if [ ! -d "$dir" ]; then
        mkdir -p "$dir"
        # Wheels hold the sources (migrations and models included) and need no build.
        # Some releases need a newer Python than this one to install, not to read.
        python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --dest "$work/dl-$name" "$spec"
        python3 -m zipfile -e "$work"/dl-"$name"/*.whl "$dir"
    fi
    "$DBVETO" check "$dir" --format json --exit-zero > "$work/$name.json"
    python3 - "$name" "$work/$name.json" >> "$actual" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
for f in json.load(open(path))["findings"]:
    print(f"{name} {f['rule']} {f['location']['path']}:{f['location']['line']}")
PY
done

expected=$work/expected
grep -v '^#' scripts/real-projects.expected | awk 'NF { print $1, $2, $3 }' | sort > "$expected"
sort -o "$actual" "$actual"
echo "findings: $(wc -l < "$actual"), explained: $(wc -l < "$expected")"
if ! diff -u "$expected" "$actual"; then
    echo "findings differ from scripts/real-projects.expected: a new finding is a false positive to fix or explain" >&2
    exit 1
fi
