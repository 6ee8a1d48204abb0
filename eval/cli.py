"""The `hoidap eval`, `eval-batch` and `bench` commands, registered into app/cli.py via an entry point.

Only argument parsing lives here; the work is in eval/run.py and eval/bench.py, imported when the
command runs so `hoidap --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path


def register(sub, common) -> None:
    p = sub.add_parser("eval", parents=[common], help="đo chất lượng trên một bộ câu hỏi (QA benchmark)")
    p.add_argument("dataset", help="JSONL, SQuAD JSON, or a BEIR folder")
    p.add_argument("--format", default="auto", choices=["auto", "jsonl", "squad", "beir"])
    p.add_argument("--corpus", help="articles a jsonl dataset is answered over (default: the sample corpus)")
    p.add_argument("--retriever", nargs="+", default=None,
                   help="retrieval set-ups to compare (hybrid bm25 dense llamaindex-default; default: all)")
    p.add_argument("--out", default="eval-out", help="output folder")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions")
    p.add_argument("--half", type=int, default=None, choices=[0, 1],
                   help="only the questions of this half of `hoidap train-reader`'s split (its --hold-half)")
    p.add_argument("--queries", default="as-is", choices=["as-is", "folded", "mixed"],
                   help="ask the questions as written, with every diacritic removed, or with about half "
                        "of the words' diacritics removed (how officials often type)")
    p.set_defaults(func=_run_eval)

    p = sub.add_parser("eval-batch", parents=[common],
                       help="chấm kết quả `hoidap ask --batch` theo nhãn của một bộ câu hỏi")
    p.add_argument("dataset", help="JSONL, SQuAD JSON, or a BEIR folder")
    p.add_argument("answers", nargs="?", help="what `hoidap ask --batch` printed for --write-questions' file")
    p.add_argument("--format", default="auto", choices=["auto", "jsonl", "squad", "beir"])
    p.add_argument("--write-questions", metavar="FILE", help="write the dataset's questions for `ask --batch` and stop")
    p.add_argument("--out", default="eval-batch-out", help="output folder")
    p.set_defaults(func=_run_eval_batch)

    p = sub.add_parser("bench", parents=[common], help="đo tốc độ: nạp, truy vấn, bộ nhớ, theo kích thước")
    p.add_argument("--out", default="bench-out", help="output folder")
    p.add_argument("--sizes", nargs="+", type=int, default=None, help="synthetic corpus sizes in chunks (each through both the build path and the direct path)")
    p.add_argument("--load-users", type=int, default=0, metavar="N",
                   help="also load-test the web app with N simultaneous users (eval/load.py); default: no")
    p.add_argument("--encode-texts", type=int, default=500,
                   help="chunks embedded per set-up in the encoding comparison (torch vs ONNX int8/fp32); 0 skips it")
    p.add_argument("--max-chunks", type=int, default=None,
                   help="leave out default synthetic sizes above this (default: 1,000,000)")
    p.set_defaults(func=_run_bench)

    p = sub.add_parser("fit-fusion", parents=[common],
                       help="khớp trọng số kết hợp (dense, BM25 cả bài) trên các bộ dữ liệu chung")
    p.add_argument("--benchmarks", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks"),
                   help="folder of the shared benchmarks (default: ../shared/benchmarks beside the repository)")
    p.add_argument("--sets", nargs="+", default=None, help="datasets under --benchmarks (default: all three)")
    p.add_argument("--out", default=None, help="artefact to write (default: index/fusion_weights.json)")
    p.set_defaults(func=_run_fit_fusion)

    p = sub.add_parser("train-answer", parents=[common],
                       help="huấn luyện mô hình chọn câu trả lời và ngưỡng từ chối (từ ../shared/benchmarks)")
    p.add_argument("--out", default="app/answer_model.json", help="where the model file goes")
    _training_data_args(p)
    p.add_argument("--kinds", nargs="+", default=["pointwise", "listwise"], choices=["pointwise", "listwise"],
                   help="models to cross-validate; the first is the one written")
    p.set_defaults(func=_run_train_answer)

    p = sub.add_parser("train-reader", parents=[common],
                       help="huấn luyện bộ đọc (cross-encoder) và độ tin cậy của nó (từ ../shared/benchmarks, ~20 phút)")
    p.add_argument("--out", default="app/reader_model.safetensors", help="the reader's weights; its record goes beside (.json)")
    _training_data_args(p)
    p.add_argument("--epochs", type=float, default=None, help="passes over the training questions (default 1.5)")
    p.add_argument("--hold-half", type=int, default=None, choices=[0, 1],
                   help="write the reader trained without this half of the questions (to measure the user's path on it)")
    p.set_defaults(func=_run_train_reader)


def _training_data_args(p) -> None:
    """The benchmark questions a training command retrieves and learns from (train-answer, train-reader)."""
    p.add_argument("--benchmarks", default=None, help="folder of the shared benchmarks (default: ../shared/benchmarks)")
    p.add_argument("--mode", default="hybrid", choices=["hybrid", "bm25", "dense"],
                   help="retrieval that gives the training questions their passages")
    p.add_argument("--limit", type=int, default=None, help="only the first N usable questions of each set")
    p.add_argument("--sets", nargs="+", default=None,
                   help="benchmark paths under --benchmarks (default: zalo-qa, vinewsqa-dev, alqac-legal)")


def _run_eval(args) -> int:
    from eval.run import main

    return main(args)


def _run_fit_fusion(args) -> int:
    from eval.fit_fusion import DEFAULT_SETS, main

    args.sets = args.sets or list(DEFAULT_SETS)
    return main(args)


def _run_eval_batch(args) -> int:
    from eval.batch import main

    return main(args)


def _run_train_answer(args) -> int:
    from eval.train_answer import main

    return main(args)


def _run_train_reader(args) -> int:
    from eval.train_reader import EPOCHS, main

    args.epochs = EPOCHS if args.epochs is None else args.epochs
    return main(args)


def _run_bench(args) -> int:
    from eval.bench import main

    return main(args)
