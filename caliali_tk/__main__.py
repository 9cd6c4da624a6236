"""``python -m caliali_tk`` runs the command-line entry point."""

import sys

from caliali_tk.cli import main

sys.exit(main())
