// The photo tab: one photo, its faces, its restore and the second w beside it.
'use strict';

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
  } catch (e) { say(e.message, true); undoChoices(); }
}

async function redetect() {
  if (!state.photo) return;
  say('Looking for faces ...');
  try {
    const data = await api('POST', `/api/photos/${state.photo.id}/detect?detector=${encodeURIComponent($('detector').value)}`);
    showFaces(data.faces);
    await restore();
  } catch (e) { say(e.message, true); undoChoices(); }
}

// -- a failed choice (a download this machine cannot make, say) puts the lists back on the last one that worked,
// so that the next change does not fail again
const CHOICES = ['detector', 'bg-upsampler', 'face-upsample'];
const worked = {};

function choices() {
  return Object.fromEntries(CHOICES.map((id) => [id, $(id).type === 'checkbox' ? $(id).checked : $(id).value]));
}

function keepChoices(tried = choices()) { Object.assign(worked, tried); }

function undoChoices() {
  for (const id of CHOICES) $(id)[$(id).type === 'checkbox' ? 'checked' : 'value'] = worked[id];
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
  const photo = state.photo, tried = choices();
  for (const card of faceCards()) {  // a face without its own w follows the w for all
    if (!card.querySelector('.own-w').checked) {
      card.querySelector('.face-w').value = $('w').value;
      card.querySelector('.face-w-value').textContent = Number($('w').value).toFixed(2);
    }
  }
  $('photo-compare').classList.add('busy');
  say('Restoring ...');
  try {
    const r = await watchedRestore(postJSON(`/api/photos/${photo.id}/restore`, { settings: settings(), ...choice() }), photo, mine);
    if (mine !== state.seq) return;  // a newer request is on its way
    await loaded($('photo-after'), `/api/photos/${photo.id}/result.png?v=${r.version}`);
    if (mine !== state.seq) return;
    keepChoices(tried);
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
    if (mine === state.seq) { say(e.message, state.stopped !== mine); undoChoices(); }  // Stop: said, not an error
  } finally {
    if (mine === state.seq) $('photo-compare').classList.remove('busy');
  }
}

// -- a restore under way: its progress (faces restored, time left) and its Stop ------------------------------------
const PHOTO_POLL_MS = 400;  // the figure shows within 1 s of the first face restored

async function watchedRestore(request, photo, mine) {  // the request's answer; meanwhile its progress and Stop show
  let asking = false, answered = false;
  $('photo-stop').disabled = false;
  const timer = setInterval(async () => {
    if (asking || answered || mine !== state.seq) return;
    asking = true;
    try {
      const p = await api('GET', `/api/photos/${photo.id}/progress`);
      if (!answered && mine === state.seq) showPhotoProgress(p);
    } catch (e) { /* the restore's own answer says what went wrong */ }
    asking = false;
  }, PHOTO_POLL_MS);
  try {
    return await request;
  } finally {
    answered = true;
    clearInterval(timer);
    if (mine === state.seq) { $('photo-progress').hidden = true; $('photo-stop').disabled = true; }
  }
}

function showPhotoProgress(p) {  // "2 of 4 faces, about 40 s left" and the bar; waiting: behind a job or another request
  const bar = $('photo-progress-bar'), text = $('photo-progress-text');
  $('photo-progress').hidden = !['running', 'waiting'].includes(p.state);  // a quick restore never shows it
  if (p.state === 'running' && p.faces) {
    bar.value = p.done / p.faces;
    let line = `${p.done} of ${p.faces} face${p.faces === 1 ? '' : 's'}`;
    if (p.seconds_left !== null && p.done < p.faces) line += `, about ${Math.ceil(p.seconds_left)} s left`;
    text.textContent = line + (p.stopping ? ' (stopping)' : '');
  } else if (p.state === 'waiting') {
    bar.removeAttribute('value');  // no figure yet: the bar moves without one
    text.textContent = 'Waiting for the network ...';
  }
}

async function stopRestore() {  // the restore ends at its next network batch; the last finished result stays
  if (!state.photo) return;
  state.stopped = state.seq;
  $('photo-stop').disabled = true;
  try { await api('POST', `/api/photos/${state.photo.id}/stop`); } catch (e) { say(e.message, true); }
}

$('photo-stop').addEventListener('click', stopRestore);

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
