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

// pageTheme fits the editor to the console: the height of its host
// element (sized by app.css), the console's colours and monospace font,
// and its visible focus ring. The console's CSS variables reach into the
// shadow root (custom properties inherit).
const pageTheme = EditorView.theme({
  '&': { height: '100%', backgroundColor: 'var(--card)', color: 'var(--fg)' },
  '&.cm-focused': { outline: '3px solid var(--focus)', outlineOffset: '-3px' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace', fontSize: '0.875rem' },
});

// darkGutter lifts One Dark's line numbers (#7d8799 on #282c34, under
// WCAG's 4.5:1 for text) to its foreground grey.
const darkGutter = EditorView.theme({ '.cm-gutters': { color: '#abb2bf' } }, { dark: true });
// First: an earlier extension takes precedence over a later one.
const darkTheme = [darkGutter, oneDark];

// typeAcrossLines applies text typed over a selection that spans lines
// itself. Left to the browser, Chrome's native editing merges the
// lines' elements and sets inline style attributes while it does, which
// the console's CSP refuses (a violation report each time, although
// CodeMirror redraws the lines anyway). The editor's input handlers
// (closing brackets, ...) still get the text first, as for any typing.
const typeAcrossLines = EditorView.domEventHandlers({
  beforeinput(e, view) {
    const { main } = view.state.selection;
    const { doc } = view.state;
    if (main.empty || doc.lineAt(main.from).number === doc.lineAt(main.to).number) return false;
    if (e.inputType.startsWith('delete')) {
      // A virtual keyboard's backspace comes as beforeinput, not a key.
      e.preventDefault();
      view.dispatch(view.state.replaceSelection(''), { userEvent: 'delete', scrollIntoView: true });
      return true;
    }
    if (e.inputType !== 'insertText' && e.inputType !== 'insertReplacementText') return false;
    const text = e.data ?? (e.dataTransfer && e.dataTransfer.getData('text/plain'));
    if (text == null) return false;
    e.preventDefault();
    const insert = () => view.state.replaceSelection(text);
    if (!view.state.facet(EditorView.inputHandler).some((h) => h(view, main.from, main.to, text, insert))) {
      view.dispatch(insert(), { userEvent: 'input.type', scrollIntoView: true });
    }
    return true;
  },
});

// createEditor puts an editor for the text doc of file name in host.
// label names it for assistive technology; onChange(text) follows the
// edits; readOnly makes it a viewer. The theme follows
// prefers-color-scheme while the editor lives (destroy() stops that).
//
// The editor lives in host's (open) shadow root: CodeMirror's style-mod
// adds its styles as constructable stylesheets (adoptedStyleSheets) only
// in a shadow root, and as <style> elements in a document, which the
// console's Content-Security-Policy (style-src 'self') refuses.
export function createEditor({ parent: host, doc, name, label, readOnly = false, onChange }) {
  const root = host.shadowRoot || host.attachShadow({ mode: 'open' });
  const mount = document.createElement('div');
  mount.className = 'editor-mount';
  root.replaceChildren(mount);
  if (!root.adoptedStyleSheets.includes(hostSheet)) root.adoptedStyleSheets = [...root.adoptedStyleSheets, hostSheet];
  const theme = new Compartment();
  const dark = window.matchMedia('(prefers-color-scheme: dark)');
  const lang = languageOf(name || '');
  const view = new EditorView({
    parent: mount,
    root,
    state: EditorState.create({
      doc,
      extensions: [
        basicSetup,
        // Tab indents; Escape then Tab leaves the editor (CodeMirror's
        // keyboard escape hatch), so the page stays keyboard navigable.
        keymap.of([indentWithTab]),
        lang || [],
        pageTheme,
        typeAcrossLines,
        theme.of(dark.matches ? darkTheme : []),
        EditorState.readOnly.of(readOnly),
        EditorView.editable.of(!readOnly),
        // tabindex: a read-only viewer is not contenteditable, and its
        // scrolling text must still take the keyboard's focus.
        EditorView.contentAttributes.of({ 'aria-label': label || name || 'Code', tabindex: '0' }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && onChange) onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
  const follow = (ev) => view.dispatch({ effects: theme.reconfigure(ev.matches ? darkTheme : []) });
  dark.addEventListener('change', follow);
  const destroy = view.destroy.bind(view);
  view.destroy = () => {
    dark.removeEventListener('change', follow);
    destroy();
  };
  return view;
}

// hostSheet sizes the mount point to its host.
const hostSheet = new CSSStyleSheet();
hostSheet.replaceSync(':host { display: block; } .editor-mount { height: 100%; }');

export { EditorView, EditorState };
