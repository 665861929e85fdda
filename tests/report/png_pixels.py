#!/usr/bin/env python3
"""Print the RGB of pixels of a PNG (8-bit RGB/RGBA/grey, non-interlaced),
decoded with zlib alone, so the report tests need no imaging library.

usage: png_pixels.py FILE X,Y [X,Y ...]   → "W H" then one "R G B" per point
"""
import struct, sys, zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("not a PNG: " + path)
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace != 0 or ctype not in (0, 2, 4, 6):
                sys.exit("unsupported PNG layout (depth %d, colour type %d, interlace %d)" % (depth, ctype, interlace))
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line); prev = line
    return w, h, bpp, rows


def main():
    w, h, bpp, rows = decode(sys.argv[1])
    print(w, h)
    for arg in sys.argv[2:]:
        x, y = (int(float(v)) for v in arg.split(","))
        px = rows[y][x * bpp:(x + 1) * bpp]
        rgb = (px[0], px[0], px[0]) if bpp <= 2 else (px[0], px[1], px[2])
        print(*rgb)


if __name__ == "__main__":
    main()
