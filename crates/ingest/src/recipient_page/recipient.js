// The recipient users' page (served by veil-ingest under /recipient/): register a passkey with
// the operator's one-time code, sign in with it, list and read what the user's role and purposes
// allow. Every read goes through POST /v1/reads/fetch, decided and logged by the server; the
// session token stays in this page's memory only (a reload signs out).

const $ = (id) => document.getElementById(id);
let session = null;

function toB64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromB64url(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function say(text) {
  $('status').textContent = text;
}

async function api(path, { method = 'POST', body } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (session) headers.authorization = `Bearer ${session.token}`;
  const response = await fetch(`/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
  });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!response.ok) {
    const error = new Error(json?.detail ?? `${response.status} ${response.statusText}`);
    error.code = json?.error ?? 'http';
    error.json = json;
    throw error;
  }
  return json;
}

async function register(event) {
  event.preventDefault();
  try {
    const options = await api('/passkeys/register/options', { body: { code: $('code').value.trim() } });
    const publicKey = options.publicKey;
    publicKey.challenge = fromB64url(publicKey.challenge);
    publicKey.user.id = fromB64url(publicKey.user.id);
    say('Follow your browser\u2019s prompt to create the passkey\u2026');
    const credential = await navigator.credentials.create({ publicKey });
    const done = await api('/passkeys/register', {
      body: {
        client_data_json: toB64url(credential.response.clientDataJSON),
        attestation_object: toB64url(credential.response.attestationObject),
      },
    });
    $('code').value = '';
    history.replaceState(null, '', location.pathname);
    say(`Passkey registered for ${done.name} (${done.role}). You can now sign in with it.`);
    $('sign-in-button').focus();
  } catch (e) {
    say(`Registration failed: ${e.code ?? e.name}: ${e.message}`);
  }
}

async function signIn() {
  try {
    const options = await api('/passkeys/sign-in/options');
    const publicKey = options.publicKey;
    publicKey.challenge = fromB64url(publicKey.challenge);
    say('Follow your browser\u2019s prompt to use your passkey\u2026');
    const assertion = await navigator.credentials.get({ publicKey });
    const r = assertion.response;
    session = await api('/passkeys/sign-in', {
      body: {
        credential_id: toB64url(assertion.rawId),
        client_data_json: toB64url(r.clientDataJSON),
        authenticator_data: toB64url(r.authenticatorData),
        signature: toB64url(r.signature),
        user_handle: r.userHandle ? toB64url(r.userHandle) : null,
      },
    });
    showReader();
  } catch (e) {
    session = null;
    say(`Sign-in failed: ${e.code ?? e.name}: ${e.message}`);
  }
}

function showReader() {
  const { user, expires_ms: expires } = session;
  $('who').textContent = `Signed in as ${user.name}, ${user.role}, for ${user.purposes.join(', ') || 'no purpose'}; the session ends at ${new Date(expires).toLocaleTimeString()}.`;
  const select = $('purpose');
  select.replaceChildren(...user.purposes.map((p) => new Option(p, p)));
  $('register').hidden = true;
  $('sign-in').hidden = true;
  $('reader').hidden = false;
  say(`Signed in as ${user.name}.`);
  $('reader-heading').tabIndex = -1;
  $('reader-heading').focus();
}

function decisionText(item) {
  return item.decision === 'allow' ? 'allowed' : `refused: ${item.code}`;
}

async function list(event) {
  event.preventDefault();
  const purpose = $('purpose').value;
  try {
    const answer = await api('/reads/list', { body: { format: 'veil-read-list-v1', purpose } });
    const rows = answer.artifacts.map((item) => {
      const tr = document.createElement('tr');
      tr.dataset.id = item.id;
      const id = document.createElement('code');
      id.textContent = item.id;
      const cells = [id, new Date(item.received_ms).toISOString(), decisionText(item)];
      for (const content of cells) {
        const td = document.createElement('td');
        td.append(content);
        tr.append(td);
      }
      const td = document.createElement('td');
      if (item.decision === 'allow') {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = 'Read';
        button.setAttribute('aria-label', `Read artifact ${item.id.slice(0, 12)}`);
        button.addEventListener('click', () => read(item.id, purpose));
        td.append(button);
      }
      tr.append(td);
      return tr;
    });
    $('artifacts').tBodies[0].replaceChildren(...rows);
    say(`${rows.length} artifact(s) for ${purpose}.`);
  } catch (e) {
    say(`Listing failed: ${e.code}: ${e.message}`);
  }
}

function showResult(id, decision, code, basis, citations, files) {
  const result = $('result');
  result.hidden = false;
  result.dataset.artifact = id;
  result.dataset.decision = decision;
  result.dataset.code = code ?? '';
  const line = $('result-decision');
  line.className = decision === 'allow' ? 'allowed' : 'refused';
  line.textContent = decision === 'allow'
    ? `Read allowed: artifact ${id}`
    : `Read refused (${code}): artifact ${id}`;
  $('result-basis').textContent = basis ?? '';
  $('result-citations').replaceChildren(...(citations ?? []).map((c) => {
    const li = document.createElement('li');
    li.textContent = c;
    return li;
  }));
  $('result-files').replaceChildren(...(files ?? []).map((f) => {
    const li = document.createElement('li');
    const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    a.download = f.name;
    a.textContent = `${f.name} (${f.size} bytes, SHA-256 ${f.sha256.slice(0, 16)}\u2026)`;
    li.append(a);
    return li;
  }));
}

async function read(id, purpose) {
  try {
    const answer = await api('/reads/fetch', { body: { format: 'veil-read-v1', artifact: id, purpose } });
    showResult(id, 'allow', null, answer.basis, answer.citations, answer.files);
    say(`Read allowed (access log entry ${answer.log_seq}).`);
  } catch (e) {
    showResult(id, 'refuse', e.code, e.message, e.json?.citations, []);
    say(`Read refused: ${e.code}.`);
  }
}

async function readById(event) {
  event.preventDefault();
  await read($('artifact-id').value.trim().toLowerCase(), $('purpose').value);
}

async function signOut() {
  try { await api('/session', { method: 'DELETE' }); } catch { /* it ends anyway */ }
  session = null;
  $('reader').hidden = true;
  $('sign-in').hidden = false;
  $('register').hidden = false;
  $('artifacts').tBodies[0].replaceChildren();
  $('result').hidden = true;
  say('Signed out.');
}

const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get('code')) $('code').value = fragment.get('code');
if (!window.PublicKeyCredential) say('This browser does not support passkeys (WebAuthn).');
$('register-form').addEventListener('submit', register);
$('sign-in-button').addEventListener('click', signIn);
$('list-form').addEventListener('submit', list);
$('read-form').addEventListener('submit', readById);
$('sign-out').addEventListener('click', signOut);
