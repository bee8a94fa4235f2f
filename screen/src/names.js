// Chinese names of the API's codes, and small formatting helpers.
export const CATEGORY = {
  MAINTENANCE: '维修维护',
  ASSISTANCE: '爱心帮扶',
  CONSULTATION: '信息咨询',
  CULTURE: '文化娱乐',
  EMERGENCY: '应急处理',
  MEDIATION: '矛盾调处',
};
export const STATUS = {
  SUBMITTED: '待派单',
  DISPATCHED: '已派单',
  ACCEPTED: '已接单',
  IN_PROGRESS: '服务中',
  COMPLETED: '已完成',
  CLOSED: '已关闭',
  CANCELLED: '已取消',
};
export const OPEN = ['SUBMITTED', 'DISPATCHED', 'ACCEPTED', 'IN_PROGRESS'];
export const STATUS_COLOUR = {
  SUBMITTED: '#e65100',
  DISPATCHED: '#f9a825',
  ACCEPTED: '#1565c0',
  IN_PROGRESS: '#2e7d32',
};
export const EVENT = {
  SUBMITTED: '提交',
  LOCATED: '定位',
  DISPATCHED: '派单',
  ASSIGNED: '人工指派',
  DECLINED: '拒单',
  ACCEPT_TIMEOUT: '接单超时',
  ACCEPTED: '接单',
  STARTED: '开始服务',
  ESCALATED: '升级',
  COMPLETED: '完成',
  CLOSED: '关闭',
  CANCELLED: '取消',
  REOPENED: '重新打开',
};
export const LEVEL = ['楼栋党小组', '网格', '社区'];

export function when(iso) {
  return new Date(iso).toLocaleString('zh-CN', { hour12: false });
}

export function escape(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
