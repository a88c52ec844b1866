// The pictures of the theory pages as files for a paper: the 2x2 of modes (/modes), the mechanism lanes and
// the virtuous cycle (/mechanisms) download as SVG and as PNG, in the page's language. The 2x2 and the lanes
// are HTML on the page, so their SVG is drawn here from the same elements; the cycle is SVG already and is
// copied with its computed colours. A PNG is the SVG drawn on a canvas at twice its size, with the bundled
// fonts it needs embedded, so Chinese text does not fall back to whatever (or no) font the reader's machine has.
(function () {
  "use strict";
  const FONTS_CSS = "/static/build/fonts.css";
  const FONT = '"Inter Variable", "Noto Sans SC Variable", "Noto Sans SC", "Noto Sans CJK SC", sans-serif';
  const SCALE = 2;

  const escapeXml = (text) => String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" }[c]));
  const wide = (c) => /[\u2E80-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]/.test(c);

  // Break `text` into lines no wider than `width` px at `size` px: a CJK character counts 1 em, others .56 em.
  function wrap(text, width, size) {
    const lines = [];
    let line = "", used = 0;
    for (const piece of text.match(/[\u2E80-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]|\S+\s*|\s+/g) || []) {
      const cost = [...piece].reduce((sum, c) => sum + (wide(c) ? 1 : 0.56), 0) * size;
      if (used + cost > width && line.trim()) {
        lines.push(line.trim());
        line = "";
        used = 0;
      }
      line += piece;
      used += cost;
    }
    if (line.trim()) lines.push(line.trim());
    return lines;
  }

  // --- the 2x2 of modes ---------------------------------------------------------------------------------

  function modesSvg() {
    const cells = [...document.querySelectorAll("#mode-grid .mode-cell")].map((cell) => ({
      colour: getComputedStyle(cell).borderTopColor,
      levels: cell.querySelector(".levels").textContent.replace(/\s+/g, " ").trim(),
      mode: cell.querySelector("h2").textContent.replace(/\s+/g, " ").trim(),
      cases: [...cell.querySelectorAll(".case-chip")].map((chip) => (chip.classList.contains("has-unmet") ? "⚠ " : "• ") +
        chip.querySelector(".case-name").textContent.trim()),
    }));
    const axisY = document.querySelector(".axis-y .axis-text").textContent.trim();
    const axisX = document.querySelector(".axis-x").textContent.trim();
    const cellWidth = 400, pad = 16, margin = 44, gap = 14, title = 22, body = 15, small = 12;
    const laidOut = cells.map((cell) => {
      const mode = wrap(cell.mode, cellWidth - 2 * pad, title);
      const cases = cell.cases.flatMap((c) => wrap(c, cellWidth - 2 * pad, body));
      return { ...cell, mode, cases, height: pad + small * 1.6 + mode.length * title * 1.3 + 8 + cases.length * body * 1.5 + pad };
    });
    const rowHeights = [0, 1].map((r) => Math.max(...laidOut.slice(r * 2, r * 2 + 2).map((c) => c.height), 160));
    const width = margin + 2 * cellWidth + gap + 8;
    const height = rowHeights[0] + rowHeights[1] + gap + margin + 8;
    const parts = [];
    laidOut.forEach((cell, i) => {
      const x = margin + (i % 2) * (cellWidth + gap);
      const y = 8 + (i < 2 ? 0 : rowHeights[0] + gap);
      const h = rowHeights[i < 2 ? 0 : 1];
      parts.push(`<g class="mode-cell"><rect x="${x}" y="${y}" width="${cellWidth}" height="${h}" rx="10" fill="#ffffff" stroke="#dfe5e3"/>`,
        `<rect x="${x}" y="${y}" width="${cellWidth}" height="6" fill="${cell.colour}"/>`);
      let line = y + pad + small;
      parts.push(`<text x="${x + pad}" y="${line}" font-size="${small}" fill="#63727a">${escapeXml(cell.levels)}</text>`);
      line += small * 0.6;
      for (const text of cell.mode) {
        line += title * 1.3;
        parts.push(`<text x="${x + pad}" y="${line}" font-size="${title}" font-weight="700" fill="${cell.colour}">${escapeXml(text)}</text>`);
      }
      line += 8;
      for (const text of cell.cases) {
        line += body * 1.5;
        parts.push(`<text class="case" x="${x + pad}" y="${line}" font-size="${body}" fill="#1d2a2f">${escapeXml(text)}</text>`);
      }
      parts.push("</g>");
    });
    const middleY = 8 + (rowHeights[0] + gap + rowHeights[1]) / 2;
    parts.push(`<text x="18" y="${middleY}" font-size="14" font-weight="600" fill="#63727a" text-anchor="middle" transform="rotate(-90 18 ${middleY})">${escapeXml(axisY)} →</text>`,
      `<text x="${margin + cellWidth + gap / 2}" y="${height - 14}" font-size="14" font-weight="600" fill="#63727a" text-anchor="middle">${escapeXml(axisX)}</text>`);
    return document_(width, height, parts.join("\n"));
  }

  function document_(width, height, content) {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family='${FONT}'>\n` +
      `<rect width="100%" height="100%" fill="#ffffff"/>\n${content}\n</svg>\n`;
  }

  // --- the mechanism lanes: stage -> mechanism -> logic -> strategy -> outcomes, one lane per mechanism ---

  function lanesSvg() {
    const head = [...document.querySelectorAll("#mechanism-board .lane-head > div")].map((d) => d.textContent.trim());
    const widths = [130, 170, 190, 180, 320], gapX = 26, pad = 10, size = 14, margin = 12, headHeight = 26, gapY = 14;
    const lanes = [...document.querySelectorAll("#mechanism-board .lane[data-mechanism]")].map((lane) => {
      const text = (selector) => lane.querySelector(selector).textContent.replace(/\s+/g, " ").trim();
      const columns = [text(".stage"), text(".mechanism"), text(".logic"), text(".strategy")].map((t, i) => wrap(t, widths[i] - 2 * pad, size));
      const outcomes = [...lane.querySelectorAll(".outcomes li")].flatMap((li) => wrap(`• ${li.textContent.replace(/\s+/g, " ").trim()}`, widths[4] - 2 * pad, size));
      const lines = Math.max(...columns.map((c) => c.length), outcomes.length);
      return { colour: getComputedStyle(lane.querySelector(".node.mechanism")).backgroundColor, columns: [...columns, outcomes], height: 2 * pad + lines * size * 1.45 };
    });
    const width = 2 * margin + widths.reduce((a, b) => a + b, 0) + gapX * (widths.length - 1);
    const height = margin + headHeight + lanes.reduce((sum, lane) => sum + lane.height + gapY, 0) + margin;
    const lefts = widths.map((_, i) => margin + widths.slice(0, i).reduce((a, b) => a + b, 0) + gapX * i);
    const parts = head.map((title, i) => `<text x="${lefts[i]}" y="${margin + 14}" font-size="12" font-weight="600" fill="#63727a">${escapeXml(title.toUpperCase())}</text>`);
    let y = margin + headHeight;
    for (const lane of lanes) {
      parts.push('<g class="lane">');
      lane.columns.forEach((lines, i) => {
        const x = lefts[i];
        const mechanism = i === 1;
        parts.push(`<rect x="${x}" y="${y}" width="${widths[i]}" height="${lane.height}" rx="8" fill="${mechanism ? lane.colour : "#ffffff"}" stroke="${lane.colour}" stroke-width="${mechanism ? 0 : 1.5}"/>`);
        lines.forEach((line, n) => parts.push(`<text x="${x + pad}" y="${y + pad + size + n * size * 1.45}" font-size="${size}" font-weight="${mechanism ? 700 : 500}" fill="${mechanism ? "#ffffff" : "#1d2a2f"}">${escapeXml(line)}</text>`));
        if (i < lane.columns.length - 1) {
          const ay = y + lane.height / 2, ax = x + widths[i] + 4;
          parts.push(`<path d="M${ax} ${ay} L${ax + gapX - 10} ${ay} M${ax + gapX - 15} ${ay - 5} L${ax + gapX - 9} ${ay} L${ax + gapX - 15} ${ay + 5}" fill="none" stroke="${lane.colour}" stroke-width="2"/>`);
        }
      });
      parts.push("</g>");
      y += lane.height + gapY;
    }
    return document_(width, height, parts.join("\n"));
  }

  // --- the virtuous cycle: the page's SVG with its colours written in, links and titles kept --------------

  const PRESENTATION = ["fill", "stroke", "stroke-width", "font-size", "font-weight", "letter-spacing", "opacity"];

  function cycleSvg() {
    const original = document.querySelector("svg.cycle");
    const copy = original.cloneNode(true);
    const from = [original, ...original.querySelectorAll("*")];
    [copy, ...copy.querySelectorAll("*")].forEach((element, i) => {
      const style = getComputedStyle(from[i]);
      for (const property of PRESENTATION) element.setAttribute(property, style.getPropertyValue(property));
      element.removeAttribute("class");
    });
    const [, , width, height] = original.getAttribute("viewBox").split(/\s+/).map(Number);
    return document_(width, height, copy.innerHTML);
  }

  // --- PNG: the SVG with the bundled fonts it needs, drawn on a canvas --------------------------------------

  function covers(ranges, used) {
    return ranges.split(",").some((range) => {
      const [low, high] = range.trim().replace(/^U\+/i, "").split("-");
      const first = parseInt(low.replace(/\?/g, "0"), 16);
      const last = parseInt((high || low).replace(/\?/g, "F"), 16);
      for (const code of used) if (code >= first && code <= last) return true;
      return false;
    });
  }

  function base64(bytes) {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  }

  // The @font-face rules of fonts.css whose unicode-range the picture's text touches, each font inlined.
  async function embeddedFonts(svgText) {
    const text = svgText.replace(/<[^>]*>/g, "");
    const used = new Set([...text].map((c) => c.codePointAt(0)));
    const base = new URL(FONTS_CSS, location.href);
    const css = await (await fetch(base)).text();
    const rules = await Promise.all((css.match(/@font-face\s*{[^}]*}/g) || []).map(async (rule) => {
      const range = /unicode-range:\s*([^;}]*)/.exec(rule);
      const url = /url\(["']?([^"')]+)["']?\)/.exec(rule);
      if (!url || (range && !covers(range[1], used))) return "";
      const font = new Uint8Array(await (await fetch(new URL(url[1], base))).arrayBuffer());
      return rule.replace(url[0], `url(data:font/woff2;base64,${base64(font)})`);
    }));
    return rules.filter(Boolean);
  }

  async function png(svgText, embed = true) {
    const fonts = embed ? await embeddedFonts(svgText) : [];
    const styled = svgText.replace(/(<svg[^>]*>)/, `$1<style>${fonts.join("")}</style>`);
    const image = new Image();
    const loaded = new Promise((resolve, reject) => { image.onload = resolve; image.onerror = () => reject(new Error("the picture did not draw")); });
    image.src = `data:image/svg+xml;base64,${base64(new TextEncoder().encode(styled))}`;
    await loaded;
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth * SCALE;
    canvas.height = image.naturalHeight * SCALE;
    canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  }

  function save(name, blob) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  const PICTURES = { modes: modesSvg, lanes: lanesSvg, cycle: cycleSvg };
  const language = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
  for (const button of document.querySelectorAll("[data-picture]")) {
    button.addEventListener("click", async () => {
      const picture = button.dataset.picture;
      const svgText = PICTURES[picture]();
      const name = `coprokg-${picture}-${language}`;
      button.disabled = true;
      try {
        if (button.dataset.format === "svg") save(`${name}.svg`, new Blob([svgText], { type: "image/svg+xml" }));
        else save(`${name}.png`, await png(svgText));
      } finally {
        button.disabled = false;
      }
    });
  }
  window.coproPictures = { svg: (picture) => PICTURES[picture](), png }; // the browser tests compare renderings
})();
