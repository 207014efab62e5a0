"""Fixtures shared by the claim tests: model applicability and the cached measurements."""
from __future__ import annotations

import pytest

from fixtures.models import WeightsUnavailable, load_config
from suite import errors

def _attention_info_or_skip(spec):
    from probes.capture import attn_info

    try:
        config = load_config(spec)
    except WeightsUnavailable as exc:
        pytest.skip(str(exc))
    try:
        return attn_info(config, spec.label)
    except errors.UsageError as exc:
        pytest.skip(f"not applicable: {spec.label} is not a softmax-attention transformer this probe supports ({exc})")


@pytest.fixture(scope="session")
def attention_model(model_spec):
    """The spec, if it is a softmax-attention transformer; otherwise the test is not applicable."""
    info = _attention_info_or_skip(model_spec)
    return model_spec, info


def _measure(spec, options, variant):
    from fixtures.measure import measure

    try:
        return measure(spec, options, variant)
    except WeightsUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def real_measurement(attention_model, options):
    return _measure(attention_model[0], options, "real")


@pytest.fixture(scope="session")
def shuffled_measurement(attention_model, options):
    return _measure(attention_model[0], options, "shuffled")
