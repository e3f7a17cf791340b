"""Errors a user can act on: one line saying what is wrong, and a hint saying what to do."""

from __future__ import annotations


class GenartError(Exception):
    """An error with a one-line message and a hint; the CLI prints both and exits 2."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class DataError(GenartError):
    """The training data cannot be used."""


class ConfigError(GenartError):
    """An option or a combination of options is invalid."""


class RunError(GenartError):
    """A run directory is missing, broken or does not match the request."""


class TrainingDiverged(GenartError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""
