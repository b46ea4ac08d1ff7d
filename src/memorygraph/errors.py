"""The one exception tree of memorygraph.

Every error the library raises on purpose derives from `MemoryGraphError`, and
carries an `exit_code` the CLI uses (the CLI catches the root exactly once) and
`retryable`: whether the same request may succeed if tried again (a lost
connection, a busy engine) or will fail the same way (bad input, a missing
record). Adapters read both: the CLI maps them to exit codes, the MCP server to
tool errors.
Messages are one line: they name the problem and say what to do next. They
never contain a password, nor any adapter's words (a CLI flag, a command, a tool):
an input at fault is named by `.field`, and a next step by `.next_steps`
(`NextStep`), which each adapter words its own way. `str(error)` words both in
library terms.

    MemoryGraphError                exit 1 unless a subclass says otherwise
    ├── UsageError                  exit 2: the input or configuration is wrong
    │   ├── ConfigurationError      a backend config is incomplete or contradictory
    │   │   ├── UnknownBackendError     no backend of that name
    │   │   └── MissingDependencyError  the backend's optional package is absent
    │   ├── InvalidRecordError      a Memory/Relationship failed validation
    │   ├── DatabaseFileError       not a memorygraph database, corrupt, missing dir, read-only
    │   │   └── UnreadableRecordError   one stored record another program left unreadable
    │   ├── ForeignGraphError       another tool's graph: memorygraph neither writes nor counts it
    │   ├── UnsafeFileError         a file it would write is a symbolic link, or not the user's own
    │   ├── InvalidExportError      an exchange file failed validation (see `.problems`)
    │   └── TargetBusyError         another migration holds (or left unfinished) the target
    └── OperationError              exit 1: a valid request failed while running
        ├── BackendConnectionError  the engine could not be reached or refused us
        ├── BackendOperationError   the engine failed a read or write
        │   ├── StorageFullError        the disk holding the store is full
        │   ├── BackendBusyError        another writer held a lock longer than we wait
        │   └── ReplicationError        no replica confirmed a write in time: not acknowledged
        ├── IntegrityError          the write would break the graph (e.g. a dangling edge)
        ├── NotFoundError           no record with that id
        ├── ConflictError           exit 3: the record changed since it was read, or its id
        │                           is taken (see `.current_version`); nothing was written
        ├── ForbiddenError          exit 4: the caller's scopes do not allow the operation
        ├── MigrationError          a migration failed (see `.result`; rolled back or not)
        │   └── MigrationInterrupted    exit 130: stopped by Ctrl-C or a cancellation
        └── JournalWriteError       the migration journal could not be written (disk full)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

#: What a caller can do next about an error:
#:   rollback          undo the migration recorded in the journal `subject`
#:   resume            finish the migration recorded in the journal `subject`
#:   rollback_then_migrate  undo it (journal `subject`), then migrate again
#:   import_graph      copy the graph the memorygraph MCP server keeps on the engine
#:                     `subject` into a store of memorygraph's own
#:   reindex           rebuild the search index of the store `subject` once
#:   search            look the id up by searching the store
#:   forget            fix the memory `subject` (an id) where it was written, or delete
#:                     it and its relationships
Action = Literal[
    "rollback", "resume", "rollback_then_migrate", "import_graph", "reindex", "search", "forget"
]

#: Each action in library terms: what `str(error)` says.
_LIBRARY_WORDS: dict[str, str] = {
    "rollback": "undo it by rolling back the migration in {subject} (MigrationManager.rollback)",
    "resume": "finish it by resuming the migration in {subject} (MigrationManager.resume)",
    "rollback_then_migrate": "roll back the migration in {subject} "
    "(MigrationManager.rollback) and migrate again",
    "import_graph": "if the memorygraph MCP server wrote it, copy it into another store by "
    "importing it from the {subject} graph (exchange.importers.import_graph_store); "
    "otherwise choose another graph or database",
    "reindex": "rebuild its search index once (MemoryStore.reindex)",
    "search": "search for it",
    "forget": "fix it in the program that wrote it, or delete memory {subject!r} "
    "(MemoryStore.forget)",
}


@dataclass(frozen=True)
class NextStep:
    """One thing the caller can do about an error: an `Action` on a `subject` (a
    journal path, an engine name, a store), worded by each adapter."""

    action: Action
    subject: str = ""


def library_words(step: NextStep) -> str:
    """`step` in library terms."""
    return _LIBRARY_WORDS[step.action].format(subject=step.subject)


#: An adapter's wording of a next step.
Wording = Callable[[NextStep], str]


def with_next_steps(problem: str, steps: Iterable[NextStep], words: Wording = library_words) -> str:
    """`problem`, then the steps in `words`, joined by "or"."""
    said = " or ".join(words(step) for step in steps)
    return f"{problem}; {said}" if said else problem


class MemoryGraphError(Exception):
    """Root of every error memorygraph raises on purpose.

    `field` names the input at fault in library terms ("format", "since"), when
    there is one, and `next_steps` what the caller can do about it: each adapter
    says them in its own words (the CLI as flags and commands, the MCP server as
    parameters and tools). `problem` is the message without the next steps.
    """

    exit_code = 1
    #: True when trying the same request again may succeed.
    retryable = False
    #: The report of the operation that failed, when it has one (e.g. a `MigrationResult`).
    result: Any = None

    def __init__(
        self,
        message: str = "",
        *,
        field: str | None = None,
        next_steps: Iterable[NextStep] = (),
    ) -> None:
        super().__init__(message)
        self.field = field
        self.next_steps = tuple(next_steps)

    @property
    def problem(self) -> str:
        """What went wrong, without the next steps."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return with_next_steps(self.problem, self.next_steps)

    def worded(self, words: Wording) -> str:
        """The message with its next steps in an adapter's `words`."""
        return with_next_steps(self.problem, self.next_steps, words)


class UsageError(MemoryGraphError):
    """The caller's input or configuration is wrong; retrying will not help."""

    exit_code = 2


class ConfigurationError(UsageError):
    """A backend configuration is incomplete or contradictory. `field` names the
    missing or wrong field ("path", "uri", …) and `role` the store ("the target"),
    when known, so that an adapter can name its own option for it."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        role: str | None = None,
        next_steps: Iterable[NextStep] = (),
    ):
        super().__init__(message, field=field, next_steps=next_steps)
        self.role = role


class UnknownBackendError(ConfigurationError):
    """No backend is registered under the requested name."""


class MissingDependencyError(ConfigurationError):
    """The backend needs an optional package that is not installed."""


class InvalidRecordError(UsageError):
    """A record failed validation."""


class DatabaseFileError(UsageError):
    """A database file cannot be used: not ours, corrupt, read-only or missing."""


class UnreadableRecordError(DatabaseFileError):
    """One stored record cannot be read: another program wrote text into it that is not
    UTF-8, not JSON, or not a valid record. `record_id` names it; the message never
    quotes its text."""

    def __init__(
        self, message: str, *, record_id: str, next_steps: Iterable[NextStep] = ()
    ) -> None:
        super().__init__(message, next_steps=next_steps)
        self.record_id = record_id


class ForeignGraphError(UsageError):
    """A graph engine holds nodes or edges memorygraph did not write (another tool's graph).

    Raised at connect, before anything is written; the message names the importer
    that reads such a graph."""


class UnsafeFileError(UsageError):
    """A file (or directory) memorygraph would create or write is a symbolic link, or is not
    a plain file of the user's own: it is refused and the thing it points to is left alone."""


class InvalidExportError(UsageError):
    """An exchange file failed validation; `problems` lists them with line numbers."""

    def __init__(self, message: str, problems: list[Any] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class OperationError(MemoryGraphError):
    """A valid request failed while it ran."""


class BackendConnectionError(OperationError):
    """The engine could not be reached, or refused the connection."""

    retryable = True


class BackendOperationError(OperationError):
    """The engine failed a read or a write."""


class StorageFullError(BackendOperationError):
    """The disk holding a store is full: the write that met it was not kept, and the
    store can take no other write (not even an undo) until space is freed there."""


class ReplicationError(BackendOperationError):
    """A write reached the primary but not the replicas it must reach before it counts:
    it is not acknowledged (it may still be stored, and may be lost in a failover)."""

    retryable = True


class BackendBusyError(BackendOperationError):
    """The engine is busy: another writer held a lock for longer than we wait."""

    retryable = True


class IntegrityError(OperationError):
    """The write would break the graph, for example an edge to a missing memory."""


class NotFoundError(OperationError):
    """No record has the requested id."""


class ConflictError(OperationError):
    """The write was refused because the record is not as the caller expected: another
    writer changed it since the caller read `expected_version`, or a new record's id is
    already in use. Nothing was written. `current_version` is the record's version now
    (None when it is gone); read it again and decide."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        current_version: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.current_version = current_version


class ForbiddenError(OperationError):
    """The caller's principal lacks the scope the operation needs. Nothing was done.
    (A record in a namespace the caller does not hold is a `NotFoundError`, never this:
    another namespace's record looks exactly like a missing one.)"""

    exit_code = 4


class MigrationError(OperationError):
    """A migration failed. `result` holds the report, including whether it rolled back."""

    def __init__(
        self, message: str, result: Any = None, *, next_steps: Iterable[NextStep] = ()
    ) -> None:
        super().__init__(message, next_steps=next_steps)
        self.result = result


class MigrationInterrupted(MigrationError):
    """A migration was stopped by an interrupt (Ctrl-C) or a cancellation; the message
    says whether the target was rolled back."""

    exit_code = 130


class TargetBusyError(UsageError):
    """Another migration is running into the target, or left one unfinished there."""


class JournalWriteError(OperationError):
    """The migration journal could not be written (a full disk, most often); nothing
    was written to the target without its journal line."""
