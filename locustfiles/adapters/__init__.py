"""Example ``--api-class`` adapters: API classes for services whose wire format is not the mock's.

- ``renamed``: :class:`locustfiles.adapters.renamed.RenamedApi`, for a service with other paths,
  field names and headers (``--api-class locustfiles.adapters.renamed:RenamedApi``).

An adapter is a class with ``SirekapApi``'s device methods (``locustfiles/api.py``), built as
``Class(transport, timeouts)``; it lives here, inside the load generator, and imports only what
the locustfiles may (``scenarios``, ``rundir``, ``locustfiles.api``).
"""
