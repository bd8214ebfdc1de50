"""``python -m mollirl.reproduce behaviour --quick``: the Figure 6 runs' hoppers filmed, measured, and reused."""

import json
import shutil

import numpy as np
import pytest

from mollirl.reproduce.__main__ import main
from mollirl.video import gl_backend_works, has_display
from reproduce_checks import check_summary, verdicts

SIGMAS = ["0.005", "0.05", "0.5", "5"]


@pytest.fixture
def gl(monkeypatch):
    """Whether MuJoCo can render here; MUJOCO_GL as it was once the test ends (rendering may set it)."""
    import os

    works = bool(os.environ.get("MUJOCO_GL")) or has_display() or gl_backend_works("egl") or gl_backend_works("osmesa")
    monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", ""))  # records the value to restore, or its absence
    if not os.environ["MUJOCO_GL"]:
        monkeypatch.delenv("MUJOCO_GL")
    return works


def test_behaviour_quick_then_reuse_figure6_runs(tmp_path, capsys, monkeypatch, gl):
    out = tmp_path / "behaviour"
    assert main(["behaviour", "--quick", "-o", str(out), "--jobs", "1"]) == 0
    summary = json.loads((out / "behaviour.json").read_text())
    assert sorted(summary["per_sigma"], key=float) == SIGMAS
    for key, entry in summary["per_sigma"].items():
        assert [s["seed"] for s in entry["seeds"]] == [0, 1]
        assert entry["shown_seed"] in (0, 1)
        for s in entry["seeds"]:
            assert s["matches_metrics"] and s["steps"] == 50 and not s["run_dir"].startswith("/")
            assert 0.0 <= s["standing_fraction"] <= 1.0
            assert len(s["torso_height_every_10_steps"]) == 6 and s["torso_height_every_10_steps"][0] > 1.2
        assert 0.0 <= entry["fraction_of_seeds_standing_at_end"] <= 1.0
        assert entry["final_J_det"]["q1"] <= entry["final_J_det"]["median"] <= entry["final_J_det"]["q3"]
    check_summary(out / "behaviour.json", tmp_path)
    assert verdicts(summary)["the filmed episode is the J_det row of metrics.csv, bit for bit, for every run"] == "holds"
    assert str(tmp_path) not in (out / "behaviour.json").read_text()  # no absolute path
    assert (out / "behaviour_torso.png").stat().st_size > 1000
    assert summary["rendered"] == gl, summary["render_note"]
    if gl:
        import imageio

        for key in SIGMAS:
            assert (out / f"behaviour_sigma_{key}.png").stat().st_size > 1000
            with imageio.v2.get_reader(out / f"behaviour_sigma_{key}.mp4", format="FFMPEG") as reader:
                frames = np.stack(list(reader.iter_data()))
            assert frames.shape == (51, 120, 120, 3)  # the reset frame and one per step, 120 px in --quick
        assert (out / "behaviour_filmstrips.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "the filmed episode is the J_det row" in printed
    # a finished figure6 folder beside it is reused (same configs), and the JSON points there relatively
    shutil.move(str(out / "runs"), str(tmp_path / "figure6" / "runs"))
    assert main(["behaviour", "--quick", "-o", str(out), "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "8 from" in printed and printed.count("reused") == 8 and not (out / "runs").exists()
    again = json.loads((out / "behaviour.json").read_text())
    seed = again["per_sigma"]["0.05"]["seeds"][0]
    assert seed["run_dir"] == "../figure6/runs/sigma_0.05/seed_0"
    assert seed["J_det"] == summary["per_sigma"]["0.05"]["seeds"][0]["J_det"]
    # where MuJoCo cannot render: the numbers and the torso plot, and the JSON says why
    import mollirl.common.playback as playback

    def no_gl(*args, **kwargs):
        raise ValueError("MuJoCo cannot render frames here: no display, and neither EGL nor OSMesa works")

    monkeypatch.setattr(playback, "EpisodeRenderer", no_gl)
    for old in out.glob("behaviour_*"):
        old.unlink()
    assert main(["behaviour", "--quick", "-o", str(out), "--jobs", "1"]) == 0
    blind = json.loads((out / "behaviour.json").read_text())
    assert not blind["rendered"] and "neither EGL nor OSMesa" in blind["render_note"]
    assert blind["per_sigma"]["0.05"]["seeds"][0]["J_det"] == seed["J_det"]
    assert sorted(p.name for p in out.iterdir()) == ["behaviour.json", "behaviour_torso.png"]
