"""Shared test settings.

Under CI (CI=true) Hypothesis runs derandomized: the same examples every run, so a
submission's result does not depend on luck; developers' runs stay random and keep
finding new cases (and Hypothesis replays any failure it found from its database).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
