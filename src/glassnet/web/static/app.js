// glassnet's drawing page: draw on #canvas, send the pixels to /api/predict, show the answer.
//
// The canvas is black with white strokes, as MNIST's digits are bright ink on black; the server
// prepares it with the same steps `glassnet predict` uses for files (crop, scale into 20x20,
// centre by mass). At most one request is in flight: strokes made meanwhile are sent as soon as
// the answer comes back, so the bars follow the pen without queueing stale drawings.
// No external scripts, no inline code: the server's Content-Security-Policy allows neither.
//
// Below the bars, backward.js shows the backward pass for the label picked by clicking a bar, and
// "learn this" teaches the page's own copy of the network, named by `session`.
"use strict";

import { createBackward } from "/static/backward.js";
import { gridFigure, paintLayer } from "/static/grids.js";

const STROKE_WIDTH = 20;          // in canvas pixels (the canvas is 280 wide): MNIST-like strokes
const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d", { willReadFrequently: true });
const inputCanvas = document.getElementById("input");
const inputCtx = inputCanvas.getContext("2d");
const bars = document.getElementById("bars");
const prediction = document.getElementById("prediction");
const timing = document.getElementById("timing");
const layers = document.getElementById("layers");
const status = document.getElementById("status");
const modelInfo = document.getElementById("model-info");

let model = null;
let drawing = false;
let last = null;
let inked = false;
let inFlight = false;
let dirty = false;
let generation = 0;               // bumped by Clear, so late answers for a cleared drawing are dropped

// This page's own copy of the network on the server is named by this random token (16 bytes).
const session = Array.from(crypto.getRandomValues(new Uint8Array(16)),
  (b) => b.toString(16).padStart(2, "0")).join("");
const backward = createBackward({
  session, canvasRows, isInked: () => inked, refresh: () => requestPrediction(), percent,
});

// ------------------------------------------------------------------ drawing
function resetCanvas() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#fff";
  ctx.fillStyle = "#fff";
  ctx.lineWidth = STROKE_WIDTH;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  inked = false;
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return {
    x: (event.clientX - box.left) * (canvas.width / box.width),
    y: (event.clientY - box.top) * (canvas.height / box.height),
  };
}

function dot(p) {
  ctx.beginPath();
  ctx.arc(p.x, p.y, STROKE_WIDTH / 2, 0, 2 * Math.PI);
  ctx.fill();
}

function segment(a, b) {
  ctx.beginPath();
  ctx.moveTo(a.x, a.y);
  ctx.lineTo(b.x, b.y);
  ctx.stroke();
}

canvas.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  drawing = true;
  last = point(event);
  dot(last);
  inked = true;
  requestPrediction();
});

canvas.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  event.preventDefault();
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const e of events.length ? events : [event]) {
    const p = point(e);
    segment(last, p);
    last = p;
  }
  requestPrediction();
});

function endStroke(event) {
  if (!drawing) return;
  drawing = false;
  last = null;
  if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
  requestPrediction();
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);

// ------------------------------------------------------------------ talking to the server
// The canvas as rows of grayscale values (the red channel: the strokes are white on black),
// trimmed to the inked part plus a black margin. The server crops to the ink anyway and takes
// the paper's level from the border, which the margin keeps black, so the answer is the same as
// for the whole canvas, and the request is several times smaller and faster to parse.
const MARGIN = 8;
function canvasRows() {
  const { data, width, height } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0, i = y * width * 4; x < width; x++, i += 4) {
      if (data[i] !== 0) {
        if (y < top) top = y;
        if (y > bottom) bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
  }
  if (bottom < 0) {           // no ink: the whole (black) canvas, which the server calls empty
    top = 0; left = 0; bottom = height - 1; right = width - 1;
  } else {
    top = Math.max(0, top - MARGIN);
    left = Math.max(0, left - MARGIN);
    bottom = Math.min(height - 1, Math.max(bottom + MARGIN, top + 7));
    right = Math.min(width - 1, Math.max(right + MARGIN, left + 7));
  }
  const rows = [];
  for (let y = top; y <= bottom; y++) {
    const row = new Array(right - left + 1);
    for (let x = left, i = (y * width + left) * 4; x <= right; x++, i += 4) row[x - left] = data[i];
    rows.push(row);
  }
  return rows;
}

function requestPrediction() {
  dirty = true;
  if (!inFlight) send();
}

async function send() {
  if (!dirty) return;
  dirty = false;
  if (!inked) return;
  inFlight = true;
  const sentFor = generation;
  const started = performance.now();
  try {
    const response = await fetch("/api/predict", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pixels: canvasRows(), session }),
    });
    const answer = await response.json();
    if (sentFor !== generation) return;
    if (!response.ok) {
      showStatus(`The server refused the drawing: ${answer.error || response.status}`);
    } else {
      showStatus("");
      render(answer, performance.now() - started);
    }
  } catch (error) {
    showStatus("The glassnet server is not answering. Is `glassnet serve` still running?");
  } finally {
    inFlight = false;
    if (dirty) send();
  }
}

function showStatus(text) {
  status.textContent = text;
}

// ------------------------------------------------------------------ showing the answer
function percent(p) {
  return `${(100 * p).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`;
}

function buildBars(names) {
  bars.replaceChildren();
  names.forEach((name, k) => {
    // Each bar is a button: clicking it says the drawing should be this class (backward.js).
    const item = document.createElement("li");
    const bar = document.createElement("button");
    bar.type = "button";
    bar.className = "bar";
    bar.dataset.class = String(k);
    bar.dataset.probability = "0";
    bar.setAttribute("aria-pressed", "false");
    const label = document.createElement("span");
    label.className = "bar-label";
    label.textContent = name;
    const track = document.createElement("span");
    track.className = "bar-track";
    const fill = document.createElement("span");
    fill.className = "bar-fill";
    track.append(fill);
    const value = document.createElement("span");
    value.className = "bar-value";
    value.textContent = "–";
    bar.append(label, track, value);
    bar.setAttribute("aria-label", `${name}: no answer yet`);
    bar.addEventListener("click", () => backward.pick(k));
    item.append(bar);
    bars.append(item);
  });
}

function setBars(probabilities) {
  const best = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
  for (const item of bars.querySelectorAll(".bar")) {
    const k = Number(item.dataset.class);
    const p = probabilities ? probabilities[k] : 0;
    item.dataset.probability = probabilities ? p.toFixed(4) : "0";
    item.classList.toggle("best", k === best);
    item.querySelector(".bar-fill").style.transform = `scaleX(${p})`;
    item.querySelector(".bar-value").textContent = probabilities ? percent(p) : "–";
    const name = item.querySelector(".bar-label").textContent;
    item.setAttribute("aria-label", probabilities ? `${name}: ${percent(p)}` : `${name}: no answer yet`);
  }
}

function drawInput(image) {
  const pixels = inputCtx.createImageData(28, 28);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = Math.round(255 * (image ? image[y][x] : 0));
      const i = 4 * (28 * y + x);
      pixels.data[i] = pixels.data[i + 1] = pixels.data[i + 2] = v;
      pixels.data[i + 3] = 255;
    }
  }
  inputCtx.putImageData(pixels, 0, 0);
}

function buildLayers(sizes, activation) {
  layers.replaceChildren();
  sizes.slice(1, -1).forEach((units, l) => {
    const [figure, grid] = gridFigure(units, `layer-${l + 1}`, `Layer ${l + 1} · ${units} units`,
      `Hidden layer ${l + 1}: ${units} ${activation} units`);
    layers.append(figure);
    paintLayer(grid, null);
  });
}

function render(answer, roundTrip) {
  if (answer.empty) {
    clearAnswer();
    return;
  }
  setBars(answer.probabilities);
  const [best, ...others] = answer.top;
  prediction.dataset.state = "answer";
  prediction.dataset.class = String(best.class);
  prediction.replaceChildren();
  const digit = document.createElement("strong");
  digit.id = "predicted-class";
  digit.textContent = best.name;
  prediction.append("It reads ", digit, ` · ${percent(best.probability)} sure`);
  if (others.length) {
    const rest = document.createElement("span");
    rest.className = "muted alternatives";
    rest.textContent = ` — then ${others.map((o) => `${o.name} (${percent(o.probability)})`).join(", ")}`;
    prediction.append(rest);
  }
  drawInput(answer.input);
  [...layers.querySelectorAll("canvas")].forEach((grid, l) => paintLayer(grid, answer.activations[l]));
  timing.textContent = `${answer.milliseconds.toFixed(1)} ms on the server, ${Math.round(roundTrip)} ms round trip`;
  backward.onAnswer(answer);
}

function clearAnswer() {
  setBars(null);
  prediction.dataset.state = "empty";
  delete prediction.dataset.class;
  prediction.textContent = "Draw a digit";
  drawInput(null);
  for (const grid of layers.querySelectorAll("canvas")) paintLayer(grid, null);
  timing.textContent = "";
  backward.onAnswer(null);
}

function clearAll() {
  generation += 1;
  dirty = false;
  resetCanvas();
  clearAnswer();
  showStatus("");
}

document.getElementById("clear").addEventListener("click", () => {
  clearAll();
  canvas.focus();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" || (event.target === canvas && (event.key === "Delete" || event.key === "Backspace"))) {
    event.preventDefault();
    clearAll();
  }
});

// ------------------------------------------------------------------ start
function describe(m) {
  const parts = [m.layer_sizes.join(" → "), m.activation, `${m.n_parameters.toLocaleString("en")} parameters`];
  const accuracy = m.metrics && m.metrics.test_accuracy;
  if (typeof accuracy === "number") parts.push(`test accuracy ${(100 * accuracy).toFixed(2)}%`);
  if (m.dataset) parts.unshift(m.dataset);
  return parts.join(" · ");
}

async function start() {
  resetCanvas();
  drawInput(null);
  buildBars(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  try {
    const response = await fetch("/api/model");
    model = await response.json();
    if (!response.ok) throw new Error(model.error);
    modelInfo.textContent = describe(model);
    buildBars(model.class_names);
    buildLayers(model.layer_sizes, model.activation);
    backward.setModel(model);
    document.body.dataset.ready = "true";
  } catch (error) {
    modelInfo.textContent = "Could not load the model from the glassnet server.";
  }
}

start();
