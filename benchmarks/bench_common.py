"""What several benchmarks share: the cached simulated movies and peak memory."""

from __future__ import annotations

import resource
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"


def simulated_movie(prefix: str, h: int, w: int, t: int, k: int, seed: int = 1) -> Path:
    """``benchmarks/.cache/<prefix>_HxWxT_K.h5`` from the project simulator, written once."""
    from caliali_tk.demo.files import write_simulated

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{prefix}_{h}x{w}x{t}_{k}.h5"
    if not path.exists():
        print(f"writing {path.name} (once) ...", flush=True)
        write_simulated(path, h, w, t, n_neurons=k, seed=seed)
    return path


def peak_rss_mib() -> float:
    """This process's own peak resident memory (VmHWM), MiB.

    Not ``ru_maxrss``: a child's ``ru_maxrss`` (``wait4`` or ``RUSAGE_SELF``
    after exec) starts from the parent's resident size at the fork, so a
    parent that held a large movie inflates it.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
