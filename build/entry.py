"""Entry script of the PyInstaller bundle: ``caliali-tk`` (GUI and CLI verbs).

`caliali_tk.bundle.frozen.setup` runs before anything imports numba: it points
numba's kernel cache at a per-user folder and fixes stdio of windowed
Windows builds.
"""

import caliali_tk.bundle.frozen as _frozen

_frozen.setup()


from caliali_tk.cli import run  # noqa: E402

if __name__ == "__main__":
    run()
