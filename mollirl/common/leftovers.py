"""What a command created, so that a command that fails leaves nothing half-made behind.

:class:`Leftovers` notes which of a command's paths (folders, store files, lock files) do not
exist yet; after a failure, :meth:`Leftovers.remove` deletes those the command created (and
nothing that was there before), in reverse order, so a new output folder, a half-made store or
a lock file of a refused command does not stay.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path


class Leftovers:
    """The paths among ``paths`` that do not exist now (the ones a command may create).

    :param paths: candidate paths, parents before children.
    """

    def __init__(self, paths: Iterable[str | Path]) -> None:
        self.new = [Path(p) for p in paths if not Path(p).exists()]

    def created(self) -> list[Path]:
        """The noted paths that exist now (this command made them)."""
        return [p for p in self.new if p.exists() or p.is_symlink()]

    def remove(self, keep: Callable[[Path], bool] = lambda p: False) -> list[Path]:
        """Delete every path this command created, children first, except those ``keep`` says; returns them."""
        removed = []
        created = self.created()
        kept = [p for p in created if keep(p)]
        for path in sorted(created, key=lambda p: len(p.parts), reverse=True):
            if path in kept or any(path in k.parents for k in kept):  # a folder holding a kept path stays
                continue
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
            except OSError:
                pass
        return removed
