// The console's editor: CodeMirror 6 with the languages a function's code
// is written in, One Dark when the browser prefers dark, and one entry,
// createEditor. Bundled by build.mjs into assets/vendor/codemirror.js.
import { basicSetup } from 'codemirror';
import { EditorView, keymap } from '@codemirror/view';
import { EditorState, Compartment } from '@codemirror/state';
import { indentWithTab } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { json } from '@codemirror/lang-json';
import { html } from '@codemirror/lang-html';
import { css } from '@codemirror/lang-css';
import { php } from '@codemirror/lang-php';
import { markdown } from '@codemirror/lang-markdown';
import { yaml } from '@codemirror/lang-yaml';
import { oneDark } from '@codemirror/theme-one-dark';

// languageOf picks the language support for a file name; null for plain
// text.
export function languageOf(name) {
  const ext = (name.match(/\.([^./]+)$/) || [])[1] || '';
  switch (ext.toLowerCase()) {
    case 'js': case 'mjs': case 'cjs': return javascript();
    case 'jsx': return javascript({ jsx: true });
    case 'ts': case 'mts': case 'cts': return javascript({ typescript: true });
    case 'tsx': return javascript({ typescript: true, jsx: true });
    case 'py': return python();
    case 'json': return json();
    case 'html': case 'htm': return html();
    case 'css': return css();
    case 'php': return php();
    case 'md': case 'markdown': return markdown();
    case 'yml': case 'yaml': return yaml();
    default: return null;
  }
}

// createEditor puts an editor in parent for the text doc of file name.
// label names it for assistive technology; onChange(text) follows the
// edits; readOnly makes it a viewer. The theme follows
// prefers-color-scheme while the editor lives (destroy() stops that).
export function createEditor({ parent, doc, name, label, readOnly = false, onChange }) {
  const theme = new Compartment();
  const dark = window.matchMedia('(prefers-color-scheme: dark)');
  const lang = languageOf(name || '');
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        basicSetup,
        // Tab indents; Escape then Tab leaves the editor (CodeMirror's
        // keyboard escape hatch), so the page stays keyboard navigable.
        keymap.of([indentWithTab]),
        lang || [],
        theme.of(dark.matches ? oneDark : []),
        EditorState.readOnly.of(readOnly),
        EditorView.editable.of(!readOnly),
        EditorView.contentAttributes.of({ 'aria-label': label || name || 'Code' }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && onChange) onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
  const follow = (ev) => view.dispatch({ effects: theme.reconfigure(ev.matches ? oneDark : []) });
  dark.addEventListener('change', follow);
  const destroy = view.destroy.bind(view);
  view.destroy = () => {
    dark.removeEventListener('change', follow);
    destroy();
  };
  return view;
}

export { EditorView, EditorState };
