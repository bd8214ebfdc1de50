"""The epoch driver's and the batched update's bookkeeping: the heap frozen while training, the kernel's reused
scratch arrays, the advantages' unmasked path, one serialization for the final checkpoint and model.zip."""

import gc

import numpy as np
import pytest

from mollirl.common import gradients
from mollirl.common.driver import frozen_heap


def test_the_heap_is_frozen_while_training_and_given_back_after():
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        outer = gc.get_freeze_count()
        assert outer > 0  # what existed when training started is out of the collector's view
        with frozen_heap():  # nested (a callback's own driver): still frozen, thawed once at the outer end
            pass
        assert gc.get_freeze_count() >= outer
    assert gc.get_freeze_count() == 0


def test_a_driver_run_freezes_the_heap_and_thaws_it(tmp_path, monkeypatch):
    import mollirl.common.driver as driver
    from mollirl.train import main

    seen = []
    epoch = driver.EpochDriver.epoch

    def counted(self, *a, **k):
        seen.append(gc.get_freeze_count())
        return epoch(self, *a, **k)

    monkeypatch.setattr(driver.EpochDriver, "epoch", counted)
    assert main(["--algo", "reinforce", "--env", "double-pendulum", "--epochs", "2", "--batch-episodes", "2",
                 "--horizon", "20", "-f", str(tmp_path)]) == 0
    assert len(seen) == 2 and all(n > 0 for n in seen)
    assert gc.get_freeze_count() == 0


def _kernel(P, seed, kind="linear"):
    T, N, O, A, H = 30, 4, 3, 2, 5
    rng = np.random.default_rng(seed)
    shapes = [("K", (A, O)), ("b", (A,))] if kind == "linear" else [("W1", (H, O)), ("b1", (H,)), ("W2", (A, H)),
                                                                      ("b2", (A,))]
    d = sum(int(np.prod(s)) for _, s in shapes)
    args = (kind, shapes, rng.standard_normal((P, d)), np.full((P, 1), -0.7), rng.standard_normal((T, P, N, O)),
            rng.standard_normal((T, P, N, A)), rng.standard_normal((T, P, N)))
    return args


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_the_kernels_reused_scratch_arrays_change_no_number(kind, monkeypatch):
    """Scratch arrays left by a call with other shapes (and other values) do not reach the next call's numbers,
    and a member's numbers do not depend on the group size the scratch arrays were sized for."""
    args = _kernel(6, 0, kind)
    first = gradients.reinforce_gradients(*args, learn_sigma=True)
    gradients.reinforce_gradients(*_kernel(11, 1, kind), learn_sigma=True)  # other shapes, other values
    again = gradients.reinforce_gradients(*args, learn_sigma=True)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(gradients, "MAX_ELEMENTS", 1)  # one member per group
    alone = gradients.reinforce_gradients(*args, learn_sigma=True)
    for a, b in zip(first, alone):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("ended_early", [False, True])
@pytest.mark.parametrize("baseline", ["none", "mean"])
def test_advantages_are_the_masked_formula(baseline, ended_early):
    """The advantages, with every episode run to the horizon (the fast path) or some ended early, give the
    masked formula's bits: returns-to-go less the mean over the episodes alive at that step, zero after an end."""
    from types import SimpleNamespace

    from mollirl.algos.reinforce import _advantages
    from mollirl.common.returns import returns_to_go
    from mollirl.rollout import Buffers

    T, P, N = 50, 3, 4
    rng = np.random.default_rng(2)
    buf = Buffers.allocate(T, P * N, 2, 1)
    buf.rewards[:] = rng.standard_normal((T, P * N))
    buf.end_row(np.arange(P * N), T - 1)
    if ended_early:
        buf.end_row(np.array([1, 5]), 20)  # two episodes end at step 20: zeros and dead steps after it
        buf.end_row(np.array([7]), 3)
        buf.dones[T - 1, [1, 5, 7]] = False
    # one member holding all P * N columns is enough to exercise the formula
    models = [SimpleNamespace(gamma=0.97, baseline=baseline,
                              _last_batch=SimpleNamespace(result=SimpleNamespace(buffers=buf)))]
    _, weights = _advantages(models)
    out = np.empty((1, T, P * N))
    weights(slice(0, 1), out)
    g = returns_to_go(buf.rewards, buf.dones, 0.97)
    live = buf.alive
    assert live.all() != ended_early
    kept = np.where(live, g, 0.0)
    if baseline == "none":
        ref = kept
    else:
        b = kept.sum(axis=1, keepdims=True) / np.maximum(live.sum(axis=1, keepdims=True), 1)
        ref = np.where(live, g - b, 0.0)
    np.testing.assert_array_equal(out[0], ref)


def test_the_final_checkpoint_and_model_zip_are_one_serialization(tmp_path):
    import zipfile

    from mollirl.train import main
    from mollirl.training.checkpoint import load_checkpoint_state

    assert main(["--algo", "reinforce", "--env", "double-pendulum", "--epochs", "3", "--batch-episodes", "2",
                 "--horizon", "20", "-f", str(tmp_path)]) == 0
    (run,) = (tmp_path / "reinforce").iterdir()
    state = load_checkpoint_state(run)  # verified: its hash is the file's
    final = run / "checkpoints" / state["zip"]
    assert state["epoch"] == 3
    assert final.read_bytes() == (run / "model.zip").read_bytes()
    with zipfile.ZipFile(run / "model.zip") as zf:
        assert zf.testzip() is None
    from mollirl.algos.reinforce import REINFORCE

    model = REINFORCE.load(run / "model.zip")
    assert model.epoch == 3 and model.num_timesteps == 3 * 2 * 20


@pytest.mark.parametrize("flush_seconds", [0.0, 0.2])
def test_tensorboard_events_reach_the_disk_without_a_checkpoint(tmp_path, monkeypatch, flush_seconds):
    """Events held back are handed to the writer's thread (FLUSH_SECONDS > 0), which writes them on its own
    period without anyone waiting, or flushed at every dump (FLUSH_SECONDS 0); the writer's thread never polls
    without pause (its period is never 0)."""
    import time

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    import mollirl.training.metrics as metrics
    from mollirl.training.run import _configure_logger

    monkeypatch.setattr(metrics, "FLUSH_SECONDS", flush_seconds)
    logger = _configure_logger(tmp_path, None)
    try:
        cpu = time.process_time()
        time.sleep(0.5)  # the writer's thread waits on its queue: a period of 0 made it poll (0.5 s of CPU here)
        assert time.process_time() - cpu < 0.2
        for e in range(3):
            logger.record("train/J_det", float(e))
            logger.dump(step=e)
            time.sleep(flush_seconds)  # past the hand-over period: the next dump hands the events over
        deadline = time.monotonic() + 30
        while True:
            acc = EventAccumulator(str(tmp_path))
            acc.Reload()
            steps = [ev.step for ev in acc.Scalars("train/J_det")] if "train/J_det" in acc.Tags()["scalars"] else []
            if len(steps) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert steps[:2] == [0, 1]  # at least the dumps handed over before the last one, without a checkpoint
        if flush_seconds == 0:
            assert steps == [0, 1, 2]
    finally:
        logger.close()
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    assert [ev.step for ev in acc.Scalars("train/J_det")] == [0, 1, 2]  # all of them at close
