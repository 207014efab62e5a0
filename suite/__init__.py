"""The harness: claim registry, comparator, result schema, report writing, provenance.

Probes (``probes/``) are pure tensor functions; fixtures (``fixtures/``) load models and
data; claim tests (``claims/``) combine them and compare with the registry through this
package.
"""
