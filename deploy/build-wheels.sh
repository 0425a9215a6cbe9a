#!/bin/sh
# The wheels the image installs, into OUT: the runtime dependencies exactly as uv.lock pins them
# (versions and hashes; no dev extra), requirements.txt naming them with those hashes, and hookgate's
# own wheel. deploy/Dockerfile runs this in its build stage and tests/packaging/test_wheel.py runs it
# too, so the test installs what the image installs.
#
#   sh deploy/build-wheels.sh OUT      (from the project's root: pyproject.toml, uv.lock, the packages)
#
# Needs uv (the version requirements-uv.txt pins) and a Python with pip; $UV and $PYTHON name
# other executables than `uv` and `python3`.
set -eu

out=${1:?usage: sh deploy/build-wheels.sh OUT}
uv=${UV:-uv}
python=${PYTHON:-python3}
mkdir -p "$out"

# The lock's runtime packages, each pinned with its hashes; the project itself is built below.
"$uv" export --frozen --no-dev --format requirements-txt --no-emit-project --quiet -o "$out/requirements.txt"

# Published wheels only, each checked against the lock's hashes on download. A wheel built here from an
# sdist would have a hash the lock does not know, and the install (--require-hashes) would refuse it:
# --only-binary makes a platform without a published wheel fail here, naming the package, instead.
"$python" -m pip wheel --quiet --disable-pip-version-check --require-hashes --only-binary :all: \
    --wheel-dir "$out" --requirement "$out/requirements.txt"

# hookgate itself: its modules and the package data (Lua scripts, dashboard files, SQL migrations).
"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$out" .
