"""Errors of the analytic path. Each message is written for the user.

    AnalyticsError
    ├── SpecError        a plan that does not fit the table (unknown field, wrong type, bad value)
    └── QueryError       the query could not run (time limit, memory limit, engine failure)
"""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base of the analytic path's errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SpecError(AnalyticsError):
    """The plan does not fit the table."""


class QueryError(AnalyticsError):
    """The query could not run."""
