"""Where an extraction spends its time: seconds per stage and passes over the file.

The extraction runs in a fresh interpreter (kernels loaded from the numba
cache first, summary-image cache off). Its progress messages name the stage
it is in ("summary images", "reading the movie", "round 2: traces", ...);
the time from one message to the next is charged to the first one's stage,
with numbers (round, seed counts) taken out of the name so that rounds add
up. Every ``VideoFile.read`` is counted (the passes of the rounds read
through the session and stripe readers, so they show as reads): "frames
read" is their sum in units of the movie's length, the number of passes
the extraction made over the file; the whole ``iter_chunks`` passes of the
raw file and the brightness scan (frame means of the stored blocks) are
given apart.

Usage: ``python benchmarks/bench_stages.py [--quick] [--size H W T K]``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path

from bench_common import peak_rss_mib, simulated_movie  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
DEFAULT = (256, 256, 3000, 100)
QUICK = (128, 128, 1000, 30)


def _movie(h, w, t, k) -> Path:
    return simulated_movie("stages", h, w, t, k)


def _stage_name(message: str) -> str:
    """'round 2: traces' -> 'round: traces'; 'initialising from 83 seeds' -> 'initialising'."""
    name = re.sub(r"\bround \d+", "round", message)
    name = re.sub(r"\bfrom \d+ seeds\b", "", name)
    if name.startswith("done"):
        return "done"
    return re.sub(r"\s+", " ", name).strip(" :")


def _child(path: str, max_memory) -> dict:
    """Extract one movie with timing hooks; runs in its own interpreter."""
    from caliali_tk.bundle.frozen import warm_up
    from caliali_tk.io import video
    from caliali_tk.io.params import FileParams
    from caliali_tk.pipeline import extract

    warm_up()
    counts = {"passes": 0, "frames": 0, "reads": 0, "mean_frames": 0, "all_frames": 0}
    real_iter, real_read = video.VideoFile.iter_chunks, video.VideoFile.read
    real_means = video.VideoFile.frame_means

    def iter_chunks(self, *a, **k):
        counts["passes"] += 1
        for start, frames in real_iter(self, *a, **k):
            counts["frames"] += len(frames)
            yield start, frames

    def read(self, start, stop, *a, **k):  # every frame read, passes included
        counts["reads"] += 1
        counts["all_frames"] += stop - start
        return real_read(self, start, stop, *a, **k)

    def frame_means(self, start, stop):  # the brightness scan: raw blocks, no float copy
        counts["mean_frames"] += stop - start
        return real_means(self, start, stop)

    video.VideoFile.iter_chunks, video.VideoFile.read = iter_chunks, read
    video.VideoFile.frame_means = frame_means
    marks = []
    t0 = time.perf_counter()
    params = FileParams() if max_memory is None else FileParams(max_memory_gb=max_memory)
    result = extract(path, params, out_path=False,
                     use_cache=False, progress=lambda f, m: marks.append((time.perf_counter(), m)))
    total = time.perf_counter() - t0
    stages = OrderedDict()
    for (t, m), (t_next, _) in zip(marks, marks[1:] + [(t0 + total, "")]):
        name = _stage_name(m)
        stages[name] = stages.get(name, 0.0) + (t_next - t)
    with video.VideoFile(path) as vf:
        T = vf.n_frames
    return {"total_s": total, "stages": stages, "passes": counts["passes"],
            "frames_read": counts["frames"] / T, "reads": counts["reads"], "K": int(result.K),
            "mean_scans": counts["mean_frames"] / T, "all_read": counts["all_frames"] / T,
            "peak_mib": peak_rss_mib()}


def run(size, max_memory=None) -> dict:
    path = _movie(*size)
    out = subprocess.run([sys.executable, __file__, "--child", str(path), json.dumps(max_memory)],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", nargs=4, type=int, metavar=("H", "W", "T", "K"))
    parser.add_argument("--max-memory", type=float, default=None,
                        help="max_memory_gb (default: the extraction's default)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child[0], json.loads(args.child[1]))))
        return
    size = tuple(args.size) if args.size else (QUICK if args.quick else DEFAULT)
    r = run(size, args.max_memory)
    h, w, t, k = size
    print(f"\n## Extraction stages, {h}x{w}x{t}, {k} simulated neurons "
          f"(max_memory_gb {'default' if args.max_memory is None else args.max_memory})\n")
    print("| stage | seconds | share |")
    print("|---|---|---|")
    for name, sec in r["stages"].items():
        print(f"| {name} | {sec:.2f} | {100 * sec / r['total_s']:.0f} % |")
    print(f"| **total** | **{r['total_s']:.2f}** | 100 % |")
    print(f"\nframes read as float frames: {r['all_read']:.2f} x T in {r['reads']} reads "
          f"(of which {r['passes']} whole passes of the raw file, {r['frames_read']:.2f} x T); "
          f"{r['mean_scans']:.2f} x T frames scanned for their mean brightness only; "
          f"{r['K']} neurons; peak RSS {r['peak_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
