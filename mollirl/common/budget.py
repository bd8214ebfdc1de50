"""What a command will cost, estimated before any work or any file: counts, memory, threads, files, processes.

Every command checks its sizes here before it writes anything, and refuses in one line
(``ValueError``: exit code 2) giving the estimate and the limit:

* **counts** (epochs, episodes, horizons, trials, grid points, env steps) must be integers
  in ``[low, 2^63 - 1]``: every count is an int64 somewhere (numpy indices, the ``timesteps``
  column, SB3's ``num_timesteps``, Optuna's trial numbers), so a larger one would wrap or crash
  late; :func:`check_count`, :func:`check_product`;
* **memory**: the arrays a command allocates at once (rollout buffers and noise, landscape
  grids, stored episodes) against :data:`MEMORY_FRACTION` of the memory available now (the
  smaller of ``MemAvailable``, the cgroup's limit less its usage and ``RLIMIT_AS`` less the
  process's size); :func:`check_memory`;
* **threads and open files** of a population (a TensorBoard writer thread and two open files per
  member) against ``RLIMIT_NOFILE`` and the thread limits; :func:`check_members_fit`;
* **processes** of ``--n-jobs`` / ``--jobs`` against the cgroup's and the user's process limits
  and the memory a worker takes; :func:`check_workers`.

Huge but feasible work (``--epochs 10**9``) is not refused: it runs and says its ETA
(:class:`EtaNote`). Nothing here imports numpy, torch or an env: a refusal is instant.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

#: the largest count mollirl takes: numpy's and torch's int64
INT64_MAX = 2**63 - 1
#: fraction of the available memory one command's arrays may take (the population's rule)
MEMORY_FRACTION = 0.5
#: bytes a study or reproduction worker process takes once PyTorch, SB3 and an env are imported and it trains:
#: 308 MiB resident measured here (``VmRSS`` of a worker of ``study --n-jobs 2`` on double-pendulum), rounded up
WORKER_BYTES = 320 * 2**20
#: tasks (threads) a worker process counts against a process limit besides its members' writer threads: its
#: main thread and Optuna's heartbeat (2 measured, ``Threads`` of the same worker), and room for library pools
WORKER_TASKS = 4
#: open files and threads of a population member: metrics.csv and TensorBoard's event file; its writer thread
MEMBER_FILES = 2
MEMBER_THREADS = 1
#: files and threads a command holds besides its members (interpreter, libraries, storage, progress bar)
BASE_FILES = 64
BASE_THREADS = 16
#: seconds of work after which a command without a progress bar says its ETA once
ETA_NOTE_SECONDS = 60.0


def size(n: float) -> str:
    """``1.5 GiB``, ``230 MiB``, ``93.1 TiB``, ``12 kiB``."""
    for unit, scale in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("kiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} B"


# ----------------------------------------------------------------------------------------------- counts
def check_count(value, flag: str, low: int = 1) -> int:
    """``value`` as an int in ``[low, 2^63 - 1]``, else ``ValueError`` naming ``flag`` (one rule for every
    command: ``--epochs``, ``--horizon``, ``--episodes``, ``--n-trials``, ``--seed`` ...)."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:  # numpy integers
            import operator

            value = operator.index(value)
        except TypeError:
            raise ValueError(f"{flag} must be an integer >= {low}, got {value!r}") from None
    if value < low:
        raise ValueError(f"{flag} must be an integer >= {low}, got {value!r}")
    if value > INT64_MAX:
        raise ValueError(f"{flag} {value} is beyond the largest count mollirl can hold, 2^63 - 1 = {INT64_MAX} "
                         "(int64)")
    return int(value)


#: the largest seed: NumPy's legacy generator (which SB3 seeds) and the 32-bit keys of the counter-based streams
SEED_MAX = 2**32 - 1


def check_seed(value, flag: str = "--seed") -> int:
    """A seed: an integer in ``[0, 2^32 - 1]`` (every command's ``--seed``), else ``ValueError`` naming ``flag``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{flag} must be an integer in [0, 2^32 - 1], got {value!r}")
    if not 0 <= value <= SEED_MAX:
        raise ValueError(f"{flag} must be an integer in [0, 2^32 - 1], got {value!r}")
    return value


def check_product(factors: list[tuple[str, int]], what: str) -> int:
    """The product of ``factors`` (``[("--epochs", 10), ...]``), refused when beyond int64 (``what`` names it)."""
    total = 1
    for _, n in factors:
        total *= int(n)
    if total > INT64_MAX:
        shown = " x ".join(f"{flag} {n}" for flag, n in factors)
        raise ValueError(f"{shown} = {total:.3g} {what}, beyond the largest count mollirl can hold, 2^63 - 1 "
                         f"= {INT64_MAX:.3g} (int64)")
    return total


# ----------------------------------------------------------------------------------------------- memory
def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _cgroup_free() -> int | None:
    """The memory cgroup's limit less its usage (v2, then v1), or None without a limit."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit = _read_int(limit_file)
        if limit is None or limit >= 2**60:  # "max", or v1's "no limit" (2^63 rounded to pages)
            continue
        usage = _read_int(usage_file) or 0
        return max(limit - usage, 0)
    return None


def _address_space_free() -> int | None:
    """``RLIMIT_AS`` less the process's virtual size (``ulimit -v``), or None when unlimited."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, ValueError, OSError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        used = pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        used = 0
    return max(soft - used, 0)


def available_memory() -> tuple[int, str] | None:
    """Bytes available to new allocations and where the number comes from, or None where unknown."""
    found = [(v, what) for v, what in ((_meminfo_available(), "available memory"),
                                       (_cgroup_free(), "the memory cgroup's free memory"),
                                       (_address_space_free(), "the address space left by ulimit -v"))
             if v is not None]
    return min(found) if found else None


def check_memory(need: int, what: str, hint: str, limit: int | None = None, *, at_least: bool = False) -> None:
    """Refuse when ``need`` bytes exceed :data:`MEMORY_FRACTION` of the available memory (or ``limit``).

    :param what: the allocation, as a sentence subject (``one epoch of 16 episodes x 1000 steps``).
    :param hint: what to lower (``lower --batch-episodes or --horizon``).
    :param at_least: ``need`` is a lower bound (computed before the sizes that add to it are known).
    """
    if limit is None:
        avail = available_memory()
        if avail is None:
            return
        limit, source = int(MEMORY_FRACTION * avail[0]), f"half of the {avail[1]}, {size(avail[0])}"
    else:
        source = "the limit given"
    if need > limit:
        raise ValueError(f"{what} needs {'at least' if at_least else 'about'} {size(need)} of memory; the limit is "
                         f"{size(limit)} ({source}): {hint}")


def rollout_bytes(horizon: int, rows: int, obs_dim: int, action_dim: int, *, buffers: bool = True,
                  noise_rows: int | None = None) -> int:
    """Bytes of one batched rollout of ``rows`` rows x ``horizon`` steps (:mod:`mollirl.rollout`).

    :param buffers: per-step buffers of every row (a training epoch: obs, actions, rewards, alive, dones);
        without them (a landscape) only the per-row state and results.
    :param noise_rows: rows of per-step Gaussian noise ``(horizon, noise_rows, action_dim)`` (default:
        every row when ``buffers``, none otherwise).
    """
    noise_rows = (rows if buffers else 0) if noise_rows is None else noise_rows
    per_row = 8 * (4 * obs_dim + 2 * action_dim) + 64  # state, obs, final obs, action; returns, flags
    total = rows * per_row + 8 * horizon * noise_rows * action_dim
    if buffers:
        total += horizon * rows * (8 * (obs_dim + action_dim + 1) + 2)  # obs, actions, rewards; alive, dones
    return total


def check_training_memory(config, obs_shape: tuple[int, ...], action_shape: tuple[int, ...], *,
                          critic: bool = False) -> None:
    """One training epoch of ``config`` (a :class:`~mollirl.config.RunConfig`): its ``batch_episodes`` rows and
    the J_det row x ``horizon`` steps of buffers and noise (and SB3's rollout buffer for ``critic``
    algorithms), against the memory; refused in one line before any env or folder exists."""
    obs_dim, action_dim = math.prod(obs_shape), math.prod(action_shape)
    T, n = int(config.horizon), int(config.batch_episodes)
    need = rollout_bytes(T, n + 1, obs_dim, action_dim, buffers=True, noise_rows=n)
    if critic:
        need += T * n * (8 * obs_dim + 4 * action_dim + 24)
    check_memory(need, f"one epoch of {n} episodes x {T} steps", "lower --batch-episodes or --horizon")


def check_landscape_memory(points: int, modes: tuple[str, ...], *, episodes: int, horizon: int | None,
                           obs_dim: int = 1, action_dim: int = 1, n_params: int = 1, at_least: bool = False) -> None:
    """A landscape of ``points`` grid points: the parameter vectors of every point, and the largest of its
    modes' rollouts (``det``: one row per point; ``sigma``: ``episodes`` rows per point and a
    ``(horizon, episodes, action_dim)`` noise array; ``param-sigma``: ``episodes`` perturbed vectors per point).
    With ``at_least`` (sizes not known yet: one-dimensional states, actions, parameters; ``horizon`` None: 1 step)
    the estimate is a lower bound."""
    steps = 1 if horizon is None else int(horizon)
    largest = 0
    for mode in modes:
        rows = points if mode == "det" else points * episodes
        need = rollout_bytes(steps, rows, obs_dim, action_dim, buffers=False,
                             noise_rows=episodes if mode == "sigma" else 0)
        if mode == "param-sigma":
            need += 2 * 8 * rows * n_params  # the perturbed vectors and the batched mean's copy
        largest = max(largest, need)
    need = largest + 2 * 8 * points * n_params + 64 * points * len(modes)  # points, the mean's copy; results
    shape = f"{episodes} episodes" + ("" if horizon is None else f", {horizon} steps")
    check_memory(need, f"a landscape of {points:,} points ({', '.join(modes)}; {shape})",
                 "lower --grid, --episodes or --horizon", at_least=at_least)


def check_episodes_memory(episodes: int, horizon: int | None = None, obs_dim: int = 1, action_dim: int = 1, *,
                          noise: bool, at_least: bool = False) -> None:
    """``episodes`` stored whole (their observations and actions, for returns and videos); ``horizon`` None:
    not known yet (1 step: with ``at_least``, a lower bound)."""
    need = rollout_bytes(horizon or 1, episodes, obs_dim, action_dim, buffers=True,
                         noise_rows=episodes if noise else 0)
    what = f"{episodes:,} episodes" + ("" if horizon is None else f" of {horizon} steps")
    check_memory(need, what, "lower --episodes", at_least=at_least)


# ------------------------------------------------------------------------------- threads, files, processes
def _thread_limit() -> tuple[int, str] | None:
    found = []
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
        if soft != resource.RLIM_INFINITY and os.geteuid() != 0:  # root is not held to RLIMIT_NPROC
            found.append((soft, "ulimit -u"))
    except (ImportError, ValueError, OSError):
        pass
    for path in ("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"):
        limit = _read_int(path)
        if limit is not None:
            current = _read_int(path.replace("pids.max", "pids.current")) or 0
            found.append((max(limit - current, 0), f"the cgroup's process limit {limit} less {current} in use"))
            break
    limit = _read_int("/proc/sys/kernel/threads-max")
    if limit is not None:
        found.append((limit, "kernel.threads-max"))
    return min(found) if found else None


def _file_limit() -> int | None:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, ValueError, OSError):
        return None
    return None if soft == resource.RLIM_INFINITY else int(soft)


def check_members_fit(n_members: int, hint: str = "train fewer members at once") -> None:
    """A population of ``n_members`` opens :data:`MEMBER_FILES` files and :data:`MEMBER_THREADS` threads each:
    refused when that passes ``RLIMIT_NOFILE`` or the thread limit."""
    files = _file_limit()
    need_files = BASE_FILES + MEMBER_FILES * n_members
    if files is not None and need_files > files:
        raise ValueError(f"a population of {n_members} members keeps about {need_files} files open; the limit is "
                         f"{files} (ulimit -n): {hint}")
    threads = _thread_limit()
    need_threads = BASE_THREADS + MEMBER_THREADS * n_members
    if threads is not None and need_threads > threads[0]:
        raise ValueError(f"a population of {n_members} members runs about {need_threads} threads; the limit is "
                         f"{threads[0]} ({threads[1]}): {hint}")


def check_workers(n: int, flag: str, members_each: int = 1) -> None:
    """``n`` worker processes (``--n-jobs``, ``--jobs``), each training ``members_each`` runs at once: refused
    when their tasks (:data:`WORKER_TASKS` + a writer thread per member) pass the process limits, or their
    memory (:data:`WORKER_BYTES` each) passes :data:`MEMORY_FRACTION` of the available memory. Checked before
    any worker starts; the refusal says how many workers fit."""
    n = check_count(n, flag)
    if n == 1:
        return
    each = WORKER_TASKS + MEMBER_THREADS * members_each
    fits: list[tuple[int, str]] = []
    threads = _thread_limit()
    if threads is not None:
        fits.append(((threads[0] - BASE_THREADS) // each, f"{threads[1]} allows {threads[0]} tasks, {each} each"))
    avail = available_memory()
    if avail is not None:
        fits.append((int(MEMORY_FRACTION * avail[0]) // WORKER_BYTES,
                     f"half of the {avail[1]} is {size(MEMORY_FRACTION * avail[0])}, {size(WORKER_BYTES)} each"))
    for fit, why in sorted(fits):
        if n > fit:
            raise ValueError(f"{flag} {n}: at most {max(fit, 1)} worker processes fit on this machine ({why}; it has "
                             f"{os.cpu_count()} cores): give {flag} {max(fit, 1)} or fewer")


# ------------------------------------------------------------------------------------------------- ETA
def format_duration(seconds: float) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``, ``4.2 days``, ``3.1e+04 years``."""
    if not math.isfinite(seconds):
        return "forever"
    for unit, scale in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * scale if unit != "min" else seconds >= scale:
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 1e6 else f"{value:.2g} {unit}"
    return f"{seconds:.0f} s"


class EtaNote:
    """Says once, on stderr, how long the work will take when it will take long: after
    ``after`` seconds, if the rest projected from the rate so far is longer than :data:`ETA_NOTE_SECONDS`.

    Call it as a progress callback: ``note(done, total)`` (units of work, e.g. env steps or epochs).

    :param prog: the command (the note starts with it).
    :param what: the work (``the landscape``, ``training``).
    """

    def __init__(self, prog: str, what: str, after: float = 2.0, stream=None) -> None:
        self.prog, self.what, self.after = prog, what, after
        self.stream = stream
        self.t0 = time.monotonic()
        self.said = False

    def __call__(self, done: float, total: float) -> None:
        if self.said or done <= 0:
            return
        elapsed = time.monotonic() - self.t0
        if elapsed < self.after:
            return
        rest = elapsed / done * max(total - done, 0)
        if rest > ETA_NOTE_SECONDS:
            self.said = True
            print(f"{self.prog}: note: {self.what} will take about {format_duration(rest)} more at the rate so far "
                  f"({done:.3g} of {total:.3g} done in {format_duration(elapsed)})",
                  file=self.stream or sys.stderr, flush=True)
