from ler_plugin.errors import LerError


class LicenceError(LerError):
    """A licence file or edit we cannot take: the message names the field and what is wrong."""
