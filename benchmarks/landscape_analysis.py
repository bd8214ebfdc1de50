"""What a landscape's analysis costs beside the rollouts that made it (the snapshot callbacks run both).

    python benchmarks/landscape_analysis.py [--repeat 5]

One run, in this process, for the quadrotor around its LQR theta* (radius 1, horizon 1000,
both modes, 8 episodes per point in sigma mode): the 1-D and 2-D slices of 11 and 41 points
per axis are computed once, then :func:`mollirl.landscape.summary.analyze` (window Hölder
exponent with its scaling ranges and bootstrap interval over sub-windows, the hf energy in
cycles per window, the ranges of J) is timed on both modes, best of ``--repeat``, and printed
beside the time the rollouts took: ``analysis / rollouts`` is the share the analysis adds to
a snapshot. Grids of fewer than 40 points hold no scaling range, so their analysis does not
bootstrap; 41 points do (2,000 resamples per range and mode).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import mollirl  # noqa: F401
from mollirl.landscape import compute_landscape
from mollirl.landscape.problem import problem_from_env
from mollirl.landscape.summary import analyze


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    problem = problem_from_env("quadrotor", "reference")
    print(f"{'slice':<10} {'rollouts':>10} {'analysis':>10} {'analysis / rollouts':>20}")
    for dims in (1, 2):
        for grid in (11, 41):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                land = compute_landscape(problem, grid=grid, dims=dims, radius=1.0, mode="both", episodes=8)
            rollouts = sum(t["seconds"] for t in land.metadata["timing"].values())
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                for mode in land.modes:
                    analyze(land.value(mode), land.mask_of(mode), land.grid.spacing)
                best = min(best, time.perf_counter() - t0)
            name = f"{grid}" if dims == 1 else f"{grid}x{grid}"
            print(f"{name:<10} {rollouts:>9.3f}s {best * 1e3:>8.1f}ms {best / rollouts:>19.1%}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
