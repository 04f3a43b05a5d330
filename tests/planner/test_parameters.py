from __future__ import annotations

import math

import numpy as np
import pytest

from smartlab_kernel.planner import (
    Categorical,
    Integer,
    InvalidConfigError,
    OutOfBoundsError,
    ParameterTypeError,
    Real,
)


def test_real_validates_type_and_bounds() -> None:
    p = Real("t", 20, 90)
    assert p.validate(25) == 25.0 and isinstance(p.validate(25), float)
    assert p.validate(np.float32(30.5)) == pytest.approx(30.5)
    with pytest.raises(ParameterTypeError, match=r"'t'.*'hot'"):
        p.validate("hot")
    with pytest.raises(ParameterTypeError):
        p.validate(True)
    with pytest.raises(OutOfBoundsError, match=r"95.*\[20, 90\]"):
        p.validate(95)
    with pytest.raises(OutOfBoundsError):
        p.validate(math.nan)


def test_integer_accepts_integral_values_only() -> None:
    p = Integer("rpm", 100, 1000)
    assert p.validate(300) == 300 and isinstance(p.validate(300.0), int)
    assert p.validate(np.int64(400)) == 400
    with pytest.raises(ParameterTypeError, match="integer"):
        p.validate(300.5)
    with pytest.raises(OutOfBoundsError, match="1001"):
        p.validate(1001)


def test_categorical_choices() -> None:
    p = Categorical("base", ["DBU", "MTBD"])
    assert p.choices == ("DBU", "MTBD")
    assert p.validate("DBU") == "DBU"
    with pytest.raises(OutOfBoundsError, match=r"'TEA'.*\['DBU', 'MTBD'\]"):
        p.validate("TEA")
    numeric = Categorical("n", [1, 2, 3])
    assert numeric.validate(np.int64(2)) == 2
    with pytest.raises(OutOfBoundsError):
        numeric.validate(True)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Real("x", 1, 1),
        lambda: Real("x", 0, math.inf),
        lambda: Real("", 0, 1),
        lambda: Integer("i", 0.5, 3),  # type: ignore[arg-type]
        lambda: Categorical("c", ["a"]),
        lambda: Categorical("c", ["a", "a"]),
    ],
)
def test_bad_definitions_raise(make) -> None:
    with pytest.raises(InvalidConfigError):
        make()
