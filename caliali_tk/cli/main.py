"""Command line: ``caliali-tk [FILE...]`` opens the GUI, verbs work headless.

Verbs::

    caliali-tk [open] [FILE...]       the GUI (the demo video when no file)
    caliali-tk info VIDEO             size, dataset, sessions, saved params, results
    caliali-tk projections VIDEO      Cn and PNR images (+ PNG), seed count
    caliali-tk extract VIDEO...       CNMF-E extraction, one file after another
    caliali-tk demo                   write a simulated video
    caliali-tk selftest               simulate, extract, score against truth
    caliali-tk curate RESULTS         accept / reject / merge / add neurons
    caliali-tk export RESULTS         CSV tables or NWB of the curated neurons

Every problem a user can cause prints one line on stderr and gives a
non-zero exit status: 1 for a bad file or value, 2 for bad arguments or no
display, 130 when cancelled with Ctrl-C.

This module is the entry point and the argument parser; the verbs live in
:mod:`.verbs` and :mod:`.projections`, the progress bar in :mod:`.progress`,
the one-line messages in :mod:`.messages`.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from caliali_tk import __version__
from caliali_tk.cli.messages import (EXIT_CANCELLED, EXIT_FAIL, EXIT_USAGE, PROG,
                                     first_line, problem, say)
from caliali_tk.cli.progress import clear_line
from caliali_tk.core.scratch import use_small_pages
from caliali_tk.cli.curate import add_curation_verbs
from caliali_tk.cli.projections import cmd_projections
from caliali_tk.cli.verbs import (cmd_demo, cmd_extract, cmd_info, cmd_open,
                                  cmd_selftest)
from caliali_tk.errors import UserError

VERBS = ("open", "info", "projections", "extract", "demo", "selftest")
VERBS += ("curate", "export")  # issue 13
#: caliali_tk.io.orientation.LAYOUTS, spelled out so that --help does not import h5py.
LAYOUTS = ("auto", "matlab", "python")


# ------------------------------------------------------------------ entry ---


def run() -> None:
    """The program's entry (console script, ``python -m``, the bundle): `main`, then exit.

    After a cancelled job the process leaves at once (``os._exit``) once its
    streams are flushed: the job has finished and removed its partial
    outputs, and the interpreter's teardown after an interrupted job was
    seen to hang (1 run in 5) in h5py's global lock, or crash.
    """
    use_small_pages()  # first touches of large arrays cost less (core/scratch.py)
    code = main()
    if code == EXIT_CANCELLED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


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
        clear_line()
        say("cancelled")
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
    clear_line()
    if isinstance(exc, (UserError, OSError, MemoryError)):
        say(problem(exc))
    else:
        hint = "" if debug else " (run with --debug for details)"
        say(f"unexpected error: {type(exc).__name__}: {first_line(exc)}{hint}")
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
    top.add_argument("--selftest", action="store_const", const=cmd_selftest,
                     dest="func", help="same as the selftest verb")
    top.set_defaults(func=cmd_open, files=[])
    verbs = top.add_subparsers(title="verbs", metavar="VERB", parser_class=_Parser)
    for add in (_add_open, _add_info, _add_projections, _add_extract, _add_demo,
                _add_selftest):
        add(verbs)
    add_curation_verbs(verbs, _verb)  # issue 13: curate, export
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
    p = _verb(verbs, "open", cmd_open, "open the window (the default verb)")
    p.add_argument("files", nargs="*", metavar="FILE", help=".h5 / .mat v7.3 videos")


def _add_info(verbs) -> None:
    p = _verb(verbs, "info", cmd_info, "describe a video, its parameters (each "
              "with where it came from) and results")
    p.add_argument("video", metavar="VIDEO")
    _add_layout(p)


def _add_thresholds(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gsig", type=float, metavar="G", help="neuron radius, pixels")
    p.add_argument("--min-corr", type=float, metavar="C", help="Cn threshold of seeds")
    p.add_argument("--min-pnr", type=float, metavar="P", help="PNR threshold of seeds")
    _add_layout(p)


def _add_layout(p: argparse.ArgumentParser) -> None:
    """--layout (issue 12): how the file stores its frames."""
    p.add_argument("--layout", choices=LAYOUTS, help="how the file stores frames: "
                   "matlab (T, d2, d1), python (T, H, W), auto (read from the file)")


def _add_projections(verbs) -> None:
    p = _verb(verbs, "projections", cmd_projections, "compute the Cn and PNR "
              "images and count the seeds (saved parameters, flags override)")
    p.add_argument("video", metavar="VIDEO")
    _add_thresholds(p)
    p.add_argument("--no-filter", action="store_true", help="no spatial high-pass filter")
    p.add_argument("-o", "--output", metavar="OUT.h5",
                   help="default: <video stem>_projections.h5 beside the video")
    p.add_argument("--png", action="store_true", help="also write OUT.png: PNR | Cn | "
                   "Cn*PNR with the seeds")


def _add_extract(verbs) -> None:
    p = _verb(verbs, "extract", cmd_extract, "extract neurons, one video after "
              "another (saved parameters, flags override)")
    p.add_argument("videos", nargs="+", metavar="VIDEO")
    _add_thresholds(p)
    p.add_argument("--fps", type=float, metavar="F", help="frame rate, Hz")
    p.add_argument("--max-memory", type=float, metavar="GB", help="memory budget")
    p.add_argument("--deconv", choices=("none", "caliali", "legacy"),
                   help="deconvolution preset: caliali (CaliAli's final pass: AR(2), "
                        "foopsi, s_min -5), legacy (before issue 11), none (the default)")
    p.add_argument("-o", "--output", metavar="OUT.h5",
                   help="results file (one video only); default <video stem>_cnmfe.h5")


def _add_demo(verbs) -> None:
    p = _verb(verbs, "demo", cmd_demo, "write a simulated video and print its path")
    p.add_argument("-o", "--output", metavar="PATH", help="where to write it")
    p.add_argument("--size", type=int, nargs=3, metavar=("H", "W", "T"))
    p.add_argument("--neurons", type=int, metavar="K")
    p.add_argument("--seed", type=int, metavar="S")


def _add_selftest(verbs) -> None:
    _verb(verbs, "selftest", cmd_selftest, "simulate a small movie, extract it "
          "and check the result against the ground truth")
