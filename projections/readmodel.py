"""What every read model is: a name, its tables, and how one event changes them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from projections.store import Tx


class ReadModel(ABC):
    """A projection of the event log into tables.

    ``apply`` runs inside the transaction that also records the position, so it
    must only touch its own tables through ``tx``; it may read them freely.
    """

    name: ClassVar[str]
    version: ClassVar[int] = 1
    """The code version of the model's rows: raise it when ``apply`` or ``ddl`` change
    what the tables hold. A runner of a newer version builds a new generation beside
    the served one and switches to it; one of an older version refuses to write."""
    ddl: ClassVar[tuple[str, ...]]

    def attach(self, app: Any) -> None:
        """Given the application, for models that rebuild aggregates to compute rows."""
        return None

    def reset(self) -> None:
        """Forget in-memory state: the batch it belonged to was rolled back."""
        return None

    def flush(self, tx: Tx) -> None:
        """Write what ``apply`` kept in memory; called once per batch, before tracking."""
        return None

    @abstractmethod
    def apply(self, tx: Tx, event: Any, position: int) -> None:
        """Apply one domain event (anything it does not know, it ignores)."""
