// Intake, step two: the report form under the grid panel. Category (main and sub, from the API), title,
// description, channel, reporter, address. Before creating, the page asks the duplicates endpoint; when open
// incidents of the same kind are near, it lists them and the dispatcher either opens one or reports anyway.

import { onLangChange, t } from "../lib/i18n.js";
import { createIncident, duplicates } from "./api.js";
import { categoryName, channelLabel, describe, esc, metres, statusLabel } from "./format.js";
import { placeLabel } from "./locate.js";

// The API's default channel per role (checks.DEFAULT_CHANNEL): preselected so the form says what will be stored.
const DEFAULT_CHANNEL = { grid_worker: "patrol", patrol: "river_patrol" };

function options(list, selected) {
  return list.map(([value, text]) =>
    `<option value="${esc(value)}"${value === selected ? " selected" : ""}>${esc(text)}</option>`).join("");
}

function formHtml() {
  return `
  <form id="create-form" class="dispatch-form create-form" autocomplete="off" novalidate>
    <h3 data-i18n="dispatch.create">${esc(t("dispatch.create"))}</h3>
    <label><span data-i18n="dispatch.category">${esc(t("dispatch.category"))}</span>
      <select name="main" required></select></label>
    <label><span data-i18n="dispatch.subcategory">${esc(t("dispatch.subcategory"))}</span>
      <select name="sub"></select></label>
    <label class="wide"><span data-i18n="dispatch.f_title">${esc(t("dispatch.f_title"))}</span>
      <input name="title" maxlength="200" required></label>
    <label class="wide"><span data-i18n="dispatch.description">${esc(t("dispatch.description"))}</span>
      <textarea name="description" rows="3" maxlength="4000"></textarea></label>
    <label><span data-i18n="dispatch.channel">${esc(t("dispatch.channel"))}</span>
      <select name="channel"></select></label>
    <label><span data-i18n="dispatch.reporter">${esc(t("dispatch.reporter"))}</span>
      <input name="reporter" maxlength="100"></label>
    <label class="wide"><span data-i18n="dispatch.address">${esc(t("dispatch.address"))}</span>
      <input name="address" maxlength="300"></label>
    <div class="duplicates wide" hidden></div>
    <p class="form-message wide" role="alert" hidden></p>
    <div class="form-actions wide">
      <button type="submit" class="primary" data-i18n="dispatch.submit">${esc(t("dispatch.submit"))}</button>
    </div>
  </form>`;
}

/**
 * The report form in `box`. `where()` gives the current locate answer and origin (or null); `onCreated(detail)`
 * gets the new incident; `onOpen(id)` opens a suggested duplicate; `role()` the caller's role.
 */
export function initCreate(box, { where, onCreated, onOpen, role }) {
  box.innerHTML = formHtml();
  const form = box.querySelector("form");
  const el = (name) => form.elements.namedItem(name);
  const message = form.querySelector(".form-message");
  const dupBox = form.querySelector(".duplicates");
  const submit = form.querySelector("button[type=submit]");
  // checked: the duplicates shown were for this exact report (place + category); "report anyway" sends it.
  // autoAddress: what the page last filled into the address (replaced on the next locate unless edited).
  const state = { meta: null, duplicates: null, checkedKey: null, message: null, autoAddress: "" };

  const say = (msg) => {
    state.message = msg;
    message.hidden = !msg;
    message.className = `form-message wide${msg?.kind ? ` form-${msg.kind}` : ""}`;
    message.textContent = msg ? (msg.key ? t(msg.key, msg.params) : msg.text) : "";
  };

  const mains = () => (state.meta?.categories || []).filter((c) => !c.parent_code);
  const subsOf = (code) => (state.meta?.categories || []).filter((c) => c.parent_code === code);

  function fillSubs(keep) {
    const subs = subsOf(el("main").value);
    el("sub").innerHTML = options([["", t("dispatch.sub_none")], ...subs.map((c) => [c.code, categoryName(c)])], keep);
    el("sub").disabled = subs.length === 0;
  }

  function fillSelects() {
    const main = el("main").value;
    const sub = el("sub").value;
    el("main").innerHTML = options([["", t("dispatch.choose")], ...mains().map((c) => [c.code, categoryName(c)])],
      main);
    fillSubs(sub);
    const channel = el("channel").value || DEFAULT_CHANNEL[role()] || "dispatcher";
    el("channel").innerHTML = options((state.meta?.channels || []).map((c) => [c, channelLabel(c)]), channel);
  }

  const category = () => el("sub").value || el("main").value;

  function duplicatesHtml(list) {
    const rows = list.map((d) =>
      `<li data-id="${esc(d.id)}"><button type="button" class="link-button dup-open" data-id="${esc(d.id)}">` +
      `#${esc(d.id)} ${esc(d.title)}</button> <span class="dup-meta">${esc(statusLabel(d.status))} · ` +
      `${esc(t("dispatch.dup_distance", { m: metres(d.distance_m) }))}</span></li>`).join("");
    return `<strong>${esc(t("dispatch.dup_title", { n: list.length }))}</strong><ul>${rows}</ul>` +
      `<button type="button" class="dup-continue">${esc(t("dispatch.dup_continue"))}</button>`;
  }

  function showDuplicates(list) {
    state.duplicates = list;
    dupBox.hidden = !list || list.length === 0;
    dupBox.innerHTML = dupBox.hidden ? "" : duplicatesHtml(list);
  }

  const reportKey = (located) => JSON.stringify([located.answer.input, category()]);

  function body(located) {
    const { input } = located.answer;
    const text = (name) => el(name).value.trim() || null;
    return {
      category_code: category(),
      title: el("title").value.trim(),
      description: text("description"),
      channel: el("channel").value || null,
      reporter: text("reporter"),
      address: text("address"),
      lon: input.lon,
      lat: input.lat,
      crs: input.crs,
    };
  }

  async function send(located) {
    submit.disabled = true;
    say({ key: "dispatch.creating" });
    try {
      const created = await createIncident(body(located));
      showDuplicates(null);
      state.checkedKey = null;
      ["title", "description", "reporter"].forEach((name) => { el(name).value = ""; });
      say({ key: "dispatch.created", params: { id: created.id }, kind: "success" });
      onCreated(created);
    } catch (err) {
      say({ text: describe(err), kind: "error" });
    } finally {
      submit.disabled = false;
    }
  }

  form.addEventListener("change", (event) => {
    if (event.target === el("main")) fillSubs("");
    // Another category or place: the duplicates shown no longer apply.
    if (event.target === el("main") || event.target === el("sub")) {
      showDuplicates(null);
      state.checkedKey = null;
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const located = where();
    if (!located) return say({ key: "dispatch.need_location", kind: "error" });
    if (!category()) return say({ key: "dispatch.need_category", kind: "error" });
    if (!el("title").value.trim()) {
      el("title").focus();
      return say({ key: "dispatch.need_title", kind: "error" });
    }
    const key = reportKey(located);
    if (state.checkedKey !== key) {
      // Ask first: open incidents of the same family nearby, recently.
      submit.disabled = true;
      try {
        const { input } = located.answer;
        const found = await duplicates({ lon: input.lon, lat: input.lat, crs: input.crs, category: category() });
        state.checkedKey = key;
        if (found.duplicates.length) {
          showDuplicates(found.duplicates);
          return say({ key: "dispatch.dup_ask", kind: "info" });
        }
      } catch (err) {
        return say({ text: describe(err), kind: "error" });
      } finally {
        submit.disabled = false;
      }
    }
    return send(located);
  });

  dupBox.addEventListener("click", (event) => {
    const open = event.target.closest(".dup-open");
    if (open) onOpen(Number(open.dataset.id));
    if (event.target.closest(".dup-continue")) {
      const located = where();
      if (located) send(located);
    }
  });

  onLangChange(() => {
    fillSelects();
    form.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
    if (state.duplicates?.length) dupBox.innerHTML = duplicatesHtml(state.duplicates);
    say(state.message);
  });

  return {
    setMeta(meta) {
      state.meta = meta;
      fillSelects();
    },
    /** A new place was located: fill the address from a picked compound/building when it is empty. */
    located(answer, origin) {
      box.hidden = false;
      showDuplicates(null);
      state.checkedKey = null;
      say(null);
      const place = origin?.place ? placeLabel(origin.place)
        : [answer.compound?.name, answer.building?.label].filter(Boolean).join(" ");
      const current = el("address").value.trim();
      if (!current || current === state.autoAddress) {
        el("address").value = place;
        state.autoAddress = place;
      }
    },
    hide() {
      box.hidden = true;
    },
  };
}
