"""Every text GridSteward sends to people, in Chinese, in one place: change a wording here.

Each message kind has one template in `TEMPLATES`, a `str.format` string with named fields
(`{number}`, `{category}`, ...); `render(kind, **fields)` fills it in. The fields each kind
takes are listed beside it. Three fields are placeholders left in the stored body and written
in only on delivery, so the outbox never holds them in clear (`outboundMessages` shows the
placeholder):

- `{code}`: a sign-in code (domain.people.codes);
- `{track}`: the resident's tracking link, with their tracking code;
- `{stop}`: the link that stops further notices (domain.requests.tracking).

Surveys are written by one SQL statement per chunk (domain.surveys.batch): `sql_format` turns
their templates into PostgreSQL `format()` strings, so they come from here too.

`STEP_WORDS` are the words of the public timeline a resident reads (受理, 派单, 接单, 办结...).
"""

from __future__ import annotations

import re
from datetime import datetime

from domain.calendar import ZONE

#: The signature every text message starts with (the platform's name).
SIGN = "【红色管家】"

#: The six service categories as residents and members read them.
CATEGORY_NAMES = {"MAINTENANCE": "维修维护", "ASSISTANCE": "爱心帮扶", "CONSULTATION": "信息咨询",
                  "CULTURE": "文化娱乐", "EMERGENCY": "应急处理", "MEDIATION": "矛盾调处"}

#: Who is responsible at each escalation level.
LEVEL_NAMES = {0: "楼栋党小组", 1: "网格", 2: "社区"}

#: Message kind → template. Fields: see each comment.
TEMPLATES: dict[str, str] = {
    # To a member: number, category, where ("，地点：…" or ""), minutes.
    "DISPATCH_NOTICE": SIGN + "您有一条新的{category}服务单 {number}{where}。"
                       "请在{minutes}分钟内接单或说明原因。",
    # To grid workers or community administrators: number, category, level, reason.
    "ESCALATION_NOTICE": SIGN + "服务单 {number}（{category}）已上报至{level}：{reason}。"
                         "请尽快处理。",
    # To the resident, a while after completion: number, category, completed (a date), link,
    # token (the survey link is `link` followed by the token).
    "SURVEY": SIGN + "您好！您的服务单{number}（{category}，{completed}办结）已完成，"
              "请为本次服务评分（1-5分）：{link}{token}",
    # To the resident, once, if the survey is unanswered: number, category, link, token.
    "SURVEY_REMINDER": SIGN + "提醒：服务单{number}（{category}）的评价尚未填写，"
                       "欢迎您评分：{link}{token}",
    # To a staff member signing in: code.
    "SIGN_IN_CODE": "GridSteward 登录验证码 {code}，5 分钟内有效，请勿告诉他人。",
    # To the resident, at submission: number, category, due, track, stop.
    "REQUEST_RECEIVED": SIGN + "您的{category}服务单 {number} 已受理，将在{due}前办结。"
                        "查看进度：{track} 不再接收通知：{stop}",
    # To the resident: number, category, track, stop.
    "REQUEST_ACCEPTED": SIGN + "您的服务单 {number}（{category}）已有人接单，"
                        "将尽快为您服务。查看进度：{track} 不再接收通知：{stop}",
    # To the resident: number, category, track, stop.
    "REQUEST_COMPLETED": SIGN + "您的服务单 {number}（{category}）已办结，稍后将邀请您评价。"
                         "查看详情：{track} 不再接收通知：{stop}",
    # To the resident: number, category, level, track, stop.
    "REQUEST_ESCALATED": SIGN + "您的服务单 {number}（{category}）已上报至{level}，"
                         "我们将尽快处理。查看进度：{track} 不再接收通知：{stop}",
    # To the resident: number, category, reason, track, stop.
    "REQUEST_CANCELLED": SIGN + "您的服务单 {number}（{category}）已撤销：{reason}。"
                         "如仍需服务，请重新提交。查看详情：{track} 不再接收通知：{stop}",
    # To the resident: number, category, reason, track, stop.
    "REQUEST_WAITING": SIGN + "您的服务单 {number}（{category}）需要您补充情况：{reason}。"
                       "请通过此链接回复：{track} 不再接收通知：{stop}",
}

#: Timeline event kind → the word a resident reads in the public view (kinds missing here
#: are not shown to residents).
STEP_WORDS: dict[str, str] = {
    "SUBMITTED": "受理",
    "DISPATCHED": "派单",
    "ASSIGNED": "派单",
    "DECLINED": "改派",
    "ACCEPT_TIMEOUT": "改派",
    "ACCEPTED": "接单",
    "STARTED": "服务中",
    "WAITING_RESIDENT": "等待居民补充",
    "RESIDENT_REPLIED": "居民已回复",
    "RESUMED": "继续办理",
    "ESCALATED": "上报",
    "COMPLETED": "办结",
    "REOPENED": "重新办理",
    "CLOSED": "结案",
    "CANCELLED": "撤销",
    "SURVEY_SENT": "邀请评价",
    "SURVEY_ANSWERED": "已评价",
}

#: Member role → how the public view names the assignee's role (never the person).
ROLE_NAMES = {"GRID_WORKER": "网格员", "GROUP_LEADER": "楼栋党小组组长", "STEWARD": "红色管家",
              "VOLUNTEER": "志愿者"}

_FIELD = re.compile(r"\{(\w+)\}")


def render(kind: str, **fields: object) -> str:
    """The text of a message of `kind` with its fields filled in (KeyError for an unknown
    kind or a missing field)."""
    return TEMPLATES[kind].format(**fields)


def category_name(category: str) -> str:
    """A category as people read it (维修维护, ...)."""
    return CATEGORY_NAMES[category]


def local_time(moment: datetime) -> str:
    """A moment as a text message says it, in China Standard Time: 10月10日17:00."""
    local = moment.astimezone(ZONE)
    return f"{local.year}年{local.month}月{local.day}日{local:%H:%M}"


def sql_format(kind: str, order: tuple[str, ...]) -> str:
    """The template of `kind` as a PostgreSQL `format()` string whose arguments are the
    fields in `order` (`{number}` → `%1$s` when `number` comes first); a literal `%` is
    escaped."""
    template = TEMPLATES[kind].replace("%", "%%")
    return _FIELD.sub(lambda m: f"%{order.index(m.group(1)) + 1}$s", template)
