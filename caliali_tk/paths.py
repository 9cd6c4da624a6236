"""The per-user cache folder every part of caliali-tk shares.

Standard library only: the bundle's start-up imports it before numba.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_DIR = "caliali-tk"


def user_cache_dir() -> Path:
    """Per-user cache folder: ``$XDG_CACHE_HOME``, ``%LOCALAPPDATA%`` or ``~/.cache``.

    Not created here.
    """
    base = os.environ.get("XDG_CACHE_HOME")
    if not base and os.name == "nt":
        base = os.environ.get("LOCALAPPDATA")
    return Path(base or Path.home() / ".cache") / APP_DIR
