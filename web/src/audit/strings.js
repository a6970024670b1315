// @ts-check
// Strings of the audit page, Chinese first; registered on import, before the page renders anything.

import { addStrings } from "../lib/i18n.js";

addStrings({
  zh: {
    "audit.title": "审计日志",
    "audit.actor": "操作人",
    "audit.action": "操作",
    "audit.entity": "对象类型",
    "audit.key": "对象",
    "audit.at": "时间",
    "audit.role": "角色",
    "audit.ip": "IP",
    "audit.change": "修改前 → 修改后",
    "audit.detail": "详情",
    "audit.limit": "每页",
    "audit.range": "第 {from}–{to} 条",
    "audit.empty": "没有符合条件的记录",
    "audit.denied": "请以管理员或审计员身份登录",
    "audit.error": "审计日志加载失败：{message}",
  },
  en: {
    "audit.title": "Audit trail",
    "audit.actor": "Actor",
    "audit.action": "Action",
    "audit.entity": "Entity",
    "audit.key": "Key",
    "audit.at": "Time",
    "audit.role": "Role",
    "audit.ip": "IP",
    "audit.change": "Before → after",
    "audit.detail": "Detail",
    "audit.limit": "Per page",
    "audit.range": "Entries {from}–{to}",
    "audit.empty": "No matching entries",
    "audit.denied": "Log in as admin or auditor",
    "audit.error": "The audit trail failed to load: {message}",
  },
});
