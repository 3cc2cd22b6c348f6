# metrics.py - one figure from a service's Prometheus endpoint on its admin port, for
# tests that check what a service did (batches, statements) besides what it answered.

import re
import urllib.request


def metric(admin_port, name):
    """The value of the unlabelled metric `name`; fails when the service does not export it."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf"^{name}(?:\{{\}})? (\S+)$", text, re.M)
    assert m, f"metric {name} missing"
    return float(m.group(1))
