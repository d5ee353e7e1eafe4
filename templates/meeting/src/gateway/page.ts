// The gateway's home page: drive a meeting by hand (users, a room, joining, a media
// server, a quality report). Plain HTML and a little script; no CDN, no framework.
export const GREETING = 'kdev meeting';

export function homePage(version: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${GREETING}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px system-ui,sans-serif;margin:2rem auto;max-width:880px;color:#1d2330;padding:0 1rem}
h1{font-size:1.5rem}section{border:1px solid #d6dbe4;border-radius:8px;padding:1rem;margin:1rem 0}
input,select,button{font:inherit;padding:.3rem .5rem;margin:.2rem}button{cursor:pointer}
pre{background:#f4f6fa;padding:.6rem;overflow:auto;max-height:260px;font-size:12px}
.muted{color:#6b7385}
</style></head><body>
<h1 id="title">${GREETING}</h1>
<p class="muted">gateway version <b id="version">${version}</b> · <a href="/dashboard">quality dashboard</a> · <a href="/api/status">service status</a></p>
<section><h2>1. People</h2>
<input id="name" placeholder="name" value="Ada"><input id="tenant" placeholder="tenant" value="acme">
<button id="mkuser">create user</button> <span id="users" class="muted"></span></section>
<section><h2>2. Room</h2>
<input id="room" placeholder="room name" value="standup"><select id="region"><option>zone-a</option><option>zone-b</option><option>zone-c</option><option>zone-d</option></select>
<button id="mkroom">create room</button> <button id="join">join with every user</button> <button id="media">get a media server</button></section>
<section><h2>3. Call quality</h2>
<button id="report">send 20 reports</button> <button id="query">query this room</button></section>
<pre id="out">ready</pre>
<script>
const $ = (id) => document.getElementById(id);
const state = { users: [], room: null };
async function api(method, path, body) {
  const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const j = await r.json().catch(() => ({}));
  $('out').textContent = method + ' ' + path + ' → ' + r.status + ' (request id ' + r.headers.get('x-request-id') + ')\\n' + JSON.stringify(j, null, 2);
  if (!r.ok) throw new Error(j.error || r.status);
  return j;
}
$('mkuser').onclick = async () => { const u = await api('POST', '/api/users', { name: $('name').value, tenant: $('tenant').value }); state.users.push(u); $('users').textContent = state.users.map((x) => x.name + ' (' + x.id + ')').join(', '); };
$('mkroom').onclick = async () => { if (!state.users.length) return alert('create a user first'); state.room = await api('POST', '/api/rooms', { name: $('room').value, owner: state.users[0].id, region: $('region').value }); };
$('join').onclick = async () => { for (const u of state.users) await api('POST', '/api/rooms/' + state.room.id + '/join', { userId: u.id }); };
$('media').onclick = () => api('POST', '/api/rooms/' + state.room.id + '/media', {});
$('report').onclick = () => api('POST', '/api/quality', { reports: Array.from({ length: 20 }, (_, i) => { const u = state.users[i % state.users.length]; return { user: u.id, room: state.room.id, region: state.room.region, network: ['wifi', 'ethernet', 'cellular'][i % 3], bitrateKbps: 800 + Math.random() * 1500, lossPct: Math.random() * 3, jitterMs: Math.random() * 40, cpuPct: 10 + Math.random() * 60, memMb: 300 + Math.random() * 400, os: 'web', appVersion: '5.1.0' }; }) });
$('query').onclick = () => api('GET', '/api/quality/rooms/' + state.room.id);
</script></body></html>`;
}
