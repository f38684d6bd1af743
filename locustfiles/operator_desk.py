"""PPK operators across the generator processes: each operator of the plan runs exactly once.

Locust places the operator users (``fixed_count`` = the plan's operators) on the processes as
it likes. Each operator user asks the conductor for an operator (``sirekap_operator_claim``)
and is granted the next one (``sirekap_operator_grant``, None once all are taken), so every
operator works in exactly one process whatever the number of processes and wherever the users
land; the results are the same in shape with one process or many.
"""

from __future__ import annotations

import json
import logging
from itertools import count
from typing import Any

import gevent
from gevent.event import AsyncResult

from locustfiles.jobs import Plan
from locustfiles.ppk_operator import OperatorShift, PlenaryApi, PlenaryContext

CLAIM = "sirekap_operator_claim"
GRANT = "sirekap_operator_grant"
CLAIM_TIMEOUT = 30.0  # real seconds for the conductor's answer

logger = logging.getLogger(__name__)


class OperatorDesk:
    """The conductor's side: hands out the plan's operators in order, one per claim."""

    def __init__(self, runner: Any, total: int) -> None:
        self.runner = runner
        self.total = total
        self.granted = 0
        runner.register_message(CLAIM, self._on_claim)

    @property
    def all_granted(self) -> bool:
        return self.granted >= self.total

    def _on_claim(self, environment: Any, msg: Any, **_: Any) -> None:
        operator = self.granted if self.granted < self.total else None
        self.granted += operator is not None
        reply = {"request": msg.data["request"], "operator": operator}
        self.runner.send_message(GRANT, reply, client_id=msg.node_id)


class OperatorPool:
    """A generator process's side: claims operators for its operator users and runs them."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.index = 0
        self.plan: Plan | None = None
        self.shifts: list[OperatorShift] = []
        self._waiting: dict[int, AsyncResult] = {}
        self._requests = count()
        runner.register_message(GRANT, self._on_grant)

    def claim(self) -> int | None:
        """The index of an operator for the calling user to be; None when there is none left."""
        request = next(self._requests)
        result = AsyncResult()
        self._waiting[request] = result
        try:
            self.runner.send_message(CLAIM, {"index": self.index, "request": request})
            granted = result.get(timeout=CLAIM_TIMEOUT)
        except gevent.Timeout:
            logger.error("sirekap: no operator granted within %g s", CLAIM_TIMEOUT)
            return None
        finally:
            self._waiting.pop(request, None)
        return granted if isinstance(granted, int) else None

    def _on_grant(self, environment: Any, msg: Any, **_: Any) -> None:
        result = self._waiting.get(int(msg.data["request"]))
        if result is not None:
            result.set(msg.data["operator"])

    def run(self, operator: int, api: PlenaryApi, context: PlenaryContext) -> None:
        """Work operator ``operator``'s shift (returns at its end or the run's)."""
        assert self.plan is not None
        shift = OperatorShift(self.plan.operators[operator], api, context)
        self.shifts.append(shift)
        shift.run()

    def status(self) -> dict[str, int]:
        return {
            "operators": len(self.shifts),
            "operators_finished": sum(1 for shift in self.shifts if shift.finished),
        }

    def lines(self) -> list[str]:
        """Every plenary record of this process as ``plenary.jsonl`` JSON text."""
        return [
            json.dumps(record.to_json(), separators=(",", ":"))
            for shift in self.shifts
            for record in shift.records.values()
        ]
