"""Every component id of the page, in one place.

Plain strings for single components; ``*_TYPE`` names for dict ids of repeated parts
(``{"type": ANSWER_PART_TYPE, "turn": ..., "part": ...}``).
"""

from __future__ import annotations

from typing import Any

# ---------------------------------------------------------------- chat (ids fixed by the issue)
CHAT_HISTORY = "chat-history"
CHAT_HISTORY_STORE = "chat-history-store"
CHAT_INPUT = "chat-input"
SEND_BUTTON = "send-button"
STREAMING_SESSION_ID = "streaming-session-id"
STREAMING_ACTIVE = "streaming-active"
STREAMING_INTERVAL = "streaming-interval"
STORED_DATA = "stored-data"
TAB_ID = "tab-id"
RECENT_DATASETS = "recent-datasets"

# ---------------------------------------------------------------- chat (ours)
STOP_BUTTON = "stop-button"
CLEAR_BUTTON = "clear-chat-button"
STREAM_PROGRESS = "stream-progress"
"""Store (memory): where polling of a new or resumed answer starts (turn index, session, text already shown)."""
POLL_CONFIG = "poll-config"
"""Store: poll timings and the messages the browser shows on its own (server not reachable, model silent)."""
CONNECTION_NOTICE = "connection-notice"
"""Shown while the server does not answer the page's polls."""
HISTORY_RESTORE_REQUEST = "history-restore-request"
"""Store: the turns kept in the tab's session storage, handed to the server once per page load."""
SOURCE_REQUEST = "source-request"
"""Store: the record a "Show in data table" button of a source asks for (set by ``assets/sources.js``)."""
CHAT_NOTICE = "chat-notice"
EXPORT_MD_BUTTON = "export-md-button"
EXPORT_JSON_BUTTON = "export-json-button"
EXPORT_HTML_BUTTON = "export-html-button"
EXPORT_DOWNLOAD = "export-download"

# ---------------------------------------------------------------- data
UPLOAD = "upload-data"
UPLOAD_GATE = "upload-gate"
"""Store: set by a browser-side size check; the server reads the upload only when it changes."""
UPLOAD_NOTICE = "upload-notice"
"""Messages from the browser-side upload check (a file over the limit is never sent)."""
UPLOAD_LIMIT = "upload-limit"
"""Store: the upload limit in bytes (the browser refuses bigger files before sending them)."""
LOAD_EXAMPLE_BUTTON = "load-example-button"
INGEST_JOB = "ingest-job"
INGEST_INTERVAL = "ingest-interval"
INGEST_PROGRESS = "ingest-progress"
CANCEL_LOAD_BUTTON = "cancel-load-button"
DATA_MESSAGE = "data-message"
DATASET_SUMMARY = "dataset-summary"
DATA_TABS = "data-tabs"
RECORDS_TABLE = "records-table"
RECORDS_NOTE = "records-note"
PROFILE_TABLE = "profile-table"
CHARTS = "charts"
RECORD_PANEL = "record-panel"
SHOW_ALL_RECORDS_BUTTON = "show-all-records-button"
SPEC_REQUEST = "spec-request"
"""Store: what a button of a computed answer asks for ("Show these N records", "Open as chart"): its action, its
spec and its dataset's hash (set by ``assets/sources.js``; the server validates the spec again)."""
RECORDS_SELECTION = "records-selection"
"""Store: the record ids an answer's spec selects (``dashboard.spec_filter``); the grid keeps only their rows."""
SELECTION_CHIP = "selection-chip"
"""Above the records grid: the selection in words, with a ✕ that clears it (hidden without one)."""
SELECTION_TEXT = "selection-text"
SELECTION_CLEAR_BUTTON = "selection-clear-button"
SHARE_DATASET = "share-dataset"
"""Checklist: the tab's dataset shared with everyone (only whoever loaded the file may tick it)."""
SHARE_DATASET_ROW = "share-dataset-row"
START_DATASET_REQUEST = "start-dataset-request"
"""Store: set once per page load when the tab keeps no dataset of its own; the server then gives it the visitor's
most recent one (``/_dash-layout`` carries nobody's dataset when visitors are isolated)."""

# ---------------------------------------------------------------- model
BACKEND_SELECT = "backend-select"
MODEL_SELECT = "model-select"
BASE_URL_INPUT = "base-url-input"
REFRESH_MODELS_BUTTON = "refresh-models-button"
BACKEND_STATUS = "backend-status"
SERVER_SELECT = "server-select"
"""The configured server and the ``llm.servers`` entries, by name."""
API_KEY_INPUT = "api-key-input"
"""A key typed for this tab's OpenAI-compatible server (kept in the tab's session store only)."""
API_KEY_FIELD = "api-key-field"
LLM_CHOICE = "llm-choice"
"""Store (session): the tab's own choice of backend, server, model and key (None: the configured settings)."""

# ---------------------------------------------------------------- language (dashboard/i18n.py)
LANGUAGE_SWITCH = "language-switch"
"""The page header's choice of language, kept per browser in the ``lang`` cookie."""
LANGUAGE = "language"
"""Store: the language the page was served in."""

# ---------------------------------------------------------------- repeated widgets
ANSWER_PART_TYPE = "answer-part"
TURN_SLOT_TYPE = "turn-slot"


def answer_part(turn_id: str, part: str) -> dict[str, Any]:
    """Id of one part of a turn's answer (``block``, ``status``, ``notice``, ``text``, ``error``, ``footer``)."""
    return {"type": ANSWER_PART_TYPE, "turn": turn_id, "part": part}


def turn_slot(index: int) -> dict[str, Any]:
    """Id of the place where the turn number ``index`` (from 0) of the conversation goes."""
    return {"type": TURN_SLOT_TYPE, "index": index}
