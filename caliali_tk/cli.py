"""Command line: ``caliali-tk [FILE...]`` opens the GUI, verbs work headless.

Verbs::

    caliali-tk [open] [FILE...]       the GUI (the demo video when no file)
    caliali-tk info VIDEO             size, dataset, sessions, saved params, results
    caliali-tk projections VIDEO      Cn and PNR images (+ PNG), seed count
    caliali-tk extract VIDEO...       CNMF-E extraction, one file after another
    caliali-tk demo                   write a simulated video
    caliali-tk selftest               simulate, extract, score against truth

Every problem a user can cause prints one line on stderr and gives a
non-zero exit status: 1 for a bad file or value, 2 for bad arguments or no
display, 130 when cancelled with Ctrl-C.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import threading
import time
import traceback
from pathlib import Path

from caliali_tk import __version__
from caliali_tk.errors import UserError

PROG = "caliali-tk"
VERBS = ("open", "info", "projections", "extract", "demo", "selftest")
HEADLESS = "info, projections, extract, demo, selftest"
EXIT_FAIL, EXIT_USAGE, EXIT_CANCELLED = 1, 2, 130


# ------------------------------------------------------------------ entry ---


def main(argv=None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        Exit status: 0 success, 1 failure, 2 usage / no display, 130 cancelled.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(_with_verb(argv))
        return args.func(args)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        _clear_line()
        _say("cancelled")
        return EXIT_CANCELLED
    except Exception as exc:  # noqa: BLE001 - last resort, one line
        return _report(exc, debug)


def _with_verb(argv: list) -> list:
    """Insert the implicit ``open`` verb before the first file name."""
    for i, arg in enumerate(argv):
        if arg == "--":
            return argv[:i] + ["open"] + argv[i:]
        if not arg.startswith("-") or arg == "-":
            return argv if arg in VERBS else argv[:i] + ["open"] + argv[i:]
    return argv


def _report(exc: BaseException, debug: bool) -> int:
    """Print an exception as one line (a traceback too with ``--debug``)."""
    if debug:
        traceback.print_exc()
    _clear_line()
    if isinstance(exc, (UserError, OSError, MemoryError)):
        _say(_problem(exc))
    else:
        hint = "" if debug else " (run with --debug for details)"
        _say(f"unexpected error: {type(exc).__name__}: {_first_line(exc)}{hint}")
    return EXIT_FAIL


# ----------------------------------------------------------------- parser ---


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (verbs as sub-commands)."""
    top = _Parser(prog=PROG, description="CaliAli's CNMF-E neuron extraction for "
                  "one-photon calcium imaging videos. Without a verb, opens the "
                  "window on FILE(s), or on a demo video.",
                  usage=f"{PROG} [FILE ...] | {PROG} VERB [options]")
    _add_common(top)
    top.add_argument("--selftest", action="store_const", const=_cmd_selftest,
                     dest="func", help="same as the selftest verb")
    top.set_defaults(func=_cmd_open, files=[])
    verbs = top.add_subparsers(title="verbs", metavar="VERB", parser_class=_Parser)
    for add in (_add_open, _add_info, _add_projections, _add_extract, _add_demo,
                _add_selftest):
        add(verbs)
    return top


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")


def _verb(verbs, name: str, func, help: str) -> argparse.ArgumentParser:
    p = verbs.add_parser(name, prog=f"{PROG} {name}", help=help, description=help)
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks of errors")
    p.set_defaults(func=func)
    return p


def _add_open(verbs) -> None:
    p = _verb(verbs, "open", _cmd_open, "open the window (the default verb)")
    p.add_argument("files", nargs="*", metavar="FILE", help=".h5 / .mat v7.3 videos")


def _add_info(verbs) -> None:
    p = _verb(verbs, "info", _cmd_info, "describe a video, its saved parameters "
              "and results")
    p.add_argument("video", metavar="VIDEO")


def _add_thresholds(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gsig", type=float, metavar="G", help="neuron radius, pixels")
    p.add_argument("--min-corr", type=float, metavar="C", help="Cn threshold of seeds")
    p.add_argument("--min-pnr", type=float, metavar="P", help="PNR threshold of seeds")


def _add_projections(verbs) -> None:
    p = _verb(verbs, "projections", _cmd_projections, "compute the Cn and PNR "
              "images and count the seeds (saved parameters, flags override)")
    p.add_argument("video", metavar="VIDEO")
    _add_thresholds(p)
    p.add_argument("--no-filter", action="store_true", help="no spatial high-pass filter")
    p.add_argument("-o", "--output", metavar="OUT.h5",
                   help="default: <video stem>_projections.h5 beside the video")
    p.add_argument("--png", action="store_true", help="also write OUT.png: PNR | Cn | "
                   "Cn*PNR with the seeds")


def _add_extract(verbs) -> None:
    p = _verb(verbs, "extract", _cmd_extract, "extract neurons, one video after "
              "another (saved parameters, flags override)")
    p.add_argument("videos", nargs="+", metavar="VIDEO")
    _add_thresholds(p)
    p.add_argument("--fps", type=float, metavar="F", help="frame rate, Hz")
    p.add_argument("--max-memory", type=float, metavar="GB", help="memory budget")
    p.add_argument("-o", "--output", metavar="OUT.h5",
                   help="results file (one video only); default <video stem>_cnmfe.h5")


def _add_demo(verbs) -> None:
    p = _verb(verbs, "demo", _cmd_demo, "write a simulated video and print its path")
    p.add_argument("-o", "--output", metavar="PATH", help="where to write it")
    p.add_argument("--size", type=int, nargs=3, metavar=("H", "W", "T"))
    p.add_argument("--neurons", type=int, metavar="K")
    p.add_argument("--seed", type=int, metavar="S")


def _add_selftest(verbs) -> None:
    _verb(verbs, "selftest", _cmd_selftest, "simulate a small movie, extract it "
          "and check the result against the ground truth")


# ---------------------------------------------------------------- verbs ---


def _cmd_open(args) -> int:
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
        return _no_display(_first_line(exc))


def _no_display_env() -> bool:
    """X11/Wayland systems without a display (ssh, cluster node): fail fast."""
    if sys.platform in ("win32", "darwin"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _no_display(reason: str) -> int:
    _say(f"cannot open a window ({reason}); without a display use the headless "
         f"verbs: {HEADLESS} (see {PROG} --help)")
    return EXIT_USAGE


def _cmd_info(args) -> int:
    """Print what is known about a video."""
    from caliali_tk.io.params import load_params, sidecar_path
    from caliali_tk.io.video import VideoFile

    with VideoFile(args.video) as vf:
        rows = [("file", str(vf.path)),
                ("shape", f"(T, H, W) = {vf.shape}"),
                ("dtype", str(vf.dtype)),
                ("dataset", vf.dataset_name),
                ("sessions", _sessions(vf.frames_per_session))]
    params, warning = load_params(args.video)
    rows += [("parameters", _saved_params(sidecar_path(args.video), params, warning)),
             ("results", _results_info(args.video))]
    for key, value in rows:
        print(f"{key:<11} {value}")
    return 0


def _sessions(frames) -> str:
    if not frames:
        return "not recorded (one session)"
    return f"{len(frames)}: " + ", ".join(str(n) for n in frames) + " frames"


def _saved_params(path: Path, params, warning) -> str:
    if warning:
        return f"{warning}"
    if not path.exists():
        return "none saved (defaults)"
    d = params.to_dict()
    mask = d.pop("mask")
    main_keys = ("min_corr", "min_pnr", "gSig", "fps")
    head = " ".join(f"{k}={d.pop(k):g}" for k in main_keys)
    rest = " ".join(f"{k}={v}" for k, v in d.items())
    return f"{path.name}: {head} mask={len(mask)} polygon(s)\n{'':<11} {rest}"


def _results_info(video) -> str:
    import h5py
    from caliali_tk.io.results import results_path

    path = results_path(video)
    if not path.exists():
        return "none"
    try:
        with h5py.File(path, "r") as f:
            return f"{path.name} ({f['C'].shape[0]} neurons)"
    except (OSError, KeyError, IndexError):
        return f"{path.name} (unreadable)"


def _cmd_projections(args) -> int:
    """Cn and PNR of a video, written to HDF5 (and PNG), and the seed count."""
    from caliali_tk.pipeline import compute_summary, seeds_for

    params = _params_for(args.video, args)
    filt = params.spatial_filter and not args.no_filter
    bar = _ProgressBar(Path(args.video).name)
    summary = _run_cancellable(compute_summary, args.video, params.gSig, filt,
                               progress=bar)
    bar.done()
    seeds = seeds_for(summary, params.min_corr, params.min_pnr, params.mask)
    out = Path(args.output) if args.output else _default_projections(args.video)
    _write_projections(out, summary, args.video)
    print(f"{Path(args.video).name}: {seeds.count} seeds at min_corr={params.min_corr:g} "
          f"min_pnr={params.min_pnr:g} (gSig={params.gSig:g}, "
          f"filter {'on' if filt else 'off'}{', mask' if params.mask else ''})")
    print(f"wrote {out}")
    if args.png:
        png = out.with_suffix(".png")
        _write_png(png, summary, seeds, params)
        print(f"wrote {png}")
    return 0


def _default_projections(video) -> Path:
    video = Path(video)
    return video.with_name(video.stem + "_projections.h5")


def _write_projections(out: Path, summary, video) -> None:
    import h5py
    import numpy as np
    from caliali_tk.io.atomic import atomic_path

    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            f["Cn"] = np.asarray(summary.Cn, dtype=np.float32)
            f["PNR"] = np.asarray(summary.PNR, dtype=np.float32)
            f.attrs.update({"gSig": float(summary.gSig), "source_file": Path(video).name,
                            "spatial_filter": bool(summary.spatial_filter),
                            "version": __version__})


def _write_png(png: Path, summary, seeds, params) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from caliali_tk.io.atomic import atomic_path

    images = [("PNR", summary.PNR), ("Cn", summary.Cn),
              (f"Cn·PNR, {seeds.count} seeds", summary.Cn * summary.PNR)]
    fig = Figure(figsize=(12, 4.4), dpi=100, layout="constrained")
    for ax, (title, img) in zip(fig.subplots(1, 3), images):
        im = ax.imshow(img, cmap="viridis", interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_title(title)
        ax.set_axis_off()
    ax.plot(seeds.cols, seeds.rows, "r+", ms=6)
    fig.suptitle(f"min_corr={params.min_corr:g}  min_pnr={params.min_pnr:g}  "
                 f"gSig={params.gSig:g}")
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png")


def _cmd_demo(args) -> int:
    """Write a simulated video and print its path."""
    from caliali_tk import simulate

    custom = any(v is not None for v in (args.output, args.size, args.neurons, args.seed))
    if not custom:
        print(simulate.demo_video())
        return 0
    H, W, T = args.size or (256, 256, 1500)
    K = 80 if args.neurons is None else args.neurons
    seed = 2026 if args.seed is None else args.seed
    _check_demo(H, W, T, K)
    out = Path(args.output or f"caliali_sim_{H}x{W}x{T}_k{K}_s{seed}.h5")
    simulate.write_simulated(out, H, W, T, n_neurons=K, seed=seed)
    print(out.resolve())
    return 0


def _check_demo(H: int, W: int, T: int, K: int) -> None:
    if min(H, W) < 16 or T < 10 or K < 0:
        raise UserError("demo: --size needs H, W >= 16 and T >= 10, --neurons >= 0")


def _cmd_extract(args) -> int:
    """Extract each video in turn; report failures in one line and go on."""
    if args.output and len(args.videos) > 1:
        raise _usage("extract: -o/--output is only allowed with one video")
    failed = 0
    for video in args.videos:
        try:
            _extract_one(video, args)
        except (UserError, OSError, MemoryError) as exc:
            failed += 1
            _clear_line()
            _say(_problem(exc, video))
        except Exception as exc:  # noqa: BLE001 - the other files still run
            failed += 1
            _report_file(exc, video, args.debug)
    return EXIT_FAIL if failed else 0


def _extract_one(video: str, args) -> None:
    from caliali_tk.io.results import results_path
    from caliali_tk.pipeline import extract

    params = _params_for(video, args)
    out = Path(args.output) if args.output else results_path(video)
    bar = _ProgressBar(Path(video).name)
    t0 = time.perf_counter()
    result = _run_cancellable(extract, video, params, progress=bar,
                              out_path=args.output)
    bar.done()
    print(f"{Path(video).name}: {result.K} neurons in "
          f"{_duration(time.perf_counter() - t0)} -> {out}", flush=True)


def _report_file(exc: BaseException, video: str, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    _clear_line()
    hint = "" if debug else " (run with --debug for details)"
    _say(f"{Path(video).name}: unexpected error: {type(exc).__name__}: "
         f"{_first_line(exc)}{hint}")


def _cmd_selftest(args) -> int:
    """Simulate, extract, score; print one PASS/FAIL line."""
    from caliali_tk.selftest import run_selftest

    bar = _ProgressBar("selftest")
    report = _run_cancellable(run_selftest, progress=bar)
    bar.done()
    print(report.line, flush=True)
    return 0 if report.ok else EXIT_FAIL


# ------------------------------------------------------------- helpers ---


def _params_for(video, args):
    """The video's saved parameters with the command-line flags on top."""
    from caliali_tk.io.params import load_params

    params, warning = load_params(video)
    if warning:
        _say(f"warning: {warning}")
    flags = {"gSig": getattr(args, "gsig", None),
             "min_corr": getattr(args, "min_corr", None),
             "min_pnr": getattr(args, "min_pnr", None),
             "fps": getattr(args, "fps", None),
             "max_memory_gb": getattr(args, "max_memory", None)}
    changes = {k: v for k, v in flags.items() if v is not None}
    if changes:
        params = dataclasses.replace(params, **changes)
        params.validate()
    return params


def _run_cancellable(fn, *args, **kwargs):
    """Run ``fn(*args, cancel=event, **kwargs)`` in a worker thread.

    The main thread waits, so Ctrl-C reaches it: the cancel event is set,
    the worker stops at its next chunk (writing nothing) and
    KeyboardInterrupt is raised here. A second Ctrl-C leaves at once.
    """
    cancel = threading.Event()
    box = {}

    def work():
        try:
            box["value"] = fn(*args, cancel=cancel, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="caliali-tk-job", daemon=True)
    worker.start()
    try:
        _wait(worker)
    except KeyboardInterrupt:
        cancel.set()
        _clear_line()
        _say("cancelling...")
        try:
            _wait(worker)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: leave at once
        raise
    if "error" in box:
        raise box["error"]
    return box["value"]


def _wait(thread: threading.Thread) -> None:
    while thread.is_alive():
        thread.join(0.1)


class _ProgressBar:
    """``progress(fraction, message)`` drawn on one stderr line.

    On a terminal: one line redrawn with ``\\r`` (at most 10 times a second)
    showing the stage message, a bar, the percentage and an ETA. Elsewhere
    (a log file): a plain line per stage and per 10 %.
    """

    def __init__(self, label: str, stream=None):
        self.label, self.stream = label, stream or sys.stderr
        self.t0 = time.perf_counter()
        self.tty = _isatty(self.stream)
        self.last, self.logged = -1.0, (None, -1)

    def __call__(self, fraction: float, message: str) -> None:
        f = min(1.0, max(0.0, float(fraction)))
        now = time.perf_counter()
        line = (f"{self.label}  {message:<28.28} [{_bar(f)}] {100 * f:3.0f}%  "
                f"{self._eta(f, now - self.t0)}")
        if self.tty:
            self._redraw(line, now, f)
        elif (message, int(10 * f)) != self.logged:
            self.logged = (message, int(10 * f))
            self.stream.write(line.rstrip() + "\n")
            self.stream.flush()

    def _redraw(self, line: str, now: float, f: float) -> None:
        if now - self.last < 0.1 and f < 1.0:
            return
        self.last = now
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("\r" + line[:width].ljust(width))
        self.stream.flush()
        _PENDING[id(self.stream)] = True

    @staticmethod
    def _eta(f: float, elapsed: float) -> str:
        if f < 0.02 or elapsed < 1.0:
            return "ETA --:--"
        return "ETA " + _clock(elapsed * (1 - f) / f)

    def done(self) -> None:
        """Erase the bar (the caller prints the summary line)."""
        _clear_line(self.stream)


def _bar(f: float, n: int = 20) -> str:
    full = int(round(f * n))
    return "#" * full + "-" * (n - full)


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else _clock(seconds)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clear_line(stream=None) -> None:
    """Blank a progress line still drawn on a terminal."""
    stream = stream or sys.stderr
    if stream is not None and _PENDING.pop(id(stream), False):
        width = shutil.get_terminal_size((100, 20)).columns - 1
        stream.write("\r" + " " * width + "\r")
        stream.flush()


_PENDING = {}  # id(stream) -> a progress line is drawn and not yet ended


def _usage(message: str) -> SystemExit:
    sys.stderr.write(f"{PROG}: {message}\n")
    return SystemExit(EXIT_USAGE)


def _problem(exc: BaseException, video=None) -> str:
    """One line for a user-caused error, naming the file."""
    if isinstance(exc, MemoryError):
        text = "out of memory; try a smaller --max-memory"
    elif isinstance(exc, OSError) and not isinstance(exc, UserError):
        where = f"{exc.filename}: " if exc.filename else ""
        text = f"{where}{exc.strerror or _first_line(exc)}"
    else:
        text = _first_line(exc)
    name = Path(video).name if video is not None else None
    if name and not text.startswith(name):
        text = f"{name}: {text}"
    return text


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _say(message: str) -> None:
    """One line on stderr, prefixed with the program name."""
    sys.stderr.write(f"{PROG}: {message}\n")
    sys.stderr.flush()
