"""Words drawn into pictures (figures, the widgets' images) in the reader's language.

A browser draws a widget's labels and messages in any language; a picture made in Python
(a matplotlib figure, a widget's PNG drawn with PIL) can draw Chinese only with a font that
has Chinese characters.  So the words of a picture come from the catalogs
(:mod:`convbook.language`) through :func:`drawn_text`: in the reader's language where an
installed font can draw it, else in English, with one notice (a
:class:`MissingFontWarning`) saying which font to install.  Never boxes for missing glyphs.

* :func:`cjk_font`: the first installed font of :data:`CJK_FAMILIES` (Noto Sans CJK,
  Source Han Sans, WenQuanYi, PingFang, Microsoft YaHei, ...), or ``None``.  matplotlib
  lists the fonts it saw when it first ran; a font installed since is found among the
  system's font files and added to matplotlib's list (``font_manager.fontManager``), once.
* :func:`drawing_language` and :func:`drawn_text`: the language of a picture and its words.
* :func:`use_reader_font`: a figure's texts that have Chinese characters get the CJK font
  (with DejaVu Sans behind it for the symbols it lacks, such as ⋆), text by text; nothing
  else changes, and matplotlib's ``rcParams`` are left alone.
* :func:`pil_font`: the font a widget draws its picture's words with (PIL).
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from typing import Any

from convbook.language import get_language, message, text

#: fonts with Chinese characters, in order of preference (the first one installed is used)
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Sans SC",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", "SimHei",
    "Hiragino Sans GB", "Heiti SC", "Noto Sans CJK TC", "Noto Sans CJK JP",
    "Source Han Sans", "Arial Unicode MS",
)
#: what the file names of such fonts contain (to find one matplotlib has not seen yet)
_CJK_FILE = re.compile(
    r"cjk|sourcehan|wqy|wenquanyi|msyh|yahei|pingfang|simhei|hiragino|heiti|notosanssc|"
    r"arialuni", re.IGNORECASE)
#: characters that need a CJK font: CJK punctuation, ideographs, full-width forms
_CJK_TEXT = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
#: the language of each language's pictures needs such a font
_NEEDS_CJK = {"zh"}


class MissingFontWarning(UserWarning):
    """No installed font can draw the reader's language: pictures are drawn in English."""


@dataclass(frozen=True)
class Font:
    """An installed font: its family name, its file, and its face in that file (a ``.ttc``
    holds several)."""

    family: str
    path: str
    index: int = 0


def _matplotlib_font(families: tuple[str, ...]) -> Font | None:
    from matplotlib import font_manager

    entries = {entry.name: entry for entry in font_manager.fontManager.ttflist}
    for family in families:
        if family in entries:
            entry = entries[family]
            return Font(family, entry.fname, getattr(entry, "index", 0))
    return None


@functools.cache
def cjk_font() -> Font | None:
    """The first installed font of :data:`CJK_FAMILIES`, or ``None`` where there is none.

    Asked once per process: a font installed later is seen after a restart.
    """
    found = _matplotlib_font(CJK_FAMILIES)
    if found is not None:
        return found
    # matplotlib's list of fonts is cached from its first run: look for newer ones
    from matplotlib import font_manager

    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known and _CJK_FILE.search(path):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # a broken font file: skip it
                continue
    return _matplotlib_font(CJK_FAMILIES)


_noticed = False


def drawing_language() -> str:
    """The language pictures are drawn in: the reader's (:func:`get_language`) where an
    installed font can draw it, else ``"en"``, with one :class:`MissingFontWarning` per
    process."""
    global _noticed
    lang = get_language()
    if lang not in _NEEDS_CJK or cjk_font() is not None:
        return lang
    if not _noticed:
        _noticed = True
        warnings.warn(text("figures.missing_font.notice"), MissingFontWarning, stacklevel=3)
    return "en"


def drawn_text(key: str, **values: object) -> str:
    """The message ``key`` (see :mod:`convbook.language`) in :func:`drawing_language`: the
    words of a picture.

    >>> drawn_text("figures.sliding_window.input")
    'input X'
    """
    return message(drawing_language(), key, **values)


def has_cjk(words: str) -> bool:
    """Whether ``words`` has characters that need a CJK font.

    >>> has_cjk("输入 X"), has_cjk("input X ⋆ 3×3")
    (True, False)
    """
    return _CJK_TEXT.search(words) is not None


def use_reader_font(figure: Any) -> Any:
    """Give every text of ``figure`` (a matplotlib ``Figure``) that has Chinese characters
    the CJK font, with DejaVu Sans behind it for symbols the CJK font lacks; returns the
    figure.  Texts without such characters, and matplotlib's ``rcParams``, are left as they
    are.  Call it after the figure's words are written (they come from :func:`drawn_text`,
    which draws none where no CJK font is installed)."""
    from matplotlib.text import Text

    font = cjk_font()
    if font is None:
        return figure
    families = [font.family, "DejaVu Sans"]
    for artist in figure.findobj(Text):
        if has_cjk(artist.get_text()):
            artist.set_fontfamily(families)
    return figure


@functools.cache
def _truetype(path: str, index: int, size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(path, size, index=index)


def pil_font(size: int = 12) -> Any:
    """The font a widget's picture draws its words with: the CJK font, ``size`` pixels,
    where :func:`drawing_language` needs one, else PIL's small default bitmap font (the
    English pictures' look)."""
    from PIL import ImageFont

    if drawing_language() in _NEEDS_CJK:
        font = cjk_font()
        assert font is not None  # drawing_language is "en" without one
        return _truetype(font.path, font.index, size)
    return ImageFont.load_default()
