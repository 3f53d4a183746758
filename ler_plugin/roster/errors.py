from ler_plugin.errors import LerError


class RosterError(LerError):
    """A roster that cannot be read at all (no manifest, not a zip, the server refused us)."""
