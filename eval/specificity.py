"""How much a question names its own article, as a breakdown field for eval reports.

A question's specificity is the number of corpus articles holding the rarest syllable or syllable pair
it shares with its relevant article(s). "Bệnh nhân bị bệnh gì?" shares only words that hundreds of
health articles hold, and no retriever can tell its article from theirs; the report shows it apart.
"""

from __future__ import annotations

from collections import Counter

FIELD = "specificity"
# Upper bounds of each group, and labels that sort in that order in the report's tables.
GROUPS = ((10, "01-10 articles"), (50, "11-50 articles"), (None, "51+ articles"))


def rarest_shared(questions, articles) -> dict[str, int]:
    """{question id: articles holding the rarest term it shares with its relevant articles}, for the
    questions whose relevant articles are in the corpus and share a term with them."""
    from index.tokenize import tokenize

    terms = {a.doc_id: set(tokenize(f"{a.title}\n{a.text}")) for a in articles}
    held_by = Counter(t for ts in terms.values() for t in ts)
    out = {}
    for q in questions:
        relevant = set().union(*(terms[d] for d in q.relevant_ids if d in terms))
        shared = set(tokenize(q.question)) & relevant
        if shared:
            out[q.id] = min(held_by[t] for t in shared)
    return out


def group_of(count: int) -> str:
    return next(label for bound, label in GROUPS if bound is None or count <= bound)


def label_specificity(questions, articles) -> None:
    """Set fields[FIELD] on each question it can be measured for (a dataset's own value is kept)."""
    counts = rarest_shared(questions, articles)
    for q in questions:
        if q.id in counts:
            q.fields.setdefault(FIELD, group_of(counts[q.id]))
