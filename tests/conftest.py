"""Shared test settings: one hypothesis profile for the whole suite.

Modest example counts and no deadline keep the suite (2 CPU cores) well under 90 s; no example
database, so a test run writes nothing into the tree. Under CI (``CI`` set, as ``.ci/run`` runs)
the examples are derandomized, so a landing never depends on a lucky draw; a local run explores
new examples each time.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "grubook",
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
settings.register_profile("thorough", parent=settings.get_profile("grubook"), max_examples=1000)
settings.load_profile("grubook")  # `pytest --hypothesis-profile=thorough` for a longer search
