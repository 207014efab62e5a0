"""Input protocol (CLAIMS.md §4): windows are tokenised as the model's tokenizer does by
default (BOS + T−1 text tokens where it prepends a BOS), the shuffle null keeps the BOS in
place, and the unigram baseline of the functioning-model premise has an independent oracle."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given
from hypothesis import strategies as st

from fixtures.data import resolve_bos, shuffle_tokens, tokenizer_adds_bos, unigram_nll, wikitext_sequences
from suite import errors
from suite.options import RunOptions, resolve_data_dir
from suite.provenance import bos_words
from tests.synthetic import byte_tokenizer

DATA = resolve_data_dir(None)
needs_data = pytest.mark.skipif(DATA is None, reason="WikiText-103 validation not beside the checkout (../shared/data)")


@pytest.fixture(scope="module")
def toks():
    return {"plain": byte_tokenizer(None), "bos": byte_tokenizer(None, adds_bos=True)}


def test_bos_detection(toks):
    assert not tokenizer_adds_bos(toks["plain"]) and tokenizer_adds_bos(toks["bos"])
    assert resolve_bos(toks["bos"], "auto") == 256 and resolve_bos(toks["bos"], "never") is None
    assert resolve_bos(toks["plain"], "auto") is None


def test_bos_always_without_a_bos_token_is_a_one_line_error(toks):
    with pytest.raises(errors.UsageError, match="has no BOS token; use --bos auto"):
        resolve_bos(toks["plain"], "always", "m")
    with pytest.raises(errors.UsageError, match="--bos"):
        resolve_bos(toks["plain"], "sometimes", "m")


@needs_data
@pytest.mark.parametrize("mode, first", [("auto", 256), ("always", 256), ("never", None)])
def test_windows_follow_the_tokenizer(toks, mode, first):
    opts = RunOptions(n_seqs=6, seq_len=32, data_dir=DATA, bos=mode)
    d = wikitext_sequences(opts, toks["bos"], "m")
    assert d.input_ids.shape == (6, 32)
    if first is None:
        assert (d.input_ids != 256).all() and d.bos_id is None and d.provenance()["bos_id"] is None
    else:
        assert (d.input_ids[:, 0] == first).all() and (d.input_ids[:, 1:] != first).all()
        assert d.provenance()["bos_id"] == 256 and bos_words(256, 32) == "BOS id 256 + 31 text tokens"
    plain = wikitext_sequences(RunOptions(n_seqs=6, seq_len=32, data_dir=DATA), toks["plain"], "m")
    assert plain.bos_id is None and (plain.input_ids != 256).all()


@given(seed=st.integers(0, 2 ** 16), keep=st.booleans())
def test_shuffle_keeps_the_bag_and_the_bos(seed, keep):
    ids = torch.arange(40).view(4, 10)
    out = shuffle_tokens(ids, seed, keep_first=keep)
    assert torch.equal(out.sort(1).values, ids.sort(1).values)  # same bag per sequence
    if keep:
        assert torch.equal(out[:, 0], ids[:, 0])


@given(st.lists(st.integers(0, 30), min_size=4, max_size=60), st.lists(st.integers(0, 30), max_size=200))
def test_unigram_nll_is_the_cross_entropy_under_the_split_frequencies(tokens, rest):
    """Oracle: scipy's entropy of the targets' own distribution plus its KL divergence from the
    split's frequencies is the cross-entropy (H(p, q) = H(p) + KL(p‖q))."""
    ids = torch.tensor([[99] + tokens])  # position 0 is never a target
    stream = np.array(tokens + rest)
    vocab = 31
    p = np.bincount(tokens, minlength=vocab) / len(tokens)
    q = np.bincount(stream, minlength=vocab) / len(stream)
    want = scipy.stats.entropy(p) + scipy.stats.entropy(p, q)
    assert unigram_nll(ids, stream) == pytest.approx(want, abs=1e-9)


def test_unigram_nll_refuses_targets_absent_from_the_split():
    with pytest.raises(ValueError, match="not in the split"):
        unigram_nll(torch.tensor([[0, 5, 6]]), np.array([5, 5, 1]))


@needs_data
def test_windows_carry_their_unigram_baseline(toks):
    d = wikitext_sequences(RunOptions(n_seqs=6, seq_len=32, data_dir=DATA, bos="auto"), toks["bos"], "m")
    assert 0 < d.unigram_nll < np.log(256) + 1e-9  # byte tokens: at most log of the alphabet
