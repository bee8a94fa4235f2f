// The ticket of one request: the problem, who is responsible, the service given, its
// timeline and the candidate members; staff assign it or cancel it from here.
import { gql } from './api.js';
import { CATEGORY, EVENT, LEVEL, STATUS, escape, when } from './names.js';

const TICKET = `query ($id: ID!) { node(id: $id) { ... on ServiceRequest {
  id number description address category status overdue escalationLevel submittedAt dueAt
  resolution contactName contactPhone grid { name } community { name }
  buildingGroup { name members { id name status skills } } assignee { id name phone }
  timeline { at kind actor note member { name } } } } }`;
const PAYLOAD = 'request { id } errors { code message }';

/** The group's ACTIVE members, those with the request's skill first (marked ★). */
function candidates(request) {
  const members = (request.buildingGroup?.members || []).filter((m) => m.status === 'ACTIVE');
  const skilled = (m) => m.skills.includes(request.category);
  return [...members.filter(skilled), ...members.filter((m) => !skilled(m))].map((m) => ({
    ...m,
    label: `${skilled(m) ? '★' : ''}${m.name}`,
  }));
}

function html(r) {
  const people = candidates(r).map(
    (m) => `<option value="${escape(m.id)}">${escape(m.label)}</option>`,
  );
  const open = !['COMPLETED', 'CLOSED', 'CANCELLED'].includes(r.status);
  return `<h2>${escape(r.number)} ${escape(CATEGORY[r.category])}
      ${r.overdue ? '<span class="overdue">超时</span>' : ''}</h2>
    <dl><dt>状态</dt><dd>${escape(STATUS[r.status])}（责任层级：${escape(LEVEL[r.escalationLevel] || r.escalationLevel)}）</dd>
      <dt>问题</dt><dd>${escape(r.description)}</dd>
      <dt>地址</dt><dd>${escape(r.address || '')} ${escape(r.grid?.name || '')}</dd>
      <dt>党小组</dt><dd>${escape(r.buildingGroup?.name || '无')}</dd>
      <dt>负责人</dt><dd>${escape(r.assignee ? `${r.assignee.name} ${r.assignee.phone || ''}` : '未指派')}</dd>
      <dt>联系人</dt><dd>${escape(r.contactName || '')} ${escape(r.contactPhone || '')}</dd>
      <dt>候选人</dt><dd>${escape(
        candidates(r)
          .map((m) => m.label)
          .join('、') || '无',
      )}</dd>
      <dt>时限</dt><dd>${when(r.dueAt)}</dd>
      <dt>服务</dt><dd>${escape(r.resolution || '—')}</dd></dl>
    <b>办理过程</b>
    <ol class="timeline">${r.timeline
      .map(
        (e) => `<li>${when(e.at)} ${escape(EVENT[e.kind] || e.kind)}
      ${escape(e.member?.name || '')} ${escape(e.note || '')}</li>`,
      )
      .join('')}</ol>
    ${
      open
        ? `<div class="actions">
      <select name="member">${people.join('') || '<option value="">无候选人</option>'}</select>
      <button data-act="assign">指派</button>
      <input name="reason" placeholder="取消原因">
      <button data-act="cancel">取消工单</button></div>`
        : ''
    }
    <p class="error"></p>`;
}

/** Shows request `id` in `section`; `changed()` after an assignment or cancellation. */
export async function showTicket(section, id, changed) {
  section.hidden = false;
  section.dataset.id = id;
  const { node } = await gql(TICKET, { id });
  if (!node) {
    section.innerHTML = '<p>无权查看或工单不存在</p>';
    return;
  }
  section.innerHTML = html(node);
  const error = section.querySelector('.error');
  const act = async (mutation, variables, field) => {
    try {
      const data = await gql(mutation, variables);
      const errors = data[field].errors;
      if (errors.length) {
        error.textContent = errors.map((e) => e.message).join('；');
        return;
      }
      await showTicket(section, id, changed);
      changed();
    } catch (e) {
      error.textContent = e.message;
    }
  };
  section
    .querySelector('[data-act=assign]')
    ?.addEventListener('click', () =>
      act(
        `mutation ($id: ID!, $m: ID!) { assignServiceRequest(id: $id, memberId: $m) { ${PAYLOAD} } }`,
        { id, m: section.querySelector('[name=member]').value },
        'assignServiceRequest',
      ),
    );
  section
    .querySelector('[data-act=cancel]')
    ?.addEventListener('click', () =>
      act(
        `mutation ($id: ID!, $r: String!) { cancelServiceRequest(id: $id, reason: $r) { ${PAYLOAD} } }`,
        { id, r: section.querySelector('[name=reason]').value || '调度屏取消' },
        'cancelServiceRequest',
      ),
    );
}
