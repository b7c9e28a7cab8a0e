"""Shared test settings: one hypothesis profile for the whole suite.

Modest example counts and no deadline keep the suite (2 CPU cores) well under 90 s; no example
database, so a test run writes nothing into the tree.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "grubook",
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("grubook")
