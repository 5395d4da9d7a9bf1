"""The analyzer's refusal, importable without PyTorch (the service's modules and the command
line import it at start-up; the model stack loads only when something is analysed)."""
from __future__ import annotations


class AnalyzeError(ValueError):
    """Input the analyzer cannot answer, with a stable code for the API."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
