"""The exception tree drawn at the top of errors.py is the tree of its classes: every
class is drawn once, under its base, with the exit code it really has."""

from __future__ import annotations

import inspect
import re

from memorygraph import errors

_LINE = re.compile(
    r"^(?P<lead>[\s│├└─]*)(?P<name>[A-Z]\w+Error|MigrationInterrupted)\b(?P<rest>.*)$"
)


def _drawn() -> dict[str, tuple[str | None, str]]:
    """Each drawn class: (its drawn parent, the words beside it)."""
    drawn: dict[str, tuple[str | None, str]] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        depth = len(match["lead"])
        while stack and stack[-1][0] >= depth:
            stack.pop()
        assert match["name"] not in drawn, f"{match['name']} is drawn twice"
        drawn[match["name"]] = (stack[-1][1] if stack else None, match["rest"])
        stack.append((depth, match["name"]))
    return drawn


def _classes() -> dict[str, type[errors.MemoryGraphError]]:
    return {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls)
        and issubclass(cls, errors.MemoryGraphError)
        and cls.__module__ == errors.__name__
        and not name.startswith("_")
    }


def test_every_error_class_is_drawn_under_its_base() -> None:
    drawn = _drawn()
    classes = _classes()
    assert set(drawn) == set(classes), (
        f"drawn but not defined: {sorted(set(drawn) - set(classes))}; "
        f"defined but not drawn: {sorted(set(classes) - set(drawn))}"
    )
    for name, cls in classes.items():
        parent, _ = drawn[name]
        base = cls.__bases__[0]
        expected = None if base is Exception else base.__name__
        assert parent == expected, f"{name} is drawn under {parent}, but its base is {expected}"


def test_the_exit_codes_drawn_are_the_classes_exit_codes() -> None:
    for name, (_, words) in _drawn().items():
        said = re.search(r"exit (\d+)", words)
        if said is not None:
            assert int(said[1]) == _classes()[name].exit_code, f"{name}: {words.strip()}"
        else:
            parent = _classes()[name].__bases__[0]
            assert _classes()[name].exit_code == parent.exit_code, (
                f"{name} has exit code {_classes()[name].exit_code}; draw it"
            )
