"""Long console work (audit verify, projection rebuilds) as background jobs: started by a
form post, run in a thread of the API process, their progress and result kept in Redis so
any API process can show them. A job page refreshes itself until the job is done."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis

from domain.base import EventMetadata, event_context
from infrastructure.read_stores.redis_keys import job_key

log = logging.getLogger("ecovarejo.console")
JOB_TTL_S = 3600
Progress = Callable[[int, int], None]
Work = Callable[[Progress], dict[str, Any]]


def _key(job_id: str) -> str:
    return job_key(job_id)


class Jobs:
    def __init__(self, client: redis.Redis):
        self.client = client

    def _save(self, job_id: str, job: dict[str, Any]) -> None:
        self.client.set(_key(job_id), json.dumps(job), ex=JOB_TTL_S)

    def get(self, job_id: str) -> dict[str, Any] | None:
        raw = self.client.get(_key(job_id))
        return json.loads(raw) if raw else None

    def start(self, kind: str, subject: str, role: str, work: Work, actor: str) -> str:
        """Run `work(progress)` in a thread; its dict is the job's result."""
        job_id = uuid.uuid4().hex
        job: dict[str, Any] = {
            "id": job_id,
            "kind": kind,
            "subject": subject,
            "role": role,
            "state": "running",
            "done": 0,
            "total": 0,
            "result": None,
            "error": None,
            "started": time.time(),
        }
        self._save(job_id, job)

        def progress(done: int, total: int) -> None:
            job.update(done=done, total=total)
            self._save(job_id, job)

        def run() -> None:
            metadata = EventMetadata(actor, f"console-job:{job_id}", f"console-job:{job_id}")
            try:
                with event_context(metadata):
                    result = work(progress)
                job.update(state="done", result=result)
            except Exception as error:
                log.exception("console job %s (%s) failed", job_id, kind)
                job.update(state="failed", error=f"{type(error).__name__}: {error}")
            job["seconds"] = round(time.time() - job["started"], 2)
            self._save(job_id, job)

        threading.Thread(target=run, name=f"console-{kind}", daemon=True).start()
        return job_id
