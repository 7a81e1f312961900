"""Every Python snippet in README.md and docs/ runs as written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SNIPPETS = [(page, i, code) for page in PAGES
            for i, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(),
                                                re.DOTALL))]


def test_the_pages_have_snippets():
    # the README shows MAML on a model, RL² and MAML-RL on an environment
    assert sum(page.name == "README.md" for page, _, _ in SNIPPETS) >= 3


@pytest.mark.parametrize("page, index, code", SNIPPETS,
                         ids=[f"{p.name}-{i}" for p, i, _ in SNIPPETS])
def test_snippet_runs_as_written(page, index, code, capsys):
    exec(compile(code, f"{page.name}[{index}]", "exec"), {"__name__": "__snippet__"})
    assert capsys.readouterr().out.strip()  # each snippet prints what it computed
