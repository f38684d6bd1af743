"""The files a scenario writes for the mock: the device registry, the PPK operators and the
capacity model (``--registry``, ``--operators``, ``--capacity``)."""
