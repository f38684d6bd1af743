"""Locust user classes that simulate KPPS devices; Locust is imported only in this package."""
