"""The projections verb: Cn and PNR images of a video, written to HDF5 (and
PNG), and the seed count."""

from __future__ import annotations

from pathlib import Path

from caliali_tk import __version__
from caliali_tk.cli.progress import ProgressBar, run_cancellable
from caliali_tk.cli.verbs import resolved_for


def cmd_projections(args) -> int:
    """Cn and PNR of a video, written to HDF5 (and PNG), and the seed count."""
    from caliali_tk.pipeline import compute_summary, seeds_for

    resolved = resolved_for(args.video, args)
    params = resolved.params
    filt = params.spatial_filter and not args.no_filter
    bar = ProgressBar(Path(args.video).name)
    summary = run_cancellable(compute_summary, args.video, params.gSig, filt,
                               progress=bar, layout=params.layout)
    bar.done()
    seeds = seeds_for(summary, params.min_corr, params.min_pnr, params.mask)
    out = Path(args.output) if args.output else _default_projections(args.video)
    _write_projections(out, summary, args.video, resolved.layout)
    print(f"{Path(args.video).name}: {seeds.count} seeds at min_corr={params.min_corr:g} "
          f"min_pnr={params.min_pnr:g} (gSig={params.gSig:g}, "
          f"filter {'on' if filt else 'off'}{', mask' if params.mask else ''})")
    print(f"wrote {out}")
    if args.png:
        png = out.with_suffix(".png")
        _write_png(png, summary, seeds, params)
        print(f"wrote {png}")
    return 0


def _default_projections(video) -> Path:
    video = Path(video)
    return video.with_name(video.stem + "_projections.h5")


def _write_projections(out: Path, summary, video, layout: str) -> None:
    """Cn and PNR stored like the input's frames (its `layout`), as the results are."""
    import h5py
    import numpy as np
    from caliali_tk.io.atomic import atomic_path
    from caliali_tk.io.orientation import from_display

    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            for name in ("Cn", "PNR"):
                image = np.asarray(getattr(summary, name), dtype=np.float32)
                f[name] = np.ascontiguousarray(from_display(image, layout))
            f.attrs.update({"gSig": float(summary.gSig), "source_file": Path(video).name,
                            "spatial_filter": bool(summary.spatial_filter),
                            "version": __version__, "file_layout": layout})


def _write_png(png: Path, summary, seeds, params) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from caliali_tk.io.atomic import atomic_path

    images = [("PNR", summary.PNR), ("Cn", summary.Cn),
              (f"Cn·PNR, {seeds.count} seeds", summary.Cn * summary.PNR)]
    fig = Figure(figsize=(12, 4.4), dpi=100, layout="constrained")
    for ax, (title, img) in zip(fig.subplots(1, 3), images):
        im = ax.imshow(img, cmap="viridis", interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_title(title)
        ax.set_axis_off()
    ax.plot(seeds.cols, seeds.rows, "r+", ms=6)
    fig.suptitle(f"min_corr={params.min_corr:g}  min_pnr={params.min_pnr:g}  "
                 f"gSig={params.gSig:g}")
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png")
