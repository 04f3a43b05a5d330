"""SampleTracker: register, find and follow samples in the LIMS from a notebook.

A composite of standard ipywidgets (no custom front-end code). It only calls
the public :mod:`smartlab_kernel.lims` API; every error is shown in a red
error label (and unexpected ones are re-raised after being shown).
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as w

from smartlab_kernel.lims import LimsError, LimsStore, Sample, SampleState, UnknownSampleError
from smartlab_kernel.lims_link import LimsLink

_EXPECTED_ERRORS = (LimsError, ValueError, KeyError)


class SampleTracker(w.VBox):
    """Register, find and transition samples; see their lineage and history.

    The list of samples shows what the last **Find** (or registration)
    found; after every change the widget makes (registration, transition)
    it is read again from the LIMS, so each sample's state is current.

    Args:
        lims: The LIMS: a lab's link (``lab.lims``, whose store is used) or
            an open :class:`~smartlab_kernel.lims.LimsStore`.
        operator: Who is using the widget (recorded in the audit trail);
            defaults to the store's operator.

    Raises:
        TypeError: If ``lims`` is neither a ``LimsLink`` nor a ``LimsStore``
            (e.g. ``lab.lims`` of a lab opened without ``lims=...``, which is ``None``).
    """

    def __init__(self, lims: LimsLink | LimsStore, operator: str | None = None) -> None:
        #: The store the widget reads and changes.
        self.lims: LimsStore = _store(lims)
        self.operator = operator
        self.selected: Sample | None = None
        self.sample_type = w.Text(description="Type", placeholder="mixture")
        self.parents = w.Text(description="Parents", placeholder="S-7KQ2M, S-3XY4Z")
        self.location = w.Text(description="Location", placeholder="rack1:A3")
        self.campaign = w.Text(description="Campaign", placeholder="optional")
        self.register_button = w.Button(description="Register", button_style="primary")
        self.query_id = w.Text(description="Id", placeholder="S-7KQ or part of it")
        self.query_type = w.Text(description="Type", placeholder="any")
        self.query_state = w.Dropdown(
            description="State", options=[("any", "")] + [(s.value, s.value) for s in SampleState]
        )
        self.find_button = w.Button(description="Find")
        self.results = w.Select(description="Samples", options=[], rows=8)
        self.details = w.HTML()
        self.lineage = w.HTML()
        self.history = w.HTML()
        self.transitions = w.HBox()
        self.status = w.HTML()
        self.error = w.HTML(layout=w.Layout(display="none"))
        self.register_button.on_click(lambda _b: self._guard(self.register))
        self.find_button.on_click(lambda _b: self._guard(self.find))
        self.results.observe(self._on_select, names="value")
        register_box = w.VBox(
            [self.sample_type, self.parents, self.location, self.campaign, self.register_button]
        )
        find_box = w.VBox([self.query_id, self.query_type, self.query_state, self.find_button])
        sample_box = w.VBox([self.details, self.transitions, self.lineage, self.history])
        super().__init__(
            [
                w.HBox([register_box, find_box]),
                self.error,
                self.status,
                w.HBox([self.results, sample_box]),
            ]
        )

    # -- actions (also what the buttons call) --------------------------------

    def register(self) -> Sample:
        """Register a sample from the form fields and select it.

        Raises:
            ValueError: The type field is empty.
            LimsError: A parent does not exist, etc.
        """
        sample_type = self.sample_type.value.strip()
        if not sample_type:
            raise ValueError("enter a sample type, e.g. 'mixture'")
        parents = [p.strip() for p in self.parents.value.replace(";", ",").split(",") if p.strip()]
        sample = self.lims.register_sample(
            sample_type,
            parents=parents,
            location=self.location.value.strip() or None,
            campaign_id=self.campaign.value.strip() or None,
            operator=self.operator,
        )
        self._show_status(f"registered {sample.sample_id} ({sample.sample_type})")
        self._list([sample.sample_id, *self._listed_ids()])
        self.select(sample.sample_id)
        return sample

    def find(self) -> list[Sample]:
        """Search with the find fields and list the matches (newest first)."""
        found = self.lims.find_samples(
            id_contains=self.query_id.value.strip() or None,
            sample_type=self.query_type.value.strip() or None,
            state=self.query_state.value or None,
            limit=500,
        )
        self._list([s.sample_id for s in found])
        self._show_status(f"{len(found)} sample(s) found")
        if not found:
            self.select(None)
        return found

    def select(self, sample_id: str | None) -> None:
        """Show details, lineage, history and transition buttons of a sample.

        Args:
            sample_id: The sample, or None to clear the selection.

        Raises:
            UnknownSampleError: No such sample.
        """
        if sample_id is None:
            self.selected = None
            self.details.value = self.lineage.value = self.history.value = ""
            self.transitions.children = ()
            return
        self.selected = self.lims.get_sample(sample_id)
        self._render_selected()

    def transition_to(self, state: str) -> Sample:
        """Move the selected sample to ``state``.

        Raises:
            ValueError: No sample is selected.
            IllegalTransitionError: Not allowed from the current state.
        """
        if self.selected is None:
            raise ValueError("select a sample first")
        try:
            sample = self.lims.transition(self.selected.sample_id, state, operator=self.operator)
        except LimsError:
            self.select(self.selected.sample_id)  # show what the state really is now
            self._list(self._listed_ids())
            raise
        self.selected = sample
        self._render_selected()
        self._list(self._listed_ids())
        self._show_status(f"{sample.sample_id} is now {sample.state.value}")
        return sample

    # -- rendering -----------------------------------------------------------

    def _render_selected(self) -> None:
        sample = self.selected
        assert sample is not None
        esc = html.escape
        self.details.value = (
            f"<b>{esc(sample.sample_id)}</b> {esc(sample.sample_type)} &middot; "
            f"<i>{esc(sample.state.value)}</i> &middot; at {esc(sample.location or '?')}"
            f"<br>created {esc(sample.created_at)} by {esc(sample.created_by)}"
        )
        lineage = self.lims.lineage(sample.sample_id)
        self.lineage.value = (
            "<b>Lineage</b><pre>" + esc(lineage.ancestor_tree()) + "</pre>"
            f"descendants: {esc(', '.join(lineage.descendants) or 'none')}"
        )
        rows = "".join(
            f"<tr><td>{e.seq}</td><td>{esc(e.at)}</td><td>{esc(e.operator)}</td>"
            f"<td>{esc(e.action)}</td><td>{esc(_change(e.before, e.after))}</td></tr>"
            for e in self.lims.history(sample.sample_id)
        )
        self.history.value = (
            "<b>History</b><table><tr><th>seq</th><th>when (UTC)</th><th>who</th>"
            f"<th>action</th><th>change</th></tr>{rows}</table>"
        )
        self.transitions.children = tuple(self._transition_button(s) for s in sample.allowed_next)

    def _transition_button(self, state: SampleState) -> w.Button:
        style = "danger" if state is SampleState.INVALIDATED else ""
        button = w.Button(description=state.value, button_style=style)
        button.on_click(lambda _b: self._guard(lambda: self.transition_to(state.value)))
        return button

    def _list(self, sample_ids: list[str]) -> None:
        """List these samples, each as the LIMS has it now (unknown ids are left out)."""
        samples = []
        for sample_id in dict.fromkeys(sample_ids):
            try:
                samples.append(self.lims.get_sample(sample_id))
            except UnknownSampleError:
                continue
        options = [
            (f"{s.sample_id}  {s.sample_type}  [{s.state.value}]", s.sample_id) for s in samples
        ]
        self.results.unobserve(self._on_select, names="value")
        try:
            self.results.options = options
            self.results.value = None
        finally:
            self.results.observe(self._on_select, names="value")

    def _listed_ids(self) -> list[str]:
        return [v for _, v in self.results.options]

    def _on_select(self, change: dict[str, object]) -> None:
        new = change.get("new")
        self._guard(lambda: self.select(new if isinstance(new, str) else None))

    def _show_status(self, text: str) -> None:
        self.status.value = html.escape(text, quote=False)

    def _show_error(self, text: str) -> None:
        self.error.value = (
            f'<span style="color:#b00020"><b>Error:</b> {html.escape(text, quote=False)}</span>'
        )
        self.error.layout.display = "" if text else "none"

    def _guard(self, action: Callable[[], object]) -> None:
        self._show_error("")
        try:
            action()
        except _EXPECTED_ERRORS as exc:
            self._show_error(str(exc))
        except Exception as exc:
            self._show_error(f"unexpected {type(exc).__name__}: {exc}")
            raise


def _store(lims: object) -> LimsStore:
    """The store behind ``lims`` (a ``LimsLink``'s own, or ``lims`` itself)."""
    if isinstance(lims, LimsLink):
        return lims.store
    if isinstance(lims, LimsStore):
        return lims
    hint = ""
    if lims is None:
        hint = " (a lab without a LIMS: attach one, e.g. Lab.simulated(lims=True))"
    raise TypeError(
        "SampleTracker needs a LIMS: a lab's link (lab.lims) or an open LimsStore; "
        f"got {type(lims).__name__} {lims!r:.60}{hint}"
    )


def _change(before: object, after: object) -> str:
    if isinstance(before, dict) and isinstance(after, dict):
        changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
        return ", ".join(f"{k}: {old} -> {new}" for k, (old, new) in changed.items())
    return "created" if before is None else ""
