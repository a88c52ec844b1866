// The SPARQL editor of the query page: CodeMirror 6 with the legacy SPARQL mode.
// Bundled by `make assets` (esbuild) into server/static/build/editor.js; exposes window.CoproEditor.
import { EditorView, basicSetup } from "codemirror";
import { keymap } from "@codemirror/view";
import { Prec } from "@codemirror/state";
import { StreamLanguage } from "@codemirror/language";
import { sparql } from "@codemirror/legacy-modes/mode/sparql";
import { setDiagnostics } from "@codemirror/lint";

/** Create an editor in `parent` holding `doc`; Ctrl/Cmd-Enter calls onRun. */
export function create(parent, doc, onRun) {
  const runKey = Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => { onRun(); return true; } }]));
  const view = new EditorView({
    doc,
    parent,
    extensions: [basicSetup, runKey, StreamLanguage.define(sparql), EditorView.lineWrapping],
  });
  return {
    view,
    getValue: () => view.state.doc.toString(),
    setValue(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
      view.dispatch(setDiagnostics(view.state, []));
    },
    /** Underline the error at 1-based line and column, and move the cursor there. */
    markError(line, column, message) {
      const doc = view.state.doc;
      const safeLine = Math.min(Math.max(line, 1), doc.lines);
      const lineInfo = doc.line(safeLine);
      // Parsers may point just past the last character of a line; underline that character instead.
      const from = Math.max(Math.min(lineInfo.from + Math.max(column - 1, 0), lineInfo.to - 1), lineInfo.from);
      const to = Math.min(from + 1, lineInfo.to);
      view.dispatch(setDiagnostics(view.state, [{ from, to, severity: "error", message }]));
      view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
    },
    clearErrors() { view.dispatch(setDiagnostics(view.state, [])); },
  };
}
