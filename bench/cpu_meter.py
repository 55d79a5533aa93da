"""Where a benchmark's wall-clock time goes, in CPU seconds per process: ours, our workers, a peer's.

Reads ``/proc/<pid>/stat`` (Linux) before and after a step. "this process" counts
its own threads and the children it has waited for (a ``getscu`` subprocess);
"workers" are its other descendants still alive at the end (the import's pool
under multiprocessing's fork server); "peer" is a process named by pid (Orthanc,
which the benchmark started: it is left out of "workers").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds, CPU seconds of waited-for children) of ``pid``, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return ppid, (utime + stime) / _TICKS, (cutime + cstime) / _TICKS


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (stat := _stat(int(name))) is not None:
            parents[int(name)] = stat[0]
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


@dataclass(frozen=True)
class CpuSnapshot:
    own: float
    waited: float
    workers: dict[int, float]
    peer: float


def snapshot(peer_pid: int | None = None) -> CpuSnapshot:
    me = os.getpid()
    own = _stat(me)
    workers = {pid: s[1] for pid in _descendants(me) - {peer_pid} if (s := _stat(pid)) is not None}
    peer = _stat(peer_pid) if peer_pid else None
    return CpuSnapshot(own[1] if own else 0.0, own[2] if own else 0.0, workers, peer[1] if peer else 0.0)


@dataclass
class CpuSpent:
    """CPU seconds a step cost, by process; filled in when the ``with`` block ends."""

    this_process: float = 0.0
    waited_children: float = 0.0
    workers: float = 0.0
    peer: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in vars(self).items()}


@contextmanager
def cpu_spent(peer_pid: int | None = None) -> Iterator[CpuSpent]:
    spent = CpuSpent()
    before = snapshot(peer_pid)
    yield spent
    after = snapshot(peer_pid)
    spent.this_process = after.own - before.own
    spent.waited_children = after.waited - before.waited
    spent.workers = sum(cpu - before.workers.get(pid, 0.0) for pid, cpu in after.workers.items())
    spent.peer = after.peer - before.peer
