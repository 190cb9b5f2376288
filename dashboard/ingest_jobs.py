"""Background jobs that load a dataset, with progress the page can poll.

``IngestJobRegistry.start(name, work)`` runs ``work(progress)`` in a daemon thread and returns a
job id at once; ``get(job_id)`` returns a copy of the job's state (stage, done/total, status,
message, result). Only the newest ``max_jobs`` jobs are remembered. With several workers, a
``RedisJobMirror`` keeps every job's state in Redis too, so that a progress poll landing on another
worker than the one loading the file finds it; the worker running a job beats it there while it runs, and a
poll that finds a running job not beaten for ``ORPHANED_AFTER_SECONDS`` (its worker died) ends it as failed,
so that the page says so within seconds instead of showing a progress bar that never moves again.

A job's error message is worded in the language of the page that started it (``dashboard.i18n``: English when
it is started outside a request), since the job's thread answers no request.
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

from dashboard.i18n import current_language
from rag.errors import RAGError
from rag.file_load import LOAD_ENDED_ELSEWHERE, LOAD_FAILED_UNEXPECTEDLY
from rag.i18n import worded
from rag.loading import LoadCancelled
from rag.redis_buffer import RedisLoadBoard

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

log = logging.getLogger(__name__)
JOB_TTL_SECONDS = 3600
HEARTBEAT_SECONDS = RedisLoadBoard.HEARTBEAT_SECONDS
"""How often a worker says the jobs it runs are alive (with a mirror)."""
ORPHANED_AFTER_SECONDS = RedisLoadBoard.ORPHANED_AFTER_SECONDS
"""A running job not beaten for this long was left by a worker that died."""
ORPHANED_MESSAGE = RedisLoadBoard.ORPHANED_MESSAGE
"""The message of a job whose worker died (``{name}``: the file), the same as the questions waiting for it get."""


class JobMirror(Protocol):
    """Where jobs are kept besides this process."""

    def save(self, job: "IngestJob") -> bool:
        """Keep the job's state; False when the job had already ended there (the first end wins)."""
        ...

    def load(self, job_id: str) -> "IngestJob | None": ...

    def heartbeat(self, job_ids: list[str]) -> None:
        """The jobs ``job_ids`` still run (in this process, which is alive)."""
        ...


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
        self._running_here: set[str] = set()
        """Jobs whose work runs in this process (beaten in the mirror)."""
        self._beater: threading.Thread | None = None

    def start(self, name: str, work: Callable[["JobProgress"], Any]) -> str:
        """Run ``work(progress)`` in a background thread; return the job id. Its error message is worded in the
        language of the request starting it."""
        language = current_language()
        job_id = uuid.uuid4().hex
        job = IngestJob(id=job_id, name=name, started=self._clock())
        with self._lock:
            self._jobs[job_id] = job
            while len(self._jobs) > self._max_jobs:
                self._jobs.popitem(last=False)
        self._mirrored(job)
        if self._mirror is not None:
            self._beat_while_running(job_id)
        thread = threading.Thread(
            target=self._run, args=(job_id, work, language), name=f"ingest-{job_id[:8]}", daemon=True
        )
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

    def _update(self, job_id: str, **changes: Any) -> bool:
        """Change a running job; False when it has ended (here, or in the mirror: declared dead)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return True  # forgotten here (``max_jobs``): its work goes on unseen
            if job.status != RUNNING:
                return False
            job = self._jobs[job_id] = replace(job, **changes)
        return self._mirrored(job)

    def _mirrored(self, job: IngestJob) -> bool:
        """Save the job in the mirror; False when the mirror holds it ended already (a poll found its beat
        stale and declared its worker dead): it takes that end here too."""
        if self._mirror is None:
            return True
        try:
            if self._mirror.save(job):
                return True
            ended = self._mirror.load(job.id)
        except Exception:  # the job goes on; a poll on another worker finds it once Redis is back
            log.warning("cannot share the state of loading job %s", job.id, exc_info=True)
            return True
        if ended is None or not ended.is_finished:
            return True
        with self._lock:
            if job.id in self._jobs:
                self._jobs[job.id] = ended
        return False

    def _beat_while_running(self, job_id: str) -> None:
        with self._lock:
            self._running_here.add(job_id)
            if self._beater is None:
                self._beater = threading.Thread(target=self._beat, name="ingest-heartbeat", daemon=True)
                self._beater.start()

    def _beat(self) -> None:
        """Beat the jobs running here every ``HEARTBEAT_SECONDS``, until none is left."""
        assert self._mirror is not None
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self._lock:
                running = sorted(self._running_here)
                if not running:
                    self._beater = None
                    return
            try:
                self._mirror.heartbeat(running)
            except Exception:  # Redis away: keep beating; the job's own writes report it
                log.warning("cannot beat the loading jobs running here", exc_info=True)

    def _run(self, job_id: str, work: Callable[["JobProgress"], Any], language: str) -> None:
        """Run the job's work; its error message, for the user, in ``language``."""
        progress = JobProgress(lambda **changes: self._update(job_id, **changes))
        try:
            result = work(progress)
        except LoadCancelled as exc:
            self._update(job_id, status=CANCELLED, message=exc.worded(language), finished=self._clock())
        except RAGError as exc:
            self._update(job_id, status=FAILED, message=exc.worded(language), finished=self._clock())
        except Exception as exc:  # the page must always get an answer
            message = worded(language, LOAD_FAILED_UNEXPECTEDLY, error=exc)
            self._update(job_id, status=FAILED, message=message, finished=self._clock())
        else:
            self._update(job_id, status=SUCCEEDED, stage="ready", result=result, finished=self._clock())
        finally:
            with self._lock:
                self._running_here.discard(job_id)


class JobProgress:
    """What a running job reports: ``progress(stage, done, total)``, and ``progress.usable(result)`` once its
    result can be used before the job ends. A report raises ``LoadCancelled`` once the job was ended from
    outside (another worker declared it dead): the work stops, as the page was told."""

    def __init__(self, update: Callable[..., bool]) -> None:
        self._update = update

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self._update(stage=str(stage), done=int(done), total=int(total)):
            raise LoadCancelled(LOAD_ENDED_ELSEWHERE)

    def usable(self, result: Any) -> None:
        self._update(usable=result)


class RedisJobMirror:
    """Jobs kept in Redis for workers that share it: a hash ``{prefix}ingest:{id}`` (the job as JSON, its status,
    the time its worker last said it runs it), an hour. Once a job ended there, writes to it are refused; a
    running job read after ``ORPHANED_AFTER_SECONDS`` without a beat is ended there as failed."""

    _SAVE = """
local status = redis.call('HGET', KEYS[1], 'status')
if status and status ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'job', ARGV[1], 'status', ARGV[2], 'beat', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
    """KEYS: the job; ARGV: job JSON, status, now, ttl. Returns 0 (nothing written) once the job ended."""

    _BEAT = """
for i, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'status') == 'running' then redis.call('HSET', key, 'beat', ARGV[1]) end
end
return 1
"""
    """KEYS: jobs; ARGV: now."""

    _END_ORPHANED = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' or redis.call('HGET', KEYS[1], 'beat') ~= ARGV[3] then
  return 0
end
redis.call('HSET', KEYS[1], 'job', ARGV[1], 'status', ARGV[2])
return 1
"""
    """KEYS: the job; ARGV: ended job JSON, its status, the stale beat read. Refused when beaten or ended meanwhile."""

    def __init__(self, client: Any, prefix: str = "rag:") -> None:
        self._redis = client
        self._prefix = prefix
        self._save = client.register_script(self._SAVE)
        self._beat = client.register_script(self._BEAT)
        self._end_orphaned = client.register_script(self._END_ORPHANED)

    def save(self, job: IngestJob) -> bool:
        """Keep the job's state (and say that its worker is alive); False when it had ended already."""
        stored = self._save(keys=[self._key(job.id)], args=[_job_json(job), job.status, time.time(), JOB_TTL_SECONDS])
        return bool(stored)

    def load(self, job_id: str) -> IngestJob | None:
        """The job, or None; a running job whose worker stopped beating it is ended here as failed."""
        key = self._key(job_id)
        stored, status, beat = self._redis.hmget(key, "job", "status", "beat")
        if not stored:
            return None
        job = IngestJob(**json.loads(stored))
        if status != RUNNING.encode() or beat is None or time.time() - float(beat) <= ORPHANED_AFTER_SECONDS:
            return job
        ended = replace(job, status=FAILED, message=worded(current_language(), ORPHANED_MESSAGE, name=job.name))
        if self._end_orphaned(keys=[key], args=[_job_json(ended), FAILED, beat]):
            log.warning("loading job %s (%s): its worker stopped beating it; ended as failed", job_id, job.name)
            return ended
        return self.load(job_id)  # beaten or ended meanwhile: what is there now

    def heartbeat(self, job_ids: list[str]) -> None:
        """The jobs ``job_ids`` still run, in this process."""
        if job_ids:
            self._beat(keys=[self._key(job_id) for job_id in job_ids], args=[time.time()])

    def _key(self, job_id: str) -> str:
        return f"{self._prefix}ingest:{job_id}"


def _job_json(job: IngestJob) -> str:
    return json.dumps(dataclasses.asdict(job), default=str)


_registry: IngestJobRegistry | None = None
_registry_lock = threading.Lock()


def get_ingest_registry() -> IngestJobRegistry:
    """The process-wide registry."""
    global _registry
    with _registry_lock:
        if _registry is None:
            _registry = IngestJobRegistry()
        return _registry
