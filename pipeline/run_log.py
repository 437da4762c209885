"""One log file per run, and a console that shows only the run's progress.

TensorFlow's C++ code writes to file descriptor 2 directly (e.g. "Unable to register cuFFT factory" at import, at
ERROR level, so TF_CPP_MIN_LOG_LEVEL cannot hide it without hiding real errors), and Python warnings are written for
the developers of the libraries. Both go to the run's log file: `console_to_log` points descriptor 2 at it while
TensorFlow loads and the pipeline runs, and `logging.captureWarnings` sends warnings through logging (the root
logger carries the log file's handler during a run). No TensorFlow here: this runs before it loads.
"""
import contextlib
import logging
import os
import sys
import time


def new_log_path(output_dir):
    """<output_dir>/logs/run-<time>-<pid>.log: two runs started in the same second get two files."""
    log_dir = os.path.join(os.path.abspath(output_dir), "logs")
    os.makedirs(log_dir, exist_ok=True)
    return os.path.join(log_dir, time.strftime("run-%Y%m%d-%H%M%S") + f"-{os.getpid()}.log")


def warnings_to_logging():
    """Python warnings through logging's `py.warnings` logger; without a log file attached they are dropped, not
    printed (the NullHandler stops logging's last-resort console handler)."""
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").addHandler(logging.NullHandler())


@contextlib.contextmanager
def console_to_log(path):
    """Within the block, what anything writes to standard error (Python, C++, child processes) goes to the file
    at `path`; standard output (the progress lines) stays on the console."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
