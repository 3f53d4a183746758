"""verifier-core's fixtures, shared with the wallet export's test of it."""

from tests.pages.test_ob3_external_verifier import node_verifier, registry  # noqa: F401
