"""Analytic tables of real data shared by the table and SQL tests: the example orders and vega's cars."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.analytics.table import AnalyticTable
from rag.loader import load_dataset
from rag.profile import profile_dataset
from tests.datasets import vega_cars_path

ORDERS_PATH = Path(__file__).resolve().parent.parent / "dashboard" / "example_data" / "orders.json"


def build(source: Any, name: str | None = None) -> AnalyticTable:
    """The analytic table of a file or of records, built as the engine builds it."""
    dataset = load_dataset(source, name=name)
    return AnalyticTable.build(dataset, profile_dataset(dataset.records))


@pytest.fixture(scope="module")
def cars_raw() -> list[dict[str, Any]]:
    return json.loads(vega_cars_path().read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cars() -> Iterator[AnalyticTable]:
    table = build(vega_cars_path())
    yield table
    table.close()


@pytest.fixture(scope="module")
def orders_raw() -> list[dict[str, Any]]:
    return json.loads(ORDERS_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def orders() -> Iterator[AnalyticTable]:
    table = build(ORDERS_PATH)
    yield table
    table.close()
