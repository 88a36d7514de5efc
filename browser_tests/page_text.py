"""What a reader sees on a page, checked in the browser: formulas left as TeX source, and
Chinese characters drawn as missing-glyph boxes because no font on the machine has them."""

from __future__ import annotations

# The page's visible text outside code, listings and formulas (<math> holds the drawn
# formulas), one string per text node.
_PROSE = """() => {
  const skip = 'code, pre, kbd, samp, math, script, style, noscript, .highlight';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || !parent.checkVisibility()) continue;
    if (node.textContent.trim()) texts.push(node.textContent);
  }
  return texts;
}"""

# Each distinct Chinese character of the page, drawn on a canvas in the font of the element
# that holds it, next to U+0378: a code point no font has, so drawn as the missing-glyph box
# (.notdef).  A character whose pixels are those of the box, or blank, has no font; and
# distinct characters that share one bitmap are boxes of a last-resort font.
_MISSING_GLYPHS = r"""() => {
  const SIZE = 48;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = SIZE;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const bitmap = (ch, font) => {
    ctx.clearRect(0, 0, SIZE, SIZE);
    ctx.font = font;
    ctx.textBaseline = 'top';
    ctx.fillText(ch, 4, 4);
    const alpha = ctx.getImageData(0, 0, SIZE, SIZE).data;
    let bits = '';
    for (let i = 3; i < alpha.length; i += 4) bits += alpha[i] > 96 ? '1' : '0';
    return bits;
  };
  const han = /\p{Script=Han}/u;
  const seen = new Map();  // character -> font of the first element that holds it
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('script, style')) continue;
    for (const ch of node.textContent) {
      if (han.test(ch) && !seen.has(ch)) {
        seen.set(ch, '32px ' + getComputedStyle(parent).fontFamily);
      }
    }
  }
  const boxes = new Map();  // font -> bitmap of the missing-glyph box
  const owners = new Map();  // bitmap -> characters drawn as it
  const missing = [];
  for (const [ch, font] of seen) {
    if (!boxes.has(font)) boxes.set(font, bitmap('\u0378', font));
    const bits = bitmap(ch, font);
    if (bits === boxes.get(font) || !bits.includes('1')) missing.push(ch);
    owners.set(bits, (owners.get(bits) || []).concat([ch]));
  }
  for (const chars of owners.values()) {
    if (chars.length > 1) missing.push(...chars.filter(ch => !missing.includes(ch)));
  }
  return {checked: seen.size, missing: missing};
}"""


def prose(page) -> list[str]:
    """The visible text nodes of ``page`` outside code, listings and drawn formulas."""
    return page.evaluate(_PROSE)


def missing_glyphs(page) -> tuple[int, list[str]]:
    """(how many distinct Chinese characters ``page`` shows, those of them that no font
    draws)."""
    found = page.evaluate(_MISSING_GLYPHS)
    return found["checked"], found["missing"]
