// CaseDeck stack viewer: scrolls, plays and windows a series in the browser.
//
// The server sends one binary payload per (series, window), built by
// casefiles/imaging/stack.py:  "CDSV" | uint32 header length | JSON header | frames.
// Frames are 8-bit JPEG/PNG rendered with the payload's window. Dragging the
// window remaps those 8-bit values through a lookup table at once (an
// approximation), and on release the new window goes back to Python as the
// state value "window" so the server re-renders exactly; the new payload then
// replaces the old one without a blank frame. The frame index goes back as
// "frame" once scrolling pauses.
//
// Annotate mode: with an overlay from Python (an envelope "CDSA" | uint32 length | JSON | the payload
// above: the full image size and, per frame, the annotations of that frame's key image), the
// viewer shows those annotations over the image and its Annotate button turns left-drags into
// drawing with the annotation editor's own tools (CDAnnotate, pages/components/annotator/tools.js,
// put in front of this file by __init__.py). Points are image pixels of the full-size image; a
// finished edit goes back as the trigger "drawn" = {frame, annotations} (the whole list of that
// frame). Wheel, arrow keys, right-drag pan and the presets keep working while annotating.
//
// Streamlit may call the default export again on the same element without
// running the cleanup, so all state lives on the root element (root.__cdsv).

const HEADER_MAGIC = "CDSV";
const OVERLAY_MAGIC = "CDSA";
const MEMORY_BUDGET = 640 * 1024 * 1024; // decoded RGBA bytes kept per viewer
const DECODE_CONCURRENCY = 3;
const FRAME_REPORT_DELAY_MS = 300;
const DEFAULT_STACK_FPS = 15;
const MIN_ZOOM = 0.1;
const MAX_ZOOM = 20;

function parsePayload(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 8) {
    throw new Error("The viewer received no image data.");
  }
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== HEADER_MAGIC) throw new Error("The viewer received data it does not understand.");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(4, true);
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  meta.body = bytes.subarray(8 + length);
  return meta;
}

// The payload, and the annotation overlay when Python wrapped the payload in one.
function splitEnvelope(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 8) return { overlay: null, payload: bytes };
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== OVERLAY_MAGIC) return { overlay: null, payload: bytes };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(4, true);
  const overlay = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  return { overlay, payload: bytes.subarray(8 + length) };
}

function sameWindow(a, b) {
  if (!a || !b) return a === b;
  return Math.abs(a.center - b.center) < 1e-6 && Math.abs(a.width - b.width) < 1e-6;
}

function fmt(value) {
  const rounded = Math.round(value * 100) / 100;
  return Number.isInteger(rounded) ? String(rounded) : rounded.toFixed(Math.abs(rounded) < 10 ? 2 : 1);
}

// One decoded set of frames: a payload's bitmaps, decoded nearest-first.
class FrameSet {
  constructor(meta, viewer) {
    this.meta = meta;
    this.viewer = viewer;
    this.bitmaps = new Array(meta.frames).fill(null);
    this.inFlight = new Set();
    this.decoded = 0;
    this.closed = false;
    const frameBytes = meta.rows * meta.cols * 4;
    this.keep = Math.max(3, Math.floor(MEMORY_BUDGET / Math.max(frameBytes, 1)));
  }

  has(index) {
    return this.bitmaps[index] !== null;
  }

  nextWanted() {
    const n = this.meta.frames;
    const centre = this.viewer.frame;
    // With room for every frame decode them all; else only as many around the current one as fit,
    // so eviction (farthest first) never throws away what the next pick would decode again.
    const reach = this.keep >= n ? n : Math.floor((this.keep - 1) / 2);
    for (let d = 0; d < n && d <= reach; d++) {
      for (const i of d === 0 ? [centre] : [centre + d, centre - d]) {
        if (i >= 0 && i < n && this.bitmaps[i] === null && !this.inFlight.has(i)) return i;
      }
    }
    return -1;
  }

  pump() {
    while (!this.closed && this.inFlight.size < DECODE_CONCURRENCY) {
      const index = this.nextWanted();
      if (index < 0) return;
      this.decode(index);
    }
  }

  decode(index) {
    const { offsets, lengths, mime, body } = this.meta;
    const blob = new Blob([body.subarray(offsets[index], offsets[index] + lengths[index])], { type: mime });
    this.inFlight.add(index);
    createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" })
      .then((bitmap) => {
        this.inFlight.delete(index);
        if (this.closed) {
          bitmap.close();
          return;
        }
        this.bitmaps[index] = bitmap;
        this.decoded += 1;
        this.evict();
        this.viewer.onDecoded(this, index);
        this.pump();
      })
      .catch((error) => {
        this.inFlight.delete(index);
        this.viewer.showError(`Frame ${index + 1} could not be decoded (${error && error.message}).`);
      });
  }

  evict() {
    if (this.decoded <= this.keep) return;
    const centre = this.viewer.frame;
    let far = -1;
    for (let i = 0; i < this.bitmaps.length; i++) {
      if (this.bitmaps[i] !== null && (far < 0 || Math.abs(i - centre) > Math.abs(far - centre))) far = i;
    }
    if (far >= 0) {
      this.bitmaps[far].close();
      this.bitmaps[far] = null;
      this.decoded -= 1;
    }
  }

  close() {
    this.closed = true;
    for (const bitmap of this.bitmaps) if (bitmap) bitmap.close();
    this.bitmaps.fill(null);
    this.decoded = 0;
  }
}

class StackViewer {
  constructor(root) {
    this.root = root;
    this.canvas = root.querySelector("canvas.cdsv-canvas");
    this.ctx = this.canvas.getContext("2d", { alpha: false });
    this.counter = root.querySelector(".cdsv-counter");
    this.windowLabel = root.querySelector(".cdsv-window");
    this.zoomLabel = root.querySelector(".cdsv-zoom");
    this.message = root.querySelector(".cdsv-message");
    this.toolbar = root.querySelector(".cdsv-toolbar");
    this.presetBar = root.querySelector(".cdsv-presets");
    this.playButton = root.querySelector(".cdsv-play");
    this.resetButton = root.querySelector(".cdsv-reset");
    this.annotateButton = root.querySelector(".cdsv-annotate");
    this.annotateBar = root.querySelector(".cdsv-annotate-bar");
    this.overlayCanvas = root.querySelector("canvas.cdsv-overlay");
    this.scratch = document.createElement("canvas");
    this.scratchCtx = this.scratch.getContext("2d", { willReadFrequently: true });
    this.output = document.createElement("canvas");
    this.outputCtx = this.output.getContext("2d");

    this.meta = null; // the payload being shown (newest)
    this.current = null; // FrameSet of the newest payload
    this.previous = null; // FrameSet kept until the newest one can stand in for it
    this.frame = 0;
    this.window = null; // displayed window, modality units
    this.view = { zoom: 1, panX: 0, panY: 0 };
    this.playing = false;
    this.lastTick = 0;
    this.drag = null;
    this.wheelRest = 0;
    this.frameTimer = 0;
    this.reportedFrame = null;
    this.pendingDraw = false;
    this.drawLog = []; // [rAF timestamp, frame] of every frame actually put on screen
    this.lutCache = { key: "", table: null };
    this.setStateValue = () => {};
    this.setTriggerValue = () => {};
    // Annotate mode (see the top of the file); the editor is made when an overlay first arrives.
    this.editor = null;
    this.annotating = false;
    this.lists = new Map(); // frame -> that frame's annotations as last received or drawn
    this.received = new Map(); // frame -> canonical text of the list Python last sent
    this.overlayFrame = -1; // the frame whose list the editor holds
    this.listen();
  }

  // -- payloads --------------------------------------------------------------------
  load(data) {
    let meta;
    let overlay;
    try {
      const parts = splitEnvelope(data);
      overlay = parts.overlay;
      meta = parsePayload(parts.payload);
    } catch (error) {
      this.showError(error.message);
      return;
    }
    if (this.meta && this.meta.digest === meta.digest) {
      this.applyOverlay(overlay); // same frames, a rerun: maybe other annotations
      return;
    }
    this.root.dataset.loadStart = String(performance.now());
    this.root.dataset.firstImageMs = "";
    this.root.dataset.allDecodedMs = "";
    const first = this.meta === null;
    const sameSeries =
      !first && this.meta.frames === meta.frames && this.meta.rows === meta.rows && this.meta.cols === meta.cols;
    if (this.previous) this.previous.close();
    this.previous = sameSeries ? this.current : null;
    if (!sameSeries && this.current) this.current.close();
    this.meta = meta;
    this.current = new FrameSet(meta, this);
    if (!sameSeries) {
      this.frame = Math.min(Math.max(meta.start_frame || 0, 0), meta.frames - 1);
      this.view = { zoom: 1, panX: 0, panY: 0 };
      this.playing = false;
      this.reportedFrame = null;
    }
    if (!this.drag) this.window = meta.window ? { ...meta.window } : null;
    this.message.textContent = "";
    this.message.hidden = true;
    this.buildPresets();
    this.updatePlayButton();
    this.applyOverlay(overlay);
    this.current.pump();
    this.requestDraw();
  }

  // -- annotations -------------------------------------------------------------------
  createEditor() {
    const { labels, input } = CDAnnotate.buildLayers();
    this.overlayCanvas.after(labels, input);
    const toolbar = CDAnnotate.buildToolbar();
    const status = document.createElement("div");
    status.className = "cd-status";
    status.setAttribute("aria-live", "polite");
    this.annotateBar.append(toolbar, status);
    this.editor = CDAnnotate.createEditor({
      canvas: this.overlayCanvas,
      labels,
      input,
      toolbar,
      status,
      keyTarget: this.root,
      focus: () => this.overlayCanvas.focus({ preventScroll: true }),
      onCommit: (list) => this.commitAnnotations(list),
      ignorePointer: (event) => !this.annotating || event.shiftKey,
      lazyStatus: () => this.annotating,
    });
    CDAnnotate.setTool(this.editor, "arrow"); // what a user turning Annotate on most often wants
    this.annotateButton.hidden = false;
  }

  applyOverlay(overlay) {
    if (!overlay) return;
    if (!this.editor) this.createEditor();
    const size = Array.isArray(overlay.image_size) ? overlay.image_size : [this.meta.cols, this.meta.rows];
    CDAnnotate.setImage(this.editor, size[0], size[1], overlay.spacing || this.meta.pixel_spacing);
    const incoming = new Map();
    for (const [frame, list] of Object.entries(overlay.annotations || {})) incoming.set(Number(frame), list);
    // Take what Python changed, unless it is the echo of our own drawing (the local list may be newer).
    let currentChanged = false;
    for (const frame of new Set([...incoming.keys(), ...this.received.keys()])) {
      const list = incoming.get(frame) || [];
      const text = CDAnnotate.canonical(CDAnnotate.normalise(list));
      if (this.received.get(frame) === text) continue;
      this.received.set(frame, text);
      if (CDAnnotate.isEcho(this.editor, list)) continue;
      this.lists.set(frame, CDAnnotate.normalise(list));
      if (frame === this.overlayFrame) currentChanged = true;
    }
    if (currentChanged) {
      CDAnnotate.adopt(this.editor, CDAnnotate.clone(this.lists.get(this.overlayFrame) || []));
      CDAnnotate.draw(this.editor);
    }
    this.requestDraw();
  }

  commitAnnotations(list) {
    const frame = this.overlayFrame;
    this.lists.set(frame, CDAnnotate.clone(list));
    this.root.dataset.drawnFrame = String(frame);
    this.setTriggerValue("drawn", { frame, annotations: list });
  }

  setAnnotating(on) {
    if (!this.editor) return;
    this.annotating = on;
    this.root.classList.toggle("cdsv-annotating", on);
    this.annotateBar.hidden = !on;
    this.annotateButton.setAttribute("aria-pressed", String(on));
    this.root.dataset.annotating = String(on);
    if (on && this.playing) this.togglePlay(false);
    CDAnnotate.setTool(this.editor, this.editor.tool); // drops a half-drawn angle or polygon
    if (!on) this.editor.selectedId = null;
    (on ? this.overlayCanvas : this.canvas).focus({ preventScroll: true });
    CDAnnotate.draw(this.editor);
    this.requestDraw();
  }

  // The overlay follows the image: the frame's list, and where the image is on the canvas now.
  drawOverlay(cssWidth, cssHeight, x, y, drawW, drawH, ratio) {
    const editor = this.editor;
    if (!editor) return;
    let dirty = CDAnnotate.fitCanvas(editor, cssWidth, cssHeight);
    if (this.overlayFrame !== this.frame) {
      this.overlayFrame = this.frame;
      CDAnnotate.adopt(editor, CDAnnotate.clone(this.lists.get(this.frame) || []));
      dirty = true;
    }
    if (CDAnnotate.setView(editor, x / ratio, y / ratio, drawW / ratio / editor.width, drawH / ratio / editor.height)) {
      dirty = true;
    }
    if (dirty) CDAnnotate.draw(editor);
    this.root.dataset.overlayFrame = String(this.overlayFrame);
    this.root.dataset.overlayCount = String(editor.annotations.length);
  }

  onDecoded(set, index) {
    if (set === this.current && this.previous && this.current.decoded >= Math.min(set.meta.frames, set.keep)) {
      this.previous.close(); // the new payload is complete: the old one has served
      this.previous = null;
    }
    this.root.dataset.decoded = String(this.current ? this.current.decoded : 0);
    if (set === this.current && set.decoded === set.meta.frames && !this.root.dataset.allDecodedMs) {
      this.root.dataset.allDecodedMs = String(performance.now());
    }
    if (index === this.frame) this.requestDraw();
  }

  showError(text) {
    this.message.textContent = text;
    this.message.hidden = false;
  }

  // -- drawing ---------------------------------------------------------------------
  requestDraw() {
    if (this.pendingDraw) return;
    this.pendingDraw = true;
    requestAnimationFrame((t) => this.tick(t));
  }

  tick(timestamp) {
    this.pendingDraw = false;
    if (this.playing) this.advanceCine(timestamp);
    this.draw(timestamp);
    if (this.playing) this.requestDraw();
  }

  sourceFor(index) {
    if (this.current && this.current.has(index)) return [this.current.bitmaps[index], this.current.meta];
    if (this.previous && this.previous.has(index)) return [this.previous.bitmaps[index], this.previous.meta];
    return [null, null];
  }

  fitCanvas() {
    const box = this.canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(box.width * ratio));
    const height = Math.max(1, Math.round(box.height * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    return [width, height];
  }

  baseScale(meta, width, height) {
    return Math.min(width / meta.cols, height / meta.rows);
  }

  draw(timestamp) {
    const meta = this.meta;
    if (!meta) return;
    const [width, height] = this.fitCanvas();
    this.updateLabels();
    const [bitmap, source] = this.sourceFor(this.frame);
    if (!bitmap) {
      this.current.pump();
      return;
    }
    const image = this.windowed(bitmap, source);
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, width, height);
    const scale = this.baseScale(meta, width, height) * this.view.zoom;
    const ratio = window.devicePixelRatio || 1;
    const drawW = meta.cols * scale;
    const drawH = meta.rows * scale;
    const x = (width - drawW) / 2 + this.view.panX * ratio;
    const y = (height - drawH) / 2 + this.view.panY * ratio;
    ctx.imageSmoothingEnabled = scale < 4;
    ctx.drawImage(image, x, y, drawW, drawH);
    this.drawOverlay(width / ratio, height / ratio, x, y, drawW, drawH, ratio);
    this.drawn = this.frame;
    this.drawLog.push([timestamp, this.frame]);
    if (this.drawLog.length > 2000) this.drawLog.splice(0, 1000);
    this.root.dataset.shown = String(this.frame);
    if (!this.root.dataset.firstImageMs && source === this.meta) {
      this.root.dataset.firstImageMs = String(performance.now());
      this.root.dataset.firstImageAfterLoadMs = String(performance.now() - Number(this.root.dataset.loadStart));
    }
    this.current.pump();
  }

  // The bitmap as it looks at the displayed window: itself when the window is the payload's,
  // else its 8-bit values remapped through a lookup table (grey images only).
  windowed(bitmap, source) {
    if (source.color || !source.window || !this.window || sameWindow(this.window, source.window)) return bitmap;
    const table = this.lut(source);
    const { cols, rows } = source;
    if (this.scratch.width !== cols || this.scratch.height !== rows) {
      this.scratch.width = this.output.width = cols;
      this.scratch.height = this.output.height = rows;
    }
    this.scratchCtx.drawImage(bitmap, 0, 0);
    const pixels = this.scratchCtx.getImageData(0, 0, cols, rows);
    const words = new Uint32Array(pixels.data.buffer);
    const bytes = pixels.data;
    for (let i = 0, n = words.length; i < n; i++) words[i] = table[bytes[i << 2]];
    this.outputCtx.putImageData(pixels, 0, 0);
    return this.output;
  }

  lut(source) {
    const key = `${source.digest}|${this.window.center}|${this.window.width}`;
    if (this.lutCache.key === key) return this.lutCache.table;
    const base = source.window;
    const table = new Uint32Array(256);
    const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
    for (let v = 0; v < 256; v++) {
      const u = source.inverted ? 255 - v : v;
      const value = base.center + (u / 255 - 0.5) * base.width; // modality value this byte stood for
      let out = ((value - this.window.center) / this.window.width + 0.5) * 255;
      out = Math.min(255, Math.max(0, Math.round(out)));
      if (source.inverted) out = 255 - out;
      table[v] = littleEndian ? (0xff000000 | (out << 16) | (out << 8) | out) >>> 0 : ((out << 24) | (out << 16) | (out << 8) | 0xff) >>> 0;
    }
    this.lutCache = { key, table };
    return table;
  }

  updateLabels() {
    const meta = this.meta;
    this.counter.textContent = `${this.frame + 1}/${meta.frames}`;
    this.windowLabel.textContent = this.window ? `W ${fmt(this.window.width)} L ${fmt(this.window.center)}` : "";
    this.zoomLabel.textContent = Math.abs(this.view.zoom - 1) > 1e-3 ? `${Math.round(this.view.zoom * 100)}%` : "";
    const data = this.root.dataset;
    data.frame = String(this.frame);
    data.frames = String(meta.frames);
    data.window = this.window ? `${this.window.center},${this.window.width}` : "";
    data.zoom = String(this.view.zoom);
    data.pan = `${this.view.panX},${this.view.panY}`;
    data.playing = String(this.playing);
    data.fps = String(this.recentFps());
  }

  // Distinct frames put on screen per second over the last second of drawing (rAF timestamps).
  recentFps() {
    const log = this.drawLog;
    if (log.length < 2) return 0;
    const end = log[log.length - 1][0];
    let changes = 0;
    let start = end;
    for (let i = log.length - 1; i > 0 && end - log[i - 1][0] <= 1000; i--) {
      if (log[i][1] !== log[i - 1][1]) changes += 1;
      start = log[i - 1][0];
    }
    return end > start ? Math.round((changes * 1000) / (end - start)) : 0;
  }

  // -- navigation --------------------------------------------------------------------
  setFrame(index) {
    if (!this.meta) return;
    const clamped = Math.min(Math.max(Math.round(index), 0), this.meta.frames - 1);
    if (clamped === this.frame) return;
    this.frame = clamped;
    this.requestDraw();
    this.scheduleFrameReport();
  }

  step(delta) {
    this.setFrame(this.frame + delta);
  }

  scheduleFrameReport() {
    clearTimeout(this.frameTimer);
    if (this.playing) return;
    this.frameTimer = setTimeout(() => {
      if (this.reportedFrame !== this.frame) {
        this.reportedFrame = this.frame;
        this.setStateValue("frame", this.frame);
      }
    }, FRAME_REPORT_DELAY_MS);
  }

  advanceCine(timestamp) {
    const fps = this.meta.frame_rate || DEFAULT_STACK_FPS;
    const interval = 1000 / fps;
    if (!this.lastTick) this.lastTick = timestamp;
    const due = Math.floor((timestamp - this.lastTick) / interval);
    if (due < 1) return;
    const next = (this.frame + due) % this.meta.frames;
    if (!this.current.has(next) && !(this.previous && this.previous.has(next))) {
      this.current.pump(); // wait for the decoder rather than showing a stale frame
      return;
    }
    this.lastTick += due * interval;
    this.frame = next;
  }

  togglePlay(force) {
    if (!this.meta || this.meta.frames < 2) return;
    this.playing = force === undefined ? !this.playing : force;
    this.lastTick = 0;
    this.updatePlayButton();
    if (this.playing) this.requestDraw();
    else this.scheduleFrameReport();
    this.root.dataset.playing = String(this.playing);
  }

  updatePlayButton() {
    const frames = this.meta ? this.meta.frames : 0;
    this.playButton.hidden = frames < 2;
    const fps = this.meta && this.meta.frame_rate ? `${fmt(this.meta.frame_rate)} fps` : "";
    this.playButton.textContent = this.playing ? `❚❚ Pause` : `▶ Play${fps ? ` (${fps})` : ""}`;
    this.playButton.setAttribute("aria-pressed", String(this.playing));
  }

  // -- window ------------------------------------------------------------------------
  canWindow() {
    return !!(this.meta && !this.meta.color && this.meta.window);
  }

  setWindow(win, commit) {
    if (!this.canWindow()) return;
    this.window = { center: win.center, width: Math.max(1, win.width) };
    this.requestDraw();
    if (commit) this.commitWindow();
  }

  commitWindow() {
    if (!this.window || sameWindow(this.window, this.meta.window)) return;
    const round = (v) => Math.round(v * 100) / 100;
    this.window = { center: round(this.window.center), width: Math.max(1, round(this.window.width)) };
    this.root.dataset.committedWindow = `${this.window.center},${this.window.width}`;
    this.setStateValue("window", { center: this.window.center, width: this.window.width, at: Date.now() });
  }

  buildPresets() {
    this.presetBar.replaceChildren();
    if (!this.canWindow()) return;
    for (const preset of this.meta.presets || []) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "cdsv-preset";
      button.textContent = preset.name;
      button.title = `W ${fmt(preset.width)} L ${fmt(preset.center)}`;
      button.addEventListener("click", () => this.setWindow(preset, true));
      this.presetBar.appendChild(button);
    }
  }

  // -- zoom and pan ----------------------------------------------------------------
  zoomAt(factor, clientX, clientY) {
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.view.zoom * factor));
    const applied = zoom / this.view.zoom;
    const box = this.canvas.getBoundingClientRect();
    // Keep the point under the cursor still: pan is measured from the canvas centre.
    const px = (clientX === undefined ? box.width / 2 : clientX - box.left) - box.width / 2;
    const py = (clientY === undefined ? box.height / 2 : clientY - box.top) - box.height / 2;
    this.view.panX = px - (px - this.view.panX) * applied;
    this.view.panY = py - (py - this.view.panY) * applied;
    this.view.zoom = zoom;
    this.requestDraw();
  }

  reset() {
    this.view = { zoom: 1, panX: 0, panY: 0 };
    if (this.canWindow()) {
      const target = this.meta.default_window || this.meta.window;
      this.window = { ...target };
      if (!sameWindow(target, this.meta.window)) this.commitWindow();
    }
    this.requestDraw();
  }

  // -- input -----------------------------------------------------------------------
  listen() {
    const canvas = this.canvas;
    canvas.addEventListener("wheel", (event) => this.onWheel(event), { passive: false });
    canvas.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    canvas.addEventListener("pointermove", (event) => this.onPointerMove(event));
    canvas.addEventListener("pointerup", (event) => this.onPointerUp(event));
    canvas.addEventListener("pointercancel", (event) => this.onPointerUp(event));
    canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    // In annotate mode the overlay is on top: wheel, pan and the context menu still reach the viewer.
    const overlay = this.overlayCanvas;
    overlay.addEventListener("wheel", (event) => this.onWheel(event), { passive: false });
    overlay.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    overlay.addEventListener("pointermove", (event) => this.onPointerMove(event));
    overlay.addEventListener("pointerup", (event) => this.onPointerUp(event));
    overlay.addEventListener("pointercancel", (event) => this.onPointerUp(event));
    overlay.addEventListener("contextmenu", (event) => event.preventDefault());
    this.root.addEventListener("keydown", (event) => this.onKey(event));
    this.annotateButton.addEventListener("click", () => this.setAnnotating(!this.annotating));
    this.playButton.addEventListener("click", () => this.togglePlay());
    this.resetButton.addEventListener("click", () => this.reset());
    this.resizer = new ResizeObserver(() => this.requestDraw());
    this.resizer.observe(canvas);
  }

  onWheel(event) {
    if (!this.meta) return;
    event.preventDefault();
    // scrolling over the image means the keys are meant for it too
    (this.annotating ? this.overlayCanvas : this.canvas).focus({ preventScroll: true });
    const unit = event.deltaMode === 1 ? 33 : event.deltaMode === 2 ? 400 : 1;
    const delta = event.deltaY * unit;
    if (event.ctrlKey || event.metaKey) {
      this.zoomAt(Math.exp(-delta / 300), event.clientX, event.clientY);
      return;
    }
    if (this.playing) this.togglePlay(false);
    if (Math.abs(delta) >= 50) {
      // a mouse wheel notch: one slice per notch, more for a fast spin
      this.wheelRest = 0;
      this.step(Math.sign(delta) * Math.max(1, Math.round(Math.abs(delta) / 100)));
      return;
    }
    this.wheelRest += delta; // a touchpad: small deltas add up
    const steps = Math.trunc(this.wheelRest / 25);
    if (steps) {
      this.wheelRest -= steps * 25;
      this.step(steps);
    }
  }

  onPointerDown(event) {
    const target = event.currentTarget;
    target.focus({ preventScroll: true });
    if (!this.meta) return;
    const pan = event.button === 2 || event.button === 1 || event.shiftKey;
    if (!pan && target === this.overlayCanvas) return; // a left press on the overlay draws (the editor's)
    if (!pan && (event.button !== 0 || !this.canWindow())) return;
    event.preventDefault();
    target.setPointerCapture(event.pointerId);
    this.drag = {
      target,
      mode: pan ? "pan" : "window",
      x: event.clientX,
      y: event.clientY,
      panX: this.view.panX,
      panY: this.view.panY,
      window: this.window ? { ...this.window } : null,
      moved: false,
    };
    this.canvas.classList.add(pan ? "cdsv-panning" : "cdsv-windowing");
  }

  onPointerMove(event) {
    const drag = this.drag;
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 0) drag.moved = true;
    if (drag.mode === "pan") {
      this.view.panX = drag.panX + dx;
      this.view.panY = drag.panY + dy;
      this.requestDraw();
      return;
    }
    // Right widens the window, down raises the level; sensitivity follows the window width.
    const per = Math.max(drag.window.width, 1) / 256;
    this.setWindow({ center: drag.window.center + dy * per, width: drag.window.width + dx * per }, false);
  }

  onPointerUp(event) {
    const drag = this.drag;
    if (!drag) return;
    this.drag = null;
    this.canvas.classList.remove("cdsv-panning", "cdsv-windowing");
    if (drag.target.hasPointerCapture(event.pointerId)) drag.target.releasePointerCapture(event.pointerId);
    if (drag.mode === "window" && drag.moved) this.commitWindow();
  }

  onKey(event) {
    if (!this.meta || event.altKey) return;
    if (event.target instanceof HTMLInputElement) return; // typing a label or a line width
    const steps = { ArrowUp: -1, ArrowLeft: -1, ArrowDown: 1, ArrowRight: 1, PageUp: -10, PageDown: 10 };
    let handled = true;
    if (event.key in steps) {
      if (this.playing) this.togglePlay(false);
      this.step(steps[event.key]);
    } else if (event.key === "Home") this.setFrame(0);
    else if (event.key === "End") this.setFrame(this.meta.frames - 1);
    else if (event.key === "+" || event.key === "=") this.zoomAt(1.25);
    else if (event.key === "-" || event.key === "_") this.zoomAt(0.8);
    else if (event.key === "r" || event.key === "R") this.reset();
    else if (event.key === " ") this.togglePlay();
    else handled = false;
    if (handled) event.preventDefault();
  }

  destroy() {
    clearTimeout(this.frameTimer);
    this.playing = false;
    if (this.resizer) this.resizer.disconnect();
    if (this.current) this.current.close();
    if (this.previous) this.previous.close();
    const registry = window.__casedeckViewer;
    if (registry) registry.viewers = registry.viewers.filter((v) => v !== this.api);
  }

  // What tests and benchmarks read and drive (window.__casedeckViewer.viewers[i]).
  get api() {
    if (!this._api) {
      this._api = {
        root: this.root,
        state: () => ({
          frame: this.frame,
          shown: this.drawn,
          frames: this.meta ? this.meta.frames : 0,
          decoded: this.current ? this.current.decoded : 0,
          window: this.window ? { ...this.window } : null,
          payloadWindow: this.meta ? this.meta.window : null,
          zoom: this.view.zoom,
          pan: [this.view.panX, this.view.panY],
          playing: this.playing,
          fps: this.recentFps(),
          digest: this.meta ? this.meta.digest : null,
          annotating: this.annotating,
          overlayFrame: this.overlayFrame,
          annotations: this.editor ? CDAnnotate.clone(this.editor.annotations) : null,
          imageSize: this.editor ? [this.editor.width, this.editor.height] : null,
          // where the image is on the canvas, css px: top-left corner and css px per image pixel
          imageView: this.editor
            ? { x: this.editor.ox, y: this.editor.oy, scaleX: this.editor.scaleX, scaleY: this.editor.scaleY }
            : null,
        }),
        drawLog: () => this.drawLog.slice(),
        setFrame: (i) => this.setFrame(i),
        preview: (center, width) => this.setWindow({ center, width }, false),
        step: (n) => this.step(n),
        canvas: this.canvas,
        overlay: this.overlayCanvas,
        setAnnotating: (on) => this.setAnnotating(on),
      };
    }
    return this._api;
  }
}

const SKELETON = `
  <div class="cdsv-toolbar" role="toolbar" aria-label="Viewer controls">
    <button type="button" class="cdsv-play" aria-pressed="false">▶ Play</button>
    <button type="button" class="cdsv-reset" title="Reset zoom, pan and window (R)">Reset</button>
    <span class="cdsv-presets"></span>
    <button type="button" class="cdsv-annotate" aria-pressed="false" hidden
      title="Draw on this slice (arrows, rulers, shapes, text); the slice becomes a key image">✎ Annotate</button>
  </div>
  <div class="cdsv-annotate-bar" hidden></div>
  <div class="cdsv-stage">
    <canvas class="cdsv-canvas" tabindex="0" aria-label="Image stack: wheel or arrow keys scroll, drag to window, right-drag to pan, ctrl+wheel to zoom"></canvas>
    <canvas class="cdsv-overlay" tabindex="-1" aria-label="Annotations: drag to draw with the chosen tool"></canvas>
    <div class="cdsv-counter" aria-live="off"></div>
    <div class="cdsv-zoom"></div>
    <div class="cdsv-window"></div>
    <div class="cdsv-message" hidden></div>
  </div>`;

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let root = parentElement.querySelector(".cdsv-root");
  if (!root) {
    root = document.createElement("div");
    root.className = "cdsv-root";
    root.innerHTML = SKELETON;
    parentElement.appendChild(root);
  }
  let viewer = root.__cdsv;
  if (!viewer) {
    viewer = new StackViewer(root);
    root.__cdsv = viewer;
    const registry = (window.__casedeckViewer = window.__casedeckViewer || { viewers: [] });
    registry.viewers.push(viewer.api);
  }
  viewer.setStateValue = setStateValue; // the newest callbacks from this run
  viewer.setTriggerValue = setTriggerValue || (() => {});
  viewer.load(data);
  return () => {
    viewer.destroy();
    root.remove();
  };
}
