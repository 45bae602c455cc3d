"""Each staff test starts with the sign-in limits unspent."""

from __future__ import annotations

import pytest

from consent_service.extensions import limiter


@pytest.fixture(autouse=True)
def _fresh_limits():
    limiter.reset()
    yield
    limiter.reset()
