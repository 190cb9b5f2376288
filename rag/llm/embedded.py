"""A GGUF model run in-process by llama.cpp (``llama_cpp.Llama``): no server needed.

The model is loaded once, on first use. One ``Llama`` cannot run two generations at once, so
generations take turns (a lock); cancelling stops between two tokens and closes llama.cpp's
generator. Token counts come from the model's own tokenizer.
"""

from __future__ import annotations


import threading
from pathlib import Path
from typing import Any, Iterator

from rag.errors import ConfigError, LLMError
from rag.i18n import N_
from rag.llm.base import DebugHook, GenerationOptions, GenerationReport, LLMClient, Messages, context_warning
from rag.llm.cancel import CancelToken
from rag.llm.types import BackendStatus, Chunk
from rag.model_files import SMOLLM2_LABEL, default_gguf_path
from rag.settings import LLMSettings

DEFAULT_N_CTX = 4096
GGUF_MAGIC = b"GGUF"
"""Context window when ``llm.num_ctx`` is unset (SmolLM2 was trained on 8192)."""
_LOCK_POLL_SECONDS = 0.1
_COULD_NOT_ANSWER = N_("the embedded model could not answer: {reason}")
_CONTEXT_HINT = "raise llm.num_ctx or retrieve fewer records (retrieval.top_k)"
RECORD_TOKENS = 200
"""Tokens of records in one prompt: this model reads about 100 prompt tokens a second per core, and
what comes before the records (instructions, dataset summary) is reused from its cache."""
STATE_CACHE_BYTES = 256 * 1024 * 1024
"""Model states kept after each answer (llama-cpp-python's ``LlamaRAMCache``): a question reuses the
longest matching prefix of any recent prompt, also after a prompt of another kind (a computed answer,
the planner) came in between."""


class EmbeddedClient(LLMClient):
    """Streams chat answers from a GGUF model loaded in this process."""

    backend = "embedded"
    continues_replies = True  # the prompt is built here, so a started reply is continued exactly
    prompt_record_tokens = RECORD_TOKENS

    def __init__(self, settings: LLMSettings, *, debug_hook: DebugHook | None = None) -> None:
        super().__init__(settings, debug_hook=debug_hook)
        self._llama: Any = None
        self._load_lock = threading.Lock()
        self._generation_lock = threading.Lock()
        self._formatter: Any = None

    @property
    def model(self) -> str:
        """A label: ``llm.model``, else the file name, else SmolLM2's label."""
        if self.settings.model:
            return self.settings.model
        if self.settings.model_path:
            return Path(self.settings.model_path).name
        return SMOLLM2_LABEL

    @property
    def n_ctx(self) -> int:
        """The context window the model is loaded with."""
        return self.settings.num_ctx or DEFAULT_N_CTX

    def model_path(self) -> Path:
        """The GGUF file: ``llm.model_path``, else the bundled SmolLM2; raises ``ConfigError`` when absent."""
        if self.settings.model_path:
            return Path(self.settings.model_path).expanduser()
        return default_gguf_path()

    def list_models(self) -> list[str]:
        return [self.model]

    def context_window(self) -> int | None:
        return self.n_ctx

    def check(self) -> BackendStatus:
        """Whether the model file is there and is a GGUF file; never blocks on loading it.

        When it looks right, the model starts loading in a background thread, so that the first
        question does not pay for it.
        """
        if self._llama is not None:
            return BackendStatus(True, f"{self.model} is loaded in-process from {self.model_path()}", [self.model])
        try:
            path = self.model_path()
            with open(path, "rb") as handle:
                magic = handle.read(4)
        except ConfigError as exc:
            return BackendStatus(False, str(exc), [])
        except OSError as exc:
            return BackendStatus(False, f"the model file cannot be read: {exc}", [])
        if magic != GGUF_MAGIC:
            return BackendStatus(False, f"{path} is not a GGUF model file", [])
        threading.Thread(target=self._load_quietly, name="embedded-model-load", daemon=True).start()
        return BackendStatus(True, f"{self.model} runs in-process from {path} (no server needed)", [self.model])

    def _load_quietly(self) -> None:
        try:
            self._load()
        except (LLMError, ConfigError):
            pass  # the same error reaches the user with the first question

    def _extra_options(self) -> tuple[str, ...]:
        return ()

    def _load(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                try:
                    path = self.model_path()
                except ConfigError as exc:
                    raise LLMError(exc.template, **exc.values) from exc
                if not path.is_file():
                    raise LLMError(
                        N_("the model file {path} does not exist; set llm.model_path to a GGUF file"), path=path
                    )
                from llama_cpp import Llama, LlamaRAMCache  # imported here: slow to import, only needed here

                try:
                    # llama.cpp's default of half the cores: with every core, its spinning threads
                    # slow down by two orders of magnitude as soon as another process wants a core.
                    llama = Llama(model_path=str(path), n_ctx=self.n_ctx, verbose=False)
                except Exception as exc:  # llama.cpp reports a bad file as a bare ValueError/RuntimeError
                    raise LLMError(N_("could not load the model file {path}: {reason}"), path=path, reason=exc) from exc
                llama.set_cache(LlamaRAMCache(capacity_bytes=STATE_CACHE_BYTES))
                self._llama = llama
        return self._llama

    def _stream(
        self, messages: Messages, options: GenerationOptions, report: GenerationReport, cancel: CancelToken
    ) -> Iterator[Chunk]:
        llama = self._load()
        if not self._take_turn(cancel):
            return
        try:
            report.model = self.model
            report.prompt_tokens = self._prompt_tokens_that_fit(llama, messages)
            warning = context_warning(report.prompt_tokens, self.n_ctx, _CONTEXT_HINT)
            if warning:
                report.warnings.append(warning)
            yield from self._generate(llama, messages, options, report)
        finally:
            self._generation_lock.release()

    def _complete_json(
        self, messages: Messages, schema: dict[str, Any], name: str, options: GenerationOptions, cancel: CancelToken
    ) -> str | None:
        """Streamed internally so that ``cancel`` stops it between two tokens; llama-cpp-python turns
        ``response_format.schema`` into a grammar."""
        llama = self._load()
        if not self._take_turn(cancel):
            return None
        try:
            self._prompt_tokens_that_fit(llama, messages)
            completion = self._open_stream(llama, messages, options, response_format={"type": "json_object", "schema": schema})
            parts: list[str] = []
            try:
                for part in completion:
                    if cancel.cancelled:
                        return None
                    parts.append(_part_text(part["choices"][0]))
            except ValueError as exc:
                raise LLMError(_COULD_NOT_ANSWER, reason=exc) from exc
            finally:
                completion.close()
            return "".join(parts)
        finally:
            self._generation_lock.release()

    def count_tokens(self, text: str) -> int | None:
        """The model's own count: the prompt must fit its context exactly, and text like record ids and
        dates takes more tokens than the 3-characters estimate."""
        return len(_tokenize(self._load(), text, special=False))

    def _take_turn(self, cancel: CancelToken) -> bool:
        """Wait for the model to be free; False (without the lock) when cancelled meanwhile."""
        while not self._generation_lock.acquire(timeout=_LOCK_POLL_SECONDS):
            if cancel.cancelled:  # stopped while another generation held the model
                return False
        return True

    def _prompt_tokens_that_fit(self, llama: Any, messages: Messages) -> int:
        """The prompt's token count; raises ``LLMError`` when it does not fit the context."""
        tokens = self._count_prompt_tokens(llama, messages)
        if tokens >= self.n_ctx:
            raise LLMError(
                N_(
                    "the prompt ({tokens} tokens) does not fit the embedded model's context of {context} tokens; raise"
                    " llm.num_ctx or retrieve fewer records (retrieval.top_k)"
                ),
                tokens=tokens, context=self.n_ctx,
            )
        return tokens

    def _generate(
        self, llama: Any, messages: Messages, options: GenerationOptions, report: GenerationReport
    ) -> Iterator[Chunk]:
        completion = self._open_stream(llama, messages, options)
        parts: list[str] = []
        try:
            for part in completion:
                choice = part["choices"][0]
                text = _part_text(choice)
                parts.append(text)
                yield Chunk(text=text)  # also when empty: the caller checks the cancel token between chunks
                if choice.get("finish_reason"):
                    report.finish_reason = choice["finish_reason"]
        except ValueError as exc:  # llama.cpp's "Requested tokens exceed context window"
            raise LLMError(_COULD_NOT_ANSWER, reason=exc) from exc
        finally:
            completion.close()
            report.completion_tokens = len(_tokenize(llama, "".join(parts), special=False))

    def _open_stream(
        self, llama: Any, messages: Messages, options: GenerationOptions, *, response_format: dict[str, Any] | None = None
    ) -> Any:
        """llama.cpp's stream of completion parts for ``messages``: a chat completion, or the
        continuation of the reply the last (assistant) message started."""
        sampling = {"stream": True, "temperature": options.temperature, "max_tokens": options.max_tokens, "seed": options.seed}
        started_reply = self._started_reply(llama, messages) if response_format is None else None
        if started_reply is not None:
            prompt, stop = started_reply
            return llama.create_completion(prompt=prompt, stop=stop + list(options.stop) or None, **sampling)
        if messages and messages[-1].get("role") == "assistant":  # no template to continue it with
            messages = list(messages[:-1])
        if response_format is not None:
            return llama.create_chat_completion(messages=messages, response_format=response_format, **sampling)
        return llama.create_chat_completion(messages=messages, stop=list(options.stop) or None, **sampling)

    def _started_reply(self, llama: Any, messages: Messages) -> tuple[list[int], list[str]] | None:
        """The prompt tokens that continue a reply the last (assistant) message started, and the
        template's stop strings; None when the last message is not the assistant's or the model has no
        template (as llama-cpp-python's own chat handler builds a prompt, plus the started reply)."""
        formatter = self._chat_formatter(llama) if messages and messages[-1].get("role") == "assistant" else None
        if formatter is None:
            return None
        formatted = formatter(messages=list(messages[:-1]))
        prompt = formatted.prompt + messages[-1].get("content", "")
        tokens = _tokenize(llama, prompt, special=True, add_bos=not formatted.added_special)
        stop = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        return tokens, stop

    def _count_prompt_tokens(self, llama: Any, messages: Messages) -> int:
        """Tokens of the prompt as llama.cpp builds it from the model's chat template."""
        formatter = self._chat_formatter(llama)
        if formatter is None:  # no template in the file: count the contents alone
            return len(_tokenize(llama, "\n".join(m.get("content", "") for m in messages), special=False))
        formatted = formatter(messages=messages)
        return len(_tokenize(llama, formatted.prompt, special=True, add_bos=not formatted.added_special))

    def _chat_formatter(self, llama: Any) -> Any:
        if self._formatter is None and llama.chat_format == "chat_template.default":
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            def token_text(token: int) -> str:
                return llama.detokenize([token], special=True).decode("utf-8", "replace") if token >= 0 else ""

            self._formatter = Jinja2ChatFormatter(
                template=llama.metadata["tokenizer.chat_template"],
                eos_token=token_text(llama.token_eos()),
                bos_token=token_text(llama.token_bos()),
            )
        return self._formatter


def _part_text(choice: dict[str, Any]) -> str:
    """The text of one streamed choice: a chat delta's content, or a completion's text."""
    return (choice["delta"].get("content") if "delta" in choice else choice.get("text")) or ""


def _tokenize(llama: Any, text: str, *, special: bool, add_bos: bool = False) -> list[int]:
    return llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special) if text else []
