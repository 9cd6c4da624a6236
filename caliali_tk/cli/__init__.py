"""The command line: ``caliali-tk`` (window) and its headless verbs.

- :mod:`.main`: the entry point :func:`main` and the argument parser;
- :mod:`.verbs`: ``open``, ``info``, ``extract``, ``demo``, ``selftest``;
- :mod:`.projections`: ``projections`` (summary images, PNG, seed count);
- :mod:`.progress`: the progress bar and the cancellable runner (Ctrl-C);
- :mod:`.messages`: one-line messages on stderr and the exit statuses.
"""

from caliali_tk.cli.main import build_parser, main, run

__all__ = ["main", "build_parser", "run"]
