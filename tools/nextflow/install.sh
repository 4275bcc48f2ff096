#!/usr/bin/env bash
# Install Nextflow (version pinned in tools/nextflow/pom.xml) from Maven Central into DEST.
#
#   bash tools/nextflow/install.sh DEST
#
# Result:  DEST/lib/*.jar          every runtime jar (Groovy 4 only)
#          DEST/lib/.seq2func-install   stamp: version + pom checksum (written last)
#          DEST/bin/nextflow       launcher rendered from tools/nextflow/nextflow
# Idempotent: a completed install with the same stamp is left alone (the wrapper is refreshed if
# the template changed). Otherwise Maven copies the jars into a temporary sibling folder which is
# then renamed into place, so DEST is never half-written. The Maven local repository lives in
# ${SEQ2FUNC_CACHE:-$HOME/.cache/seq2func}/m2, so reinstalling elsewhere needs no download.
# Prints the wrapper path as the last line of stdout.
set -euo pipefail

usage() { echo "usage: $0 DEST" >&2; exit 2; }
die() { echo "install.sh: ERROR: $*" >&2; exit 1; }

[[ $# -eq 1 && -n "$1" ]] || usage
HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
POM="$HERE/pom.xml"
TEMPLATE="$HERE/nextflow"
[[ -f "$POM" && -f "$TEMPLATE" ]] || die "missing $POM or $TEMPLATE"

VERSION="$(sed -n 's:.*<nextflow.version>\(.*\)</nextflow.version>.*:\1:p' "$POM" | head -n1)"
[[ -n "$VERSION" ]] || die "cannot read <nextflow.version> from $POM"
CACHE="${SEQ2FUNC_CACHE:-$HOME/.cache/seq2func}"
M2="$CACHE/m2"

mkdir -p "$(dirname -- "$1")"
DEST="$(cd -- "$(dirname -- "$1")" && pwd -P)/$(basename -- "$1")"
STAMP_NAME=".seq2func-install"
STAMP_TEXT="nextflow $VERSION pom-sha256 $(sha256sum "$POM" | cut -d' ' -f1)"

render_wrapper() {  # render_wrapper OUTFILE
    sed "s|@NXF_VERSION@|$VERSION|g" "$TEMPLATE" >"$1.tmp.$$"
    chmod 0755 "$1.tmp.$$"
    mv -f "$1.tmp.$$" "$1"
}

is_complete() {
    [[ -f "$DEST/lib/$STAMP_NAME" ]] && [[ "$(cat "$DEST/lib/$STAMP_NAME")" == "$STAMP_TEXT" ]]
}

finish() {  # refresh the wrapper if the template changed, then print its path
    mkdir -p "$DEST/bin"
    local want
    want="$(sed "s|@NXF_VERSION@|$VERSION|g" "$TEMPLATE")"
    if [[ ! -x "$DEST/bin/nextflow" ]] || [[ "$(cat "$DEST/bin/nextflow")" != "$want" ]]; then
        render_wrapper "$DEST/bin/nextflow"
    fi
    echo "$DEST/bin/nextflow"
}

# fast path: nothing to do
if is_complete; then
    finish
    exit 0
fi

# serialise concurrent installs into the same DEST
mkdir -p "$(dirname -- "$DEST")"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$DEST.lock"
    flock 9
    if is_complete; then finish; exit 0; fi
fi

command -v mvn >/dev/null 2>&1 || die "'mvn' (Maven 3) not found -- install maven (apt-get install maven)"
command -v java >/dev/null 2>&1 || [[ -n "${JAVA_HOME:-}" ]] || die "'java' not found -- install Java 17"

echo "Installing Nextflow $VERSION from Maven Central into $DEST (maven repo: $M2)" >&2
mkdir -p "$M2"
TMP="$(mktemp -d "$DEST.tmp.XXXXXX")"
chmod 0755 "$TMP"
cleanup() { rm -rf -- "$TMP"; }
trap cleanup EXIT

mvn_copy() {  # mvn_copy [extra maven args...]
    mvn -B -q -f "$POM" "-Dmaven.repo.local=$M2" "$@" \
        dependency:copy-dependencies -DoutputDirectory="$TMP/lib" \
        -Dmdep.prependGroupId=true </dev/null
}
# a warm maven cache needs no network: try offline first, then online
if ! mvn_copy -o >"$TMP/mvn-offline.log" 2>&1; then
    rm -rf -- "$TMP/lib"
    if ! mvn_copy >"$TMP/mvn.log" 2>&1; then
        cat "$TMP/mvn.log" >&2
        die "maven could not resolve io.nextflow:nextflow:$VERSION (see output above)"
    fi
fi
rm -f -- "$TMP"/mvn*.log

# --- sanity checks on the resolved jars ---------------------------------------------------------
shopt -s nullglob
jars=("$TMP"/lib/*.jar)
(( ${#jars[@]} > 10 )) || die "maven copied only ${#jars[@]} jars into $TMP/lib"
[[ -f "$TMP/lib/io.nextflow.nextflow-$VERSION.jar" ]] || die "io.nextflow.nextflow-$VERSION.jar missing"
[[ -f "$TMP/lib/io.nextflow.nf-commons-$VERSION.jar" ]] || die "io.nextflow.nf-commons-$VERSION.jar missing"
compgen -G "$TMP/lib/org.apache.groovy.groovy-4.*.jar" >/dev/null || die "Groovy 4 (org.apache.groovy:groovy) missing"
# kryo (task cache / -resume) needs objenesis at runtime; without it -resume silently never caches
compgen -G "$TMP/lib/org.objenesis.objenesis-*.jar" >/dev/null || die "org.objenesis:objenesis missing (needed by kryo for -resume)"
compgen -G "$TMP/lib/io.nextflow.nf-httpfs-*.jar" >/dev/null || die "io.nextflow:nf-httpfs missing"
bad=()
for j in "${jars[@]}"; do
    n="$(basename -- "$j")"
    # Groovy 2/3 live under org.codehaus.groovy; also catch any groovy*-2.x / -3.x jar by name
    if [[ "$n" == org.codehaus.groovy.* ]] || [[ "$n" =~ (^|\.)groovy(-[A-Za-z0-9]+)*-[23]\.[0-9] ]]; then
        bad+=("$n")
    fi
done
if (( ${#bad[@]} )); then
    printf '  %s\n' "${bad[@]}" >&2
    die "Groovy 2/3 jars reached the classpath; Nextflow $VERSION needs Groovy 4 only -- add exclusions to $POM"
fi

# --- wrapper, stamp, smoke test, atomic move -----------------------------------------------------
mkdir -p "$TMP/bin"
render_wrapper "$TMP/bin/nextflow"
echo "$STAMP_TEXT" >"$TMP/lib/$STAMP_NAME"
if ! out="$("$TMP/bin/nextflow" -version </dev/null 2>&1)" || [[ "$out" != *"version $VERSION"* ]]; then
    echo "$out" >&2
    die "the freshly installed nextflow does not start"
fi

if [[ -e "$DEST" ]]; then
    OLD="$(mktemp -d "$DEST.old.XXXXXX")"
    mv -T -- "$DEST" "$OLD/x"
    mv -T -- "$TMP" "$DEST"
    rm -rf -- "$OLD"
else
    mv -T -- "$TMP" "$DEST"
fi
trap - EXIT
echo "Nextflow $VERSION installed" >&2
echo "$DEST/bin/nextflow"
