"""Running the per-file step of an import in worker processes, results in input order.

Worker processes come from a "forkserver" (or "spawn") context, never "fork":
the app runs inside Streamlit, with threads, and a forked child would inherit
their locks. Work is submitted through a sliding window bounded in files and
in bytes, so a 2,000-image disc never sits in memory at once. A worker that
dies (a codec crash, the OOM killer) breaks the pool: the files that were in
flight are retried one at a time in a fresh pool, so only the file that kills
a worker again is given up, with a plain reason. Items may still be arriving
(an iterator that waits for the next file off a PACS). A :class:`KeptPool`
keeps the workers between imports of one library, since starting them costs
about as much as de-identifying a hundred CT slices.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import spawn
from typing import Any, Generic, TypeVar

from casefiles.errors import ValidationError
from casefiles.progress import NEVER_CANCELLED, CancelToken

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 4
"""More workers than this buy little: the parent's blob writes become the limit."""
WINDOW_PER_WORKER = 3
"""Files in flight per worker: enough to keep every worker busy while the parent stores results."""
WINDOW_BYTES = 256 * 1024**2
"""At most this much input in flight (the first file always goes, however big)."""
_WORKER_PRELOAD = "casefiles.ingest.worker_preload"
_END: Any = object()  # an iterator's end, told apart from any item


def _preload() -> list[str]:
    """What the fork server imports once, so that each worker it forks has it already."""
    return [_WORKER_PRELOAD]


_LAUNCH_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_script_left_out() -> Iterator[None]:
    """While a worker is launched, leave the parent's main script out of what the worker is told to prepare.

    A worker of any start method other than "fork" runs the parent's main
    script again before its first task (as ``__mp_main__``), and the fork
    server never preloads it although asked to (CPython passes it a key that
    ``get_preparation_data`` does not make). Our tasks and initializers live in
    importable modules and need nothing from the main script, which for the
    Streamlit launcher or a benchmark costs ~0.8 s of CPU in every worker.
    multiprocessing has no per-context hook for this, so the module function is
    swapped for the launch (under a lock; CaseDeck starts no other processes
    through multiprocessing that could launch meanwhile).
    """
    with _LAUNCH_LOCK:
        original = spawn.get_preparation_data

        def without_main(name: str) -> dict[str, Any]:
            data = original(name)
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
            return data

        spawn.get_preparation_data = without_main
        try:
            yield
        finally:
            spawn.get_preparation_data = original


def _launched(popen: Callable[[Any], Any], process_obj: Any) -> Any:
    with _main_script_left_out():
        return popen(process_obj)


class _WorkerProcess(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _launched(multiprocessing.context.ForkServerProcess._Popen, process_obj)


class _SpawnedWorkerProcess(multiprocessing.context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _launched(multiprocessing.context.SpawnProcess._Popen, process_obj)


class _WorkerContext(multiprocessing.context.ForkServerContext):
    """The fork server's context, its workers started without the parent's main script."""

    Process = _WorkerProcess


class _SpawnedWorkerContext(multiprocessing.context.SpawnContext):
    Process = _SpawnedWorkerProcess


def _context() -> multiprocessing.context.BaseContext:
    """Where workers come from (see :func:`start_method`), with the fork server's preload set."""
    if start_method() == "forkserver":
        context = _WorkerContext()
        context.set_forkserver_preload(_preload())  # imported once in the server, not in every worker
        return context
    return _SpawnedWorkerContext()


def default_workers() -> int:
    """min(CPUs this process may use, 4)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def start_method() -> str:
    """ "forkserver" where the platform has it (workers start in milliseconds), else "spawn"."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def warm_up_workers() -> None:
    """Start the fork server now (it imports pydicom and the de-identifier once, about a second).

    The first large import of a process otherwise pays that; later ones start
    their workers in milliseconds. Meant for a background thread at app start.
    Where there is no fork server ("spawn"), every pool pays its own start.
    """
    if start_method() != "forkserver":
        return
    with ProcessPoolExecutor(max_workers=1, mp_context=_context()) as executor:
        executor.submit(_ping).result()


@dataclass(frozen=True, slots=True)
class PoolPlan(Generic[T, R]):
    """How to run ``task`` over items in worker processes.

    ``task`` and ``initializer`` must be module-level functions (they are sent
    to the workers by name). ``size_of`` weighs an item for the byte window;
    ``crashed`` turns an item whose worker died twice, or whose task failed
    outside its own error handling, into a result. ``in_process`` computes an
    item in this process, for when no worker can be started at all (a
    sandbox without process support, or a main script that starts an import
    without an ``if __name__ == "__main__":`` guard). Exceptions of a
    ``fatal`` type raised by ``task`` are raised to the caller.
    """

    task: Callable[[T], R]
    crashed: Callable[[T], R]
    size_of: Callable[[T], int]
    workers: int
    initializer: Callable[..., object] | None = None
    initargs: tuple[Any, ...] = ()
    in_process: Callable[[T], R] | None = None
    fatal: tuple[type[Exception], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValidationError(f"The number of import workers must be a whole number ≥ 1 (got {self.workers!r}).")


def map_in_order(
    plan: PoolPlan[T, R], items: Iterable[T], *, cancel: CancelToken = NEVER_CANCELLED
) -> Generator[tuple[T, R], None, None]:
    """Yield ``(item, plan.task(item))`` in the order of ``items``, computed in worker processes.

    ``cancel`` is checked before each result is handed over; when it fires,
    queued work is dropped, running work is waited for (one file per worker)
    and :class:`~casefiles.errors.Cancelled` is raised. Closing the iterator
    early stops the pool the same way. When this returns or raises, no worker
    is running. ``items`` may be an iterator whose next item is still on its
    way (a file coming off a PACS): it is taken only when the window has room.
    """
    if isinstance(items, Sequence) and not items:
        return
    with WorkerPool(plan) as pool:
        yield from pool.map(items, cancel=cancel)


class WorkerPool(Generic[T, R]):
    """Worker processes kept for several runs of one plan: the studies of a PACS pull start them once.

    Starting a pool costs each worker its initializer (the de-identifier's
    tables, the text and pixel screening models): about as much as
    de-identifying a hundred CT slices. :meth:`map` runs one batch of items;
    between runs the workers wait. :meth:`close` (or leaving the ``with``
    block) stops them.
    """

    def __init__(self, plan: PoolPlan[T, R]) -> None:
        self.plan = plan
        self._runner = _Runner(plan)

    def __enter__(self) -> WorkerPool[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._runner.stop()

    def map(
        self,
        items: Iterable[T],
        *,
        cancel: CancelToken = NEVER_CANCELLED,
        in_process: Callable[[T], R] | None = None,
    ) -> Generator[tuple[T, R], None, None]:
        """As :func:`map_in_order`, on these workers; they keep running afterwards.

        ``in_process`` (default: the plan's) computes items here when no
        worker can be started. A cancel or an early close drops the items
        queued and waits for those running, so the next run starts clean.
        """
        here = in_process or self.plan.in_process
        if self._runner.started() or here is None:
            yield from self._runner.run(items, cancel)
            return
        for item in items:
            cancel.raise_if_cancelled()
            yield item, here(item)


#: Seconds a kept pool waits, idle, for the next import before its workers are stopped.
IDLE_SECONDS = 120.0


class KeptPool(Generic[T, R]):
    """A worker pool kept between imports of one library, so the next import finds its workers started.

    :meth:`lease` hands out the pool kept under ``key`` (starting it if there
    is none); after the last lease of it ends, it waits ``idle_seconds`` for
    the next one, then stops. One pool is kept at a time: a lease under
    another key stops an idle one first, and gets a pool of its own for the
    run while the kept one is in use. The key must hold what the workers were
    started with (the library's de-identifier and blob folder), so a pool is
    never used for another library.
    """

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._kept: _Kept[T, R] | None = None

    @contextlib.contextmanager
    def lease(self, key: tuple[object, ...], plan: Callable[[], PoolPlan[T, R]]) -> Iterator[WorkerPool[T, R]]:
        stale: _Kept[T, R] | None = None
        with self._lock:
            kept = self._kept
            if kept is not None and kept.key == key:
                kept.users += 1
                kept.cancel_timer()
            elif kept is not None and kept.users:
                kept = None  # in use by an import of another library: this one gets a pool of its own
            else:
                stale, kept = kept, _Kept(key, WorkerPool(plan()))
                self._kept = kept
        if stale is not None:
            stale.cancel_timer()
            stale.pool.close()
        if kept is None:
            with WorkerPool(plan()) as own:
                yield own
            return
        try:
            yield kept.pool
        finally:
            self._release(kept)

    def close(self) -> None:
        """Stop the kept pool now (waits for a run using it to end first)."""
        with self._lock:
            kept, self._kept = self._kept, None
        if kept is not None:
            kept.cancel_timer()
            kept.pool.close()

    def _release(self, kept: _Kept[T, R]) -> None:
        with self._lock:
            kept.users -= 1
            if kept.users or self._kept is not kept:
                return
            kept.timer = threading.Timer(self._idle_seconds, self._expire, (kept,))
            kept.timer.daemon = True
            kept.timer.start()

    def _expire(self, kept: _Kept[T, R]) -> None:
        with self._lock:
            if self._kept is not kept or kept.users:
                return
            self._kept = None
        kept.pool.close()


class _Kept(Generic[T, R]):
    def __init__(self, key: tuple[object, ...], pool: WorkerPool[T, R]) -> None:
        self.key = key
        self.pool = pool
        self.users = 1
        self.timer: threading.Timer | None = None

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def _ping() -> int:
    return os.getpid()


class _Runner(Generic[T, R]):
    """The workers of one pool; :meth:`run` may be called from several threads at once.

    The receiver imports two senders' studies at once on the library's kept
    workers. A worker that dies breaks the pool for both runs: each retries its
    own files in flight, one at a time, in a pool of that file's own, so a
    file is given up only when it kills a worker by itself.
    """

    def __init__(self, plan: PoolPlan[T, R]) -> None:
        self.plan = plan
        self.window = plan.workers * WINDOW_PER_WORKER
        self.executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # guards replacing ``executor``

    def _new_executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_context(),
            initializer=self.plan.initializer,
            initargs=self.plan.initargs,
        )

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self.executor is None:
                self.executor = self._new_executor(self.plan.workers)
            return self.executor

    def started(self) -> bool:
        """Whether a worker starts and answers (it has run the initializer by then)."""
        executor = self._pool()
        try:
            executor.submit(_ping).result()
        except (BrokenProcessPool, OSError, RuntimeError):
            self._restart(executor)
            return False
        return True

    def stop(self) -> None:
        with self._lock:
            executor, self.executor = self.executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        """Drop ``broken`` (unless another run has replaced it already); the next submit starts a new pool."""
        with self._lock:
            if self.executor is not broken:
                return
            self.executor = None
        broken.shutdown(wait=True)  # its futures have all failed already; nothing to cancel

    def _submit(self, item: T) -> tuple[Future[R], ProcessPoolExecutor]:
        """``item``'s future, and the pool it went to (to be dropped if that pool breaks)."""
        executor = self._pool()
        try:
            return executor.submit(self.plan.task, item), executor
        except BrokenProcessPool:
            self._restart(executor)
            executor = self._pool()
            return executor.submit(self.plan.task, item), executor

    def run(self, items: Iterable[T], cancel: CancelToken) -> Generator[tuple[T, R], None, None]:
        flight: deque[tuple[T, Future[R], int, ProcessPoolExecutor]] = deque()
        flight_bytes = 0
        source = iter(items)
        more = True
        try:
            while True:
                while more and len(flight) < self.window and (not flight or flight_bytes < WINDOW_BYTES):
                    item = next(source, _END)
                    if item is _END:
                        more = False
                        break
                    size = max(0, self.plan.size_of(item))
                    future, executor = self._submit(item)
                    flight.append((item, future, size, executor))
                    flight_bytes += size
                if not flight:
                    return
                item, future, size, executor = flight[0]
                try:
                    result = future.result()
                except self.plan.fatal:
                    raise
                except BrokenProcessPool:
                    # A worker died (this run's file or another run's): every file in flight failed
                    # with it. Retry this run's alone.
                    retry = [entry[0] for entry in flight]
                    flight.clear()
                    flight_bytes = 0
                    self._restart(executor)
                    for again in retry:
                        cancel.raise_if_cancelled()
                        yield again, self._alone(again)
                    continue
                except Exception:  # the task failed outside its own handling, or its result could not be sent
                    result = self.plan.crashed(item)
                flight.popleft()
                flight_bytes -= size
                cancel.raise_if_cancelled()
                yield item, result
        finally:
            self._settle(entry[1] for entry in flight)

    def _settle(self, futures: Iterable[Future[R]]) -> None:
        """Drop work not started and wait for the running rest: the workers are free for the next run."""
        running = [f for f in futures if not f.cancel()]
        if running:
            wait(running)

    def _alone(self, item: T) -> R:
        """Run one item in a pool of its own, so no other file can break it; a second crash gives up on it."""
        executor = self._new_executor(1)
        try:
            return executor.submit(self.plan.task, item).result()
        except self.plan.fatal:
            raise
        except Exception:  # BrokenProcessPool: it killed its worker again
            return self.plan.crashed(item)
        finally:
            executor.shutdown(wait=True)
