"""What every contract mixin shares: the `backend` fixture, and the gate that skips a
test, or a whole mixin, needing a capability the backend's spec does not declare.

`requires(capability, …)` marks a test function or a mixin class. A marked class is
skipped as a whole, wherever it is mixed in: each test asks every class of the test
class's MRO that has it (defined or inherited) what it requires, so the mark covers
the mixin's tests and its subclasses' but not other mixins joined beside it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest

from memorygraph.backends.base import Backend
from memorygraph.backends.registry import create_backend
from memorygraph.backends.spec import CAPABILITIES
from memorygraph.config import BackendConfig

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute `requires` sets on a test function or a mixin: the capabilities it needs.
REQUIRES = "memorygraph_requires"


def requires(*capabilities: str) -> Callable[[F], F]:
    """Mark a contract test, or a whole contract mixin, as needing `capabilities` (names
    from `memorygraph.backends.spec.CAPABILITIES`)."""
    unknown = sorted(set(capabilities) - CAPABILITIES)
    if unknown:
        raise ValueError(f"unknown capabilit(ies): {', '.join(unknown)}")

    def mark(test: F) -> F:
        # A class's own mark only (vars, not getattr): a mixin inherits none from its bases.
        held = (
            vars(test).get(REQUIRES, ()) if isinstance(test, type) else getattr(test, REQUIRES, ())
        )
        setattr(test, REQUIRES, (*held, *capabilities))
        return test

    return mark


def required_capabilities(cls: type, test: Callable[..., Any]) -> list[str]:
    """What running `test` as a test of `cls` needs: the test's own marks and those of
    every class in `cls`'s MRO that has a test of that name, its own or inherited."""
    needed = list(getattr(test, REQUIRES, ()))
    for owner in cls.__mro__:
        if hasattr(owner, test.__name__):
            needed += vars(owner).get(REQUIRES, ())
    return list(dict.fromkeys(needed))


class ContractBase:
    """The fixtures every contract mixin uses; a backend's test class provides
    `backend_config`, a `BackendConfig` for an empty store."""

    @pytest.fixture(autouse=True)
    def _declared_capabilities(
        self, request: pytest.FixtureRequest, backend_config: BackendConfig
    ) -> None:
        spec = backend_config.spec
        for capability in required_capabilities(request.cls or type(self), request.function):
            if not spec.has(capability):
                pytest.skip(f"backend {spec.name} does not declare capability {capability}")

    @pytest.fixture
    async def backend(self, backend_config: BackendConfig) -> AsyncIterator[Backend]:
        async with create_backend(backend_config) as b:
            yield b
