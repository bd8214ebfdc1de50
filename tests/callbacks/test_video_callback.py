"""``--callback video:every=N``: clips of the deterministic policy in videos/ and TensorBoard, bad options."""

import io

import numpy as np
import pytest
from suite import CONTRACT_PLUGIN

from mollirl.train import main as train_main
from mollirl.training.metrics import read_metrics

imageio = pytest.importorskip("imageio")
TINY = ["--horizon", "20", "--batch-episodes", "2", "--epochs", "3", "--no-progress", "--seed", "2"]


def _train(tmp_path, callback, env="double-pendulum"):
    assert train_main(["--env", env, "-f", str(tmp_path), *TINY, "--callback", callback,
                       "--plugin", CONTRACT_PLUGIN]) == 0
    (run,) = (tmp_path / "reinforce").iterdir()
    return run


def _events(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    return acc


def test_clips_in_run_folder_and_tensorboard(tmp_path):
    run = _train(tmp_path, "video:every=2")
    videos = run / "videos"
    assert sorted(p.name for p in videos.iterdir()) == ["epoch_000000.mp4", "epoch_000002.mp4", "epoch_000003.mp4"]
    for path in videos.iterdir():
        with imageio.v2.get_reader(path, format="FFMPEG") as reader:
            frames = np.stack(list(reader.iter_data()))
        assert frames.shape == (21, 400, 400, 3)  # the reset frame and one per step
    acc = _events(run)
    steps_per_epoch = 2 * 20
    images = acc.Images("video/episode")
    assert [e.step for e in images] == [0, 2 * steps_per_epoch, 3 * steps_per_epoch]
    for event in images:
        gif = imageio.v3.imread(io.BytesIO(event.encoded_image_string), index=None, extension=".gif")
        assert gif.shape[1:3] == (200, 200) and 2 <= gif.shape[0] <= 11  # every 2nd step of 20, halved
        assert (event.width, event.height) == (200, 200)
    # the clip is the J_det row: its return is train/J_det_undiscounted at the same x
    clip = {e.step: e.value for e in acc.Scalars("video/return")}
    row = {e.step: e.value for e in acc.Scalars("train/J_det_undiscounted")}
    assert clip and all(clip[s] == row[s] for s in clip)
    metrics = read_metrics(run / "metrics.csv")
    assert np.float32(metrics[-1]["J_det_undiscounted"]) == np.float32(clip[3 * steps_per_epoch])


def test_gif_clips_without_tensorboard(tmp_path):
    run = _train(tmp_path, "video:every=5,format=gif,tensorboard=false", env="quadrotor")
    assert sorted(p.name for p in (run / "videos").iterdir()) == ["epoch_000000.gif", "epoch_000003.gif"]
    gif = imageio.v3.imread(run / "videos" / "epoch_000003.gif", index=None)
    assert gif.shape[1:] == (400, 400, 3) and 2 <= gif.shape[0] <= 21  # 10 fps: every step
    assert "video/episode" not in _events(run).Tags()["images"]


@pytest.mark.parametrize("spec, message", [
    ("video:every=0", "every must be an integer >= 1, got 0"),
    ("video:format=avi", "format must be one of ['mp4', 'gif'], got 'avi'"),
    ("video:tensorboard=maybe", "tensorboard must be true or false"),
    ("video:tb_size=4", "tb_size must be an integer >= 16"),
    ("video:bogus=1", "bad options for callback 'video'"),
])
def test_bad_options_one_line_no_run_folder(tmp_path, capsys, spec, message):
    assert train_main(["--env", "double-pendulum", "-f", str(tmp_path), *TINY, "--callback", spec]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not any(tmp_path.iterdir())


def test_env_that_cannot_render(tmp_path, capsys):
    assert train_main(["--env", "test-point", "-f", str(tmp_path), *TINY, "--callback", "video",
                       "--plugin", CONTRACT_PLUGIN]) == 2
    assert "env 'test-point' cannot render frames" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
