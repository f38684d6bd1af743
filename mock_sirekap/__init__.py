"""A mock of Sirekap's upload path: device sessions, page photos, results, recaps, and the
kecamatan plenary (PPK operators compare manual totals with uploads, gavel TPS, sum the D.Hasil).

It stands alone (imports nothing else of this project) so it can be run and tested by itself:
``python -m mock_sirekap --port 8000 --db /tmp/sirekap.db --tps 300 --seed 1``.
"""

# The environment variable the admin token may come from (never a command line, where ``ps``
# shows it). Defined here, where importing it costs nothing, for whoever starts the mock.
ADMIN_TOKEN_ENV = "MOCK_SIREKAP_ADMIN_TOKEN"
