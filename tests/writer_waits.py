"""How long a writer waited for the one writer lock, counted in other writers' commits
(tests/test_writer_lock.py: in the test process and in the simulator process it starts)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from data_layer.storage import versions


class WaitWatch:
    """Count, for each commit of this process, the versions other writers committed while it
    was queued: from the current version right after it took its ticket to its own version.

    A fair lock with two writers that each ask again only after committing lets at most one
    other commit in (the writer holding the lock when the ticket was taken); an unfair one
    lets the other writer commit again and again.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.queued_at, self.mine = data_dir, [], []
        join, commit = versions._join_queue, versions.Staging.commit

        @contextlib.contextmanager
        def watched_join(d):
            with join(d) as ticket:
                self.queued_at.append(versions.current_version(d))
                yield ticket

        def watched_commit(stage, *args, **kwargs):
            name = commit(stage, *args, **kwargs)
            self.mine.append(name)
            return name

        versions._join_queue = watched_join
        versions.Staging.commit = watched_commit
        self._undo = lambda: (
            setattr(versions, "_join_queue", join),
            setattr(versions.Staging, "commit", commit),
        )

    def pop(self) -> int:
        """Other writers' commits during the last wait (one ticket, one commit)."""
        before, mine = self.queued_at.pop(), self.mine.pop()
        assert not self.queued_at and not self.mine
        names = versions.list_versions(self.data_dir)
        if before not in names:  # pruned: the wait outlasted RETIRED_GRACE_S
            return len(names)
        return names.index(mine) - names.index(before) - 1

    def undo(self) -> None:
        self._undo()
