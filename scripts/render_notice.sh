#!/bin/sh
# Render a printable notice (or any HTML page) to a PNG in headless Chromium, at A4 size, so a
# person can check by eye what will come out of the printer; or, when OUT ends in .pdf, print
# it to PDF as the browser would print it (to check that it fits on one A4 sheet).
#
# Usage:   scripts/render_notice.sh NOTICE.html OUT.png|OUT.pdf
# Example: xiangyue board jingou.yaml --period 2024-Q1 --format html --output notice.html
#          scripts/render_notice.sh notice.html notice.png
#
# The window is 794 x 1123 CSS pixels: an A4 page (210 x 297 mm) at 96 dpi; the notice draws
# its print margins as padding on screen, so the PNG shows one printed sheet. The browser runs
# with a throw-away profile, no network services and no GPU; Chinese text needs a CJK font
# (Debian: apt-get install chromium fonts-noto-cjk). CHROMIUM may name the browser binary.
# Exit codes: 0 PNG written; 1 the browser failed or wrote nothing; 2 bad arguments or no browser.
set -eu

if [ "$#" -ne 2 ]; then
    echo "usage: $0 NOTICE.html OUT.png" >&2
    exit 2
fi
src=$1
out=$2
if [ ! -f "$src" ]; then
    echo "$0: no such file: $src" >&2
    exit 2
fi

browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$name" >/dev/null 2>&1; then
            browser=$name
            break
        fi
    done
fi
if [ -z "$browser" ]; then
    echo "$0: no chromium found on PATH (set CHROMIUM=/path/to/chromium)" >&2
    exit 2
fi

abs_src=$(cd "$(dirname "$src")" && pwd)/$(basename "$src")
case "$out" in
    /*) abs_out=$out ;;
    *) abs_out=$(pwd)/$out ;;
esac
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT INT TERM

rm -f "$abs_out"
case "$abs_out" in
    *.pdf) target="--no-pdf-header-footer --print-to-pdf=$abs_out" ;;
    *) target="--window-size=794,1123 --screenshot=$abs_out" ;;
esac
# shellcheck disable=SC2086  # $target holds two options
"$browser" --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" $target "file://$abs_src" >/dev/null 2>&1 || true

if [ ! -s "$abs_out" ]; then
    echo "$0: $browser did not write $abs_out" >&2
    exit 1
fi
echo "$abs_out"
