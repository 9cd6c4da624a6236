"""The double-click bundle's start-up code (PyInstaller).

:mod:`.frozen`: set-up before numba is imported (per-user kernel cache keyed
by build, packed LLVM library, stdio of windowed builds, the icon) and the
kernel warm-up the window runs on first start. Nothing is imported here, so
that the bundle's entry script can import :mod:`.frozen` before numba.
"""
