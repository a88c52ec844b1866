// The SPARQL editor of the query page: CodeMirror 6 with the legacy SPARQL mode, and completion of the known
// prefixes and of the ontology's terms (labelled in the page language).
// Bundled by `make assets` (esbuild) into server/static/build/editor.js; exposes window.CoproEditor.
import { EditorView, basicSetup } from "codemirror";
import { keymap } from "@codemirror/view";
import { EditorState, Prec } from "@codemirror/state";
import { StreamLanguage, syntaxTree } from "@codemirror/language";
import { sparql } from "@codemirror/legacy-modes/mode/sparql";
import { setDiagnostics } from "@codemirror/lint";

// What the completion's icon shows for each kind of term /terms.json names.
const KIND_TO_TYPE = { class: "class", property: "property", individual: "constant" };

/** A completion source offering `prefix:` names, then the terms under a prefix with their labels as detail.
 * `vocabulary()` resolves to {prefixes: {name: iri}, terms: [{name, kind, label}]}; it is asked on first use. */
function vocabularyCompletion(vocabulary) {
  return async (context) => {
    const word = context.matchBefore(/[A-Za-z][\w-]*:[\w.-]*|[A-Za-z][\w-]*/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    // Not a variable (?s, $s), not inside an IRI, a string or a comment.
    const before = context.state.sliceDoc(word.from - 1, word.from);
    if (before === "?" || before === "$" || before === "<" || before === ":") return null;
    const node = syntaxTree(context.state).resolveInner(context.pos, -1);
    if (/comment|string/.test(node.name)) return null;
    const { prefixes, terms } = await vocabulary();
    const colon = word.text.indexOf(":");
    if (colon < 0) {
      const options = Object.entries(prefixes).map(([name, iri]) => ({ label: `${name}:`, detail: iri, type: "namespace" }));
      return { from: word.from, options, validFor: /^[A-Za-z][\w-]*$/ };
    }
    const prefix = word.text.slice(0, colon + 1);
    const options = terms.filter((term) => term.name.startsWith(prefix))
      .map((term) => ({ label: term.name, detail: term.label, type: KIND_TO_TYPE[term.kind] || "variable" }));
    return { from: word.from, options, validFor: /^[A-Za-z][\w-]*:[\w.-]*$/ };
  };
}

/** Create an editor in `parent` holding `doc`; Ctrl/Cmd-Enter calls onRun. `nonce` is the page's
 * Content-Security-Policy nonce: CodeMirror puts its styles in a <style> element, which the policy admits
 * only with it. `vocabulary`, if given, feeds the completion (see vocabularyCompletion). */
export function create(parent, doc, onRun, nonce = "", vocabulary = null) {
  const runKey = Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => { onRun(); return true; } }]));
  // One source object for the editor's life: CodeMirror drops a result whose source it no longer lists, so a
  // source made anew on each look-up would be asked again and again.
  const source = vocabulary ? vocabularyCompletion(vocabulary) : null;
  const completion = source ? [EditorState.languageData.of(() => [{ autocomplete: source }])] : [];
  // The page's query tabs keep each tab's text and the address bar up to date as the text changes.
  const changeListeners = [];
  const changes = EditorView.updateListener.of((update) => { if (update.docChanged) changeListeners.forEach((f) => f()); });
  const view = new EditorView({
    doc,
    parent,
    extensions: [basicSetup, runKey, StreamLanguage.define(sparql), ...completion, changes, EditorView.lineWrapping, EditorView.cspNonce.of(nonce)],
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
    /** Call `listener` after every change of the text, typed or set. */
    onChange(listener) { changeListeners.push(listener); },
  };
}
