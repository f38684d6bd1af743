"""When a device tries a failed request again, and when it gives up (scenario ``[client] retry``).

The policy's delays are on the simulated clock (part of the schedule) and are divided by the
speed-up for the real wait; a server's ``Retry-After`` is in the server's seconds, which are real
(scenarios/README.md, "Text forms"). With ``honour_retry_after`` the device waits the longer of
the two.
"""

from __future__ import annotations

import email.utils
import math
from dataclasses import dataclass

from scenarios import RetrySpec


@dataclass(frozen=True)
class RetryPolicy:
    """The scenario's retry spec at a given speed-up."""

    spec: RetrySpec
    speedup: float

    def __post_init__(self) -> None:
        if not self.speedup > 0:
            raise ValueError(f"speedup must be > 0, got {self.speedup}")

    @property
    def attempts(self) -> int:
        """Attempts per request, the first included (1 for policy "none")."""
        return self.spec.attempts

    def wait(self, failures: int, draw: float, retry_after: float | None = None) -> float | None:
        """Real seconds to wait after ``failures`` failed attempts, or None to give up.

        ``draw`` is a uniform number in [0, 1) from the device's random stream (the jitter of the
        exponential policy); ``retry_after`` is the server's Retry-After in seconds, if it sent one.
        """
        if failures < 1:
            raise ValueError(f"failures must be >= 1, got {failures}")
        if failures >= self.attempts:
            return None
        real = self.spec.backoff(failures, draw) / self.speedup
        if self.spec.honour_retry_after and retry_after is not None:
            real = max(real, retry_after)
        return real


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date); None if absent.

    An unreadable value counts as absent; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        return max(0.0, moment.timestamp() - now)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds
