"""Kept for the test modules that still import from here: these helpers live in helpers.py now.
Import them from there; this module goes once nothing imports it."""

from helpers import RunningServer, reaped, start_server

__all__ = ["RunningServer", "reaped", "start_server"]
