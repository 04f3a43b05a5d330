// LivePlot front end: draws scalars, overlaid spectra or a spectra heatmap on a
// canvas, at most once per animation frame however many updates arrive.

const PAD = { left: 56, right: 12, top: 24, bottom: 34 };
const LINE = "#1f77b4";
const COLOURBAR = { right: 84, width: 12 }; // the heatmap's right margin and bar width

function niceTicks(lo, hi, count, integer) {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => raw <= s) || 10 * mag;
  if (integer) step = Math.max(1, Math.round(step)); // counts: whole numbers only
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) ticks.push(v);
  return ticks;
}

function tickText(v) {
  return Number(v.toPrecision(6)).toString();
}

function extent(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (!isFinite(lo)) return [0, 1];
  if (lo === hi) { const d = Math.abs(lo) * 0.05 || 0.5; return [lo - d, hi + d]; }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

function viridis(f) {
  // A few anchors of a perceptually ordered colour map, linearly interpolated.
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(1, Math.max(0, f)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const t = x - i;
  return stops[i].map((c, k) => Math.round(c + (stops[i + 1][k] - c) * t));
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "smartlab-live-plot";
  const canvas = document.createElement("canvas");
  const status = document.createElement("div");
  status.className = "smartlab-live-plot-status";
  root.append(canvas, status);
  el.appendChild(root);

  const data = { x: [], y: [], spectra: [] };
  let frames = 0;
  let updates = 0;
  let pending = false;

  function kind() {
    const k = model.get("kind");
    if (k !== "auto") return k;
    return data.spectra.length > 0 && data.x.length === 0 ? "spectra" : "scalar";
  }

  // Draws the frame, ticks and labels; says the ticks drawn in data-x-ticks / data-y-ticks.
  function axes(ctx, w, h, xr, yr, xlabel, ylabel, opts = {}) {
    const right = opts.right || PAD.right;
    ctx.strokeStyle = "#888";
    ctx.fillStyle = "#444";
    ctx.lineWidth = 1;
    ctx.font = "11px sans-serif";
    ctx.strokeRect(PAD.left, PAD.top, w - PAD.left - right, h - PAD.top - PAD.bottom);
    ctx.textAlign = "center";
    const xticks = niceTicks(xr[0], xr[1], 6, opts.xInteger);
    for (const v of xticks) {
      const px = PAD.left + ((v - xr[0]) / (xr[1] - xr[0])) * (w - PAD.left - right);
      ctx.fillText(tickText(v), px, h - PAD.bottom + 14);
    }
    ctx.textAlign = "right";
    const yticks = niceTicks(yr[0], yr[1], 5, opts.yInteger);
    for (const v of yticks) {
      const py = h - PAD.bottom - ((v - yr[0]) / (yr[1] - yr[0])) * (h - PAD.top - PAD.bottom);
      ctx.fillText(tickText(v), PAD.left - 4, py + 4);
    }
    root.dataset.xTicks = xticks.map(tickText).join(",");
    root.dataset.yTicks = yticks.map(tickText).join(",");
    ctx.textAlign = "center";
    ctx.fillText(xlabel, (PAD.left + w - right) / 2, h - 4);
    ctx.save();
    ctx.translate(12, (PAD.top + h - PAD.bottom) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(ylabel, 0, 0);
    ctx.restore();
    ctx.font = "bold 12px sans-serif";
    ctx.fillText(model.get("title"), w / 2, 15);
  }

  // A colour bar for the heatmap: the colour map from lo (bottom) to hi (top), its ticks, label.
  function colourBar(ctx, w, h, lo, hi, label) {
    const x = w - COLOURBAR.right + 10, top = PAD.top, height = h - PAD.top - PAD.bottom;
    for (let i = 0; i < height; i++) {
      const [r, g, b] = viridis(1 - i / Math.max(1, height - 1));
      ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
      ctx.fillRect(x, top + i, COLOURBAR.width, 1);
    }
    ctx.strokeStyle = "#888";
    ctx.strokeRect(x, top, COLOURBAR.width, height);
    ctx.fillStyle = "#444";
    ctx.font = "11px sans-serif";
    ctx.textAlign = "left";
    const ticks = niceTicks(lo, hi, 4, false).filter((v) => v >= lo && v <= hi);
    for (const v of ticks) {
      const py = top + height - ((v - lo) / (hi - lo || 1)) * height;
      ctx.fillText(tickText(v), x + COLOURBAR.width + 3, py + 4);
    }
    ctx.save();
    ctx.translate(w - 6, top + height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(label, 0, 0);
    ctx.restore();
    root.dataset.colourbar = `${tickText(lo)} to ${tickText(hi)}`;
  }

  function draw() {
    pending = false;
    const w = Math.max(200, root.clientWidth || 600);
    const h = model.get("height");
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
      canvas.style.height = h + "px";
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const pw = w - PAD.left - PAD.right, ph = h - PAD.top - PAD.bottom;
    const k = kind();
    if (k === "scalar") {
      const xr = extent(data.x), yr = extent(data.y);
      const counted = model.get("x_integer");
      axes(ctx, w, h, xr, yr, model.get("x_label"), model.get("y_label"), { xInteger: counted });
      const sx = (v) => PAD.left + ((v - xr[0]) / (xr[1] - xr[0])) * pw;
      const sy = (v) => PAD.top + ph - ((v - yr[0]) / (yr[1] - yr[0])) * ph;
      ctx.strokeStyle = LINE;
      ctx.fillStyle = LINE;
      ctx.lineWidth = 1.5;
      if (counted) {
        ctx.beginPath();
        data.x.forEach((v, i) => (i ? ctx.lineTo(sx(v), sy(data.y[i])) : ctx.moveTo(sx(v), sy(data.y[i]))));
        ctx.stroke();
      }
      if (data.x.length <= 2000) {
        data.x.forEach((v, i) => { ctx.beginPath(); ctx.arc(sx(v), sy(data.y[i]), 2.5, 0, 2 * Math.PI); ctx.fill(); });
      }
    } else if (k === "spectra") {
      const shown = data.spectra.slice(-20);
      const n = shown.length ? shown[0].length : 2;
      const yr = extent(shown.flat());
      axes(ctx, w, h, [0, n - 1], yr, "Channel", model.get("y_label"), { xInteger: true });
      shown.forEach((row, j) => {
        const alpha = 0.15 + 0.85 * ((j + 1) / shown.length);
        ctx.strokeStyle = `rgba(31, 119, 180, ${alpha})`;
        ctx.lineWidth = j === shown.length - 1 ? 2 : 1;
        ctx.beginPath();
        row.forEach((v, i) => {
          const px = PAD.left + (i / Math.max(1, n - 1)) * pw;
          const py = PAD.top + ph - ((v - yr[0]) / (yr[1] - yr[0])) * ph;
          i ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
        });
        ctx.stroke();
      });
    } else {
      const rows = data.spectra;
      const n = rows.length ? rows[0].length : 1;
      const right = COLOURBAR.right;
      const hw = w - PAD.left - right;
      // Row k (numbered from 1) spans k - 0.5 to k + 0.5: its number ticks its middle.
      axes(ctx, w, h, [0, n - 1], [0.5, Math.max(1, rows.length) + 0.5], "Channel", "Spectrum #", {
        right, xInteger: true, yInteger: true,
      });
      if (rows.length) {
        const [lo, hi] = extent(rows.flat());
        colourBar(ctx, w, h, lo, hi, model.get("y_label"));
        const img = ctx.createImageData(n, rows.length);
        rows.forEach((row, r) => row.forEach((v, i) => {
          const [cr, cg, cb] = viridis((v - lo) / (hi - lo));
          const o = ((rows.length - 1 - r) * n + i) * 4;
          img.data[o] = cr; img.data[o + 1] = cg; img.data[o + 2] = cb; img.data[o + 3] = 255;
        }));
        const off = document.createElement("canvas");
        off.width = n; off.height = rows.length;
        off.getContext("2d").putImageData(img, 0, 0);
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(off, PAD.left, PAD.top, hw, ph);
      }
    }
    frames += 1;
    root.dataset.frames = String(frames);
    root.dataset.updates = String(updates);
    root.dataset.points = String(data.x.length + data.spectra.length);
    status.textContent = model.get("status");
  }

  function schedule() {
    if (!pending) { pending = true; requestAnimationFrame(draw); }
  }

  function onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "reset") {
      data.x = msg.x || []; data.y = msg.y || []; data.spectra = msg.spectra || [];
    } else if (msg.type === "append") {
      if (msg.x) { data.x.push(...msg.x); data.y.push(...msg.y); }
      if (msg.spectra) { data.spectra.push(...msg.spectra); if (data.spectra.length > 500) data.spectra.splice(0, data.spectra.length - 500); }
    } else {
      return;
    }
    updates += 1;
    schedule();
  }

  model.on("msg:custom", onMessage);
  for (const name of ["kind", "title", "x_label", "y_label", "x_integer", "status", "height"]) {
    model.on(`change:${name}`, schedule);
  }
  const observer = new ResizeObserver(schedule);
  observer.observe(root);
  model.send({ type: "snapshot" });
  schedule();
  return () => {
    observer.disconnect();
    model.off("msg:custom", onMessage);
  };
}

export default { render };
