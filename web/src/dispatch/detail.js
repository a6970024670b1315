// The incident detail: facts, deadline, the timeline (who, when, what, comment, attachment names) and one button
// per action the API allows the caller now (`allowed_actions`: the page never works the workflow out itself).
// Each action asks for a comment (a reason for return and reject; level and department for escalation) and is
// sent with the version seen as If-Match; 409 (changed meanwhile, or not allowed in this status), 403 and 422
// show the API's message, and a stale version offers a reload.

import { onLangChange, t } from "../lib/i18n.js";
import { getIncident, locate, moveIncident, transition } from "./api.js";
import {
  actionLabel,
  categoryList,
  categoryPath,
  categoryPathOf,
  channelLabel,
  crsLabel,
  deadlineDot,
  describe,
  esc,
  label,
  levelLabel,
  localTime,
  showStatus,
  statusBadge,
  statusLabel,
} from "./format.js";

// How an API refusal is introduced; the API's own message follows.
const ERROR_KEYS = { 403: "dispatch.err.forbidden", 404: "dispatch.err.missing", 409: "dispatch.err.conflict",
  422: "dispatch.err.invalid" };

function row(key, html) {
  return html ? `<tr><th>${esc(t(key))}</th><td>${html}</td></tr>` : "";
}

function deadlineHtml(step) {
  if (!step || !step.name) return esc(t("incident.deadline.none"));
  const due = step.due_at ? t("dispatch.due_at", { at: localTime(step.due_at) }) : t("dispatch.no_limit");
  return `${deadlineDot(step.colour)} <span class="step-name">${esc(label(`incident.step.${step.name}`, step.name))}` +
    `</span> · <span class="step-due">${esc(due)}</span> ` +
    `<span class="step-colour deadline-text-${esc(step.colour)}">` +
    `${esc(t(`incident.deadline.${step.colour || "none"}`))}</span>`;
}

function locationHtml(d) {
  const wgs = `WGS 84 ${d.location.lon}, ${d.location.lat}`;
  const input = d.input && d.input.crs && !["wgs84"].includes(d.input.crs)
    ? `${crsLabel(d.input.crs)} ${d.input.lon}, ${d.input.lat} → ` : "";
  return `${esc(input + wgs)} <button type="button" class="link-button detail-zoom">` +
    `${esc(t("dispatch.show_on_map"))}</button>`;
}

function eventDetailHtml(e) {
  const d = e.detail || {};
  const parts = [];
  if (d.level && d.level.to) {
    parts.push(t("dispatch.ev.level", { from: levelLabel(d.level.from), to: levelLabel(d.level.to) }));
  }
  if (d.department) parts.push(t("dispatch.ev.department", { name: d.department }));
  if (d.category && d.category.to) {
    const names = { from: categoryPathOf(d.category.from), to: categoryPathOf(d.category.to) };
    parts.push(t("dispatch.ev.category", names));
  }
  if (d.department_report) parts.push(t("dispatch.ev.department_report", { name: d.department_report }));
  if (d.channel) parts.push(t("dispatch.ev.channel", { channel: channelLabel(d.channel) }));
  if (Array.isArray(d.duplicates) && d.duplicates.length) {
    parts.push(t("dispatch.ev.duplicates", { ids: d.duplicates.map((id) => `#${id}`).join("、") }));
  }
  if (d.before && d.after && e.action === "move") {
    parts.push(t("dispatch.ev.move", { from: d.before.micro_code, to: d.after.micro_code }));
  }
  if (d.late === true) parts.push(t("dispatch.ev.late"));
  return parts.length ? `<p class="event-detail${d.late ? " late" : ""}">${esc(parts.join("；"))}</p>` : "";
}

function eventHtml(e) {
  const statusChange = e.from_status && e.from_status !== e.to_status
    ? `${statusLabel(e.from_status)} → ${statusLabel(e.to_status)}` : statusLabel(e.to_status);
  const role = label(`userrole.${e.role}`, e.role);
  const files = (e.attachments || []).length
    ? `<p class="event-attachments">${esc(t("dispatch.attachments"))}：` +
      `${e.attachments.map((f) => `<span class="attachment">${esc(f)}</span>`).join("、")}</p>` : "";
  const comment = e.comment ? `<p class="event-comment">${esc(e.comment)}</p>` : "";
  const action = actionLabel(e.action, e.label);
  return `<li class="event" data-action="${esc(e.action)}">` +
    `<div class="event-head"><time datetime="${esc(e.at)}">${esc(localTime(e.at))}</time> ` +
    `<span class="event-action">${esc(action)}</span> <span class="event-status">${esc(statusChange)}</span></div>` +
    `<div class="event-who"><span class="event-actor">${esc(e.actor)}</span> · ${esc(role)}</div>` +
    `${comment}${files}${eventDetailHtml(e)}</li>`;
}

// Moving is not a workflow step: offered to roles that act on incidents while the incident is open (the API
// checks the grid and the version).
const MOVE = { action: "move", needs_reason: false };

function buttonLabel(a) {
  return a.action === "move" ? t("dispatch.move_button") : actionLabel(a.action, a.label);
}

function actionsOf(d, canMove) {
  return [...d.allowed_actions, ...(canMove(d) ? [MOVE] : [])];
}

function actionsHtml(d, canMove) {
  const actions = actionsOf(d, canMove);
  if (!actions.length) return `<p class="no-actions">${esc(t("dispatch.no_actions"))}</p>`;
  return actions.map((a) =>
    `<button type="button" class="action-button action-${esc(a.action)}" data-action="${esc(a.action)}">` +
    `${esc(buttonLabel(a))}</button>`).join("");
}

function categoryFieldHtml(current) {
  const options = categoryList().map((c) =>
    `<option value="${esc(c.code)}"${c.code === current ? " selected" : ""}>${esc(categoryPath(c))}</option>`);
  return `<label class="wide"><span>${esc(t("dispatch.file_category"))}</span>` +
    `<select name="category">${options.join("")}</select></label>`;
}

function moveFieldHtml() {
  return `<p class="wide move-hint">${esc(t("dispatch.move_hint"))}</p>` +
    `<p class="wide move-target" aria-live="polite"></p>`;
}

function actionFormHtml(a, d) {
  const category = a.action === "file" && categoryList().length ? categoryFieldHtml(d.category?.code) : "";
  const move = a.action === "move" ? moveFieldHtml() : "";
  const levels = a.action === "escalate"
    ? `<label><span>${esc(t("dispatch.escalate_to"))}</span><select name="level">` +
      `${(a.levels || []).map((l) => `<option value="${esc(l)}">${esc(levelLabel(l))}</option>`).join("")}` +
      `</select></label>` +
      `<label class="department-field"><span>${esc(t("dispatch.department"))}</span>` +
      `<input name="department" maxlength="100" placeholder="${esc(t("dispatch.department_placeholder"))}"></label>`
    : "";
  const commentKey = a.needs_reason ? "dispatch.reason" : "dispatch.comment";
  return `<form class="dispatch-form action-form" data-action="${esc(a.action)}" novalidate>` +
    `<h4>${esc(buttonLabel(a))}</h4>${move}${category}${levels}` +
    `<label class="wide"><span>${esc(t(commentKey))}</span>` +
    `<textarea name="comment" rows="2" maxlength="2000"${a.needs_reason ? " required" : ""}></textarea></label>` +
    (a.action === "move" ? "" // a move records a comment, no attachments
      : `<label class="wide"><span>${esc(t("dispatch.attachment_names"))}</span>` +
        `<input name="attachments" maxlength="2000" placeholder="现场照片1.jpg, 现场照片2.jpg"></label>`) +
    `<p class="form-message wide" role="alert" hidden></p>` +
    `<div class="form-actions wide"><button type="submit" class="primary">${esc(t("dispatch.confirm"))}</button>` +
    `<button type="button" class="cancel">${esc(t("auth.cancel"))}</button>` +
    `<button type="button" class="reload" hidden>${esc(t("edit.reload"))}</button></div></form>`;
}

function detailHtml(d, canMove) {
  const category = categoryPath(d.category);
  const level = d.department ? `${levelLabel(d.level)} · ${d.department}` : levelLabel(d.level); // escaped below
  const compound = d.compound ? esc(d.compound.name) : "";
  const grid = d.grid.micro_code
    ? `<span class="detail-micro-name">${esc(d.grid.micro_name || "")}</span> <code class="detail-micro-code">` +
      `${esc(d.grid.micro_code)}</code>` : "";
  const reporter = [d.reporter, d.created_by ? t("dispatch.entered_by", { user: d.created_by }) : null]
    .filter(Boolean).join(" · ");
  return `<header class="detail-head" data-id="${esc(d.id)}" data-version="${esc(d.version)}">` +
    `<h3><span class="detail-id">#${esc(d.id)}</span> <span class="detail-title">${esc(d.title)}</span></h3>` +
    `${statusBadge(d.status, d.status_label)}</header>` +
    `<table class="detail-facts">` +
    row("dispatch.category", esc(category)) +
    row("dispatch.deadline", deadlineHtml(d.step)) +
    row("dispatch.level", esc(level)) +
    row("dispatch.col.grid", grid) +
    row("dispatch.compound", compound) +
    row("dispatch.address", esc(d.address || "")) +
    row("dispatch.channel", esc(channelLabel(d.channel))) +
    row("dispatch.reporter", esc(reporter)) +
    row("dispatch.col.reported", esc(localTime(d.reported_at))) +
    row("dispatch.location", locationHtml(d)) +
    row("dispatch.description", d.description ? `<span class="detail-description">${esc(d.description)}</span>` : "") +
    `</table>` +
    `<div class="detail-actions" role="group">${actionsHtml(d, canMove)}</div>` +
    `<div class="action-form-box"></div>` +
    `<h4 class="timeline-title">${esc(t("dispatch.timeline"))}</h4>` +
    `<ol class="timeline">${d.timeline.map(eventHtml).join("")}</ol>`;
}

/**
 * The detail panel in `box`. `onChanged(detail)` after a successful action (the list and map refresh);
 * `onShown(detail)` whenever an incident is shown; `onZoom(detail)` for "show on map".
 */
export function initDetail(box, { status, onChanged, onShown, onZoom, canMove = () => false }) {
  // detail: the incident shown; open: the action whose form is open; message: {key|text, kind, reload};
  // target: the point picked on the map for a move, with the grid the API located it in.
  const state = { detail: null, open: null, message: null, ticket: 0, loads: 0, id: null, target: null };
  const actionOf = (name) => (state.detail ? actionsOf(state.detail, canMove) : []).find((x) => x.action === name);

  let statusMessage = null;
  const setStatus = (s) => {
    statusMessage = s;
    showStatus(status, s);
  };

  function formMessage(msg) {
    const form = box.querySelector(".action-form");
    if (!form) return;
    const p = form.querySelector(".form-message");
    p.hidden = !msg;
    p.className = `form-message wide${msg ? ` form-${msg.kind || "info"}` : ""}`;
    p.textContent = msg ? (msg.key ? t(msg.key, msg.params) : msg.text) : "";
    form.querySelector(".reload").hidden = !(msg && msg.reload);
  }

  function openForm(action) {
    const a = actionOf(action);
    const holder = box.querySelector(".action-form-box");
    box.querySelectorAll(".action-button").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.action === action));
    });
    state.open = a ? action : null;
    if (action !== "move") state.target = null;
    holder.innerHTML = a ? actionFormHtml(a, state.detail) : "";
    if (!a) return;
    if (action === "move") showTarget();
    const form = holder.querySelector("form");
    const levelSelect = form.elements.namedItem("level");
    const dept = form.querySelector(".department-field");
    const syncDept = () => { if (dept) dept.hidden = levelSelect.value !== "department"; };
    if (levelSelect) levelSelect.addEventListener("change", syncDept);
    syncDept();
    formMessage(state.message);
    form.elements.namedItem("comment").focus();
  }

  function render() {
    const d = state.detail;
    box.innerHTML = d ? detailHtml(d, canMove) : `<p class="dispatch-empty">${esc(t("dispatch.detail_empty"))}</p>`;
    if (d && state.open) openForm(state.open);
  }

  async function load(id, { keepMessage = false } = {}) {
    const ticket = ++state.ticket;
    state.id = id;
    setStatus({ key: "audit.loading", kind: "info" });
    try {
      const d = await getIncident(id);
      if (ticket !== state.ticket) return null;
      show(d, { keepMessage });
      setStatus(null);
      return d;
    } catch (err) {
      if (ticket !== state.ticket) return null;
      state.detail = null;
      render();
      setStatus({ text: t(ERROR_KEYS[err.status] || "dispatch.err.load", { message: describe(err) }), kind: "error" });
      return null;
    } finally {
      state.loads += 1;
    }
  }

  function show(d, { keepMessage = false } = {}) {
    const same = state.detail && state.detail.id === d.id;
    state.detail = d;
    state.id = d.id;
    if (!same) state.open = null;
    if (!keepMessage) state.message = null;
    // An action no longer allowed (someone else moved the incident on) closes its form.
    if (state.open && !actionsOf(d, canMove).some((a) => a.action === state.open)) state.open = null;
    render();
    onShown(d);
  }

  async function submit(form) {
    const d = state.detail;
    const a = actionOf(form.dataset.action);
    const comment = form.elements.namedItem("comment").value.trim();
    if (a.action === "move") return submitMove(form, comment);
    const files = form.elements.namedItem("attachments").value.split(/[,，、;；\n]/).map((s) => s.trim())
      .filter(Boolean);
    const body = { action: a.action, comment: comment || null, attachments: files };
    const category = form.elements.namedItem("category");
    if (category && category.value && category.value !== d.category?.code) body.category = category.value;
    if (a.action === "escalate") {
      body.level = form.elements.namedItem("level").value;
      const department = form.elements.namedItem("department").value.trim();
      if (body.level === "department") body.department = department || null;
      if (body.level === "department" && !department) {
        state.message = { key: "dispatch.need_department", kind: "error" };
        return formMessage(state.message);
      }
    }
    if (a.needs_reason && !comment) {
      state.message = { key: "dispatch.need_reason", kind: "error" };
      return formMessage(state.message);
    }
    return send(form, () => transition(d.id, d.version, body), (next) => ({ key: "dispatch.done",
      params: { action: actionLabel(a.action, a.label), status: statusLabel(next.status, next.status_label) } }));
  }

  // One request for the open form: its buttons are off while it runs; success closes the form, shows the
  // incident as it is now and says `done(next)`; a refusal shows the API's message in the form.
  async function send(form, call, done) {
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    state.message = { key: "edit.saving", kind: "info" };
    formMessage(state.message);
    try {
      const next = await call();
      state.open = null;
      state.message = null;
      state.target = null;
      show(next);
      setStatus({ ...done(next), kind: "success" });
      onChanged(next);
    } catch (err) {
      buttons.forEach((b) => { b.disabled = false; });
      const key = ERROR_KEYS[err.status] || "dispatch.err.action";
      // A stale version: the incident changed meanwhile; reloading shows what it is now.
      state.message = { text: t(key, { message: describe(err) }), kind: "error", reload: err.status === 409 };
      formMessage(state.message);
    }
    return null;
  }

  // Moving: the form waits for a point picked on the map (pickMove), shows the grid it lies in, then PATCHes.
  function showTarget() {
    const p = box.querySelector(".action-form[data-action='move'] .move-target");
    if (!p) return;
    const tg = state.target;
    p.className = `wide move-target${tg && tg.error ? " form-error" : ""}`;
    if (!tg) p.textContent = t("dispatch.move_none");
    else if (tg.error) p.textContent = tg.error;
    else if (!tg.grid) p.textContent = t("dispatch.move_locating");
    else p.textContent = t("dispatch.move_to", { name: tg.grid.name, code: tg.grid.code, lon: tg.lon, lat: tg.lat });
  }

  async function pickMove(latlng) {
    const target = { lon: Number(latlng.lng.toFixed(7)), lat: Number(latlng.lat.toFixed(7)), grid: null };
    state.target = target;
    showTarget();
    try {
      const answer = await locate({ lon: target.lon, lat: target.lat, crs: "wgs84" });
      if (state.target === target) target.grid = answer.micro_grid;
    } catch (err) {
      if (state.target === target) target.error = describe(err);
    }
    showTarget();
  }

  async function submitMove(form, comment) {
    const d = state.detail;
    const tg = state.target;
    if (!tg || !tg.grid) {
      state.message = { key: "dispatch.move_need_point", kind: "error" };
      return formMessage(state.message);
    }
    const body = { lon: tg.lon, lat: tg.lat, crs: "wgs84", comment: comment || null };
    return send(form, () => moveIncident(d.id, d.version, body),
      (next) => ({ key: "dispatch.moved", params: { code: next.grid.micro_code } }));
  }

  box.addEventListener("click", (event) => {
    const button = event.target.closest(".action-button");
    if (button) {
      state.message = null;
      openForm(state.open === button.dataset.action ? null : button.dataset.action);
      return;
    }
    if (event.target.closest(".action-form .cancel")) {
      state.message = null;
      openForm(null);
      return;
    }
    if (event.target.closest(".action-form .reload")) {
      state.message = null;
      state.open = null;
      load(state.detail.id);
      return;
    }
    if (event.target.closest(".detail-zoom") && state.detail) onZoom(state.detail);
  });
  box.addEventListener("submit", (event) => {
    event.preventDefault();
    if (event.target.closest(".action-form")) submit(event.target.closest(".action-form"));
  });

  onLangChange(() => {
    // Keep what was typed into an open action form across the re-render.
    const before = box.querySelector(".action-form");
    const typed = before ? Object.fromEntries(new FormData(before)) : null;
    render();
    const after = box.querySelector(".action-form");
    if (typed && after) {
      Object.entries(typed).forEach(([name, value]) => {
        const field = after.elements.namedItem(name);
        if (field) field.value = value;
      });
      after.querySelector(".department-field")?.toggleAttribute("hidden", typed.level !== "department");
    }
    setStatus(statusMessage);
  });

  render();
  window.gisgridDispatchDetail = state;
  return {
    load,
    show,
    current: () => state.detail,
    /** Whether a map click should pick the new place of the incident shown (its move form is open). */
    moving: () => state.open === "move" && Boolean(state.detail),
    pickMove,
    clear() {
      Object.assign(state, { detail: null, open: null, message: null, id: null, target: null });
      state.ticket += 1;
      setStatus(null);
      render();
    },
    state,
  };
}
