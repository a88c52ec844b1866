// The SPARQL editor of the query page: CodeMirror 6 with the legacy SPARQL mode.
// Bundled by `make assets` (esbuild) into server/static/build/editor.js; exposes window.CoproEditor.
import { EditorView, basicSetup } from "codemirror";
import { keymap } from "@codemirror/view";
import { Prec } from "@codemirror/state";
import { StreamLanguage } from "@codemirror/language";
import { sparql } from "@codemirror/legacy-modes/mode/sparql";
import { setDiagnostics } from "@codemirror/lint";

/** Create an editor in `parent` holding `doc`; Ctrl/Cmd-Enter calls onRun. `nonce` is the page's
 * Content-Security-Policy nonce: CodeMirror puts its styles in a <style> element, which the policy admits
 * only with it. */
export function create(parent, doc, onRun, nonce = "") {
  const runKey = Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => { onRun(); return true; } }]));
  const view = new EditorView({
    doc,
    parent,
    extensions: [basicSetup, runKey, StreamLanguage.define(sparql), EditorView.lineWrapping, EditorView.cspNonce.of(nonce)],
  });
  return {
    view,
    getValue: () => view.state.doc.toString(),
    setValue(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
      view.dispatch(setDiagnostics(view.state, []));
    },
    /** Underline the token at 1-based line and column (counted in characters), and move the cursor there. */
    markError(line, column, message) {
      const doc = view.state.doc;
      const lineInfo = doc.line(Math.min(Math.max(line, 1), doc.lines));
      const text = lineInfo.text;
      // The server counts characters (code points); CodeMirror counts UTF-16 units.
      const units = Array.from(text).slice(0, Math.max(column - 1, 0)).join("").length;
      // Parsers may point just past the last character of a line; underline that character instead.
      const from = lineInfo.from + Math.max(Math.min(units, text.length - 1), 0);
      const word = /^[^\s{}()\[\].,;]+/.exec(text.slice(from - lineInfo.from));
      const to = Math.min(from + (word ? word[0].length : 1), lineInfo.to);
      view.dispatch(setDiagnostics(view.state, [{ from, to, severity: "error", message }]));
      view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
    },
    clearErrors() { view.dispatch(setDiagnostics(view.state, [])); },
  };
}
