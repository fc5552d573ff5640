// The jobs list: every queued or running job of this client, with its Stop and downloads.
'use strict';

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

const SLOW_POLL_MS = 5000;  // when the event stream cannot be had (refused as busy, cut by a proxy)

function followJobs() {  // the server sends this tab's job list whenever it changes: no poll, nothing in the log
  if (!window.EventSource) { setInterval(pollJobs, SLOW_POLL_MS); return; }
  const events = new EventSource(`/api/events?client=${encodeURIComponent(CLIENT)}`);
  events.onmessage = (e) => showJobList(JSON.parse(e.data));
  events.addEventListener('others', (e) => { state.others = Number(e.data); showQueueSummary(); });
  events.addEventListener('closing', () => { events.close(); serverGone(); });  // Ctrl-C of the server
  events.onerror = async () => {
    if (state.gone) return;
    if (events.readyState === EventSource.CLOSED) {  // refused: follow the jobs by asking now and then instead
      if (!state.slowPoll) state.slowPoll = setInterval(pollJobs, SLOW_POLL_MS);
      return;
    }
    await lostServer(null);  // dropped: the browser opens it again, unless the server is gone
    if (state.gone) events.close();
  };
}

async function pollJobs() {
  const mine = state.polls = (state.polls || 0) + 1;
  let jobs;
  try { jobs = await api('GET', '/api/jobs'); } catch (e) { return; }
  if (mine < (state.pollShown || 0)) return;  // an older answer than the one shown (a Clear came between)
  state.pollShown = mine;
  showJobList(jobs);
}

function showQueueSummary() {  // this browser's jobs, and those of other pages holding the network meanwhile
  const mine = state.activeJobs || 0, others = state.others || 0;
  let text = mine ? `queue: ${mine} job${mine > 1 ? 's' : ''}` : 'queue: empty';
  if (others) text += ` (the server is running ${others} job${others > 1 ? 's' : ''} of another page)`;
  $('queue-summary').textContent = text;
}

function showJobList(jobs) {  // the Jobs list, and the batch and video tabs' own jobs
  const active = jobs.filter((j) => j.state === 'queued' || j.state === 'running');
  if (state.finishedJobs !== undefined && jobs.length - active.length > state.finishedJobs) refreshGallery();
  state.finishedJobs = jobs.length - active.length;
  state.activeJobs = active.length;
  showQueueSummary();
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
    showInputVideo(video.video);
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
  showResultVideo(null);
  $('video-download').hidden = $('video-progress').hidden = true;
  $('video-download').removeAttribute('href');
  $('video-state').textContent = '';
  $('video-stop').disabled = true;
}

async function clearJobs() {
  try { await api('POST', '/api/jobs/clear'); await pollJobs(); } catch (e) { say(e.message, true); }
}

async function stopJob(id) {
  if (!id) return;
  try { await api('POST', `/api/jobs/${id}/stop`); pollJobs(); } catch (e) { say(e.message, true); }
}
