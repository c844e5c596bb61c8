"""What the Python benchmarks share: the MNIST command line, wall + CPU timing and the
JSON results file. Imported as `_common` (the scripts run as `python bench/python/X.py`,
which puts this directory on sys.path)."""
import argparse
import json
import os
import time


def mnist_parser(doc):
    """An ArgumentParser described by the first line of `doc` with --data (the MNIST
    directory: $CRBM_DATA_DIR/mnist, /work/shared/data/mnist without it)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("CRBM_DATA_DIR", "/work/shared/data") + "/mnist")
    return ap


def timed_cpu(f, *args):
    """(wall seconds, process CPU seconds, result) of f(*args): with one thread the CPU
    time is the time the work ran, which a loaded machine inflates far less than the
    wall time (that adds the time it waited for a core)."""
    t, c = time.perf_counter(), time.process_time()
    out = f(*args)
    return time.perf_counter() - t, time.process_time() - c, out


def write_json(path, out):
    """The results `out` into the file `path` (indented), when a path is given."""
    if path:
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
