from ler_plugin.errors import LerError


class ProviderError(LerError):
    """Codes: `provider_exists`, `provider_not_found`, `bad_issuer`, `bad_name`,
    `bad_credit_unit`, `invalid_client`, `provider_revoked`, `issuer_not_allowed`."""
