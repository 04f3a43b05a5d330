"""A lab server for many users: bluesky-queueserver + tiled on PostgreSQL, with API keys."""

from .config import ServeConfig, User, load_config, parse_config
from .errors import ConfigError, ServeError
from .keys import hash_key, new_key
from .queue_plans import QUEUE_PLAN_NAMES, make_queue_plans
from .server import LabServer
from .supervisor import WorkerSupervisor

__all__ = [
    "QUEUE_PLAN_NAMES",
    "ConfigError",
    "LabServer",
    "ServeConfig",
    "ServeError",
    "User",
    "WorkerSupervisor",
    "hash_key",
    "load_config",
    "make_queue_plans",
    "new_key",
    "parse_config",
]
