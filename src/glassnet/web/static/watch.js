// glassnet's live page: follow a run as it trains. Every second it asks /api/run whether the
// run's history has changed (training rewrites history.json after epochs) and redraws the curves;
// when the weights changed too (a new checkpoint, or the final model) it fetches /api/weights.
// No external scripts, no inline code: the server's Content-Security-Policy allows neither.
"use strict";

import { drawChart, legend } from "/static/charts.js";
import { paintImage, shortNumber } from "/static/grids.js";

const title = document.getElementById("run-name");
const settingsLine = document.getElementById("run-settings");
const status = document.getElementById("run-status");
const lossChart = document.getElementById("loss-chart");
const accuracyChart = document.getElementById("accuracy-chart");
const gradientChart = document.getElementById("gradient-chart");
const weights = document.getElementById("weights");
const weightsNote = document.getElementById("weights-note");
const problem = document.getElementById("problem");

let historyVersion = null;
let weightsVersion = null;
let rows = [];
let pollSeconds = 1;

// One colour per meaning across the page: the parts of the data in the loss and accuracy charts,
// and, apart from them, the layers in the gradient chart (orange is "training" only).
const PART_COLOURS = { training: "#ff7a1a", validation: "#2f6fed", test: "#1aa37a" };
const LAYER_COLOURS = ["#b04fd1", "#d14f6a", "#8a8f3a", "#3aa0b8", "#7a5230", "#5a5ad1",
  "#c46a9a", "#4f7a52"];

function series(name, key, colour) {
  return { name, colour: colour || PART_COLOURS[name],
    points: rows.map((r) => [r.epoch, r[key] ?? null]) };
}

// The figure for each layer's gradient size: how fast its units learn, the bias gradient's norm
// (the weight gradient's also grows with the layer's input, large for the first layer), or the
// weight gradient's where a history has no other.
function gradientKey() {
  return rows.some((r) => r.bias_grad_norm_1 !== undefined) ? "bias_grad_norm" : "grad_norm";
}

function layerCount(key) {
  let n = 0;
  while (rows.some((r) => r[`${key}_${n + 1}`] !== undefined)) n += 1;
  return n;
}

function drawCharts() {
  const losses = [series("training", "train_loss"), series("validation", "val_loss"),
    series("test", "test_loss")].filter((s) => s.points.some(([, v]) => v !== null));
  drawChart(lossChart, losses, { format: (v) => v.toFixed(2) });
  legend(document.getElementById("loss-legend"), losses);
  const accuracies = [series("training", "train_accuracy"), series("validation", "val_accuracy"),
    series("test", "test_accuracy")].filter((s) => s.points.some(([, v]) => v !== null));
  drawChart(accuracyChart, accuracies, { format: (v) => `${(100 * v).toFixed(0)}%` });
  legend(document.getElementById("accuracy-legend"), accuracies);
  const gradients = [];
  const key = gradientKey();
  for (let l = 1; l <= layerCount(key); l++) {
    gradients.push(series(`layer ${l}`, `${key}_${l}`, LAYER_COLOURS[(l - 1) % LAYER_COLOURS.length]));
  }
  gradientChart.dataset.figure = key;
  drawChart(gradientChart, gradients, { log: true });
  legend(document.getElementById("gradient-legend"), gradients);
  gradientChart.dataset.layers = String(gradients.length);
}

function describeSettings(s) {
  const parts = [];
  if (s.dataset) parts.push(s.dataset);
  if (s.hidden) parts.push(`hidden ${[].concat(s.hidden).join("-") || "none"}`);
  for (const key of ["activation", "optimizer"]) if (s[key]) parts.push(s[key]);
  if (s.learning_rate !== undefined) parts.push(`η = ${s.learning_rate}`);
  if (s.batch_size !== undefined) parts.push(`batch ${s.batch_size}`);
  return parts.join(" · ");
}

function showStatus(run) {
  const last = rows[rows.length - 1];
  const planned = run.settings.epochs;
  status.dataset.epochs = String(rows.length);
  status.dataset.training = String(run.training);
  const parts = [];
  if (!rows.length) {
    parts.push(run.training ? "Training: waiting for the first epoch to end…" : "No epochs yet.");
  } else {
    parts.push(`Epoch ${last.epoch}${planned ? ` of ${planned}` : ""}`);
    if (last.train_loss != null) parts.push(`training loss ${shortNumber(last.train_loss)}`);
    const which = ["val", "test", "train"].find((k) => last[`${k}_accuracy`] != null);
    const names = { val: "validation", test: "test", train: "training" };
    if (which) parts.push(`${names[which]} accuracy ${(100 * last[`${which}_accuracy`]).toFixed(2)}%`);
    if (run.training) parts.push("training…");
    else if (run.test_accuracy != null) parts.push(`finished: test accuracy ${(100 * run.test_accuracy).toFixed(2)}%`);
    else parts.push(run.stopped ? `stopped (${run.stopped})` : "not training now");
  }
  status.textContent = parts.join(" · ");
}

async function getJSON(path) {
  const response = await fetch(path);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || String(response.status));
  return answer;
}

// Which view of the first layer the page shows: the weights, or their change since the start.
let weightView = "weights";
let lastWeights = null;

async function refreshWeights() {
  lastWeights = await getJSON("/api/weights");
  drawWeights();
}

function drawWeights() {
  const answer = lastWeights;
  if (!answer) return;
  const change = weightView === "change" && answer.has_change;
  changeButton.disabled = !answer.has_change;
  weights.dataset.view = change ? "change" : "weights";
  weights.replaceChildren();
  for (const unit of answer.units) {
    const figure = document.createElement("figure");
    figure.className = "unit";
    const image = document.createElement("canvas");
    image.className = "weight-image";
    image.setAttribute("role", "img");
    image.setAttribute("aria-label", change
      ? `Change of unit ${unit.unit + 1}'s weights since the start`
      : `Weights of unit ${unit.unit + 1} of the first layer`);
    paintImage(image, change ? unit.change : unit.image);
    const caption = document.createElement("figcaption");
    caption.className = "muted small";
    caption.textContent = `unit ${unit.unit + 1}`;
    figure.append(image, caption);
    weights.append(figure);
  }
  weights.dataset.version = answer.version || "";
  weights.dataset.epoch = answer.epoch == null ? "" : String(answer.epoch);
  const source = answer.source === "checkpoint" ? `the checkpoint after epoch ${answer.epoch}`
    : "the trained model";
  weightsNote.textContent = !answer.units.length ? "No weights yet: the first checkpoint comes after an epoch."
    : change ? `Change since the start, from ${source}: what training has learned so far.`
    : `From ${source}.`;
}

const weightsButton = document.getElementById("show-weights");
const changeButton = document.getElementById("show-change");
for (const [button, view] of [[weightsButton, "weights"], [changeButton, "change"]]) {
  button.addEventListener("click", () => {
    weightView = view;
    weightsButton.setAttribute("aria-pressed", String(view === "weights"));
    changeButton.setAttribute("aria-pressed", String(view === "change"));
    drawWeights();
  });
}

async function poll() {
  try {
    // The rows come only when the history changed since the version this page has.
    const known = historyVersion ? `?version=${encodeURIComponent(historyVersion)}` : "";
    const run = await getJSON(`/api/run${known}`);
    pollSeconds = run.poll_seconds || 1;
    title.textContent = run.name;
    document.title = `glassnet · ${run.name}`;
    settingsLine.textContent = describeSettings(run.settings);
    if (run.rows && run.version !== historyVersion) {
      historyVersion = run.version;
      rows = run.rows;
      drawCharts();
    }
    showStatus(run);
    if (run.weights_version && run.weights_version !== weightsVersion) {
      weightsVersion = run.weights_version;
      await refreshWeights();
    }
    problem.textContent = run.problem ? `Could not read the run's files: ${run.problem}` : "";
    document.body.dataset.ready = "true";
  } catch (error) {
    problem.textContent = "The glassnet server is not answering. Is `glassnet watch` still running?";
  } finally {
    setTimeout(poll, pollSeconds * 1000);
  }
}

window.addEventListener("resize", () => drawCharts());
poll();
