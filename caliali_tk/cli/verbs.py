"""The verbs of the command line but projections (see cli_projections): open,
info, demo, extract, selftest, and the parameters a verb runs with."""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

from caliali_tk.cli.messages import (EXIT_FAIL, EXIT_USAGE, HEADLESS, PROG, first_line,
                                     problem, say, usage)
from caliali_tk.cli.progress import clear_line, duration, ProgressBar, run_cancellable
from caliali_tk.errors import UserError


def cmd_open(args) -> int:
    """Open the GUI on the files, or on the demo video."""
    try:
        import tkinter
    except ImportError:
        return _no_display("Tk is not installed")
    if _no_display_env():
        return _no_display("no display name and no $DISPLAY environment variable")
    from caliali_tk.gui import app

    paths = list(args.files)
    try:
        return int(app.run(paths, demo=not paths) or 0)
    except tkinter.TclError as exc:
        return _no_display(first_line(exc))


def _no_display_env() -> bool:
    """X11/Wayland systems without a display (ssh, cluster node): fail fast."""
    if sys.platform in ("win32", "darwin"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _no_display(reason: str) -> int:
    say(f"cannot open a window ({reason}); without a display use the headless "
         f"verbs: {HEADLESS} (see {PROG} --help)")
    return EXIT_USAGE


def cmd_info(args) -> int:
    """Print what is known about a video, each parameter with where it came from."""
    from caliali_tk.cli.param_sources import layout_line, param_lines
    from caliali_tk.io.video import VideoFile

    from caliali_tk.cli.suggestions import info_rows, suggestion_layer

    # sessions first: finding them may read the movie, which info says; the
    # suggestion's summary images then reuse what was found
    given = resolved_for(args.video, args, quiet=True).params
    with VideoFile(args.video, given.layout) as vf:
        sessions = _sessions(vf, given.frames_per_session)
    resolved = resolved_for(args.video, args, quiet=True, suggest=suggestion_layer())
    with VideoFile(args.video, resolved.params.layout) as vf:
        rows = [("file", str(vf.path)),
                ("shape", f"(T, H, W) = {vf.shape}"),
                ("dtype", str(vf.dtype)),
                ("dataset", vf.dataset_name),
                ("layout", layout_line(resolved)),
                ("sessions", sessions)]
    rows += info_rows(args.video, resolved.params)  # issue 10: line noise, suggestion
    rows += [("parameters", param_lines(resolved)),
             ("results", _results_info(args.video))]
    rows += [("warning", w) for w in resolved.warnings]
    for key, value in rows:
        print(f"{key:<11} {value}")
    return 0


def _sessions(vf, frames_per_session) -> str:
    """Frames per session and their source (may read the movie once to detect them)."""
    from caliali_tk.pipeline.sessions import describe_sessions, known_sessions, resolve_sessions

    try:
        info = known_sessions(vf, frames_per_session)
        if info is None:
            say(f"{vf.path.name}: looking for sessions (one pass over the movie, then cached)")
            info = resolve_sessions(vf, frames_per_session)
        return describe_sessions(info)
    except UserError as exc:
        return first_line(exc)


def _results_info(video) -> str:
    import h5py
    from caliali_tk.io.results import results_path

    path = results_path(video)
    if not path.exists():
        return "none"
    twin = path.with_suffix(".mat")
    also = f" and {twin.name}" if twin.exists() else ""
    try:
        with h5py.File(path, "r") as f:
            return f"{path.name}{also} ({f['C'].shape[0]} neurons)"
    except (OSError, KeyError, IndexError):
        return f"{path.name} (unreadable)"


def cmd_demo(args) -> int:
    """Write a simulated video and print its path."""
    from caliali_tk.demo import files

    custom = any(v is not None for v in (args.output, args.size, args.neurons, args.seed))
    if not custom:
        print(files.demo_video())
        return 0
    H, W, T = args.size or (256, 256, 1500)
    K = 80 if args.neurons is None else args.neurons
    seed = 2026 if args.seed is None else args.seed
    _check_demo(H, W, T, K)
    out = Path(args.output or f"caliali_sim_{H}x{W}x{T}_k{K}_s{seed}.h5")
    files.write_simulated(out, H, W, T, n_neurons=K, seed=seed)
    print(out.resolve())
    return 0


def _check_demo(H: int, W: int, T: int, K: int) -> None:
    if min(H, W) < 16 or T < 10 or K < 0:
        raise UserError("demo: --size needs H, W >= 16 and T >= 10, --neurons >= 0")


def cmd_extract(args) -> int:
    """Extract each video in turn; report failures in one line and go on."""
    if args.output and len(args.videos) > 1:
        raise usage("extract: -o/--output is only allowed with one video")
    failed = 0
    for video in args.videos:
        try:
            _extract_one(video, args)
        except (UserError, OSError, MemoryError) as exc:
            failed += 1
            clear_line()
            say(problem(exc, video))
        except Exception as exc:  # noqa: BLE001 - the other files still run
            failed += 1
            _report_file(exc, video, args.debug)
    return EXIT_FAIL if failed else 0


def _extract_one(video: str, args) -> None:
    from caliali_tk.io.results import results_path
    from caliali_tk.pipeline import extract

    from caliali_tk.cli.suggestions import suggested_note, suggestion_layer

    bar = ProgressBar(Path(video).name)
    resolved = resolved_for(video, args, suggest=suggestion_layer(bar))
    note = suggested_note(resolved)
    if note:
        clear_line()
        print(f"{Path(video).name}: {note}", flush=True)
    params = resolved.params
    out = Path(args.output) if args.output else results_path(video)
    t0 = time.perf_counter()
    result = run_cancellable(extract, video, params, progress=bar,
                              out_path=args.output)
    bar.done()
    print(f"{Path(video).name}: {result.K} neurons in "
          f"{duration(time.perf_counter() - t0)} -> {out}", flush=True)


def _report_file(exc: BaseException, video: str, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    clear_line()
    hint = "" if debug else " (run with --debug for details)"
    say(f"{Path(video).name}: unexpected error: {type(exc).__name__}: "
         f"{first_line(exc)}{hint}")


def cmd_selftest(args) -> int:
    """Simulate, extract, score; print one PASS/FAIL line."""
    from caliali_tk.demo.selftest import run_selftest

    bar = ProgressBar("selftest")
    report = run_cancellable(run_selftest, progress=bar)
    bar.done()
    print(report.line, flush=True)
    return 0 if report.ok else EXIT_FAIL


# ------------------------------------------------------------- helpers ---


def params_for(video, args):
    """The video's parameters: command-line flags > sidecar > file > defaults."""
    return resolved_for(video, args).params


def resolved_for(video, args, quiet: bool = False, suggest=None):
    """`params_for` with the source of each value (``ResolvedParams``).

    Warnings go to stderr unless `quiet` (``info`` prints them itself).
    """
    from caliali_tk.io.precedence import resolve_params

    flags = {"gSig": getattr(args, "gsig", None),
             "min_corr": getattr(args, "min_corr", None),
             "min_pnr": getattr(args, "min_pnr", None),
             "fps": getattr(args, "fps", None),
             "max_memory_gb": getattr(args, "max_memory", None),
             "deconv_preset": getattr(args, "deconv", None),
             "layout": getattr(args, "layout", None)}
    resolved = resolve_params(video, flags, suggest=suggest)
    if not quiet:
        for warning in resolved.warnings:
            say(f"warning: {warning}")
    return resolved
