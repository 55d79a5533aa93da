// CaseDeck annotation editor: draws on a key image in IMAGE PIXEL coordinates.
//
// The drawing tools are CDAnnotate's (tools.js, put in front of this file by __init__.py and shared
// with the stack viewer's annotate mode); this file is the editor's own page: the picture, sized to
// the column, under a canvas the tools draw on.
//
// Streamlit (components v2) may call the default export again on the same element without the
// cleanup in between, so everything lives on the root element (root.__cdAnnotator) and listeners are
// attached exactly once when it is built.

function buildEditorDom(parent) {
  const root = document.createElement("div");
  root.className = "cd-annotator";
  root.tabIndex = 0;
  const toolbar = CDAnnotate.buildToolbar();
  const stage = document.createElement("div");
  stage.className = "cd-stage";
  const canvas = document.createElement("canvas");
  canvas.className = "cd-canvas";
  const { labels, input } = CDAnnotate.buildLayers();
  stage.append(canvas, labels, input);
  const status = document.createElement("div");
  status.className = "cd-status";
  status.setAttribute("aria-live", "polite");
  root.append(toolbar, stage, status);
  parent.appendChild(root);
  return root;
}

function createAnnotator(root) {
  const a = {
    root,
    stage: root.querySelector(".cd-stage"),
    component: null,
    key: null,
    imageSrc: null,
    image: null,
    maxHeight: 720,
  };
  a.editor = CDAnnotate.createEditor({
    canvas: root.querySelector(".cd-canvas"),
    labels: root.querySelector(".cd-labels"),
    input: root.querySelector(".cd-text-input"),
    toolbar: root.querySelector(".cd-toolbar"),
    status: root.querySelector(".cd-status"),
    keyTarget: root,
    focus: () => root.focus({ preventScroll: true }),
    onCommit: (list) => { if (a.component) a.component.setStateValue("annotations", list); },
    background: (ctx, s) => {
      if (a.image) ctx.drawImage(a.image, 0, 0, s.width, s.height);
      else {
        ctx.fillStyle = "#222";
        ctx.fillRect(0, 0, s.width, s.height);
      }
    },
  });
  a.resizeObserver = new ResizeObserver(() => layout(a));
  a.resizeObserver.observe(root);
  return a;
}

function update(a, component) {
  const data = component.data || {};
  const s = a.editor;
  a.component = component;
  a.key = component.key;
  CDAnnotate.setImage(s, data.width, data.height, data.spacing);
  a.maxHeight = Number(data.max_height) || 720;
  s.fill = Boolean(data.fill);
  CDAnnotate.setTools(s, data.tools);
  const src = `data:${data.mime || "image/png"};base64,${data.image || ""}`;
  if (src !== a.imageSrc) {
    a.imageSrc = src;
    const img = new Image();
    img.onload = () => { if (a.imageSrc === src) { a.image = img; CDAnnotate.draw(s); } };
    img.onerror = () => {
      if (a.imageSrc === src) { a.image = null; CDAnnotate.setStatus(s, "The image could not be shown."); }
    };
    img.src = src;
  }
  CDAnnotate.receive(s, data.annotations, false);
  layout(a);
  exposeHook(a);
}

function exposeHook(a) {
  const live = CDAnnotate.hookFor(a.editor);
  live.key = a.key;
  window.__casedeckAnnotators = window.__casedeckAnnotators || {};
  window.__casedeckAnnotators[a.key ?? "default"] = live;
  window.__casedeckAnnotator = live;
  a.hook = live;
}

function layout(a) {
  const s = a.editor;
  const available = a.root.clientWidth || s.width;
  let scale = Math.min(available / s.width, a.maxHeight / s.height);
  scale = scale > 0 && Number.isFinite(scale) ? scale : 1;
  const w = Math.max(1, Math.round(s.width * scale));
  const h = Math.max(1, Math.round(s.height * scale));
  a.stage.style.width = `${w}px`;
  a.stage.style.height = `${h}px`;
  s.canvas.style.width = `${w}px`;
  s.canvas.style.height = `${h}px`;
  CDAnnotate.fitCanvas(s, w, h);
  // The displayed image is exactly w x h css px; image px -> css px is w / width.
  CDAnnotate.setView(s, 0, 0, w / s.width, h / s.height);
  CDAnnotate.draw(s);
}

export default function (component) {
  const parent = component.parentElement;
  let root = parent.querySelector(".cd-annotator");
  if (!root) root = buildEditorDom(parent);
  if (!root.__cdAnnotator) root.__cdAnnotator = createAnnotator(root);
  const a = root.__cdAnnotator;
  update(a, component);
  return () => {
    a.resizeObserver.disconnect();
    if (window.__casedeckAnnotators && window.__casedeckAnnotators[a.key ?? "default"] === a.hook) {
      delete window.__casedeckAnnotators[a.key ?? "default"];
    }
    if (window.__casedeckAnnotator === a.hook) window.__casedeckAnnotator = undefined;
    root.__cdAnnotator = undefined;
    root.remove();
  };
}
