"""The one base class for errors whose message says everything a user needs to know.

A ``CodeformerError`` names the file (or option) and the cause in one line; the command line prints it as
``error: <message>`` without a traceback. Any other exception is a bug and keeps its traceback.
"""
from __future__ import annotations


class CodeformerError(Exception):
    """An error with a complete one-line message (file or option, and the cause)."""
