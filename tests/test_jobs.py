"""Background jobs: what the From PACS page relies on to poll progress and cancel a retrieval."""

from __future__ import annotations

import threading

import pytest

from casefiles.errors import NotFoundError, StorageError
from casefiles.jobs import JobContext, JobRunner, JobState


def test_a_job_reports_progress_steps_and_its_result() -> None:
    runner = JobRunner()
    release = threading.Event()

    def work(ctx: JobContext) -> str:
        ctx.step("study 1 of 2", 3, 10, "retrieving")
        ctx.progress(0, 2, "Retrieving study 1 of 2")
        release.wait(10)
        ctx.step("study 1 of 2", 10, 10, "done", JobState.DONE)
        return "two cases"

    job_id = runner.submit("Retrieve 2 studies", work)
    # While it runs the page sees the partial state.
    for _ in range(200):
        snap = runner.snapshot(job_id)
        if snap.steps:
            break
        threading.Event().wait(0.01)
    assert snap.state is JobState.RUNNING
    assert snap.steps[0].label == "study 1 of 2" and snap.steps[0].fraction == pytest.approx(0.3)
    release.set()
    final = runner.wait(job_id, timeout=10)
    assert final.state is JobState.DONE
    assert final.result == "two cases"
    assert final.fraction == 1.0
    assert final.steps[0].state is JobState.DONE


def test_cancel_stops_a_job_that_checks_its_token() -> None:
    runner = JobRunner()
    started = threading.Event()

    def work(ctx: JobContext) -> None:
        started.set()
        while True:
            ctx.cancel.raise_if_cancelled()
            threading.Event().wait(0.01)

    job_id = runner.submit("Endless", work)
    assert started.wait(5)
    runner.cancel(job_id)
    snap = runner.wait(job_id, timeout=10)
    assert snap.state is JobState.CANCELLED
    assert "cancelled" in snap.error


def test_failures_become_messages_without_library_details() -> None:
    runner = JobRunner()

    def known(ctx: JobContext) -> None:
        raise StorageError("The disk is full; free some space and retry.")

    def unexpected(ctx: JobContext) -> None:
        raise RuntimeError("SMITH^JOHN could not be parsed")  # a library message quoting data

    known_snap = runner.wait(runner.submit("a", known), timeout=10)
    assert known_snap.state is JobState.FAILED
    assert known_snap.error == "The disk is full; free some space and retry."
    odd = runner.wait(runner.submit("b", unexpected), timeout=10)
    assert odd.state is JobState.FAILED
    assert "RuntimeError" in odd.error and "SMITH" not in odd.error


def test_forget_drops_only_finished_jobs() -> None:
    runner = JobRunner()
    gate = threading.Event()
    running = runner.submit("slow", lambda ctx: gate.wait(10))
    done = runner.submit("quick", lambda ctx: 1)
    runner.wait(done, timeout=10)
    runner.forget(done)
    runner.forget(running)
    with pytest.raises(NotFoundError):
        runner.snapshot(done)
    assert runner.snapshot(running).state is JobState.RUNNING
    gate.set()
    assert runner.wait(running, timeout=10).state is JobState.DONE


def test_a_job_needs_a_title() -> None:
    with pytest.raises(ValueError, match="title"):
        JobRunner().submit("  ", lambda ctx: None)
