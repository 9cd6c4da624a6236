"""The command line: verbs, one-line errors, exit codes, cancellation."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from types import SimpleNamespace as NS

import h5py
import numpy as np
import pytest

from caliali_tk import __version__, cli
from caliali_tk.demo.selftest import score_against_truth
from caliali_tk.demo.files import write_simulated

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, env=None, **kw):
    """``python -m caliali_tk ARGS`` in a subprocess."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "caliali_tk", *map(str, args)],
                          capture_output=True, text=True, env=full_env, timeout=300, **kw)


@pytest.fixture(scope="module")
def movie(tmp_path_factory):
    """A tiny simulated movie (64 x 64 x 300, 7 neurons) and its ground truth."""
    path = tmp_path_factory.mktemp("cli") / "movie.h5"
    truth = write_simulated(path, 64, 64, 300, n_neurons=8, seed=1)
    return path, truth


@pytest.fixture
def bad_file(tmp_path):
    path = tmp_path / "broken.h5"
    path.write_text("not a movie")
    return path


def one_line(text):
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_version():
    res = run_cli("--version")
    assert res.returncode == 0
    assert res.stdout.strip() == f"caliali-tk {__version__}"


def test_info(movie, capsys):
    path, _ = movie
    assert cli.main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(T, H, W) = (300, 64, 64)" in out
    assert "/Object" in out and "uint16" in out
    # no saved thresholds: they are suggested from the video's images (issue 10)
    assert "parameters  from suggested, default\n" in out
    assert re.search(r"^ +min_pnr +[\d.]+ +suggested$", out, re.M)
    assert re.search(r"^ +gSig +2.5 +default$", out, re.M)
    assert re.search(r"^line noise +rows [\d.]+ x pixel noise, columns", out, re.M)
    assert re.search(r"^suggestion +min_corr [\d.]+, min_pnr [\d.]+, gSig [\d.]+", out, re.M)
    assert re.search(r"^layout +matlab \(CaliAli's /Object\)", out, re.M)


def test_info_and_flags_with_sidecar(movie, tmp_path, capsys):
    from caliali_tk.io.params import FileParams, save_params
    copy = tmp_path / "copy.h5"
    shutil.copy(movie[0], copy)
    save_params(copy, FileParams(min_corr=0.7, min_pnr=6.5, gSig=3.0))
    assert cli.main(["info", str(copy)]) == 0
    out = capsys.readouterr().out
    for name, value in (("min_corr", "0.7"), ("min_pnr", "6.5"), ("gSig", "3")):
        assert re.search(rf"^ +{name} +{value} +sidecar copy.h5.caliali.json$", out, re.M)
    assert cli.main(["projections", str(copy), "--min-pnr", "9"]) == 0
    assert "min_corr=0.7 min_pnr=9 (gSig=3," in capsys.readouterr().out
    assert copy.with_name("copy_projections.h5").exists()


def test_info_shows_the_sessions(tmp_path, capsys):
    """Issue 9: from CaliAli's F, or detected from the brightness steps."""
    with_f = tmp_path / "f.h5"
    write_simulated(with_f, 32, 32, 600, n_neurons=3, seed=2, frames_per_session=[250, 350])
    assert cli.main(["info", str(with_f)]) == 0
    assert "2 sessions (from the file's F): 250, 350 frames" in capsys.readouterr().out
    steps = tmp_path / "steps.h5"
    write_simulated(steps, 32, 32, 600, n_neurons=3, seed=2,
                    sessions=dict(frames=[200, 400], gains=[1.0, 1.3], offsets=[0, 20]))
    assert cli.main(["info", str(steps)]) == 0
    out = capsys.readouterr()
    assert "2 sessions (detected from brightness steps): 200, 400 frames" in out.out
    assert "looking for sessions" in out.err


def test_bad_file_one_line(bad_file):
    res = run_cli("info", bad_file)
    assert res.returncode == 1
    assert one_line(res.stderr).startswith("caliali-tk: broken.h5: ")


def test_usage_error_one_line():
    res = run_cli("projections")
    assert res.returncode == 2
    one_line(res.stderr)


def test_projections_write_h5_and_png(movie, tmp_path, capsys):
    path, _ = movie
    out = tmp_path / "proj.h5"
    code = cli.main(["projections", str(path), "-o", str(out), "--png",
                     "--min-pnr", "5"])
    assert code == 0
    with h5py.File(out, "r") as f:
        for name in ("Cn", "PNR"):
            assert f[name].shape == (64, 64) and f[name].dtype == np.float32
        assert np.nanmax(f["PNR"][...]) > 5
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    stdout = capsys.readouterr().out
    from caliali_tk.io.params import FileParams
    assert f" seeds at min_corr={FileParams().min_corr:g} min_pnr=5 " in stdout


def test_extract_good_and_bad(movie, bad_file, capsys):
    path, truth = movie
    code = cli.main(["extract", str(path), str(bad_file), "--min-pnr", "5"])
    assert code == 1
    captured = capsys.readouterr()
    assert "broken.h5: " in captured.err
    assert "Traceback" not in captured.err
    out = path.with_name("movie_cnmfe.h5")
    assert out.exists()
    assert "neurons in" in captured.out and str(out) in captured.out
    from caliali_tk.io.results import load_results
    scores = score_against_truth(load_results(out), truth)
    assert scores["recall"] >= 0.5


def test_extract_output_needs_one_video(movie, bad_file):
    assert cli.main(["extract", str(movie[0]), str(bad_file), "-o", "x.h5"]) == 2


def test_demo_custom(tmp_path, capsys):
    out = tmp_path / "sim.h5"
    code = cli.main(["demo", "-o", str(out), "--size", "32", "40", "50",
                     "--neurons", "3", "--seed", "5"])
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    with h5py.File(out, "r") as f:
        assert f["Object"].shape == (50, 40, 32)  # MATLAB layout (T, W, H)


def test_unexpected_error_one_line_and_debug(movie, monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise RuntimeError("kaboom\nsecond line")

    import caliali_tk.pipeline as pipeline
    monkeypatch.setattr(pipeline, "compute_summary", boom)
    assert cli.main(["projections", str(movie[0])]) == 1
    err = one_line(capsys.readouterr().err)
    assert err.endswith("RuntimeError: kaboom (run with --debug for details)")
    assert cli.main(["projections", str(movie[0]), "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.fixture
def fake_gui(monkeypatch):
    """Replace ``caliali_tk.gui.app`` by a module recording ``run(paths, demo)``."""
    calls = []
    monkeypatch.setenv("DISPLAY", ":0")  # the fake needs none; passes the early check
    app = types.ModuleType("caliali_tk.gui.app")
    app.run = lambda paths, demo=False: calls.append((paths, demo)) or 0
    monkeypatch.setitem(sys.modules, "caliali_tk.gui.app", app)
    import caliali_tk.gui
    monkeypatch.setattr(caliali_tk.gui, "app", app, raising=False)
    return app, calls


def test_open_files_and_demo(fake_gui):
    """Files open as given; no file means the demo video, which the window
    prepares in the background (so the window shows at once)."""
    app, calls = fake_gui
    assert cli.main(["a.h5", "b.mat"]) == 0
    assert cli.main([]) == 0
    assert cli.main(["--debug", "open"]) == 0
    assert calls == [(["a.h5", "b.mat"], False), ([], True), ([], True)]


def test_no_display(fake_gui, capsys):
    import tkinter
    app, _ = fake_gui

    def no_display(paths, demo=False):
        raise tkinter.TclError("no display name and no $DISPLAY environment variable")

    app.run = no_display
    assert cli.main(["movie.h5"]) == 2
    err = one_line(capsys.readouterr().err)
    assert "cannot open a window" in err and "extract" in err


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="X11/Wayland only")
def test_no_display_fails_fast(fake_gui, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert cli.main([]) == 2  # before simulating the demo video
    assert "cannot open a window" in one_line(capsys.readouterr().err)
    assert fake_gui[1] == []


def test_ctrl_c_cancels_cleanly(tmp_path):
    movie = tmp_path / "long.h5"
    write_simulated(movie, 96, 96, 1500, n_neurons=20, seed=3)
    proc = subprocess.Popen([sys.executable, "-m", "caliali_tk", "extract", str(movie)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = time.monotonic() + 120
    for line in proc.stderr:  # non-terminal: one line per stage
        if "summary images" in line or time.monotonic() > deadline:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "cancelled" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()
                  if not p.name.endswith(".caliali-cache.h5")) == ["long.h5"]


def test_score_against_truth():
    rng = np.random.default_rng(0)
    C = rng.random((3, 100))
    truth = NS(centers=np.array([[10, 10], [30, 30], [50, 50]], float), C=C)
    found = NS(centers=np.array([[30, 32], [11, 10], [90, 90]], float),
               C=np.stack([C[1], C[0] + 0.01, C[2]]))
    s = score_against_truth(found, truth)
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 / 3) and s["median_r"] == pytest.approx(1.0)
    assert sorted(m[:2] for m in s["matches"]) == [(0, 1), (1, 0)]
    empty = score_against_truth(NS(centers=np.zeros((0, 2)), C=np.zeros((0, 100))), truth)
    assert empty["f1"] == 0.0 and empty["matches"] == []


def test_extract_deconvolution_preset_flag(movie, tmp_path, capsys):
    """``--deconv caliali`` reaches the extraction (and is kept in the results);
    a name that is not a preset is a one-line usage error."""
    import shutil

    from caliali_tk.io.results import load_results

    path = tmp_path / "m.h5"
    shutil.copy(movie[0], path)
    assert cli.main(["extract", str(path), "--min-pnr", "5", "--deconv", "caliali"]) == 0
    result = load_results(path.with_name("m_cnmfe.h5"))
    assert result.params["deconv_preset"] == "caliali"
    assert result.K > 0 and np.all(result.g[:, 1] != 0)  # CaliAli's AR(2) for every neuron
    capsys.readouterr()
    assert cli.main(["extract", str(path), "--deconv", "fast"]) == 2
    assert "invalid choice" in capsys.readouterr().err
