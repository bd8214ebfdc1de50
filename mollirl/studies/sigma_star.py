"""sigma* with an interval over seeds, and the sigmas the data cannot tell from it.

Every trial of a study trains the same seeds (``--seed`` .. ``--seed + S - 1``), so two
trials' results are *paired*: seed s of one and seed s of the other share their starts and
their noise streams, and a comparison uses the per-seed differences. From the complete
trials' per-seed values (final J_det for ``--objective return``, the spread of J(theta_k)
for ``stability``), with :mod:`mollirl.analysis.stats` (one statistics module for every
verdict of mollirl):

* **sigma*** is the sigma of the trial with the best mean over seeds;
* **its interval** (:func:`~mollirl.analysis.stats.best_location_interval`): where the
  best trial lies over paired bootstrap resamples of the seeds (95%; the ends are sigmas
  of trials);
* **the value at sigma*** with its BCa interval over seeds, and every trial's;
* **the indistinguishable set** (:func:`~mollirl.analysis.stats.best_and_ties`): the
  trials whose comparison with the best is not "holds" (paired interval of the difference
  and an exact randomization test at alpha 0.05). At S = 3 seeds the smallest possible p
  is 0.25, so *no* trial can be shown worse than the best: the set is every complete
  trial, which is the truth of 3 seeds, and the report says so.

A trial whose seeds differ from the others' (a study resumed with another ``--seed``
cannot happen: the setup is compared on resume) or that lacks a seed's value is left out of
the comparison and said to be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mollirl.analysis import stats

#: the per-seed value of each objective (a key of a trial's ``seed_results``) and whether higher is better
OBJECTIVE_KEYS = {"return": ("final_J_det", True), "stability": ("spread", False)}


@dataclass
class SigmaStar:
    """The statistics of a study's complete trials (see the module docstring).

    :param objective: ``return`` or ``stability``.
    :param n_seeds: seeds per trial behind the comparisons.
    :param trial: number of the best trial; ``sigma``: its sigma.
    :param sigma_interval: the 95% interval of sigma* over seeds.
    :param value: the best trial's mean with its interval.
    :param intervals: trial number -> interval of its mean over seeds.
    :param ties: trial numbers not distinguishable from the best (the best included).
    :param p_min: the smallest p-value an exact paired test can reach at ``n_seeds``.
    :param left_out: trial numbers left out (missing or different seeds).
    """

    objective: str
    n_seeds: int
    trial: int
    sigma: float
    sigma_interval: stats.Interval
    value: stats.Interval
    intervals: dict[int, stats.Interval]
    ties: list[int]
    sigmas: dict[int, float]
    p_min: float
    against_best: dict[int, stats.Verdict] = field(default_factory=dict)
    left_out: list[int] = field(default_factory=list)

    @property
    def tie_sigmas(self) -> list[float]:
        return sorted(self.sigmas[k] for k in self.ties)

    @property
    def can_tell(self) -> bool:
        """Whether any difference could be shown at this number of seeds (p_min < alpha)."""
        return self.p_min < stats.ALPHA

    def to_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective, "seeds": self.n_seeds, "trial": self.trial, "sigma": self.sigma,
            "sigma_interval": self.sigma_interval.to_dict(), "value": self.value.to_dict(),
            "indistinguishable_from_best": [{"trial": k, "sigma": self.sigmas[k]} for k in
                                            sorted(self.ties, key=lambda k: self.sigmas[k])],
            "smallest_possible_p": self.p_min, "alpha": stats.ALPHA,
            "left_out": self.left_out,
            "intervals": {str(k): iv.to_dict() for k, iv in sorted(self.intervals.items())},
            "against_best": {str(k): v.to_dict() for k, v in sorted(self.against_best.items())},
            "method": "paired over the shared seeds: BCa bootstrap intervals, exact sign-flip randomization tests, "
                      "the best trial's location by a paired percentile bootstrap (mollirl.analysis.stats)",
        }


def per_seed_values(attrs: dict[str, Any], objective: str) -> dict[int, float] | None:
    """``{seed: value}`` of a trial's ``seed_results`` (None when a value is missing or non-finite)."""
    key, _ = OBJECTIVE_KEYS[objective]
    out = {}
    for r in attrs.get("seed_results") or []:
        v = r.get(key)
        if v is None or not math.isfinite(float(v)):
            return None
        out[int(r["seed"])] = float(v)
    return out or None


def sigma_star(trials: list[dict[str, Any]], objective: str) -> SigmaStar | None:
    """sigma* of complete trials given as ``{"number", "sigma", "attrs"}`` (their user attributes).

    :return: None without a complete trial with per-seed values, or for ``--objective both``.
    """
    if objective not in OBJECTIVE_KEYS:
        return None
    values = {t["number"]: per_seed_values(t["attrs"], objective) for t in trials}
    usable = {k: v for k, v in values.items() if v is not None}
    if not usable:
        return None
    # the seed list most trials share (every trial of a study trains the same seeds)
    lists: dict[tuple[int, ...], int] = {}
    for v in usable.values():
        lists[tuple(sorted(v))] = lists.get(tuple(sorted(v)), 0) + 1
    seeds = max(lists, key=lambda s: (lists[s], len(s)))
    groups = {k: [v[s] for s in seeds] for k, v in usable.items() if tuple(sorted(v)) == seeds}
    left_out = sorted(set(values) - set(groups))
    sigmas = {t["number"]: float(t["sigma"]) for t in trials}
    _, higher = OBJECTIVE_KEYS[objective]
    best = stats.best_and_ties(groups, paired=True, higher_is_better=higher)
    where = stats.best_location_interval(groups, {k: sigmas[k] for k in groups}, paired=True,
                                         higher_is_better=higher, log=True)
    n = len(seeds)
    return SigmaStar(objective=objective, n_seeds=n, trial=int(best.best), sigma=sigmas[best.best],
                     sigma_interval=where, value=best.intervals[best.best], intervals=dict(best.intervals),
                     ties=[int(k) for k in best.ties], sigmas={k: sigmas[k] for k in groups},
                     p_min=2.0 / 2**n if n >= 1 else 1.0, against_best=dict(best.against_best), left_out=left_out)


def describe(star: SigmaStar) -> list[str]:
    """The report's lines about sigma*."""
    what = {"return": "final J_det", "stability": "spread of J(theta_k)"}[star.objective]
    best = "max" if star.objective == "return" else "min"
    n = star.n_seeds
    iv = star.sigma_interval
    lines = [f"  sigma* = {star.sigma:.4g}  ({best} mean {what} over {n} seed{'s' if n != 1 else ''}; trial {star.trial})"]
    if iv.defined:
        lines.append(f"    95% interval of sigma* over seeds: [{iv.low:.4g}, {iv.high:.4g}]  (where the best trial lies "
                     f"over paired bootstrap resamples of the {n} seeds)")
    else:
        lines.append(f"    no interval of sigma* at n = {n} seed (give --seeds 2 or more)")
    lines.append(f"    {what} at sigma*: {star.value}  (mean over seeds, 95% interval)")
    ties = star.tie_sigmas
    total = len(star.sigmas)
    span = f"sigma {ties[0]:.4g} .. {ties[-1]:.4g}" if len(ties) > 1 else f"sigma {ties[0]:.4g} only"
    lines.append(f"    not distinguishable from the best: {len(ties)} of {total} complete trials ({span})")
    if not star.can_tell:
        lines.append(f"    (at n = {n} seeds an exact paired test cannot go below p = {star.p_min:.3g} > "
                     f"{stats.ALPHA}: no trial can be shown worse than the best; more seeds can tell)")
    if star.left_out:
        lines.append(f"    left out (missing or other seeds): trials {', '.join(map(str, star.left_out))}")
    return lines


__all__ = ["SigmaStar", "sigma_star", "describe", "per_seed_values", "OBJECTIVE_KEYS"]
