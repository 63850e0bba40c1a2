// Hash routes: #/ is the overview, #/w/<project>/<workflow>?state=…&q=…&page=…&sample=…&analysis=… a workflow.

/** The route in the hash: { view: 'overview' } or { view: 'workflow', id: 'project/workflow', params }. */
export function parseRoute(hash) {
  const text = (hash || '').replace(/^#/, '');
  const [path, search] = text.split('?', 2);
  const parts = path.split('/').filter(p => p.length > 0).map(p => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts[0] === 'w' && parts.length >= 3) {
    return { view: 'workflow', id: `${parts[1]}/${parts.slice(2).join('/')}`, params: new URLSearchParams(search || '') };
  }
  return { view: 'overview', params: new URLSearchParams(search || '') };
}

export function workflowHash(id, params) {
  const [project, ...rest] = id.split('/');
  const q = params ? params.toString() : '';
  return `#/w/${encodeURIComponent(project)}/${encodeURIComponent(rest.join('/'))}${q ? `?${q}` : ''}`;
}

/** Changes the hash without a new history entry for every keystroke of a filter; hashchange renders it. */
export function navigate(hash, { replace: replaceEntry = false } = {}) {
  if (location.hash === hash) return;
  if (replaceEntry) location.replace(hash);
  else location.hash = hash;
}
