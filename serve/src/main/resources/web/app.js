// The comparison page: one job per policy on the same noise (same seed), progress over server-sent
// events, then the image, its figures, PSNR against the uncached run and the plan as a steps × blocks grid.
const $ = (id) => document.getElementById(id);
let models = [];

async function api(path, options) {
  const r = await fetch(path, options);
  const text = await r.text();
  const body = text ? JSON.parse(text) : {};
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function addPolicy(kind) {
  if (document.querySelectorAll('.policy').length >= 4) return;
  const row = $('policyRow').content.firstElementChild.cloneNode(true);
  row.querySelector('.kind').value = kind;
  row.querySelector('.kind').addEventListener('change', () => showParams(row));
  row.querySelector('.remove').addEventListener('click', () => row.remove());
  $('policies').appendChild(row);
  showParams(row);
}

function showParams(row) {
  const k = row.querySelector('.kind').value;
  row.querySelector('.p-b').hidden = k !== 'delta-dit';
  row.querySelector('.p-nc').hidden = !(k === 'delta-dit' || k === 'faster-diffusion');
  row.querySelector('.p-range').hidden = k !== 'delta-cache';
  row.querySelector('.p-steps').hidden = k !== 'fewer';
  row.querySelector('.p-file').hidden = k !== 'file';
  row.querySelector('.p-n').hidden = k === 'none' || k === 'fewer' || k === 'file';
}

async function policyOf(row, steps) {
  const k = row.querySelector('.kind').value;
  if (k === 'file') {
    // a policy file as `dit generate --cache-config` reads it: {"kind": …, "b": …, …}
    const f = row.querySelector('.pfile').files[0];
    if (!f) throw new Error('choose a policy file');
    const cache = JSON.parse(await f.text());
    return { label: `${f.name} (${cache.kind})`, steps, cache };
  }
  const num = (sel) => row.querySelector(sel).value === '' ? undefined : Number(row.querySelector(sel).value);
  if (k === 'none') return { label: 'full compute', steps, cache: 'none' };
  if (k === 'fewer') { const t = num('.fsteps') ?? Math.round(steps * 0.65); return { label: `T = ${t}`, steps: t, cache: 'none' }; }
  const cache = { kind: k, interval: num('.n') };
  if (k === 'delta-dit') { cache.b = num('.b'); cache.cached_blocks = num('.nc'); }
  if (k === 'faster-diffusion') cache.cached_blocks = num('.nc');
  if (k === 'delta-cache') { const r = row.querySelector('.range').value.trim(); if (r) cache.range = r; }
  return { label: row.querySelector('.kind').selectedOptions[0].textContent, steps, cache };
}

function card(label) {
  const c = document.createElement('div');
  c.className = 'card';
  c.innerHTML = `<h2></h2><progress max="1" value="0"></progress><img alt=""><table></table><div class="error"></div>`;
  c.querySelector('h2').textContent = label;
  $('results').appendChild(c);
  return c;
}

function follow(id, c) {
  return new Promise((resolve) => {
    const events = new EventSource(`/api/jobs/${id}/events`);
    events.addEventListener('progress', (e) => {
      const p = JSON.parse(e.data);
      const bar = c.querySelector('progress');
      bar.max = p.total; bar.value = p.done;
    });
    for (const end of ['done', 'failed', 'cancelled']) {
      events.addEventListener(end, (e) => { events.close(); resolve(JSON.parse(e.data)); });
    }
    events.onerror = async () => { events.close(); resolve(await api(`/api/jobs/${id}`)); };
  });
}

async function pixels(img) {
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  return g.getImageData(0, 0, canvas.width, canvas.height).data;
}

function psnr(a, b) {
  let se = 0, n = 0;
  for (let i = 0; i < a.length; i += 4) for (let k = 0; k < 3; k++) { const d = a[i + k] - b[i + k]; se += d * d; n++; }
  return se === 0 ? Infinity : 10 * Math.log10(255 * 255 / (se / n));
}

function drawPlan(plan, depth) {
  const canvas = document.createElement('canvas');
  canvas.className = 'plan';
  canvas.width = depth; canvas.height = plan.length;
  canvas.style.height = `${Math.max(40, plan.length * 6)}px`;
  const g = canvas.getContext('2d');
  plan.forEach((s, row) => {
    for (let b = 0; b < depth; b++) {
      const cached = s.mode === 'cached' && s.range && b >= s.range[0] && b < s.range[1] && s.policy !== 'gated';
      g.fillStyle = cached ? '#f0a500' : '#2f6fb3';
      g.fillRect(b, row, 1, 1);
    }
  });
  return canvas;
}

async function run(event) {
  event.preventDefault();
  $('message').textContent = '';
  $('results').innerHTML = '';
  const model = models.find((m) => m.name === $('model').value);
  const steps = Number($('steps').value);
  const base = { model: model.name, seed: Number($('seed').value), cfg: Number($('cfg').value) };
  if (model.text) base.prompt = $('prompt').value; else base.class = Number($('cls').value);
  let rows;
  try {
    rows = await Promise.all([...document.querySelectorAll('.policy')].map((r) => policyOf(r, steps)));
  } catch (e) {
    $('message').textContent = e.message;
    return;
  }
  let reference = null;
  const runs = rows.map(async (p, i) => {
    const c = card(p.label);
    try {
      const { id } = await api('/api/generate', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...base, steps: p.steps, cache: p.cache }) });
      const job = await follow(id, c);
      if (job.status !== 'done') throw new Error(job.error || job.status);
      const img = c.querySelector('img');
      img.src = job.images[0];
      const px = await pixels(img);
      const r = job.result;
      const t = c.querySelector('table');
      const add = (k, v) => { const tr = t.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = v; };
      add('MACs', `${(r.macs / 1e9).toFixed(2)} G`);
      add('speedup', `${(r.macs_uncached / r.macs).toFixed(2)}×`);
      add('seconds', r.seconds.toFixed(2));
      add('cache hits', r.cache_hits);
      c.dataset.index = i;
      c.px = px;
      c.appendChild(drawPlan(r.plan, model.depth));
      const legend = document.createElement('div');
      legend.className = 'legend';
      legend.textContent = 'steps ↓ × blocks →: blue ran, orange cached';
      c.appendChild(legend);
      if (p.cache === 'none' && p.steps === steps && !reference) reference = c;
      return c;
    } catch (e) {
      c.querySelector('.error').textContent = e.message;
      return null;
    }
  });
  const cards = (await Promise.all(runs)).filter((c) => c);
  for (const c of cards) {
    const tr = c.querySelector('table').insertRow();
    tr.insertCell().textContent = 'PSNR';
    tr.insertCell().textContent = !reference ? '–' : c === reference ? 'reference' : `${psnr(reference.px, c.px).toFixed(2)} dB`;
  }
  document.body.dataset.done = 'true';
}

async function start() {
  models = await api('/api/models');
  for (const m of models) $('model').add(new Option(`${m.name} (${m.arch})`, m.name));
  const choose = () => {
    const m = models.find((x) => x.name === $('model').value);
    $('classLabel').hidden = m.text; $('promptLabel').hidden = !m.text;
    if (!m.text) $('cls').max = m.classes - 1;
    $('cfg').value = m.default_cfg;
  };
  $('model').addEventListener('change', choose);
  choose();
  addPolicy('none');
  addPolicy('delta-dit');
  $('add').addEventListener('click', () => addPolicy('delta-cache'));
  $('form').addEventListener('submit', run);
  // ?autorun=1 runs the default comparison at once (for demos and the browser test)
  if (new URLSearchParams(location.search).has('autorun')) $('run').click();
}

start().catch((e) => { $('message').textContent = e.message; });
