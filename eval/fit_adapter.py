"""Fit the query adapter (index/query_adapter.py) on the shared benchmarks' questions.

Each question's vector is pulled towards its relevant articles' chunks and sentences, against every
other chunk and sentence of its corpus (a softmax over the whole corpus, so every passage is a
negative). Folds group questions by relevant article: a question's article is never a target of
the adapter that is measured on it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

# Measured in the twenty-second session (docs/retrieval.md, grouped 5-fold figures): a full 384 × 384
# map, shrunk towards the identity by weight decay, beat rank 32, a softer temperature (0.05) and 40
# epochs without decay on the mean over the three benchmarks.
RECIPE = {"epochs": 60, "lr": 1e-3, "weight_decay": 1e-2, "temperature": 0.02, "seed": 0}


@dataclass
class AdapterSet:
    """One corpus's questions and passages as the adapter trains on them."""

    questions: np.ndarray  # the model's query vectors, one row per question
    chunks: np.ndarray  # every chunk vector of the corpus
    sentences: np.ndarray  # every sentence vector (index/sentences.py)
    chunk_article: np.ndarray  # article number of each chunk
    sentence_article: np.ndarray  # article number of each sentence
    relevant: np.ndarray  # questions × articles, True where the article answers the question


def adapter_set(index, questions) -> AdapterSet:
    """Vectors of a loaded eval index (flat FAISS, sentence vectors) and its questions' relevant articles."""
    store = index.vector_store.client
    chunks = store.reconstruct_n(0, store.ntotal)
    articles, chunk_article = np.unique([n.rsplit("#", 1)[0] for n in index.node_ids], return_inverse=True)
    vectors = []
    for q in questions:
        forms = index.query_forms(q.question)
        vectors.append(index.query_embedding(" ".join(forms.restored) if forms.restored else q.question))
    return AdapterSet(
        questions=np.asarray(vectors, dtype=np.float32), chunks=np.asarray(chunks, dtype=np.float32),
        sentences=np.asarray(index.sentences.vectors, dtype=np.float32), chunk_article=chunk_article,
        sentence_article=np.repeat(chunk_article, np.diff(index.sentences.offsets)),
        relevant=np.stack([np.isin(articles, list(q.relevant_ids)) for q in questions]))


def article_folds(relevant_ids: list[list[str]], folds: int) -> np.ndarray:
    """Each question's fold, by a hash of its first relevant article (questions on one article share it)."""
    return np.array([int(hashlib.sha256(min(ids).encode()).hexdigest(), 16) % folds for ids in relevant_ids])


def train_adapter(sets: dict[str, AdapterSet], masks: dict[str, np.ndarray], recipe: dict = RECIPE):
    """The adapter fitted on the questions each mask keeps (every corpus weighs the same)."""
    import torch

    from index.query_adapter import QueryAdapter

    torch.manual_seed(recipe["seed"])
    dim = next(iter(sets.values())).questions.shape[1]
    delta = torch.nn.Parameter(torch.zeros(dim, dim))  # starts as the model itself
    optimiser = torch.optim.Adam([delta], lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    tensors = {}
    for name, s in sets.items():
        keep = np.flatnonzero(masks[name])
        relevant = torch.from_numpy(s.relevant[keep])
        tensors[name] = (torch.from_numpy(s.questions[keep]),
                         [(torch.from_numpy(s.chunks), relevant[:, s.chunk_article]),
                          (torch.from_numpy(s.sentences), relevant[:, s.sentence_article])])
    for _ in range(recipe["epochs"]):
        optimiser.zero_grad()
        loss = 0.0
        for questions, passages in tensors.values():
            adapted = torch.nn.functional.normalize(questions + questions @ delta, dim=1)
            for vectors, positive in passages:
                logits = adapted @ vectors.T / recipe["temperature"]
                # −log of the probability mass on the relevant article's passages
                loss = loss + (torch.logsumexp(logits, 1)
                               - torch.logsumexp(logits.masked_fill(~positive, -1e9), 1)).mean()
        loss.backward()
        optimiser.step()
    return QueryAdapter(delta.detach().numpy())
