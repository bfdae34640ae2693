"""The edge's text rule is the domain's (`domain/text.py`): one rule wherever text enters,
the HTTP edge, the CLI or a catalog file."""

from domain.text import first_text_problem, single_line, text_problem

__all__ = ["first_text_problem", "single_line", "text_problem"]
