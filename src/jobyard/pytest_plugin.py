"""The pytest plugin (entry point ``pytest11``, installed with the package): jobyard servers as fixtures.

    def test_retrieval(jobyard):
        glacier = jobyard.client("glacier")
        ...
        jobyard.advance("5h")

``jobyard``          a fresh server and data dir for each test (function scope)
``jobyard_session``  one server for the session; call ``.reset()`` where a test needs it empty

Both yield ``jobyard.testing.Jobyard`` (``.url``, ``.client()``, ``.resource()``, ``.advance()``, ``.freeze()``,
``.scale()``, ``.reset()``, ``.clock()``, ``.now()``) with the clock frozen at the start. Options for
``jobyard.testing.serve()`` come from the ``jobyard_options`` and ``jobyard_session_options`` fixtures, which a
conftest.py may override. Under pytest-xdist every worker has its own servers, ports and data dirs.

Nothing of jobyard is imported until a collected test asks for one of these fixtures.
"""

from __future__ import annotations

import pytest

FIXTURES = frozenset({"jobyard", "jobyard_session"})


def pytest_collection_finish(session) -> None:
    # The first server of a process loads botocore's models; done here, before the first test, it is not
    # paid inside that test's fixture.
    if any(FIXTURES.intersection(getattr(item, "fixturenames", ())) for item in session.items):
        from .testing import warm

        warm()


@pytest.fixture
def jobyard_options() -> dict:
    """Options of ``jobyard.testing.serve()`` for the ``jobyard`` fixture (override it in a conftest.py)."""
    return {}


@pytest.fixture(scope="session")
def jobyard_session_options() -> dict:
    """Options of ``jobyard.testing.serve()`` for the ``jobyard_session`` fixture."""
    return {}


@pytest.fixture
def jobyard(jobyard_options):
    """A jobyard server of this test alone: fresh data dir, clock frozen, stopped and removed afterwards."""
    from .testing import serve

    with serve(**jobyard_options) as server:
        yield server


@pytest.fixture(scope="session")
def jobyard_session(jobyard_session_options):
    """One jobyard server for the whole session (per xdist worker); ``.reset()`` empties it."""
    from .testing import serve

    with serve(**jobyard_session_options) as server:
        yield server
