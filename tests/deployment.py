"""The app deployed as a team runs it: ``python app.py --workers N`` (gunicorn) with Redis, on one port, started
and restarted by the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.conftest import _die_with_parent
from tests.protocol_servers import free_port

ROOT = Path(__file__).resolve().parent.parent


def team_config(
    path: Path, *, redis_url: str, llm: dict[str, Any], cache: Path, **sections: dict[str, Any]
) -> Path:
    """A settings file for several workers: Redis state, one model server, one dataset store (and any other
    ``sections``, e.g. ``retrieval={"batch_size": 4}``)."""
    path.write_text(json.dumps({"llm": llm, "state": {"backend": "redis", "redis_url": redis_url},
                                "cache": {"directory": str(cache)}, **sections}))
    return path


class Deployment:
    """The app under gunicorn, started and restarted on one port."""

    def __init__(
        self, config: Path, workers: int = 3, *, env: dict[str, str] | None = None, log: Path | None = None
    ) -> None:
        self.config = config
        self.log = log
        """Where the app's output goes (nowhere when None)."""
        self.workers = workers
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen[str] | None = None
        self.pids: list[str] = []
        self.browser = requests.Session()
        """The cookies of the browser ``post`` speaks for (visitors are isolated with several workers)."""

    def start(self) -> None:
        output = open(self.log, "ab") if self.log is not None else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--workers", str(self.workers), "--config", str(self.config),
             "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        )
        if self.log is not None:
            output.close()  # the app holds its own copy
        warm: set[str] = set()  # every worker has loaded its embedding model (4 at once take a while on 2 cores)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the app exited"
            try:
                response = requests.get(self.url + "healthz", timeout=10, headers={"Connection": "close"})
                if response.status_code == 200 and response.json().get("warm"):
                    warm.add(response.headers["X-Worker-Pid"])
                    if len(warm) >= self.workers:
                        return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"only {len(warm)} of {self.workers} workers became ready")

    def worker_pids(self) -> set[int]:
        """The gunicorn workers running now (the children of its master, the process ``start`` ran)."""
        assert self.process is not None
        children = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:  # gone meanwhile
                continue
            if fields[1] == str(self.process.pid) and fields[0] != "Z":  # fields: state, ppid, …
                children.add(int(stat.parent.name))
        return children

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One request of one browser: its cookies (the browser id the app gives) go with every post."""
        response = self.browser.post(self.url + path, json=body, timeout=30, headers={"Connection": "close"})
        response.raise_for_status()
        self.pids.append(response.headers["X-Worker-Pid"])
        return response.json()
