from __future__ import annotations

import subprocess
import sys

from xqg.cli.main import COMMAND_MODULES


def test_help_lists_every_stage_without_importing_torch():
    code = (
        "import sys\n"
        "from xqg.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("NO-TORCH")
    for stage in (
        "data",
        "encode",
        "search",
        "evaluate",
        "compare",
        "train-generator",
        "generate",
        "fuse",
        "train-retriever",
        "mine-negatives",
        "typos",
        "robustness",
        "run",
    ):
        assert f"    {stage}" in out, stage
    assert COMMAND_MODULES
