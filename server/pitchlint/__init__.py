"""Pitchlint: catches me-talk, begging and threats in sales email."""

__version__ = "0.1.0"
