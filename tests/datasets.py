"""Public datasets shipped inside installed PyPI packages, used by the tests where they are installed.

Nothing is downloaded or copied into the repository: the files are read from site-packages.
``vega_datasets`` ships ``cars.json`` (406 cars); ``pycountry`` ships the ISO databases, e.g.
``iso3166-1.json`` (``{"3166-1": [...]}``, the countries) and ``iso639-3.json`` (languages).
The example web-shop orders of the dashboard are part of the repository.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path


def package_dir(package: str) -> Path:
    """The folder of an installed package; a clear error when it is not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the package {package!r} is not installed; install tests/requirements.txt to get its datasets"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=None)
def packaged_file(package: str, file_name: str) -> Path:
    """The one file called ``file_name`` inside the installed ``package``."""
    matches = sorted(package_dir(package).rglob(file_name))
    if len(matches) != 1:
        raise FileNotFoundError(f"expected one {file_name!r} in the package {package!r}, found {len(matches)}")
    return matches[0]


def vega_cars_path() -> Path:
    """``cars.json`` of ``vega_datasets``: a top-level array of 406 car records."""
    return packaged_file("vega_datasets", "cars.json")


def vega_dataset_path(file_name: str) -> Path:
    """A JSON file that ``vega_datasets`` ships locally, e.g. ``iris.json``, ``barley.json``, ``ohlc.json``."""
    return packaged_file("vega_datasets", file_name)


def pycountry_database_path(file_name: str = "iso3166-1.json") -> Path:
    """A JSON database of ``pycountry``, e.g. ``iso3166-1.json`` or ``iso639-3.json``."""
    path = package_dir("pycountry") / "databases" / file_name
    if not path.is_file():
        raise FileNotFoundError(f"pycountry has no database {file_name!r} (looked for {path})")
    return path


def example_orders_path() -> Path:
    """The dashboard's example orders: 240 web-shop orders with nested ``customer`` and ``items[]``."""
    path = Path(__file__).resolve().parent.parent / "dashboard" / "example_data" / "orders.json"
    if not path.is_file():
        raise FileNotFoundError(f"the example orders are missing (looked for {path})")
    return path


PLOTLY_JSON_DIR = Path(__file__).resolve().parent / ".data" / "plotly"


def plotly_dataset_path(name: str) -> Path:
    """A dataset ``plotly`` ships as CSV (``gapminder``, ``tips``), exported as a JSON array of records the
    way an analyst would export it (numbers as numbers), under ``tests/.data/plotly/``."""
    import csv
    import gzip
    import json

    target = PLOTLY_JSON_DIR / f"{name}.json"
    if not target.is_file():
        source = packaged_file("plotly", f"{name}.csv.gz")
        with gzip.open(source, "rt", encoding="utf-8", newline="") as handle:
            records = [{key: _csv_value(value) for key, value in row.items()} for row in csv.DictReader(handle)]
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_text(json.dumps(records))
        partial.replace(target)
    return target


def _csv_value(text: str) -> int | float | str | None:
    """A CSV cell as JSON would hold it: an int, a float, text, or None when empty."""
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
