"""Set-up for the PyInstaller bundle: numba's kernel cache, stdio, the icon.

The bundle's entry script imports this module first and calls `setup()`
before numba is imported. In a bundle there are no ``.py`` files to put a
``__pycache__`` beside, and numba's own fall-back keys its cache folder by
the (temporary, or cwd-relative) path of the module, so compiled kernels
would not be found again. `setup` therefore points numba at
`BundleCacheLocator`: one per-user folder per build,
``~/.cache/caliali-tk/numba/<build>`` (``%LOCALAPPDATA%\\caliali-tk\\numba``
on Windows), with entries keyed by module and function, and stamped with
the build id so that a new build never loads an old build's machine code.

`kernels_ready` and `warm_up` let the GUI say "preparing the fast kernels
(first run only)" and compile them in a worker thread. Nothing here needs
a bundle: in a source checkout numba's default in-tree cache is used.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from caliali_tk.paths import APP_DIR, user_cache_dir

BUILD_FILE = "caliali_tk_build.txt"  # written into the bundle by build/caliali_tk.spec
READY_MARK = "warm"  # written by warm_up once every kernel ran
LOCATORS = "caliali_tk.bundle.frozen.BundleCacheLocator,UserWideCacheLocator"
_PACKAGE = Path(__file__).resolve().parent.parent  # caliali_tk/


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def build_id() -> str:
    """The bundle's build id (version + build time), or ``"source"``."""
    base = getattr(sys, "_MEIPASS", None)
    try:
        return (Path(base) / BUILD_FILE).read_text(encoding="utf-8").strip() or "unknown"
    except (TypeError, OSError):
        from caliali_tk import __version__
        return f"{__version__}-source" if not is_frozen() else f"{__version__}-unknown"


def numba_cache_dir() -> Path:
    """Where the compiled kernels live.

    ``NUMBA_CACHE_DIR`` when set (`setup` sets it in a bundle, to
    ``<user cache>/numba/<build id>``); else the package folder (numba's
    in-tree ``__pycache__`` folders of a source checkout).
    """
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return Path(env)
    return _bundle_cache_dir() if is_frozen() else _PACKAGE


def _bundle_cache_dir() -> Path:
    return user_cache_dir() / "numba" / _safe(build_id())


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-+" else "_" for c in text)


def setup() -> None:
    """Prepare the process; call before numba is imported. Idempotent.

    In a bundle: sets ``NUMBA_CACHE_DIR`` and numba's cache locators, and
    gives a windowed Windows program usable ``sys.stdout`` / ``sys.stderr``
    (the parent's console if there is one, else a sink). Outside a bundle
    it does nothing.
    """
    if not is_frozen():
        return
    _fix_stdio()
    folder = _bundle_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / f"{APP_DIR}-numba" / _safe(build_id())
    os.environ.setdefault("NUMBA_CACHE_DIR", str(folder))
    os.environ.setdefault("NUMBA_CACHE_LOCATOR_CLASSES", LOCATORS)
    _use_packed_llvm()


LLVM_LIB = "libllvmlite.so"


def _use_packed_llvm() -> None:
    """Unpack the bundle's xz-compressed LLVM library once, and point llvmlite at it.

    The Linux one-folder bundle ships numba's LLVM library compressed (it is
    most of the bundle's size). It is unpacked per build into the user cache
    folder (atomically: a temp file renamed into place) and llvmlite, which
    finds its library through ``importlib.resources.as_file``, is given that
    path. Nothing happens when the bundle carries the plain library.
    """
    packed = Path(getattr(sys, "_MEIPASS", "")) / "llvmlite_packed" / (LLVM_LIB + ".xz")
    if not packed.is_file():
        return
    target = user_cache_dir() / "llvm" / _safe(build_id()) / LLVM_LIB
    if not target.is_file():
        _unpack(packed, target)
    _preload_bundled("libstdc++.so.6")
    _redirect_resource(LLVM_LIB, target)


def _unpack(packed: Path, target: Path) -> None:
    import lzma
    import shutil
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with lzma.open(packed, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _preload_bundled(soname: str) -> None:
    """Load a library the bundle carries, so the unpacked LLVM resolves to it."""
    import ctypes
    path = Path(getattr(sys, "_MEIPASS", "")) / soname
    if path.is_file():
        try:
            ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        except OSError:
            pass  # the system's copy will do


def _redirect_resource(name: str, target: Path) -> None:
    """``importlib.resources.as_file`` returns ``target`` for the missing ``name``."""
    import contextlib
    import importlib.resources as resources
    original = resources.as_file

    def as_file(path):
        if getattr(path, "name", None) == name and not Path(str(path)).is_file():
            return contextlib.nullcontext(target)
        return original(path)

    resources.as_file = as_file


def _fix_stdio() -> None:
    """Windowed Windows builds start with ``sys.stdout = None``: attach or sink."""
    if sys.stdout is not None and sys.stderr is not None:
        return
    stream = _parent_console() if os.name == "nt" else None
    stream = stream or open(os.devnull, "w", encoding="utf-8")
    sys.stdout = sys.stdout or stream
    sys.stderr = sys.stderr or stream


def _parent_console():
    """Write to the console of the program that started us (cmd, PowerShell)."""
    try:
        import ctypes
        if not ctypes.windll.kernel32.AttachConsole(-1):  # ATTACH_PARENT_PROCESS
            return None
        return open("CONOUT$", "w", encoding="utf-8", errors="replace")
    except (AttributeError, OSError):
        return None


def icon_path() -> Path | None:
    """The 256 x 256 app icon PNG (bundle or source checkout), if present."""
    roots = [Path(getattr(sys, "_MEIPASS", "")) / "icons", _PACKAGE.parent / "icons"]
    for root in roots:
        path = root / "caliali-tk.png"
        if path.is_file():
            return path
    return None


# ------------------------------------------------------------------ warm-up ---


def kernels_ready() -> bool:
    """Best guess whether the numba kernels are already compiled and cached.

    True when `warm_up` finished before for this build (bundle), or when
    cached kernels exist beside the sources (checkout).
    """
    folder = numba_cache_dir()
    if is_frozen():
        return (folder / READY_MARK).is_file()
    return any(folder.rglob("*.nbi"))


def warm_up(progress=None, cancel=None) -> float:
    """Compile (or load from the cache) every numba kernel once.

    Runs the real pipeline -- summary images, seeds, extraction -- on a tiny
    simulated movie in a temporary folder, so that every kernel meets the
    argument types it gets on real data. Safe to call from a worker thread.

    Parameters
    ----------
    progress : callable(fraction, message), optional
    cancel : threading.Event, optional

    Returns
    -------
    float
        Seconds taken (tens of seconds the first time, a few afterwards).
    """
    import time
    from caliali_tk.io.params import FileParams
    from caliali_tk.pipeline import extract
    from caliali_tk.pipeline.common import Stage
    from caliali_tk.demo.files import write_simulated

    t0 = time.perf_counter()
    stage = Stage(progress, 0.0, 1.0)
    stage(0.0, "preparing the fast kernels (first run only)")
    with tempfile.TemporaryDirectory(prefix="caliali-warmup-") as tmp:
        video = Path(tmp) / "warmup.h5"
        write_simulated(video, 64, 64, 300, n_neurons=8, seed=1)
        extract(video, FileParams(min_pnr=5.0), progress=stage.sub(0.05, 1.0),
                cancel=cancel)
    _mark_ready()
    return time.perf_counter() - t0


def _mark_ready() -> None:
    if not is_frozen():
        return
    try:
        (numba_cache_dir() / READY_MARK).write_text(build_id() + "\n", encoding="utf-8")
    except OSError:
        pass


# ----------------------------------------------------- numba cache locator ---


def __getattr__(name):
    """Build `BundleCacheLocator` on first use, when numba is being imported."""
    if name == "BundleCacheLocator":
        cls = _make_locator()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _make_locator():
    from numba.core import caching, config

    class BundleCacheLocator(caching._CacheLocator):
        """numba cache entries in ``NUMBA_CACHE_DIR/<module>``, stamped by build.

        Independent of where the bundle was unpacked and of the current
        folder; a different build has a different stamp (and folder).
        """

        def __init__(self, py_func, py_file):
            module = getattr(py_func, "__module__", None) or "unknown"
            self._cache_path = os.path.join(config.CACHE_DIR, _safe(module))
            self._lineno = py_func.__code__.co_firstlineno

        def get_cache_path(self):
            return self._cache_path

        def get_source_stamp(self):
            return build_id()

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            if not (is_frozen() and config.CACHE_DIR):
                return None
            self = cls(py_func, py_file)
            try:
                self.ensure_cache_path()
            except OSError:
                return None
            return self

    return BundleCacheLocator
