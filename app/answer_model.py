"""The learned answer model: logistic weights over candidate features, and a calibrated confidence.

Read once from app/answer_model.json (written by `hoidap train-answer`, eval/train_answer.py) and
checked against app/candidates.py's feature version. Scoring is plain numpy; training lives in eval/.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.candidates import FEATURE_VERSION, FEATURES

MODEL_PATH = Path(__file__).with_name("answer_model.json")
_LOCK = threading.Lock()
_CACHE: dict[str, AnswerModel] = {}


class AnswerModelError(RuntimeError):
    """The answer model file is missing, unreadable or made for other features."""


@dataclass
class AnswerModel:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    platt: np.ndarray  # confidence = sigmoid(w · [top logit, margin, chosen features of the top] + c)
    confidence_features: list[int]  # positions in FEATURES of the top candidate's features it reads
    threshold: float  # answer when confidence ≥ threshold
    record: dict

    def logits(self, matrix: np.ndarray) -> np.ndarray:
        """One score per candidate row (features in FEATURES order)."""
        # A feature the index cannot give (NaN: no sentence vectors) reads as its training mean.
        matrix = np.where(np.isnan(matrix), self.mean, matrix)
        return ((matrix - self.mean) / self.scale) @ self.weights + self.bias

    def confidence(self, top: float, margin: float, row) -> float:
        """Calibrated probability that the best candidate (logit `top`, `margin` over the best of
        another sentence, feature vector `row`) answers the question."""
        return platt_probability(self.platt, top, margin, self.confidence_row(row))

    def confidence_row(self, row) -> np.ndarray:
        """The features of a candidate's row the confidence reads (NaN read as the training mean)."""
        row = np.asarray(row, float)
        return np.where(np.isnan(row), self.mean, row)[self.confidence_features]


def platt_probability(platt, top: float, margin: float, row) -> float:
    """sigmoid(platt · [top logit, margin, confidence features, 1]): the confidence of every chooser."""
    x = np.concatenate([[top, margin], np.asarray(row, float), [1.0]])
    return float(1.0 / (1.0 + np.exp(-float(np.clip(x @ np.asarray(platt, float), -30, 30)))))


def reads_sentence_scores(index_model: str, model: AnswerModel | None = None) -> bool:
    """Whether an index's sentence cosines mean what the answer model learned: only when the index
    was embedded with the model it was trained with (MiniLM's cosines sit far lower than e5's)."""
    model = model or load_model()
    return model.record.get("training", {}).get("embedding_model") == index_model


def from_record(record: dict) -> AnswerModel:
    """An AnswerModel from the artefact's JSON object; raises AnswerModelError when it does not fit."""
    if record.get("feature_version") != FEATURE_VERSION or list(record.get("features", [])) != list(FEATURES):
        raise AnswerModelError(
            f"Tệp mô hình trả lời được huấn luyện cho đặc trưng {record.get('feature_version')!r}, mã hiện tại "
            f"dùng {FEATURE_VERSION!r}: hãy chạy lại `hoidap train-answer --out app/answer_model.json` "
            "(answer model feature version mismatch)."
        )
    try:
        model = record["model"]
        out = AnswerModel(np.asarray(model["mean"], float), np.asarray(model["scale"], float),
                          np.asarray(model["weights"], float), float(model["bias"]),
                          np.asarray(model["platt"], float),
                          [FEATURES.index(name) for name in model["confidence_features"]],
                          float(model["threshold"]), record)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnswerModelError(f"Tệp mô hình trả lời bị hỏng ({exc}) (corrupt answer model).") from exc
    if not (len(out.mean) == len(out.scale) == len(out.weights) == len(FEATURES)) \
            or len(out.platt) != len(out.confidence_features) + 3:
        raise AnswerModelError("Tệp mô hình trả lời bị hỏng: số trọng số không khớp số đặc trưng (corrupt answer model).")
    return out


def load_model(path: Path | str | None = None) -> AnswerModel:
    """The model at `path` (default: the committed artefact), read once per process."""
    path = Path(path or MODEL_PATH)
    key = str(path.resolve())
    with _LOCK:
        if key not in _CACHE:
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise AnswerModelError(
                    f"Không tìm thấy tệp mô hình trả lời {path}: hãy chạy `hoidap train-answer --out {path}` "
                    "(answer model missing)."
                ) from None
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise AnswerModelError(f"Không đọc được tệp mô hình trả lời {path} ({exc}) (corrupt answer model).") from exc
            if not isinstance(record, dict):
                raise AnswerModelError(f"Tệp mô hình trả lời {path} không phải một đối tượng JSON (corrupt answer model).")
            _CACHE[key] = from_record(record)
        return _CACHE[key]
