// Line charts on a <canvas>, drawn by hand: epochs along x, one line per series, an optional log
// scale for y. No library: the page must work offline and load nothing from elsewhere.
"use strict";

const PAD = { left: 52, right: 12, top: 10, bottom: 28 };

// Palette for series: readable on the light and the dark card.
export const COLOURS = ["#ff7a1a", "#2f6fed", "#1aa37a", "#b04fd1", "#d14f6a", "#8a8f3a",
  "#3aa0b8", "#7a5230"];

function niceStep(range, count) {
  const raw = range / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

// Tick positions in the chart's own units (log10 of the value on a log scale): powers of ten,
// or 1, 2 and 5 times them (then every digit) when the range spans too few of those.
function ticks(lo, hi, log) {
  if (log) {
    const inside = (t) => t >= lo - 1e-9 && t <= hi + 1e-9;
    for (const mantissas of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
      const out = [];
      for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
        for (const m of mantissas) out.push(e + Math.log10(m));
      }
      const kept = out.filter(inside);
      if (kept.length >= 2 || mantissas.length === 9) return kept;
    }
  }
  const step = niceStep(hi - lo, 4);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return out;
}

// 0.001 -> "1e-3", 0.002 -> "2e-3", 20 -> "20".
function logLabel(v) {
  if (v >= 0.01 && v < 1000) return String(Number(v.toPrecision(2)));
  const [m, e] = v.toExponential(0).split("e");
  return `${m}e${Number(e)}`;
}

// Draw `series` ([{name, points: [[epoch, value], ...]}]) on `canvas`. Values that are null or,
// on a log scale, not positive are skipped. Returns how many points were drawn.
export function drawChart(canvas, series, { log = false, format = (v) => String(v) } = {}) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 320, height = canvas.clientHeight || 200;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const style = getComputedStyle(canvas);
  const text = style.getPropertyValue("--text").trim() || "#444";
  const line = style.getPropertyValue("--line").trim() || "#ddd";

  const usable = series.map((s) => ({
    ...s, points: s.points.filter(([, v]) => v !== null && Number.isFinite(v) && (!log || v > 0)),
  }));
  const all = usable.flatMap((s) => s.points);
  canvas.dataset.points = String(all.length);
  if (!all.length) return 0;
  const ys = all.map(([, v]) => (log ? Math.log10(v) : v));
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (hi - lo < 1e-12) { lo -= log ? 0.5 : Math.abs(lo) * 0.1 + 0.01; hi += log ? 0.5 : Math.abs(hi) * 0.1 + 0.01; }
  const xMax = Math.max(2, ...all.map(([x]) => x));
  const X = (x) => PAD.left + ((x - 1) / (xMax - 1)) * (width - PAD.left - PAD.right);
  const Y = (v) => PAD.top + (1 - ((log ? Math.log10(v) : v) - lo) / (hi - lo)) * (height - PAD.top - PAD.bottom);

  g.font = "11px system-ui, sans-serif";
  g.strokeStyle = line;
  g.fillStyle = text;
  g.lineWidth = 1;
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (const t of ticks(lo, hi, log)) {
    const v = log ? 10 ** t : t;
    const y = Y(v);
    g.beginPath(); g.moveTo(PAD.left, y); g.lineTo(width - PAD.right, y); g.stroke();
    g.fillText(log ? logLabel(v) : format(v), PAD.left - 6, y);
  }
  g.textAlign = "center";
  g.textBaseline = "top";
  const xStep = Math.max(1, Math.round(niceStep(xMax - 1, 6)));
  for (let x = 1; x <= xMax; x += xStep) g.fillText(String(x), X(x), height - PAD.bottom + 8);

  usable.forEach((s, k) => {
    g.strokeStyle = s.colour || COLOURS[k % COLOURS.length];
    g.fillStyle = g.strokeStyle;
    g.lineWidth = 2;
    g.beginPath();
    s.points.forEach(([x, v], i) => (i ? g.lineTo(X(x), Y(v)) : g.moveTo(X(x), Y(v))));
    g.stroke();
    if (s.points.length === 1) {
      const [x, v] = s.points[0];
      g.beginPath(); g.arc(X(x), Y(v), 3, 0, 2 * Math.PI); g.fill();
    }
  });
  return all.length;
}

// A legend: one coloured swatch and name per series.
export function legend(element, series) {
  element.replaceChildren();
  series.forEach((s, k) => {
    const item = document.createElement("span");
    item.className = "legend-item";
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = s.colour || COLOURS[k % COLOURS.length];
    item.append(swatch, s.name);
    element.append(item);
  });
}
