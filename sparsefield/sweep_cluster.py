"""The Dask clusters a sweep runs on, secured (:func:`sparsefield.sweep.connect`).

* The embedded ``LocalCluster`` (the default) talks TLS with mutual authentication, using
  a temporary self-signed certificate made for this cluster and held only in memory
  (``distributed.security.Security.temporary()``): another local user who finds its port
  on 127.0.0.1 cannot connect, let alone submit code.  No HTTP server is left running
  (no dashboard, and the scheduler's and workers' HTTP routes are disabled and their
  listeners stopped once the cluster is up).
* Its scratch space is a private folder (``tempfile.mkdtemp``, mode 0700, removed at the
  end), not Dask's default ``/tmp/dask-scratch-space[-<uid>]``, which another local user
  can create first and fill with modules; Dask puts its scratch folder first on
  ``sys.path`` of every server, so it is taken off again in the client and in each worker
  once the cluster is up (:func:`_scrub_sys_path`).
* ``--scheduler ADDRESS`` connects to a cluster you run yourself.  Its security is yours:
  use ``tls://`` with certificates (``distributed.comm.require-encryption: true`` and the
  ``distributed.comm.tls.*`` keys, e.g. ``DASK_DISTRIBUTED__COMM__TLS__CA_FILE``,
  ``..._CLIENT__CERT``, ``..._CLIENT__KEY``, which this client reads from the Dask config),
  and keep a plain ``tcp://`` scheduler on a network only you can reach: anyone who can
  connect to it can run code on its workers.  An address that does not answer within
  :data:`CONNECT_TIMEOUT_S` seconds is an error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import sys
import tempfile

import dask
from distributed import Client, LocalCluster
from distributed.security import Security

from sparsefield.theory.errors import ParameterError

from .sweep_config import check_scheduler

CONNECT_TIMEOUT_S = 5.0
HANDSHAKE_TIMEOUT_S = 60.0
NO_HTTP = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}


@contextlib.contextmanager
def remote_client(address: str, timeout: float = CONNECT_TIMEOUT_S):
    """A ``Client`` of the running scheduler at ``address`` (security from the Dask
    config); :class:`ParameterError` when the address is malformed, nothing listens there
    within ``timeout`` seconds, or the Dask handshake fails (allowed
    :data:`HANDSHAKE_TIMEOUT_S`: a loaded machine can be slow)."""
    check_scheduler(address)
    host, port = address.split("://", 1)[1].rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            if address.startswith("tcp://"):
                _check_dask_greeting(sock, address, timeout)
        client = Client(address, timeout=HANDSHAKE_TIMEOUT_S)
    except ParameterError:
        raise
    except (OSError, TimeoutError, ValueError) as err:
        why = " ".join(str(err).split())[:200] or type(err).__name__
        raise ParameterError("scheduler", address, f"a Dask scheduler answering within "
                             f"{timeout:g} s ({why})") from None
    with client:
        yield client


MAX_GREETING_FRAMES = 64


def _check_dask_greeting(sock: socket.socket, address: str, timeout: float) -> None:
    """A Dask server greets first: its handshake message, whose first 8 bytes are a
    little-endian frame count.  Anything else (silence: an HTTP server waits for a request;
    a huge count: Dask would try to allocate it) is not a Dask scheduler."""
    sock.settimeout(timeout)
    head = b""
    try:
        while len(head) < 8:
            chunk = sock.recv(8 - len(head))
            if not chunk:
                break
            head += chunk
    except OSError:
        pass
    if len(head) < 8 or not 0 < int.from_bytes(head, "little") <= MAX_GREETING_FRAMES:
        raise ParameterError("scheduler", address, f"a Dask scheduler (it did not greet as one "
                             f"within {timeout:g} s)")


def _stop_http(dask_scheduler=None, dask_worker=None) -> bool:
    """Stop a server's HTTP listener (run on the scheduler and on each worker)."""
    server = dask_scheduler if dask_scheduler is not None else dask_worker
    http = getattr(server, "http_server", None)
    if http is not None:
        http.stop()
    return http is not None


def _scrub_sys_path(scratch: str, dask_worker=None) -> list[str]:
    """Remove ``scratch`` and every folder below it from ``sys.path`` (run in the client
    and in each worker); returns what is left of ``sys.path``."""
    root = os.path.realpath(scratch)
    sys.path[:] = [p for p in sys.path
                   if not (p and os.path.commonpath([root, os.path.realpath(p)]) == root)]
    return list(sys.path)


@contextlib.contextmanager
def private_scratch():
    """A fresh folder only this user can enter (``mkdtemp``: mode 0700), removed on exit."""
    scratch = tempfile.mkdtemp(prefix="sparsefield-dask-")
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also switches off
# glibc's adaptive mmap threshold: every tensor above 128 KiB is then mmapped and unmapped
# at each step, and a width-600, depth-100 MLP step spends ~170,000 page faults and ~40% of
# its CPU time in the kernel (measured: 0.33 s system time per 0.5 s step).  A fixed 32 MiB
# mmap threshold (glibc's adaptive maximum) keeps Dask's trimming and removes the faults.
WORKER_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20)}


@contextlib.contextmanager
def local_client(workers: int, gpu: bool = False):
    """A ``Client`` of an embedded loopback ``LocalCluster`` of ``workers`` single-threaded
    processes (each declaring one GPU resource when ``gpu``), TLS-authenticated with a
    temporary certificate, without HTTP servers, with a private scratch folder kept off
    ``sys.path``."""
    if workers < 1:
        raise ParameterError("workers", workers, "an integer >= 1 (0: no Dask, in-process)")
    security = Security.temporary()
    # One task per single-threaded worker at a time: "processing" then means running.
    with private_scratch() as scratch, \
            dask.config.set({"distributed.scheduler.worker-saturation": 1.0,
                             "temporary-directory": scratch, **NO_HTTP,
                             **{f"distributed.nanny.pre-spawn-environ.{k}": v
                                for k, v in WORKER_ENV.items()}}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         host="127.0.0.1", protocol="tls://", security=security,
                         dashboard_address=None, worker_dashboard_address=None,
                         # the scheduler always opens an HTTP listener: a free loopback
                         # port (not 8787), with no routes, stopped below
                         scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                         silence_logs=logging.ERROR, local_directory=scratch,
                         resources={"GPU": 1} if gpu else None) as cluster, \
            Client(cluster, security=security) as client:
        client.run_on_scheduler(_stop_http)
        client.run(_stop_http)
        _scrub_sys_path(scratch)
        client.run(_scrub_sys_path, scratch)
        yield client
