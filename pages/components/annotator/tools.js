// CaseDeck annotation tools: drawing arrows, rulers, angles, shapes and text on an image in
// IMAGE PIXEL coordinates. Shared by the annotation editor (pages/components/annotator) and the
// stack viewer's annotate mode (pages/components/stack_viewer): each component's Python module
// puts this file in front of its own script, so both draw, hit-test and edit with the same code.
//
// Everything lives in the CDAnnotate namespace. A host (the editor's stage, the viewer's overlay)
// gives createEditor() its canvas, label layer, text box, toolbar (buildToolbar()), status line and
// callbacks, and tells the editor where the image is on that canvas (setView: css px of the image's
// top-left corner and css px per image pixel). Coordinates: x right, y down, origin at the image's
// top-left corner, floats; the canvas transform maps them to the screen. Sizes follow
// casefiles/annotations (burn.py): style.width and text size are pixels on a 1024-pixel display,
// i.e. width * max(W, H) / 1024 image pixels, and arrow heads, ruler ticks and label placement use
// burn.py's rules, so the exported slide shows the picture drawn here.

const CDAnnotate = (() => {
const KINDS = ["arrow", "ruler", "angle", "ellipse", "rectangle", "polyline", "text"];
const TOOLS = [
  { id: "select", label: "Select", hint: "Click an annotation to select it; drag it or its handles; Delete removes it." },
  { id: "arrow", label: "Arrow", hint: "Drag from the tail to the point of interest." },
  { id: "ruler", label: "Ruler", hint: "Drag to measure a length." },
  { id: "angle", label: "Angle", hint: "Click (or drag) the first arm end, then the vertex, then the second arm end." },
  { id: "ellipse", label: "Ellipse", hint: "Drag a box around the finding." },
  { id: "rectangle", label: "Rectangle", hint: "Drag a box around the finding." },
  { id: "freehand", label: "Freehand", hint: "Drag to draw an outline; end near the start to close it." },
  { id: "polygon", label: "Polygon", hint: "Click the corners; click the first one (or double-click) to finish, Enter leaves it open." },
  { id: "text", label: "Text", hint: "Click where the label goes, type, press Enter." },
];
const HANDLE_PX = 5; // handle radius on screen
const HIT_PX = 6; // click tolerance on screen
const CLICK_PX = 3; // a press that moves less than this is a click
const DEFAULT_COLOR = "#ffd400";
const DEFAULT_WIDTH = 3; // casefiles.annotations.model.DEFAULT_WIDTH
const DEFAULT_TEXT_SIZE = 24; // casefiles.annotations.model.DEFAULT_TEXT_SIZE
const REFERENCE_SIDE = 1024; // casefiles.annotations.burn.REFERENCE_SIDE
const MIN_WIDTH = 0.5;
const MAX_WIDTH = 50;

// ---------- pure helpers ----------

function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

function round2(v) {
  return Math.round(v * 100) / 100;
}

function newId() {
  const bytes = new Uint8Array(6); // 12 hex digits, like casefiles.annotations.model.new_annotation_id
  crypto.getRandomValues(bytes); // works outside secure contexts, unlike randomUUID
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function isPoint(p) {
  return Array.isArray(p) && p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]);
}

// A stable text form for comparing lists that went through Python and back.
function canonical(value) {
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  if (value && typeof value === "object") {
    return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
  }
  if (typeof value === "number") return String(round2(value));
  return JSON.stringify(value === undefined ? null : value);
}

function normalise(raw) {
  // Keep keys we do not know (the model decides about them); drop what cannot be drawn rather than crash.
  const out = [];
  for (const a of Array.isArray(raw) ? raw : []) {
    if (!a || typeof a !== "object" || !KINDS.includes(a.kind)) continue;
    const points = Array.isArray(a.points) ? a.points.filter(isPoint).map((p) => [p[0], p[1]]) : [];
    if (points.length === 0) continue;
    const style = a.style && typeof a.style === "object" ? a.style : {};
    const b = {
      ...a,
      id: typeof a.id === "string" && a.id ? a.id : newId(),
      points,
      style: {
        ...style,
        color: typeof style.color === "string" ? style.color : DEFAULT_COLOR,
        width: Number.isFinite(style.width) && style.width > 0 ? style.width : DEFAULT_WIDTH,
      },
      visible: a.visible !== false,
      text: typeof a.text === "string" ? a.text : "",
    };
    if (a.kind === "polyline") b.closed = a.closed === true;
    if (a.kind === "text") b.size = Number.isFinite(a.size) && a.size > 0 ? a.size : DEFAULT_TEXT_SIZE;
    out.push(b);
  }
  return out;
}

// What casefiles.annotations.model accepts (it refuses degenerate shapes); checked before sending.
function isValid(a) {
  const p = a.points;
  const same = (q, r) => q[0] === r[0] && q[1] === r[1];
  if (a.kind === "arrow" || a.kind === "ruler") return p.length === 2 && !same(p[0], p[1]);
  if (a.kind === "angle") return p.length === 3 && !same(p[0], p[1]) && !same(p[2], p[1]);
  if (a.kind === "ellipse" || a.kind === "rectangle") return p.length === 2 && p[0][0] !== p[1][0] && p[0][1] !== p[1][1];
  if (a.kind === "polyline") {
    const distinct = new Set(p.map((q) => q.join(","))).size;
    return distinct >= (a.closed ? 3 : 2);
  }
  if (a.kind === "text") return p.length === 1 && a.text.trim() !== "";
  return false;
}

function clone(list) {
  return JSON.parse(JSON.stringify(list));
}

function forState(list) {
  return list.map((a) => ({ ...a, points: a.points.map((p) => [round2(p[0]), round2(p[1])]) }));
}

// Physical length of a segment in mm when spacing = [row, col] mm is known (measure.py's format).
function lengthLabel(p, q, spacing) {
  const dx = q[0] - p[0];
  const dy = q[1] - p[1];
  if (spacing) return Math.hypot(dx * spacing[1], dy * spacing[0]).toFixed(1) + " mm";
  return Math.hypot(dx, dy).toFixed(0) + " px";
}

function angleLabel(a, v, b, spacing) {
  const sx = spacing ? spacing[1] : 1;
  const sy = spacing ? spacing[0] : 1;
  const ux = (a[0] - v[0]) * sx, uy = (a[1] - v[1]) * sy;
  const wx = (b[0] - v[0]) * sx, wy = (b[1] - v[1]) * sy;
  const n = Math.hypot(ux, uy) * Math.hypot(wx, wy);
  if (n === 0) return "—";
  const deg = (Math.acos(clamp((ux * wx + uy * wy) / n, -1, 1)) * 180) / Math.PI;
  return deg.toFixed(1) + "°";
}


function distToSegment(p, a, b) {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : clamp(((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2, 0, 1);
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

// Ramer–Douglas–Peucker: a freehand stroke keeps its shape with far fewer points.
function simplify(points, eps) {
  if (points.length < 3) return points;
  let best = 0, index = 0;
  const first = points[0], last = points[points.length - 1];
  for (let i = 1; i < points.length - 1; i++) {
    const d = distToSegment(points[i], first, last);
    if (d > best) { best = d; index = i; }
  }
  if (best <= eps) return [first, last];
  return simplify(points.slice(0, index + 1), eps).slice(0, -1).concat(simplify(points.slice(index), eps));
}


// ---------- the toolbar (tools, colour, width, hide, delete) ----------

function buildToolbar() {
  const toolbar = document.createElement("div");
  toolbar.className = "cd-toolbar";
  toolbar.setAttribute("role", "toolbar");
  for (const tool of TOOLS) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = tool.label;
    b.title = tool.hint;
    b.dataset.tool = tool.id;
    b.setAttribute("aria-pressed", "false");
    toolbar.appendChild(b);
  }
  const color = document.createElement("input");
  color.type = "color";
  color.className = "cd-color";
  color.title = "Colour";
  color.setAttribute("aria-label", "Colour");
  const widthLabel = document.createElement("label");
  widthLabel.className = "cd-width-label";
  widthLabel.textContent = "Width ";
  const width = document.createElement("input");
  width.type = "number";
  width.min = String(MIN_WIDTH);
  width.max = String(MAX_WIDTH);
  width.step = "0.5";
  width.className = "cd-width";
  width.setAttribute("aria-label", "Line width");
  widthLabel.appendChild(width);
  const hide = document.createElement("button");
  hide.type = "button";
  hide.className = "cd-visibility";
  const del = document.createElement("button");
  del.type = "button";
  del.className = "cd-delete";
  del.textContent = "Delete selected";
  toolbar.append(color, widthLabel, hide, del);
  return toolbar;
}

// The label layer and the text box, laid over the canvas by the host (same top-left corner).
function buildLayers() {
  const labels = document.createElement("div");
  labels.className = "cd-labels";
  const input = document.createElement("input");
  input.type = "text";
  input.className = "cd-text-input";
  input.placeholder = "Label text, Enter";
  input.setAttribute("aria-label", "Annotation text");
  input.hidden = true;
  return { labels, input };
}

// ---------- the editor ----------

// host: { canvas, labels, input, toolbar, status, keyTarget, focus(), onCommit(list),
//         background(ctx, s)?  (draws the image in image px), ignorePointer(event)? }
function createEditor(host) {
  const toolbar = host.toolbar;
  const s = {
    host,
    toolbar,
    canvas: host.canvas,
    labels: host.labels,
    input: host.input,
    status: host.status,
    colorInput: toolbar.querySelector(".cd-color"),
    widthInput: toolbar.querySelector(".cd-width"),
    hideButton: toolbar.querySelector(".cd-visibility"),
    deleteButton: toolbar.querySelector(".cd-delete"),
    width: 1,
    height: 1,
    spacing: null,
    fill: false,
    ox: 0, // css px from the canvas's left edge to the image's
    oy: 0,
    scaleX: 1, // css px per image px
    scaleY: 1,
    scale: 1,
    annotations: [],
    selectedId: null,
    tool: "select",
    color: DEFAULT_COLOR,
    lineWidth: DEFAULT_WIDTH,
    unit: 0.5, // image pixels per "1024-display" pixel: max(width, height) / 1024
    labelBoxes: new Map(),
    drag: null, // pointer gesture in progress
    pending: null, // angle/polygon being clicked in
    draft: null, // annotation shown while drawing
    textEdit: null, // {id|null, point}
    lastIncoming: null,
    sent: [],
    edits: 0,
    blank: false, // nothing drawn on the canvas since it was last cleared
  };
  s.ctx = s.canvas.getContext("2d");

  s.toolbar.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-tool]");
    if (b) setTool(s, b.dataset.tool);
  });
  s.hideButton.addEventListener("click", () => toggleVisibility(s));
  s.deleteButton.addEventListener("click", () => deleteSelected(s));
  s.colorInput.addEventListener("input", () => styleChanged(s, false));
  s.colorInput.addEventListener("change", () => styleChanged(s, true));
  s.widthInput.addEventListener("input", () => styleChanged(s, false));
  s.widthInput.addEventListener("change", () => styleChanged(s, true));
  s.canvas.addEventListener("pointerdown", (e) => onDown(s, e));
  s.canvas.addEventListener("pointermove", (e) => onMove(s, e));
  s.canvas.addEventListener("pointerup", (e) => onUp(s, e));
  s.canvas.addEventListener("pointercancel", () => { s.drag = null; s.draft = null; draw(s); });
  s.canvas.addEventListener("dblclick", (e) => onDoubleClick(s, e));
  host.keyTarget.addEventListener("keydown", (e) => onKey(s, e));
  s.input.addEventListener("keydown", (e) => {
    e.stopPropagation();
    if (e.key === "Enter") finishText(s, true);
    else if (e.key === "Escape") finishText(s, false);
  });
  s.input.addEventListener("blur", () => finishText(s, true));
  syncControls(s);
  return s;
}

// The image the annotations belong to: its natural size (the coordinate system) and spacing (mm).
function setImage(s, width, height, spacing) {
  s.width = Math.max(1, Number(width) || 1);
  s.height = Math.max(1, Number(height) || 1);
  s.spacing = Array.isArray(spacing) && spacing.length === 2 ? spacing.map(Number) : null;
  s.unit = Math.max(s.width, s.height) / REFERENCE_SIDE;
}

// Only these tools (plus Select); one alone is chosen at once.
function setTools(s, allowed) {
  const only = Array.isArray(allowed) && allowed.length ? allowed : null;
  for (const b of s.toolbar.querySelectorAll("button[data-tool]")) {
    b.hidden = Boolean(only) && b.dataset.tool !== "select" && !only.includes(b.dataset.tool);
  }
  if (only && only.length === 1 && !s.toolsSet) s.tool = only[0];
  s.toolsSet = true;
  syncControls(s);
}

// Where the image is on the canvas, in css px; returns whether it moved.
function setView(s, ox, oy, scaleX, scaleY) {
  if (s.ox === ox && s.oy === oy && s.scaleX === scaleX && s.scaleY === scaleY) return false;
  s.ox = ox;
  s.oy = oy;
  s.scaleX = scaleX;
  s.scaleY = scaleY;
  s.scale = Math.min(scaleX, scaleY) || 1;
  if (s.textEdit) {
    s.input.style.left = `${s.ox + s.textEdit.point[0] * s.scaleX}px`;
    s.input.style.top = `${s.oy + s.textEdit.point[1] * s.scaleY}px`;
  }
  return true;
}

// A list from Python. Either the echo of one of our own edits (ignored: the local list may already
// be newer) or a change made elsewhere (taken). The first list, or with force, is always taken.
function receive(s, raw, force) {
  const incoming = normalise(raw);
  const incomingCanon = canonical(incoming);
  if (force || s.lastIncoming === null) {
    adopt(s, incoming);
  } else if (incomingCanon !== s.lastIncoming) {
    const echo = s.sent.includes(incomingCanon) || incomingCanon === canonical(s.annotations);
    if (!echo) adopt(s, incoming);
  }
  s.lastIncoming = incomingCanon;
}

// Whether a list from Python is the echo of one of our own edits.
function isEcho(s, raw) {
  return s.sent.includes(canonical(normalise(raw)));
}

function adopt(s, list) {
  if (s.textEdit) {
    s.textEdit = null;
    s.input.hidden = true;
    s.input.value = "";
  }
  s.annotations = list;
  if (!list.some((a) => a.id === s.selectedId)) s.selectedId = null;
  s.pending = null;
  s.draft = null;
  s.drag = null;
}

function toImage(s, e) {
  const r = s.canvas.getBoundingClientRect();
  const x = (e.clientX - r.left - s.ox) / s.scaleX;
  const y = (e.clientY - r.top - s.oy) / s.scaleY;
  return [clamp(x, 0, s.width), clamp(y, 0, s.height)];
}

// The canvas's backing store follows its css size and the device pixel ratio.
function fitCanvas(s, cssWidth, cssHeight) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(cssWidth * dpr));
  const h = Math.max(1, Math.round(cssHeight * dpr));
  if (s.canvas.width !== w || s.canvas.height !== h) {
    s.canvas.width = w;
    s.canvas.height = h;
    s.blank = true;
    return true;
  }
  return false;
}

function draw(s) {
  const ctx = s.ctx;
  const shown = s.annotations.filter((a) => a.visible);
  const all = s.draft ? shown.concat([s.draft]) : shown;
  if (all.length === 0 && !s.host.background && !s.textEdit && s.blank && s.labels.children.length === 0) {
    if (!s.host.lazyStatus || s.host.lazyStatus()) updateStatus(s);
    return; // nothing to draw and nothing on the canvas: a scroll through unannotated slices costs nothing
  }
  const dpr = window.devicePixelRatio || 1;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, s.canvas.width, s.canvas.height);
  ctx.setTransform(dpr * s.scaleX, 0, 0, dpr * s.scaleY, dpr * s.ox, dpr * s.oy);
  if (s.host.background) s.host.background(ctx, s);
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, 0, s.width, s.height);
  ctx.clip(); // anything outside the image is clipped, never drawn over the page
  for (const a of all) drawShape(s, a);
  const sel = s.annotations.find((a) => a.id === s.selectedId && a.visible);
  if (sel) drawHandles(s, sel);
  ctx.restore();
  s.blank = all.length === 0;
  renderLabels(s, all);
  updateStatus(s);
}

function thickness(s, a) {
  return a.style.width * s.unit;
}

// Stroke a path twice: a dark halo, then the colour (burn.py does the same so yellow shows on bone).
function stroke(s, a, path) {
  const ctx = s.ctx;
  const t = thickness(s, a);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = "rgba(0,0,0,0.85)";
  ctx.lineWidth = t + 2 * Math.max(1, s.unit);
  path();
  ctx.stroke();
  ctx.strokeStyle = a.style.color;
  ctx.lineWidth = t;
  path();
  ctx.stroke();
}

function drawShape(s, a) {
  const ctx = s.ctx;
  const p = a.points;
  const t = thickness(s, a);
  if (a.kind === "arrow" && p.length >= 2) {
    const [x0, y0] = p[0], [x1, y1] = p[1];
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (len === 0) return;
    const ux = (x1 - x0) / len, uy = (y1 - y0) / len;
    const head = Math.min(Math.max(5 * t, 26 * s.unit), 0.45 * len);
    const half = head * 0.4;
    const bx = x1 - ux * head, by = y1 - uy * head;
    const tri = () => {
      ctx.beginPath();
      ctx.moveTo(x1, y1);
      ctx.lineTo(bx - uy * half, by + ux * half);
      ctx.lineTo(bx + uy * half, by - ux * half);
      ctx.closePath();
    };
    ctx.lineJoin = "round";
    ctx.strokeStyle = "rgba(0,0,0,0.85)";
    ctx.lineWidth = 2 * Math.max(1, s.unit);
    tri();
    ctx.stroke();
    stroke(s, a, () => {
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(bx + ux * 0.5 * t, by + uy * 0.5 * t);
    });
    ctx.fillStyle = a.style.color;
    tri();
    ctx.fill();
  } else if (a.kind === "ruler" && p.length >= 2) {
    const [x0, y0] = p[0], [x1, y1] = p[1];
    const len = Math.hypot(x1 - x0, y1 - y0) || 1;
    const tick = Math.max(5 * s.unit, 1.5 * t);
    const nx = (-(y1 - y0) / len) * tick, ny = ((x1 - x0) / len) * tick;
    stroke(s, a, () => {
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.moveTo(x0 - nx, y0 - ny);
      ctx.lineTo(x0 + nx, y0 + ny);
      ctx.moveTo(x1 - nx, y1 - ny);
      ctx.lineTo(x1 + nx, y1 + ny);
    });
  } else if (a.kind === "ellipse" && p.length >= 2) {
    const cx = (p[0][0] + p[1][0]) / 2, cy = (p[0][1] + p[1][1]) / 2;
    const rx = Math.abs(p[1][0] - p[0][0]) / 2, ry = Math.abs(p[1][1] - p[0][1]) / 2;
    stroke(s, a, () => {
      ctx.beginPath();
      ctx.ellipse(cx, cy, Math.max(rx, 0.01), Math.max(ry, 0.01), 0, 0, 2 * Math.PI);
    });
  } else if (a.kind === "rectangle" && p.length >= 2) {
    const x = Math.min(p[0][0], p[1][0]), y = Math.min(p[0][1], p[1][1]);
    if (s.fill) {
      // Redaction boxes: what will be blacked out, shown dark but see-through so the user can aim.
      ctx.fillStyle = "rgba(0,0,0,0.7)";
      ctx.fillRect(x, y, Math.abs(p[1][0] - p[0][0]), Math.abs(p[1][1] - p[0][1]));
    }
    stroke(s, a, () => {
      ctx.beginPath();
      ctx.rect(x, y, Math.abs(p[1][0] - p[0][0]), Math.abs(p[1][1] - p[0][1]));
    });
  } else if ((a.kind === "polyline" || a.kind === "angle") && p.length >= 2) {
    stroke(s, a, () => {
      ctx.beginPath();
      ctx.moveTo(p[0][0], p[0][1]);
      for (const q of p.slice(1)) ctx.lineTo(q[0], q[1]);
      if (a.closed) ctx.closePath();
    });
  }
}

function handlePoints(a) {
  return a.kind === "text" ? [] : a.points;
}

function drawHandles(s, a) {
  const ctx = s.ctx;
  const r = HANDLE_PX / s.scale;
  ctx.lineWidth = 1.5 / s.scale;
  for (const p of handlePoints(a)) {
    ctx.beginPath();
    ctx.arc(p[0], p[1], r, 0, 2 * Math.PI);
    ctx.fillStyle = "#ffffff";
    ctx.fill();
    ctx.strokeStyle = "#0068c9";
    ctx.stroke();
  }
  const box = s.labelBoxes.get(a.id);
  if (a.kind === "text" && box) {
    ctx.strokeStyle = "#0068c9";
    ctx.setLineDash([4 / s.scale, 3 / s.scale]);
    ctx.strokeRect(box.x, box.y, box.w, box.h);
    ctx.setLineDash([]);
  }
}

function measurement(s, a) {
  if (a.kind === "ruler" && a.points.length >= 2) return lengthLabel(a.points[0], a.points[1], s.spacing);
  if (a.kind === "angle" && a.points.length >= 3) return angleLabel(a.points[0], a.points[1], a.points[2], s.spacing);
  return null;
}

// The text shown with an annotation (measure.py's label_for: own text, then the measurement).
function labelFor(s, a) {
  const own = (a.text || "").trim();
  const measured = measurement(s, a);
  if (measured) return own ? `${own} ${measured}` : measured;
  return own;
}

function textSize(s, text, px) {
  s.ctx.save();
  s.ctx.setTransform(1, 0, 0, 1, 0, 0);
  s.ctx.font = `${px}px sans-serif`;
  const w = Math.max(...text.split("\n").map((line) => s.ctx.measureText(line).width));
  s.ctx.restore();
  return [w, px * text.split("\n").length];
}

function unitVector(dx, dy) {
  const len = Math.hypot(dx, dy);
  return len ? [dx / len, dy / len] : [1, 0];
}

// burn.py's _label: centre the text just beyond `at` in direction `away`, or on the other side if it
// does not fit; then _keep_inside nudges the box onto the image. Returns the box's top-left, in image px.
function placeLabel(s, a, text, px, at, away, otherSide) {
  const [w, h] = textSize(s, text, px);
  const pad = 4 * s.unit + thickness(s, a);
  const sides = otherSide ? [away, [-away[0], -away[1]]] : [away];
  let cx = null, cy = null;
  for (const [ax, ay] of sides) {
    const gap = (Math.abs(ax) * w) / 2 + (Math.abs(ay) * h) / 2 + pad;
    const x = at[0] + ax * gap, y = at[1] + ay * gap;
    if (w / 2 <= x && x <= s.width - w / 2 && h / 2 <= y && y <= s.height - h / 2) {
      cx = x;
      cy = y;
      break;
    }
  }
  if (cx === null) {
    const gap = (Math.abs(away[0]) * w) / 2 + (Math.abs(away[1]) * h) / 2 + pad;
    cx = at[0] + away[0] * gap;
    cy = at[1] + away[1] * gap;
  }
  return keepInside(s, cx - w / 2, cy - h / 2, w, h);
}

function keepInside(s, x, y, w, h) {
  if (w <= s.width) x = clamp(x, 0, s.width - w);
  if (h <= s.height) y = clamp(y, 0, s.height - h);
  return { x, y, w, h };
}

function labelLayout(s, a) {
  const text = labelFor(s, a);
  if (!text) return null;
  const p = a.points;
  if (a.kind === "text") {
    const px = (a.size || DEFAULT_TEXT_SIZE) * s.unit;
    const [w, h] = textSize(s, text, px);
    return { text, px, box: keepInside(s, p[0][0], p[0][1], w, h) };
  }
  const px = DEFAULT_TEXT_SIZE * s.unit;
  let box;
  if (a.kind === "ruler") {
    const [ux, uy] = unitVector(p[1][0] - p[0][0], p[1][1] - p[0][1]);
    let nx = -uy, ny = ux;
    if (ny > 0 || (ny === 0 && nx < 0)) { nx = -nx; ny = -ny; } // above / left of the line
    const mid = [(clamp(p[0][0], 0, s.width) + clamp(p[1][0], 0, s.width)) / 2,
      (clamp(p[0][1], 0, s.height) + clamp(p[1][1], 0, s.height)) / 2];
    box = placeLabel(s, a, text, px, mid, [nx, ny], true);
  } else if (a.kind === "angle") {
    const ua = unitVector(p[0][0] - p[1][0], p[0][1] - p[1][1]);
    const ub = unitVector(p[2][0] - p[1][0], p[2][1] - p[1][1]);
    let [bx, by] = unitVector(ua[0] + ub[0], ua[1] + ub[1]);
    if (Math.abs(ua[0] + ub[0]) < 1e-9 && Math.abs(ua[1] + ub[1]) < 1e-9) [bx, by] = [-ua[1], ua[0]];
    box = placeLabel(s, a, text, px, p[1], [-bx, -by], true);
  } else if (a.kind === "arrow") {
    const [ux, uy] = unitVector(p[1][0] - p[0][0], p[1][1] - p[0][1]);
    box = placeLabel(s, a, text, px, p[0], [-ux, -uy], false);
  } else if (a.kind === "ellipse" || a.kind === "rectangle") {
    const top = [(p[0][0] + p[1][0]) / 2, Math.min(p[0][1], p[1][1])];
    box = placeLabel(s, a, text, px, top, [0, -1], false);
  } else {
    box = placeLabel(s, a, text, px, p[0], [0, -1], false);
  }
  return { text, px, box };
}

function renderLabels(s, list) {
  const wanted = [];
  s.labelBoxes = new Map();
  for (const a of list) {
    if (a.kind === "text" && s.textEdit && s.textEdit.id === a.id) continue;
    const layout = labelLayout(s, a);
    if (!layout) continue;
    s.labelBoxes.set(a.id, layout.box);
    wanted.push({ a, ...layout });
  }
  while (s.labels.children.length > wanted.length) s.labels.lastChild.remove();
  while (s.labels.children.length < wanted.length) {
    const el = document.createElement("div");
    el.className = "cd-label";
    s.labels.appendChild(el);
  }
  wanted.forEach(({ a, text, px, box }, i) => {
    const el = s.labels.children[i];
    el.textContent = text;
    el.dataset.kind = a.kind;
    el.dataset.id = a.id;
    el.style.left = `${s.ox + box.x * s.scaleX}px`;
    el.style.top = `${s.oy + box.y * s.scaleY}px`;
    el.style.fontSize = `${px * s.scale}px`;
    el.style.color = a.style.color;
  });
}


// ---------- hit testing ----------

function hitHandle(s, a, p) {
  const tol = (HANDLE_PX + 2) / s.scale;
  const pts = handlePoints(a);
  for (let i = 0; i < pts.length; i++) if (Math.hypot(pts[i][0] - p[0], pts[i][1] - p[1]) <= tol) return i;
  return -1;
}

function hitShape(s, a, p) {
  const tol = HIT_PX / s.scale + thickness(s, a) / 2;
  const pts = a.points;
  const near = (q, r) => distToSegment(p, q, r) <= tol;
  const box = s.labelBoxes.get(a.id);
  if (box && p[0] >= box.x - tol && p[0] <= box.x + box.w + tol && p[1] >= box.y - tol && p[1] <= box.y + box.h + tol) {
    return true; // its label (the whole of a text annotation)
  }
  if (a.kind === "text") return false;
  if (a.kind === "rectangle") {
    const [[x0, y0], [x1, y1]] = pts;
    const c = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
    return c.some((q, i) => near(q, c[(i + 1) % 4]));
  }
  if (a.kind === "ellipse") {
    const cx = (pts[0][0] + pts[1][0]) / 2, cy = (pts[0][1] + pts[1][1]) / 2;
    const rx = Math.abs(pts[1][0] - pts[0][0]) / 2 || 0.01, ry = Math.abs(pts[1][1] - pts[0][1]) / 2 || 0.01;
    const d = Math.hypot((p[0] - cx) / rx, (p[1] - cy) / ry);
    return Math.abs(d - 1) * Math.min(rx, ry) <= tol; // the outline, like every other shape
  }
  for (let i = 0; i + 1 < pts.length; i++) if (near(pts[i], pts[i + 1])) return true;
  return a.kind === "polyline" && a.closed && pts.length > 2 && near(pts[pts.length - 1], pts[0]);
}

function hitTest(s, p) {
  const shown = s.annotations.filter((a) => a.visible);
  for (let i = shown.length - 1; i >= 0; i--) if (hitShape(s, shown[i], p)) return shown[i];
  return null;
}

// ---------- gestures ----------

// A new annotation with exactly the keys casefiles.annotations.model writes for its kind.
function newAnnotation(s, kind, points) {
  const a = { kind, id: newId(), points, style: { color: s.color, width: s.lineWidth }, visible: true, text: "" };
  if (kind === "polyline") a.closed = false;
  if (kind === "text") a.size = DEFAULT_TEXT_SIZE;
  return a;
}

// Corners as the model stores them (top-left first), so its round trip returns the same list.
function tidy(a) {
  if (a.kind === "rectangle" || a.kind === "ellipse") {
    const [[x0, y0], [x1, y1]] = a.points;
    a.points = [[Math.min(x0, x1), Math.min(y0, y1)], [Math.max(x0, x1), Math.max(y0, y1)]];
  }
  return a;
}

function screenDistance(s, p, q) {
  return Math.hypot(p[0] - q[0], p[1] - q[1]) * s.scale;
}

function onDown(s, e) {
  if (e.button !== 0 || (s.host.ignorePointer && s.host.ignorePointer(e))) return;
  if (s.textEdit) finishText(s, true);
  s.host.focus();
  s.canvas.setPointerCapture(e.pointerId);
  const p = toImage(s, e);
  const tool = s.tool;
  if (tool === "select") {
    const sel = s.annotations.find((a) => a.id === s.selectedId && a.visible);
    const handle = sel ? hitHandle(s, sel, p) : -1;
    if (sel && handle >= 0) {
      s.drag = { mode: "handle", id: sel.id, index: handle, start: p, before: canonical(s.annotations), snapshot: clone(sel.points) };
    } else {
      const hit = hitTest(s, p);
      s.selectedId = hit ? hit.id : null;
      if (hit) {
        const origin = clone(hit.points);
        s.drag = { mode: "move", id: hit.id, start: p, origin, snapshot: origin, before: canonical(s.annotations) };
        adoptStyleControls(s, hit);
      }
    }
  } else if (tool === "angle" || tool === "polygon") {
    if (!s.pending) {
      s.pending = { kind: tool === "angle" ? "angle" : "polyline", fixed: [p], float: p, pressStart: p, firstPress: true };
    } else {
      s.pending.pressStart = p;
      s.pending.firstPress = false;
      s.pending.float = p;
    }
    s.drag = { mode: "pending" };
    s.draft = pendingDraft(s);
  } else if (tool === "freehand") {
    s.draft = newAnnotation(s, "polyline", [p]);
    s.drag = { mode: "freehand", last: p };
  } else if (tool === "text") {
    s.drag = { mode: "text", start: p };
  } else {
    s.draft = newAnnotation(s, tool, [p, [...p]]);
    s.drag = { mode: "create", start: p };
  }
  draw(s);
}

function pendingDraft(s) {
  const pts = s.pending.fixed.concat([s.pending.float]);
  return { ...newAnnotation(s, s.pending.kind, pts), id: "draft" };
}

function onMove(s, e) {
  if (s.pending && !s.drag) {
    s.pending.float = toImage(s, e);
    s.draft = pendingDraft(s);
    draw(s);
    return;
  }
  if (!s.drag) return;
  const p = toImage(s, e);
  const d = s.drag;
  if (d.mode === "create") {
    s.draft.points[1] = p;
  } else if (d.mode === "freehand") {
    if (screenDistance(s, p, d.last) >= 2) {
      s.draft.points.push(p);
      d.last = p;
    }
  } else if (d.mode === "pending") {
    s.pending.float = p;
    s.draft = pendingDraft(s);
  } else if (d.mode === "handle") {
    const a = s.annotations.find((x) => x.id === d.id);
    if (a) a.points[d.index] = p;
  } else if (d.mode === "move") {
    const a = s.annotations.find((x) => x.id === d.id);
    if (a) {
      // Move the whole shape but keep every point on the image.
      const xs = d.origin.map((q) => q[0]), ys = d.origin.map((q) => q[1]);
      const dx = clamp(p[0] - d.start[0], -Math.min(...xs), s.width - Math.max(...xs));
      const dy = clamp(p[1] - d.start[1], -Math.min(...ys), s.height - Math.max(...ys));
      a.points = d.origin.map((q) => [q[0] + dx, q[1] + dy]);
    }
  } else {
    return;
  }
  draw(s);
}

function onUp(s, e) {
  const d = s.drag;
  s.drag = null;
  if (!d) return;
  const p = toImage(s, e);
  if (d.mode === "create") {
    const a = s.draft;
    s.draft = null;
    a.points[1] = p;
    if (screenDistance(s, a.points[0], a.points[1]) >= CLICK_PX) addAnnotation(s, a);
    else draw(s);
  } else if (d.mode === "freehand") {
    const a = s.draft;
    s.draft = null;
    a.points.push(p);
    let pts = simplify(a.points, 0.75 / s.scale);
    if (pts.length >= 3 && screenDistance(s, pts[0], pts[pts.length - 1]) <= 12) {
      a.closed = true;
      pts = pts.slice(0, -1);
    }
    a.points = pts;
    const drawn = pts.length >= 2 && (a.closed || screenDistance(s, pts[0], pts[pts.length - 1]) >= CLICK_PX);
    if (drawn) addAnnotation(s, a);
    else draw(s); // a click, not a stroke
  } else if (d.mode === "pending") {
    const pend = s.pending;
    const moved = screenDistance(s, pend.pressStart, p) >= CLICK_PX;
    if (pend.firstPress && !moved) {
      draw(s); // a click that only placed the first point
      return;
    }
    if (pend.kind === "polyline" && pend.fixed.length >= 3 && screenDistance(s, pend.fixed[0], p) <= 8) {
      finishPolygon(s, true);
      return;
    }
    if (screenDistance(s, pend.fixed[pend.fixed.length - 1], p) < CLICK_PX) {
      draw(s); // the same place again (e.g. the second click of a double-click) adds nothing
      return;
    }
    pend.fixed.push(p);
    pend.float = p;
    if (pend.kind === "angle" && pend.fixed.length === 3) {
      s.pending = null;
      s.draft = null;
      addAnnotation(s, newAnnotation(s, "angle", pend.fixed));
      return;
    }
    s.draft = pendingDraft(s);
    draw(s);
  } else if (d.mode === "text") {
    startText(s, null, d.start);
  } else if (d.mode === "handle" || d.mode === "move") {
    const a = s.annotations.find((x) => x.id === d.id);
    if (a && !isValid(tidy(a))) a.points = d.snapshot; // e.g. a box squashed flat: undo the drag
    if (canonical(s.annotations) !== d.before) commit(s);
    else draw(s);
  }
}

function onDoubleClick(s, e) {
  if (s.pending && s.pending.kind === "polyline") {
    // The two clicks of the double-click each added the same corner: drop the copies.
    const pts = s.pending.fixed;
    while (pts.length >= 2 && screenDistance(s, pts[pts.length - 1], pts[pts.length - 2]) < CLICK_PX) pts.pop();
    finishPolygon(s, false);
    return;
  }
  if (s.tool === "select") {
    const hit = hitTest(s, toImage(s, e));
    if (hit && hit.kind === "text") startText(s, hit.id, hit.points[0]);
  }
}

function finishPolygon(s, closed) {
  const pend = s.pending;
  s.pending = null;
  s.draft = null;
  if (pend && pend.fixed.length >= 2) {
    const a = newAnnotation(s, "polyline", pend.fixed);
    a.closed = closed && pend.fixed.length >= 3;
    addAnnotation(s, a);
  } else {
    draw(s);
  }
}

function onKey(s, e) {
  if (e.target instanceof HTMLInputElement) return; // typing in the text box or the width field
  if (e.key === "Delete" || e.key === "Backspace") {
    if (s.selectedId) {
      e.preventDefault();
      deleteSelected(s);
    }
  } else if (e.key === "Escape") {
    s.pending = null;
    s.draft = null;
    s.selectedId = null;
    draw(s);
  } else if (e.key === "Enter" && s.pending && s.pending.kind === "polyline") {
    e.preventDefault();
    finishPolygon(s, false);
  }
}

// ---------- text ----------

function startText(s, id, point) {
  const existing = id ? s.annotations.find((a) => a.id === id) : null;
  s.textEdit = { id, point };
  s.input.hidden = false;
  s.input.value = existing ? existing.text : "";
  s.input.style.left = `${s.ox + point[0] * s.scaleX}px`;
  s.input.style.top = `${s.oy + point[1] * s.scaleY}px`;
  draw(s);
  s.input.focus();
}

function finishText(s, keep) {
  const edit = s.textEdit;
  if (!edit) return;
  s.textEdit = null;
  const text = s.input.value.trim();
  s.input.hidden = true;
  s.input.value = "";
  if (keep && text) {
    const existing = edit.id ? s.annotations.find((a) => a.id === edit.id) : null;
    if (existing) {
      if (existing.text !== text) {
        existing.text = text;
        commit(s);
      } else draw(s);
    } else {
      const a = newAnnotation(s, "text", [edit.point]);
      a.text = text;
      addAnnotation(s, a);
    }
  } else {
    draw(s);
  }
  s.host.focus();
}

// ---------- edits ----------

function addAnnotation(s, a) {
  if (!isValid(tidy(a))) {
    draw(s); // nothing the model could store (a flat box, a single point): not added
    return;
  }
  s.annotations.push(a);
  commit(s);
}

function deleteSelected(s) {
  const before = s.annotations.length;
  s.annotations = s.annotations.filter((a) => a.id !== s.selectedId);
  s.selectedId = null;
  if (s.annotations.length !== before) commit(s);
  else draw(s);
}

function toggleVisibility(s) {
  if (s.annotations.length === 0) return;
  const show = !s.annotations.some((a) => a.visible);
  s.annotations = s.annotations.map((a) => ({ ...a, visible: show }));
  if (!show) s.selectedId = null;
  commit(s);
}

function adoptStyleControls(s, a) {
  s.color = a.style.color;
  s.lineWidth = a.style.width;
  syncControls(s);
}

function styleChanged(s, final) {
  const w = Number(s.widthInput.value);
  s.color = s.colorInput.value;
  if (Number.isFinite(w) && w >= MIN_WIDTH) s.lineWidth = Math.min(MAX_WIDTH, w);
  const sel = s.annotations.find((a) => a.id === s.selectedId);
  if (sel) {
    const changed = sel.style.color !== s.color || sel.style.width !== s.lineWidth;
    sel.style = { ...sel.style, color: s.color, width: s.lineWidth };
    if (final && (changed || s.styleDirty)) {
      s.styleDirty = false;
      commit(s);
      return;
    }
    if (changed) s.styleDirty = true;
  }
  draw(s);
}

// A completed edit: send the whole list back (never on every mouse move).
function commit(s) {
  const payload = forState(s.annotations);
  s.annotations = clone(payload);
  const canon = canonical(payload);
  s.sent.push(canon);
  if (s.sent.length > 50) s.sent.shift();
  s.edits = (s.edits || 0) + 1;
  draw(s);
  s.host.onCommit(payload);
}

// ---------- controls and status ----------

function setTool(s, tool) {
  if (s.textEdit) finishText(s, true);
  if (s.pending && s.pending.kind === "polyline" && s.pending.fixed.length >= 2) finishPolygon(s, false);
  s.pending = null;
  s.draft = null;
  s.tool = tool;
  if (tool !== "select") s.selectedId = null;
  syncControls(s);
  draw(s);
}

function syncControls(s) {
  for (const b of s.toolbar.querySelectorAll("button[data-tool]")) {
    b.setAttribute("aria-pressed", b.dataset.tool === s.tool ? "true" : "false");
  }
  if (s.colorInput.value !== s.color) s.colorInput.value = s.color;
  if (Number(s.widthInput.value) !== s.lineWidth) s.widthInput.value = String(s.lineWidth);
  const anyVisible = s.annotations.some((a) => a.visible);
  s.hideButton.textContent = anyVisible || s.annotations.length === 0 ? "Hide all" : "Show all";
  s.hideButton.disabled = s.annotations.length === 0;
  s.deleteButton.disabled = !s.selectedId;
  s.canvas.dataset.tool = s.tool;
}

function setStatus(s, text) {
  s.status.textContent = text;
}

function updateStatus(s) {
  syncControls(s);
  const sel = s.annotations.find((a) => a.id === s.selectedId);
  const n = s.annotations.length;
  const hidden = s.annotations.filter((a) => !a.visible).length;
  let text = `${n} annotation${n === 1 ? "" : "s"}${hidden ? ` (${hidden} hidden)` : ""}`;
  if (!s.spacing) text += " · no pixel spacing: lengths in image pixels";
  if (sel) {
    const label = labelFor(s, sel);
    text += ` · selected: ${sel.kind}${label && sel.kind !== "text" ? " " + label : ""}`;
  } else {
    const tool = TOOLS.find((t) => t.id === s.tool);
    if (tool) text += ` · ${tool.hint}`;
  }
  setStatus(s, text);
}


function hookFor(s) {
  return {
    get annotations() { return clone(s.annotations); },
    get selectedId() { return s.selectedId; },
    get tool() { return s.tool; },
    get scale() { return s.scale; },
    get edits() { return s.edits; },
    imageSize: [s.width, s.height],
    canvasRect: () => s.canvas.getBoundingClientRect(),
  };
}

return {
  buildToolbar,
  buildLayers,
  createEditor,
  setImage,
  setTools,
  setView,
  fitCanvas,
  receive,
  isEcho,
  adopt,
  draw,
  setTool,
  setStatus,
  normalise,
  canonical,
  clone,
  hookFor,
};
})();
