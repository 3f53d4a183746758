from ler_plugin.errors import LerError


class WalletError(LerError):
    pass
