"""GR-1 audit (paper §5.1, Table 6): GAT vs a depth/width-matched GCN trained from scratch on the
three WebKB graphs, 10 splits × seeds_per_split seeds each (recipe in claims/registry/graph.toml;
trained runs cached on disk under fixtures.models.cache_root(), keyed by a hash of the recipe)."""
from __future__ import annotations

import pytest

from claims.checks_graph import check_gr1
from fixtures.graphs import GraphRecipe, graph_label, measure_arms
from suite.registry import registry
from suite.outcome import conclude

GRAPH_NAMES = registry()["GR-1"].param("graphs")


@pytest.mark.graph
@pytest.mark.claim("GR-1")
@pytest.mark.parametrize("graph", GRAPH_NAMES, ids=[graph_label(g) for g in GRAPH_NAMES])
def test_gr1_gat_collapses_more_than_gcn(graph, options, claim, record_claim):
    c = claim("GR-1")
    recipe = GraphRecipe.from_params(c.params)
    att, ctl = c.param("arms")
    m = measure_arms(options.graph_root, graph, (att, ctl), recipe, seed=options.seed, retrain=options.retrain)
    result = record_claim(check_gr1(c, m[att], m[ctl]))
    conclude(result)
