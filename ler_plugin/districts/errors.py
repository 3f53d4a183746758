from ler_plugin.errors import LerError


class DistrictError(LerError):
    pass
