"""The lab configuration file: devices listed by kind, validated, built and checked."""

from .builders import DeviceFactory, build_devices
from .check import CheckResult, check_devices, format_results
from .errors import LabConfigError
from .loader import load_lab_config, parse_config_text
from .model import DeviceConfig, LabConfig
from .schema import DEVICE_KINDS, validate_config

__all__ = [
    "DEVICE_KINDS",
    "CheckResult",
    "DeviceConfig",
    "DeviceFactory",
    "LabConfig",
    "LabConfigError",
    "build_devices",
    "check_devices",
    "format_results",
    "load_lab_config",
    "parse_config_text",
    "validate_config",
]
