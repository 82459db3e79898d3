"""A real worker process for the crash tests: `python -m tests.durable.worker_main DB_URL REDIS_URL`.

It runs the same drain jobs as `flowright worker`, with the test connector registered."""

from __future__ import annotations

import sys

from rq import SimpleWorker

from runtime import jobs
from runtime.db import utcnow
from tests.durable.support import make_services

if __name__ == "__main__":
    services = make_services(sys.argv[1], sys.argv[2], utcnow)
    SimpleWorker([jobs.queue(services.redis)], connection=services.redis).work(burst=True)
