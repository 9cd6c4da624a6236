"""Sessions (issue 9): detection from brightness steps, gains, per-session estimates."""

import numpy as np
import pytest

from caliali_tk.core.sessions import (SessionLayout, detect_sessions, fit_gain_offset,
                                      session_gains)
from caliali_tk.core.summary import summary_images
from caliali_tk.demo.files import write_simulated
from caliali_tk.demo.simulate import simulate
from caliali_tk.errors import ParamsError
from caliali_tk.io.video import VideoFile
from caliali_tk.pipeline.sessions import (SessionInfo, frame_brightness, known_sessions,
                                          resolve_sessions, session_video)

GAINS = [1.0, 1.25, 0.85, 1.1]
OFFSETS = [0.0, 30.0, -20.0, 10.0]


def _walk(rng, T, scale):
    return scale * np.cumsum(rng.normal(0, 1, T)) / np.sqrt(T)


# ---------------------------------------------------------------- detection --

@pytest.mark.parametrize("counts", [[500, 700], [300, 300, 400, 250], [150] * 6])
def test_steps_are_found_at_the_right_frames(counts):
    rng = np.random.default_rng(len(counts))
    T = sum(counts)
    levels = 1000 * np.array([1.0, 1.25, 0.85, 1.1, 0.95, 1.05])[:len(counts)]
    m = np.repeat(levels, counts) + rng.normal(0, 2.0, T) + _walk(rng, T, 5.0)
    assert detect_sessions(m) == counts


def test_small_step_is_found_when_well_above_the_frame_noise():
    rng = np.random.default_rng(3)
    m = np.r_[np.full(800, 1000.0), np.full(800, 1040.0)] + rng.normal(0, 1.0, 1600)
    assert detect_sessions(m) == [800, 800]


@pytest.mark.parametrize("tau", [50.0, 400.0, 3000.0])
def test_continuous_bleaching_is_one_session(tau):
    rng = np.random.default_rng(int(tau))
    t = np.arange(6000)
    m = 1000 * (0.6 + 0.4 * np.exp(-t / tau)) + rng.normal(0, 1.0, t.size)
    assert detect_sessions(m) == [6000]


def test_single_odd_frames_and_slow_waves_are_not_sessions():
    rng = np.random.default_rng(5)
    t = np.arange(4000)
    m = 1000 + 30 * np.sin(2 * np.pi * t / 900) + rng.normal(0, 1.0, t.size)
    m[[700, 1800, 1801, 3100]] += [300, -250, -250, 400]  # dropped / flashed frames
    assert detect_sessions(m) == [4000]


def test_sessions_shorter_than_the_minimum_are_not_believed():
    m = np.r_[np.full(1000, 100.0), np.full(40, 150.0), np.full(1000, 100.0)]
    m += np.random.default_rng(0).normal(0, 0.1, m.size)
    counts = detect_sessions(m, min_frames=100)
    assert all(c >= 100 for c in counts) and sum(counts) == m.size


def test_simulated_movies_with_and_without_sessions(tmp_path):
    frames = [400, 500, 300, 400]
    steps = dict(frames=frames, gains=GAINS, offsets=OFFSETS, bleach=0.2, bleach_tau_s=30.0)
    cut = tmp_path / "cut.h5"
    write_simulated(cut, 48, 48, 1600, n_neurons=8, seed=2, sessions=steps)
    cont = tmp_path / "cont.h5"  # one long bleaching session, no step
    write_simulated(cont, 48, 48, 1600, n_neurons=8, seed=2,
                    sessions=dict(frames=[1600], bleach=0.4, bleach_tau_s=40.0))
    with VideoFile(cut) as vf:
        assert detect_sessions(frame_brightness(vf)) == frames
    with VideoFile(cont) as vf:
        assert detect_sessions(frame_brightness(vf)) == [1600]


# ------------------------------------------------------------ gain / offset --

def test_gain_and_offset_from_images_with_changed_pixels():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:96, 0:96]
    ref = 300 + 500 * np.exp(-((yy - 40) ** 2 + (xx - 55) ** 2) / 2000.0)
    img = 1.25 * ref + 30 + rng.normal(0, 2, ref.shape)
    changed = rng.random(ref.shape) < 0.1  # another day: a tenth of the pixels differ
    img[changed] += rng.uniform(50, 300, changed.sum())
    g, o = fit_gain_offset(ref, img)
    assert abs(g - 1.25) < 0.01 and abs(o - 30) < 5


def test_flat_images_give_an_offset_only():
    ref = np.full((32, 32), 500.0)
    g, o = fit_gain_offset(ref, ref + 40.0)
    assert g == 1.0 and abs(o - 40.0) < 1e-6


def test_session_gains_of_a_simulated_movie_and_normalised_reading(tmp_path):
    frames = [600, 600, 600, 600]
    path = tmp_path / "cut.h5"
    write_simulated(path, 64, 64, 2400, n_neurons=10, seed=4,
                    sessions=dict(frames=frames, gains=GAINS, offsets=OFFSETS),
                    frames_per_session=frames)
    plain = tmp_path / "plain.h5"
    write_simulated(plain, 64, 64, 2400, n_neurons=10, seed=4)
    with VideoFile(path) as vf, VideoFile(plain) as vp:
        info = resolve_sessions(vf)
        assert info == SessionInfo(tuple(frames), "file")
        svf = session_video(vf, info)
        # the simulator's gain multiplies the signal above its camera offset of 200
        expect_o = np.array(OFFSETS) + 200 * (1 - np.array(GAINS))
        # the background also drifts slowly by a few % between days
        assert np.allclose(svf.gains, GAINS, atol=0.04)
        assert np.allclose(svf.offsets, expect_o, atol=15)
        a, b = svf.read(1190, 1210), vp.read(1190, 1210)
        assert np.median(np.abs(a - b) / b) < 0.03
        assert svf.shape == vf.shape and svf.frames_per_session == frames


def test_per_session_gains_from_images():
    rng = np.random.default_rng(2)
    base = 200 + 300 * rng.random((40, 40))
    meds = [base, 0.9 * base - 5, 1.3 * base + 12]
    g, o = session_gains(meds)
    assert np.allclose(g, [1, 0.9, 1.3], atol=1e-6) and np.allclose(o, [0, -5, 12], atol=1e-4)


# ------------------------------------------------------------- resolution --

def test_sidecar_then_file_then_detection(tmp_path):
    path = tmp_path / "m.h5"
    write_simulated(path, 32, 32, 600, n_neurons=4, seed=1,
                    sessions=dict(frames=[300, 300], gains=[1.0, 1.3]))
    with VideoFile(path) as vf:
        assert known_sessions(vf) is None  # nothing known before the pass
        assert resolve_sessions(vf) == SessionInfo((300, 300), "detected")
        assert known_sessions(vf) == SessionInfo((300, 300), "detected")  # cached
        assert resolve_sessions(vf, [200, 400]).source == "sidecar"
        with pytest.raises(ParamsError, match="m.h5: frames_per_session adds up to 500"):
            resolve_sessions(vf, [200, 300])
    plain = tmp_path / "p.h5"
    write_simulated(plain, 32, 32, 600, n_neurons=4, seed=1, frames_per_session=[100, 500])
    with VideoFile(plain) as vf:
        assert resolve_sessions(vf) == SessionInfo((100, 500), "file")


def test_layout():
    lay = SessionLayout.of([3, 2, 4])
    assert lay.starts.tolist() == [0, 3, 5, 9]
    assert lay.sessions_of(2, 6).tolist() == [0, 1, 1, 2]
    with pytest.raises(ValueError):
        SessionLayout.of([3, 2], n_frames=6)


# ---------------------------------------------------------- summary images --

def _pnr_p99(a, b):
    return float(np.percentile(np.abs(a.PNR - b.PNR), 99))


@pytest.mark.parametrize("spatial_filter", [True, False])
def test_summary_images_are_not_driven_by_the_steps(spatial_filter):
    """The movie cut into brighter and darker days gives the images of the
    same movie without the steps (with the same session layout, so the
    only difference is the steps), and far from those without sessions."""
    frames = [500, 500, 500, 500]
    steps = dict(frames=frames, gains=GAINS, offsets=OFFSETS)
    Yc, _ = simulate(64, 64, 2000, n_neurons=12, seed=3)
    Ys, _ = simulate(64, 64, 2000, n_neurons=12, seed=3, sessions=steps)
    cont = summary_images(Yc, 2.5, spatial_filter, sessions=frames)
    aware = summary_images(Ys, 2.5, spatial_filter, sessions=frames)
    blind = summary_images(Ys, 2.5, spatial_filter)
    one = summary_images(Yc, 2.5, spatial_filter)
    assert _pnr_p99(aware, cont) < 0.05
    assert np.corrcoef(aware.Cn.ravel(), cont.Cn.ravel())[0, 1] > 0.995
    # without sessions the steps show: worse than the per-session error
    assert _pnr_p99(blind, one) > 1.5 * _pnr_p99(aware, one)
    assert np.corrcoef(aware.Cn.ravel(), one.Cn.ravel())[0, 1] > \
        np.corrcoef(blind.Cn.ravel(), one.Cn.ravel())[0, 1] + 0.02
    assert aware.n_frames == 2000


def test_one_session_gives_the_images_of_no_session():
    Y, _ = simulate(48, 48, 600, n_neurons=6, seed=8)
    a = summary_images(Y, 2.5, sessions=[600])
    b = summary_images(Y, 2.5)
    assert np.array_equal(a.PNR, b.PNR) and np.array_equal(a.Cn, b.Cn)


def test_noise_pass_holds_one_session_at_a_time():
    """Ten sessions must not cost ten sessions' buffers (issue 9, memory)."""
    from caliali_tk.core.noise_pass import SessionNoisePass
    Y = np.random.default_rng(0).standard_normal((3000, 16, 16)).astype(np.float32)
    npass = SessionNoisePass((16, 16), [300] * 10, 2.5)
    alive = 0
    for a, b in npass.plan:
        for s in range(a, b, 64):
            npass.add(Y[s:min(s + 64, b)], s)
            alive = max(alive, sum(p is not None for p in npass._passes))
    res = npass.finish()
    assert alive == 1 and res.session_sn.shape == (10, 16, 16)
    assert np.allclose(np.median(res.session_sn), np.median(res.sn), rtol=0.05)
