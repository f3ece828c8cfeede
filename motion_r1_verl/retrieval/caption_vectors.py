"""Word vectors learned from a data folder's training captions: PPMI co-occurrence + truncated SVD.

What: every word of the training captions (the word part of HumanML3D's ``word/POS`` tokens, as the official
``WordVectorizer`` looks it up) gets a ``dim``-d vector from the positive pointwise mutual information of the
words around it, factorised by SVD (Levy, Goldberg & Dagan 2015: window contexts, context-distribution
smoothing 0.75, singular values weighted by their square root). The result is a
:class:`~motion_r1_verl.retrieval.glove.WordVectors`, so the POS slots, ``unk``, ``sos``/``eos`` and the
20-token limit stay the official ones.

Why this and not an embedding table trained jointly with the judge: these vectors play GloVe's part exactly,
fixed input to the text encoder that the official evaluator never fine-tunes, so the judge is the official
architecture with only the word table swapped. GloVe itself factorises log co-occurrence counts; PPMI + SVD
is its closed-form relative: deterministic, a fraction of a second, no training hyper-parameters besides the
window. Words used in the same contexts ("walks"/"strides") get near vectors, so a paraphrase whose words
were seen in training but never with that motion still lands near.

One change to plain PPMI: every occurrence also counts its own word as a context (``SELF_CONTEXT``). Captions
are templated, so words that mean opposite things share their contexts ("raise the left/right hand"; on a toy
set "a person walks/runs" they are identical): plain PPMI gives them the same or nearly the same row, and no
text encoder can then tell them apart. The self-context puts each word's identity in its own column; with
``dim`` at least the vocabulary size (130 words on the synthetic set) the SVD keeps it (a smaller ``dim``
truncates). On the 3k synthetic set this raised the trained judge's Real-row R@1 on the held-out
compositions from 0.725 to 0.776 (test: 0.921 to 0.930).

Vocabulary: words seen at least ``min_count`` times in the training captions; rarer words are counted as
``unk`` (so ``unk`` gets a vector from real contexts); words absent from training map to ``unk`` at lookup.
``sos``/``eos`` are counted as words at each caption's ends, as the text encoder sees them. A word with no
positive association (``unk`` when no word is rare) gets the zero vector; every other row has norm
``ROW_NORM``.

    words = word_vectors_from_captions([cap.tokens for clip in train for cap in clip.captions], dim=300)
    words.token("walk/VERB")  # -> (vector, POS one-hot)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from motion_r1_verl.errors import UserError
from motion_r1_verl.retrieval.glove import SPECIAL_WORDS, WordVectors

DEFAULT_WINDOW = 4  # context words on each side (captions are ~12 tokens: most of a caption)
DEFAULT_MIN_COUNT = 2  # rarer words become unk, so unk is trained on real contexts
CONTEXT_SMOOTHING = 0.75  # context counts raised to this power (Levy et al. 2015; word2vec's negative sampling)
SELF_CONTEXT = 1.0  # each occurrence also counts its own word as a context, so identity survives (see above)
ROW_NORM = 5.0  # length of every non-zero word vector (GloVe-300 vectors are about this long)


def _word(token: str) -> str:
    return token.partition("/")[0]


def word_vectors_from_captions(
    captions: Iterable[Sequence[str]],
    dim: int,
    window: int = DEFAULT_WINDOW,
    min_count: int = DEFAULT_MIN_COUNT,
) -> WordVectors:
    """``word/POS`` token sequences (the TRAINING captions only) -> word vectors (V, dim), see module docstring."""
    if dim < 1 or window < 1 or min_count < 1:
        raise ValueError(f"need dim, window and min_count >= 1, got {dim}, {window}, {min_count}")
    sentences = [[_word(t) for t in tokens] for tokens in captions]
    if not any(sentences):
        raise UserError("no caption tokens to learn word vectors from (are the texts/*.txt token fields empty?)")
    counts = Counter(w for s in sentences for w in s if w not in SPECIAL_WORDS)
    kept = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    vocab = [*SPECIAL_WORDS, *kept]
    row = {w: i for i, w in enumerate(vocab)}
    unk = row["unk"]

    cooc = np.zeros((len(vocab), len(vocab)), np.float64)
    for sentence in sentences:
        ids = [row["sos"], *(row.get(w, unk) for w in sentence), row["eos"]]
        for i, a in enumerate(ids):
            cooc[a, a] += SELF_CONTEXT
            for b in ids[i + 1 : i + 1 + window]:
                cooc[a, b] += 1.0
                cooc[b, a] += 1.0

    word_total = cooc.sum(axis=1)
    context = cooc.sum(axis=0) ** CONTEXT_SMOOTHING
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(cooc * context.sum() / (word_total[:, None] * context[None, :]))
    ppmi = np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0)

    u, s, _ = np.linalg.svd(ppmi)
    k = min(dim, len(vocab))
    u = u[:, :k] * np.sign(u[np.abs(u[:, :k]).argmax(axis=0), np.arange(k)])  # fix SVD's sign per column
    vectors = np.zeros((len(vocab), dim), np.float64)
    vectors[:, :k] = u * np.sqrt(s[:k])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.where(norms > 1e-9, ROW_NORM * vectors / np.maximum(norms, 1e-9), 0.0)
    return WordVectors(vectors.astype(np.float32), row)
