"""Values given to EPICS devices: plain numbers in the device's units, pint quantities converted."""

from __future__ import annotations

import numpy as np
import pint
import pytest

from smartlab_kernel.devices.adapters.epics_units import in_device_units, pint_unit, with_units

Q_ = pint.UnitRegistry().Quantity  # a user's registry, not the package's


def test_quantities_from_any_registry_are_converted_to_the_devices_units() -> None:
    assert in_device_units(Q_(27, "degC"), "K", "hotplate") == pytest.approx(300.15)
    assert in_device_units(Q_(1, "cm"), "mm", "stage") == pytest.approx(10.0)
    assert in_device_units(Q_(300.15, "K"), "C", "oven") == pytest.approx(27.0)  # EPICS 'C'
    assert in_device_units(Q_(60, "rpm"), "RPM", "stirrer") == pytest.approx(60.0)


def test_plain_numbers_are_in_the_devices_units_already() -> None:
    assert in_device_units(27, "K", "hotplate") == 27.0
    assert in_device_units(np.float32(2.5), "mm", "stage") == 2.5
    assert in_device_units(3, "", "counter") == 3.0


@pytest.mark.parametrize(
    ("value", "units", "error", "message"),
    [
        (Q_(3, "mm"), "K", ValueError, "hotplate: cannot convert 3 mm to the device's units 'K'"),
        (Q_(27, "degC"), "", ValueError, "the IOC reports no units (EGU) for it"),
        (Q_(1, "K"), "furlongs_per_fortnight", ValueError, "pint does not know the units"),
        ("hot", "K", TypeError, "hotplate must be a number in K or a pint quantity, got 'hot'"),
        (True, "K", TypeError, "got True of type bool"),
    ],
)
def test_what_cannot_be_converted_is_refused_naming_value_and_units(
    value: object, units: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        in_device_units(value, units, "hotplate")


def test_egu_spellings_and_formatting() -> None:
    assert str(pint_unit("C")) == "degree_Celsius"
    assert str(pint_unit("deg C")) == "degree_Celsius"
    assert with_units(300.15, "K") == "300.15 K"
    assert with_units(25.0, "") == "25"
