"""Fixtures for study tests: tiny budgets, a test plugin (a diverging env, a slow env), the PostgreSQL URL,
study commands started at one instant."""

import json
import os
import subprocess
import sys
import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout  # the built-in TimeoutError only from 3.11

import pytest

#: a study trial in well under a second: 2 epochs x 2 episodes x 20 steps
TINY = ["--epochs", "2", "--horizon", "20", "--batch-episodes", "2"]


@pytest.fixture
def tiny():
    return list(TINY)


@pytest.fixture(scope="session")
def study_plugin(tmp_path_factory):
    """A plugin file registering two test envs (linear policy from zero):

    * ``study-nan``: reward ``-|a|^2``, but NaN once an action component exceeds 3 in
      magnitude, so a large sigma makes REINFORCE's loss non-finite;
    * ``study-slow``: reward ``-|a|^2``, each vector step sleeps ``delay`` seconds
      (a trial long enough to kill a worker in the middle of it);
    * ``one-step``: one step from s = 0, reward ``-(a - 1)^2``, trained for one epoch by plain SGD
      (step 0.5) from b = 0 with N = 4 episodes and no baseline: the final J_det is
      ``-0.25 (g - 2)^2`` with g the batch's REINFORCE estimate, so its expectation is known in
      closed form, ``J(sigma) = -(1 / 16)(1 / sigma^2 + 14 + 15 sigma^2)``, with its maximum at
      ``sigma* = 15^(-1/4) = 0.508`` (the estimator's variance against the smoothing's bias).
    """
    path = tmp_path_factory.mktemp("plugin") / "study_test_plugin.py"
    path.write_text(textwrap.dedent('''
        import time
        import gymnasium as gym
        import numpy as np
        from mollirl.envs import EnvPlugin
        from mollirl.registry import register

        class _Base(gym.Env):
            observation_space = gym.spaces.Box(-1, 1, (2,), np.float64)
            action_space = gym.spaces.Box(-10, 10, (2,), np.float64)
            def __init__(self, delay=0.0):
                self.delay = delay
            def reset(self, *, seed=None, options=None):
                super().reset(seed=seed)
                return np.full(2, 0.5), {}
            def _reward(self, action):
                return -float(np.sum(np.square(action)))
            def step(self, action):
                if self.delay:
                    time.sleep(self.delay)
                return np.full(2, 0.5), self._reward(np.asarray(action)), False, False, {}

        class NanEnv(_Base):
            def _reward(self, action):
                return float("nan") if np.abs(action).max() > 3 else super()._reward(action)

        class OneStep(gym.Env):
            observation_space = gym.spaces.Box(-1, 1, (1,), np.float64)
            action_space = gym.spaces.Box(-100, 100, (1,), np.float64)
            def reset(self, *, seed=None, options=None):
                super().reset(seed=seed)
                return np.zeros(1), {}
            def step(self, action):
                a = float(np.clip(action, -100, 100)[0])
                return np.zeros(1), -(a - 1.0) ** 2, True, False, {}

        for env_id, cls in (("test/StudyNan-v0", NanEnv), ("test/StudySlow-v0", _Base)):
            if env_id not in gym.registry:
                gym.register(env_id, entry_point=cls, max_episode_steps=1000)
        if "test/OneStep-v0" not in gym.registry:
            gym.register("test/OneStep-v0", entry_point=OneStep, max_episode_steps=1)
        preset = {"policy": "linear", "policy_init": "zero", "epochs": 2, "horizon": 20, "batch_episodes": 2}
        register("envs", "study-nan", EnvPlugin(gym_id="test/StudyNan-v0", preset=preset),
                 help="test env: NaN reward for |a| > 3", overwrite=True)
        register("envs", "study-slow", EnvPlugin(gym_id="test/StudySlow-v0", preset=preset),
                 help="test env: sleeps per step", overwrite=True)
        one = {"policy": "linear", "policy_init": "zero", "horizon": 1, "epochs": 1, "batch_episodes": 4,
               "update": "sgd", "step_size": 0.5, "baseline": "none", "gamma": 1.0}
        register("envs", "one-step", EnvPlugin(gym_id="test/OneStep-v0", preset=one),
                 help="test env: one step, J(sigma) known in closed form", overwrite=True)
    '''))
    return str(path)


@pytest.fixture
def postgres_url():
    """``MOLLIRL_TEST_POSTGRES_URL`` (set by ``source .ci/postgres.sh``).

    Unset: the test is skipped, except under CI (``CI`` set), where a missing
    server is a failure rather than a silently skipped distributed test.
    """
    url = os.environ.get("MOLLIRL_TEST_POSTGRES_URL")
    if not url:
        message = "MOLLIRL_TEST_POSTGRES_URL is not set (source .ci/postgres.sh to start a server)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}")
        pytest.skip(message)
    return url


@pytest.fixture
def pg_study(postgres_url):
    """A unique study name on the PostgreSQL server, deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    import optuna

    from mollirl.studies.storage import normalize_url

    try:
        optuna.delete_study(study_name=name, storage=normalize_url(postgres_url))
    except KeyError:
        pass


#: a study command process: runs ``python -m mollirl.study``'s ``main`` once per line of stdin (a JSON argv)
_COMMAND_LOOP = textwrap.dedent('''
    import json, sys
    from mollirl.study import main
    for line in sys.stdin:
        try:
            code = main(json.loads(line))
        except SystemExit as exc:
            code = exc.code
        print(f"@@exit {code}", flush=True)
''')


class SimultaneousCommands:
    """``n`` processes, each a ``python -m mollirl.study`` command that :meth:`run` starts at one instant.

    Each process imports mollirl once, then waits; :meth:`run` hands every process its
    arguments in the same moment, so the commands reach the storage within milliseconds
    of each other (separate ``Popen`` calls would spread them over seconds of imports and
    race only now and then). A process runs one command per :meth:`run`, as many times as asked.
    """

    def __init__(self, n: int) -> None:
        self.procs = [subprocess.Popen([sys.executable, "-u", "-c", _COMMAND_LOOP], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                      for _ in range(n)]

    def run(self, argvs: list[list[str]], timeout: float = 120) -> list[tuple[int, str]]:
        """Start ``argvs[i]`` in process ``i``, all at once; return each command's (exit code, output)."""
        assert len(argvs) == len(self.procs)
        lines = [json.dumps([str(a) for a in argv]) + "\n" for argv in argvs]
        for proc, line in zip(self.procs, lines):  # all written before any is read: one instant
            proc.stdin.write(line)
        for proc in self.procs:
            proc.stdin.flush()

        def collect(proc) -> tuple[int, str]:
            out = []
            for line in proc.stdout:
                if line.startswith("@@exit "):
                    return int(line.split()[1]), "".join(out)
                out.append(line)
            return -1, "".join(out) + f"[process exited with {proc.wait()}]"

        with ThreadPoolExecutor(len(self.procs)) as pool:
            futures = [pool.submit(collect, proc) for proc in self.procs]
            try:
                return [f.result(timeout=timeout) for f in futures]
            except FutureTimeout:
                self.close(kill=True)
                raise

    def close(self, kill: bool = False) -> None:
        for proc in self.procs:
            if kill:
                proc.kill()
            elif proc.stdin and not proc.stdin.closed:
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def simultaneous_commands():
    """``start(n)`` -> a :class:`SimultaneousCommands` of ``n`` processes, shared by the tests of a session
    (their imports, several seconds on 2 cores, are paid once), closed at its end."""
    started: dict[int, SimultaneousCommands] = {}

    def start(n: int) -> SimultaneousCommands:
        if n not in started or any(proc.poll() is not None for proc in started[n].procs):
            started[n] = SimultaneousCommands(n)
        return started[n]

    yield start
    for commands in started.values():
        commands.close()
