"""A training run without a progress bar says its ETA once, when it will take long (``--epochs 10**9``)."""

from __future__ import annotations

from mollirl.common.budget import EtaNote
from mollirl.common.callbacks import EpochCallback


class EtaCallback(EpochCallback):
    """At each epoch boundary, :class:`~mollirl.common.budget.EtaNote` over the epochs of this command
    (a note on stderr once the rest, projected from the epochs so far, passes a minute).

    :param prog: the command, first word of the note.
    :param epochs: the run's planned epochs.
    """

    def __init__(self, prog: str, epochs: int) -> None:
        super().__init__()
        self.prog = prog
        self.epochs = int(epochs)
        self.first: int | None = None
        self.note: EtaNote | None = None

    def _on_training_start(self) -> None:
        self.first = int(self.model.epoch)
        self.note = EtaNote(self.prog, "training")

    def _on_rollout_start(self) -> None:
        if self.note is not None and self.first is not None:
            self.note(int(self.model.epoch) - self.first, self.epochs - self.first)
