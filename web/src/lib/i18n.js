// The strings every page shares (header, log-in, errors, roles, grid levels) and the language machinery, Chinese
// first (the users are Chengdu street offices), English available. Each page adds its own strings with
// addStrings() from its strings.js; layer and field names come from the server (/api/map-config).
// t(key, params) looks a string up in the current language; elements with data-i18n="key" are re-labelled by
// applyTo() whenever the language changes.

/** @typedef {{[key: string]: string}} StringTable */

/** @type {{[lang: string]: StringTable}} */
const STRINGS = {
  zh: {
    "app.title": "gisgrid 微网实格",
    "lang.zh": "中文",
    "lang.en": "EN",
    "lang.switch": "切换语言",
    "loading": "正在加载图层…",
    "loading.progress": "正在加载图层 {done}/{total}",
    "error.layer": "图层“{layer}”加载失败：{message}",
    "error.config": "地图配置加载失败：{message}",
    "error.close": "关闭",
    "error.network": "无法连接服务器（{message}）",
    "attribution.data": "网格边界为合成演示数据",
    "panel.title": "图层",
    "panel.failed": "失败",
    "panel.zoom_in": "放大后显示",
    "legend.title": "图例",
    "legend.layers": "图层",
    "site.centre": "街道便民服务中心",
    "site.community": "社区党群服务阵地",
    "site.outpost": "小区服务阵地",
    "level.subdistrict": "街道",
    "level.community": "社区",
    "level.general": "一般网格",
    "level.micro": "微网格",
    "role.community_head": "社区党委书记",
    "role.grid_worker": "专职网格员",
    "role.micro_grid_worker": "微网格员",
    "role.specialist": "专业力量",
    "field.workers": "负责人",
    "value.none": "—",
    "unit.m": "{n} 米",
    "search.placeholder": "搜索名称或编码，如 莲花",
    "search.button": "搜索",
    "search.none": "没有找到“{q}”",
    "search.error": "搜索出错：{message}",
    "search.kind.grid": "网格",
    "search.kind.compound": "小区",
    "search.kind.site": "服务阵地",
    "auth.login": "登录",
    "auth.logout": "退出",
    "auth.title": "登录",
    "auth.username": "用户名",
    "auth.password": "密码",
    "auth.submit": "登录",
    "auth.cancel": "取消",
    "auth.missing": "请输入用户名和密码",
    "auth.audit": "审计日志",
    "auth.expired": "登录已过期，请重新登录",
    "auth.logout_failed": "退出失败：{message}",
    "auth.not_confirmed": "登录未能生效（浏览器是否禁用了 Cookie？），请重试",
    "userrole.admin": "管理员",
    "userrole.planner": "规划员",
    "userrole.dispatcher": "调度员",
    "userrole.auditor": "审计员",
    "userrole.grid_worker": "网格员",
    "userrole.patrol": "巡河员",
    "edit.reload": "重新载入",
    "edit.saving": "正在保存…",
    "audit.back": "返回地图",
    "audit.search": "筛选",
    "audit.clear": "清除",
    "audit.refresh": "刷新",
    "audit.prev": "上一页",
    "audit.next": "下一页",
    "audit.loading": "正在加载…",
    "auth.dispatch": "事件调度",
    "auth.plan": "网格规划",
    "auth.coverage": "服务圈覆盖",
  },
  en: {
    "app.title": "gisgrid 微网实格",
    "lang.zh": "中文",
    "lang.en": "EN",
    "lang.switch": "Switch language",
    "loading": "Loading layers…",
    "loading.progress": "Loading layers {done}/{total}",
    "error.layer": "Layer “{layer}” failed to load: {message}",
    "error.config": "Map configuration failed to load: {message}",
    "error.close": "Close",
    "error.network": "Cannot reach the server ({message})",
    "attribution.data": "Grid boundaries are synthetic demo data",
    "panel.title": "Layers",
    "panel.failed": "failed",
    "panel.zoom_in": "zoom in",
    "legend.title": "Legend",
    "legend.layers": "Layers",
    "site.centre": "Subdistrict service centre",
    "site.community": "Community service site",
    "site.outpost": "Compound outpost",
    "level.subdistrict": "Subdistrict",
    "level.community": "Community",
    "level.general": "General grid",
    "level.micro": "Micro-grid",
    "role.community_head": "Community head",
    "role.grid_worker": "Grid worker",
    "role.micro_grid_worker": "Micro-grid worker",
    "role.specialist": "Specialist",
    "field.workers": "Responsible",
    "value.none": "—",
    "unit.m": "{n} m",
    "search.placeholder": "Search a name or code, e.g. 莲花",
    "search.button": "Search",
    "search.none": "Nothing found for “{q}”",
    "search.error": "Search failed: {message}",
    "search.kind.grid": "Grid",
    "search.kind.compound": "Compound",
    "search.kind.site": "Service site",
    "auth.login": "Log in",
    "auth.logout": "Log out",
    "auth.title": "Log in",
    "auth.username": "User name",
    "auth.password": "Password",
    "auth.submit": "Log in",
    "auth.cancel": "Cancel",
    "auth.missing": "Enter a user name and a password",
    "auth.audit": "Audit trail",
    "auth.expired": "Your session has expired — please log in again",
    "auth.logout_failed": "Log-out failed: {message}",
    "auth.not_confirmed": "The log-in did not take effect (are cookies blocked?) — please try again",
    "userrole.admin": "Administrator",
    "userrole.planner": "Planner",
    "userrole.dispatcher": "Dispatcher",
    "userrole.auditor": "Auditor",
    "userrole.grid_worker": "Grid worker",
    "userrole.patrol": "River patrol",
    "edit.reload": "Reload",
    "edit.saving": "Saving…",
    "audit.back": "Back to the map",
    "audit.search": "Filter",
    "audit.clear": "Clear",
    "audit.refresh": "Refresh",
    "audit.prev": "Previous",
    "audit.next": "Next",
    "audit.loading": "Loading…",
    "auth.dispatch": "Dispatch",
    "auth.plan": "Grid planning",
    "auth.coverage": "Service coverage",
  },
};

/**
 * Add a page's strings ({zh: {key: text}, en: {...}}) to the shared ones.
 * @param {{[lang: string]: StringTable}} more
 */
export function addStrings(more) {
  Object.entries(more).forEach(([code, table]) => Object.assign((STRINGS[code] ||= {}), table));
}

export const LANGUAGES = ["zh", "en"];
const STORAGE_KEY = "gisgrid.lang";
const listeners = [];
let current = storedLanguage() || "zh";

function storedLanguage() {
  // localStorage can throw (privacy modes); a missing choice simply means "use the default".
  try {
    const value = window.localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.includes(value) ? value : null;
  } catch {
    return null;
  }
}

/** The current language code, "zh" or "en". */
export function lang() {
  return current;
}

/** True when the user picked a language on this browser before (it then beats the server default). */
export function hasStoredChoice() {
  return storedLanguage() !== null;
}

/** Translate `key`, filling {name} placeholders from `params`; unknown keys fall back to Chinese, then the key. */
export function t(key, params = {}) {
  const text = STRINGS[current][key] ?? STRINGS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** Switch language; `remember` stores the choice so the next visit opens in it. */
export function setLang(code, { remember = true } = {}) {
  if (!LANGUAGES.includes(code)) return;
  current = code;
  if (remember) {
    try {
      window.localStorage.setItem(STORAGE_KEY, code);
    } catch {
      /* not stored: the switch still works for this visit */
    }
  }
  applyTo(document);
  listeners.forEach((fn) => fn(code));
}

/** Call `fn(lang)` after every language change. */
export function onLangChange(fn) {
  listeners.push(fn);
}

/** Re-label every [data-i18n] (text), [data-i18n-placeholder] and [data-i18n-title] under `root`. */
export function applyTo(root) {
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  root.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
  root.querySelectorAll("[data-i18n-title]").forEach((el) => {
    el.title = t(el.dataset.i18nTitle);
  });
}
