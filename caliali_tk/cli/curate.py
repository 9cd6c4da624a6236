"""The curation verbs: ``curate RESULTS --reject 3,7 --merge 4+5`` and
``export RESULTS --csv OUT.csv [--accepted-only] --nwb OUT.nwb``.

Neuron numbers are the results window's (from 1, see
:mod:`caliali_tk.io.curation`); the operations are the window's, and the
curation is saved into the results file atomically, where the window finds
it.
"""

from __future__ import annotations

from pathlib import Path

from caliali_tk.cli.messages import usage
from caliali_tk.cli.progress import ProgressBar, run_cancellable

__all__ = ["cmd_curate", "cmd_export", "add_curation_verbs"]


def add_curation_verbs(verbs, verb) -> None:
    """Add ``curate`` and ``export`` to the sub-parsers (`verb` makes one)."""
    p = verb(verbs, "curate", cmd_curate, "accept, reject, merge or add neurons of a "
             "results file (numbers as the window shows them); saved in the file")
    p.add_argument("results", metavar="RESULTS", help="*_cnmfe.h5")
    p.add_argument("--reject", metavar="LIST", help="neurons to reject, e.g. 3,7,10-12")
    p.add_argument("--accept", metavar="LIST", help="neurons to accept (take back)")
    p.add_argument("--reject-below", metavar="METRIC=VALUE", action="append", default=[],
                   help="reject every neuron whose metric (snr, size, n_events, ...) "
                   "is below VALUE")
    p.add_argument("--merge", metavar="GROUPS", help="merge groups, e.g. 4+5,8+9+10 "
                   "(traces recomputed from the video)")
    p.add_argument("--add", metavar="ROW,COL", action="append", default=[],
                   help="add a neuron initialised from the video at this pixel")
    p.add_argument("--undo", type=int, metavar="N", default=0,
                   help="first undo the last N saved operations")
    p.add_argument("--video", metavar="VIDEO", help="the source video, if it is not "
                   "beside the results")
    p = verb(verbs, "export", cmd_export, "write a (curated) results file as CSV "
             "tables or NWB")
    p.add_argument("results", metavar="RESULTS", help="*_cnmfe.h5")
    p.add_argument("--csv", metavar="OUT.csv", help="C traces; C_raw, S and a neuron "
                   "table go beside it (OUT_C_raw.csv, OUT_S.csv, OUT_neurons.csv)")
    p.add_argument("--nwb", metavar="OUT.nwb", help="NWB file (needs pynwb: "
                   "pip install 'caliali-tk[nwb]')")
    p.add_argument("--accepted-only", action="store_true", help="leave out rejected neurons")


def cmd_curate(args) -> int:
    """Apply the requested operations in a fixed order, then save once."""
    from caliali_tk.io.curation import parse_merges, parse_numbers
    from caliali_tk.io.curation_file import load_curation, save_curation

    cur = load_curation(args.results)
    for _ in range(max(0, args.undo)):
        if cur.undo() is None:
            break
    if args.accept:
        cur.set_accepted(parse_numbers(args.accept), True)
    if args.reject:
        cur.set_accepted(parse_numbers(args.reject), False)
    for spec in args.reject_below:
        metric, value = _metric_value(spec)
        cur.reject_below(metric, value)
    lines = _movie_edits(cur, args, parse_merges(args.merge or ""))
    save_curation(args.results, cur)
    for line in lines:
        print(line)
    print(f"{Path(args.results).name}: {len(cur.numbers)} neurons in the list, "
          f"{int(cur.accepted.sum())} accepted", flush=True)
    return 0


def _movie_edits(cur, args, merges) -> list:
    if not merges and not args.add:
        return []
    from caliali_tk.pipeline.curate import add_neuron, merge, source_video

    video = args.video or source_video(args.results, cur.result)
    lines = []
    for group in merges:
        bar = ProgressBar("merge " + "+".join(map(str, group)))
        made = run_cancellable(merge, cur, group, video, progress=bar)
        bar.done()
        lines.append("merged " + "+".join(map(str, group)) + f" into neuron {made}")
    for spec in args.add:
        row, col = _row_col(spec)
        bar = ProgressBar(f"add at {row:g},{col:g}")
        made, near = run_cancellable(add_neuron, cur, row, col, video, progress=bar)
        bar.done()
        refit = f"; refitted {', '.join(map(str, near))}" if near else ""
        lines.append(f"added neuron {made} at row {row:g}, col {col:g}{refit}")
    return lines


def _metric_value(spec: str):
    metric, sep, value = spec.partition("=")
    try:
        if not sep:
            raise ValueError
        return metric.strip(), float(value)
    except ValueError:
        raise usage(f"curate: --reject-below wants METRIC=VALUE, like snr=5, not {spec!r}")


def _row_col(spec: str):
    try:
        row, col = (float(v) for v in spec.split(","))
        return row, col
    except ValueError:
        raise usage(f"curate: --add wants ROW,COL (pixels), not {spec!r}")


def cmd_export(args) -> int:
    """CSV and / or NWB of the curated list."""
    from caliali_tk.io.curation_file import load_curation
    from caliali_tk.io.export_csv import frame_rate, frames_per_session, write_csv_export

    if not args.csv and not args.nwb:
        raise usage("export: say what to write: --csv OUT.csv and / or --nwb OUT.nwb")
    cur = load_curation(args.results)
    fps, sessions = frame_rate(cur.result), frames_per_session(cur.result)
    n = int(cur.accepted.sum()) if args.accepted_only else len(cur.numbers)
    if args.nwb:
        from caliali_tk.io.nwb import write_nwb
        write_nwb(args.nwb, cur, fps, args.accepted_only, sessions,
                  str(cur.result.attrs.get("source_file", "")))
        print(f"{n} neurons -> {args.nwb}")
    if args.csv:
        paths = write_csv_export(args.csv, cur, fps, args.accepted_only, sessions)
        print(f"{n} neurons -> " + ", ".join(str(p) for p in paths.values()), flush=True)
    return 0
