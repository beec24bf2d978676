"""checks: static analyses over the pre- and post-image of each patch, and the
new / fixed / existing classification every finding of a series gets."""

from patchlint.checks.series import FAIL_ON, analyse_series, fails

__all__ = ["FAIL_ON", "analyse_series", "fails"]
