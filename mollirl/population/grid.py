"""A population from the command line: the product of a sigma list and a seed list, in one folder.

``python -m mollirl.train --sigma 0.05,0.5 --seeds 3`` trains 2 x 3 members into
``<log-folder>/<algo>/<env>_<n>/``: ``population.json`` (the members, written first,
atomically) and one ordinary run folder per member, ``sigma_<s>_seed_<k>/``.
``--resume`` of that folder resumes every member; ``--resume`` of a member folder
resumes that member alone.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from mollirl.config import RunConfig
from mollirl.sigma import check_sigma

MANIFEST = "population.json"


def parse_sigmas(text: str) -> list[float]:
    """``"0.5"`` or ``"0.005,0.05,0.5,5"`` -> floats (each finite and > 0, no repeats).

    :raises ValueError: naming ``--sigma`` and the bad item.
    """
    from mollirl.sigma import check_sigma

    items = str(text).split(",")
    name = "--sigma" if len(items) == 1 else f"--sigma {text!r}: each value"  # every command's rule for a sigma
    out = [check_sigma(item.strip(), name) for item in items]
    if len(set(out)) != len(out):
        raise ValueError(f"--sigma {text!r} repeats a value")
    return out


def parse_seeds(text: str) -> list[int]:
    """``"5"`` (seeds 0..4) or ``"0,1,2"`` (those seeds, each >= 0, no repeats).

    :raises ValueError: naming ``--seeds`` and the bad item.
    """
    text = str(text)
    if "," not in text:
        try:
            n = int(text)
        except ValueError:
            raise ValueError(f"--seeds {text!r}: expected a count N (seeds 0..N-1) or a list like 0,1,2") from None
        if n < 1:
            raise ValueError(f"--seeds {text!r}: the count must be >= 1")
        return list(range(n))
    out = []
    for item in text.split(","):
        try:
            seed = int(item)
        except ValueError:
            raise ValueError(f"--seeds {text!r}: {item.strip()!r} is not a seed (an integer >= 0)") from None
        if seed < 0:
            raise ValueError(f"--seeds {text!r}: seeds must be >= 0, got {seed}")
        out.append(seed)
    if len(set(out)) != len(out):
        raise ValueError(f"--seeds {text!r} repeats a seed")
    return out


def member_dir_name(sigma: float, seed: int) -> str:
    return f"sigma_{sigma:g}_seed_{seed}"


def grid_configs(base: RunConfig, sigmas: list[float], seeds: list[int]) -> list[tuple[str, RunConfig]]:
    """``(folder name, config)`` of every (sigma, seed) member, sigma-major.

    :raises ValueError: for a sigma list with a learnable or scheduled sigma.
    """
    if len(sigmas) > 1 and base.learn_sigma:
        raise ValueError("--sigma with several values excludes --learn-sigma (each member's sigma would be trained)")
    if len(sigmas) > 1 and base.sigma_schedule:
        raise ValueError("--sigma with several values excludes --sigma-schedule (the schedule sets sigma)")
    base = copy.copy(base).validate()  # every other field once; a member differs only in sigma and seed
    fields = vars(base)
    out = []
    for sigma in sigmas:
        sigma = check_sigma(sigma, "--sigma")
        for seed in seeds:
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise ValueError(f"--seeds: seeds must be integers >= 0, got {seed!r}")
            config = object.__new__(RunConfig)  # a shallow copy (copy.copy's result, at a tenth of its cost)
            config.__dict__.update(fields, sigma=sigma, seed=seed, policy_kwargs=dict(base.policy_kwargs),
                                   env_kwargs=dict(base.env_kwargs), algo_kwargs=dict(base.algo_kwargs),
                                   callbacks=list(base.callbacks), plugins=list(base.plugins))  # its own containers
            out.append((member_dir_name(sigma, seed), config))
    return out


def write_manifest(folder: Path, members: list[tuple[str, RunConfig]], command: str) -> None:
    """``population.json``: the members' folders, sigmas and seeds (written atomically)."""
    from mollirl.common.files import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    record = {"format": 1, "command": command,
              "members": [{"dir": name, "sigma": c.sigma, "seed": c.seed} for name, c in members]}
    write_atomic(folder / MANIFEST, json.dumps(record, indent=1) + "\n")


def read_manifest(folder: Path) -> list[dict]:
    """The members of a population folder.

    :raises ValueError: for an unreadable manifest or a member folder that is missing.
    """
    path = Path(folder) / MANIFEST
    try:
        record = json.loads(path.read_text())
        members = [{"dir": str(m["dir"]), "sigma": float(m["sigma"]), "seed": int(m["seed"])}
                   for m in record["members"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"--resume {str(folder)!r}: {MANIFEST} is unreadable ({type(exc).__name__})") from None
    for m in members:
        if Path(m["dir"]).name != m["dir"] or not (Path(folder) / m["dir"] / "config.yml").is_file():
            raise ValueError(f"--resume {str(folder)!r}: member folder {m['dir']!r} is missing")
    return members


def is_population(folder: str | Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()
