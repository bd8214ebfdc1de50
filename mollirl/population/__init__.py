"""Populations: many runs of one env trained side by side in one batched rollout (library API).

:class:`Population` takes :class:`Member` s (a config and a run folder each) and trains them
as one process, one rollout per epoch, one update per member; see :mod:`~mollirl.population.trainer`.
``python -m mollirl.train --seeds 5 --sigma 0.05,0.5`` builds one from the command line.
"""

from mollirl.population.trainer import (
    MEMORY_FRACTION, SHARED_KEYS, Member, MemberOutcome, Population, check_members, estimate_bytes,
)

__all__ = ["MEMORY_FRACTION", "SHARED_KEYS", "Member", "MemberOutcome", "Population", "check_members",
           "estimate_bytes"]
