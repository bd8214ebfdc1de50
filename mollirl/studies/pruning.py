"""Pruning trials that train side by side: every trial of a batch reports a rung before any decision.

Optuna's pruners decide one trial at a time, against what other trials reported before
(:class:`optuna.pruners.MedianPruner` and ``WilcoxonPruner``: completed trials only;
``SuccessiveHalvingPruner`` and ``HyperbandPruner``: every trial that reached the rung
*so far*, so the first trial of a batch to ask would compete with itself alone). Inside a
batch the peers are the batch: its trials train in lockstep, so at a rung every one of them
has its value and one decision can be taken for all of them at once, deterministically.

Batch pruners (``--pruner halving`` and ``median``):

* the **value** a decision reads is *smoothed*: the mean over the trial's seeds (what it
  reports to Optuna at every epoch) averaged over ``window`` epochs up to the rung, every
  ``stride``-th one (rungs fall on the final epoch's phase). J_det swings between epochs
  (the double pendulum's normalized steps alternate between about -12 and -16 from one
  epoch to the next), so a single epoch compares phases, not sigmas;
* the **competitors** at rung r are the batch's live trials and every earlier trial of the
  study (COMPLETE, PRUNED, or RUNNING in another worker) that reported every epoch of the
  window up to r: the values a batch of one would have been compared with;
* ``halving`` (successive halving, synchronous): rungs at epochs ``warmup x eta^i`` before
  the last epoch; a live trial goes on if its value is among the best
  ``ceil(n / eta)`` of the n competitors (ties at the cut go on);
* ``median``: rungs at ``warmup``, ``warmup + interval``, ...; a live trial goes on unless its
  value is worse than the competitors' median (Optuna's rule, with the running batch
  among the peers).

``hyperband`` and ``wilcoxon`` are Optuna's, for trials asked one at a time
(``--batch-trials 1``): they compare with trials that finished before, which inside a
batch do not exist. ``none`` prunes nothing.

The default (``median:warmup=10,window=2,stride=2,interval=20`` for 50 epochs: rungs at epochs
10 and 30, the value the mean over seeds of J(theta_k) at epochs 8 and 10, 28 and 30) was chosen by
a measurement, ``benchmarks/pruning_rule.py`` (docs/studies.md, "Choosing the default pruning"), on
the README's double-pendulum study with the paper's u = -K s preset: on held-out curves it spends
53% of the unpruned study's env steps and keeps the unpruned sigma* in 87-89% of simulated studies.
On the double pendulum J(theta_k) alternates between two phases from one epoch to the next (the
normalized step overshoots) and the final J_det is on the even phase, so a value averages only the
epochs of the final epoch's phase (``stride=2``). ``halving``'s own defaults
(``warmup=12,window=6,stride=2,eta=4``) were the measurement's choice on the earlier, biased preset;
on the current one it keeps the unpruned sigma* in 13-16% of the studies (its rung at epoch 48 cuts 3
of 4 trials on differences below the seeds' noise), which is why the default moved to ``median``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

KINDS = ("halving", "median", "hyperband", "wilcoxon", "none")
#: kinds that decide over a whole batch at once (any batch size)
BATCH_KINDS = ("halving", "median", "none")
#: kinds that only work with one trial asked at a time
SEQUENTIAL_KINDS = ("hyperband", "wilcoxon")
DEFAULT_KIND = "median"

#: the measured defaults (benchmarks/pruning_rule.py; docs/studies.md), per kind: the first rung at
#: ``warmup`` of the epochs, the value averaged over ``window`` epochs (fewer if the first rung leaves less
#: room) taken every ``stride``-th epoch on the final epoch's phase; median: a rung every ``interval`` of the
#: epochs after the first; halving: one trial in ``eta`` going on at a rung
DEFAULTS: dict[str, dict[str, float]] = {
    "median": {"warmup": 0.2, "window": 2, "stride": 2, "interval": 0.4},
    "halving": {"warmup": 0.24, "window": 6, "stride": 2, "eta": 4},
}

_OPTIONS = {"halving": ("warmup", "window", "stride", "eta"), "median": ("warmup", "window", "stride", "interval"),
            "hyperband": (), "wilcoxon": (), "none": ()}


@dataclass(frozen=True)
class PrunerSpec:
    """``--pruner KIND[:key=value,...]`` as given (options left out take the measured defaults).

    :param kind: one of :data:`KINDS`.
    :param warmup: epoch of the first rung (halving, median); None: the kind's :data:`DEFAULTS` fraction of
        the epochs.
    :param window: values averaged (>= 1); None: the kind's default.
    :param stride: epochs between two values averaged (>= 1; 2: only epochs of the final epoch's parity);
        None: the kind's default.
    :param eta: halving's reduction factor (>= 2); None: the kind's default.
    :param interval: median's epochs between rungs (>= 1); None: the kind's fraction of the epochs.
    """

    kind: str
    warmup: int | None = None
    window: int | None = None
    stride: int | None = None
    eta: int | None = None
    interval: int | None = None

    @classmethod
    def parse(cls, text: str) -> PrunerSpec:
        """``"halving"``, ``"halving:warmup=10,window=4,eta=3"``, ``"median:interval=5"``, ``"none"``.

        :raises ValueError: on an unknown kind or option, or a value out of its range.
        """
        kind, sep, rest = str(text).partition(":")
        if kind not in KINDS:
            from mollirl.registry import closest

            raise ValueError(f"unknown --pruner {kind!r} ({closest(kind, list(KINDS))})")
        values: dict[str, int] = {}
        for item in rest.split(",") if sep else ():
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or key not in _OPTIONS[kind]:
                allowed = ", ".join(_OPTIONS[kind]) or "no options"
                raise ValueError(f"--pruner {text!r}: {kind} takes {allowed}, got {item!r}")
            try:
                number = int(value)
            except ValueError:
                raise ValueError(f"--pruner {text!r}: {key} must be an integer, got {value!r}") from None
            lowest = {"warmup": 1, "window": 1, "stride": 1, "eta": 2, "interval": 1}[key]
            if number < lowest:
                raise ValueError(f"--pruner {text!r}: {key} must be >= {lowest}, got {number}")
            values[key] = number
        return cls(kind, **values)

    @property
    def text(self) -> str:
        """The canonical ``KIND[:key=value,...]`` (options given only)."""
        given = [f"{k}={getattr(self, k)}" for k in _OPTIONS[self.kind] if getattr(self, k) is not None]
        return self.kind + (":" + ",".join(given) if given else "")

    @property
    def batched(self) -> bool:
        """Whether it decides over a batch (works with any ``--batch-trials``)."""
        return self.kind in BATCH_KINDS

    def rule(self, epochs: int) -> PruningRule | None:
        """The rule for runs of ``epochs`` epochs (None for ``none`` and Optuna's sequential pruners)."""
        if self.kind not in ("halving", "median"):
            return None
        d = DEFAULTS[self.kind]
        warmup = self.warmup if self.warmup is not None else max(1, round(d["warmup"] * epochs))
        stride = self.stride if self.stride is not None else int(d["stride"])
        window = self.window if self.window is not None else min(int(d["window"]), warmup // stride + 1)
        eta = self.eta if self.eta is not None else int(d.get("eta", 2))
        interval = self.interval if self.interval is not None else max(1, round(d.get("interval", 0.2) * epochs))
        return PruningRule(self.kind, int(epochs), warmup, window, eta if self.kind == "halving" else 2, interval,
                           stride)


@dataclass(frozen=True)
class Decision:
    """What a rung decided for one live trial."""

    epoch: int
    value: float
    cutoff: float
    competitors: int
    kept: int
    prune: bool

    def record(self) -> dict:
        """For the trial's ``pruned_at`` user attribute."""
        return {"epoch": self.epoch, "value": _finite(self.value), "cutoff": _finite(self.cutoff),
                "competitors": self.competitors, "kept": self.kept}


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class PruningRule:
    """A batch pruner resolved for runs of ``epochs`` epochs (see the module docstring).

    :param kind: ``halving`` or ``median``.
    :param epochs: epochs of every run; step ``epochs`` is the final policy (never a rung).
    :param warmup: the first rung (an epoch >= 1).
    :param window: epochs the value is averaged over.
    :param eta: halving's reduction factor (one in ``eta`` goes on); 2 for median.
    :param interval: median's epochs between rungs.
    :param stride: epochs between the values averaged; rungs fall on epochs ``epochs - j x stride``.
    """

    kind: str
    epochs: int
    warmup: int
    window: int
    eta: int
    interval: int
    stride: int = 1

    def _align(self, r: int) -> int:
        """The first epoch >= r whose distance to the last epoch is a multiple of ``stride``."""
        return r + (self.epochs - r) % self.stride

    @property
    def rungs(self) -> tuple[int, ...]:
        """The epochs at which trials are judged: from ``warmup`` on (with a full window behind), before the
        last epoch, on the last epoch's phase when ``stride`` > 1."""
        r = max(self.warmup, (self.window - 1) * self.stride, 1)
        out: list[int] = []
        while self._align(r) < self.epochs:
            if not out or self._align(r) > out[-1]:
                out.append(self._align(r))
            r = r * self.eta if self.kind == "halving" else r + self.interval
        return tuple(out)

    def smoothed(self, values: Mapping[int, float], step: int) -> float:
        """The mean of ``values`` (step -> the trial's mean over seeds) at steps ``step, step - stride, ...``
        (``window`` of them); NaN unless every one of them was reported and is finite."""
        window = [values.get(step - j * self.stride) for j in range(self.window)]
        if any(v is None or not math.isfinite(v) for v in window):
            return math.nan
        return float(sum(window) / len(window))  # type: ignore[arg-type]

    def decide(self, step: int, live: Mapping[int, float], peers: Iterable[float], *,
               higher_is_better: bool = True) -> dict[int, Decision]:
        """Judge every live trial at rung ``step`` at once.

        :param live: trial number -> smoothed value of each live trial of the batch (NaN: it could not
            report every epoch of the window; it is pruned).
        :param peers: smoothed values of the study's earlier trials that reached the rung (NaNs are ignored).
        :return: trial number -> :class:`Decision` (empty if ``step`` is not a rung).
        """
        if step not in self.rungs:
            return {}
        sign = 1.0 if higher_is_better else -1.0
        scores = sorted((sign * v for v in [*live.values(), *peers] if math.isfinite(v)), reverse=True)
        n = len(scores)
        if n == 0:
            return {k: Decision(step, v, math.nan, 0, 0, True) for k, v in live.items()}
        if self.kind == "halving":
            kept = max(1, math.ceil(n / self.eta))
            cut = scores[kept - 1]
        else:
            mid = n // 2
            cut = scores[mid] if n % 2 else 0.5 * (scores[mid - 1] + scores[mid])
            kept = sum(s >= cut for s in scores)
        out = {}
        for number, value in live.items():
            prune = not math.isfinite(value) or sign * value < cut
            out[number] = Decision(step, value, sign * cut, n, kept, prune)
        return out

    def describe(self, objective: str = "return") -> str:
        """One line for the study header."""
        what = "J(theta_k)" if objective == "return" else "the spread of J(theta_0..k)"
        if not self.rungs:
            return (f"{self.kind}: no rung before the last epoch (the first would be at epoch "
                    f"{max(self.warmup, (self.window - 1) * self.stride, 1)} of {self.epochs}): nothing is pruned")
        rungs = ", ".join(map(str, self.rungs))
        keep = (f"the best 1/{self.eta} (rounded up)" if self.kind == "halving"
                else "those not worse than the median")
        if self.window == 1:
            over = "at the rung"
        elif self.stride == 1:
            over = f"averaged over the last {self.window} epochs"
        else:
            over = (f"averaged over {self.window} epochs up to the rung, every {self.stride}"
                    f"{'nd' if self.stride == 2 else 'th'} one (the final epoch's phase)")
        plural = "s" if len(self.rungs) != 1 else ""
        return (f"{self.kind}: rung{plural} at epoch{plural} {rungs}; value: the mean over seeds of {what}, {over}; "
                f"at a rung, after every trial of the batch has reported, {keep} of the batch and the earlier "
                f"trials that reached it go on")


__all__ = ["KINDS", "BATCH_KINDS", "SEQUENTIAL_KINDS", "DEFAULT_KIND", "DEFAULTS", "PrunerSpec", "PruningRule", "Decision"]
