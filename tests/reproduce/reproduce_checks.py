"""What every reproduction's JSON must hold: provenance, verdicts from the statistics module, quick marks."""

from __future__ import annotations

import json
from pathlib import Path

from mollirl.analysis.stats import OUTCOMES

VERSIONED = ("numpy", "torch", "stable-baselines3", "sb3-contrib", "gymnasium", "mujoco", "optuna")


def check_summary(path: Path, tmp_path: Path, *, quick: bool = True) -> dict:
    """Load ``path`` and check the contract every reproduction keeps; returns the summary."""
    text = path.read_text()
    assert str(tmp_path) not in text and '"/' not in text, "an absolute path in the JSON"
    summary = json.loads(text)
    prov = summary["provenance"]
    assert prov["command"].startswith("python -m mollirl.reproduce ")
    for package in VERSIONED:
        assert prov["versions"][package], package
    assert prov["cpu"] and prov["python"] and prov["wall_time_s"] == summary["wall_time_s"]
    assert set(prov["git"]) >= {"commit", "dirty"}
    claims = summary["claims"]
    assert isinstance(claims, list) and claims
    for c in claims:
        assert c["outcome"] in OUTCOMES and c["claim"] and c["rests_on"]
        assert c["verdict"] == (f"not distinguishable at n = {c['n']}" if c["outcome"] == "not distinguishable"
                                else c["outcome"])
        assert c["interval"]["statistic"] and c["interval"]["method"]
        assert (c.get("evidence") == "quick run: not evidence") == quick
    assert (summary.get("evidence") == "quick run: not evidence") == quick
    return summary


def verdicts(summary: dict) -> dict[str, str]:
    """``{claim: outcome}``."""
    return {c["claim"]: c["outcome"] for c in summary["claims"]}


def printed_verdicts_marked(out: str) -> bool:
    """Every verdict line of a quick run's printed summary carries the mark."""
    lines = [line for line in out.splitlines() if line.startswith("  ") and ("holds" in line or "fails" in line
                                                                            or "not distinguishable" in line)]
    return bool(lines) and all(line.rstrip().endswith("[quick run: not evidence]") for line in lines) \
        and "quick run: not evidence: --quick tests the code path" in out
