"""Background jobs that load a dataset, with progress the page can poll.

``IngestJobRegistry.start(name, work)`` runs ``work(progress)`` in a daemon thread and returns a
job id at once; ``get(job_id)`` returns a copy of the job's state (stage, done/total, status,
message, result). Only the newest ``max_jobs`` jobs are remembered. With several workers, a
``RedisJobMirror`` keeps every job's state in Redis too, so that a progress poll landing on another
worker than the one loading the file finds it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from rag.errors import RAGError
from rag.loading import LoadCancelled

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

log = logging.getLogger(__name__)
JOB_TTL_SECONDS = 3600


class JobMirror(Protocol):
    """Where jobs are kept besides this process."""

    def save(self, job: "IngestJob") -> None: ...

    def load(self, job_id: str) -> "IngestJob | None": ...


@dataclass(frozen=True)
class IngestJob:
    """The state of one loading job at one moment."""

    id: str
    name: str
    status: str = RUNNING
    """``running``, ``succeeded``, ``failed`` or ``cancelled`` (by the user, or by a newer load)."""
    stage: str = "starting"
    done: int = 0
    total: int = 0
    message: str | None = None
    """The error message of a failed job, for the user."""
    result: Any = None
    """What ``work`` returned, for a job that succeeded."""
    usable: Any = None
    """What ``work`` published once its result could be used before the job ended (a dataset that answers
    questions while its embeddings are computed)."""
    started: float = 0.0
    finished: float | None = None

    @property
    def fraction(self) -> float | None:
        """Share of the current stage done (0..1), or None when the stage has no known size."""
        if self.total <= 0:
            return None
        return max(0.0, min(1.0, self.done / self.total))

    @property
    def is_finished(self) -> bool:
        return self.status != RUNNING


class IngestJobRegistry:
    """Thread-safe registry of loading jobs."""

    def __init__(
        self, max_jobs: int = 32, clock: Callable[[], float] = time.monotonic, *, mirror: JobMirror | None = None
    ) -> None:
        self._jobs: OrderedDict[str, IngestJob] = OrderedDict()
        self._lock = threading.Lock()
        self._max_jobs = max_jobs
        self._clock = clock
        self._mirror = mirror

    def start(self, name: str, work: Callable[["JobProgress"], Any]) -> str:
        """Run ``work(progress)`` in a background thread; return the job id."""
        job_id = uuid.uuid4().hex
        job = IngestJob(id=job_id, name=name, started=self._clock())
        with self._lock:
            self._jobs[job_id] = job
            while len(self._jobs) > self._max_jobs:
                self._jobs.popitem(last=False)
        self._mirrored(job)
        thread = threading.Thread(target=self._run, args=(job_id, work), name=f"ingest-{job_id[:8]}", daemon=True)
        thread.start()
        return job_id

    def get(self, job_id: str) -> IngestJob | None:
        """The job's state, or None for an unknown (or forgotten) id."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None and self._mirror is not None:  # loading in another worker
            job = self._mirror.load(job_id)
        return job

    def wait(self, job_id: str, timeout: float | None = None, poll: float = 0.02) -> IngestJob | None:
        """Block until the job finishes (or ``timeout`` passes); return its last state."""
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            job = self.get(job_id)
            if job is None or job.is_finished or (deadline is not None and self._clock() >= deadline):
                return job
            time.sleep(poll)

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status != RUNNING:
                return
            job = self._jobs[job_id] = replace(job, **changes)
        self._mirrored(job)

    def _mirrored(self, job: IngestJob) -> None:
        if self._mirror is not None:
            try:
                self._mirror.save(job)
            except Exception:  # the job goes on; a poll on another worker finds it once Redis is back
                log.warning("cannot share the state of loading job %s", job.id, exc_info=True)

    def _run(self, job_id: str, work: Callable[["JobProgress"], Any]) -> None:
        progress = JobProgress(lambda **changes: self._update(job_id, **changes))
        try:
            result = work(progress)
        except LoadCancelled as exc:
            self._update(job_id, status=CANCELLED, message=str(exc), finished=self._clock())
        except RAGError as exc:
            self._update(job_id, status=FAILED, message=str(exc), finished=self._clock())
        except Exception as exc:  # the page must always get an answer
            self._update(job_id, status=FAILED, message=f"Loading failed unexpectedly: {exc}", finished=self._clock())
        else:
            self._update(job_id, status=SUCCEEDED, stage="ready", result=result, finished=self._clock())


class JobProgress:
    """What a running job reports: ``progress(stage, done, total)``, and ``progress.usable(result)`` once its
    result can be used before the job ends."""

    def __init__(self, update: Callable[..., None]) -> None:
        self._update = update

    def __call__(self, stage: str, done: int, total: int) -> None:
        self._update(stage=str(stage), done=int(done), total=int(total))

    def usable(self, result: Any) -> None:
        self._update(usable=result)


class RedisJobMirror:
    """Jobs kept in Redis (``{prefix}job:{id}``, JSON, an hour), for workers that share it."""

    def __init__(self, client: Any, prefix: str = "rag:") -> None:
        self._redis = client
        self._prefix = prefix

    def save(self, job: IngestJob) -> None:
        self._redis.set(f"{self._prefix}job:{job.id}", json.dumps(dataclasses.asdict(job), default=str), ex=JOB_TTL_SECONDS)

    def load(self, job_id: str) -> IngestJob | None:
        stored = self._redis.get(f"{self._prefix}job:{job_id}")
        return IngestJob(**json.loads(stored)) if stored else None


_registry: IngestJobRegistry | None = None
_registry_lock = threading.Lock()


def get_ingest_registry() -> IngestJobRegistry:
    """The process-wide registry."""
    global _registry
    with _registry_lock:
        if _registry is None:
            _registry = IngestJobRegistry()
        return _registry
