"""A competing CPU load that the perf command starts itself, and always stops.

:class:`CompetingLoad` starts one subprocess (``python -m t2ibench.perf.load``) in its own
process group; it forks ``workers`` busy Python processes that spin on arithmetic, i.e. keep
that many cores busy. On leaving the ``with`` block — normally, on an exception, on Ctrl-C
(``KeyboardInterrupt``) or on SIGTERM (turned into ``SystemExit`` by :func:`sigterm_as_exit`) —
the whole group is killed and reaped. Should the perf process itself be killed with SIGKILL
(no ``finally`` runs), every worker polls its parent perf process and exits within a second of
its disappearance, so no busy process outlives the command.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from multiprocessing import Process

#: How often (s) a busy worker checks that the perf process it serves is still alive.
POLL_S = 0.25


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _spin(watch_pid: int) -> None:
    x = 0
    while True:
        deadline = time.perf_counter() + POLL_S
        while time.perf_counter() < deadline:
            x = (x * 1103515245 + 12345) % 2147483648
        if not _alive(watch_pid):
            return


class CompetingLoad:
    """Context manager: ``workers`` busy processes while the block runs (``workers=0``: nothing).

    ``pids()`` lists the processes of the load (the group leader and its workers) for checks.
    """

    def __init__(self, workers: int):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ValueError(f"workers: expected an int >= 0, got {workers!r}")
        self.workers = workers
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "CompetingLoad":
        if self.workers:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "t2ibench.perf.load", "--workers", str(self.workers),
                 "--watch", str(os.getpid())],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True, text=True)
            ready = self.proc.stdout.readline()  # the leader prints its workers' pids once they run
            if not ready.startswith("ready"):
                self.stop()
                raise RuntimeError("the competing load process did not start")
            self._worker_pids = [int(p) for p in ready.split()[1:]]
        return self

    def pids(self) -> list[int]:
        if self.proc is None:
            return []
        return [self.proc.pid, *self._worker_pids]

    def stop(self) -> None:
        """Kill the load's whole process group and reap the leader (idempotent)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def __exit__(self, *exc) -> None:
        self.stop()


def sigterm_as_exit() -> None:
    """Make SIGTERM raise ``SystemExit`` in the main thread, so ``finally`` blocks (and
    :class:`CompetingLoad`'s cleanup) run when the perf command is terminated."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="busy worker processes (the perf command's competing load)")
    p.add_argument("--workers", type=int, required=True)
    p.add_argument("--watch", type=int, required=True, help="exit when this process is gone")
    args = p.parse_args(argv)
    procs = [Process(target=_spin, args=(args.watch,), daemon=True) for _ in range(args.workers)]
    for proc in procs:
        proc.start()
    print("ready", *[proc.pid for proc in procs], flush=True)
    for proc in procs:
        proc.join()


if __name__ == "__main__":
    main()
