"""NWB export (Neurodata Without Borders, as DANDI uses) of a curated result.

The file holds, in the ``ophys`` processing module:

- ``ImageSegmentation/PlaneSegmentation``: one ROI per neuron, its footprint
  as an ``image_mask`` (height x width, as the window shows the frame), with
  the columns ``neuron_number`` (as the window numbers it) and ``accepted``;
- ``Fluorescence``: ``RoiResponseSeries`` ``C_raw`` (raw traces) and ``C``
  (denoised), ``Deconvolved``: ``S``; each (T, K) at the frame rate;
- ``SummaryImages``: the correlation (Cn) and peak-to-noise (PNR) images;

and one epoch per recording session. pynwb is an optional extra
(``pip install 'caliali-tk[nwb]'``); without it :func:`write_nwb` raises
:class:`NwbUnavailable` saying so. Written to a temporary file and renamed.
"""

from __future__ import annotations

import datetime
import uuid
import warnings
from pathlib import Path

import numpy as np

from caliali_tk import __version__
from caliali_tk.errors import UserError
from caliali_tk.io.atomic import atomic_path
from caliali_tk.io.export_csv import session_columns

__all__ = ["write_nwb", "NwbUnavailable", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'caliali-tk[nwb]'"


class NwbUnavailable(UserError):
    """pynwb is not installed."""


def _pynwb():
    try:
        import pynwb  # noqa: F401
        from pynwb import ophys, image, base  # noqa: F401
    except ImportError:
        raise NwbUnavailable(f"NWB export needs pynwb, which is not installed: "
                             f"{INSTALL_HINT}") from None
    return pynwb


def write_nwb(path, curation, fps: float, accepted_only: bool = False,
              frames_per_session=None, source_name: str = "") -> Path:
    """Write a curation's neurons to an NWB file at `path`.

    Parameters
    ----------
    path : path
        Output ``.nwb``.
    curation : caliali_tk.io.curation.Curation
    fps : float
        Frame rate (the series' ``rate``).
    accepted_only : bool
        Only the accepted neurons.
    frames_per_session : list of int, optional
        One epoch per session.
    source_name : str
        The video's name, for the file's description.

    Raises
    ------
    NwbUnavailable
        pynwb is not installed.
    UserError
        There is no neuron to export.
    """
    pynwb = _pynwb()
    from pynwb.base import Images
    from pynwb.image import GrayscaleImage
    from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel

    numbers, comps = curation.components(accepted_only)
    if not len(numbers):
        raise UserError(f"{Path(path).name}: no neurons to export (an NWB plane "
                        "segmentation needs at least one)")
    accepted = curation.accepted if not accepted_only else np.ones(len(numbers), bool)
    res = curation.result
    nwb = pynwb.NWBFile(
        session_description=f"caliali-tk {__version__} CNMF-E extraction of "
                            f"{source_name or 'a one-photon video'}",
        identifier=str(uuid.uuid4()),
        session_start_time=datetime.datetime.now().astimezone(),
        source_script=f"caliali-tk {__version__}", source_script_file_name="caliali-tk")
    device = nwb.create_device(name="Microscope", description="one-photon miniscope")
    plane = nwb.create_imaging_plane(
        name="ImagingPlane", optical_channel=OpticalChannel(
            name="OpticalChannel", description="green", emission_lambda=np.nan),
        description="the imaged field of view", device=device, excitation_lambda=np.nan,
        indicator="unknown", location="unknown", imaging_rate=float(fps))
    ophys = nwb.create_processing_module(name="ophys", description="CNMF-E by caliali-tk")
    seg = ImageSegmentation(name="ImageSegmentation")
    ophys.add(seg)
    ps = seg.create_plane_segmentation(name="PlaneSegmentation", imaging_plane=plane,
                                       description="CNMF-E footprints (A), height x width")
    ps.add_column(name="neuron_number", description="number as the results window shows it")
    ps.add_column(name="accepted", description="accepted in curation (1) or rejected (0)")
    for k in range(len(numbers)):
        ps.add_roi(image_mask=np.asarray(comps.A[k], np.float32),
                   neuron_number=int(numbers[k]), accepted=int(accepted[k]))
    _add_series(ophys, ps, comps, len(numbers), res.T, float(fps), Fluorescence)
    ophys.add(Images(name="SummaryImages", description="correlation and peak-to-noise images",
                     images=[GrayscaleImage(name="Cn", data=np.asarray(res.Cn, np.float32)),
                             GrayscaleImage(name="PNR", data=np.asarray(res.PNR, np.float32))]))
    _add_sessions(nwb, res.T, float(fps), frames_per_session)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not end in '.nwb'")
        with pynwb.NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
    return Path(path)


def _add_series(ophys, ps, comps, K, T, fps, Fluorescence) -> None:
    region = ps.create_roi_table_region(region=list(range(K)), description="every ROI")
    texts = {"C_raw": "raw traces (background and neighbours removed)",
             "C": "denoised traces (OASIS)", "S": "deconvolved activity (OASIS)"}
    for container, names in (("Fluorescence", ("C_raw", "C")), ("Deconvolved", ("S",))):
        fl = Fluorescence(name=container)
        ophys.add(fl)  # attached first, so the series' ROI links resolve inside the file
        for name in names:
            data = np.asarray(getattr(comps, name), np.float32).T.reshape(T, K)
            fl.create_roi_response_series(name=name, data=data, rois=region, unit="a.u.",
                                          rate=fps, description=texts[name])


def _add_sessions(nwb, T, fps, frames_per_session) -> None:
    t, session, _ = session_columns(T, fps, frames_per_session)
    for s in np.unique(session):
        frames = np.flatnonzero(session == s)
        nwb.add_epoch(start_time=float(t[frames[0]]), stop_time=float(t[frames[-1]] + 1 / fps),
                      tags=[f"session {int(s)}"])
