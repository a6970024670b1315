// The account corner of the header: a 登录 button for visitors, or the user's name, role and 退出 for a logged-in
// user (plus the audit page link for roles that may read it, the dispatch page link for the roles that read
// incidents and the planner's page link for the roles that edit grids), and the log-in dialog. Shared by the map,
// audit, dispatch and planner's pages.

import { t } from "./i18n.js";
import { esc } from "./html.js";
import { can, currentUser, logIn, logOut, onUserChange } from "./session.js";
import { hideBanner, showBanner } from "./ui.js";


const dialogHtml = () => `
  <form class="gg-form" novalidate>
    <h2 data-i18n="auth.title">${esc(t("auth.title"))}</h2>
    <label><span data-i18n="auth.username">${esc(t("auth.username"))}</span>
      <input name="username" autocomplete="username" maxlength="64" required></label>
    <label><span data-i18n="auth.password">${esc(t("auth.password"))}</span>
      <input name="password" type="password" autocomplete="current-password" maxlength="256" required></label>
    <p class="form-message" role="alert" hidden></p>
    <div class="form-actions">
      <button type="submit" class="primary" data-i18n="auth.submit">${esc(t("auth.submit"))}</button>
      <button type="button" class="cancel" data-i18n="auth.cancel">${esc(t("auth.cancel"))}</button>
    </div>
  </form>`;

function roleHtml(user) {
  // The API's role_title is bilingual ("规划员 planner"); a known role shows the current language's word and
  // follows the language switch, an unknown one the API's title as it is.
  const key = `userrole.${user.role}`;
  if (t(key) === key) return `<span class="user-role">${esc(user.role_title || user.role)}</span>`;
  return `<span class="user-role" data-i18n="${esc(key)}">${esc(t(key))}</span>`;
}

function userHtml(user, { auditLink, dispatchLink, planLink, coverageLink }) {
  // Every role that reads incidents gets the dispatch page (read-only for those who may not report).
  const dispatch = dispatchLink && can("incidents.read")
    ? `<a class="dispatch-link" href="/static/dispatch.html" data-i18n="auth.dispatch">${esc(t("auth.dispatch"))}</a>`
    : "";
  // The roles that edit grids get the planner's page (boundary edits).
  const plan = planLink && can("grids.edit")
    ? `<a class="plan-link" href="/static/plan.html" data-i18n="auth.plan">${esc(t("auth.plan"))}</a>` : "";
  // Households are private: the coverage page is for the roles that may read them.
  const coverage = coverageLink && can("coverage.read")
    ? `<a class="coverage-link" href="/static/coverage.html" data-i18n="auth.coverage">${esc(t("auth.coverage"))}</a>`
    : "";
  const link = auditLink && can("audit.read")
    ? `<a class="audit-link" href="/static/audit.html" data-i18n="auth.audit">${esc(t("auth.audit"))}</a>` : "";
  const name = `<span class="user-name">${esc(user.display_name || user.username)}</span>`;
  return `${name}${roleHtml(user)}${plan}${coverage}${dispatch}${link}` +
    `<button type="button" class="logout-button" data-i18n="auth.logout">${esc(t("auth.logout"))}</button>`;
}

function createDialog() {
  const dialog = document.createElement("dialog");
  dialog.id = "login-dialog";
  dialog.className = "gg-dialog";
  dialog.innerHTML = dialogHtml();
  document.body.append(dialog);
  const form = dialog.querySelector("form");
  const message = form.querySelector(".form-message");
  const submit = form.querySelector("button[type=submit]");
  const say = (text) => {
    message.textContent = text || "";
    message.hidden = !text;
  };

  form.querySelector(".cancel").addEventListener("click", () => dialog.close());
  // However the dialog closes (cancel, Escape, success), no password stays behind in the page.
  dialog.addEventListener("close", () => {
    form.elements.namedItem("password").value = "";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = form.elements.namedItem("username").value.trim();
    const password = form.elements.namedItem("password").value;
    if (!username || !password) return say(t("auth.missing"));
    submit.disabled = true;
    say("");
    try {
      await logIn(username, password);
      form.reset();
      dialog.close();
    } catch (err) {
      // The API says why in its own (bilingual) words: wrong password, locked until …, disabled.
      say(err.message || String(err));
      form.elements.namedItem("password").select();
    } finally {
      submit.disabled = false;
    }
  });
  return {
    open() {
      say("");
      dialog.showModal();
      form.elements.namedItem("username").focus();
    },
  };
}

/** Render the account corner into `container` and keep it in step with the session. */
export function initAccount(container, { auditLink = true, dispatchLink = true, planLink = true,
  coverageLink = true } = {}) {
  const dialog = createDialog();
  const render = () => {
    const user = currentUser();
    container.classList.toggle("logged-in", user.authenticated);
    container.innerHTML = user.authenticated ? userHtml(user, { auditLink, dispatchLink, planLink, coverageLink })
      : `<button type="button" class="login-button" data-i18n="auth.login">${esc(t("auth.login"))}</button>`;
  };
  container.addEventListener("click", async (event) => {
    if (event.target.closest(".login-button")) dialog.open();
    if (!event.target.closest(".logout-button")) return;
    try {
      await logOut();
    } catch (err) {
      showBanner("auth.logout_failed", { message: err.describe ? err.describe() : String(err) });
    }
  });
  onUserChange((user) => {
    if (user.authenticated) hideBanner("auth.expired");
    render();
  });
  render();
  return { openLogin: dialog.open };
}
