"""``python -m rag.cli``: the terminal tool. It streams a model's answer to a prompt (``chat``), or answers a
question over a dataset file (``dataset``, with ``--data``), and reports how fast the answer came.

The answer goes to stdout as it arrives; the summary, errors and ``--debug`` events go to stderr, so
``python -m rag.cli "…" > answer.txt`` keeps only the answer.

Modules: ``arguments`` (the command line, settings, prompt), ``output`` (exit codes, the metrics line, the
``--debug`` printer), ``chat``, ``dataset``, and ``__main__`` (``main``). Nothing is imported here, so that
``python -m rag.cli`` starts fast.
"""
