# parallel.py - run the same client work in several threads at once and fail the test
# with every error they met. Importable from every tests/integration/<area>/ folder
# (pytest puts this folder on sys.path for its conftest.py).
#
#   run_parallel(work, count, timeout=120)   # work(0) ... work(count - 1), one thread each
#
# A worker's exception does not stop the others; the caller sees all of them at once
# (repr, in no particular order), and a worker still running after `timeout` seconds
# fails the test too.
# SECURITY: none (test code). STANDARDS: none.

import threading


def run_parallel(work, count, timeout=120):
    errors, lock = [], threading.Lock()

    def run(k):
        try:
            work(k)
        except Exception as e:   # reported below, with the others'
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a worker did not finish"
    assert not errors, errors
