// The map dispatch screen: wires the map, the list, the ticket, sign-in and live events.
import {
  AuthError,
  auth,
  followEvents,
  loadAuth,
  onAuthChange,
  signIn,
  signOut,
  useToken,
} from './api.js';
import { fillFilterOptions, filtered, loadOpenRequests, renderList } from './list.js';
import { createMap, crsOf, showRequests } from './map.js';
import { showTicket } from './ticket.js';

const $ = (id) => document.getElementById(id);
const state = { rows: [], selected: null, stop: null, map: null, timer: null, crs: 'WGS84' };

function notice(text) {
  $('notice').hidden = !text;
  $('notice').textContent = text || '';
}

function render() {
  const rows = filtered(state.rows, $('filters'));
  $('count').textContent = `未办结 ${state.rows.length} 件，显示 ${rows.length} 件`;
  renderList($('requests'), rows, state.selected, select);
  if (state.map) showRequests(state.map, rows);
}

async function reload() {
  if (!auth.token) {
    notice('未登录：请用账号密码登录，或粘贴令牌。');
    return;
  }
  try {
    state.rows = await loadOpenRequests(state.crs);
    notice('');
    render();
    if (state.selected && !$('ticket').hidden) await showTicket($('ticket'), state.selected, soon);
  } catch (e) {
    notice(e instanceof AuthError ? e.message : `加载失败：${e.message}`);
  }
}

/** Reloads once events stop arriving for a moment (a burst is one reload). */
function soon() {
  clearTimeout(state.timer);
  state.timer = setTimeout(reload, 150);
}

async function select(id) {
  state.selected = id;
  render();
  try {
    await showTicket($('ticket'), id, soon);
  } catch (e) {
    notice(e.message);
  }
}

function live() {
  if (state.stop) state.stop();
  state.stop = auth.token
    ? followEvents({
        onEvent: soon,
        onReload: soon,
        onState: (text, up) => {
          $('live').textContent = text;
          $('live').classList.toggle('on', up);
        },
      })
    : null;
}

function showWho() {
  const signedIn = Boolean(auth.token);
  $('signin').hidden = signedIn;
  $('signout').hidden = !signedIn;
  $('who').hidden = !signedIn;
  $('who').textContent = signedIn ? '已登录' : '';
}

function wireSignIn() {
  $('signin').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.target;
    try {
      await signIn(form.login.value, form.password.value);
    } catch (err) {
      notice(err.message);
    }
  });
  $('use-token').addEventListener('click', () => useToken($('signin').token.value.trim()));
  $('signout').addEventListener('click', signOut);
  onAuthChange(() => {
    showWho();
    live();
    reload();
  });
}

async function start() {
  loadAuth();
  const config = await (await fetch('/screen/config.json')).json();
  state.crs = crsOf(config);
  state.map = createMap($('map'), config, { onRequest: select });
  state.map.on('load', render);
  const form = $('filters');
  fillFilterOptions(form);
  form.addEventListener('change', render);
  wireSignIn();
  showWho();
  live();
  await reload();
}

start();
