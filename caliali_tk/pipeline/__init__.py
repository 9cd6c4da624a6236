"""The one API both front ends call: summary images and extraction of a file.

Both take a ``progress(fraction, message)`` callback and a ``cancel`` token
(anything with ``is_set()``) checked between chunks.
"""

from caliali_tk.pipeline.common import Cancelled
from caliali_tk.pipeline.summary import compute_summary, seeds_for
from caliali_tk.pipeline.extract import extract

__all__ = ["Cancelled", "compute_summary", "seeds_for", "extract"]
