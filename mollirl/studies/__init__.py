"""Built-in Optuna studies (plugin subpackage): searches for the optimal sigma* and the paper's grids.

Importing registers the built-in :class:`StudyPreset` entries in the ``studies``
registry; Optuna itself is imported only by the modules that run or report a
study (:mod:`mollirl.studies.runner`, :mod:`mollirl.studies.report`), which only
``python -m mollirl.study`` loads.

Modules:

* :mod:`~mollirl.studies.presets`: :class:`StudyPreset` and the built-in presets;
* :mod:`~mollirl.studies.spec`: :class:`StudySpec`, one validated study (search
  space, objective, training config, storage);
* :mod:`~mollirl.studies.objective`: a batch of trials (B trials x S seeds of ordinary
  mollirl runs trained as one population, reported per epoch), the automatic batch size;
* :mod:`~mollirl.studies.pruning`: pruning inside a batch (one decision for every trial at a rung);
* :mod:`~mollirl.studies.sigma_star`: sigma* with its interval over paired seeds and the set of
  sigmas not distinguishable from it;
* :mod:`~mollirl.studies.storage`: storage URLs, the embedded SQLite store, the
  trial-budget lock;
* :mod:`~mollirl.studies.runner`: creating/resuming a study, worker processes;
* :mod:`~mollirl.studies.report`: sigma*, the trial table, ``trials.csv``, ``sigma_curve.png``.
"""

from __future__ import annotations

from mollirl.registry import register
from mollirl.studies.presets import FIGURE6, SIGMA_SEARCHES, StudyPreset

__all__ = ["StudyPreset"]

register("studies", "figure6", FIGURE6, help=FIGURE6.description)
for _name, _preset in SIGMA_SEARCHES.items():
    register("studies", _name, _preset, help=_preset.description)
