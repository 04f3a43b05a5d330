// SetpointEntry front end: a text field and its Set button. Enter in the field, or Set,
// sends the text typed inside the request itself. With a stock Text and Button the two
// travel apart: ipywidgets holds a Text's value update back while an earlier one is
// still being handled, but sends a click at once, so a busy kernel could apply the
// value typed before.

function render({ model, el }) {
  el.classList.add("smartlab-setpoint-entry");
  const input = document.createElement("input");
  input.type = "text";
  input.className = "smartlab-setpoint-input";
  const button = document.createElement("button");
  button.className = "jupyter-widgets jupyter-button widget-button smartlab-setpoint-set";
  button.textContent = "Set";

  function show() {
    input.placeholder = model.get("placeholder");
    input.classList.toggle("smartlab-setpoint-invalid", model.get("invalid"));
    // Python's value, unless the user is typing in this field.
    if (document.activeElement !== input && input.value !== model.get("value")) {
      input.value = model.get("value");
    }
  }

  function keep() {
    model.set("value", input.value);
    model.save_changes();
  }

  function request() {
    keep();
    model.send({ event: "set", text: input.value });
  }

  input.addEventListener("input", keep);
  // Keys typed here are for the field only, as ipywidgets' own Text keeps them
  // (JupyterLab 4 already leaves a focused input alone; older fronts may not).
  input.addEventListener("keydown", (event) => {
    event.stopPropagation();
    if (event.key === "Enter") {
      event.preventDefault();
      request();
    }
  });
  input.addEventListener("keypress", (event) => event.stopPropagation());
  input.addEventListener("keyup", (event) => event.stopPropagation());
  button.addEventListener("click", request);
  model.on("change:value", show);
  model.on("change:placeholder", show);
  model.on("change:invalid", show);
  show();
  el.append(input, button);
  return () => {
    model.off("change:value", show);
    model.off("change:placeholder", show);
    model.off("change:invalid", show);
  };
}

export default { render };
