// The Code tab's file tree: an ARIA tree (role=tree, treeitem, group) of
// a code package's paths, keyboard navigable as the ARIA practices say:
// Up/Down move, Right opens a folder or enters it, Left closes it or goes
// to its parent, Home/End jump, Enter/Space open a file or toggle a
// folder. One item is tabbable at a time (roving tabindex).
import { h } from './ui.js';

// buildTree turns paths into nested folders: {dirs: Map, files: []},
// each sorted when drawn.
function buildTree(files) {
  const root = { dirs: new Map(), files: [] };
  for (const f of files) {
    const parts = f.name.split('/');
    let node = root;
    for (const dir of parts.slice(0, -1)) {
      if (!node.dirs.has(dir)) node.dirs.set(dir, { dirs: new Map(), files: [] });
      node = node.dirs.get(dir);
    }
    node.files.push({ base: parts[parts.length - 1], file: f });
  }
  return root;
}

const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// fileTree draws the tree into container. opts: {label, files, selected
// (a name), expanded (a Set of folder paths, kept across redraws),
// onOpen(file)}. It returns focusSelected(), which moves the focus to
// the selected item.
export function fileTree(container, { label, files, selected, expanded, onOpen }) {
  const tree = h('ul', { role: 'tree', 'aria-label': label, class: 'file-tree', id: 'file-tree' });
  const draw = (node, prefix, level, parent) => {
    for (const [dir, child] of [...node.dirs.entries()].sort(([a], [b]) => byName(a, b))) {
      const path = prefix + dir;
      const open = expanded.has(path);
      const group = h('ul', { role: 'group', hidden: !open });
      const item = h('li', { role: 'treeitem', 'aria-level': level, 'aria-expanded': String(open), tabindex: '-1', dataset: { dir: path } },
        h('span', { class: 'tree-label' }, h('span', { class: 'tree-icon', 'aria-hidden': 'true' }, open ? '▾' : '▸'), dir), group);
      parent.append(item);
      draw(child, `${path}/`, level + 1, group);
    }
    for (const { base, file } of node.files.sort((a, b) => byName(a.base, b.base))) {
      const mark = file.dirty ? h('span', { class: 'tree-dirty', title: 'modified' }, ' •', h('span', { class: 'visually-hidden' }, ' (modified)')) : null;
      const note = file.readOnly ? h('span', { class: 'tree-ro' }, ' (read-only)') : null;
      parent.append(h('li', { role: 'treeitem', 'aria-level': level, 'aria-selected': String(file.name === selected), tabindex: '-1', dataset: { file: file.name } },
        h('span', { class: 'tree-label' }, base, mark, note)));
    }
  };
  draw(buildTree(files), '', 1, tree);
  const items = () => [...tree.querySelectorAll('[role=treeitem]')].filter((li) => !li.closest('[hidden]'));
  const current = tree.querySelector('[aria-selected=true]') || items()[0];
  if (current) current.tabIndex = 0;

  const focus = (li) => {
    if (!li) return;
    for (const other of tree.querySelectorAll('[tabindex="0"]')) other.tabIndex = -1;
    li.tabIndex = 0;
    li.focus();
  };
  const toggle = (li, open) => {
    const path = li.dataset.dir;
    if (open) expanded.add(path);
    else expanded.delete(path);
    li.setAttribute('aria-expanded', String(open));
    li.querySelector(':scope > [role=group]').hidden = !open;
    li.querySelector(':scope > .tree-label > .tree-icon').textContent = open ? '▾' : '▸';
  };
  const activate = (li) => {
    if (li.dataset.dir !== undefined) toggle(li, li.getAttribute('aria-expanded') !== 'true');
    else onOpen(files.find((f) => f.name === li.dataset.file));
  };
  tree.addEventListener('click', (ev) => {
    const li = ev.target.closest('[role=treeitem]');
    if (!li) return;
    focus(li);
    activate(li);
  });
  tree.addEventListener('keydown', (ev) => {
    const li = ev.target.closest('[role=treeitem]');
    if (!li) return;
    const list = items();
    const i = list.indexOf(li);
    const isDir = li.dataset.dir !== undefined;
    const open = li.getAttribute('aria-expanded') === 'true';
    const parentItem = li.parentElement.closest('[role=treeitem]');
    const keys = {
      ArrowDown: () => focus(list[i + 1]),
      ArrowUp: () => focus(list[i - 1]),
      Home: () => focus(list[0]),
      End: () => focus(list[list.length - 1]),
      ArrowRight: () => (isDir && !open ? toggle(li, true) : isDir ? focus(list[i + 1]) : null),
      ArrowLeft: () => (isDir && open ? toggle(li, false) : focus(parentItem)),
      Enter: () => activate(li),
      ' ': () => activate(li),
    };
    if (!keys[ev.key]) return;
    ev.preventDefault();
    keys[ev.key]();
  });
  container.replaceChildren(tree);
  return () => focus(tree.querySelector('[aria-selected=true]'));
}
