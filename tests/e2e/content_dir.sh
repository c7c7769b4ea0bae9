#!/usr/bin/env bash
# content_dir.sh - Hearth finds its content at run time: the config, then $HEARTH_CONTENT_DIR,
# then next to the binary, then the installed path; never the source tree it was built from.
. "$(dirname "$0")/lib.bash"
unset HEARTH_CONTENT_DIR

printf '[bot]\nprefix = !\n' >"$WORK/good.ini"
check() { # check BINARY : prints --check-config output, sets rc
	set +e
	out=$("$1" --check-config --config "$WORK/good.ini" 2>&1); rc=$?
	set -e
}

# A binary moved away from the checkout, with no content anywhere near it, does not fall back to
# the source tree it was built from: it looks at the installed path (absent here) and says so.
mkdir -p "$WORK/alone/bin"
cp "$HEARTH" "$WORK/alone/bin/hearth"
if [ ! -d /usr/share/hearth/content ]; then
	check "$WORK/alone/bin/hearth"
	equal "no content anywhere: exit" "$rc" "1"
	expect "no content anywhere: names the installed path" "$out" "/usr/share/hearth/content"
	reject "no content anywhere: not the source tree" "$out" "$SRC/content"
fi

# An installed prefix: PREFIX/bin/hearth finds PREFIX/share/hearth/content.
mkdir -p "$WORK/prefix/bin" "$WORK/prefix/share/hearth"
cp "$HEARTH" "$WORK/prefix/bin/hearth"
cp -r "$SRC/content" "$WORK/prefix/share/hearth/content"
check "$WORK/prefix/bin/hearth"
equal "installed prefix: exit" "$rc" "0"

# A build folder inside a checkout: DIR/build/hearth finds DIR/content.
mkdir -p "$WORK/tree/build"
cp "$HEARTH" "$WORK/tree/build/hearth"
cp -r "$SRC/content" "$WORK/tree/content"
check "$WORK/tree/build/hearth"
equal "build folder: exit" "$rc" "0"

# $HEARTH_CONTENT_DIR comes before the copy next to the binary, and the config before both.
cp -r "$SRC/content" "$WORK/broken"
printf -- '---\nid: wrong\ntitle: x\n---\nbody\n' >"$WORK/broken/topics/roots.md"
set +e
out=$(HEARTH_CONTENT_DIR="$WORK/broken" "$WORK/tree/build/hearth" --check-config --config "$WORK/good.ini" 2>&1); rc=$?
set -e
equal "environment before binary: exit" "$rc" "1"
expect "environment before binary: names the file" "$out" "$WORK/broken/topics/roots.md"
printf '[bot]\nprefix = !\ncontent_dir = %s\n' "$WORK/tree/content" >"$WORK/cfg.ini"
set +e
out=$(HEARTH_CONTENT_DIR="$WORK/broken" "$WORK/tree/build/hearth" --check-config --config "$WORK/cfg.ini" 2>&1); rc=$?
set -e
equal "config before environment: exit" "$rc" "0"
finish
