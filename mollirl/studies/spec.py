"""One validated study: search space, objective, training config, storage and budget.

:class:`StudySpec` is plain, JSON-serializable data (it crosses process
boundaries to the worker processes) and imports no Optuna. :func:`build_spec`
layers a registered preset under the command line's values and validates
everything that can be checked before anything is written.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mollirl.config import RunConfig

from mollirl.studies.pruning import KINDS as PRUNERS
from mollirl.studies.pruning import DEFAULT_KIND, PrunerSpec

OBJECTIVES = ("return", "stability", "both")
SAMPLERS = ("tpe", "random", "grid", "gp")
#: samplers that propose from earlier results (the automatic batch size leaves them rounds of results)
MODEL_BASED = ("tpe", "gp")
SCHEDULE_KINDS = ("linear", "exp", "cosine")

#: extra search dimensions and their type; each sets the RunConfig field of its name, except
#: ``sigma_end``, the END of ``--sigma-schedule KIND`` (START is the trial's sigma)
SEARCHABLE: dict[str, type] = {"step_size": float, "gamma": float, "sigma_end": float, "batch_episodes": int}

#: config keys added after studies were first stored, left out of a setup record at their default (so a
#: study stored before them resumes): rl-zoo3's train flags
LATER_FIELDS = {"save_freq": 0, "eval_freq": 0, "eval_episodes": 5, "tensorboard_log": None, "log_interval": 0,
                "trained_agent": None, "use_sde": False, "sde_sample_freq": -1}
#: RunConfig fields that do not change what a trial measures (left out of the setup comparison)
VOLATILE_FIELDS = ("log_folder", "progress", "device", "plugins", "checkpoint_every", "n_threads", "callbacks")

#: option defaults when neither a preset nor the command line sets them
DEFAULTS: dict[str, Any] = dict(
    env="double-pendulum", algo="reinforce", n_trials=None, sigma_range=None, sigma_values=None,
    search=(), seeds=1, objective="return", sampler="tpe", sampler_seed=None, pruner=None, grid_points=5,
    sigma_schedule=None, learn_sigma=False, heartbeat=60, n_jobs=1, batch_trials=None,
)

#: the sigma range when neither --sigma-range nor --sigma-values (nor a preset) gives one
DEFAULT_SIGMA_RANGE = (1e-3, 10.0)

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class SearchDim:
    """One searched quantity.

    :param name: ``sigma`` or a key of :data:`SEARCHABLE`.
    :param low: lower bound (inclusive).
    :param high: upper bound (inclusive), > ``low``.
    :param log: sample on a log scale (needs ``low > 0``).
    :param integer: an integer dimension (``batch_episodes``).
    :param values: explicit grid values (the grid sampler's points), inside ``[low, high]``.
    """

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False
    values: tuple[float, ...] | None = None

    def grid(self, points: int) -> list[float]:
        """The grid sampler's points: ``values``, or ``points`` log/linearly spaced over ``[low, high]``."""
        if self.values is not None:
            return list(self.values)
        if points == 1:
            return [self.low]
        if self.log:
            ratio = (self.high / self.low) ** (1.0 / (points - 1))
            out = [self.low * ratio**i for i in range(points)]
        else:
            out = [self.low + (self.high - self.low) * i / (points - 1) for i in range(points)]
        out[-1] = self.high  # exactly the bound, not a rounding of it
        if self.integer:
            return sorted({int(round(v)) for v in out})
        return [min(max(float(f"{v:.6g}"), self.low), self.high) for v in out]  # readable, inside the bounds

    def record(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log, "int": self.integer,
                "values": list(self.values) if self.values is not None else None}


def parse_search_dim(text: str) -> SearchDim:
    """``"step_size:1e-3:1:log"`` -> :class:`SearchDim` (``NAME:LOW:HIGH[:log|:linear]``).

    :raises ValueError: on an unknown name, unparsable bounds, ``LOW >= HIGH`` or a log range with ``LOW <= 0``.
    """
    parts = text.split(":")
    if len(parts) not in (3, 4) or not parts[0]:
        raise ValueError(f"malformed --search {text!r}; expected NAME:LOW:HIGH[:log|:linear]")
    name = parts[0].replace("-", "_")
    if name == "sigma":
        raise ValueError("--search sigma: sigma is always searched; set its range with --sigma-range LOW HIGH")
    if name not in SEARCHABLE:
        from mollirl.registry import closest

        raise ValueError(f"cannot search {name!r} ({closest(name, list(SEARCHABLE))})")
    scale = parts[3] if len(parts) == 4 else "linear"
    if scale not in ("log", "linear"):
        raise ValueError(f"--search {text!r}: the scale must be log or linear, got {scale!r}")
    integer = SEARCHABLE[name] is int
    try:
        low, high = (int(p) if integer else float(p) for p in parts[1:3])
    except ValueError:
        kind = "integers" if integer else "numbers"
        raise ValueError(f"--search {text!r}: LOW and HIGH must be {kind}") from None
    dim = SearchDim(name, low, high, log=scale == "log", integer=integer)
    _check_dim(dim, f"--search {text!r}")
    return dim


def sigma_dim(sigma_range: tuple[float, float] | None, values: list[float] | None) -> SearchDim:
    """The sigma dimension (always log scale) from ``--sigma-range`` and/or ``--sigma-values``.

    Without a range: the values' span, or :data:`DEFAULT_SIGMA_RANGE` if there are no values either.
    """
    if values is not None:
        values = [float(v) for v in values]
        if not values:
            raise ValueError("--sigma-values needs at least one value")
        for v in values:
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"--sigma-values must be finite numbers > 0, got {v!r}")
        if len(set(values)) != len(values):
            raise ValueError(f"--sigma-values has duplicates: {values}")
    if sigma_range is None and values is None:
        sigma_range = DEFAULT_SIGMA_RANGE
    if sigma_range is None:
        low, high = min(values), max(values)
        if low == high:  # one explicit value: a degenerate but legal grid
            high = low * (1 + 1e-12)
    else:
        low, high = (float(v) for v in sigma_range)
        if not (math.isfinite(low) and math.isfinite(high)) or low <= 0:
            raise ValueError(f"--sigma-range LOW HIGH needs 0 < LOW < HIGH (log scale), got LOW={low!r} HIGH={high!r}")
        if low >= high:
            raise ValueError(f"--sigma-range LOW HIGH needs LOW < HIGH, got LOW={low!r} HIGH={high!r}")
        outside = [v for v in values or [] if not low <= v <= high]
        if outside:
            raise ValueError(f"--sigma-values {outside} lie outside --sigma-range [{low:g}, {high:g}]")
    return SearchDim("sigma", low, high, log=True, values=tuple(sorted(values)) if values is not None else None)


def _check_dim(dim: SearchDim, where: str) -> None:
    if not (math.isfinite(dim.low) and math.isfinite(dim.high)):
        raise ValueError(f"{where}: bounds must be finite")
    if dim.low >= dim.high:
        raise ValueError(f"{where}: needs LOW < HIGH, got LOW={dim.low!r} HIGH={dim.high!r}")
    if dim.log and dim.low <= 0:
        raise ValueError(f"{where}: a log scale needs LOW > 0, got {dim.low!r}")
    if dim.name in ("step_size", "sigma_end") and dim.low <= 0:
        raise ValueError(f"{where}: {dim.name} must be > 0, got LOW={dim.low!r}")
    if dim.name == "gamma" and not (0 < dim.low and dim.high <= 1):
        raise ValueError(f"{where}: gamma must lie in (0, 1]")
    if dim.name == "batch_episodes" and dim.low < 1:
        raise ValueError(f"{where}: batch_episodes must be >= 1")


@dataclass
class StudySpec:
    """Everything a study worker needs; JSON-serializable.

    :param study_name: the Optuna study name (also the folder ``<log_folder>/studies/<study_name>``).
    :param storage_url: an SQLAlchemy URL; the embedded store is ``sqlite:///<log_folder>/studies/studies.db``.
    :param embedded: whether ``storage_url`` is the embedded store (created on first use).
    :param log_folder: absolute root of run folders.
    :param n_trials: total trial budget of the study (over all workers and invocations).
    :param objective: ``return`` (maximize mean final J_det), ``stability`` (minimize the mean
        spread of J(theta_k) over epochs) or ``both`` (two objectives, a Pareto front).
    :param sampler: ``tpe``, ``random``, ``grid`` or ``gp``; ``sampler_seed`` seeds it (+ worker index).
    :param pruner: ``KIND[:key=value,...]`` (:class:`~mollirl.studies.pruning.PrunerSpec`): ``halving``,
        ``median``, ``hyperband``, ``wilcoxon`` or ``none``.
    :param seeds: training seeds per trial (``config["seed"]`` + 0 .. seeds - 1).
    :param dims: the searched dimensions, sigma first.
    :param sigma_schedule: ``KIND`` or ``KIND:END``: each trial's sigma schedule runs from its
        sigma to END (fixed, or the searched ``sigma_end``).
    :param config: the base :class:`RunConfig` as a dict (the trial's values are set on top).
    :param grid_points: grid points per dimension without explicit values (grid sampler).
    :param heartbeat: seconds between a running trial's heartbeats; a trial silent for twice
        as long is failed and retried.
    :param n_jobs: worker processes on this machine.
    :param preset: the preset the study started from, if any.
    :param batch_trials: trials a worker trains at once as one population (their seeds side by
        side); None: the automatic rule of :func:`mollirl.studies.objective.batch_size`.
    :param progress: each worker's trial lines end with trials done (of this worker, of the budget)
        and ETAs (``--no-progress``: off).
    :param notes: the config's fallbacks, one line each (a Gymnasium id without a reference policy
        starts from a random mean, as in ``python -m mollirl.train``).
    """

    study_name: str
    storage_url: str
    embedded: bool
    log_folder: str
    n_trials: int
    objective: str
    sampler: str
    pruner: str
    seeds: int
    dims: list[SearchDim]
    config: dict[str, Any]
    sigma_schedule: str | None = None
    sampler_seed: int | None = None
    grid_points: int = 5
    heartbeat: int = 60
    n_jobs: int = 1
    preset: str | None = None
    batch_trials: int | None = None
    progress: bool = True
    notes: list[str] = dataclasses.field(default_factory=list)

    # ----- derived -----
    @property
    def study_dir(self) -> Path:
        return Path(self.log_folder) / "studies" / self.study_name

    @property
    def directions(self) -> list[str]:
        return {"return": ["maximize"], "stability": ["minimize"], "both": ["maximize", "minimize"]}[self.objective]

    @property
    def metric_names(self) -> list[str]:
        names = {"return": ["final J_det"], "stability": ["spread of J(theta_k)"]}
        return names.get(self.objective, names["return"] + names["stability"])

    @property
    def epochs(self) -> int:
        return int(self.config["epochs"])

    @property
    def pruning(self) -> PrunerSpec:
        """``pruner`` parsed (:class:`~mollirl.studies.pruning.PrunerSpec`)."""
        return PrunerSpec.parse(self.pruner)

    @property
    def higher_is_better(self) -> bool:
        """Whether the (first) objective is maximized."""
        return self.directions[0] == "maximize"

    def grid_space(self) -> dict[str, list[float]]:
        return {d.name: d.grid(self.grid_points) for d in self.dims}

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid_space().values())

    def search_record(self) -> dict[str, Any]:
        """The search space and objective, stored in the study's user attrs and compared on resume."""
        return {"objective": self.objective, "directions": self.directions,
                "dims": {d.name: d.record() for d in self.dims}, "sigma_schedule": self.sigma_schedule}

    def setup_record(self) -> dict[str, Any]:
        """What every trial trains with (beyond the searched values); compared on resume."""
        searched = {d.name for d in self.dims}
        setup = {k: v for k, v in self.config.items() if k not in VOLATILE_FIELDS and k not in searched
                 and not (k in LATER_FIELDS and v == LATER_FIELDS[k])}
        setup["seeds"] = self.seeds
        return json.loads(json.dumps(setup))

    def trial_config(self, params: dict[str, Any], seed_index: int) -> RunConfig:
        """The :class:`RunConfig` of seed ``seed_index`` of a trial with sampled ``params``."""
        values = dict(self.config)
        values["sigma"] = float(params["sigma"])
        for name, value in params.items():
            if name in ("sigma", "sigma_end"):
                continue
            values[name] = int(value) if SEARCHABLE[name] is int else float(value)
        if self.sigma_schedule:
            kind, _, end = self.sigma_schedule.partition(":")
            end_value = params["sigma_end"] if "sigma_end" in params else float(end)
            values["sigma_schedule"] = f"{kind}:{values['sigma']!r}:{float(end_value)!r}"
        values["seed"] = int(self.config["seed"]) + seed_index
        return RunConfig(**values).validate()

    # ----- serialization -----
    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> StudySpec:
        data = json.loads(text)
        data["dims"] = [SearchDim(**{**d, "values": tuple(d["values"]) if d["values"] is not None else None})
                        for d in data["dims"]]
        return cls(**data)


def check_study_name(name: str) -> str:
    """A study name doubles as a folder name: letters, digits, ``_ . -``; not ``*.db``/``*.lock``."""
    if not _NAME_RE.fullmatch(name) or name.endswith((".db", ".lock")):
        raise ValueError(f"--study-name must be letters, digits, '_', '.', '-' (not ending in .db/.lock), got {name!r}")
    return name


def default_study_name(preset: str | None, env: str, algo: str, objective: str) -> str:
    if preset:
        return preset
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"sigma-{env}-{algo}-{objective}").strip("-")


def _check_choice(value: Any, choices: tuple[str, ...], flag: str) -> str:
    if value not in choices:
        from mollirl.registry import closest

        raise ValueError(f"unknown {flag} {value!r} ({closest(str(value), list(choices))})")
    return value


def _positive_int(value: Any, flag: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{flag} must be an integer >= {minimum}, got {value!r}")
    return value


def merge_options(preset_options: dict[str, Any], cli_options: dict[str, Any]) -> dict[str, Any]:
    """Defaults < preset options < command-line options (those given, i.e. not None)."""
    out = dict(DEFAULTS)
    out.update(preset_options)
    out.update({k: v for k, v in cli_options.items() if v is not None})
    return out


def build_spec(options: dict[str, Any], config: RunConfig, *, study_name: str | None, storage: str | None,
               log_folder: str, preset: str | None = None) -> StudySpec:
    """Validate merged study ``options`` (see :data:`DEFAULTS`) and the base ``config``.

    Checks only what needs no storage and no training: choices, ranges, the
    search space, the pruner/objective combination, the grid budget. Writes nothing.

    :raises ValueError: naming the bad option and value.
    """
    objective = _check_choice(options["objective"], OBJECTIVES, "--objective")
    sampler = _check_choice(options["sampler"], SAMPLERS, "--sampler")
    pruner = options["pruner"]
    if pruner is None:
        pruner = DEFAULT_KIND if objective != "both" and sampler != "grid" else "none"
    pruner_spec = PrunerSpec.parse(pruner)
    pruner = pruner_spec.text
    if objective == "both" and pruner != "none":
        raise ValueError(f"--pruner {pruner} cannot prune a two-objective study (--objective both); use --pruner none")
    seeds = _positive_int(options["seeds"], "--seeds")
    heartbeat = _positive_int(options["heartbeat"], "--heartbeat")
    n_jobs = _positive_int(options["n_jobs"], "--n-jobs")
    grid_points = _positive_int(options["grid_points"], "--grid-points")
    batch_trials = options["batch_trials"]
    if batch_trials is not None and batch_trials != "auto":
        batch_trials = _positive_int(batch_trials, "--batch-trials")
    else:
        batch_trials = None
    if batch_trials is not None and batch_trials > 1 and not pruner_spec.batched:
        raise ValueError(f"--pruner {pruner} compares a trial with trials that finished before it, so it cannot "
                         f"prune inside a batch of {batch_trials} trials: use --pruner halving or median (they "
                         f"compare the batch's trials with each other), or --batch-trials 1")
    if options["sampler_seed"] is not None:
        _positive_int(options["sampler_seed"], "--sampler-seed", minimum=0)

    dims = [sigma_dim(options["sigma_range"], options["sigma_values"])]
    for item in options["search"] or ():
        dim = item if isinstance(item, SearchDim) else parse_search_dim(item)
        if dim.name in {d.name for d in dims}:
            raise ValueError(f"--search {dim.name} is given twice")
        dims.append(dim)
    searched = {d.name for d in dims}
    if options["sigma_values"] is not None and sampler != "grid":
        raise ValueError(f"--sigma-values lists grid points; use --sampler grid (got --sampler {sampler})")

    schedule = options["sigma_schedule"]
    if schedule is not None:
        kind, sep, end = str(schedule).partition(":")
        _check_choice(kind, SCHEDULE_KINDS, "--sigma-schedule kind")
        if sep:
            try:
                end_value = float(end)
            except ValueError:
                raise ValueError(f"--sigma-schedule {schedule!r}: END must be a number") from None
            if not math.isfinite(end_value) or end_value <= 0:
                raise ValueError(f"--sigma-schedule {schedule!r}: END must be a finite number > 0")
            if "sigma_end" in searched:
                raise ValueError(f"--sigma-schedule {schedule!r} fixes END, but --search sigma_end searches it")
        elif "sigma_end" not in searched:
            raise ValueError(f"--sigma-schedule {kind} needs END: write {kind}:END or --search sigma_end:LOW:HIGH:log")
        if options["learn_sigma"]:
            raise ValueError("--learn-sigma and --sigma-schedule exclude each other: "
                             "sigma is either trained or scheduled")
    elif "sigma_end" in searched:
        raise ValueError("--search sigma_end needs --sigma-schedule linear|exp|cosine")

    config = dataclasses.replace(config, learn_sigma=bool(options["learn_sigma"]) or config.learn_sigma,
                                 progress=False, checkpoint_every=0,
                                 log_folder=str(Path(log_folder).resolve()))
    if config.sigma_schedule:
        raise ValueError("set the study's schedule with --sigma-schedule KIND[:END], not through -params")
    if n_jobs > 1 and getattr(config, "n_threads", False) is None:
        config = dataclasses.replace(config, n_threads=1)  # K workers share the cores: one thread each

    grid_size = math.prod(len(d.grid(grid_points)) for d in dims)
    n_trials = options["n_trials"]
    if n_trials is None:
        n_trials = grid_size if sampler == "grid" else 20
    n_trials = _positive_int(n_trials, "--n-trials")
    if sampler == "grid" and n_trials > grid_size:
        raise ValueError(f"--n-trials {n_trials} exceeds the grid's {grid_size} points; lower it or add grid points")
    if batch_trials is not None and batch_trials > n_trials:
        raise ValueError(f"--batch-trials {batch_trials} exceeds the study's budget of {n_trials} trials "
                         f"(--n-trials); give at most {n_trials}, or auto")

    name = check_study_name(study_name or default_study_name(preset, config.env, config.algo, objective))
    if storage is None:
        db = Path(config.log_folder) / "studies" / "studies.db"
        storage_url, embedded = f"sqlite:///{db}", True
    else:
        storage_url, embedded = storage, False

    spec = StudySpec(
        study_name=name, storage_url=storage_url, embedded=embedded, log_folder=config.log_folder,
        n_trials=n_trials, objective=objective, sampler=sampler, pruner=pruner, seeds=seeds, dims=dims,
        config=config.to_dict(), sigma_schedule=schedule, sampler_seed=options["sampler_seed"],
        grid_points=grid_points, heartbeat=heartbeat, n_jobs=n_jobs, preset=preset, batch_trials=batch_trials,
    )
    # every corner of the space must make a valid config (e.g. gamma, a schedule END)
    for corner in ("low", "high"):
        params = {d.name: getattr(d, corner) for d in dims}
        spec.trial_config(params, 0)
    return spec


def searched_config_conflicts(spec_dims: list[SearchDim], cli_config_keys: set[str]) -> None:
    """A searched quantity may not also be fixed on the command line."""
    both = sorted({d.name for d in spec_dims} & cli_config_keys)
    if both:
        raise ValueError(f"{both[0]} is searched (--search / --sigma-range); do not also fix it with a flag or -params")


__all__ = ["SearchDim", "StudySpec", "build_spec", "parse_search_dim", "sigma_dim", "merge_options",
           "check_study_name", "default_study_name", "OBJECTIVES", "SAMPLERS", "PRUNERS", "SEARCHABLE"]
