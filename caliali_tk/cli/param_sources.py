"""``info``'s account of a video's parameters: each value and where it came from."""

from __future__ import annotations

from typing import Any, List

from caliali_tk.core.mask import mask_from_polygons

INDENT = " " * 12  # under the value column of cmd_info's "key  value" rows


def fmt_value(name: str, value: Any, resolved) -> str:
    """A parameter's value in a few characters (the mask as polygons and pixels)."""
    if name == "mask":
        if not value:
            return "none (everything allowed)"
        _, H, W = resolved.shape
        out = int((~mask_from_polygons((H, W), value)).sum())
        return f"{len(value)} polygon(s), {out} of {H * W} pixels masked out"
    if name == "gSiz" and value is None:
        return f"auto ({resolved.params.gsiz})"
    if name == "layout":
        return f"{value} -> {resolved.layout} ({resolved.layout_reason})"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _kind(source: str) -> str:
    for prefix, kind in (("sidecar", "sidecar"), ("CaliAli_options", "CaliAli_options"),
                         ("attribute", "file attribute")):
        if source.startswith(prefix):
            return kind
    return source


def param_lines(resolved) -> str:
    """Every parameter, one line each: name, value, source (the first line is a summary)."""
    sources = resolved.sources
    kinds: List[str] = []
    for source in sources.values():
        if _kind(source) not in kinds:
            kinds.append(_kind(source))
    values = {n: fmt_value(n, v, resolved) for n, v in resolved.params.to_dict().items()}
    width = max(len(v) for v in values.values() if len(v) <= 24)
    lines = ["from " + ", ".join(kinds)]
    lines += [f"{INDENT}{name:<14} {text:<{width}}  {sources[name]}"
              for name, text in values.items()]
    return "\n".join(lines)


def layout_line(resolved) -> str:
    """How the movie is stored and shown."""
    if resolved.layout == "matlab":
        how = "stored (T, d2, d1) as MATLAB writes d1 x d2 x T; shown transposed"
    else:
        how = "stored (T, H, W); shown as stored"
    return f"{resolved.layout} ({resolved.layout_reason}): {how}"
