"""A minimal FastHttpUser locustfile: a device's requests, no bookkeeping (benchmark baseline).

Each iteration sends what a device sends for one form (log in, three page photos, the result,
a read-back), for the next TPS of the work file named by ``BENCH_WORK`` (JSON written by
bench_generator.py: the forms with credentials and ballots, and the photo size), and no
timing, retries, recording or checks beyond Locust's own statistics. Its photos are as fresh as
the device user's: new bytes of the same size for every upload, hashed when sent (the device
user makes each photo from its seed as it sends it), so neither side prepares photos outside
the measured window.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from typing import Any

from locust import FastHttpUser, constant, task

WORK: dict[str, Any] = json.loads(open(os.environ["BENCH_WORK"], encoding="utf-8").read())  # noqa: PTH123, SIM115
PHOTO_SIZE = int(WORK["photo_size"])
PAGES = 3
NEXT = itertools.count()


class MinimalDevice(FastHttpUser):
    wait_time = constant(0)

    @task
    def form(self) -> None:
        forms = WORK["forms"]
        item = forms[next(NEXT) % len(forms)]
        tps = item["tps_code"]
        login = {"device_id": item["device_id"], "tps_code": tps, "secret": item["secret"]}
        response = self.client.post("/api/v1/sessions", json=login, name="session")
        auth = {"Authorization": f"Bearer {response.json()['token']}"}
        hashes = []
        for page in range(1, PAGES + 1):
            photo = os.urandom(PHOTO_SIZE)
            sha = hashlib.sha256(photo).hexdigest()
            hashes.append(sha)
            headers = {**auth, "X-Content-SHA256": sha, "Content-Type": "application/octet-stream"}
            self.client.put(f"/api/v1/tps/{tps}/ppwp/pages/{page}", data=photo, headers=headers,
                            name="page")  # fmt: skip
        body = json.dumps({**item["result"], "pages": hashes}).encode()
        headers = {**auth, "Idempotency-Key": item["device_id"], "Content-Type": "application/json"}
        self.client.put(f"/api/v1/tps/{tps}/ppwp/result", data=body, headers=headers, name="result")
        self.client.get(f"/api/v1/tps/{tps}/ppwp", name="read")
