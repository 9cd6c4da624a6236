"""Cache of summary images (Cn, PNR, ...) so a video is scanned only once.

The cache file sits beside the video, ``<video>.caliali-cache.h5``; when that
folder is not writable it goes to the user cache folder instead
(``$XDG_CACHE_HOME/caliali-tk`` or ``~/.cache/caliali-tk``), named by a hash
of the video's absolute path. Each entry is an HDF5 group named by its key;
a few entries (e.g. several gSig values) share one file. A cache is a
convenience only: a stale or damaged entry reads as a miss (None) and a
failed write is silently skipped, never an exception.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Dict, List, Optional

import h5py
import numpy as np

from ..paths import user_cache_dir
from .atomic import atomic_path

CACHE_SUFFIX = ".caliali-cache.h5"
MAX_ENTRIES = 8


def cache_key(video_path: "str | os.PathLike[str]", gSig: float,
              spatial_filter: bool, algo_version: "str | int") -> str:
    """A key that changes whenever the cached images would change.

    Parameters
    ----------
    video_path : str or os.PathLike
        The video; its size and modification time (ns) enter the key.
    gSig : float
        Neuron radius used for the summary images.
    spatial_filter : bool
        Whether frames were spatially filtered first.
    algo_version : str or int
        Version of the summary-image algorithm; bump it to invalidate caches.

    Returns
    -------
    str
        40 hex digits (usable as an HDF5 group name). A video that cannot be
        stat'ed (missing) still gets a key; it simply never hits.
    """
    size, mtime = _video_stat(video_path) or (-1, -1)
    text = (f"size={size};mtime_ns={mtime};gSig={float(gSig):.6g};"
            f"filter={bool(spatial_filter)};algo={algo_version}")
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def cache_paths(video_path: "str | os.PathLike[str]") -> List[Path]:
    """Where a video's cache may live, in order of preference.

    Returns
    -------
    list of pathlib.Path
        ``[<video>.caliali-cache.h5, <user cache dir>/<hash>.caliali-cache.h5]``.
    """
    video = Path(video_path)
    digest = hashlib.sha1(str(video.resolve()).encode("utf-8")).hexdigest()[:20]
    return [video.with_name(video.name + CACHE_SUFFIX),
            user_cache_dir() / f"{digest}{CACHE_SUFFIX}"]


def _video_stat(video_path) -> Optional[tuple]:
    try:
        st = os.stat(video_path)
    except OSError:
        return None
    return int(st.st_size), int(st.st_mtime_ns)


def _entry_is_fresh(group: h5py.Group, stat: Optional[tuple]) -> bool:
    """True when the entry was made from the video as it is on disk now."""
    if stat is None:
        return False
    size, mtime = group.attrs.get("source_size"), group.attrs.get("source_mtime_ns")
    return size is not None and (int(size), int(mtime)) == stat


def load_summary(video_path: "str | os.PathLike[str]",
                 key: str) -> Optional[Dict[str, np.ndarray]]:
    """Cached arrays for `key`, or None on a miss, a stale entry or a damaged file.

    Parameters
    ----------
    video_path : str or os.PathLike
        The video the images were computed from.
    key : str
        From :func:`cache_key`.

    Returns
    -------
    dict of str -> ndarray, or None
    """
    stat = _video_stat(video_path)
    for path in cache_paths(video_path):
        try:
            if not path.is_file():
                continue
            with h5py.File(path, "r") as f:
                group = f.get(key)
                if isinstance(group, h5py.Group) and _entry_is_fresh(group, stat):
                    return {name: np.asarray(ds[()]) for name, ds in group.items()
                            if isinstance(ds, h5py.Dataset)}
        except Exception:  # a damaged cache is a miss, whatever h5py raises
            continue
    return None


def save_summary(video_path: "str | os.PathLike[str]", key: str,
                 arrays: Dict[str, np.ndarray]) -> Optional[Path]:
    """Store `arrays` under `key`, keeping at most MAX_ENTRIES fresh entries.

    Tries beside the video first, then the user cache folder. The file is
    rewritten atomically; entries for an older version of the video are
    dropped, then the oldest ones beyond the limit.

    Returns
    -------
    pathlib.Path or None
        The cache file written, or None if no location was writable.
    """
    stat = _video_stat(video_path)
    if stat is None:
        return None
    for path in cache_paths(video_path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _rewrite(path, key, arrays, stat)
            return path
        except Exception:  # not writable, disk full, ...: try the next place
            continue
    return None


def _kept_entries(old: h5py.File, key: str, stat: tuple) -> List[str]:
    """Names of the fresh entries worth keeping besides `key`, newest first."""
    fresh = [(float(g.attrs.get("written", 0.0)), name) for name, g in old.items()
             if name != key and isinstance(g, h5py.Group) and _entry_is_fresh(g, stat)]
    return [name for _, name in sorted(fresh, reverse=True)[:MAX_ENTRIES - 1]]


def _copy_fresh(path: Path, new: h5py.File, key: str, stat: tuple) -> None:
    """Copy the old file's entries worth keeping into `new`; skip what fails."""
    try:
        with h5py.File(path, "r") as old:
            for name in _kept_entries(old, key, stat):
                try:
                    old.copy(old[name], new, name=name)
                except Exception:
                    if name in new:
                        del new[name]
    except Exception:
        pass  # missing or damaged old cache: start afresh


def _rewrite(path: Path, key: str, arrays: Dict[str, np.ndarray], stat: tuple) -> None:
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as new:
            if path.is_file():
                _copy_fresh(path, new, key, stat)
            group = new.create_group(key)
            for name, array in arrays.items():
                group.create_dataset(name, data=np.asarray(array))
            group.attrs["source_size"] = stat[0]
            group.attrs["source_mtime_ns"] = stat[1]
            group.attrs["written"] = time.time()
