"""Python a small model writes is mended: markdown fences, HTML entities, missing imports."""

from __future__ import annotations

import ast

import pytest

from aiscientist.agents.aide import extract_code
from aiscientist.agents.code_repair import add_missing_imports, missing_imports, repair_python


def test_module_names_used_but_never_bound_are_imported() -> None:
    src = '"""Train."""\nimport json\ntask = os.environ["T"]\ndf = pd.read_csv(task)\n'
    out, added = add_missing_imports(src)
    assert added == ["import os", "import pandas as pd"]
    assert out.startswith('"""Train."""\nimport os\nimport pandas as pd\nimport json\n')
    compile(out, "train.py", "exec")  # still valid Python


def test_bound_names_and_unknown_names_are_left_alone() -> None:
    assert missing_imports("import numpy as np\nx = np.ones(2)\n") == []
    assert missing_imports("def f(pd):\n    return pd.x\n") == []  # an argument, not a module
    assert missing_imports("for os in []:\n    os.x\n") == []
    assert missing_imports("torch.zeros(1)\n") == []  # not in the table: the error stays
    assert missing_imports("this is not python") == []
    src = "#!/usr/bin/env python\nprint(json.dumps(1))\n"
    out, added = add_missing_imports(src)
    assert added == ["import json"] and out.splitlines()[:2] == [
        "#!/usr/bin/env python",
        "import json",
    ]


def test_a_program_written_with_html_entities_is_decoded_only_when_that_makes_it_parse() -> None:
    # as the embedded model wrote a whole AIDE draft (every quote as &#34;, every > as &gt;)
    escaped = (
        "import pandas as pd\n"
        "KIND = &#34;regression&#34;\n"
        "df = pd.read_csv(f&#34;{task}/train.csv&#34;)\n"
        "wide = len(df.columns) &gt; 1\n"
        "print(json.dumps({&#39;ok&#39;: wide}))\n"
    )
    fixed, done = repair_python(escaped)
    ast.parse(fixed)
    assert 'KIND = "regression"' in fixed and "len(df.columns) > 1" in fixed
    assert fixed.startswith("import json\n")  # and the import it forgot
    assert len(done) == 2 and "HTML entities" in done[0]
    # valid code that means an entity literally is left as it is
    literal = 'ENTITY = "&amp;"\n'
    assert repair_python(literal) == (literal, [])
    # code that parses neither way is not touched
    broken = "def f(:\n    return &#34;x&#34;\n"
    assert repair_python(broken) == (broken, [])


def test_aide_extracts_the_repaired_program() -> None:
    plan, code = extract_code("Plan: fit.\n```python\nprint(&#34;hi&#34;)\n```\n")
    assert plan == "Plan: fit." and code == 'print("hi")\n'


def test_scikit_learn_names_used_bare_are_imported() -> None:
    # node-2 of a friedman-regression AIDE run: NameError: name 'train_test_split'
    source = (
        "from sklearn.ensemble import HistGradientBoostingRegressor\n"
        "X_tr, X_va, y_tr, y_va = train_test_split(X, y, random_state=0)\n"
        "model = HistGradientBoostingRegressor().fit(X_tr, y_tr)\n"
        "print(mean_squared_error(y_va, model.predict(X_va)))\n"
    )
    assert missing_imports(source) == [
        "from sklearn.metrics import mean_squared_error",
        "from sklearn.model_selection import train_test_split",
    ]
    # a name the file defines itself is its own
    own = "def train_test_split(a):\n    return a\ntrain_test_split(1)\n"
    assert missing_imports(own) == []


def test_a_program_written_inside_a_markdown_fence_is_unfenced() -> None:
    # as the embedded model wrote submission/train.py in a 12-minute friedman-regression run
    fenced = "```python\nimport json\nprint(json.dumps({'a': 1}))\n```\n"
    fixed, done = repair_python(fenced)
    assert fixed == "import json\nprint(json.dumps({'a': 1}))\n"
    assert done == ["removed the markdown fence (```) around the code"]
    # cut off before its closing fence, and with entities too
    cut = "```python\nKIND = &#34;x&#34;\nprint(KIND)"
    fixed, done = repair_python(cut)
    assert fixed == 'KIND = "x"\nprint(KIND)\n' and len(done) == 2
    # a fence inside a string of valid code is left alone
    ok = 'DOC = """```python\\nx\\n```"""\n'
    assert repair_python(ok) == (ok, [])


def test_a_function_is_replaced_whole_and_what_it_needs_is_imported() -> None:
    from aiscientist.agents.code_repair import replace_function

    source = '''"""doc"""
import os


def make_model(classify):
    return None


def other():
    return make_model(True)
'''
    new = (
        "from sklearn.svm import SVC\n"
        "def make_model(classify):\n    return SVC(C=3.0) if classify else Ridge()\n"
    )
    out, done = replace_function(source, "make_model", new)
    assert "return SVC(C=3.0)" in out and "return None" not in out
    assert "def other():\n    return make_model(True)" in out  # the rest is kept
    assert out.startswith('"""doc"""\n') and "from sklearn.svm import SVC\n" in out
    assert "from sklearn.linear_model import Ridge" in out and done
    compile(out, "train.py", "exec")
    for name, code, why in [
        ("make_model", "def make_model(:", "SyntaxError"),
        ("make_model", "def other():\n    pass\n", "defines no function 'make_model'"),
        ("missing", "def missing():\n    pass\n", "has no top-level function 'missing'"),
    ]:
        with pytest.raises(ValueError, match=why):
            replace_function(source, name, code)
