// RunTable front end: the runs a RunBrowser found, as a table. A click on a header asks
// Python to sort by that column; clicks on rows (Ctrl/Cmd, Shift, checkboxes) select runs.

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "smartlab-run-table";
  el.appendChild(root);
  let anchor = null; // the last row clicked without Shift, for Shift ranges

  function select(uids) {
    model.set("value", uids);
    model.save_changes();
  }

  function onRowClick(event, uid, order) {
    const selected = new Set(model.get("value"));
    if (event.shiftKey && anchor !== null && order.includes(anchor)) {
      const [a, b] = [order.indexOf(anchor), order.indexOf(uid)].sort((x, y) => x - y);
      select(order.slice(a, b + 1));
      return;
    }
    anchor = uid;
    if (event.ctrlKey || event.metaKey) {
      selected.has(uid) ? selected.delete(uid) : selected.add(uid);
      select(order.filter((u) => selected.has(u)));
    } else {
      select([uid]);
    }
  }

  function draw() {
    const columns = model.get("columns");
    const rows = model.get("rows");
    const sortBy = model.get("sort_by");
    const descending = model.get("descending");
    const selected = new Set(model.get("value"));
    const order = rows.map((r) => r.uid);
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    const all = document.createElement("th");
    all.className = "smartlab-run-check";
    head.appendChild(all);
    for (const column of columns) {
      const th = document.createElement("th");
      const button = document.createElement("button");
      button.type = "button";
      button.className = `smartlab-sort smartlab-sort-${column.key}`;
      const sorted = column.key === sortBy;
      button.textContent = column.label + (sorted ? (descending ? " ▼" : " ▲") : "");
      button.title = `sort by ${column.label.toLowerCase()}`;
      th.setAttribute("aria-sort", sorted ? (descending ? "descending" : "ascending") : "none");
      button.addEventListener("click", () => model.send({ type: "sort", column: column.key }));
      th.appendChild(button);
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      tr.dataset.uid = row.uid;
      tr.classList.add("smartlab-run-row", `smartlab-status-${String(row.status).replace(/\W+/g, "-")}`);
      if (row.interrupted) tr.classList.add("smartlab-run-interrupted");
      if (selected.has(row.uid)) tr.classList.add("smartlab-selected");
      tr.setAttribute("aria-selected", selected.has(row.uid) ? "true" : "false");
      const check = document.createElement("input");
      check.type = "checkbox";
      check.checked = selected.has(row.uid);
      check.title = "add to or remove from the selection";
      check.addEventListener("click", (event) => {
        event.stopPropagation();
        selected.has(row.uid) ? selected.delete(row.uid) : selected.add(row.uid);
        anchor = row.uid;
        select(order.filter((u) => selected.has(u)));
      });
      const first = tr.insertCell();
      first.className = "smartlab-run-check";
      first.appendChild(check);
      for (const column of columns) {
        const td = tr.insertCell();
        td.className = `smartlab-cell-${column.key}`;
        const text = row.cells[column.key] ?? "";
        if (column.key === "interrupted" && row.interrupted) {
          const badge = document.createElement("span");
          badge.className = "smartlab-interrupted-badge";
          badge.textContent = `⚠ ${text}`;
          badge.title = "paused or suspended while it ran: its stop reason says when and why";
          td.appendChild(badge);
        } else {
          td.textContent = text;
        }
        if (column.key === "outcome" && row.outcome_field) td.title = row.outcome_field;
      }
      tr.addEventListener("click", (event) => onRowClick(event, row.uid, order));
    }
    root.replaceChildren(table);
    root.dataset.rows = String(rows.length);
    root.dataset.sortBy = sortBy;
    root.dataset.descending = String(descending);
  }

  for (const name of ["columns", "rows", "sort_by", "descending", "value"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
}

export default { render };
