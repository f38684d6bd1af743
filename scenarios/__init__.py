"""Scenarios: load and validate a scenario file into a typed, frozen Scenario.

The public API, used by the harness, the Locust devices and the reports::

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

from scenarios.arrival import ArrivalSchedule, FormArrival, PageEvent, TpsArrival, arrival_schedule
from scenarios.ballots import ResultBody, ballot_problems, ballots_received, result_body
from scenarios.errors import Issue, ScenarioError
from scenarios.loader import load_scenario, loads_scenario, scenario_from_dict
from scenarios.loadfactor import LoadFactor, load_factor
from scenarios.misreads import Misread, misread, misreads
from scenarios.photos import page_digest, page_photo
from scenarios.population import Device, Population, Tps, build_population
from scenarios.population_spec import ELECTIONS, Election
from scenarios.registry import (
    OPERATOR_COLUMNS,
    REGISTRY_COLUMNS,
    OperatorRow,
    read_operators,
    read_registry,
    write_operators,
    write_registry,
)
from scenarios.scenario import Scenario
from scenarios.summary import figures, summarize
from scenarios.target import capacity_json, write_capacity
from scenarios.timeline import FAULT_KINDS, Fault

__all__ = [
    "ELECTIONS",
    "FAULT_KINDS",
    "OPERATOR_COLUMNS",
    "REGISTRY_COLUMNS",
    "ArrivalSchedule",
    "Device",
    "Election",
    "Fault",
    "FormArrival",
    "Issue",
    "LoadFactor",
    "Misread",
    "OperatorRow",
    "PageEvent",
    "Population",
    "ResultBody",
    "Scenario",
    "ScenarioError",
    "Tps",
    "TpsArrival",
    "arrival_schedule",
    "ballot_problems",
    "ballots_received",
    "build_population",
    "capacity_json",
    "figures",
    "load_factor",
    "load_scenario",
    "loads_scenario",
    "misread",
    "misreads",
    "page_digest",
    "page_photo",
    "read_operators",
    "read_registry",
    "result_body",
    "scenario_from_dict",
    "summarize",
    "write_capacity",
    "write_operators",
    "write_registry",
]
