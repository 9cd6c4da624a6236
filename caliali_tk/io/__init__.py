"""File input/output: videos (read-only), parameters, caches and results.

Every write goes to a temporary file in the same folder and is renamed into
place (:mod:`.atomic`); input videos are never changed.
"""
from ..errors import ParamsError, UserError, VideoError
from .atomic import atomic_path, atomic_write_text
from .cache import cache_key, cache_paths, load_summary, save_summary
from .params import FileParams, gsiz_of, load_params, save_params, sidecar_path
from .results import (Result, ResultsError, load_results, results_path,
                      source_info, write_results)
from .video import VideoFile, from_display, open_video, to_display

__all__ = [
    "ParamsError", "UserError", "VideoError", "ResultsError",
    "atomic_path", "atomic_write_text",
    "VideoFile", "open_video", "to_display", "from_display",
    "FileParams", "gsiz_of", "sidecar_path", "load_params", "save_params",
    "cache_key", "cache_paths", "load_summary", "save_summary",
    "Result", "results_path", "write_results", "load_results", "source_info",
]
