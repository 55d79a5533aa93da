/* CaseDeck offline presentation: slide navigation, scaling, text fitting, scrollable stacks and video clips.
 * No network, no eval, no dependencies; the page's Content-Security-Policy allows only this script.
 *
 * Keys and video: while a clip has the keyboard focus (after clicking it or tabbing to it), Space and
 * the arrow keys belong to the video's own controls (play/pause, seek, volume); Page Up/Down, Home and End
 * still change slides, and Escape gives the keys back to the show. Otherwise every key moves slides as
 * usual and P plays or pauses the clip on the current slide. Leaving a slide pauses its clip.
 *
 * Keys and stacks: ← → Space and Page Up/Down always change slides, wherever the pointer is; ↑ ↓ and the
 * mouse wheel scroll the stack under the pointer (the keys scroll the slide's stack when the pointer is
 * elsewhere, and change slides on a slide without one); P plays or pauses the slide's stack as cine. */
(function () {
  "use strict";

  const STAGE_W = 1600;
  const STAGE_H = 900;
  const CINE_FPS = 10;
  const WHEEL_NOTCH = 50; // |deltaY| from one mouse-wheel notch is at least this (px)
  const WHEEL_STEP = 25; // smooth (trackpad) scrolling: this many px per slice
  const DRAG_STEP = 6; // dragging up or down: this many px per slice

  const stage = document.getElementById("stage");
  const slides = Array.from(stage.querySelectorAll(".slide"));
  const counter = document.getElementById("counter");
  const progressFill = document.getElementById("progress-fill");
  const stacks = new Map();
  let current = -1;
  let hovered = null;
  let sleepTimer = 0;

  function fitStage() {
    const scale = Math.min(window.innerWidth / STAGE_W, window.innerHeight / STAGE_H);
    stage.style.transform = "translate(-50%, -50%) scale(" + scale + ")";
  }

  /* Shrink a text box whose content runs taller than the exporter estimated; scroll as a last resort. */
  function fitText(slide) {
    slide.querySelectorAll(".fit").forEach((box) => {
      if (box.dataset.fitted) return;
      const inner = box.firstElementChild;
      const room = () => box.clientHeight - 24;
      let size = parseFloat(getComputedStyle(box).fontSize);
      const floor = size * 0.6;
      while (inner.offsetHeight > room() && size > floor) {
        size *= 0.94;
        box.style.fontSize = size + "px";
      }
      if (inner.offsetHeight > room()) box.classList.add("scroll");
      box.dataset.fitted = "1";
    });
  }

  class Stack {
    constructor(el) {
      this.el = el;
      this.id = el.dataset.stack;
      this.count = Number(el.dataset.count);
      this.index = Math.min(Math.max(Number(el.dataset.start) || 0, 0), this.count - 1);
      this.viewer = el.querySelector(".viewer");
      this.canvas = el.querySelector("canvas");
      this.ctx = this.canvas.getContext("2d");
      this.slider = el.querySelector(".slider");
      this.label = el.querySelector(".slice");
      this.button = el.querySelector(".cine");
      this.images = [];
      this.timer = 0;
      this.wheelRest = 0;
      this.dragY = null;
      this.viewer.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
      this.viewer.addEventListener("pointerenter", () => { hovered = this; });
      this.viewer.addEventListener("pointermove", (e) => this.onPointerMove(e));
      this.viewer.addEventListener("pointerleave", () => { if (hovered === this) hovered = null; });
      this.viewer.addEventListener("pointerdown", (e) => this.onPointerDown(e));
      const endDrag = () => { this.dragY = null; };
      this.viewer.addEventListener("pointerup", endDrag);
      this.viewer.addEventListener("pointercancel", endDrag);
      this.slider.addEventListener("input", () => this.show(Number(this.slider.value)));
      this.slider.addEventListener("change", () => this.slider.blur());
      this.button.addEventListener("click", () => { this.toggle(); this.button.blur(); });
      this.update();
    }

    /* Decode the frames only when the slide (or the one before it) is shown. */
    load() {
      if (this.images.length) return;
      const holder = document.getElementById("stack-frames-" + this.id);
      const sources = JSON.parse(holder.textContent);
      holder.textContent = "";
      this.images = sources.map((src, i) => {
        const img = new Image();
        img.decoding = "async";
        img.addEventListener("load", () => { if (i === this.index) this.draw(); });
        img.src = src;
        return img;
      });
      this.count = this.images.length;
      this.slider.max = String(this.count - 1);
      this.show(this.index);
    }

    show(i) {
      this.load();
      this.index = Math.min(Math.max(Math.round(i), 0), this.count - 1);
      this.update();
      this.draw();
    }

    step(delta) { this.show(this.index + delta); }

    update() {
      this.el.dataset.index = String(this.index);
      this.slider.value = String(this.index);
      this.label.textContent = "Slice " + (this.index + 1) + " / " + this.count;
    }

    draw() {
      const img = this.images[this.index];
      if (!img || !img.complete || !img.naturalWidth) return;
      const c = this.canvas;
      const scale = Math.min(c.width / img.naturalWidth, c.height / img.naturalHeight);
      const w = img.naturalWidth * scale;
      const h = img.naturalHeight * scale;
      this.ctx.fillStyle = "#000";
      this.ctx.fillRect(0, 0, c.width, c.height);
      this.ctx.drawImage(img, (c.width - w) / 2, (c.height - h) / 2, w, h);
      this.el.dataset.drawn = String(this.index);
    }

    onWheel(e) {
      e.preventDefault();
      let delta = e.deltaY;
      if (e.deltaMode === 1) delta *= 40;
      else if (e.deltaMode === 2) delta *= 800;
      if (!delta) return;
      if (Math.abs(delta) >= WHEEL_NOTCH) {
        this.wheelRest = 0;
        this.step(delta > 0 ? 1 : -1);
        return;
      }
      this.wheelRest += delta;
      while (Math.abs(this.wheelRest) >= WHEEL_STEP) {
        const sign = Math.sign(this.wheelRest);
        this.step(sign);
        this.wheelRest -= sign * WHEEL_STEP;
      }
    }

    onPointerDown(e) {
      if (e.button !== 0) return;
      this.dragY = e.clientY;
      this.viewer.setPointerCapture(e.pointerId);
      e.preventDefault();
    }

    onPointerMove(e) {
      hovered = this;
      if (this.dragY === null) return;
      const scale = stage.getBoundingClientRect().height / STAGE_H || 1;
      const moved = (e.clientY - this.dragY) / scale;
      const slices = Math.trunc(moved / DRAG_STEP);
      if (slices) {
        this.step(slices);
        this.dragY += (slices * DRAG_STEP) * scale;
      }
    }

    play() {
      if (this.timer) return;
      this.load();
      this.timer = window.setInterval(() => this.show((this.index + 1) % this.count), 1000 / CINE_FPS);
      this.button.setAttribute("aria-pressed", "true");
      this.button.querySelector(".label").textContent = "Pause";
    }

    pause() {
      if (!this.timer) return;
      window.clearInterval(this.timer);
      this.timer = 0;
      this.button.setAttribute("aria-pressed", "false");
      this.button.querySelector(".label").textContent = "Play";
    }

    toggle() { if (this.timer) this.pause(); else this.play(); }
  }

  function stackOn(index) {
    const el = slides[index] && slides[index].querySelector(".stack");
    return el ? stacks.get(el.dataset.stack) : null;
  }

  function videoOn(index) {
    return (slides[index] && slides[index].querySelector("video")) || null;
  }

  function toggleVideo(video) {
    if (video.paused || video.ended) video.play().catch(() => {});
    else video.pause();
  }

  function go(index) {
    const next = Math.min(Math.max(index, 0), slides.length - 1);
    if (next === current) return;
    if (current >= 0) {
      slides[current].classList.remove("current");
      const old = stackOn(current);
      if (old) old.pause();
      const clip = videoOn(current);
      if (clip) {
        clip.pause();
        if (document.activeElement === clip) clip.blur();
      }
    }
    current = next;
    hovered = null;
    const slide = slides[current];
    slide.classList.add("current");
    counter.textContent = current + 1 + " / " + slides.length;
    progressFill.style.width = (slides.length > 1 ? (100 * current) / (slides.length - 1) : 100) + "%";
    fitText(slide);
    const here = stackOn(current);
    if (here) here.show(here.index);
    const ahead = stackOn(current + 1);
    if (ahead) ahead.load();
    try {
      history.replaceState(null, "", "#" + (current + 1));
    } catch (err) {
      /* a sandboxed frame may refuse; the slide still changes */
    }
  }

  function toggleFullscreen() {
    const doc = document;
    const root = doc.documentElement;
    if (doc.fullscreenElement || doc.webkitFullscreenElement) {
      (doc.exitFullscreen || doc.webkitExitFullscreen).call(doc);
    } else if (root.requestFullscreen) {
      root.requestFullscreen().catch(() => {});
    } else if (root.webkitRequestFullscreen) {
      root.webkitRequestFullscreen();
    }
  }

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = e.target && e.target.tagName;
    if (tag === "INPUT" && e.key !== " " && e.key.toLowerCase() !== "f") return;
    if (tag === "BUTTON" && (e.key === " " || e.key === "Enter")) return;
    if (tag === "VIDEO") {
      if (e.key === "Escape") {
        e.target.blur();
        e.preventDefault();
        return;
      }
      if (!["PageDown", "PageUp", "Home", "End"].includes(e.key)) return;
    }
    const stack = stackOn(current);
    const clip = videoOn(current);
    // ↑ ↓ scroll the stack under the pointer (else the slide's own); ← → always change slides, as the hint says.
    const scrolled = hovered && slides[current].contains(hovered.el) ? hovered : stack;
    switch (e.key) {
      case "ArrowDown":
        if (scrolled) scrolled.step(1); else go(current + 1);
        break;
      case "ArrowUp":
        if (scrolled) scrolled.step(-1); else go(current - 1);
        break;
      case "ArrowRight":
        go(current + 1);
        break;
      case "ArrowLeft":
        go(current - 1);
        break;
      case " ":
      case "Spacebar":
        go(e.shiftKey ? current - 1 : current + 1);
        break;
      case "PageDown":
        go(current + 1);
        break;
      case "PageUp":
        go(current - 1);
        break;
      case "Home":
        go(0);
        break;
      case "End":
        go(slides.length - 1);
        break;
      case "f":
      case "F":
        toggleFullscreen();
        break;
      case "p":
      case "P":
        if (stack) stack.toggle();
        else if (clip) toggleVideo(clip);
        else return;
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  function wake() {
    document.body.classList.add("awake");
    window.clearTimeout(sleepTimer);
    sleepTimer = window.setTimeout(() => document.body.classList.remove("awake"), 2500);
  }

  function slideFromHash() {
    const match = /^#(\d+)$/.exec(window.location.hash);
    return match ? Number(match[1]) - 1 : null;
  }

  stage.querySelectorAll(".stack").forEach((el) => stacks.set(el.dataset.stack, new Stack(el)));
  slides.forEach((slide) => slide.classList.remove("current"));
  document.addEventListener("keydown", onKey);
  document.addEventListener("mousemove", wake);
  window.addEventListener("resize", fitStage);
  window.addEventListener("hashchange", () => {
    const wanted = slideFromHash();
    if (wanted !== null) go(wanted);
  });
  document.querySelectorAll(".toolbar button").forEach((button) => {
    button.addEventListener("click", () => {
      const action = button.dataset.action;
      if (action === "prev") go(current - 1);
      else if (action === "next") go(current + 1);
      else toggleFullscreen();
      button.blur();
    });
  });
  fitStage();
  go(slideFromHash() ?? 0);

  function stackById(id) {
    const stack = stacks.get(String(id));
    if (!stack) throw new Error("There is no stack " + id + " in this presentation.");
    return stack;
  }

  /* Hooks for tests and for the app's "present" view. Slide numbers are 1-based, slice indexes 0-based. */
  window.casedeck = Object.freeze({
    slide: () => current + 1,
    count: () => slides.length,
    go: (n) => go(Number(n) - 1),
    stacks: () => Array.from(stacks.keys()),
    stackIndex: (id) => stackById(id).index,
    stackCount: (id) => stackById(id).count,
    stackDrawn: (id) => Number(stackById(id).el.dataset.drawn ?? -1),
    stackShow: (id, i) => stackById(id).show(i),
  });
})();
