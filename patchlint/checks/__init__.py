"""checks: static analyses over the pre- and post-image of each patch, and the
new / fixed / existing classification every finding of a series gets."""

from patchlint.checks.series import analyse_series, fails
from patchlint.findings import FAIL_ON

__all__ = ["FAIL_ON", "analyse_series", "fails"]
