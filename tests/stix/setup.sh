#!/usr/bin/env bash
# Creates (once) a virtualenv with the OASIS STIX 2 tools the IOC test validates with.
# Usage: setup.sh VENV_DIR. Safe to run from parallel tests (flock).
set -euo pipefail
venv=$1
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
stamp="$venv/.requirements"
if [ -x "$venv/bin/python" ] && cmp -s "$here/requirements.txt" "$stamp"; then
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
cp "$here/requirements.txt" "$stamp"
