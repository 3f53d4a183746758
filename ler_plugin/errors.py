"""The error every domain raises: a stable machine code plus a message a person can act on.

Each domain subclasses `LerError` in its own `errors.py` (``BadgeError``, ``LtiError``, ...)
so callers can catch one room's failures; the code is what clients and tests match on,
the message is what a person reads. Neither ever carries a stack trace or a secret.
"""


class LerError(Exception):
    """A failure we expected and can explain: bad input, not allowed, not found."""

    code: str = "error"
    status: int = 400

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFound(LerError):
    status = 404


class Forbidden(LerError):
    status = 403
