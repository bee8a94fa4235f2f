// The side list: the open requests the caller may see, overdue first then by due time,
// with filters for category, status, overdue and the last hour, day or week.
import { gql } from './api.js';
import { CATEGORY, OPEN, STATUS, STATUS_COLOUR, escape, when } from './names.js';

const PAGE = `query ($after: String, $crs: CoordSystem!) {
  serviceRequests(status: [SUBMITTED, DISPATCHED, ACCEPTED, IN_PROGRESS], first: 500,
                  after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id number category status overdue escalationLevel submittedAt dueAt
                   address location(crs: $crs) buildingGroup { name } assignee { name } } } } }`;
const MAX_PAGES = 4;

/** Every open request the caller may see (at most 2,000), located in `crs`. */
export async function loadOpenRequests(crs) {
  const rows = [];
  let after = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const { serviceRequests: answer } = await gql(PAGE, { after, crs });
    rows.push(...answer.edges.map((e) => e.node));
    if (!answer.pageInfo.hasNextPage) break;
    after = answer.pageInfo.endCursor;
  }
  return rows;
}

export function fillFilterOptions(form) {
  for (const [code, name] of Object.entries(CATEGORY)) form.category.add(new Option(name, code));
  for (const code of OPEN) form.status.add(new Option(STATUS[code], code));
}

export function filtered(rows, form) {
  const since = Number(form.since.value || 0);
  const now = Date.now();
  return rows
    .filter(
      (r) =>
        (!form.category.value || r.category === form.category.value) &&
        (!form.status.value || r.status === form.status.value) &&
        (!form.overdue.checked || r.overdue) &&
        (!since || now - Date.parse(r.submittedAt) <= since * 1000),
    )
    .sort((a, b) => b.overdue - a.overdue || Date.parse(a.dueAt) - Date.parse(b.dueAt));
}

/** Renders `rows` into the list `ol`; `onSelect(id)` on a click. */
export function renderList(ol, rows, selected, onSelect) {
  ol.innerHTML = rows
    .map(
      (r) => `
    <li data-id="${escape(r.id)}" class="${r.id === selected ? 'selected' : ''}">
      <span class="status" style="background:${STATUS_COLOUR[r.status] || '#777'}"></span>
      <b>${escape(r.number)}</b> ${escape(CATEGORY[r.category])} · ${escape(STATUS[r.status])}
      ${r.overdue ? '<span class="overdue">超时</span>' : ''}<br>
      <small>${escape(r.address || r.buildingGroup?.name || '')} · ${when(r.submittedAt)}
      ${r.assignee ? ` · ${escape(r.assignee.name)}` : ''}</small>
    </li>`,
    )
    .join('');
  for (const li of ol.children) li.addEventListener('click', () => onSelect(li.dataset.id));
}
