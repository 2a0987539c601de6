"""Missing conventional imports are added to Python files a model writes."""

from __future__ import annotations

from aiscientist.agents.autoimport import add_missing_imports, missing_imports


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
