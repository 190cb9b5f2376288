"""The conversation of a tab as a Markdown, JSON or HTML document.

Each answer goes out with its question, status, error, sources, model, settings, dataset name and
hash, and timings. The HTML export escapes every piece of text: nothing from the data or the model
can become markup in the exported file.

An answer whose grounding check (``meta["grounding"]``) marks values goes out with them marked as on the page:
the JSON export carries the check's dict, the Markdown export puts each marked value in bold followed by its
reason (``rag.grounding.marked_markdown``) and the check's notice as a quote line, the HTML export puts each in
a ``<mark>`` (``rag.grounding.marked_html``) with the notice under the answer.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from dashboard.chat_view import answer_grounding, metrics_line
from dashboard.i18n import _, current_language, format_number
from rag.analytics.answer import computed_table
from rag.answer_meta import AnswerMeta, ComputedResult
from rag.grounding import marked_html, marked_markdown

EXPORT_FORMAT_VERSION = 1
FORMATS = ("md", "json", "html")
MEDIA_TYPES = {"md": "text/markdown", "json": "application/json", "html": "text/html"}


def conversation_document(turns: Sequence[Mapping[str, Any]], *, exported_at: datetime | None = None) -> dict[str, Any]:
    """The conversation as one JSON-safe dict (the JSON export, and the source of the other two)."""
    when = (exported_at or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    exported = []
    for number, turn in enumerate(turns, start=1):
        meta = AnswerMeta.from_dict(turn.get("meta"))
        exported.append(
            {
                "number": number,
                "asked_at": turn.get("asked_at"),
                "question": turn.get("question", ""),
                "answer": turn.get("answer", ""),
                "status": turn.get("status"),
                "error": turn.get("error"),
                "cached": bool(meta.cached),
                "model": (turn.get("metrics") or {}).get("model") or meta.model,
                "backend": meta.backend,
                "dataset": {"name": meta.dataset_name, "content_hash": meta.dataset_hash},
                "settings": meta.settings or {},
                "notes": list(meta.notes or []),
                "metrics": dict(turn.get("metrics") or {}),
                "sources": [dict(s) for s in turn.get("sources") or []],
                "computed": turn_computed(turn),
                "grounding": dict(meta.grounding) if isinstance(meta.grounding, Mapping) else None,
            }
        )
    return {
        "format": "json-rag-chat conversation",
        "version": EXPORT_FORMAT_VERSION,
        "exported_at": when,
        "turns": exported,
    }


def to_json(turns: Sequence[Mapping[str, Any]], *, exported_at: datetime | None = None) -> str:
    """The conversation as pretty-printed JSON."""
    return json.dumps(conversation_document(turns, exported_at=exported_at), indent=2, ensure_ascii=False) + "\n"


def to_markdown(turns: Sequence[Mapping[str, Any]], *, exported_at: datetime | None = None) -> str:
    """The conversation as a Markdown document."""
    document = conversation_document(turns, exported_at=exported_at)
    heading = headings()
    lines = ["# " + heading["conversation"], "", _("Exported {when}.").format(when=document["exported_at"]), ""]
    for turn in document["turns"]:
        lines += [f"## {turn['number']}. {_one_line(turn['question'])}", ""]
        lines += [f"**{heading['question']}**", "", _quote(turn["question"]), "", f"**{heading['answer']}**", ""]
        if turn["computed"]:
            lines += _computed_markdown(turn["computed"])
        grounding = answer_grounding(turn["answer"] or "", {"grounding": turn["grounding"]})
        if grounding is None:
            lines += [turn["answer"] or f"_{heading['no_answer']}_", ""]
        else:
            lines += [marked_markdown(turn["answer"], grounding), "", f"> ⚠ {_markdown_text(grounding.notice)}", ""]
        if turn["status"] not in (None, "done"):
            lines += ["_" + _("Status: {status}").format(status=turn["status"]) + "_", ""]
        if turn["error"]:
            lines += [f"**{heading['error']}** {turn['error']}", ""]
        if turn["sources"]:
            lines += [f"**{heading['sources']}**", ""]
            for source in turn["sources"]:
                lines.append(f"- [{source.get('label', '')}] `{source.get('record_id', '')}`{_score(source)}")
                excerpt = _one_line(source.get("text") or "", 300)
                if excerpt:
                    lines.append(f"  {excerpt}")
            lines.append("")
        lines += [f"**{heading['details']}**", ""]
        lines += [f"- {label}: {value}" for label, value in _details(turn)]
        lines.append("")
    return "\n".join(lines)


def to_html(turns: Sequence[Mapping[str, Any]], *, exported_at: datetime | None = None) -> str:
    """The conversation as a standalone HTML page; all text is escaped."""
    document = conversation_document(turns, exported_at=exported_at)
    e = html.escape
    heading = {key: e(text) for key, text in headings().items()}
    exported = e(_("Exported {when}.").format(when=document["exported_at"]))
    body = [f"<h1>{heading['conversation']}</h1>", f'<p class="exported">{exported}</p>']
    for turn in document["turns"]:
        body.append('<section class="turn">')
        body.append(f"<h2>{turn['number']}. {e(_one_line(turn['question']))}</h2>")
        body.append(f'<h3>{heading["question"]}</h3><div class="text">{e(turn["question"])}</div>')
        if turn["computed"]:
            body.append(_computed_html(turn["computed"]))
        grounding = answer_grounding(turn["answer"] or "", {"grounding": turn["grounding"]})
        if grounding is None:
            text = e(turn["answer"]) if turn["answer"] else heading["no_answer"]
            body.append(f'<h3>{heading["answer"]}</h3><div class="text">{text}</div>')
        else:  # marked_html escapes every piece of the text
            body.append(f'<h3>{heading["answer"]}</h3><div class="text">{marked_html(turn["answer"], grounding)}</div>')
            body.append(f'<p class="grounding-notice">⚠ {e(grounding.notice)}</p>')
        if turn["status"] not in (None, "done"):
            status = e(_("Status: {status}").format(status=turn["status"]))
            body.append(f'<p class="status">{status}</p>')
        if turn["error"]:
            body.append(f'<p class="error"><strong>{heading["error"]}</strong> {e(str(turn["error"]))}</p>')
        if turn["sources"]:
            body.append(f'<h3>{heading["sources"]}</h3><ul class="sources">')
            for source in turn["sources"]:
                body.append(
                    f"<li><code>[{e(str(source.get('label', '')))}] {e(str(source.get('record_id', '')))}</code>"
                    f"{e(_score(source))}<pre>{e(str(source.get('text') or ''))}</pre></li>"
                )
            body.append("</ul>")
        body.append(f"<h3>{heading['details']}</h3><dl>")
        for label, value in _details(turn):
            body.append(f"<dt>{e(label)}</dt><dd>{e(value)}</dd>")
        body.append("</dl></section>")
    return _HTML_PAGE.format(lang=current_language(), title=heading["conversation"], body="\n".join(body))


def headings() -> dict[str, str]:
    """The headings and labels of an export, in the current language (the page's)."""
    return {
        "conversation": _("Conversation"),
        "question": _("Question"),
        "answer": _("Answer"),
        "no_answer": _("(no answer text)"),
        "error": _("Error:"),
        "sources": _("Sources"),
        "details": _("Details"),
    }


def export_filename(fmt: str, *, now: datetime | None = None) -> str:
    """``conversation-20240601-120000.md`` and so on."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (expected one of {', '.join(FORMATS)})")
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    return f"conversation-{stamp}.{fmt}"


def export_conversation(turns: Sequence[Mapping[str, Any]], fmt: str, *, now: datetime | None = None) -> dict[str, Any]:
    """What ``dcc.Download`` needs: ``{"content", "filename", "type"}``."""
    render = {"md": to_markdown, "json": to_json, "html": to_html}
    filename = export_filename(fmt, now=now)
    return {"content": render[fmt](turns, exported_at=now), "filename": filename, "type": MEDIA_TYPES[fmt]}


def turn_computed(turn: Mapping[str, Any]) -> dict[str, Any] | None:
    """The part of a turn's answer computed over all records, if any."""
    computed = turn.get("computed")
    if computed:
        return dict(computed) if isinstance(computed, Mapping) else None
    kept = AnswerMeta.from_dict(turn.get("meta")).computed  # an answer whose turn keeps it in its metadata only
    return kept.to_dict() if kept is not None else None


def _computed_markdown(computed: Mapping[str, Any]) -> list[str]:
    result = ComputedResult.from_dict(computed)
    title = _("Computed over all {count} records").format(count=_count(result.rows_considered))
    planner = _("{planner} planner").format(planner=result.planner)
    lines = [f"**{title}** ({planner})", ""]
    lines += [str(result.summary), ""]
    for assumption in result.assumptions or []:
        lines.append("- " + _("Assumption: {text}").format(text=assumption))
    columns, rows = computed_table(computed)
    if columns and len(rows) > 1:
        lines += ["", "| " + " | ".join(_cell(c) for c in columns) + " |", "|" + " --- |" * len(columns)]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    lines += ["", "```sql", str(result.sql), "```", ""]
    return lines


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _computed_html(computed: Mapping[str, Any]) -> str:
    e = html.escape
    result = ComputedResult.from_dict(computed)
    title = _("Computed over all {count} records").format(count=_count(result.rows_considered))
    assumption = _("Assumption: {text}")
    planner = _("Planner: {planner}").format(planner=result.planner or "")
    parts = [
        f'<h3>{e(title)}</h3>',
        f'<p class="computed">{e(str(result.summary))}</p>',
    ]
    assumptions = result.assumptions or []
    if assumptions:
        items = "".join(f"<li>{e(assumption.format(text=a))}</li>" for a in assumptions)
        parts.append(f"<ul>{items}</ul>")
    columns, rows = computed_table(computed)
    if columns and len(rows) > 1:
        head = "".join(f"<th>{e(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append(f'<pre class="sql">{e(str(result.sql))}</pre>')
    parts.append(f'<p class="planner">{e(planner)}</p>')
    return "".join(parts)


def _details(turn: Mapping[str, Any]) -> list[tuple[str, str]]:
    dataset = turn["dataset"]
    details = [
        (_("Model"), str(turn["model"] or _("unknown"))),
        (_("Backend"), str(turn["backend"] or _("unknown"))),
        (_("Dataset"), _("{name} (sha256 {hash})").format(name=dataset["name"] or _("none"),
                                                          hash=dataset["content_hash"] or _("unknown"))),
        (_("Settings"), ", ".join(f"{k}={v}" for k, v in sorted(turn["settings"].items())) or _("unknown")),
        (_("Timings"), metrics_line(turn["metrics"], {}) or _("not measured")),
        (_("Cached"), _("yes") if turn["cached"] else _("no")),
    ]
    if turn["asked_at"]:
        details.insert(0, (_("Asked at"), str(turn["asked_at"])))
    if turn["notes"]:
        details.append((_("Notes"), "; ".join(str(n) for n in turn["notes"])))
    return details


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|~<>])")


def _markdown_text(text: str) -> str:
    """``text`` shown as written in Markdown (no emphasis, link, code or raw HTML made of it)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _one_line(text: str, limit: int = 120) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in str(text).splitlines() or [""])


def _score(source: Mapping[str, Any]) -> str:
    score = source.get("score")
    if not isinstance(score, (int, float)):
        return ""
    return " (" + _("score {score}").format(score=format_number(score, "0.000")) + ")"


def _count(value: Any) -> str:
    """A count of records written the current language's way (anything else as it is)."""
    return format_number(value) if isinstance(value, int) and not isinstance(value, bool) else str(value)


_HTML_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1f2933; }}
.turn {{ border-top: 1px solid #d9dee5; padding-top: 1rem; margin-top: 1.5rem; }}
.text {{ white-space: pre-wrap; background: #f6f8fa; border-radius: 6px; padding: .6rem .8rem; }}
pre {{ white-space: pre-wrap; font-size: .85em; color: #52606d; }}
.error {{ color: #b42318; }}
dt {{ font-weight: 600; }} dd {{ margin: 0 0 .4rem 0; }}
table {{ border-collapse: collapse; margin: .5rem 0; }} th, td {{ border: 1px solid #d9dee5; padding: .2rem .5rem; }}
.computed {{ font-weight: 600; }}
mark.ungrounded {{ background: #fde7c4; color: inherit; border-bottom: 2px solid #d97706; }}
.ungrounded-note {{ font-size: .8em; color: #8a5a12; }}
.grounding-notice {{ color: #8a5a12; background: #fdf5e6; border-radius: 6px; padding: .3rem .8rem; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
