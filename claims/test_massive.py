"""MA family on every softmax-attention model under test (book ch. 18 §18.2–18.3, seed 002; ch. 40 §40.3–40.4,
seed 000): massive activations at the sink token (MA-1), their onset before the sink's (MA-2), the clamp
intervention against a matched null clamp (MA-3), and the compression valley (MA-4).

One residual-stream pass (MA-1/2/4) and one pass per clamp plan (MA-3), each cached on disk
(:mod:`fixtures.residual`); the sink mass by layer comes from the audit's real pass."""
from __future__ import annotations

import pytest

from claims import checks_massive
from suite.outcome import conclude


@pytest.fixture(scope="session")
def residual_stats(attention_model, options, claims):
    from fixtures.models import WeightsUnavailable
    from fixtures.residual import residual_stats as stats

    try:
        return stats(attention_model[0], options, int(claims["MA-1"].param("top_k")))
    except WeightsUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def sink_in(real_measurement):
    return checks_massive.sink_input(real_measurement)


@pytest.mark.claim("MA-1")
def test_ma1_massive_activations_at_the_sink_token(claim, residual_stats, sink_in, attention_model, record_claim):
    result = record_claim(checks_massive.check_ma1(claim("MA-1"), residual_stats, sink_in, attention_model[0].label))
    conclude(result)


@pytest.mark.claim("MA-2")
def test_ma2_massive_activations_before_the_sink(claim, residual_stats, sink_in, attention_model, record_claim):
    result = record_claim(checks_massive.check_ma2(claim("MA-2"), residual_stats, sink_in, attention_model[0].label))
    conclude(result)


@pytest.mark.claim("MA-3")
def test_ma3_clamping_massive_coordinates_removes_the_sink(claim, residual_stats, sink_in, real_measurement,
                                                           attention_model, options, record_claim):
    from fixtures.residual import clamp_measurement

    spec = attention_model[0]
    c = claim("MA-3")
    real_plan, null_plan, info = checks_massive.clamp_plans(c, residual_stats, options.seed)
    if real_plan:
        massive = clamp_measurement(spec, options, real_plan, "massive")
        null = clamp_measurement(spec, options, null_plan, "null")
    else:  # nothing to clamp: the premise massive-activations-present decides (inconclusive)
        massive = null = None
    result = record_claim(checks_massive.check_ma3(c, residual_stats, sink_in, massive, null, spec.label,
                                                   plan_info=info, base_nll=real_measurement.nll))
    conclude(result)


@pytest.mark.claim("MA-4")
def test_ma4_compression_valley_where_the_sink_is(claim, residual_stats, sink_in, attention_model, record_claim):
    result = record_claim(checks_massive.check_ma4(claim("MA-4"), residual_stats, sink_in, attention_model[0].label))
    conclude(result)
