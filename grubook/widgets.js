// The front end of grubook.widgets (widgets.py beside this file). Each explorer computes what it
// draws from the widget's values with the formulas of widgets.py, so it stays interactive in a
// page without a kernel (the book's site); in Jupyter and Colab the sliders also set the
// traitlets in the kernel. Plain DOM and SVG, no library: nothing is fetched at run time.

const SVG_NS = "http://www.w3.org/2000/svg";
const MODULUS = 2147483647; // 2^31 - 1: Park and Miller's minimal standard generator
let clipCount = 0;

function html(tag, attrs, parent, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function svg(tag, attrs, parent, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

// A number as the page shows it: fixed digits, a true minus sign.
const fmt = (x, digits = 3) => x.toFixed(digits).replace("-", "\u2212");
// A factor in a product: negative numbers in parentheses.
const factor = (x, digits = 3) => (x < 0 ? `(${fmt(x, digits)})` : fmt(x, digits));
// A positive number of any size: three significant digits, powers of ten as e-notation.
const sci = (x) =>
  x >= 1e-3 && x < 1e4 ? x.toPrecision(3) : x.toExponential(2).replace("-", "\u2212").replace("e+", "e");

// A labelled range input bound to the model's value `name`.
function slider(parent, model, name, label, min, max, step) {
  const row = html("label", { class: "grubook-w-slider" }, parent);
  html("span", { class: "grubook-w-name" }, row, label);
  const input = html("input", { type: "range", min, max, step, "data-name": name }, row);
  const value = html("output", { class: "grubook-w-value" }, row);
  const show = () => {
    input.value = model.get(name);
    value.textContent = fmt(Number(model.get(name)), 2);
  };
  input.addEventListener("input", () => {
    model.set(name, Number(input.value));
    model.save_changes(); // a no-op without a kernel
  });
  model.on(`change:${name}`, show);
  show();
}

function onChange(model, names, callback) {
  for (const name of names) model.on(`change:${name}`, callback);
  callback();
}

// ---- the gate explorer: one step of a one-unit GRU ----

function gateStep(m) {
  const n = Math.tanh(m.a + m.r * (m.w_hn * m.h + m.b_hn));
  return { n, hNext: (1 - m.z) * n + m.z * m.h };
}

function renderGate(model, root) {
  const controls = html("div", { class: "grubook-w-controls" }, root);
  slider(controls, model, "r", "r, reset gate", 0, 1, 0.01);
  slider(controls, model, "z", "z, update gate", 0, 1, 0.01);
  slider(controls, model, "h", "h, previous state", -1, 1, 0.01);
  slider(controls, model, "a", "a, candidate input", -3, 3, 0.01);
  const figure = svg("svg", { viewBox: "0 0 300 108", role: "img", class: "grubook-w-number-line" }, root);
  const readout = html("p", { class: "grubook-w-readout" }, root);
  const X = (v) => 24 + ((v + 1) / 2) * 252; // [-1, 1] onto the line
  const Y = 62;

  function draw() {
    const m = Object.fromEntries(["r", "z", "h", "a", "w_hn", "b_hn"].map((k) => [k, model.get(k)]));
    const { n, hNext } = gateStep(m);
    figure.replaceChildren();
    figure.setAttribute("aria-label", `h' = ${fmt(hNext)}, between n = ${fmt(n)} and h = ${fmt(m.h)}`);
    svg("line", { x1: X(-1), x2: X(1), y1: Y, y2: Y, class: "grubook-w-axis" }, figure);
    for (const v of [-1, -0.5, 0, 0.5, 1]) {
      svg("line", { x1: X(v), x2: X(v), y1: Y - 4, y2: Y + 4, class: "grubook-w-axis" }, figure);
      svg("text", { x: X(v), y: 104, class: "grubook-w-tick" }, figure, fmt(v, 1));
    }
    svg("line", { x1: X(m.h), x2: X(n), y1: Y, y2: Y, class: "grubook-w-span" }, figure);
    const close = Math.abs(X(m.h) - X(n)) < 24; // labels side by side, not on top of each other
    const side = (v, other) => (close ? (v < other ? "end" : "start") : "middle");
    svg("circle", { cx: X(m.h), cy: Y, r: 6, class: "grubook-w-h" }, figure);
    svg("text", { x: X(m.h), y: Y - 14, "text-anchor": side(m.h, n) }, figure, "h");
    svg("circle", { cx: X(n), cy: Y, r: 6, class: "grubook-w-n" }, figure);
    svg("text", { x: X(n), y: Y - 14, "text-anchor": side(n, m.h) }, figure, "n");
    svg("circle", { cx: X(hNext), cy: Y, r: 5, class: "grubook-w-hnext" }, figure);
    svg("text", { x: X(hNext), y: Y + 24, class: "grubook-w-hnext-label" }, figure, "h\u2032");
    svg("text", { x: 150, y: 16, class: "grubook-w-title" }, figure,
      `h\u2032 lies ${fmt(1 - m.z, 2)} of the way from h to n`);

    const inner = m.w_hn * m.h + m.b_hn;
    readout.replaceChildren();
    const line1 = html("span", { class: "grubook-w-line" }, readout,
      `n = tanh(a + r\u00b7(w h + b)) = tanh(${fmt(m.a, 2)} + ${fmt(m.r, 2)}\u00b7${factor(inner, 2)}) = `);
    html("strong", { "data-output": "n" }, line1, fmt(n));
    const line2 = html("span", { class: "grubook-w-line" }, readout,
      `h\u2032 = (1 \u2212 z)\u00b7n + z\u00b7h = ${fmt(1 - m.z, 2)}\u00b7${factor(n)} + ${fmt(m.z, 2)}\u00b7${factor(m.h, 2)} = `);
    html("strong", { "data-output": "h_next" }, line2, fmt(hNext));
  }
  onChange(model, ["r", "z", "h", "a", "w_hn", "b_hn"], draw);
}

// ---- the memory explorer: z^k against a tanh RNN's gradient norm ----

function uniform(seed, count) {
  let state = (seed % (MODULUS - 1)) + 1;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    state = (state * 16807) % MODULUS; // exact: below 2^46
    out[i] = (2 * state) / MODULUS - 1;
  }
  return out;
}

function orthogonal(seed, H) {
  const flat = uniform(seed, H * H);
  const Q = Array.from({ length: H }, (_, i) => flat.slice(i * H, (i + 1) * H));
  const dot = (u, v) => u.reduce((sum, ui, k) => sum + ui * v[k], 0);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < i; j++) {
      const d = dot(Q[i], Q[j]);
      for (let k = 0; k < H; k++) Q[i][k] -= d * Q[j][k];
    }
    const norm = Math.sqrt(dot(Q[i], Q[i]));
    for (let k = 0; k < H; k++) Q[i][k] /= norm;
  }
  return Q;
}

// The geometric mean over the sequences of |d(u.h_T)/dh_{T-k}|, k = 0..T (widgets.py's
// MemoryExplorer.gradient_norms).
function gradientNorms(m) {
  const { steps: T, sequences: S, hidden_size: H, scale, input_scale, seed } = m;
  const W = orthogonal(seed, H).map((row) => row.map((q) => scale * q));
  const x = uniform(seed + 1, S * T * H).map((u) => input_scale * u);
  const logs = new Float64Array(T + 1);
  for (let s = 0; s < S; s++) {
    let h = new Float64Array(H);
    const hs = [];
    for (let t = 0; t < T; t++) {
      const next = new Float64Array(H);
      for (let i = 0; i < H; i++) {
        let sum = 0;
        for (let j = 0; j < H; j++) sum += h[j] * W[i][j];
        next[i] = Math.tanh(sum + x[(s * T + t) * H + i]);
      }
      hs.push((h = next));
    }
    let g = new Float64Array(H).fill(1 / Math.sqrt(H));
    for (let t = T - 1, k = 1; t >= 0; t--, k++) {
      const back = new Float64Array(H);
      for (let i = 0; i < H; i++) {
        const gi = g[i] * (1 - hs[t][i] ** 2);
        for (let j = 0; j < H; j++) back[j] += gi * W[i][j];
      }
      g = back;
      logs[k] += Math.log(Math.max(Math.hypot(...g), 1e-300));
    }
  }
  return Array.from(logs, (sum) => Math.exp(sum / S));
}

function plot(parent, { title, ylow, yhigh, yticks, ylabel }) {
  const box = svg("svg", { viewBox: "0 0 300 210", role: "img" }, parent);
  const area = { left: 44, right: 290, top: 28, bottom: 176 };
  svg("text", { x: 167, y: 14, class: "grubook-w-title" }, box, title);
  const id = `grubook-clip-${++clipCount}`;
  const clip = svg("clipPath", { id }, svg("defs", {}, box));
  svg("rect", { x: area.left, y: area.top, width: area.right - area.left,
    height: area.bottom - area.top }, clip);
  const Y = (v) => area.bottom - ((v - ylow) / (yhigh - ylow)) * (area.bottom - area.top);
  for (const [v, label] of yticks) {
    svg("line", { x1: area.left, x2: area.right, y1: Y(v), y2: Y(v), class: "grubook-w-grid" }, box);
    svg("text", { x: area.left - 4, y: Y(v) + 4, class: "grubook-w-ytick" }, box, label);
  }
  svg("text", { x: 167, y: 206, class: "grubook-w-tick" }, box, ylabel);
  const layer = svg("g", { "clip-path": `url(#${id})` }, box);
  const xaxis = svg("g", {}, box);
  return {
    box,
    // Each curve: {values (k = 0..T), cls}; each mark: a k where a vertical line goes.
    draw(curves, T, marks = []) {
      layer.replaceChildren();
      xaxis.replaceChildren();
      const X = (k) => area.left + (k / T) * (area.right - area.left);
      for (const k of marks) {
        svg("line", { x1: X(k), x2: X(k), y1: area.top, y2: area.bottom, class: "grubook-w-marker" },
          layer);
      }
      for (const k of [0, T / 2, T]) {
        svg("text", { x: X(k), y: area.bottom + 14, class: "grubook-w-tick" }, xaxis, String(k));
      }
      for (const { values, cls } of curves) {
        const points = values.map((v, k) => `${X(k).toFixed(1)},${Y(v).toFixed(1)}`).join(" ");
        svg("polyline", { points, class: cls }, layer);
      }
    },
  };
}

function renderMemory(model, root) {
  const controls = html("div", { class: "grubook-w-controls" }, root);
  slider(controls, model, "z", "z, update gate", 0, 1, 0.01);
  slider(controls, model, "scale", "\u03c3, weight scale", 0, 4, 0.05);
  const plots = html("div", { class: "grubook-w-plots" }, root);
  const kept = plot(plots, {
    title: "GRU: what z keeps after k steps, z\u1d4f", ylow: 0, yhigh: 1, ylabel: "k steps",
    yticks: [[0, "0"], [0.5, "0.5"], [1, "1"]],
  });
  const decades = [-12, -9, -6, -3, 0, 3, 6];
  const grads = plot(plots, {
    title: "tanh RNN: gradient norm k steps back", ylow: -12, yhigh: 6, ylabel: "k steps",
    yticks: decades.map((d) => [d, d === 0 ? "1" : `1e${fmt(d, 0)}`]),
  });
  const legend = html("p", { class: "grubook-w-legend" }, root);
  html("span", { class: "grubook-w-key-rnn" }, legend, "\u2014 tanh RNN, measured");
  html("span", { class: "grubook-w-key-bound" }, legend, "- - bound \u03c3\u1d4f");
  html("span", { class: "grubook-w-key-gate" }, legend, "\u00b7\u00b7\u00b7 GRU's path through z, z\u1d4f");
  const readout = html("p", { class: "grubook-w-readout" }, root);

  function draw() {
    const m = Object.fromEntries(
      ["z", "scale", "steps", "hidden_size", "sequences", "input_scale", "seed"].map((k) => [k, model.get(k)]));
    const T = m.steps;
    const retention = Array.from({ length: T + 1 }, (_, k) => m.z ** k);
    const norms = gradientNorms(m);
    const log10 = (v) => Math.log10(Math.max(v, 1e-300));
    const half = Math.log(0.5) / Math.log(m.z); // steps until half is left
    kept.draw([{ values: retention, cls: "grubook-w-gate" }], T, half > 0 && half <= T ? [half] : []);
    grads.draw([
      { values: retention.map(log10), cls: "grubook-w-gate" },
      { values: retention.map((_, k) => k * Math.log10(Math.max(m.scale, 1e-300))), cls: "grubook-w-bound" },
      { values: norms.map(log10), cls: "grubook-w-rnn" },
    ], T);

    readout.replaceChildren();
    const line1 = html("span", { class: "grubook-w-line" }, readout, `After T = ${T} steps a gate z keeps `);
    html("strong", { "data-output": "retention" }, line1, fmt(retention[T]));
    line1.append(Number.isFinite(half) && half > 0
      ? ` of a value (half of it after ${half.toFixed(1)} steps).` : " of a value.");
    const line2 = html("span", { class: "grubook-w-line" }, readout,
      `The RNN's gradient T steps back: `);
    html("strong", { "data-output": "gradient" }, line2, sci(norms[T]));
    line2.append(` (bound \u03c3\u1d40 = ${sci(m.scale ** T)}).`);
  }
  onChange(model, ["z", "scale", "steps", "hidden_size", "sequences", "input_scale", "seed"], draw);
}

function render({ model, el }) {
  el.classList.add("grubook-widget");
  if (model.get("explorer") === "gate") renderGate(model, el);
  else renderMemory(model, el);
}

export default { render };
