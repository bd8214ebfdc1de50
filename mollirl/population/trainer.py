"""Many runs of one env side by side: every member's rows in one batched rollout, each member's update its own.

A population is P members, each a full run config (sigma or schedule, seed, step size,
gamma, baseline, batch size may differ) of the same env, env kwargs, algorithm, policy
architecture and horizon. Each member is an ordinary :class:`~mollirl.training.RunSession`
(its own model, callbacks, logger, checkpoints, run folder); per epoch the population
runs every member's contract steps (:mod:`mollirl.common.algorithm`) around one rollout
of all their rows (:func:`mollirl.rollout.concat_rows`): member p's update depends only
on member p's episodes, computed by the same row-independent arithmetic as when it runs
alone, so a member's ``metrics.csv`` equals the same config trained alone byte for byte
(tested). A member that hits a non-finite value stops alone (its folder gets
``stopped.txt``); an ``on_epoch`` hook may drop members (a study prunes a trial's seeds
together); the others go on. SIGINT/SIGTERM stop every member at the same step: nothing of that
epoch is applied, each checkpoints and the population resumes exactly.

Every algorithm on the contract works: REINFORCE, PPO, TRPO (their updates read only
their own buffers; SB3's minibatch order comes from the global generators, which the
contract sets from the member's ``(seed, k)`` right before its update) and ARS.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.common.errors import NonFiniteError
from mollirl.common.files import batched_writes
from mollirl.config import RunConfig

#: config keys every member must share (one env, one rollout, one architecture)
SHARED_KEYS = ("env", "env_kwargs", "algo", "policy", "policy_kwargs", "horizon", "device", "n_threads", "plugins")
#: fraction of the available memory a population's buffers may take
MEMORY_FRACTION = 0.5


@dataclasses.dataclass
class Member:
    """One run of a population.

    :param config: the member's validated config.
    :param run_dir: its run folder (new, or to resume).
    :param resume: continue ``run_dir`` from its checkpoint.
    :param argv: written to its ``command.txt``.
    :param extra_callbacks: SB3 callbacks of this member only (a study's pruning reporter).
    :param label: shown in messages and summaries.
    """

    config: RunConfig
    run_dir: Path
    resume: bool = False
    argv: list[str] | None = None
    extra_callbacks: list | None = None
    label: str = ""


@dataclasses.dataclass
class MemberOutcome:
    """How a member ended: ``finished``, ``interrupted``, ``stopped`` (a non-finite value; ``reason``),
    ``dropped`` (by the ``on_epoch`` hook; ``reason``) or ``done`` (already finished before)."""

    member: Member
    status: str
    result: Any = None
    reason: str | None = None


def check_members(members: list[Member]) -> None:
    """Every member shares :data:`SHARED_KEYS`; folders are distinct. Linear in the members and free of
    system calls (a 30,000-member population is refused in milliseconds, not seconds).

    :raises ValueError: naming the first key that differs.
    """
    if not members:
        raise ValueError("a population needs at least one member")
    first = members[0].config
    shared = [(key, getattr(first, key)) for key in SHARED_KEYS]
    for m in members[1:]:
        for key, value in shared:
            mine = getattr(m.config, key)
            if mine is not value and mine != value:
                raise ValueError(f"population members must share {key}: {members[0].label or 0} has "
                                 f"{value!r}, {m.label or m.run_dir} has {mine!r}")
    dirs = {os.path.abspath(m.run_dir) for m in members}  # no symlinks resolved: a path string per member
    if len(dirs) != len(members):
        raise ValueError("two population members share a run folder")


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (``MemAvailable``), or None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def estimate_bytes(members: list[Member], obs_dim: int, action_dim: int, algo_class: type | None = None) -> int:
    """Bytes a population's per-epoch arrays take: the rollout's buffers and noise (sized once for all
    members) and, for an algorithm that declares ``critic_buffer`` (PPO, TRPO: SB3's ``RolloutBuffer``
    of values, log-probabilities, advantages), each member's own. Without ``algo_class``, the rollout's
    part alone (what can be counted before the algorithm is imported)."""
    T = members[0].config.horizon
    rows = sum(m.config.batch_episodes for m in members)
    core = T * rows * (8 * (obs_dim + 2 * action_dim + 1) + 2)  # obs, actions, noise, rewards; alive, dones
    if algo_class is None or not getattr(algo_class, "critic_buffer", False):
        return core
    return core + T * rows * (8 * obs_dim + 4 * action_dim + 24)


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


class Population:
    """P members trained in one process (see the module docstring).

    :param members: the members (shared keys checked; nothing is written until :meth:`train`).
    :param command: the program name written to each member's ``command.txt``.
    :param memory_limit: bytes the per-epoch arrays may take (default: half the available memory).
    :raises ValueError: on members that cannot share a rollout, bad configs, or a population
        whose arrays would not fit in ``memory_limit`` (the message gives both numbers).
    """

    def __init__(self, members: list[Member], *, command: str = "python -m mollirl.train",
                 memory_limit: int | None = None) -> None:
        from mollirl import registry
        from mollirl.common.env_util import make_env
        from mollirl.training import RunSession, check_names, make_envs

        check_members(members)
        self.members = members
        first = members[0].config
        self.envs = {}  # batch_episodes -> shared Envs (a VecEnv for SB3's bookkeeping; the core steps its own rows)
        self.sessions = []
        self._backend = None
        self._buffers = None
        check_names(first)
        template = make_env(first.env, **first.env_kwargs)
        try:
            dims = int(np.prod(template.observation_space.shape)), int(np.prod(template.action_space.shape))
        finally:
            template.close()
        limit = memory_limit
        if limit is None:
            avail = available_memory()
            limit = None if avail is None else int(MEMORY_FRACTION * avail)
        # the rollout's arrays first (no algorithm imported yet: a population far too large is refused at once),
        # then with the algorithm's own per-member buffers
        self._check_memory(estimate_bytes(members, *dims), limit)
        self._check_memory(estimate_bytes(members, *dims, registry.get("algos", first.algo).resolve()), limit)
        from mollirl.common.budget import check_members_fit

        check_members_fit(len(members))  # two open files and a writer thread per member, before any is made
        try:
            self.envs[first.batch_episodes] = make_envs(first)
            for m in members:
                n = m.config.batch_episodes
                if n not in self.envs:
                    self.envs[n] = make_envs(m.config)
                self.sessions.append(RunSession(m.config, argv=m.argv, run_dir=None if m.resume else m.run_dir,
                                                resume_dir=m.run_dir if m.resume else None,
                                                extra_callbacks=m.extra_callbacks, envs=self.envs[n],
                                                command=command))
        except BaseException:
            self.close()
            raise

    def _check_memory(self, need: int, limit: int | None) -> None:
        if limit is not None and need > limit:
            first = self.members[0].config
            raise ValueError(f"a population of {len(self.members)} members x {first.horizon} steps needs about "
                             f"{_gib(need)} of buffers; the limit is {_gib(limit)} (half of the memory "
                             f"available now): use fewer members or a shorter horizon")

    # --- the shared rollout ----------------------------------------------------------------
    def _backend_for(self, n_rows: int):
        """The rollout core's backend of every member's rows (:func:`mollirl.rollout.backend_for`, chosen once):
        the env's pure dynamics, or VecEnvs of as many copies as the population has rows."""
        from mollirl.common.env_util import make_vec_env
        from mollirl.rollout import backend_for

        if self._backend is None:
            c = self.members[0].config
            total = sum(s.model.n_envs + 1 for s in self.sessions)  # every member's rows and J_det row

            def make(k: int):
                return make_vec_env(c.env, k, max_episode_steps=c.horizon, n_threads=c.n_threads, **c.env_kwargs)

            self._backend = backend_for(make_venv=make, max_envs=max(total, n_rows))
        return self._backend

    # --- training ----------------------------------------------------------------------------
    def train(self, *, progress: bool | str = False, on_epoch=None, position: int | None = None) -> list[MemberOutcome]:
        """Train every member to its ``epochs``; return how each ended (in member order).

        :param progress: a tqdm bar on stderr of the member-epochs done, with its ETA (a string: the
            bar's label, default ``population of N``); a dropped or stopped member's remaining epochs
            leave the total.
        :param position: the bar's line (tqdm ``position``: one line per worker process).

        :param on_epoch: ``on_epoch(k, j_det) -> {member index: reason}`` after the members at epoch k
            closed it: ``j_det`` maps each of them to its J_det(theta_k), or to None when it stopped on
            a non-finite value in that epoch; the members returned are dropped (their folders keep
            what they have: no ``model.zip``).
        """
        outcomes: list[MemberOutcome | None] = [None] * len(self.sessions)
        try:
            return self._train(outcomes, progress, on_epoch, position)
        except Exception as exc:  # a full disk, a read-only folder, a plugin's error: every unfinished member cleans up
            removed = kept = 0
            for i, s in enumerate(self.sessions):
                if outcomes[i] is None:  # not finished, stopped or dropped yet
                    if s.fault_cleanup() is None:
                        removed += s.created
                    else:
                        kept += 1
            where = {str(s.run_dir.parent) for s in self.sessions}
            exc.add_note(f"{removed} new member folder(s) with nothing resumable removed, {kept} keep a checkpoint"
                         + (f": {'free space and ' if isinstance(exc, OSError) else ''}continue with --resume "
                            f"{' '.join(sorted(where))}" if kept else ""))
            raise

    def _train(self, outcomes: list, progress: bool | str, on_epoch, position: int | None = None) -> list[MemberOutcome]:
        from mollirl.common.driver import EpochBar, EpochDriver
        from mollirl.training.checkpoint import StopFlag

        sessions = self.sessions
        stop = StopFlag()
        driver = EpochDriver([s.model for s in sessions], self._backend_for, stop_flag=stop)
        with batched_writes():  # every member's initial.zip, config.yml and command.txt flushed together
            for s in sessions:
                s.open()
        for i, s in enumerate(sessions):
            driver.start(i, s.remaining_timesteps, s.callback(), reset_num_timesteps=s.resume_state is None)

        def failed(i: int, exc: NonFiniteError) -> None:
            error = sessions[i].fail(exc)
            outcomes[i] = MemberOutcome(self.members[i], "stopped", reason=str(error))

        def epoch_done(k: int, j_det: dict[int, float | None]) -> dict[int, str]:
            if on_epoch is None:
                return {}
            dropped = {}
            for i, reason in (on_epoch(k, j_det) or {}).items():
                if outcomes[i] is None:
                    sessions[i].model.logger.close()
                    outcomes[i] = MemberOutcome(self.members[i], "dropped", reason=reason)
                    dropped[i] = reason
            return dropped

        stop.install()
        bar = EpochBar(driver.remaining(), progress if isinstance(progress, str) else f"population of {len(sessions)}",
                       position) if progress else None
        try:
            interrupted = driver.run(bar=bar, on_failure=failed, on_epoch=epoch_done)
        finally:
            stop.uninstall()
            if bar is not None:
                bar.close()
        pending = [i for i in range(len(sessions)) if outcomes[i] is None]
        driver.end(pending)
        finals = {} if interrupted else driver.final_rows(pending)
        dones = {}
        with batched_writes():  # the final checkpoints and model.zip files flushed together
            for i in pending:
                dones[i] = sessions[i].finish(interrupted, finals.get(i))
        for i in pending:
            outcomes[i] = MemberOutcome(self.members[i], "interrupted" if interrupted else "finished",
                                        result=sessions[i].result(dones[i], interrupted))
        return outcomes  # type: ignore[return-value]

    def close(self) -> None:
        for s in getattr(self, "sessions", []):
            s.close()
        for envs in getattr(self, "envs", {}).values():
            envs.close()
        if getattr(self, "_backend", None) is not None:
            self._backend.close()
