#!/usr/bin/env bash
# Smoke test of the PyInstaller bundle, run by `make exe-test` after `make exe`.
#
# - runs `caliali-tk selftest` twice with a clean environment (env -i, a
#   minimal PATH, a fresh HOME): first run compiles the numba kernels, the
#   second must load them from the cache;
# - starts the GUI on its own Xvfb display, waits for the main window
#   (xdotool, timeout), takes build/dist/screenshot.png and closes it; twice
#   (cold: fresh user cache, warm: second start);
# - prints the bundle size and the timings.
#
# Usage: build/exe_test.sh [path to the caliali-tk executable]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
DIST="$HERE/dist"
APP=${1:-$DIST/caliali-tk/caliali-tk}
[ -x "$APP" ] || { echo "exe-test: no bundle at $APP (run make exe)" >&2; exit 1; }
WINDOW_TIMEOUT=${WINDOW_TIMEOUT:-120}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/caliali-exe-test.XXXXXX")
XVFB_PID=""
APP_PID=""

cleanup() {
    [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null || true
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

# The bundle must not lean on the venv or any Python on the machine.
clean_env() {
    env -i HOME="$SCRATCH/home" PATH=/usr/bin:/bin LANG=C.UTF-8 TMPDIR="$SCRATCH" \
        ${DISPLAY_NUM:+DISPLAY=:$DISPLAY_NUM} "$@"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

run_selftest() {  # $1: label
    local t0 line
    t0=$(now)
    line=$(clean_env "$APP" selftest 2>"$SCRATCH/selftest.err") || {
        echo "exe-test: selftest ($1) failed: $line" >&2
        tail -5 "$SCRATCH/selftest.err" >&2
        exit 1
    }
    echo "selftest, $1 run: $(elapsed "$t0") s wall -- $line"
}

start_xvfb() {
    exec 3>"$SCRATCH/display"
    Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp >"$SCRATCH/xvfb.log" 2>&1 &
    XVFB_PID=$!
    for _ in $(seq 100); do
        DISPLAY_NUM=$(cat "$SCRATCH/display" 2>/dev/null || true)
        [ -n "$DISPLAY_NUM" ] && return 0
        sleep 0.1
    done
    echo "exe-test: Xvfb did not start" >&2
    exit 1
}

wait_window() {  # prints the window id, or fails after WINDOW_TIMEOUT s
    local end=$(( $(date +%s) + WINDOW_TIMEOUT )) wid
    while [ "$(date +%s)" -lt "$end" ]; do
        wid=$(DISPLAY=":$DISPLAY_NUM" xdotool search --onlyvisible --name 'caliali-tk' 2>/dev/null | head -1 || true)
        [ -n "$wid" ] && { echo "$wid"; return 0; }
        kill -0 "$APP_PID" 2>/dev/null || { echo "exe-test: the GUI exited" >&2; return 1; }
        sleep 0.1
    done
    echo "exe-test: no 'caliali-tk' window after $WINDOW_TIMEOUT s" >&2
    return 1
}

close_gui() {  # $1: window id
    DISPLAY=":$DISPLAY_NUM" xdotool windowquit "$1" 2>/dev/null \
        || DISPLAY=":$DISPLAY_NUM" xdotool windowclose "$1" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$APP_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$APP_PID" 2>/dev/null || true
    wait "$APP_PID" 2>/dev/null || true
    APP_PID=""
}

screenshot() {  # $1: PNG path; ImageMagick's import, else Pillow's screen grab (build venv)
    if command -v import >/dev/null 2>&1; then
        import -display ":$DISPLAY_NUM" -window root "$1"
    else
        "$HERE/../.venv/bin/python" -c \
            'import sys; from PIL import ImageGrab; ImageGrab.grab(xdisplay=sys.argv[1]).save(sys.argv[2])' \
            ":$DISPLAY_NUM" "$1"
    fi
}

gui_start() {  # $1: label, $2: screenshot or ""
    local t0 wid
    t0=$(now)
    clean_env "$APP" "$VIDEO" >"$SCRATCH/gui.log" 2>&1 &
    APP_PID=$!
    wid=$(wait_window) || { tail -5 "$SCRATCH/gui.log" >&2; exit 1; }
    echo "GUI, $1 start: main window after $(elapsed "$t0") s"
    if [ -n "$2" ]; then
        sleep 3  # let the first image draw
        screenshot "$2"
        echo "screenshot: $2"
    fi
    close_gui "$wid"
}

mkdir -p "$SCRATCH/home"
bundle=$(dirname "$APP")
[ -d "$bundle/_internal" ] || bundle=$APP  # one-file build
echo "bundle: $bundle, $(du -sh "$bundle" | cut -f1) ($(du -sb "$bundle" | cut -f1) bytes)"
echo "version: $(clean_env "$APP" --version)"

run_selftest "first (compiles the kernels)"
run_selftest "second (cached kernels)"

VIDEO="$SCRATCH/gui_movie.h5"
clean_env "$APP" demo -o "$VIDEO" --size 128 128 300 --neurons 20 >/dev/null
rm -rf "$SCRATCH/home/.cache"  # cold: nothing cached for this user
start_xvfb
gui_start cold ""
gui_start warm "$DIST/screenshot.png"
echo "exe-test: OK"
