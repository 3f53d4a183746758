from ler_plugin.errors import LerError


class IssuingError(LerError):
    """The district cannot sign now (its issuer key is unreadable, nothing to sign)."""
