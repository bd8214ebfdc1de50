"""Where ``figure6 --from-runs`` finds its runs without training: finished run folders in the command's
layout, or the per-run series a ``figure6.json`` holds (the command's own, or the legacy one of commit
ca26fc3, which holds each seed's J_det series only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def finished_runs(folder: Path, layout: dict[str, str]) -> dict[str, list[tuple[Path, float, int]]]:
    """The finished runs (``model.zip``) under ``folder`` in figure6's layout (``layout``: variant -> sub-folder),
    per variant:
    ``folder/sigma_S/seed_K``, ``folder/tanh/sigma_S/seed_K``, ``folder/baseline_none/...``; sigma and seed
    from each run's ``config.yml``. Any number of seeds."""
    from mollirl.config import load_yaml

    out: dict[str, list[tuple[Path, float, int]]] = {}
    for variant, sub in layout.items():  # variant: its sub-folder ("" for the main runs)
        base = Path(folder) / sub if sub else Path(folder)
        found = []
        for run_dir in sorted(base.glob("sigma_*/seed_*")):
            if (run_dir / "model.zip").is_file() and (run_dir / "metrics.csv").is_file():
                config = load_yaml(run_dir / "config.yml")
                found.append((run_dir, float(config["sigma"]), int(config["seed"])))
        if found:
            out[variant] = found
    if not out:
        raise ValueError(f"--from-runs: no finished run (sigma_S/seed_K with model.zip and metrics.csv) under "
                         f"{str(folder)!r}")
    return out


def stored_variants(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(variants, stored)`` from a ``figure6.json``: this command's (``variants``) or the legacy one of
    commit ca26fc3 (``per_sigma``: each run's J_det series only, 5 seeds, the main variant). Each run's
    numbers are recomputed from its stored series; what the file does not hold stays NaN (not measured)."""
    import json

    from mollirl.reproduce.figure6_analysis import readings, sigma_summary

    data = json.loads(Path(path).read_text())
    if "variants" in data:
        variants = {}
        for variant, per_sigma in data["variants"].items():
            variants[variant] = {}
            for key, entry in per_sigma.items():
                runs = []
                for r in entry["runs"]:
                    n = len(r["J_det"])
                    rows = [{"J_det": j, "J_det_undiscounted": u, "ep_return_mean": b} for j, u, b in
                            zip(r["J_det"], r.get("J_det_undiscounted") or [None] * n, r.get("batch_return") or [None] * n)]
                    runs.append({**r, **readings([{k: (np.nan if v is None else v) for k, v in row.items()}
                                                  for row in rows])})
                variants[variant][key] = {"sigma": entry["sigma"], "runs": runs, **sigma_summary(runs)}
        return variants, data
    if "per_sigma" in data:  # the legacy format: J_det series per seed
        main = {}
        for key, entry in data["per_sigma"].items():
            runs = [{"seed": s["seed"], "sigma": entry["sigma"], "run_dir": s["run_dir"],
                     **readings([{"J_det": j} for j in s["J_det"]])} for s in entry["seeds"]]
            main[key] = {"sigma": entry["sigma"], "runs": runs, **sigma_summary(runs)}
        return {"main": main}, data
    raise ValueError(f"--from-runs: {str(path)!r} holds neither 'variants' nor 'per_sigma' (not a figure6.json)")



#: the legacy figure6.json (commit ca26fc3) holds no final episode: "stands" is read as final J_det above this
LEGACY_STANDING = -10.0
LEGACY_NOTE = (
    "re-judged from the per-seed J_det series of the figure6.json written by commit ca26fc3 (5 seeds per "
    "sigma, 100 epochs, one reading: J_det; no batch returns, no final episode, no saturation path). Its "
    "J_det(theta_0) = -1135.8164 (training row) and landscape centre -1135.8629 differ from the -1135.8505 "
    "every later JSON records: that code computed the MLP's mean in two ways (torch in the training's "
    "evaluation, numpy BLAS matmuls in the landscape engine), whose last-bit differences the hopper's "
    "chaotic closed loop amplifies; the same commit's code reproduces both values on this machine, and the "
    "one rollout core that replaced both (mollirl.rollout.mean, sums in index order) gives -1135.8505 for "
    "the J_det row and the landscape alike. The landscape numbers are as stored (the estimators of that "
    "commit); its landscape pictures named a folder of the machine that wrote them and are not kept.")
