"""What a provider test asserts beyond ``pytest.raises``: that a delivery is accepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pytest

from signatures import VerificationError


class _Verifies(Protocol):
    def verify(self, *args: Any, **kwargs: Any) -> object: ...


def assert_accepts(verifier: _Verifies | Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """The delivery is accepted: ``verifier.verify(*args, **kwargs)`` returns without raising (a verifier,
    ours or a provider SDK's), or, given a test's own verify helper, ``verifier(*args, **kwargs)`` does.
    A refusal fails the test with its reason instead of an error."""
    __tracebackhide__ = True
    check = verifier.verify if hasattr(verifier, "verify") else verifier
    try:
        check(*args, **kwargs)
    except VerificationError as exc:
        pytest.fail(f"refused a delivery it should accept ({exc.reason}): {exc}", pytrace=False)
