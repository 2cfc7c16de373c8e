#!/usr/bin/env bash
# Creates (once) a virtualenv with the pinned PyPI packages some tests compare wormtrace with.
# Usage: tests/venv.sh VENV_DIR REQUIREMENTS_FILE. Safe to run from parallel tests (flock);
# the virtualenv is made again when the requirements change.
set -euo pipefail
venv=$1
requirements=$2
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
stamp="$venv/.requirements"
if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
cp "$requirements" "$stamp"
