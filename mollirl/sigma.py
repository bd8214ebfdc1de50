"""Sigma schedules: the exploration standard deviation as a function of the epoch.

A schedule string is ``constant`` (or ``constant:VALUE``), ``linear:START:END``,
``exp:START:END`` (geometric interpolation) or ``cosine:START:END``. Decreasing
schedules are *mollification continuation*: start on a smooth landscape, then
sharpen it toward the deterministic objective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCHEDULE_KINDS = ("constant", "linear", "exp", "cosine")


_F32 = np.finfo(np.float32)
#: the sigmas a float32 policy can hold, with a margin of 10^4 both ways: sigma^2 (the Gaussian's
#: variance) times 10^4 finite (a noise of 100 standard deviations squared does not overflow), and
#: sigma^2 / 10^4 a normal float32 (not flushed towards 0)
SIGMA_MARGIN = 1e4


def _float32_edge(start: float, ok, toward: float) -> float:
    """The float32 nearest ``start`` (stepping toward ``toward``) for which ``ok(sigma)`` holds in float32."""
    s = np.float32(start)
    with np.errstate(over="ignore", under="ignore"):
        while not ok(s):
            s = np.nextafter(s, np.float32(toward))
    return float(s)


SIGMA_MAX = _float32_edge(np.sqrt(_F32.max / SIGMA_MARGIN), lambda s: np.isfinite(s * s * np.float32(SIGMA_MARGIN)), 0.0)
SIGMA_MIN = _float32_edge(np.sqrt(_F32.tiny * SIGMA_MARGIN), lambda s: s * s / np.float32(SIGMA_MARGIN) >= _F32.tiny,
                          np.inf)


def check_sigma(value: float, name: str = "sigma") -> float:
    """Return ``value`` as float if it is a finite number > 0, else raise ``ValueError``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number > 0, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if not SIGMA_MIN <= v <= SIGMA_MAX:
        raise ValueError(f"{name} must be within [{SIGMA_MIN:.3g}, {SIGMA_MAX:.3g}] (the policy is float32: "
                         f"sigma^2 x 1e4 must stay finite, sigma^2 / 1e4 a normal number), got {value!r}")
    return v


@dataclass(frozen=True)
class SigmaSchedule:
    """``sigma(epoch)`` for ``epoch = 0 .. n_epochs - 1``; ``start`` at 0 and ``end`` at the last epoch."""

    kind: str
    start: float
    end: float

    def __call__(self, epoch: int, n_epochs: int) -> float:
        frac = 0.0 if n_epochs <= 1 else min(max(epoch / (n_epochs - 1), 0.0), 1.0)
        if self.kind == "constant":
            return self.start
        if self.kind == "linear":
            return self.start + (self.end - self.start) * frac
        if self.kind == "exp":
            return self.start * (self.end / self.start) ** frac
        if self.kind == "cosine":
            return self.end + (self.start - self.end) * 0.5 * (1.0 + math.cos(math.pi * frac))
        raise AssertionError(self.kind)

    def __str__(self) -> str:
        return f"{self.kind}:{self.start:g}:{self.end:g}"


def parse_sigma_schedule(spec: str, default_sigma: float) -> SigmaSchedule:
    """Parse ``constant[:V]``, ``linear:A:B``, ``exp:A:B`` or ``cosine:A:B``.

    :param default_sigma: the value ``constant`` uses when it has no value.
    :raises ValueError: on an unknown kind, a wrong number of values, or a value <= 0.
    """
    parts = str(spec).strip().split(":")
    kind = parts[0]
    if kind not in SCHEDULE_KINDS:
        raise ValueError(f"unknown sigma schedule {spec!r}; expected one of constant[:V], linear:START:END, exp:START:END, cosine:START:END")
    if kind == "constant":
        if len(parts) > 2:
            raise ValueError(f"sigma schedule {spec!r}: constant takes at most one value")
        value = check_sigma(parts[1] if len(parts) == 2 else default_sigma, "sigma schedule value")
        return SigmaSchedule("constant", value, value)
    if len(parts) != 3:
        raise ValueError(f"sigma schedule {spec!r}: {kind} needs START:END")
    start = check_sigma(parts[1], "sigma schedule START")
    end = check_sigma(parts[2], "sigma schedule END")
    return SigmaSchedule(kind, start, end)
