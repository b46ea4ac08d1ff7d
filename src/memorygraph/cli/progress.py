"""Progress bars for long commands (migrate, import, export, demo): one live bar per
phase with records per second and the time left, shown only on an interactive
terminal. Kept apart from `common` so that commands without bars (serve above all)
do not load rich's live display at start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from memorygraph.cli.common import err_console


def show_progress() -> bool:
    """Progress bars only on an interactive terminal (stderr), never when piped."""
    return err_console.is_terminal


class _RateColumn(ProgressColumn):
    """Records per second of a task."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:>9,.0f} rec/s" if speed else " " * 15, style="cyan")


class ProgressDisplay:
    """A live bar per phase with records/s and ETA; silent when not on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def update(self, phase: str, done: int, total: int | None = None) -> None:
        """Record that `phase` has handled `done` records (of `total`, if known)."""
        if self._progress is None:
            return
        task = self._tasks.get(phase)
        if task is None:
            task = self._progress.add_task(phase, total=total)
            self._tasks[phase] = task
        self._progress.update(task, completed=done, total=total)

    @contextmanager
    def running(self) -> Iterator[ProgressDisplay]:
        if not self.enabled:
            yield self
            return
        self._progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=False,
        )
        with self._progress:
            yield self
        self._progress = None
