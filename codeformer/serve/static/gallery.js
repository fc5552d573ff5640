// The gallery: the results kept in the output folder, as small thumbnails, with what they take against the disk's
// free space. An entry opens in a viewer (before/after as the photo tab's, Download, Delete into the folder's .trash).
'use strict';

const galleryFile = (name, extra = '') => `/api/gallery/file?name=${encodeURIComponent(name)}${extra}`;
const resultName = (name) => name.split('/').pop();
let galleryDrawn = '';  // the listing drawn last: a refresh that finds the same one redraws nothing
let viewing = null;  // the entry the viewer shows

function formatBytes(n) {  // decimal units, as disks are sold: "144 MB", "20.1 GB"
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i ? n.toFixed(n < 100 ? 1 : 0) : n} ${units[i]}`;
}

function showUsage(u) {
  const trash = u.trash_bytes ? `; ${formatBytes(u.trash_bytes)} in .trash` : '';
  $('gallery-usage').textContent = `${u.results} result${u.results === 1 ? '' : 's'}, ${formatBytes(u.bytes)}`
    + `${trash}; ${formatBytes(u.free_bytes)} free on this disk`;
}

async function loadGallery() {  // the results kept in the output folder, newest first: they survive a reload
  let items, usage;
  try {
    [items, usage] = await Promise.all([api('GET', '/api/gallery'), api('GET', '/api/gallery/usage')]);
  } catch (e) { return; }
  showUsage(usage);
  const listing = JSON.stringify(items);
  if (listing === galleryDrawn) return;
  galleryDrawn = listing;
  const list = $('gallery');
  list.textContent = '';
  for (const item of items) list.appendChild(galleryEntry(item));
}

function galleryEntry(item) {  // a link to the file itself (a new tab shows it); a plain click opens the viewer
  const li = document.createElement('li'), a = document.createElement('a');
  a.href = galleryFile(item.name);
  a.title = item.name;
  if (item.kind === 'image') {
    const img = document.createElement('img');
    img.loading = 'lazy';
    img.decoding = 'async';
    img.width = 132;
    img.height = 88;
    img.src = `/api/gallery/thumb?name=${encodeURIComponent(item.name)}&v=${item.time}`;
    img.alt = item.title;  // the result's name, not its path
    a.appendChild(img);
  } else {
    const tile = document.createElement('span');
    tile.className = 'gallery-video';
    tile.textContent = 'video';
    a.appendChild(tile);
  }
  a.appendChild(document.createTextNode(resultName(item.name)));
  a.addEventListener('click', (e) => {
    if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    openViewer(item);
  });
  li.appendChild(a);
  return li;
}

let galleryTimer = null;
function refreshGallery() {  // soon: the server writes a result just after answering
  clearTimeout(galleryTimer);
  galleryTimer = setTimeout(loadGallery, 800);
}

// -- the viewer ---------------------------------------------------------------------------------------------------
function openViewer(item) {
  viewing = item;
  const image = item.kind === 'image';
  $('viewer-title').textContent = resultName(item.name);
  const download = $('viewer-download');
  download.href = galleryFile(item.name, '&download=1');
  download.setAttribute('download', resultName(item.name));
  $('viewer-pair').hidden = !image;
  $('viewer-compare-label').hidden = !(image && item.before);
  $('viewer-note').textContent = image && !item.before
    ? 'No "before" for this result: a batch keeps only its results (the Photo tab keeps each input).' : '';
  const video = $('viewer-video');
  video.hidden = image;
  if (image) showPair(item);
  else video.src = galleryFile(item.name);
  $('viewer').showModal();
}

async function showPair(item) {  // the result, and over the same box the input it was made from
  const before = $('viewer-before'), after = $('viewer-after');
  before.hidden = !item.before;
  $('viewer-divider').hidden = !item.before;
  before.removeAttribute('src');
  after.removeAttribute('src');
  before.alt = `${item.title} before`;
  after.alt = `${item.title} restored`;
  after.style.clipPath = item.before ? '' : 'none';
  try {
    const source = `/api/gallery/source?name=${encodeURIComponent(item.name)}&v=${item.time}`;
    await Promise.all([loaded(after, galleryFile(item.name)), item.before ? loaded(before, source) : null]);
  } catch (e) {
    if (viewing === item) $('viewer-note').textContent = `${resultName(item.name)}: ${e.message}`;
    return;
  }
  if (viewing !== item) return;
  fitViewer();
  if (item.before) compare('viewer-after', $('viewer-compare').value);
}

function fitViewer() {  // the result fitted to the window; the input stretched over the same box, so the halves match
  const after = $('viewer-after'), box = $('viewer-pair');
  if (!$('viewer').open || !after.naturalWidth) return;
  const room = box.parentElement.clientWidth, tall = Math.max(160, window.innerHeight - 220);
  const scale = Math.min(room / after.naturalWidth, tall / after.naturalHeight);
  box.style.width = `${Math.floor(after.naturalWidth * scale)}px`;
  box.style.height = `${Math.floor(after.naturalHeight * scale)}px`;
}

async function deleteViewed() {
  const item = viewing;
  if (!item) return;
  try {
    const answer = await api('DELETE', galleryFile(item.name));
    $('viewer').close();
    say(`${resultName(item.name)} was moved to ${answer.trash} in the output folder.`);
    await loadGallery();
  } catch (e) { $('viewer-note').textContent = e.message; }
}

function setUpViewer() {  // a deferred script runs once the page is parsed: its elements are there
  const dialog = $('viewer');
  $('viewer-close').addEventListener('click', () => dialog.close());
  $('viewer-delete').addEventListener('click', deleteViewed);
  $('viewer-compare').addEventListener('input', () => compare('viewer-after', $('viewer-compare').value));
  dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });  // outside its content
  dialog.addEventListener('close', () => {  // Escape, Close or outside: back to the page
    viewing = null;
    const video = $('viewer-video');
    video.pause();
    video.removeAttribute('src');
  });
  window.addEventListener('resize', fitViewer);
}

setUpViewer();
