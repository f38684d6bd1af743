"""What Locust's web UI says about the run: the scenario sets the load, not the start form.

For a locustfile with a ``LoadTestShape`` whose ``use_common_options`` is False (ours), Locust
2.47's start form shows users, ramp-up and run time as 0, disabled ("Disabled for tests using
LoadTestShape class"); it has no place for a shape's description. So the run says it twice:

- a custom parameter (``include_in_web_ui``), the form's own place for a locustfile's options:
  ``--this-run`` has what the run will do (scenario, TPS, simulated and real duration) as its
  only choice, so it cannot be changed into something the run would not do (Locust builds its
  parser again each time the page loads, so the text is there once the scenario is loaded);
- a line above the UI on its page (:func:`add_banner`), since "Custom parameters" is folded away.
"""

from __future__ import annotations

import html
from typing import Any, Final

from locustfiles.jobs import Plan
from scenarios import format_duration

OPTION: Final = "--this-run"
DEST: Final = "ThisRun"  # the web UI labels a parameter by its name: "This Run (...)"
HELP: Final = (
    "set by --scenario, shown in the web UI: the load shape starts users as the forms fall due "
    "and ends the run; users, ramp-up and run time are not used"
)


ROOT: Final = '<div id="root">'  # where Locust's page mounts its app
BANNER: Final = (
    '<div id="sirekap-run" style="padding:8px 24px;font:14px/1.4 sans-serif;'
    'background:#fff8e1;color:#222;border-bottom:1px solid #e0c060">{text}. Users and ramp-up '
    "are set by the scenario's load shape, not by the form below.</div>"
)


class _Shown:
    text = ""


_SHOWN = _Shown()


def describe(plan: Plan, drain: float) -> str:
    """One line: the scenario, its TPS and forms, and how long the run takes in both clocks."""
    clock = plan.scenario.clock
    operators = f", {len(plan.operators)} PPK operators" if plan.operators else ""
    return (
        f"scenario {plan.scenario.name}: {plan.tps_in_run} TPS ({len(plan.jobs)} forms"
        f"{operators}), {format_duration(clock.duration)} simulated in "
        f"{format_duration(clock.real_duration)} real (speed-up {clock.speedup:g}), then up to "
        f"{format_duration(drain)} for uploads in progress"
    )


def show(text: str) -> None:
    """The description the start form shows from now on."""
    _SHOWN.text = text


def add_option(parser: Any, **_: Any) -> None:
    """Listener of Locust's ``init_command_line_parser`` event (fired again for the web UI)."""
    text = _SHOWN.text
    parser.add_argument(
        OPTION,
        dest=DEST,
        metavar="TEXT",
        default=text,
        choices=[text] if text else None,
        help=HELP,
        include_in_web_ui=True,
    )


def add_banner(app: Any) -> None:
    """Put the description above the UI on its page (a Flask ``after_request`` hook)."""

    def banner(response: Any) -> Any:
        text = _SHOWN.text
        if not text or response.mimetype != "text/html" or response.direct_passthrough:
            return response
        page = response.get_data(as_text=True)
        if ROOT in page and 'id="sirekap-run"' not in page:
            shown = BANNER.format(text=html.escape(text[0].upper() + text[1:]))
            response.set_data(page.replace(ROOT, shown + ROOT, 1))
        return response

    app.after_request(banner)
