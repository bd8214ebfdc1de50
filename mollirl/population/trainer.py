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
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.common.errors import NonFiniteError
from mollirl.common.returns import returns_to_go
from mollirl.config import RunConfig
from mollirl.rollout import concat_rows

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
    """Every member shares :data:`SHARED_KEYS`; folders are distinct.

    :raises ValueError: naming the first key that differs.
    """
    if not members:
        raise ValueError("a population needs at least one member")
    first = members[0].config.to_dict()
    for m in members[1:]:
        mine = m.config.to_dict()
        for key in SHARED_KEYS:
            if mine[key] != first[key]:
                raise ValueError(f"population members must share {key}: {members[0].label or 0} has "
                                 f"{first[key]!r}, {m.label or m.run_dir} has {mine[key]!r}")
    dirs = [Path(m.run_dir).resolve() for m in members]
    if len(set(dirs)) != len(dirs):
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


def estimate_bytes(members: list[Member], obs_dim: int, action_dim: int) -> int:
    """Bytes a population's per-epoch arrays take: the rollout's buffers and noise (sized once for all
    members) and the actor-critic members' own SB3 rollout buffers."""
    T = members[0].config.horizon
    rows = sum(m.config.batch_episodes for m in members)
    core = T * rows * (8 * (obs_dim + 2 * action_dim + 1) + 2)  # obs, actions, noise, rewards; alive, dones
    critic = sum(T * m.config.batch_episodes * (8 * obs_dim + 4 * action_dim + 24)
                 for m in members if m.config.algo in ("ppo", "trpo"))
    return core + critic


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
        from mollirl.training import RunSession, make_envs

        from mollirl.training import check_names

        check_members(members)
        self.members = members
        first = members[0].config
        self.envs = {}  # batch_episodes -> shared Envs (a VecEnv for SB3's bookkeeping; the core steps its own rows)
        self.sessions = []
        self._backend = None
        self._buffers = None
        check_names(first)
        try:
            self.envs[first.batch_episodes] = make_envs(first)
            template = self.envs[first.batch_episodes].template
            need = estimate_bytes(members, int(np.prod(template.observation_space.shape)),
                                  int(np.prod(template.action_space.shape)))
            limit = memory_limit
            if limit is None:
                avail = available_memory()
                limit = None if avail is None else int(MEMORY_FRACTION * avail)
            if limit is not None and need > limit:
                raise ValueError(f"a population of {len(members)} members x {first.horizon} steps needs about "
                                 f"{_gib(need)} of buffers; the limit is {_gib(limit)} (half of the memory "
                                 f"available now): use fewer members or a shorter horizon")
            from mollirl.common.budget import check_members_fit

            check_members_fit(len(members))  # two open files and a writer thread per member, before any is made
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

    # --- the shared rollout ----------------------------------------------------------------
    def _backend_for(self, n_rows: int):
        """One backend for every member's rows: the env's pure dynamics, or one VecEnv of all rows."""
        from mollirl.common.env_util import make_vec_env
        from mollirl.rollout import AnalyticBackend, VecEnvBackend

        venv = next(iter(self.envs.values())).venv
        dynamics = getattr(venv, "batched_dynamics", None)
        if dynamics is not None:
            if self._backend is None:
                self._backend = AnalyticBackend(dynamics)
            return self._backend
        c = self.members[0].config
        if self._backend is None or self._backend.max_envs < n_rows:
            if self._backend is not None:
                self._backend.close()
            self._backend = VecEnvBackend(
                lambda k: make_vec_env(c.env, k, max_episode_steps=c.horizon, n_threads=c.n_threads, **c.env_kwargs),
                max_envs=n_rows)
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
        from mollirl.common.algorithm import EpochBatch
        from mollirl.training.checkpoint import StopFlag

        sessions = self.sessions
        targets = []
        for s in sessions:
            s.open()
        for i, s in enumerate(sessions):
            targets.append(s.model.start_epochs(s.remaining_timesteps, s.callback(),
                                                reset_num_timesteps=s.resume_state is None))
        active = [i for i, s in enumerate(sessions) if s.model.epoch < targets[i]]
        stop = StopFlag()
        stop.install()
        bar = _PopulationBar(sum(t - s.model.epoch for t, s in zip(targets, sessions)),
                             progress if isinstance(progress, str) else f"population of {len(sessions)}",
                             position) if progress else None
        try:
            while active:
                k = min(sessions[i].model.epoch for i in active)
                group = [i for i in active if sessions[i].model.epoch == k]
                parts, extras = [], []
                for i in group:
                    rows, n_train, extra = sessions[i].model.open_epoch(k)
                    parts.append((rows, n_train))
                    extras.append(extra)
                rows, n_train, blocks = concat_rows(parts)
                gamma = np.concatenate([
                    np.full(b.train.stop - b.train.start, sessions[i].model.gamma) for i, b in zip(group, blocks)]
                    + [np.full(b.det.size, sessions[i].model.gamma) for i, b in zip(group, blocks)])
                steppers = [sessions[i].model for i in group if sessions[i].model._per_step]

                def on_step(t: int) -> bool:
                    if stop.raised is not None:
                        return False
                    ok = True
                    for model in steppers:
                        ok = model.epoch_step(t) and ok
                    return ok

                result = self._backend_for(rows.n_rows).run(rows, horizon=sessions[group[0]].model.horizon,
                                                             gamma=gamma, buffer_rows=n_train, buffers=self._buffers,
                                                             on_step=on_step)
                self._buffers = result.buffers
                if not result.stopped and any(sessions[i].model.uses_returns_to_go for i in group):
                    buf = result.buffers  # every member's returns-to-go at once (per-column gamma: the same bits)
                    buf.rtg_gamma = gamma[:n_train]
                    buf.rtg = returns_to_go(buf.rewards, buf.dones, buf.rtg_gamma)
                if result.stopped:
                    for i in group:
                        model = sessions[i].model
                        model.num_timesteps = k * model.steps_per_epoch
                    break
                j_det: dict[int, float | None] = {}
                for i, block, (part_rows, part_train), extra in zip(group, blocks, parts, extras):
                    batch = EpochBatch(epoch=k, result=result.part(block), n_train=part_train,
                                       has_det=part_rows.n_rows > part_train, extra=extra)
                    try:
                        sessions[i].model.close_epoch(batch)
                        j_det[i] = float(batch.result.discounted[part_train]) if batch.has_det else math.nan
                    except NonFiniteError as exc:
                        error = sessions[i].fail(exc)
                        outcomes[i] = MemberOutcome(self.members[i], "stopped", reason=str(error))
                        j_det[i] = None
                if on_epoch is not None:
                    for i, reason in (on_epoch(k, j_det) or {}).items():
                        if outcomes[i] is None:
                            sessions[i].model.logger.close()
                            outcomes[i] = MemberOutcome(self.members[i], "dropped", reason=reason)
                if bar is not None:
                    bar.update(len(group), [float(result.discounted[b.det[0]]) for b in blocks if b.det.size])
                    bar.drop(sum(targets[i] - sessions[i].model.epoch for i in active if outcomes[i] is not None))
                active = [i for i in active if outcomes[i] is None and sessions[i].model.epoch < targets[i]]
        finally:
            stop.uninstall()
            if bar is not None:
                bar.close()
        interrupted = stop.raised is not None
        pending = [i for i in range(len(sessions)) if outcomes[i] is None]
        for i in pending:
            sessions[i].model.end_epochs()
        finals = {} if interrupted else self._final_rows(pending)
        for i in pending:
            s = sessions[i]
            done = s.finish(interrupted, finals.get(i))
            outcomes[i] = MemberOutcome(self.members[i], "interrupted" if interrupted else "finished",
                                        result=s.result(done, interrupted))
        return outcomes  # type: ignore[return-value]

    def _final_rows(self, members: list[int]) -> dict[int, dict[str, Any]]:
        """Every member's final J_det row in one rollout (the same bits as each member's own
        ``evaluate_det``); a member whose row is non-finite is left out (its ``finish`` rolls it
        alone and raises)."""
        from mollirl.common.algorithm import EpochAlgorithm

        if not members:
            return {}
        models = [self.sessions[i].model for i in members]
        rows, _, blocks = concat_rows([(m.det_rows(), 0) for m in models])
        gamma = np.array([m.gamma for m in models], dtype=np.float64)  # one row per member
        result = self._backend_for(rows.n_rows).run(rows, horizon=models[0].horizon, gamma=gamma)
        out = {}
        for i, block in zip(members, blocks):
            try:
                out[i] = EpochAlgorithm.final_metrics(result, int(block.det[0]))
            except NonFiniteError:
                pass
        return out

    def close(self) -> None:
        for s in getattr(self, "sessions", []):
            s.close()
        for envs in getattr(self, "envs", {}).values():
            envs.close()
        if getattr(self, "_backend", None) is not None:
            self._backend.close()


class _PopulationBar:
    """Member-epochs done of the total, with tqdm's rate and ETA."""

    def __init__(self, total: int, desc: str, position: int | None = None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=max(total, 0), desc=desc, unit="epoch", file=sys.stderr, leave=False,
                        position=position)

    def drop(self, epochs: int) -> None:
        """Members that left (pruned, failed, stopped) will not run ``epochs`` more: out of the total."""
        if epochs > 0:
            self.bar.total = max(self.bar.total - epochs, self.bar.n)
            self.bar.refresh()

    def update(self, n: int, j_det: list[float]) -> None:
        values = [v for v in j_det if math.isfinite(v)]
        if values:
            self.bar.set_postfix_str(f"best J_det {max(values):.4g}", refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()
