"""Training runs: the run folder, metrics, checkpoints (core; used by the CLI, studies and reproduce).

- :mod:`~mollirl.training.run`: :func:`train` (one run from a config), :class:`RunSession`
  (a run folder and its model, shared by single runs and populations), :func:`prepare`,
  :class:`RunContext` (what callback factories get), :class:`TrainResult`;
- :mod:`~mollirl.training.metrics`: ``metrics.csv`` (:class:`MetricsCSVWriter`, :func:`read_metrics`);
- :mod:`~mollirl.training.checkpoint`: checkpoints as verified units, the SIGINT/SIGTERM stop flag.
"""

from mollirl.training.run import (
    Envs, Prepared, RunContext, RunSession, TrainResult, build_model, build_policy_kwargs, check_names,
    contract_kwargs, make_envs, next_run_dir, parse_callback_spec, prepare, train,
)

__all__ = ["Envs", "Prepared", "RunContext", "RunSession", "TrainResult", "build_model", "build_policy_kwargs",
           "check_names", "contract_kwargs", "make_envs", "next_run_dir", "parse_callback_spec", "prepare", "train"]
