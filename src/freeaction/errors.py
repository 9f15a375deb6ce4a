"""User-facing errors. The CLI prints their message (no traceback) and exits with status 2.

Every message names the file, field or argument at fault, so a user can fix the input.
"""


class FreeActionError(Exception):
    """Base class: bad input that the user can fix."""


class CheckpointError(FreeActionError):
    """A checkpoint is missing, corrupt, unsafe to load, or does not match the request."""


class DataError(FreeActionError):
    """A dataset file is missing, corrupt, malformed, or escapes its dataset root."""


class InputError(FreeActionError):
    """An argument or input file (image, actions) is invalid."""


class MethodError(InputError, ValueError):
    """A sampling method's option is unknown, of the wrong type or out of range."""


class SamplingError(FreeActionError):
    """Sampling produced NaN or Inf values (the inputs or weights drive the model out of range)."""
