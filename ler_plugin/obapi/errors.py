from ler_plugin.errors import LerError


class ObApiError(LerError):
    pass
