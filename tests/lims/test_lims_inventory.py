from __future__ import annotations

import pytest

from smartlab_kernel.lims import (
    DuplicateError,
    IncompatibleUnitsError,
    InsufficientStockError,
    LimsStore,
    LowStockWarning,
    QuantityError,
    SampleState,
    TransactionStateError,
    UnknownItemError,
    ureg,
)


class DispenseFailed(RuntimeError):
    pass


def test_quantities_are_unit_aware(stocked: LimsStore) -> None:
    item = stocked.consume("stock_A", "500 uL")
    assert item.amount == pytest.approx(24.5)
    assert item.quantity == ureg.Quantity(24.5, "mL")
    stocked.consume("stock_A", ureg.Quantity(0.0015, "L"))
    assert stocked.get_item("stock_A").amount == pytest.approx(23.0)
    with pytest.warns(LowStockWarning, match="vials"):
        assert stocked.consume("vials", "2 vial").amount == 1
    assert stocked.restock("vials", "4 pcs").amount == 5


def test_failed_dispense_rolls_back_every_decrement_and_transition(stocked: LimsStore) -> None:
    sample = stocked.register_sample("mixture", parents=["STOCK-A", "STOCK-B"])
    before = {i.name: i.amount for i in stocked.items()}
    audit_before = len(stocked.audit_entries())
    with pytest.raises(DispenseFailed), stocked.transaction(operator="ana") as tx:
        tx.consume("stock_A", "2 mL", sample_id=sample.sample_id)
        tx.consume("stock_B", "3 mL", sample_id=sample.sample_id)
        tx.consume("vials", "1 vial", sample_id=sample.sample_id)
        tx.transition(sample.sample_id, "prepared")
        raise DispenseFailed("pump 2 stalled")
    assert {i.name: i.amount for i in stocked.items()} == before
    assert stocked.get_sample(sample.sample_id).state is SampleState.REGISTERED
    assert len(stocked.audit_entries()) == audit_before
    assert stocked.verify_audit().ok
    # and the same step commits when nothing fails
    with stocked.transaction(operator="ana") as tx:
        tx.consume("stock_A", "2 mL", sample_id=sample.sample_id)
        tx.transition(sample.sample_id, "prepared")
    assert stocked.get_item("stock_A").amount == pytest.approx(23.0)
    assert stocked.history(sample.sample_id)[-1].operator == "ana"


def test_insufficient_stock_names_item_requested_available(stocked: LimsStore) -> None:
    with pytest.raises(InsufficientStockError) as info:
        stocked.consume("stock_B", "12 mL")
    assert str(info.value) == "not enough 'stock_B': requested 12 ml, available 10 ml"
    assert (info.value.item, info.value.requested, info.value.available) == (
        "stock_B",
        "12 ml",
        "10 ml",
    )
    assert stocked.get_item("stock_B").amount == 10
    stocked.consume("stock_B", "10 mL")  # exactly all of it is fine
    assert stocked.get_item("stock_B").amount == 0


def test_unit_and_quantity_errors(stocked: LimsStore) -> None:
    with pytest.raises(IncompatibleUnitsError, match=r"'2 g'.*'stock_A'.*milliliter"):
        stocked.consume("stock_A", "2 g")
    with pytest.raises(IncompatibleUnitsError):
        stocked.consume("vials", "1 mL")
    with pytest.raises(QuantityError, match="bare number"):
        stocked.consume("stock_A", "2")
    with pytest.raises(QuantityError, match="cannot read"):
        stocked.consume("stock_A", "2 mLx")
    with pytest.raises(QuantityError, match="positive"):
        stocked.consume("stock_A", "-1 mL")
    with pytest.raises(QuantityError, match="expected a quantity"):
        stocked.consume("stock_A", 2)
    with pytest.raises(UnknownItemError, match="known items: stock_A, stock_B, vials"):
        stocked.consume("stock_C", "1 mL")
    with pytest.raises(DuplicateError):
        stocked.add_item("stock_A", "1 mL")
    with pytest.raises(QuantityError, match="negative"):
        stocked.add_item("stock_Z", "-1 mL")


def test_low_stock_warning_and_list(stocked: LimsStore) -> None:
    assert stocked.low_stock() == []
    stocked.consume("stock_A", "19 mL")  # 6 mL left: above the threshold
    with pytest.warns(LowStockWarning, match=r"stock_A: 5 ml \(low at 5 ml\)"):
        stocked.consume("stock_A", "1 mL")
    assert [i.name for i in stocked.low_stock()] == ["stock_A"]
    stocked.consume("stock_A", "1 mL")  # already low: no second warning
    with stocked.transaction() as tx:
        tx.set_low_threshold("stock_A", None)
    assert stocked.low_stock() == []


def test_low_stock_warning_not_issued_when_rolled_back(stocked: LimsStore) -> None:
    with pytest.raises(DispenseFailed), stocked.transaction() as tx:
        tx.consume("vials", "2 vial")
        raise DispenseFailed
    assert stocked.low_stock() == []


def test_available_and_feasible_for_the_planner(stocked: LimsStore) -> None:
    assert stocked.available({"stock_A": "20 mL", "vials": "3 vial"})
    assert not stocked.available({"stock_A": "26 mL"})
    assert not stocked.available({"stock_unknown": "1 mL"})
    [short] = stocked.shortfalls({"stock_B": "0.02 L", "stock_A": "1 mL"})
    assert str(short) == "stock_B: requested 20 ml, available 10 ml"
    recipes = {
        "r1": {"stock_A": "5 mL", "stock_B": "5 mL"},
        "r2": {"stock_A": "30 mL"},
        "r3": {"vials": "1 vial"},
    }
    assert stocked.feasible(recipes) == ["r1", "r3"]
    assert stocked.feasible(dict(enumerate(recipes.values()))) == [0, 2]
    with pytest.raises(IncompatibleUnitsError):
        stocked.available({"stock_A": "1 g"})


def test_store_calls_inside_a_transaction_are_refused(stocked: LimsStore) -> None:
    with pytest.raises(TransactionStateError, match=r"tx\.consume"), stocked.transaction():
        stocked.consume("stock_A", "1 mL")
    with stocked.transaction() as tx:
        pass
    with pytest.raises(TransactionStateError, match="ended"):
        tx.consume("stock_A", "1 mL")
    assert stocked.get_item("stock_A").amount == 25
