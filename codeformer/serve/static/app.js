// The page of `codeformer serve`: plain JavaScript, no build step, nothing fetched from elsewhere.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { info: null, photo: null, faces: [], version: 0, seq: 0, video: null, jobs: {}, batch: null };
window.cfTimings = [];  // {released, shown, network}: read by benchmarks/bench_serve.py

// this browser tab's own id, kept across reloads of the tab: the server lists only the jobs it started
const CLIENT = sessionStorage.getItem('cfClient') ||
  Array.from({ length: 16 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
sessionStorage.setItem('cfClient', CLIENT);

function say(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

async function api(method, url, body, headers = {}) {
  const response = await fetch(url, { method, body, headers: { ...headers, 'X-Codeformer-Client': CLIENT } });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!response.ok) {
    let message = (data && data.error) || `${response.status} ${response.statusText}`;
    const wait = response.headers.get('Retry-After');  // busy (503): the server says which limit, and how long
    if (response.status === 503 && wait) message += ` (about ${wait} s)`;
    throw new Error(message);
  }
  return data;
}
const postJSON = (url, data) => api('POST', url, JSON.stringify(data), { 'Content-Type': 'application/json' });
function upload(url, file) {  // the raw file as the body; refused here first when it is over the server's limit
  const limit = state.info.max_upload_bytes;
  if (file.size > limit) {
    return Promise.reject(new Error(`${file.name}: ${(file.size / 1e6).toFixed(1)} MB is over the upload limit of ${Math.round(limit / 1e6)} MB`));
  }
  return api('POST', `${url}${url.includes('?') ? '&' : '?'}name=${encodeURIComponent(file.name)}`, file,
    { 'Content-Type': 'application/octet-stream' });
}

function loaded(img, src) {  // resolves once the image shows ``src``
  return new Promise((resolve, reject) => {
    img.onload = () => resolve();
    img.onerror = () => reject(new Error('the image could not be loaded'));
    img.src = src;
  });
}

// -- tabs: a WAI-ARIA tab list (one tab stop; Left/Right, Home/End move between the tabs) ---------------------------
function selectTab(tab, focus = false) {
  for (const other of document.querySelectorAll('.tab')) {
    const on = other === tab;
    other.setAttribute('aria-selected', String(on));
    other.tabIndex = on ? 0 : -1;
    $(other.getAttribute('aria-controls')).hidden = !on;
  }
  if (focus) tab.focus();
}

for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => selectTab(tab));
$('tabs').addEventListener('keydown', (e) => {
  const tabs = [...document.querySelectorAll('.tab')], at = tabs.indexOf(document.activeElement);
  const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[e.key];
  if (at < 0 || to === undefined) return;
  e.preventDefault();
  selectTab(tabs[(to + tabs.length) % tabs.length], true);
});

const handlers = {};  // tab name -> what takes files dropped or pasted anywhere on the page while it shows

function currentTab() { return document.querySelector('.tab[aria-selected="true"]').dataset.tab; }

function dropZone(tab, zone, input, handle) {
  handlers[tab] = handle;
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', () => zone.classList.remove('over'));  // the page's own handler takes the files
  input.addEventListener('change', () => {
    const files = [...input.files];
    input.value = '';  // so that choosing the same file again (after an error, say) is a change too
    if (files.length) handle(files);
  });
}

function catchFiles() {  // a file dropped or pasted anywhere goes to the tab shown, never opens in the browser
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    const files = e.dataTransfer ? [...e.dataTransfer.files] : [];
    if (files.length) handlers[currentTab()](files);
  });
  document.addEventListener('paste', (e) => {
    const files = e.clipboardData ? [...e.clipboardData.files] : [];
    if (!files.length) return;
    e.preventDefault();
    handlers[currentTab()](files);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      ({ photo: () => restore(true), batch: startBatch, video: startVideo })[currentTab()]();
    } else if (e.key === 'Escape') {
      $('advanced').open = false;
      if (document.fullscreenElement) document.exitFullscreen();
    }
  });
}

// -- settings (the photo tab's controls; batch and video use them too) ---------------------------------------------
function settings() {
  return {
    w: Number($('w').value), visibility: Number($('visibility').value), upscale: Number($('upscale').value),
    detector: $('detector').value, parse: $('parse').checked, bg_upsampler: $('bg-upsampler').value || null,
    face_upsample: $('face-upsample').checked,
  };
}

function slider(id, digits, onRelease) {  // the label follows while dragging; the work starts on release
  const input = $(id), out = $(`${id}-value`);
  const show = () => { out.textContent = Number(input.value).toFixed(digits); };
  input.addEventListener('input', show);
  input.addEventListener('change', () => { show(); onRelease(); });
  show();
}

async function init() {
  state.info = await api('GET', '/api/info');
  const d = state.info.defaults;
  for (let s = 1; s <= 8; s++) $('upscale').add(new Option(`${s}x`, s));
  $('upscale').value = d.upscale;
  for (const name of state.info.detectors) $('detector').add(new Option(name, name));
  const upsamplers = [...$('bg-upsampler').options].map((o) => o.value);
  for (const name of state.info.upsamplers) if (!upsamplers.includes(name)) $('bg-upsampler').add(new Option(name, name));
  $('detector').value = d.detector;
  $('w').value = d.w;
  $('parse').checked = d.parse;
  $('visibility').value = d.visibility;
  slider('w', 2, () => restore(true));
  slider('visibility', 2, () => restore(true));
  slider('min-size', 0, applySizeFilter);
  for (const id of ['upscale', 'parse', 'bg-upsampler', 'face-upsample']) $(id).addEventListener('change', () => restore());
  $('detector').addEventListener('change', redetect);
  $('compare').addEventListener('input', () => compare('photo-after', $('compare').value));
  $('video-compare-slider').addEventListener('input', () => compare('video-after', $('video-compare-slider').value));
  dropZone('photo', $('photo-drop'), $('photo-input'), (files) => openPhoto(files[0]));
  dropZone('batch', $('batch-drop'), $('batch-input'), addToBatch);
  dropZone('video', $('video-drop'), $('video-input'), (files) => openVideo(files[0]));
  catchFiles();
  $('zoom').addEventListener('change', fitPhoto);
  window.addEventListener('resize', fitPhoto);
  $('show-boxes').addEventListener('change', () => { $('boxes').hidden = !$('show-boxes').checked; });
  $('fullscreen').addEventListener('click', () => $('photo-frame').requestFullscreen().catch(() => {}));
  $('queue-clear').addEventListener('click', clearJobs);
  slider('w2', 2, restoreSide);
  $('side-by-side').addEventListener('change', restoreSide);
  $('batch-start').addEventListener('click', startBatch);
  $('batch-stop').addEventListener('click', () => stopJob(state.batch && state.batch.job));
  $('video-start').addEventListener('click', startVideo);
  $('video-stop').addEventListener('click', () => stopJob(state.video && state.video.job));
  slider('video-frame', 0, previewFrame);
  setInterval(pollJobs, 700);
  pollJobs();  // at once: a reloaded page shows its jobs, and their controls, without waiting
  $('gallery-where').textContent = `kept in ${state.info.output_dir}`;
  await loadGallery();
  document.body.dataset.ready = '1';
}

function resultSize() {  // the result's pixels (the input's times the upscale until the first result is in)
  const after = $('photo-after'), before = $('photo-before');
  if (after.getAttribute('src') && after.naturalWidth) return [after.naturalWidth, after.naturalHeight];
  const upscale = Number($('upscale').value) || 1;
  return [before.naturalWidth * upscale, before.naturalHeight * upscale];
}

function fitPhoto() {  // fitted to the viewer (small ones enlarged), or 100% / 200%: 1 or 2 CSS px per result pixel
  const img = $('photo-before'), box = $('photo-compare'), zoom = $('zoom').value;
  if (!state.photo || !img.naturalWidth) return;
  const fit = zoom === 'fit';
  box.classList.toggle('fit', fit);
  const fitted = Math.floor(0.75 * window.innerHeight * img.naturalWidth / img.naturalHeight);
  box.style.width = fit ? `min(100%, ${fitted}px)` : '';
  const [width, height] = resultSize();  // the original is stretched to the result's size: the halves line up
  img.style.width = fit ? '100%' : `${width * Number(zoom)}px`;
  img.style.height = fit ? '' : `${height * Number(zoom)}px`;
}

function compare(afterId, percent) {  // the restored half from ``percent`` of the width, and the line at the seam
  $(afterId).style.clipPath = `inset(0 0 0 ${percent}%)`;
  const divider = $(afterId.replace('-after', '-divider'));
  if (divider) divider.style.left = `${percent}%`;
}

// -- one photo ----------------------------------------------------------------------------------------------------
async function openPhoto(file) {
  say(`Uploading ${file.name} and looking for faces ...`);
  try {
    const data = await upload(`/api/photos?detector=${encodeURIComponent($('detector').value)}`, file);
    state.photo = data;
    state.version = 0;
    document.body.dataset.photoName = data.name;
    await loaded($('photo-before'), `/api/photos/${data.id}/original.png`);
    $('photo-after').removeAttribute('src');
    $('photo-compare').hidden = false;
    $('photo-compare-label').hidden = false;
    $('photo-empty').hidden = true;
    fitPhoto();
    showFaces(data.faces);
    await restore();
  } catch (e) { say(e.message, true); }
}

async function redetect() {
  if (!state.photo) return;
  say('Looking for faces ...');
  try {
    const data = await api('POST', `/api/photos/${state.photo.id}/detect?detector=${encodeURIComponent($('detector').value)}`);
    showFaces(data.faces);
    await restore();
  } catch (e) { say(e.message, true); }
}

function showFaces(faces) {
  state.faces = faces;
  const maxSize = Math.max(64, ...faces.map((f) => Math.ceil(f.size)));
  $('min-size').max = maxSize;
  const list = $('faces');
  list.textContent = '';
  for (const face of faces) {
    const card = document.createElement('div');
    card.className = 'face';
    card.dataset.index = face.index;
    card.innerHTML = `
      <label><input type="checkbox" class="use" checked> Face ${face.number} <span class="small">${Math.round(face.size)} px</span></label>
      <div class="compare"><img class="before thumb" alt="face ${face.number} before">
        <img class="after" alt="face ${face.number} restored" hidden></div>
      <input type="range" class="face-compare" min="0" max="100" value="50" title="before / after" hidden
        aria-label="Face ${face.number}: percent of the width that shows it before">
      <label><input type="checkbox" class="own-w"> Own w <output class="face-w-value">${Number($('w').value).toFixed(2)}</output></label>
      <input type="range" class="face-w" min="0" max="1" step="0.01" value="${$('w').value}" disabled
        aria-label="Face ${face.number}: its own w">`;
    card.querySelector('img.before').src = `/api/photos/${state.photo.id}/faces/${face.index}/thumb.png`;
    card.querySelector('.use').addEventListener('change', () => { markFaces(); restore(true); });
    const own = card.querySelector('.own-w'), fw = card.querySelector('.face-w');
    own.addEventListener('change', () => { fw.disabled = !own.checked; restore(true); });
    fw.addEventListener('input', () => { card.querySelector('.face-w-value').textContent = Number(fw.value).toFixed(2); });
    fw.addEventListener('change', () => restore(true));
    const cmp = card.querySelector('.face-compare');
    cmp.addEventListener('input', () => { card.querySelector('img.after').style.clipPath = `inset(0 0 0 ${cmp.value}%)`; });
    list.appendChild(card);
  }
  applySizeFilter(false);
  drawBoxes();
}

function faceCards() { return [...document.querySelectorAll('#faces .face')]; }

function applySizeFilter(run = true) {
  const min = Number($('min-size').value);
  for (const card of faceCards()) {
    const face = state.faces[Number(card.dataset.index)];
    card.querySelector('.use').checked = face.size >= min;
  }
  markFaces();
  if (run) restore(true);
}

function markFaces() {
  for (const card of faceCards()) card.classList.toggle('off', !card.querySelector('.use').checked);
  drawBoxes();
}

function drawBoxes() {
  const boxes = $('boxes');
  boxes.textContent = '';
  if (!state.photo) return;
  const W = state.photo.width, H = state.photo.height;
  for (const card of faceCards()) {
    const face = state.faces[Number(card.dataset.index)];
    const [x0, y0, x1, y1] = face.box;
    const box = document.createElement('div');
    box.className = 'box' + (card.querySelector('.use').checked ? '' : ' off');
    Object.assign(box.style, { left: `${100 * x0 / W}%`, top: `${100 * y0 / H}%`,
      width: `${100 * (x1 - x0) / W}%`, height: `${100 * (y1 - y0) / H}%` });
    box.innerHTML = `<span>${face.number}</span>`;
    boxes.appendChild(box);
  }
}

function choice() {
  const faces = [], faceW = {};
  for (const card of faceCards()) {
    const index = Number(card.dataset.index);
    if (!card.querySelector('.use').checked) continue;
    faces.push(index);
    if (card.querySelector('.own-w').checked) faceW[index] = Number(card.querySelector('.face-w').value);
  }
  return { faces, face_w: faceW };
}

async function restore(timed = false) {
  if (!state.photo) return;
  const released = performance.now();
  const mine = ++state.seq;
  const photo = state.photo;
  for (const card of faceCards()) {  // a face without its own w follows the w for all
    if (!card.querySelector('.own-w').checked) {
      card.querySelector('.face-w').value = $('w').value;
      card.querySelector('.face-w-value').textContent = Number($('w').value).toFixed(2);
    }
  }
  $('photo-compare').classList.add('busy');
  say('Restoring ...');
  try {
    const r = await postJSON(`/api/photos/${photo.id}/restore`, { settings: settings(), ...choice() });
    if (mine !== state.seq) return;  // a newer request is on its way
    await loaded($('photo-after'), `/api/photos/${photo.id}/result.png?v=${r.version}`);
    if (mine !== state.seq) return;
    const shown = performance.now();
    fitPhoto();  // the zoom is of the result's pixels, which an upscale change changes
    compare('photo-after', $('compare').value);
    for (const card of faceCards()) {
      const index = Number(card.dataset.index), img = card.querySelector('img.after');
      const done = r.restored.includes(index);
      img.hidden = !done;
      card.querySelector('.face-compare').hidden = !done;
      if (done) {
        img.src = `/api/photos/${photo.id}/faces/${index}/restored.png?v=${r.version}`;
        card.querySelector('img.before').src = `/api/photos/${photo.id}/faces/${index}/crop.png?v=${r.version}`;
        img.style.clipPath = `inset(0 0 0 ${card.querySelector('.face-compare').value}%)`;
      }
    }
    const dl = $('download');
    dl.href = `/api/photos/${photo.id}/result.png?v=${r.version}&download=1`;
    dl.setAttribute('download', `${photo.name.replace(/\.[^.]*$/, '')}_restored.png`);
    dl.classList.remove('disabled');
    dl.removeAttribute('aria-disabled');
    $('parameters').textContent = r.parameters;
    state.version = r.version;
    if (timed) window.cfTimings.push({ released, shown, network: r.seconds.network * 1000, server: r.seconds.total * 1000 });
    document.body.dataset.photoVersion = String(r.version);
    if (r.note) say(`${r.note}.`);  // no face found: what to try
    else say(`${r.restored.length} of ${state.faces.length} faces restored (${r.width}x${r.height}).`);
    refreshGallery();
    if ($('side-by-side').checked) restoreSide();
  } catch (e) {
    if (mine === state.seq) say(e.message, true);
  } finally {
    if (mine === state.seq) $('photo-compare').classList.remove('busy');
  }
}

// -- jobs ---------------------------------------------------------------------------------------------------------
function describeJob(j) {
  let text = `${j.kind} ${j.name}: ${j.state}`;
  if (j.state === 'queued' && j.position) text += ` (${j.position - 1} ahead)`;
  const unit = j.kind === 'video' ? 'frame' : 'file';
  const said = j.state === 'stopped' && j.message;  // a stopped job's message has the count: said once
  if (j.total && !said) text += `, ${j.done} of ${j.total} ${unit}${j.total === 1 ? '' : 's'}`;
  if (j.state === 'running') {
    text += `, ${j.faces} face${j.faces === 1 ? '' : 's'} (${j.faces_per_s.toFixed(2)}/s)`;
    text += j.seconds_left !== null ? `, about ${Math.ceil(j.seconds_left)} s left` : ', estimating the time left';
  }
  if (j.stopping) text += ' (stopping)';
  if (j.message) text += j.message.startsWith(j.state) ? j.message.slice(j.state.length) : `: ${j.message}`;
  return text;
}

async function pollJobs() {
  const mine = state.polls = (state.polls || 0) + 1;
  let jobs;
  try { jobs = await api('GET', '/api/jobs'); } catch (e) { return; }
  if (mine < (state.pollShown || 0)) return;  // an older answer than the one shown (a Clear came between)
  state.pollShown = mine;
  const active = jobs.filter((j) => j.state === 'queued' || j.state === 'running');
  if (state.finishedJobs !== undefined && jobs.length - active.length > state.finishedJobs) refreshGallery();
  state.finishedJobs = jobs.length - active.length;
  $('queue-summary').textContent = active.length ? `queue: ${active.length} job${active.length > 1 ? 's' : ''}` : 'queue: empty';
  showJobs(jobs);
  if (!state.attached) attachJobs(jobs);
  const ids = new Set(jobs.map((j) => j.id)), seen = state.seenJobs || new Set();
  const gone = (id) => id && seen.has(id) && !ids.has(id);  // listed before, not now: cleared
  if (state.batch && gone(state.batch.job)) forgetBatchJob();
  if (state.video && gone(state.video.job)) forgetVideoJob();
  state.seenJobs = ids;
  for (const j of jobs) {
    if (state.batch && state.batch.job === j.id) showBatch(j);
    if (state.video && state.video.job === j.id) showVideoJob(j);
  }
}

function jobLinks(j) {  // what a job has to download: [class, text, address]
  const finished = j.state !== 'queued' && j.state !== 'running';
  if (!finished) return [];
  if (j.kind === 'batch') {
    return [['zip', 'zip', `/api/jobs/${j.id}/results.zip`], ['report', 'report', `/api/jobs/${j.id}/report.json`]];
  }
  return j.download ? [['video', j.partial ? 'partial video' : 'video', `/api/jobs/${j.id}/video.mp4`]] : [];
}

function showJobs(jobs) {  // one line per job with its Stop and downloads, kept (not rebuilt) while the job stays
  const list = $('queue'), items = new Map([...list.children].map((li) => [li.dataset.id, li]));
  for (const j of jobs) {
    let li = items.get(j.id);
    items.delete(j.id);
    if (!li) {
      li = document.createElement('li');
      li.dataset.id = j.id;
      li.innerHTML = '<span class="job-text"></span> <button type="button" class="light stop">Stop</button> <span class="job-links"></span>';
      li.querySelector('.stop').addEventListener('click', () => stopJob(j.id));
      li.querySelector('.stop').setAttribute('aria-label', `Stop ${j.kind} ${j.name}`);
    }
    list.appendChild(li);  // in the server's order
    li.dataset.state = j.state;
    li.querySelector('.job-text').textContent = describeJob(j);
    const stop = li.querySelector('.stop');
    stop.hidden = j.state !== 'queued' && j.state !== 'running';
    stop.disabled = Boolean(j.stopping);
    const links = li.querySelector('.job-links'), wanted = jobLinks(j);
    if (links.children.length !== wanted.length) {
      links.textContent = '';
      for (const [kind, text, href] of wanted) {
        const a = document.createElement('a');
        a.className = kind;
        a.href = href;
        a.textContent = text;
        a.setAttribute('download', '');
        links.append(a, ' ');
      }
    }
  }
  for (const li of items.values()) li.remove();  // cleared: its controls go with it
}

function attachJobs(jobs) {  // after a reload: the batch and video tabs take up their newest jobs again
  state.attached = true;
  const newest = (kind) => {
    const mine = jobs.filter((j) => j.kind === kind);
    return mine.filter((j) => j.state === 'queued' || j.state === 'running').pop() || mine.pop();
  };
  const batch = newest('batch'), video = newest('video');
  if (batch && !state.batch) {
    const ended = batch.state !== 'queued' && batch.state !== 'running';  // said before the reload: not again
    state.batch = { id: batch.id, job: batch.id, files: [], finished: false, quiet: ended };
    $('batch-progress').hidden = false;
    $('batch-stop').disabled = false;
    $('batch-start').disabled = true;
  }
  if (video && !state.video && video.video) {
    state.video = { id: video.video, job: video.id };
    $('video-info').textContent = video.name;
    $('video-progress').hidden = false;
    $('video-stop').disabled = false;
  }
}

function forgetBatchJob() {  // the batch tab's job was cleared: nothing of it stays to click
  state.batch.job = 'cleared';  // a new batch is made for the same files when Restore all is pressed again
  state.batch.finished = true;
  if (!state.batch.files.length) state.batch = null;  // taken up after a reload: no files to run again
  $('batch-start').disabled = !state.batch;
  $('batch-zip').hidden = $('batch-report').hidden = $('batch-progress').hidden = true;
  $('batch-zip').removeAttribute('href');
  $('batch-report').removeAttribute('href');
  $('batch-state').textContent = '';
  $('batch-errors').textContent = '';
  $('batch-stop').disabled = true;
}

function forgetVideoJob() {  // the video tab's job was cleared: its download goes too
  state.video.job = null;
  $('video-download').hidden = $('video-progress').hidden = true;
  $('video-download').removeAttribute('href');
  $('video-state').textContent = '';
  $('video-stop').disabled = true;
}

async function loadGallery() {  // the results kept in the output folder, newest first: they survive a reload
  let items;
  try { items = await api('GET', '/api/gallery'); } catch (e) { return; }
  const list = $('gallery');
  list.textContent = '';
  for (const item of items) {
    const li = document.createElement('li'), a = document.createElement('a');
    a.href = `/api/gallery/file?name=${encodeURIComponent(item.name)}`;
    a.setAttribute('download', item.name.split('/').pop());
    a.title = item.name;
    if (item.kind === 'image') {
      const img = document.createElement('img');
      img.loading = 'lazy';
      img.src = a.href;
      img.alt = item.name.split('/').pop().replace(/\.[^.]*$/, '');  // the result's name, not its path
      a.appendChild(img);
    }
    a.appendChild(document.createTextNode(item.name.split('/').pop()));
    li.appendChild(a);
    list.appendChild(li);
  }
}

async function restoreSide() {  // the same faces at a second w, shown beside the main result
  const photo = state.photo, on = $('side-by-side').checked;
  $('side-view').hidden = !on || !photo;
  if (!on || !photo) return;
  const mine = state.sideSeq = (state.sideSeq || 0) + 1, w2 = Number($('w2').value);
  try {
    const body = { settings: { ...settings(), w: w2 }, ...choice(), side: true };
    const r = await postJSON(`/api/photos/${photo.id}/restore`, body);
    if (mine !== state.sideSeq || photo !== state.photo) return;
    await loaded($('photo-side'), `/api/photos/${photo.id}/result.png?side=1&v=${r.version}`);
    await loaded($('photo-main'), `/api/photos/${photo.id}/result.png?v=${state.version}`);
    $('side-main-label').textContent = `w ${Number($('w').value).toFixed(2)}`;
    $('side-label').textContent = `w ${w2.toFixed(2)}`;
    document.body.dataset.sideVersion = String(r.version);
  } catch (e) {
    if (mine === state.sideSeq) say(e.message, true);
  }
}

let galleryTimer = null;
function refreshGallery() {  // soon: the server writes a result just after answering
  clearTimeout(galleryTimer);
  galleryTimer = setTimeout(loadGallery, 800);
}

async function clearJobs() {
  try { await api('POST', '/api/jobs/clear'); await pollJobs(); } catch (e) { say(e.message, true); }
}

async function stopJob(id) {
  if (!id) return;
  try { await api('POST', `/api/jobs/${id}/stop`); pollJobs(); } catch (e) { say(e.message, true); }
}

// -- batch --------------------------------------------------------------------------------------------------------
function listItems(list, lines) {
  for (const line of lines) {
    const li = document.createElement('li');
    li.textContent = line;
    list.appendChild(li);
  }
}

async function addToBatch(files) {
  try {
    if (!state.batch || state.batch.job) {
      state.batch = { id: (await api('POST', '/api/batches')).id, job: null, files: [], finished: false };
      for (const id of ['batch-files', 'batch-errors', 'batch-refused', 'batch-state']) $(id).textContent = '';
      $('batch-zip').hidden = $('batch-report').hidden = true;
      $('batch-progress').hidden = true;
    }
  } catch (e) { say(e.message, true); return; }
  for (const file of files) {  // each file on its own: one refused (not an image, too big) does not stop the rest
    say(`Uploading ${file.name} ...`);
    try {
      const r = await upload(`/api/batches/${state.batch.id}/files`, file);
      listItems($('batch-files'), r.added);
      listItems($('batch-refused'), r.refused);
      if (r.added.length) state.batch.files.push(file);
    } catch (e) { listItems($('batch-refused'), [e.message]); }
  }
  const ready = $('batch-files').children.length, refused = $('batch-refused').children.length;
  say(`${ready} file${ready === 1 ? '' : 's'} ready${refused ? `, ${refused} refused` : ''}.`, !ready);
  $('batch-start').disabled = !ready;
}

async function startBatch() {
  if (state.batch && state.batch.finished) await addToBatch(state.batch.files);  // again, with today's settings
  if (!state.batch || state.batch.job || !$('batch-files').children.length) return;
  try {
    const s = settings();
    delete s.visibility;
    const j = await postJSON(`/api/batches/${state.batch.id}/start`, { settings: s });
    state.batch.job = j.id;
    $('batch-start').disabled = true;
    $('batch-stop').disabled = false;
    $('batch-progress').hidden = false;
    showBatch(j);
  } catch (e) { say(e.message, true); }
}

function showProgress(prefix, j) {  // the progress bar and state line of the batch or video tab
  $(`${prefix}-progress`).max = Math.max(1, j.total);
  $(`${prefix}-progress`).value = j.progress;  // faces restored of the files under way count too
  $(`${prefix}-state`).textContent = describeJob(j);
  $(`${prefix}-state`).dataset.state = j.state;
  const finished = j.state !== 'queued' && j.state !== 'running';
  if (finished) $(`${prefix}-stop`).disabled = true;
  return finished;
}

function showBatch(j) {
  const finished = showProgress('batch', j);
  const errors = $('batch-errors');
  if (errors.children.length !== j.errors.length) {
    errors.textContent = '';
    listItems(errors, j.errors);
  }
  if (finished && !state.batch.finished) {
    state.batch.finished = true;
    $('batch-zip').href = `/api/jobs/${j.id}/results.zip`;
    $('batch-zip').setAttribute('download', `codeformer_results_${j.total}_file${j.total === 1 ? '' : 's'}.zip`);
    $('batch-report').href = `/api/jobs/${j.id}/report.json`;
    $('batch-zip').hidden = $('batch-report').hidden = false;
    $('batch-start').disabled = !state.batch.files.length;  // none when taken up after a reload
    if (!state.batch.quiet) say(`Batch finished: ${j.message || j.state}.`, j.state === 'failed');
  }
}

// -- video --------------------------------------------------------------------------------------------------------
async function openVideo(file) {
  say(`Uploading ${file.name} ...`);
  try {
    const v = await upload('/api/videos', file);
    state.video = { ...v, job: null };
    $('video-info').textContent = `${v.name}: ${v.width}x${v.height}, ${v.frames} frames at ${v.fps} fps`;
    const slider = $('video-frame');
    slider.max = v.frames - 1;
    slider.value = 0;
    slider.disabled = false;
    $('video-frame-value').textContent = '0';
    $('video-start').disabled = false;
    $('video-download').hidden = true;
    $('video-state').textContent = '';
    await previewFrame();
  } catch (e) {  // refused (not a video, a photo): nothing of an earlier video stays to restore by mistake
    state.video = null;
    $('video-start').disabled = $('video-frame').disabled = true;
    $('video-info').textContent = '';
    $('video-compare').hidden = $('video-compare-label').hidden = $('video-download').hidden = true;
    say(e.message, true);
  }
}

async function previewFrame() {
  const v = state.video;
  if (!v) return;
  const index = Number($('video-frame').value);
  const mine = ++state.seq;
  say(`Restoring frame ${index} ...`);
  try {
    const r = await postJSON(`/api/videos/${v.id}/preview`, { index, settings: settings() });
    if (mine !== state.seq) return;
    await loaded($('video-before'), `/api/videos/${v.id}/preview/before.png?i=${index}&n=${mine}`);
    await loaded($('video-after'), `/api/videos/${v.id}/preview/after.png?i=${index}&n=${mine}`);
    $('video-compare').hidden = false;
    $('video-compare-label').hidden = false;
    compare('video-after', $('video-compare-slider').value);
    document.body.dataset.previewFrame = String(index);
    say(`Frame ${index}: ${r.faces} face${r.faces === 1 ? '' : 's'} restored.`);
  } catch (e) { if (mine === state.seq) say(e.message, true); }
}

async function startVideo() {
  const v = state.video;
  if (!v) return;
  try {
    const s = settings();
    delete s.visibility;
    const j = await postJSON(`/api/videos/${v.id}/start`, { settings: s });
    v.job = j.id;
    $('video-start').disabled = true;
    $('video-stop').disabled = false;
    $('video-progress').hidden = false;
    showVideoJob(j);
  } catch (e) { say(e.message, true); }
}

function showVideoJob(j) {
  if (showProgress('video', j)) {
    $('video-start').disabled = false;
    if (j.download) {
      $('video-download').href = `/api/jobs/${j.id}/video.mp4`;
      $('video-download').textContent = j.partial ? 'Download what was done (partial video)' : 'Download video';
      $('video-download').hidden = false;
    }
  }
}

init().catch((e) => say(`The page could not start: ${e.message}`, true));
