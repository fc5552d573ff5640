// The batch tab: many photos as one job.
'use strict';

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
