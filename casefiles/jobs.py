"""Long work in the background: a page starts a job, polls its progress and may cancel it.

Streamlit reruns a page's script on every click, so a retrieval that ran inside
the script would die with the rerun. A job runs on its own thread instead; the
page only reads snapshots. Job titles and step labels are shown on screen and
must hold no patient data (say "study 2 of 5", not an accession number).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from casefiles.errors import Cancelled, CaseDeckError, NotFoundError
from casefiles.progress import CancelToken

log = logging.getLogger("casedeck.jobs")


class JobState(Enum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self is not JobState.RUNNING


@dataclass(frozen=True, slots=True)
class Step:
    """One part of a job with its own progress bar, e.g. one study of a retrieval."""

    label: str
    done: int = 0
    total: int = 0
    message: str = ""
    state: JobState = JobState.RUNNING

    @property
    def fraction(self) -> float:
        if self.state is JobState.DONE:
            return 1.0
        return min(1.0, self.done / self.total) if self.total else 0.0


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """What a page shows about a job at one moment."""

    id: str
    title: str
    state: JobState
    done: int
    total: int
    message: str
    steps: tuple[Step, ...]
    result: Any
    error: str
    started: float
    finished: float | None

    @property
    def fraction(self) -> float:
        if self.state is JobState.DONE:
            return 1.0
        return min(1.0, self.done / self.total) if self.total else 0.0


class JobContext:
    """Handed to the job's function: report progress, per-step progress, and check for cancel."""

    def __init__(self, job: _Job) -> None:
        self._job = job
        self.cancel: CancelToken = job.cancel_token

    def progress(self, done: int, total: int, message: str) -> None:
        self._job.update(done=done, total=total, message=message)

    def step(
        self, label: str, done: int = 0, total: int = 0, message: str = "", state: JobState = JobState.RUNNING
    ) -> None:
        """Create or update the step called ``label`` (labels must hold no patient data)."""
        self._job.update_step(Step(label, done, total, message, state))


JobFunction = Callable[[JobContext], Any]


@dataclass
class _Job:
    id: str
    title: str
    cancel_token: CancelToken = field(default_factory=CancelToken)
    lock: threading.Lock = field(default_factory=threading.Lock)
    state: JobState = JobState.RUNNING
    done: int = 0
    total: int = 0
    message: str = ""
    steps: dict[str, Step] = field(default_factory=dict)
    result: Any = None
    error: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def update(self, *, done: int, total: int, message: str) -> None:
        with self.lock:
            self.done, self.total, self.message = done, total, message

    def update_step(self, step: Step) -> None:
        with self.lock:
            self.steps[step.label] = step

    def finish(self, state: JobState, *, result: Any = None, error: str = "") -> None:
        with self.lock:
            self.state, self.result, self.error, self.finished = state, result, error, time.time()
            # Steps still marked running stopped with the job.
            for label, step in self.steps.items():
                if step.state is JobState.RUNNING:
                    self.steps[label] = replace(step, state=state if state is not JobState.DONE else JobState.DONE)

    def snapshot(self) -> JobSnapshot:
        with self.lock:
            return JobSnapshot(
                self.id,
                self.title,
                self.state,
                self.done,
                self.total,
                self.message,
                tuple(self.steps.values()),
                self.result,
                self.error,
                self.started,
                self.finished,
            )


class JobRunner:
    """Runs jobs on daemon threads and keeps their last state until forgotten.

    One runner serves the whole app process (every browser session), so a page
    reopened after a rerun or in a new tab still finds its retrieval.
    """

    def __init__(self) -> None:
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def submit(self, title: str, function: JobFunction) -> str:
        """Start ``function(context)`` on a new thread; returns the job id at once."""
        if not isinstance(title, str) or not title.strip():
            raise ValueError("A job needs a title to show.")
        with self._lock:
            job = _Job(id=f"job-{next(self._ids)}", title=title.strip())
            self._jobs[job.id] = job
        thread = threading.Thread(target=self._run, args=(job, function), name=f"casedeck-{job.id}", daemon=True)
        thread.start()
        return job.id

    def _run(self, job: _Job, function: JobFunction) -> None:
        try:
            result = function(JobContext(job))
        except Cancelled as exc:
            job.finish(JobState.CANCELLED, error=str(exc))
        except CaseDeckError as exc:
            job.finish(JobState.FAILED, error=str(exc))
        except Exception as exc:  # a job thread must never die silently
            # Only the type: library messages may quote patient data.
            log.error("Job %s stopped on an unexpected %s", job.id, type(exc).__name__)
            job.finish(
                JobState.FAILED,
                error=f"it stopped because of an unexpected problem ({type(exc).__name__}); please try again",
            )
        else:
            job.finish(JobState.CANCELLED if job.cancel_token.cancelled else JobState.DONE, result=result)

    def _job(self, job_id: str) -> _Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError("That background task is no longer known (the app may have restarted).")
        return job

    def snapshot(self, job_id: str) -> JobSnapshot:
        return self._job(job_id).snapshot()

    def cancel(self, job_id: str) -> None:
        """Ask the job to stop at its next check; it finishes as CANCELLED."""
        self._job(job_id).cancel_token.cancel()

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until the job finishes (CLI and tests); returns its last snapshot."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            snap = self.snapshot(job_id)
            if snap.state.finished or (deadline is not None and time.monotonic() >= deadline):
                return snap
            time.sleep(0.05)

    def jobs(self) -> list[JobSnapshot]:
        with self._lock:
            jobs = list(self._jobs.values())
        return [j.snapshot() for j in jobs]

    def forget(self, job_id: str) -> None:
        """Drop a finished job's record (its result may hold a report the page no longer needs)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state.finished:
                del self._jobs[job_id]
