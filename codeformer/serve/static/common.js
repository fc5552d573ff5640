// The page of `codeformer serve`: plain JavaScript, no build step, nothing fetched from elsewhere. The page's
// scripts are classic scripts loaded in order (common.js first) and share one global scope.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { info: null, photo: null, faces: [], version: 0, seq: 0, video: null, jobs: {}, batch: null };
window.cfTimings = [];  // {released, shown, network}: read by benchmarks/bench_serve.py

function keptId(storage, key) {  // an id kept in ``storage``, made on first use (a fresh one where storage is off)
  const made = Array.from({ length: 16 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  try {
    if (!storage.getItem(key)) storage.setItem(key, made);
    return storage.getItem(key) || made;
  } catch (e) { return made; }
}
// this browser's id, shared by its tabs and kept across reloads: the server lists the jobs it started, in every tab
const CLIENT = keptId(localStorage, 'cfClient');
// this tab's own id: the photos it holds open count against its own limit
const TAB = keptId(sessionStorage, 'cfTab');

function say(text, error = false) {
  if (state.gone) return;  // the notice that the server has stopped stays
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

// the server stopped (Ctrl-C): one notice that stays, instead of each request's own error
const GONE = 'The server has stopped: start it again with `codeformer serve` and reload this page.';
function serverGone() {
  say(GONE, true);
  state.gone = true;
  document.body.dataset.serverGone = '1';
}
async function lostServer(error) {  // a request got no answer at all: the server's notice if it is gone, else ``error``
  try { await fetch('/api/info', { cache: 'no-store' }); } catch (e) { serverGone(); return new Error(GONE); }
  return error;
}

async function api(method, url, body, headers = {}) {
  let response;
  try {
    response = await fetch(url, { method, body, headers: { ...headers, 'X-Codeformer-Client': CLIENT, 'X-Codeformer-Tab': TAB } });
  } catch (e) { throw await lostServer(e); }
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
  const downloads = state.info.downloads;  // a choice whose weights are not here yet says what it will download
  for (const [select, kind] of [[$('detector'), 'detectors'], [$('bg-upsampler'), 'upsamplers']]) {
    for (const option of select.options) {
      const download = downloads[kind][option.value], text = option.textContent;
      if (!download || download.present) continue;
      const note = `downloads ${download.size || 'its weights'} on first use`;
      option.textContent = text.endsWith(')') ? `${text.slice(0, -1)}; ${note})` : `${text} (${note})`;
    }
  }
  $('detector').value = d.detector;
  keepChoices();  // what a failed choice goes back to
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
  followJobs();  // the server sends the job list as it changes
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

document.addEventListener('DOMContentLoaded', () => init().catch((e) => say(`The page could not start: ${e.message}`, true)));
