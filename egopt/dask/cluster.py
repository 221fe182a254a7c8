"""Clusters egopt creates (with the dashboard address printed) and progress bars for long runs."""
from __future__ import annotations

import sys
import time
from typing import Any


def local_cluster(n_workers: int = 2, threads_per_worker: int = 1, processes: bool = True,
                  dashboard_address: str | None = ":8787", quiet: bool = False, **kwargs):
    """Start a ``LocalCluster`` of worker processes and a client to it; print the dashboard address.

    Returns ``(cluster, client)``; close both when done (``client.close(); cluster.close()``).
    """
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                           processes=processes, dashboard_address=dashboard_address, **kwargs)
    client = Client(cluster)
    if not quiet:
        print(f"egopt.dask: started a LocalCluster of {n_workers} worker "
              f"{'processes' if processes else 'threads'}; {dashboard(client)}", file=sys.stderr)
    return cluster, client


def dashboard(client) -> str:
    """Where to watch the cluster: the dashboard link, or why there is none."""
    link = getattr(client, "dashboard_link", None)
    try:
        import bokeh  # noqa: F401  (the dashboard is served only when bokeh is installed)
    except ImportError:
        return f"dashboard: {link} (install bokeh>=3.1 to serve it)" if link else "no dashboard"
    return f"dashboard: {link}" if link else "no dashboard (dashboard_address=None)"


def compute(*arrays, progress: bool = True):
    """``dask.compute`` with a progress bar: on the current distributed client if there is one,
    else on the local scheduler (``dask.diagnostics.ProgressBar``)."""
    import dask
    client = _current_client()
    if client is None:
        if not progress:
            return dask.compute(*arrays)
        from dask.diagnostics import ProgressBar
        with ProgressBar(out=sys.stderr):
            return dask.compute(*arrays)
    futures = client.compute(list(arrays))
    if progress:
        from distributed import progress as show
        show(futures)
        print(file=sys.stderr)
    return tuple(client.gather(futures))


def _current_client():
    try:
        from distributed import default_client
        return default_client()
    except (ImportError, ValueError):
        return None


class ProgressLine:
    """A one-line text progress bar on stderr: ``step 12/100 [#####.....] loss 0.53``."""

    def __init__(self, total: int, label: str, enabled: bool = True, width: int = 30):
        self.total, self.label, self.enabled, self.width = total, label, enabled, width
        self.t0 = time.perf_counter()

    def update(self, done: int, **info: Any) -> None:
        if not self.enabled:
            return
        filled = int(self.width * done / max(self.total, 1))
        extra = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items())
        sys.stderr.write(f"\r{self.label}: step {done}/{self.total} [{'#' * filled}{'.' * (self.width - filled)}] "
                         f"{extra} ({time.perf_counter() - self.t0:.1f} s)")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()
