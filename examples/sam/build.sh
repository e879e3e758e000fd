#!/usr/bin/env bash
# Build the Lambda deployment folders of the SAM template: durable_async, its dependencies and
# the example workflows, vendored for the python3.13 runtime, one folder per architecture:
#
#   examples/sam/build.sh                 # build/x86_64 and build/arm64
#   examples/sam/build.sh arm64           # build/arm64 only
#
# Dependencies are installed as manylinux wheels for CPython 3.13 (never built here), so the
# folders are right for Lambda whatever machine builds them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(x86_64 arm64)

wheels="$(mktemp -d)"
trap 'rm -rf "$wheels"' EXIT
# The package itself as a wheel: --only-binary below refuses a source folder.
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$wheels" "$root"
wheel="$(ls "$wheels"/durable_async-*.whl)"

for arch in "${archs[@]}"; do
    case "$arch" in
        x86_64) platform=manylinux2014_x86_64 ;;
        arm64) platform=manylinux2014_aarch64 ;;
        *) echo "unknown architecture $arch (x86_64 or arm64)" >&2; exit 2 ;;
    esac
    out="$here/build/$arch"
    rm -rf "$out"
    mkdir -p "$out"
    "$python" -m pip install --quiet --no-compile --target "$out" \
        --platform "$platform" --implementation cp --python-version 3.13 --only-binary=:all: \
        "$wheel"
    cp "$root"/examples/*.py "$out"/
    rm -rf "$out/bin"  # console scripts: of no use on Lambda
    echo "$out: $(du -sh "$out" | cut -f1)"
done
