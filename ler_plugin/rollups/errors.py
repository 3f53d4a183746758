from ler_plugin.errors import LerError


class RollupError(LerError):
    pass
