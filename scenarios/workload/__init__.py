"""The workload a scenario draws, deterministic from its seed: the population of TPS (regions,
DPT, devices, pages), when each finishes counting (arrivals), its true ballots, its misreads and
its page photos, and the load factor."""
