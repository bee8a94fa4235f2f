// The public API as the screen uses it: GraphQL over HTTP with the bearer token, the live
// events over graphql-transport-ws (the npm graphql-ws client), and the session kept in
// localStorage (an access token lives 15 minutes; refreshSession renews it before then).
import { createClient } from 'graphql-ws';

const KEY = 'gridsteward.screen.session';

/** Raised when the token is missing, expired or refused: the page asks to sign in. */
export class AuthError extends Error {}

export const auth = { token: null, refreshToken: null, expiresAt: null };
let refreshTimer = null;
const listeners = new Set();

/** Calls `fn()` whenever the token changes (sign-in, refresh, sign-out). */
export function onAuthChange(fn) {
  listeners.add(fn);
}

function changed() {
  localStorage.setItem(KEY, JSON.stringify(auth));
  for (const fn of listeners) fn();
}

export function loadAuth() {
  Object.assign(auth, JSON.parse(localStorage.getItem(KEY) || '{}'));
  scheduleRefresh();
}

export function useToken(token) {
  Object.assign(auth, { token, refreshToken: null, expiresAt: null });
  changed();
}

export function signOut() {
  Object.assign(auth, { token: null, refreshToken: null, expiresAt: null });
  clearTimeout(refreshTimer);
  changed();
}

function useSession(session) {
  Object.assign(auth, {
    token: session.accessToken,
    refreshToken: session.refreshToken,
    expiresAt: session.accessTokenExpiresAt,
  });
  scheduleRefresh();
  changed();
}

const SESSION = 'session { accessToken accessTokenExpiresAt refreshToken } errors { code message }';

export async function signIn(login, password) {
  const data = await gql(
    `mutation ($l: String!, $p: String!) {
    signInWithPassword(login: $l, password: $p) { ${SESSION} } }`,
    { l: login, p: password },
  );
  const answer = data.signInWithPassword;
  if (answer.errors.length) throw new AuthError('账号或密码错误');
  useSession(answer.session);
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!auth.refreshToken || !auth.expiresAt) return;
  const wait = Math.max(1000, Date.parse(auth.expiresAt) - Date.now() - 60_000);
  refreshTimer = setTimeout(async () => {
    try {
      const data = await gql(
        `mutation ($r: String!) { refreshSession(refreshToken: $r) {
        ${SESSION} } }`,
        { r: auth.refreshToken },
      );
      if (data.refreshSession.errors.length) throw new AuthError('会话已过期');
      useSession(data.refreshSession.session);
    } catch {
      Object.assign(auth, { refreshToken: null });
      changed();
    }
  }, wait);
}

/** One GraphQL operation; AuthError for 401 or UNAUTHENTICATED, Error for other errors. */
export async function gql(query, variables = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
  const res = await fetch('/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  if (res.status === 401) throw new AuthError('登录已过期或令牌无效，请重新登录');
  const body = await res.json();
  const error = body.errors && body.errors[0];
  if (error) {
    if (error.extensions && error.extensions.code === 'UNAUTHENTICATED') {
      throw new AuthError(auth.token ? '登录已过期，请重新登录' : '请先登录或粘贴令牌');
    }
    throw new Error(error.message);
  }
  return body.data;
}

/** Follows serviceRequestEvents; `onEvent(event)` for each, `onReload()` after every
 * (re)connection, `onState(text, up)` for the status badge. Returns a function that stops. */
export function followEvents({ onEvent, onReload, onState }) {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const client = createClient({
    url,
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    keepAlive: 10_000,
    connectionParams: () => (auth.token ? { Authorization: `Bearer ${auth.token}` } : {}),
    on: {
      connected: () => {
        onState('实时连接', true);
        onReload();
      },
      // 4403: the token was refused (expired); reloading the list says so on the page
      closed: (event) => {
        onState('连接断开，正在重连…', false);
        if (event && event.code === 4403) onReload();
      },
    },
  });
  let stopped = false;
  const subscribe = () =>
    client.subscribe(
      { query: 'subscription { serviceRequestEvents { kind at request { id } } }' },
      {
        next: ({ data }) => data && onEvent(data.serviceRequestEvents),
        error: () => {
          if (!stopped)
            setTimeout(() => {
              onReload();
              subscribe();
            }, 2000);
        },
        complete: () => {},
      },
    );
  subscribe();
  return () => {
    stopped = true;
    client.dispose();
  };
}
