// The video tab: plain frames while the slider is dragged, a restored preview frame on release, then the whole video
// as one job; the upload and the result play in the page.
'use strict';

const SCRUB_MS = 250;  // at most this often a plain frame while the slider moves (each is a decode on the server)

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
    $('video-scrub').hidden = true;
    showInputVideo(v.id);
    showResultVideo(null);
    await previewFrame();
  } catch (e) {  // refused (not a video, a photo): nothing of an earlier video stays to restore by mistake
    state.video = null;
    showInputVideo(null);
    showResultVideo(null);
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
    if (index === Number($('video-frame').value)) $('video-scrub').hidden = true;  // the restored frame instead
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
      showResultVideo(j.id);
    }
  }
}

// -- the frame slider while it is dragged: the plain frame under it, cheap, a few a second ------------------------
function scrubFrame() {
  const v = state.video, scrub = state.scrub || (state.scrub = { busy: false, timer: null, last: 0 });
  if (!v || scrub.busy || scrub.timer) return;
  const wait = scrub.last + SCRUB_MS - performance.now();
  if (wait > 0) {
    scrub.timer = setTimeout(() => { scrub.timer = null; scrubFrame(); }, wait);
    return;
  }
  const index = Number($('video-frame').value), img = $('video-scrub');
  if (index === scrub.index && v.id === scrub.video) return;
  scrub.busy = true;
  scrub.last = performance.now();
  loaded(img, `/api/videos/${v.id}/frame.png?quick=1&index=${index}`).then(() => {
    Object.assign(scrub, { index, video: v.id });
    if (state.video !== v) return;
    img.alt = `frame ${index}, before restoring`;
    img.hidden = document.body.dataset.previewFrame === String(index) && index === Number($('video-frame').value);
    document.body.dataset.scrubFrame = String(index);
  }).catch(() => {}).finally(() => {
    scrub.busy = false;
    if (Number($('video-frame').value) !== scrub.index) scrubFrame();  // the slider moved on meanwhile
  });
}
$('video-frame').addEventListener('input', scrubFrame);

// -- the players: the upload and the finished result, with the browser's own controls -------------------------------
function showPlayer(id, src) {  // ``src`` in the player (once: a new address only reloads it), or none
  const player = $(`${id}-player`);
  $(`${id}-figure`).hidden = !src;
  if (!src) {
    if (player.getAttribute('src')) { player.removeAttribute('src'); player.load(); }
    return;
  }
  if (player.getAttribute('src') !== src) player.src = src;
}
function showInputVideo(videoId) { showPlayer('video-input', videoId && `/api/videos/${videoId}/input`); }
function showResultVideo(jobId) { showPlayer('video-result', jobId && `/api/jobs/${jobId}/video.mp4`); }
