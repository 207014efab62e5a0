"""The claims: the registry (``claims/registry/*.toml``), one check module per family, and the
generated audit (``claims/test_audit.py``). Each module listed here follows ``suite.family``."""

FAMILIES = (
    "claims.checks_identity",
    "claims.checks_tf",
    "claims.checks_massive",
    "claims.checks_book",
    "claims.checks_recurrent",
    "claims.checks_zoo",
    "claims.checks_graph",
)
