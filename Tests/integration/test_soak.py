"""The 20-second soak (bench/soak): stays up, honest statuses, no token to the wrong user,
no memory or file-descriptor growth while eSputnik cycles through its failure modes."""

import subprocess

from stack import ROOT


def test_soak_20_seconds():
    result = subprocess.run([str(ROOT / "bench" / "soak"), "20"], capture_output=True, text=True, timeout=300)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "soak: passed" in result.stdout
