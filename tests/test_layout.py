"""The shape of the code: imports follow the data flow, every module says what it is for."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# What each stage may import from the project: ingest → index → app; eval measures all; none imports eval.
ALLOWED = {"ingest": {"ingest"}, "index": {"ingest", "index"}, "app": {"ingest", "index", "app"},
           "eval": {"ingest", "index", "app", "eval"}}
MODULES = sorted(p for stage in ALLOWED for p in (REPO / stage).glob("*.py"))


def project_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        found |= {n.split(".")[0] for n in names if n.split(".")[0] in ALLOWED}
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_imports_follow_the_data_flow(path):
    stage = path.parent.name
    assert project_imports(path) <= ALLOWED[stage], f"{stage}/{path.name} imports {project_imports(path) - ALLOWED[stage]}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_module_opens_with_a_docstring(path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and 1 <= len(doc.strip().splitlines()) <= 8


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_modules_stay_small(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


def test_no_test_folder_shadows_a_stage():
    assert not any((REPO / "tests" / stage).exists() for stage in ALLOWED)
