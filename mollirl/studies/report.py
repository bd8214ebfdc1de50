"""The study report: sigma*, a table of trials sorted by sigma, ``trials.csv`` and ``sigma_curve.png``.

Everything is read from the storage (the trials' user attributes hold the
per-seed results), so any machine that reaches the storage can report.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from mollirl.common.files import jsonable, write_atomic, write_bytes_atomic
from mollirl.studies.sigma_star import SigmaStar, describe
from mollirl.studies.sigma_star import sigma_star as compute_sigma_star
from mollirl.studies.spec import StudySpec
from mollirl.studies.storage import dashboard_command, mask, open_storage, storage_exists

CSV_COLUMNS = ("number", "state", "params", "return_mean", "return_std", "spread_mean", "spread_std", "seeds",
               "value_low", "value_high", "indistinguishable_from_best", "train_seconds", "report_seconds",
               "retry_of", "best", "note", "run_dirs")


def trial_row(trial: FrozenTrial) -> dict[str, Any]:
    """One trial as a flat dict (a params column per searched name)."""
    attrs = trial.user_attrs
    note = attrs.get("fail_reason", "")
    if trial.state == TrialState.PRUNED and attrs.get("pruned_at"):
        at = attrs["pruned_at"]
        note = f"pruned at epoch {at.get('epoch')}"
    elif trial.state == TrialState.FAIL and not note:
        note = "interrupted" if attrs.get("interrupted") else "worker lost (heartbeat); retried"
    elif trial.state == TrialState.RUNNING:
        note = f"running on {attrs.get('worker', '?')}"

    def num(key: str) -> float:
        value = attrs.get(key)
        return math.nan if value is None else float(value)

    return {"number": trial.number, "state": trial.state.name, **{f"param_{k}": v for k, v in trial.params.items()},
            "return_mean": num("return_mean"), "return_std": num("return_std"), "spread_mean": num("spread_mean"),
            "spread_std": num("spread_std"), "seeds": len(attrs.get("seed_results", [])),
            "value_low": math.nan, "value_high": math.nan, "indistinguishable_from_best": "",
            "train_seconds": num("train_seconds"), "report_seconds": num("report_seconds"),
            "retry_of": trial.system_attrs.get("failed_trial", ""),
            "best": False, "note": note, "run_dirs": " ".join(attrs.get("run_dirs", []))}


@dataclass
class StudyReport:
    """A study's rows (sorted by sigma), its best trial(s) and the files written."""

    study_name: str
    objective: str
    rows: list[dict[str, Any]]
    best: list[dict[str, Any]]
    n_complete: int
    param_names: list[str]
    files: list[Path] = field(default_factory=list)
    dashboard: str = ""
    #: sigma* with its interval and the indistinguishable set (``return``/``stability``), or None
    star: SigmaStar | None = None

    @property
    def sigma_star(self) -> dict[str, Any] | None:
        return self.best[0] if self.best else None


def build_report(study: optuna.Study, objective: str) -> StudyReport:
    """Rows of every trial and the best: max return, min spread, or the Pareto front (best return first)."""
    trials = study.get_trials(deepcopy=False)
    rows = [trial_row(t) for t in trials]
    param_names = sorted({k[len("param_"):] for r in rows for k in r if k.startswith("param_")},
                         key=lambda n: (n != "sigma", n))
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    if objective == "both":
        front = {t.number for t in study.best_trials} if complete else set()
        for r in rows:
            r["best"] = r["number"] in front
        best = sorted((r for r in rows if r["best"]), key=lambda r: -r["return_mean"])
        star = None
    else:
        star = compute_sigma_star([{"number": t.number, "sigma": t.params.get("sigma", math.nan), "attrs": t.user_attrs}
                           for t in trials if t.state == TrialState.COMPLETE and "sigma" in t.params], objective)
        best = [r for r in complete if star is not None and r["number"] == star.trial]
        if star is not None:
            for r in complete:
                iv = star.intervals.get(r["number"])
                if iv is not None:
                    r["value_low"], r["value_high"] = iv.low, iv.high
                    r["indistinguishable_from_best"] = r["number"] in star.ties
    for r in best:
        r["best"] = True
    rows.sort(key=lambda r: (r.get("param_sigma", math.inf), r["number"]))
    return StudyReport(study.study_name, objective, rows, best, len(complete), param_names, star=star)


def _pm(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.4g} ± {std:.2g}" if not math.isnan(std) else f"{mean:.4g}"


def format_report(report: StudyReport, n_trials: int | None = None) -> str:
    """The text the CLI prints."""
    lines = [f"study {report.study_name!r}: {report.n_complete} complete of {len(report.rows)} trials"
             + (f" (budget {n_trials})" if n_trials is not None else "") + f", objective {report.objective}"]
    star = report.sigma_star
    if star is None:
        lines.append("  no complete trial yet: no sigma*")
    elif report.star is not None:
        lines += describe(report.star)
        extra = "  ".join(f"{n}={star[f'param_{n}']:.4g}" for n in report.param_names if n != "sigma")
        if extra:
            lines.append(f"    with {extra}")
        other = ("spread of J(theta_k)", "spread") if report.objective == "return" else ("final J_det", "return")
        lines.append(f"    {other[0]} at sigma*: {_pm(star[f'{other[1]}_mean'], star[f'{other[1]}_std'])}  "
                     f"(mean ± std over seeds)")
    else:
        extra = "  ".join(f"{n}={star[f'param_{n}']:.4g}" for n in report.param_names if n != "sigma")
        lines.append(f"  sigma* = {star['param_sigma']:.4g}  (Pareto front, best final J_det; trial {star['number']}"
                     f"{', ' + extra if extra else ''})")
        lines.append(f"    final J_det        {_pm(star['return_mean'], star['return_std'])}  (mean ± std over "
                     f"{star['seeds']} seed{'s' if star['seeds'] != 1 else ''})")
        lines.append(f"    spread of J(theta_k) {_pm(star['spread_mean'], star['spread_std'])}")
        if len(report.best) > 1:
            front = ", ".join(f"{r['param_sigma']:.4g}" for r in sorted(report.best, key=lambda r: r["param_sigma"]))
            lines.append(f"    Pareto front sigma: {front}")
    header = f"  {'trial':>5}  {'state':<8}" + "".join(f"  {n:>10}" for n in report.param_names) \
        + f"  {'final J_det (mean ± std)':>26}  {'spread of J(theta_k)':>22}  {'95% interval':>20}  {'seeds':>5}  note"
    lines.append(header)
    for r in report.rows:
        mark = "*" if r["best"] else "=" if r["indistinguishable_from_best"] is True else " "
        params = "".join(f"  {r.get(f'param_{n}', math.nan):>10.4g}" for n in report.param_names)
        iv = f"[{r['value_low']:.4g}, {r['value_high']:.4g}]" if not math.isnan(r["value_low"]) else "-"
        lines.append(f" {mark}{r['number']:>5}  {r['state']:<8}{params}  {_pm(r['return_mean'], r['return_std']):>26}"
                     f"  {_pm(r['spread_mean'], r['spread_std']):>22}  {iv:>20}  {r['seeds']:>5}  {r['note']}".rstrip())
    if report.star is not None:
        lines.append(f"  (* sigma*; = not distinguishable from it; the interval is of the trial's mean "
                     f"{'final J_det' if report.objective == 'return' else 'spread'} over its seeds)")
    for path in report.files:
        lines.append(f"  wrote {path}")
    if report.dashboard:
        lines.append(f"  dashboard: {report.dashboard}")
    return "\n".join(lines)


def write_trials_csv(report: StudyReport, path: Path) -> Path:
    """``trials.csv``: one row per trial, sorted by sigma."""
    columns = list(CSV_COLUMNS)
    i = columns.index("params")
    columns[i:i + 1] = [f"param_{n}" for n in report.param_names]
    def write(tmp: Path) -> None:
        with Path(tmp).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for r in report.rows:
                writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()})

    write_bytes_atomic(Path(path), write)  # whole or absent after a crash
    return Path(path)


def write_study_json(report: StudyReport, path: Path) -> Path:
    """``study.json``: the study's record (written when the study ran, kept) with the report's ``sigma_star``
    section: sigma*, its interval, the value at sigma* and the indistinguishable set."""
    record: dict[str, Any] = {}
    if Path(path).is_file():
        try:
            record = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            record = {}
    record.setdefault("study_name", report.study_name)
    record["report"] = {"objective": report.objective, "complete": report.n_complete, "trials": len(report.rows),
                        "sigma_star": report.star.to_dict() if report.star is not None else None,
                        "pareto_front": [{"trial": r["number"], "sigma": r.get("param_sigma")} for r in report.best]
                        if report.objective == "both" else None}
    write_atomic(Path(path), json.dumps(jsonable(record), indent=1))
    return Path(path)



def tie_bands(report: StudyReport, widen: float = 1.06) -> list[tuple[float, float]]:
    """The sigma ranges to shade: each run of consecutive trials (in sigma order, any state) that are
    complete and not distinguishable from the best, from its smallest to its largest sigma, widened by
    ``widen`` (a factor, so a single trial shows as a band). A pruned, failed or distinguishable trial
    between two ties breaks the band: nothing is claimed about sigmas no complete trial measured."""
    rows = sorted((r for r in report.rows if "param_sigma" in r and not math.isnan(r["param_sigma"])),
                  key=lambda r: r["param_sigma"])
    bands, run = [], []
    for r in rows + [None]:
        if r is not None and r["state"] == "COMPLETE" and r["indistinguishable_from_best"] is True:
            run.append(r["param_sigma"])
            continue
        if run:
            bands.append((min(run) / widen, max(run) * widen))
            run = []
    return bands


def plot_sigma_curve(report: StudyReport, path: Path) -> Path:
    """``sigma_curve.png``: final J_det and the spread of J(theta_k) against sigma, sigma* marked.

    On the objective's panel each complete trial has its 95% interval over seeds (the same seeds for
    every trial), the sigmas not distinguishable from the best are shaded and sigma*'s interval is the
    bar at the top; the other panel shows ± std over seeds. Pruned trials are ticks on the sigma axis.
    For ``both`` a third panel with the Pareto front (± std on the first two).
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend state, Agg by default
    from matplotlib.transforms import blended_transform_factory

    done = [r for r in report.rows if r["state"] == "COMPLETE" and "param_sigma" in r]
    partial = [r for r in report.rows if r["state"] == "FAIL" and "param_sigma" in r
               and not math.isnan(r["return_mean"])]
    pruned = [r for r in report.rows if r["state"] == "PRUNED" and "param_sigma" in r]
    panels = 3 if report.objective == "both" else 2
    fig = Figure(figsize=(5.5 * panels, 4.8), layout="constrained")
    axes = fig.subplots(1, panels)
    star = report.star
    for ax, key, label in ((axes[0], "return", "final J_det (deterministic return)"),
                           (axes[1], "spread", "spread of J(theta_k) over epochs")):
        ax.set_xscale("log")
        sigmas = {r["param_sigma"] for r in done + partial + pruned}
        if len(sigmas) == 1:  # one point: give the log axis a decade around it
            ax.set_xlim(min(sigmas) / 3, min(sigmas) * 3)
        is_objective = star is not None and key == {"return": "return", "stability": "spread"}[report.objective]
        if is_objective:
            for i, (lo, hi) in enumerate(tie_bands(report)):
                ax.axvspan(lo, hi, color="C2", alpha=0.15, linewidth=0,
                           label="not distinguishable from sigma*" if i == 0 else None)
            ys = [r[f"{key}_mean"] for r in done]
            lows = [0.0 if math.isnan(r["value_low"]) else r[f"{key}_mean"] - r["value_low"] for r in done]
            highs = [0.0 if math.isnan(r["value_high"]) else r["value_high"] - r[f"{key}_mean"] for r in done]
            if done:
                ax.errorbar([r["param_sigma"] for r in done], ys, yerr=[lows, highs], fmt="o", color="C0",
                            capsize=3, linestyle="none", label=f"complete: mean, 95% interval over {star.n_seeds} seeds")
            iv = star.sigma_interval
            lo_y, hi_y = ax.get_ylim()
            ax.set_ylim(lo_y, hi_y + 0.18 * (hi_y - lo_y))  # room above the data for sigma*'s interval
            top = blended_transform_factory(ax.transData, ax.transAxes)
            if iv.defined:
                ax.plot([iv.low, iv.high], [0.93, 0.93], color="C3", linewidth=2.5, transform=top,
                        solid_capstyle="butt", label="95% interval of sigma* over seeds")
            ax.plot([star.sigma], [0.93], marker="v", color="C3", transform=top, linestyle="none")
        elif done:
            ax.errorbar([r["param_sigma"] for r in done], [r[f"{key}_mean"] for r in done],
                        yerr=[0.0 if math.isnan(r[f"{key}_std"]) else r[f"{key}_std"] for r in done],
                        fmt="o", color="C0", capsize=3, linestyle="none", label="complete: mean ± std over seeds")
        if partial:
            ax.errorbar([r["param_sigma"] for r in partial], [r[f"{key}_mean"] for r in partial],
                        yerr=[0.0 if math.isnan(r[f"{key}_std"]) else r[f"{key}_std"] for r in partial],
                        fmt="x", color="0.6", capsize=3, linestyle="none", label="failed (partial)")
        if pruned:
            bottom = blended_transform_factory(ax.transData, ax.transAxes)
            ax.plot([r["param_sigma"] for r in pruned], [0.02] * len(pruned), "|", color="0.4", markersize=9,
                    transform=bottom, linestyle="none", label=f"pruned ({len(pruned)})")
        for r in report.best:
            ax.axvline(r["param_sigma"], color="C3", linewidth=0.8, linestyle="--")
        ax.set_xlabel("sigma")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize="x-small", frameon=False)
    if report.sigma_star is not None:
        title = f"sigma* = {report.sigma_star['param_sigma']:.4g} ({report.objective})"
        if star is not None and star.sigma_interval.defined:
            title += f", 95% interval [{star.sigma_interval.low:.3g}, {star.sigma_interval.high:.3g}]"
        axes[0].set_title(title, fontsize="medium")
    if panels == 3:
        ax = axes[2]
        ax.scatter([r["spread_mean"] for r in done], [r["return_mean"] for r in done], color="C0", label="complete")
        front = sorted(report.best, key=lambda r: r["spread_mean"])
        if front:
            ax.plot([r["spread_mean"] for r in front], [r["return_mean"] for r in front], "o-", color="C3",
                    label="Pareto front")
            for r in front:
                ax.annotate(f"{r['param_sigma']:.3g}", (r["spread_mean"], r["return_mean"]), fontsize="x-small",
                            textcoords="offset points", xytext=(4, 4))
        ax.set_xlabel("spread of J(theta_k) (minimize)")
        ax.set_ylabel("final J_det (maximize)")
        ax.legend(loc="best", fontsize="small")
        ax.grid(True, alpha=0.3)
    fig.suptitle(report.study_name)
    write_bytes_atomic(Path(path), lambda tmp: fig.savefig(tmp, dpi=110))
    return Path(path)


def report_study(study: optuna.Study, objective: str, out_dir: Path, storage_url: str) -> StudyReport:
    """Build the report, write ``trials.csv`` and (with a complete trial) ``sigma_curve.png`` into ``out_dir``."""
    report = build_report(study, objective)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report.files.append(write_trials_csv(report, out_dir / "trials.csv"))
    if any(r["state"] in ("COMPLETE", "FAIL") and not math.isnan(r["return_mean"]) for r in report.rows):
        report.files.append(plot_sigma_curve(report, out_dir / "sigma_curve.png"))
    report.files.append(write_study_json(report, out_dir / "study.json"))
    report.dashboard = dashboard_command(storage_url)
    return report


def report_spec(spec: StudySpec, study: optuna.Study | None = None) -> str:
    """Report the study named by ``spec`` (or the given ``study``): write its files, return the text.

    The objective is the one the study was created with (its record), so ``--report`` needs
    only the storage and the study name.

    :raises ValueError: when the storage holds no study of that name.
    """
    from mollirl.registry import closest
    from mollirl.studies.runner import ATTR

    if study is not None:
        return format_report(report_study(study, spec.objective, spec.study_dir, spec.storage_url), spec.n_trials)
    if spec.embedded and not storage_exists(spec.storage_url):
        raise ValueError(f"no study {spec.study_name!r}: there is no embedded store under {spec.log_folder!r} yet")
    storage = open_storage(spec.storage_url)
    try:
        try:
            study_id = storage.get_study_id_from_name(spec.study_name)
        except KeyError:
            names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
            known = closest(spec.study_name, names) if names else "it holds no study"
            raise ValueError(f"no study {spec.study_name!r} in {mask(spec.storage_url)!r} ({known})") from None
        record = storage.get_study_user_attrs(study_id).get(ATTR) or {}
        objective = record.get("search", {}).get("objective", spec.objective)
        study = optuna.load_study(study_name=spec.study_name, storage=storage)
        return format_report(report_study(study, objective, spec.study_dir, spec.storage_url))
    finally:
        storage.remove_session()
        storage.engine.dispose()
