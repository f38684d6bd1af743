"""The read-back audit's reads: every form of a run read through the target's public read API.

``python -m locustfiles.readback --run-dir DIR --host URL --rate R [--sample N]
[--api-class MODULE:CLASS]`` reads the run's ledger, picks the forms to read (every form a device
started, or with ``--sample N`` that many acknowledged ones, the same in every run), and reads each
once through the API class's ``read_result`` (so an adapter for another API is audited the same
way) at no more than ``--rate`` reads a second, a few at a time. A read that fails for a
transient reason (no answer, 5xx, 429) is tried again up to ``ATTEMPTS`` times, waiting what the
server asks (at most ``MAX_WAIT_S``). It prints one progress line a second (forms read, failed,
time left) and writes rundir/readback.py's ``readback.jsonl`` at the end. This runs outside
Locust and gevent: plain threads and the preflight's ``http.client`` transport.

Exit codes: 0 done (failed reads are in the file), 2 usage (bad options, no ledger).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from locustfiles.api import Timeouts, Verdict
from locustfiles.options import DEFAULT_API, api_class_from
from locustfiles.plain_transport import PlainTransport
from rundir import exits, names
from rundir.files import read_jsonl, write_jsonl
from rundir.ledger import result_digest
from rundir.readback import form_key

ATTEMPTS = 4
MAX_WAIT_S = 5.0
THREADS = 4
TIMEOUT_S = 10.0


class Pacer:
    """At most ``rate`` starts a second over all threads."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.gap = 1.0 / rate
        self.clock = clock
        self.next = clock()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = self.clock()
            start = max(now, self.next)
            self.next = start + self.gap
        time.sleep(max(0.0, start - now))


def forms_to_read(ledger: Sequence[dict[str, Any]], sample: int | None) -> list[tuple[str, str]]:
    """Every form a device started; with ``sample``, that many acknowledged ones, chosen by a
    hash of the form (the same forms in every run of the scenario)."""
    if sample is None:
        return sorted({form_key(line) for line in ledger if line.get("started_at") is not None})
    acked = sorted({form_key(line) for line in ledger if line.get("final_outcome") == "acked"})
    ranked = sorted(acked, key=lambda key: hashlib.sha256("/".join(key).encode()).hexdigest())
    return sorted(ranked[:sample])


def read_one(api: Any, form: tuple[str, str], pacer: Pacer) -> dict[str, Any]:
    """One form read, tried again on transient failures; a readback.jsonl line."""
    line: dict[str, Any] = {
        "tps_code": form[0], "election": form[1], "found": None, "result_sha256": None,
        "revision": None, "receipt_id": None, "status": 0, "attempts": 0, "error": None,
    }  # fmt: skip
    for attempt in range(1, ATTEMPTS + 1):
        pacer.wait()
        answer = api.read_result(*form)
        line.update(attempts=attempt, status=answer.status)
        if answer.ok:
            chart, administrasi = answer.data.get("chart"), answer.data.get("administrasi")
            found = chart is not None or administrasi is not None
            line.update(found=found, error=None)
            if found:
                line["result_sha256"] = result_digest(chart, administrasi)
                for key in ("revision", "receipt_id"):
                    value = answer.data.get(key)
                    line[key] = value if isinstance(value, int | str) else None
            return line
        line["error"] = answer.detail or answer.failure
        if answer.status == 404:  # the service holds nothing for this form
            line.update(found=False, error=None)
            return line
        if answer.verdict is not Verdict.RETRY:
            return line
        time.sleep(min(MAX_WAIT_S, answer.retry_after or 0.5 * attempt))
    return line


def read_back(
    api: Any, forms: Sequence[tuple[str, str]], rate: float,
    progress: Callable[[int, int, int, float], None],
) -> list[dict[str, Any]]:  # fmt: skip
    """Every form read; ``progress(done, failed, total, seconds_left)`` about once a second."""
    pacer, lines = Pacer(rate), []
    done = failed = 0
    shown = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for line in pool.map(lambda form: read_one(api, form, pacer), forms):
            lines.append(line)
            done += 1
            failed += line["found"] is None
            now = time.monotonic()
            if now - shown >= 1.0 or done == len(forms):
                shown = now
                progress(done, failed, len(forms), (len(forms) - done) / rate)
    return lines


def _print_progress(done: int, failed: int, total: int, left: float) -> None:
    width = 30
    filled = round(width * done / total) if total else width
    print(
        f"read-back [{'#' * filled}{'.' * (width - filled)}] {done}/{total} forms, "
        f"{failed} failed, about {left:.0f} s left",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m locustfiles.readback")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--host", required=True, help="the target's base URL")
    parser.add_argument("--rate", type=float, required=True, help="reads per second at most")
    parser.add_argument("--sample", type=int, help="read this many acknowledged forms only")
    parser.add_argument("--api-class", default=DEFAULT_API, metavar="MODULE:CLASS")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per read")
    args = parser.parse_args(argv)
    if not args.rate > 0 or (args.sample is not None and args.sample < 1):
        print("readback: --rate must be > 0 and --sample at least 1", file=sys.stderr)
        return exits.USAGE
    try:
        api_class = api_class_from(args.api_class)
        ledger = read_jsonl(args.run_dir / names.LEDGER)
    except (ValueError, OSError) as error:
        print(f"readback: {error}", file=sys.stderr)
        return exits.USAGE
    timeouts = Timeouts(args.timeout, args.timeout, args.timeout, args.timeout)
    api = api_class(PlainTransport(args.host), timeouts)
    forms = forms_to_read(ledger, args.sample)
    print(
        f"read-back: {len(forms)} forms at {args.rate:g}/s, about {len(forms) / args.rate:.0f} s",
        flush=True,
    )
    lines = read_back(api, forms, args.rate, _print_progress)
    write_jsonl(args.run_dir / names.READBACK, sorted(lines, key=form_key))
    return exits.OK


if __name__ == "__main__":
    sys.exit(main())
