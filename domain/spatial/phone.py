"""Phone numbers as people type them: mainland mobiles and landlines, normalised for storage."""

from __future__ import annotations

import re
import unicodedata

_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")
_SEPARATORS = re.compile(r"[\s\-()（）]")


def _digits(raw: str) -> str:
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
    return digits


def normalize_mobile(raw: str) -> str | None:
    """A mainland mobile number (13812345678) as typed, digits only; None when it is not one
    (a landline included: text messages need a mobile)."""
    digits = _digits(raw)
    return digits if _MOBILE.fullmatch(digits) else None


def normalize_phone(raw: str) -> str:
    """A mainland mobile (13812345678) or landline with area code (07318123456), digits only.

    Accepts full-width digits, spaces, dashes, brackets and a +86 / 0086 prefix; raises
    ValueError saying what is wrong otherwise.
    """
    digits = _digits(raw)
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return digits
    raise ValueError(
        "phone must be a mainland mobile number (11 digits starting with 1, e.g. 13812345678) "
        "or a landline with its area code (e.g. 0734-8123456)"
    )
