"""The claims: the registry (``claims/registry/*.toml``), one ``checks_*`` module per family (each
registers its measurements and checks, ``suite.family``), and the generated audit
(``claims/test_audit.py``)."""
