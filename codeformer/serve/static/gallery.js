// The gallery: the results kept in the output folder.
'use strict';

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


let galleryTimer = null;
function refreshGallery() {  // soon: the server writes a result just after answering
  clearTimeout(galleryTimer);
  galleryTimer = setTimeout(loadGallery, 800);
}
