"""Peak resident memory of this process and all its children (Beam's multi_processing workers), sampled by a
background thread while a block runs, and the CPU time they used (on a loaded machine a fairer measure than wall
time).

    with PeakMemory() as peak:
        run_something()
    print(peak.describe())
"""
import threading
import time

import psutil

_INTERVAL_SECONDS = 0.1


def tree_cpu_seconds():
    """User + system CPU seconds of this process, its ended children and its live descendants."""
    process = psutil.Process()
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
        except psutil.Error:
            pass
    return total


def tree_rss(process=None):
    """Resident bytes of `process` (default: this one) plus every descendant (0 for those that just ended)."""
    process = process or psutil.Process()
    total = 0
    for p in [process] + process.children(recursive=True):
        try:
            total += p.memory_info().rss
        except psutil.Error:  # it ended between listing and reading
            pass
    return total


class PeakMemory:
    """`start` is the tree's RSS when the block began, `peak` the largest sampled during it (bytes), `seconds` its
    wall time, `cpu_seconds` the tree's CPU time during it."""

    def __enter__(self):
        self.start = self.peak = tree_rss()
        self._began, self._cpu = time.monotonic(), tree_cpu_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(_INTERVAL_SECONDS):
            self.peak = max(self.peak, tree_rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss())
        self.seconds = time.monotonic() - self._began
        self.cpu_seconds = tree_cpu_seconds() - self._cpu
        return False

    def describe(self):
        mib = 1 << 20
        return (f"{self.seconds:.1f} s (CPU {self.cpu_seconds:.1f} s), peak RSS of the process tree {self.peak / mib:,.0f} MiB "
                f"(+{(self.peak - self.start) / mib:,.0f} MiB over the {self.start / mib:,.0f} MiB at the start)")
