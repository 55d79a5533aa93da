"""pydicom must not put patient values into logs or warnings while CaseDeck works.

pydicom quotes an invalid value when it warns about it (e.g. while the
de-identifier sets or copies elements). Runs in fresh interpreters: warning
filters and logger levels are process-wide, so an in-process test would pass on
whatever an earlier test configured.
"""

import subprocess
import sys

from tests.helpers import ROOT

SET_INVALID_VALUE = """
import logging, sys
from pydicom.dataset import Dataset
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
if sys.argv[1] == "silenced":
    from casefiles.logsafety import silence_value_logging
    silence_value_logging()
ds = Dataset()
ds.PatientSex = "PIDX-77123-TOO-LONG-FOR-CS"
print(len(ds.PatientSex))
"""


def run_fresh(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", SET_INVALID_VALUE, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_invalid_values_are_not_echoed_once_silenced():
    control = run_fresh("default")
    assert "PIDX" in control.stderr, "control: pydicom quotes the value without CaseDeck's settings"
    silenced = run_fresh("silenced")
    assert silenced.stdout.strip() == "26"
    assert "PIDX" not in silenced.stderr
