"""``python -m caliali_tk`` runs the command-line entry point."""

from caliali_tk.cli import run

run()
