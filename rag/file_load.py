"""One file loaded into the registry: parsed, then reused when it is open or stored already, else profiled, put
in an analytic table and indexed. Questions go to it once keyword search works; a failure puts back the
dataset used before."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable

from rag.dataset_builder import DatasetBuilder, loaded_dataset
from rag.dataset_registry import DatasetInfo, DatasetRegistry, LoadedDataset
from rag.dataset_store import store_key
from rag.errors import ConfigError, DataLoadError
from rag.i18n import N_
from rag.loader import load_dataset
from rag.loading import LoadTicket
from rag.profile import profile_dataset
from rag.settings import DataSettings

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
LOAD_FAILED_UNEXPECTEDLY = N_("Loading failed unexpectedly: {error}")
"""The message of a load that failed with an error not of ours (``{error}``: its text), for the user."""
LOAD_ENDED_ELSEWHERE = N_("The loading job was ended from another worker.")
"""The message of a load ended by another worker (which found it dead) while it still ran here."""


def load_file(
    source: Any,
    name: str | None,
    report: Progress,
    ticket: LoadTicket,
    *,
    data: DataSettings,
    registry: DatasetRegistry,
    builder: DatasetBuilder,
) -> DatasetInfo:
    """Load ``source`` for ``ticket``'s tab, reporting each stage; raises ``DataLoadError`` or ``ConfigError``."""
    report("parsing", 0, 1)
    dataset = load_dataset(source, name=name, max_bytes=int(data.max_upload_mb * 1024 * 1024), max_depth=data.max_depth)
    retriever = builder.retriever()
    dataset_id = store_key(dataset.content_hash, retriever.index_fingerprint())
    known = registry.open(dataset_id)  # open already, or in the store: nothing to index
    if known is not None:
        if known.dataset.name != dataset.name:
            known = dataclasses.replace(known, info=dataclasses.replace(known.info, name=dataset.name))
        make_current(registry, known, ticket)
        report("ready", 1, 1)
        return known.info
    report("profiling", 0, 1)
    profile = profile_dataset(dataset.records)
    report("table", 0, 1)
    analytics = builder.analytics(dataset, profile)
    info = DatasetInfo.describe(dataset, profile, dataset_id=dataset_id)
    loaded = loaded_dataset(dataset, info, retriever, analytics)
    previous = registry.last
    tab_before = registry.tab_choice(ticket.tab)

    def searchable() -> None:  # keyword search works: questions are answered over the new file from now on
        make_current(registry, loaded, ticket)
        report("embedding", 0, len(dataset.records))

    try:
        build = retriever.build(dataset, content_hash=dataset.content_hash, progress=report, on_searchable=searchable)
    except Exception as exc:
        withdraw(registry, loaded, previous, ticket, tab_before)
        if analytics is not None:
            analytics.close()
        if isinstance(exc, (DataLoadError, ConfigError)):
            raise
        log.exception("indexing failed")
        raise DataLoadError(
            N_("{label}: the records could not be indexed ({reason})"), label=dataset.name, reason=exc
        ) from exc
    info.index.update(dataclasses.asdict(build))
    make_current(registry, loaded, ticket)
    registry.save(loaded)
    report("ready", 1, 1)
    return info


def make_current(registry: DatasetRegistry, loaded: LoadedDataset, ticket: LoadTicket) -> None:
    """Questions are answered over ``loaded`` from now on: the ticket's tab's, and those naming no dataset."""
    registry.make_current(loaded, ticket.tab)
    ticket.dataset_id = loaded.info.dataset_id
    ticket.searchable.set()


def withdraw(
    registry: DatasetRegistry, loaded: LoadedDataset, previous: LoadedDataset | None, ticket: LoadTicket,
    tab_before: str | None,
) -> None:
    """A load that failed (or was cancelled) after its dataset became searchable: back to the dataset loaded
    before, for the tab too (``tab_before``, its dataset when the load began)."""
    registry.withdraw(loaded, previous, ticket.tab, tab_before)
    if ticket.dataset_id == loaded.info.dataset_id:
        ticket.dataset_id = None  # other workers must not follow the tab to a dataset that is gone
