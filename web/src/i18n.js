// All user-facing strings, Chinese first (the users are Chengdu street offices), English available.
// t(key, params) looks a string up in the current language; elements with data-i18n="key" are
// re-labelled by applyTo() whenever the language changes.

const STRINGS = {
  zh: {
    "app.title": "gisgrid 微网实格",
    "app.subtitle": "网格化治理地图",
    "lang.zh": "中文",
    "lang.en": "EN",
    "lang.switch": "切换语言",
    "loading": "正在加载图层…",
    "loading.progress": "正在加载图层 {done}/{total}",
    "error.layer": "图层“{layer}”加载失败：{message}",
    "error.config": "地图配置加载失败：{message}",
    "error.close": "关闭",
    "error.network": "无法连接服务器（{message}）",
    "notice.empty": "数据库中还没有网格数据，地图为空。",
    "attribution.data": "网格边界为合成演示数据",
    "panel.title": "图层",
    "panel.failed": "失败",
    "legend.title": "图例",
    "legend.grids": "网格层级",
    "legend.sites": "服务阵地",
    "legend.walk": "步行网络",
    "legend.water": "河流与巡河段",
    "legend.special": "特色网格",
    "legend.base": "底图",
    "layer.subdistricts": "街道",
    "layer.communities": "社区",
    "layer.general_grids": "一般网格",
    "layer.micro_grids": "微网格",
    "layer.special_grids": "特色网格",
    "layer.compounds": "小区",
    "layer.buildings": "楼栋",
    "layer.sites": "服务阵地",
    "layer.walk_edges": "步行网络",
    "layer.rivers": "河流",
    "layer.bank_segments": "河岸巡河段",
    "layer.tiles": "在线底图",
    "site.centre": "街道便民服务中心",
    "site.community": "社区党群服务阵地",
    "site.outpost": "小区服务阵地",
    "walk.road": "道路",
    "walk.path": "步道",
    "walk.bridge": "桥梁",
    "walk.crossing": "过街通道",
    "special.law": "法治格",
    "special.care": "关爱格",
    "special.medical": "医疗格",
    "special.veterans": "退役军人格",
    "level.subdistrict": "街道",
    "level.community": "社区",
    "level.general": "一般网格",
    "level.micro": "微网格",
    "role.community_head": "社区党委书记",
    "role.grid_worker": "专职网格员",
    "role.micro_grid_worker": "微网格员",
    "role.specialist": "专业力量",
    "side.left": "左岸",
    "side.right": "右岸",
    "field.code": "编码",
    "field.households": "户数",
    "field.population": "人口",
    "field.workers": "负责人",
    "field.aliases": "别名",
    "field.buildings": "楼栋数",
    "field.compound": "小区",
    "field.floors": "层数",
    "field.kind": "类型",
    "field.brand": "品牌",
    "field.services": "服务事项",
    "field.opening_hours": "开放时间",
    "field.address": "地址",
    "field.length": "长度",
    "field.width": "宽度",
    "field.side": "岸别",
    "field.community": "所属社区",
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
    "edit.button": "修改",
    "edit.title": "修改网格属性",
    "edit.name": "名称",
    "edit.name_en": "英文名称",
    "edit.households": "户数",
    "edit.population": "人口",
    "edit.save": "保存",
    "edit.reload": "重新载入",
    "edit.close": "关闭",
    "edit.version": "版本 {version}",
    "edit.loading": "正在读取…",
    "edit.saving": "正在保存…",
    "edit.saved": "已保存（版本 {version}）",
    "edit.unchanged": "没有修改任何内容",
    "edit.conflict": "已被他人修改，请重新载入后再改：{message}",
    "edit.forbidden": "无权修改：{message}",
    "edit.invalid": "输入有误：{message}",
    "edit.missing": "找不到该网格：{message}",
    "edit.error": "保存失败：{message}",
    "edit.load_error": "读取失败：{message}",
    "edit.need_login": "请以有权修改此网格的账户登录后再保存",
    "audit.title": "审计日志",
    "audit.back": "返回地图",
    "audit.actor": "操作人",
    "audit.action": "操作",
    "audit.entity": "对象类型",
    "audit.key": "对象",
    "audit.at": "时间",
    "audit.role": "角色",
    "audit.ip": "IP",
    "audit.change": "修改前 → 修改后",
    "audit.detail": "详情",
    "audit.search": "筛选",
    "audit.clear": "清除",
    "audit.refresh": "刷新",
    "audit.prev": "上一页",
    "audit.next": "下一页",
    "audit.limit": "每页",
    "audit.range": "第 {from}–{to} 条",
    "audit.loading": "正在加载…",
    "audit.empty": "没有符合条件的记录",
    "audit.denied": "请以管理员或审计员身份登录",
    "audit.error": "审计日志加载失败：{message}",
  },
  en: {
    "app.title": "gisgrid 微网实格",
    "app.subtitle": "Grid governance map",
    "lang.zh": "中文",
    "lang.en": "EN",
    "lang.switch": "Switch language",
    "loading": "Loading layers…",
    "loading.progress": "Loading layers {done}/{total}",
    "error.layer": "Layer “{layer}” failed to load: {message}",
    "error.config": "Map configuration failed to load: {message}",
    "error.close": "Close",
    "error.network": "Cannot reach the server ({message})",
    "notice.empty": "No grid data in the database yet: the map is empty.",
    "attribution.data": "Grid boundaries are synthetic demo data",
    "panel.title": "Layers",
    "panel.failed": "failed",
    "legend.title": "Legend",
    "legend.grids": "Grid levels",
    "legend.sites": "Service sites",
    "legend.walk": "Walking network",
    "legend.water": "Rivers and patrol segments",
    "legend.special": "Special grids",
    "legend.base": "Base map",
    "layer.subdistricts": "Subdistricts",
    "layer.communities": "Communities",
    "layer.general_grids": "General grids",
    "layer.micro_grids": "Micro-grids",
    "layer.special_grids": "Special grids",
    "layer.compounds": "Compounds",
    "layer.buildings": "Buildings",
    "layer.sites": "Service sites",
    "layer.walk_edges": "Walking network",
    "layer.rivers": "Rivers",
    "layer.bank_segments": "River bank segments",
    "layer.tiles": "Online base map",
    "site.centre": "Subdistrict service centre",
    "site.community": "Community service site",
    "site.outpost": "Compound outpost",
    "walk.road": "Road",
    "walk.path": "Path",
    "walk.bridge": "Bridge",
    "walk.crossing": "Crossing",
    "special.law": "Law grid",
    "special.care": "Care grid",
    "special.medical": "Medical grid",
    "special.veterans": "Veterans grid",
    "level.subdistrict": "Subdistrict",
    "level.community": "Community",
    "level.general": "General grid",
    "level.micro": "Micro-grid",
    "role.community_head": "Community head",
    "role.grid_worker": "Grid worker",
    "role.micro_grid_worker": "Micro-grid worker",
    "role.specialist": "Specialist",
    "side.left": "Left bank",
    "side.right": "Right bank",
    "field.code": "Code",
    "field.households": "Households",
    "field.population": "Population",
    "field.workers": "Responsible",
    "field.aliases": "Also called",
    "field.buildings": "Buildings",
    "field.compound": "Compound",
    "field.floors": "Floors",
    "field.kind": "Kind",
    "field.brand": "Brand",
    "field.services": "Services",
    "field.opening_hours": "Opening hours",
    "field.address": "Address",
    "field.length": "Length",
    "field.width": "Width",
    "field.side": "Bank",
    "field.community": "Community",
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
    "edit.button": "Edit",
    "edit.title": "Edit grid unit",
    "edit.name": "Name",
    "edit.name_en": "English name",
    "edit.households": "Households",
    "edit.population": "Population",
    "edit.save": "Save",
    "edit.reload": "Reload",
    "edit.close": "Close",
    "edit.version": "Version {version}",
    "edit.loading": "Loading…",
    "edit.saving": "Saving…",
    "edit.saved": "Saved (version {version})",
    "edit.unchanged": "Nothing was changed",
    "edit.conflict": "Changed by someone else meanwhile — reload and apply your change again: {message}",
    "edit.forbidden": "Not allowed: {message}",
    "edit.invalid": "Invalid input: {message}",
    "edit.missing": "No such grid unit: {message}",
    "edit.error": "Saving failed: {message}",
    "edit.load_error": "Loading failed: {message}",
    "edit.need_login": "Log in with an account that may edit this grid unit to save",
    "audit.title": "Audit trail",
    "audit.back": "Back to the map",
    "audit.actor": "Actor",
    "audit.action": "Action",
    "audit.entity": "Entity",
    "audit.key": "Key",
    "audit.at": "Time",
    "audit.role": "Role",
    "audit.ip": "IP",
    "audit.change": "Before → after",
    "audit.detail": "Detail",
    "audit.search": "Filter",
    "audit.clear": "Clear",
    "audit.refresh": "Refresh",
    "audit.prev": "Previous",
    "audit.next": "Next",
    "audit.limit": "Per page",
    "audit.range": "Entries {from}–{to}",
    "audit.loading": "Loading…",
    "audit.empty": "No matching entries",
    "audit.denied": "Log in as admin or auditor",
    "audit.error": "The audit trail failed to load: {message}",
  },
};

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
