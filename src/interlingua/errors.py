"""Errors a user can fix: the CLI prints their message on one line and exits with code 2."""


class InterlinguaError(Exception):
    """Base class of every error caused by the user's input or configuration."""


class DataError(InterlinguaError):
    """A problem in an input file, located by path and (1-based) line number when known."""

    def __init__(self, path: object, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple:
        # Rebuilt from its fields, not from the message: a Ray worker's error reaches the driver pickled.
        return type(self), (self.path, self.problem, self.line)


class ConfigError(InterlinguaError):
    """An invalid option, config key, recipe name or model path."""


class StorageError(InterlinguaError):
    """A file the toolkit writes could not be written (disk full, quota exceeded, no permission)."""


class NonFiniteLossError(InterlinguaError):
    """Training produced a NaN or infinite loss; the offending batch is saved for inspection."""
