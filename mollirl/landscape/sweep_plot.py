"""The sigma sweep's figure (:mod:`mollirl.landscape.sweep`): four panels against sigma."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def save_png(sweep, path: str | Path) -> Path:
    """Four panels against sigma (log): J_sigma and J; the bias J_sigma - J; tr Cov(g_N) and the SNR; the
    angle between E g and the finite-difference gradient. Every point with its 95% interval."""
    from matplotlib.figure import Figure

    from mollirl.common.files import write_bytes_atomic

    x = np.array(sweep.sigmas)

    def series(key):
        ivs = [getattr(r, key) for r in sweep.rows]
        est = np.array([iv.estimate for iv in ivs], dtype=float)
        lo = np.array([iv.low if iv.defined else iv.estimate for iv in ivs], dtype=float)
        hi = np.array([iv.high if iv.defined else iv.estimate for iv in ivs], dtype=float)
        return est, np.vstack([np.maximum(est - lo, 0), np.maximum(hi - est, 0)])

    fig = Figure(figsize=(11, 7.5), layout="constrained")
    (a, b), (c, e) = fig.subplots(2, 2)
    est, err = series("J_sigma")
    a.errorbar(x, est, yerr=err, fmt="o-", capsize=3, label="J_sigma(theta) (mean over episodes, 95% CI)")
    a.axhline(sweep.J, color="C3", linestyle="--", linewidth=1, label=f"J(theta) = {sweep.J:.4g}")
    a.set_ylabel("discounted return")
    a.set_title("the mollified objective")
    ivs = [r.bias for r in sweep.rows]
    mag = np.array([abs(iv.estimate) for iv in ivs])
    floor = float(np.min(mag[mag > 0])) / 10 if np.any(mag > 0) else 1e-12
    lo = np.array([min(abs(iv.low), abs(iv.high)) if iv.defined and iv.low * iv.high > 0 else floor for iv in ivs])
    hi = np.array([max(abs(iv.low), abs(iv.high)) if iv.defined else m for iv, m in zip(ivs, mag)])
    neg = np.array([iv.estimate < 0 for iv in ivs])
    for mask, style, label in ((neg, dict(fmt="o", color="C1"), "J_sigma < J"),
                               (~neg, dict(fmt="o", mfc="white", color="C1"), "J_sigma > J")):
        if mask.any():
            b.errorbar(x[mask], np.maximum(mag[mask], floor),
                       yerr=[np.maximum(mag[mask] - lo[mask], 0), np.maximum(hi[mask] - mag[mask], 0)],
                       capsize=3, linestyle="none", label=label, **style)
    b.plot(x, np.maximum(mag, floor), color="C1", linewidth=0.8)
    b.set_yscale("log")
    b.set_ylabel("|J_sigma - J|")
    b.set_title("bias of mollification (large sigma hurts)")
    b.legend(fontsize="small", loc="best")
    est, err = series("trace_cov")
    c.errorbar(x, est, yerr=err, fmt="o-", color="C2", capsize=3, label=f"tr Cov(g_N), N = {sweep.batch_episodes}")
    c.set_yscale("log")
    c.set_ylabel("tr Cov of the gradient estimate")
    c2 = c.twinx()
    est, err = series("snr")
    c2.errorbar(x, est, yerr=err, fmt="s--", color="C4", capsize=3, label="SNR |E g| / sqrt(tr Cov)")
    c2.set_ylim(bottom=0.0)
    c2.set_ylabel("SNR (0: no signal above the noise)", color="C4")
    c.set_title(f"variance of REINFORCE (baseline {sweep.baseline}; small sigma hurts)")
    lines = c.get_legend_handles_labels()
    lines2 = c2.get_legend_handles_labels()
    c.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize="small", loc="best")
    est, err = series("angle_deg")
    e.errorbar(x, est, yerr=err, fmt="o-", color="C5", capsize=3)
    e.axhline(90.0, color="0.5", linewidth=0.8, linestyle=":")
    e.set_ylim(0, 180)
    e.set_ylabel("degrees")
    e.set_title(f"angle(E g, finite-difference grad J) (step {sweep.fd_step:g})")
    for ax in (a, b, c, e):
        ax.set_xscale("log")
        ax.set_xlabel("sigma")
        ax.grid(True, which="both", alpha=0.3)
    a.legend(fontsize="small", loc="best")
    fig.suptitle(f"{sweep.env}: sigma sweep at {sweep.label} ({sweep.episodes} episodes per sigma, common random "
                 f"numbers, horizon {sweep.horizon}, gamma {sweep.gamma:g})", fontsize="small")
    write_bytes_atomic(Path(path), lambda tmp: fig.savefig(tmp, dpi=100))
    return Path(path)
