"""`hoidap train-answer`: fit the answer model (app/answer_model.json) on the shared benchmarks.

Retrieves the top passages of every benchmark question through eval's cached index, labels each
candidate (app/candidates.py) by whether it holds a gold answer, fits logistic weights and a Platt
confidence, picks the decline threshold, and reports 5-fold cross-validated figures beside the
naive baseline. Never reads eval/gold/ (that set is for regression only).
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.answer_data import FOLDS, K, Item, labelled, retrieve_rows
from eval.metrics import auroc, contains_gold

BENCHMARKS = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks"
DEFAULT_SETS = ("zalo-qa/zalo_qa_squad2.json", "vinewsqa-dev", "alqac-legal")
L2_GRID = (1.0, 100.0, 1000.0)  # chosen by cross-validation (small sets want strong shrinkage)
L2 = 100.0
ANSWERED_TARGET = 0.93  # answerable questions answered, on each threshold set (issue 13 asks ≥ 0.90).
# At 0.91 the held-out half's user path answered 0.910–0.922 of vinewsqa's: no margin on a new split;
# the decline it bought was 0.08–0.11 of zalo's unanswerable (eleventh session, docs/answers.md).
THRESHOLD_SETS = ("zalo_qa_squad2", "vinewsqa-dev")  # the sets whose answered rate sets the threshold
# The top candidate's features the confidence reads besides its logit and margin: how much of the
# question its sentence, passage and title cover, how its passage ranked, what the question asks.
CONFIDENCE_FEATURES = ("cov_own", "cov_sentence_title", "cov_passage", "cov_missing", "bigram_own", "run_own",
                       "rel_score", "rank_0", "places_ok", "numbers_passage", "capital_near", "proximity",
                       "q_when", "q_how_many", "q_who", "q_where", "q_yes_no",
                       "hit_when", "hit_how_many", "hit_who", "hit_where",
                       # the retrieval's ranks and the question coverage the passage holds beyond the
                       # candidate. Not the fused score's size (top_score, top_gap, score_diff): it grows
                       # with the corpus (z-scores over the best 50 chunks; 0 with one chunk), so a
                       # one-article corpus read as uncertain and declined "Mai Sơn có bao nhiêu sản
                       # phẩm OCOP?" (eighteenth session; five-fold CV without them: zalo 0.695 → 0.690
                       # contains, 0.308 → 0.331 declined; vinewsqa 0.607 → 0.611; alqac 0.662 → 0.665)
                       "dense_rr", "in_dense", "article_rr",
                       "cov_own_vs_passage", "best_cov_passage", "support")
USE_GATE = True  # app/answer.py's grounded() rule; the report also measures the model without it
# What the confidence is fitted to predict: that the chosen reply holds a gold answer ("correct"), or
# that the articles answer the question at all ("answerable"; only zalo-qa has negatives for it). The
# second separates zalo-qa's unanswerable questions better (five-fold CV, answer model alone: AUROC
# against answerable 0.665 → 0.720, declined 0.308 → 0.423) but worse on questions about other articles
# (the fresh sample questions: 0.934 → 0.893; answered 1.000 → 0.936): it learns which set a question
# comes from. Eighteenth session, docs/answers.md. The record measures both.
CONFIDENCE_LABEL = "correct"
OTHER_LABEL = "answerable" if CONFIDENCE_LABEL == "correct" else "correct"  # measured beside it


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float, sample_weight=None, iters: int = 50) -> np.ndarray:
    """Weights (last = intercept) of L2-regularised logistic regression, by Newton's method."""
    n, d = X.shape
    Xb = np.hstack([X, np.ones((n, 1))])
    sw = np.ones(n) if sample_weight is None else sample_weight
    reg = np.full(d + 1, l2)
    reg[-1] = 1e-6  # the intercept is not shrunk
    w = np.zeros(d + 1)
    for _ in range(iters):
        p = _sigmoid(Xb @ w)
        grad = Xb.T @ (sw * (p - y)) + reg * w
        hess = (Xb * (sw * p * (1 - p))[:, None]).T @ Xb + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-7:
            break
    return w


def fit_listwise(items: list[Item], mean, scale, l2: float, iters: int = 300) -> np.ndarray:
    """Softmax over each answerable question's candidates, maximising the chance mass on gold ones."""
    groups = [((i.X - mean) / scale, i.y) for i in items if i.y.any()]
    d = groups[0][0].shape[1]
    w = np.zeros(d)
    m, v = np.zeros(d), np.zeros(d)
    for t in range(1, iters + 1):
        grad = l2 * w
        for Xs, y in groups:
            z = Xs @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            q = p * y
            q /= q.sum()
            grad += Xs.T @ (p - q)
        grad /= len(groups)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


@dataclass
class Selector:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def logits(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean) / self.scale) @ self.weights + self.bias


def fit_selector(items: list[Item], l2: float = L2, kind: str = "pointwise") -> Selector:
    """Fitted on the questions some candidate answers: the others teach nothing about choosing."""
    items = [i for i in items if i.y.any()]
    X = np.vstack([i.X for i in items])
    y = np.concatenate([i.y for i in items])
    mean, scale = X.mean(0), X.std(0)
    scale[scale < 1e-9] = 1.0
    Xs = (X - mean) / scale
    if kind == "listwise":
        return Selector(mean, scale, fit_listwise(items, mean, scale, l2 * 1e-3), 0.0)
    # Each question weighs the same, however many candidates its passages hold.
    sw = np.concatenate([np.full(len(i.y), 1.0 / max(1, len(i.y))) for i in items])
    sw *= len(sw) / sw.sum()
    w = fit_logistic(Xs, y, l2, sw)
    return Selector(mean, scale, w[:-1], float(w[-1]))


def top_of(selector: Selector, item: Item) -> tuple[int, float, float, np.ndarray]:
    """(best candidate, its logit, margin over the best candidate of another sentence, its confidence inputs)."""
    from app.candidates import FEATURES

    width = len(CONFIDENCE_FEATURES)
    if not len(item.y):
        return -1, -10.0, 0.0, np.zeros(width)
    z = selector.logits(item.X)
    if USE_GATE:  # as app/answer.py: only grounded candidates may answer
        from app.answer import grounded

        z = np.where([grounded(list(row)) for row in item.X], z, -np.inf)
        if not np.isfinite(z).any():
            return -1, -10.0, 0.0, np.zeros(width)
    best = int(np.argmax(z))
    others = [z[j] for j in range(len(z)) if item.sentence_of[j] != item.sentence_of[best] and np.isfinite(z[j])]
    margin = float(z[best] - max(others)) if others else 5.0
    row = item.X[best, [FEATURES.index(n) for n in CONFIDENCE_FEATURES]]
    return best, float(z[best]), min(margin, 5.0), row


def confidence_target(item: Item, best: int, label: str = "") -> bool:
    """What the confidence learns for one question whose chosen candidate is `best` (CONFIDENCE_LABEL)."""
    if (label or CONFIDENCE_LABEL) == "answerable":
        return bool(item.answers)
    return bool(item.answers) and best >= 0 and bool(item.y[best])


def fit_platt(tops: list[tuple], correct: list[bool]) -> np.ndarray:
    """Logistic confidence over [top logit, margin, confidence features]; last weight = intercept."""
    X = np.array([[top, margin, *row] for top, margin, row in tops], dtype=float)
    return fit_logistic(X, np.array(correct, dtype=float), l2=1.0)


def confidence(platt, top: float, margin: float, row, gate: bool = True) -> float:
    """As the app computes it (app/answer.py): 0 when the question names what the passage lacks."""
    x = np.concatenate([[top, margin], row, [1.0]])
    return float(_sigmoid(x @ platt)) if gate else 0.0


def gate_of(item: Item, best: int) -> bool:
    from app.answer import grounded

    return best >= 0 and (not USE_GATE or grounded(list(item.X[best])))


def choose_threshold(conf: list[float], items: list[Item], target: float = ANSWERED_TARGET) -> float:
    """The highest threshold that still answers `target` of the answerable questions of each threshold set."""
    limits = []
    for name in THRESHOLD_SETS:
        values = sorted(c for c, i in zip(conf, items) if i.dataset == name and i.answers)
        if values:
            limits.append(values[int(math.floor((1 - target) * len(values)))])
    return float(min(limits)) if limits else 0.5


# ---------------------------------------------------------------- measuring


def figures(items: list[Item], picks: dict, conf: dict, threshold: float) -> dict:
    """Per dataset: answer contains gold (answerable; declined = wrong), answered / declined rates, AUROC."""
    out = {}
    for name in sorted({i.dataset for i in items}):
        mine = [i for i in items if i.dataset == name]
        answerable = [i for i in mine if i.answers]
        unanswerable = [i for i in mine if not i.answers]

        def right(i):
            return picks[i.qid] >= 0 and bool(i.y[picks[i.qid]])

        answered = [i for i in answerable if conf[i.qid] >= threshold]
        row = {
            "questions": len(mine), "answerable": len(answerable), "unanswerable": len(unanswerable),
            "top_contains_gold": round(np.mean([right(i) for i in answerable]), 3) if answerable else None,
            "answer_contains_gold": round(np.mean([right(i) and conf[i.qid] >= threshold for i in answerable]), 3)
            if answerable else None,
            "naive_contains_gold": round(np.mean([contains_gold(i.naive, i.answers) for i in answerable]), 3)
            if answerable else None,
            "any_candidate_contains_gold": round(np.mean([bool(i.y.any()) for i in answerable]), 3) if answerable else None,
            "answered_answerable": round(len(answered) / len(answerable), 3) if answerable else None,
            "declined_unanswerable": round(np.mean([conf[i.qid] < threshold for i in unanswerable]), 3)
            if unanswerable else None,
            "auroc_confidence_vs_correct": auroc([conf[i.qid] for i in mine],
                                                 [bool(i.answers) and right(i) for i in mine]),
        }
        if unanswerable:  # the refusal's own measure: the area under its trade-off curve
            row["auroc_confidence_vs_answerable"] = auroc([conf[i.qid] for i in mine], [bool(i.answers) for i in mine])
        for key in ("auroc_confidence_vs_correct", "auroc_confidence_vs_answerable"):
            if row.get(key) is not None:
                row[key] = round(row[key], 3)
        out[name] = row
    return out


def tradeoff(items: list[Item], conf: dict, name: str) -> list[dict]:
    """Declined-unanswerable against declined-answerable over thresholds, for one dataset."""
    mine = [i for i in items if i.dataset == name]
    curve = []
    for t in np.round(np.linspace(0.0, 0.95, 20), 2):
        ans = [conf[i.qid] < t for i in mine if i.answers]
        una = [conf[i.qid] < t for i in mine if not i.answers]
        curve.append({"threshold": float(t), "declined_answerable": round(float(np.mean(ans)), 3) if ans else None,
                      "declined_unanswerable": round(float(np.mean(una)), 3) if una else None})
    return curve


def cross_validate(items: list[Item], kind: str, folds: int = FOLDS, l2: float = L2, label: str = "") -> dict:
    """Out-of-fold picks and confidences: selector and Platt (learning `label`) fitted on the other folds,
    threshold too."""
    # Level 1: out-of-fold logits of the selector.
    oof: dict[str, tuple[int, float, float]] = {}
    for f in range(folds):
        train = [i for i in items if i.fold != f]
        selector = fit_selector(train, l2=l2, kind=kind)
        for i in items:
            if i.fold == f:
                oof[i.qid + i.dataset] = top_of(selector, i)
    # Level 2: Platt and threshold fitted on the other folds' out-of-fold tops.
    picks, conf = {}, {}
    for f in range(folds):
        train = [i for i in items if i.fold != f]
        platt = fit_platt([oof[i.qid + i.dataset][1:] for i in train],
                          [confidence_target(i, oof[i.qid + i.dataset][0], label) for i in train])
        threshold = choose_threshold([confidence(platt, *oof[i.qid + i.dataset][1:], gate_of(i, oof[i.qid + i.dataset][0]))
                                      for i in train], train)
        for i in items:
            if i.fold == f:
                best, top, margin, row = oof[i.qid + i.dataset]
                picks[i.qid] = best
                # the fold's own threshold is applied by shifting: answered iff conf ≥ threshold
                conf[i.qid] = confidence(platt, top, margin, row, gate_of(i, best)) - threshold + 0.5
    return {"picks": picks, "conf": conf, "oof": oof}


# ---------------------------------------------------------------- command


def git_sha() -> str:
    from app.config import REPO_ROOT
    from eval.runinfo import git_sha as sha

    return sha(REPO_ROOT)


def gather(args, verb: str = "train-answer"):
    """(labelled items, the sets' records, the embedder) of the shared benchmarks, retrieved as the app would."""
    from app.config import load_settings
    from index.embed import embedder_for

    settings = load_settings(getattr(args, "data_dir", None), getattr(args, "config", None))
    embedder = embedder_for(settings.index)
    root = Path(args.benchmarks or BENCHMARKS)
    rows, sets = [], []
    for rel in getattr(args, "sets", None) or DEFAULT_SETS:
        path = root / rel
        print(f"hoidap {verb}: {path}…", file=sys.stderr, flush=True)
        got, info = retrieve_rows(path, settings, embedder, args.mode, args.limit)
        rows += got
        sets.append(info)
    items = labelled(rows)
    print(f"hoidap {verb}: {len(items)} questions, {sum(len(i.y) for i in items)} candidates",
          file=sys.stderr, flush=True)
    return items, sets, embedder, rows


def command_line() -> str:
    return " ".join(["hoidap", *sys.argv[1:]]) if Path(sys.argv[0]).name == "hoidap" else " ".join(sys.argv)


def main(args) -> int:
    from app.candidates import FEATURE_VERSION, FEATURES

    started, sha = time.perf_counter(), git_sha()  # the code that runs: edits made meanwhile do not change it
    items, sets, embedder, rows = gather(args)

    comparison, runs = {}, {}
    for kind in args.kinds:
        for l2 in (L2_GRID if kind == "pointwise" else (L2,)):
            name = f"{kind} l2={l2:g}"
            runs[name] = (kind, l2, cross_validate(items, kind, l2=l2))
            comparison[name] = figures(items, runs[name][2]["picks"], runs[name][2]["conf"], 0.5)
            print(f"hoidap train-answer: {name}: " + ", ".join(
                f"{d} {row['top_contains_gold']}" for d, row in comparison[name].items()), file=sys.stderr, flush=True)
    comparison["naive baseline"] = {d: {"answer_contains_gold": row["naive_contains_gold"], "answered_answerable": 1.0,
                                        "declined_unanswerable": 0.0 if row["unanswerable"] else None}
                                    for d, row in next(iter(comparison.values())).items()}
    # The set-up whose best candidate holds a gold answer most often, averaged over the sets (with
    # sentence replies listwise measured 0.02 better than pointwise on alqac and vinewsqa, e5 run).
    chosen = max(runs, key=lambda n: np.mean([row["top_contains_gold"] for row in comparison[n].values()]))
    kind, l2, cv = runs[chosen]
    global USE_GATE
    USE_GATE = False
    ungated = cross_validate(items, kind, l2=l2)
    comparison[f"{chosen} without the grounded rule"] = figures(items, ungated["picks"], ungated["conf"], 0.5)
    USE_GATE = True
    # The confidence fitted to the other target (CONFIDENCE_LABEL above).
    other_cv = cross_validate(items, kind, l2=l2, label=OTHER_LABEL)
    comparison[f"{chosen} with the confidence fitted to '{OTHER_LABEL}'"] = figures(
        items, other_cv["picks"], other_cv["conf"], 0.5)
    # The first place rule read every place the question names ("Theo Bộ", "trong", "Việt Nam" too).
    from app import answer as app_answer

    named = app_answer.GATE_FEATURE
    app_answer.GATE_FEATURE = "places_ok"
    first_rule = cross_validate(items, kind, l2=l2)
    comparison[f"{chosen} with the first place rule (every place named)"] = figures(
        items, first_rule["picks"], first_rule["conf"], 0.5)
    app_answer.GATE_FEATURE = named
    # Replies that are the chosen candidate itself (often a clause), labelled and fitted as such.
    app_answer.REPLY_GRANULARITY = "candidate"
    clause_items = labelled(rows)
    clause_cv = cross_validate(clause_items, kind, l2=l2)
    comparison[f"{chosen} answering with the candidate (clause) instead of its sentence"] = figures(
        clause_items, clause_cv["picks"], clause_cv["conf"], 0.5)
    app_answer.REPLY_GRANULARITY = "sentence"
    del clause_items
    # Final fit on everything; Platt and threshold on the out-of-fold tops (honest confidences).
    selector = fit_selector(items, l2=l2, kind=kind)
    oof = cv["oof"]
    platt = fit_platt([oof[i.qid + i.dataset][1:] for i in items],
                      [confidence_target(i, oof[i.qid + i.dataset][0]) for i in items])
    conf_all = {i.qid: confidence(platt, *oof[i.qid + i.dataset][1:], gate_of(i, oof[i.qid + i.dataset][0]))
                for i in items}
    threshold = choose_threshold([conf_all[i.qid] for i in items], items)
    record = {
        "what": "hoidap answer model: logistic candidate scorer + Platt confidence + decline threshold",
        "feature_version": FEATURE_VERSION,
        "features": list(FEATURES),
        "kind": chosen,
        "model": {"mean": selector.mean.round(6).tolist(), "scale": selector.scale.round(6).tolist(),
                  "weights": selector.weights.round(6).tolist(), "bias": round(selector.bias, 6),
                  "platt": [round(float(x), 6) for x in platt], "confidence_features": list(CONFIDENCE_FEATURES),
                  "threshold": round(threshold, 6), "confidence_label": CONFIDENCE_LABEL},
        "weights_by_feature": {n: round(float(w), 4) for n, w in zip(FEATURES, selector.weights)},
        "training": {"command": command_line(), "git_sha": sha, "datasets": sets, "retrieval_mode": args.mode,
                     "k": K, "l2": l2, "l2_grid": list(L2_GRID), "folds": FOLDS, "answered_target": ANSWERED_TARGET,
                     "threshold_sets": list(THRESHOLD_SETS), "embedding_model": embedder.info.name,
                     "n_questions": len(items), "n_candidates": int(sum(len(i.y) for i in items)),
                     "seconds": round(time.perf_counter() - started, 1)},
        "cross_validated": comparison,
        "tradeoff_zalo_qa": tradeoff(items, {i.qid: conf_all[i.qid] for i in items}, "zalo_qa_squad2"),
    }
    out = Path(args.out)
    out.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"cross_validated": comparison, "threshold": threshold}, ensure_ascii=False, indent=1))
    print(f"hoidap train-answer: wrote {out} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0
