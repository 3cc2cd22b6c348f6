# polling.py - wait for something a service does in the background. Importable from
# every tests/integration/<area>/ folder (pytest puts this folder on sys.path for its
# conftest.py), whose own conftest.py may shadow the top one's names.
#
#   value = wait_for(lambda: sql("SELECT ..."), timeout=15, what="the row to appear")
#
# SECURITY: none (test code). STANDARDS: none.

import time

import pytest


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Poll predicate() until it is truthy and return its value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")
