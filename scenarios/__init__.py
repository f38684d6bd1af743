"""Scenarios: the shipped scenario files, and the code that reads them and draws their workload.

``schema/`` is the file format (load and validate into a typed, frozen Scenario), ``workload/``
what a scenario draws from its seed (population, arrivals, ballots, misreads, photos),
``mock_inputs/`` the files written for the mock (registry, operators, capacity). The public API,
through which the harness, the Locust devices and the reports use it::

    scenario = load_scenario("scenarios/kuta_selatan_2024.toml")   # or ScenarioError
    population = build_population(scenario)                         # TPS, devices, page sizes
    schedule = arrival_schedule(scenario, population)               # simulated seconds
    population.result_body(tps, "ppwp")                             # the true result (no pages)
    population.photo(tps, "ppwp", 0)                                # a page photo's bytes
    write_registry(population, "registry.csv")                      # the mock's --registry
    write_operators(population, "operators.csv", 1)                 # the mock's --operators
    misread(scenario.quality, population.seed, tps, "ppwp")         # a first upload's misread
    capacity_json(scenario.target)                                  # the mock's --capacity
    scenario.timeline                                               # fault windows, seconds
    load_factor(scenario).factor                                    # sample * speedup

The file format is described in scenarios/README.md.
"""

from scenarios.mock_inputs.capacity import (
    capacity_json,
    write_capacity,
)
from scenarios.mock_inputs.registry import (
    OPERATOR_COLUMNS,
    REGISTRY_COLUMNS,
    OperatorRow,
    operator_rows,
    read_operators,
    read_registry,
    write_operators,
    write_registry,
)
from scenarios.schema.client import RetrySpec
from scenarios.schema.errors import (
    Issue,
    ScenarioError,
)
from scenarios.schema.faults import (
    FAULT_KINDS,
    Fault,
)
from scenarios.schema.geography import (
    NATIONAL_TPS,
    zone_of,
)
from scenarios.schema.hindcast import (
    ELECTION_DAY,
    PUBLISHED_2024,
    PUBLISHED_ZONE,
    HindcastSpec,
)
from scenarios.schema.loader import (
    load_scenario,
    loads_scenario,
    read_scenario_text,
    scenario_from_dict,
)
from scenarios.schema.population import (
    ELECTIONS,
    Election,
)
from scenarios.schema.proxies import ProxySpec
from scenarios.schema.safety import (
    UnsafeTarget,
    check_target,
)
from scenarios.schema.scenario import Scenario
from scenarios.schema.slo import (
    ENDPOINT_SCOPES,
    Slo,
    parse_slo,
    plan_args,
)
from scenarios.schema.target import MAX_INSTANCES
from scenarios.schema.units import (
    ZONE_UTC_OFFSET_HOURS,
    Zone,
    format_duration,
    format_local,
    format_size,
    parse_size,
    parse_time_spec,
)
from scenarios.workload.arrival import (
    ArrivalSchedule,
    FormArrival,
    PageEvent,
    TpsArrival,
    arrival_schedule,
    curve_seconds,
)
from scenarios.workload.ballots import (
    ResultBody,
    ballot_problems,
    ballots_received,
    result_body,
)
from scenarios.workload.loadfactor import (
    LoadFactor,
    load_factor,
)
from scenarios.workload.misreads import (
    Misread,
    misread,
    misreads,
)
from scenarios.workload.overview import (
    figures,
    requests_per_form,
    requests_per_tps,
    summarize,
)
from scenarios.workload.photos import (
    page_digest,
    page_photo,
)
from scenarios.workload.population import (
    Device,
    Population,
    Tps,
    build_population,
)
from scenarios.workload.sampling import lognormal_sigma

__all__ = [
    "ELECTIONS",
    "ELECTION_DAY",
    "ENDPOINT_SCOPES",
    "FAULT_KINDS",
    "MAX_INSTANCES",
    "NATIONAL_TPS",
    "OPERATOR_COLUMNS",
    "PUBLISHED_2024",
    "PUBLISHED_ZONE",
    "REGISTRY_COLUMNS",
    "ZONE_UTC_OFFSET_HOURS",
    "ArrivalSchedule",
    "Device",
    "Election",
    "Fault",
    "FormArrival",
    "HindcastSpec",
    "Issue",
    "LoadFactor",
    "Misread",
    "OperatorRow",
    "PageEvent",
    "Population",
    "ProxySpec",
    "ResultBody",
    "RetrySpec",
    "Scenario",
    "ScenarioError",
    "Slo",
    "Tps",
    "TpsArrival",
    "UnsafeTarget",
    "Zone",
    "arrival_schedule",
    "ballot_problems",
    "ballots_received",
    "build_population",
    "capacity_json",
    "check_target",
    "curve_seconds",
    "figures",
    "format_duration",
    "format_local",
    "format_size",
    "load_factor",
    "load_scenario",
    "loads_scenario",
    "lognormal_sigma",
    "misread",
    "misreads",
    "operator_rows",
    "page_digest",
    "page_photo",
    "parse_size",
    "parse_slo",
    "parse_time_spec",
    "plan_args",
    "read_operators",
    "read_registry",
    "read_scenario_text",
    "requests_per_form",
    "requests_per_tps",
    "result_body",
    "scenario_from_dict",
    "summarize",
    "write_capacity",
    "write_operators",
    "write_registry",
    "zone_of",
]
