// The video tab: a preview frame, then the whole video as one job.
'use strict';

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
