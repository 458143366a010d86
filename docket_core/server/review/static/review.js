// Docket review page: boxes over the pages, field <-> box focus, save/confirm without reloads, keyboard.
"use strict";
(function () {
  const doc = document.querySelector(".doc");
  if (!doc) return;
  const csrf = document.body.dataset.csrf || "";
  const id = doc.dataset.document;
  let revision = Number(doc.dataset.revision);
  const notice = document.getElementById("notice");
  const inputs = () => Array.from(document.querySelectorAll("#fields [data-dp]"));
  const original = new Map(inputs().map((el) => [el.dataset.dp, el.value]));

  function say(text, kind) {
    notice.textContent = text || "";
    notice.className = "notice" + (kind ? " " + kind : "");
  }

  // Boxes: one per datapoint with a position, drawn in page-relative coordinates (percentages).
  function drawBoxes() {
    document.querySelectorAll(".page .boxes").forEach((layer) => (layer.textContent = ""));
    inputs().forEach((el) => {
      if (!el.dataset.box) return;
      const layer = document.querySelector(`.page[data-page-number="${el.dataset.page}"] .boxes`);
      if (!layer) return;
      const [x0, y0, x1, y1] = el.dataset.box.split(",").map(Number);
      const box = document.createElement("div");
      box.className = "box";
      box.dataset.dp = el.dataset.dp;
      box.style.left = x0 * 100 + "%";
      box.style.top = y0 * 100 + "%";
      box.style.width = Math.max(x1 - x0, 0.002) * 100 + "%";
      box.style.height = Math.max(y1 - y0, 0.002) * 100 + "%";
      box.addEventListener("mouseenter", () => { el.focus(); });
      box.addEventListener("click", () => { el.focus(); });
      layer.appendChild(box);
    });
  }

  function highlight(dp) {
    document.querySelectorAll(".box.active").forEach((b) => b.classList.remove("active"));
    if (!dp) return;
    const box = document.querySelector(`.box[data-dp="${dp}"]`);
    if (box) {
      box.classList.add("active");
      box.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  function bindInputs() {
    inputs().forEach((el) => {
      el.addEventListener("focus", () => highlight(el.dataset.dp));
      el.addEventListener("input", () => {
        el.setAttribute("aria-invalid", el.checkValidity() ? "false" : "true");
      });
    });
  }

  async function call(action, body) {
    const response = await fetch(`/review/api/documents/${id}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { detail: `the server answered ${response.status}` }; }
    return { ok: response.ok, status: response.status, data };
  }

  function showState(state) {
    if (state.revision !== undefined) revision = state.revision;
    if (state.status) document.getElementById("doc-status").textContent = state.status.replace(/_/g, " ");
    Object.entries(state.cells || {}).forEach(([dp, cell]) => {
      const el = document.querySelector(`#fields [data-dp="${dp}"]`);
      if (el && document.activeElement !== el) el.value = cell.value;
      if (el) original.set(dp, cell.value);
      const list = document.querySelector(`[data-messages="${dp}"]`);
      if (list) {
        list.textContent = "";
        (cell.messages || []).forEach((m) => {
          const li = document.createElement("li");
          li.className = "msg " + m.type;
          li.textContent = m.content + (m.source ? ` (${m.source})` : "");
          list.appendChild(li);
        });
        const holder = list.closest(".field, td");
        if (holder) holder.classList.toggle("has-error", (cell.messages || []).some((m) => m.type === "error"));
      }
    });
    const general = document.getElementById("general-messages");
    general.textContent = "";
    (state.messages || []).forEach((m) => {
      const li = document.createElement("li");
      li.className = "msg " + m.type;
      li.textContent = m.content + (m.source ? ` (${m.source})` : "");
      general.appendChild(li);
    });
  }

  function changes() {
    const out = {};
    inputs().forEach((el) => { if (el.value !== original.get(el.dataset.dp)) out[el.dataset.dp] = el.value; });
    return out;
  }

  function invalid() {
    return inputs().find((el) => !el.checkValidity());
  }

  async function save(extra) {
    const bad = invalid();
    if (bad) { say("This value does not fit its field: " + (bad.labels[0] ? bad.labels[0].textContent : "") , "error"); bad.focus(); return false; }
    const body = Object.assign({ revision, changes: changes() }, extra || {});
    if (!Object.keys(body.changes).length && !body.add_rows && !body.remove_rows) return true;
    say("Saving…");
    const { ok, data } = await call("save", body);
    if (!ok) { say(data.detail || "could not save", "error"); return false; }
    if (extra) { window.location.reload(); return true; }  // rows changed: the table's shape is new
    showState(data);
    say("Saved.", "ok");
    return true;
  }

  async function confirmDoc() {
    if (!(await save())) return;
    say("Confirming…");
    const { ok, data } = await call("confirm");
    showState(data);
    if (!ok) { say(data.detail || "could not confirm", "error"); return; }
    say("Confirmed.", "ok");
    window.location.assign(data.next_url);
  }

  async function decide(action) {
    const note = document.getElementById("note").value;
    const { ok, data } = await call(action, { note });
    if (!ok) { say(data.detail || `could not ${action}`, "error"); return; }
    window.location.assign(data.next_url);
  }

  async function leave() {
    await call("release").catch(() => {});
    window.location.assign(doc.dataset.leave);
  }

  document.getElementById("save").addEventListener("click", () => save());
  document.getElementById("confirm").addEventListener("click", confirmDoc);
  document.getElementById("reject").addEventListener("click", () => decide("reject"));
  document.getElementById("postpone").addEventListener("click", () => decide("postpone"));
  document.getElementById("back").addEventListener("click", (e) => { e.preventDefault(); leave(); });
  document.querySelectorAll(".add-row").forEach((b) => b.addEventListener("click", () => save({ add_rows: [Number(b.dataset.multivalue)] })));
  document.querySelectorAll(".remove-row").forEach((b) => b.addEventListener("click", () => save({ remove_rows: [Number(b.dataset.row)] })));

  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); confirmDoc(); return; }
    if (e.key === "Escape") { e.preventDefault(); leave(); return; }
    if (e.key === "Enter" && e.target.matches("#fields [data-dp]")) {
      e.preventDefault();
      const all = inputs();
      const at = all.indexOf(e.target);
      if (at === all.length - 1) confirmDoc(); else all[at + 1].focus();
    }
  });

  // Keep the lock while the page is open; say so when someone else took it over.
  const every = Math.max(5, Number(doc.dataset.lockSeconds) / 3) * 1000;
  setInterval(async () => {
    const { ok, data } = await call("lock");
    if (!ok) say(data.detail || "someone else holds this document now", "warning");
  }, every);

  drawBoxes();
  bindInputs();
  const first = inputs()[0];
  if (first) first.focus();
})();
