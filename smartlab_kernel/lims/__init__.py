"""LIMS: samples, inventory, lifecycle, runs and a hash-chained audit trail.

The bottom layer of smartlab_kernel next to devices: it imports no other
subpackage. Open a store and work in transactions::

    from smartlab_kernel.lims import LimsStore

    lims = LimsStore.open("lab-data/lims.sqlite")
    a = lims.register_sample("stock_solution", location="rack1:A1")
    with lims.transaction(operator="ana") as tx:
        s = tx.register_sample("mixture", parents=[a.sample_id])
        tx.consume("stock_A", "2 mL", sample_id=s.sample_id)
        tx.transition(s.sample_id, "prepared")
"""

from .anchor import HEAD_FILE_SUFFIX, AuditHead
from .audit import GENESIS_HASH, AuditVerification, entry_hash, verify_chain
from .crate import MANIFEST_NAME, read_crate, write_crate
from .database import DEFAULT_DB_PATH, database_url, head_revision
from .errors import (
    DuplicateError,
    IllegalTransitionError,
    IncompatibleUnitsError,
    InsufficientStockError,
    LimsError,
    LowStockWarning,
    QuantityError,
    SchemaVersionError,
    TransactionStateError,
    UnknownItemError,
    UnknownSampleError,
)
from .ids import SAMPLE_ID_ALPHABET, is_sample_id, new_sample_id, normalize_sample_id
from .inventory import Shortfall
from .lifecycle import FINAL_STATES, TRANSITIONS, SampleState, allowed_next
from .records import AuditEntry, InventoryItem, Lineage, RunRecord, Sample
from .store import LimsStore
from .transaction import LimsTransaction
from .units import format_quantity, parse_quantity, ureg
from .verify import AmountMismatch, AuditReport, UsageMismatch

__all__ = [
    "DEFAULT_DB_PATH",
    "FINAL_STATES",
    "GENESIS_HASH",
    "HEAD_FILE_SUFFIX",
    "MANIFEST_NAME",
    "SAMPLE_ID_ALPHABET",
    "TRANSITIONS",
    "AmountMismatch",
    "AuditEntry",
    "AuditHead",
    "AuditReport",
    "AuditVerification",
    "DuplicateError",
    "IllegalTransitionError",
    "IncompatibleUnitsError",
    "InsufficientStockError",
    "InventoryItem",
    "LimsError",
    "LimsStore",
    "LimsTransaction",
    "Lineage",
    "LowStockWarning",
    "QuantityError",
    "RunRecord",
    "Sample",
    "SampleState",
    "SchemaVersionError",
    "Shortfall",
    "TransactionStateError",
    "UnknownItemError",
    "UnknownSampleError",
    "UsageMismatch",
    "allowed_next",
    "database_url",
    "entry_hash",
    "format_quantity",
    "head_revision",
    "is_sample_id",
    "new_sample_id",
    "normalize_sample_id",
    "parse_quantity",
    "read_crate",
    "ureg",
    "verify_chain",
    "write_crate",
]
