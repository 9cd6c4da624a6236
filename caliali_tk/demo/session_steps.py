"""Session steps for the simulator: days that differ in brightness (issue 9).

A CaliAli movie concatenates sessions recorded on different days; each day
has its own brightness (gain and offset) and bleaches from its start.
:func:`caliali_tk.demo.simulate.build_scene` takes ``sessions=`` (a
:class:`SessionSteps` or a dict of its fields) and uses these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SessionSteps", "add_sessions", "session_gain_offset"]

@dataclass
class SessionSteps:
    """A movie made of sessions recorded on different days (issue 9).

    Session ``s`` is ``gains[s] * (fluorescence + noise) + offsets[s]`` above
    the camera offset, and bleaches within the session: its fluorescence
    (neurons, background, blobs) is multiplied by
    ``1 - bleach * (1 - exp(-t / bleach_tau_s))``, ``t`` the time since the
    session started (it recovers between days). The ground truth's ``C``
    includes the bleaching (it is what the movie holds), not the gains.

    Attributes
    ----------
    frames : list of int
        Frames per session (sum = the movie's length).
    gains, offsets : list of float
        Per session; missing entries are 1 and 0.
    bleach : float
        Fraction of the fluorescence lost towards the end of a long session.
    bleach_tau_s : float
        Bleaching time constant, seconds.
    """

    frames: list
    gains: list = field(default_factory=list)
    offsets: list = field(default_factory=list)
    bleach: float = 0.0
    bleach_tau_s: float = 60.0

    @classmethod
    def of(cls, value, n_frames: int) -> "SessionSteps":
        steps = value if isinstance(value, cls) else cls(**dict(value))
        if sum(int(f) for f in steps.frames) != int(n_frames):
            raise ValueError(f"session frames {list(steps.frames)} do not add up to {n_frames}")
        n = len(steps.frames)
        steps.gains = list(steps.gains) + [1.0] * (n - len(steps.gains))
        steps.offsets = list(steps.offsets) + [0.0] * (n - len(steps.offsets))
        return steps

    def per_frame(self, values) -> np.ndarray:
        """A per-session value repeated for every frame."""
        return np.repeat(np.asarray(values, np.float64), self.frames)


def add_sessions(scene, steps: SessionSteps) -> None:
    """Bleaching into the scene's factors (and the truth); gains kept for render."""
    fps = scene.truth.fps
    env = np.concatenate([_bleach_envelope(int(n), fps, steps.bleach, steps.bleach_tau_s)
                          for n in steps.frames])
    t = scene.truth
    t.C = (t.C * env[None]).astype(np.float32)
    t.S = (t.S * env[None]).astype(np.float32)
    t.settings.update(session_frames=list(steps.frames), session_gains=list(steps.gains),
                      session_offsets=list(steps.offsets), bleach=float(steps.bleach))
    scene.gain = scene.gain * env
    scene.blob_traces = (scene.blob_traces * env[None]).astype(np.float32)
    scene.steps = steps


def _bleach_envelope(n: int, fps: float, bleach: float, tau_s: float) -> np.ndarray:
    """``1 - bleach (1 - exp(-t / tau))`` over one session of ``n`` frames."""
    t = np.arange(n) / float(fps)
    return 1.0 - float(bleach) * (1.0 - np.exp(-t / max(float(tau_s), 1e-9)))


def session_gain_offset(steps: SessionSteps, Y: np.ndarray, start: int, stop: int) -> None:
    """Frames ``start:stop`` (above the camera offset) times their session's
    gain, plus its offset, in place."""
    g = steps.per_frame(steps.gains)[start:stop].astype(np.float32)
    o = steps.per_frame(steps.offsets)[start:stop].astype(np.float32)
    Y *= g[:, None, None]
    Y += o[:, None, None]
