package render

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/color"
	"math/bits"
)

// A chart's palette indices are nearly all runs of background, and most rows
// repeat the row above except where a line or a label crosses them. image/png
// hands them to compress/flate, whose fastest level still hashes every byte
// looking for a match anywhere in the last 32 KB: that was more than half of a
// chart's cost. writePNG looks only where a chart's matches are, the byte
// before (a run) and the byte above (a repeated row), and writes what it finds
// with deflate's fixed Huffman codes, so it builds no tables and makes one
// pass. The PNG is an ordinary unfiltered 8-bit paletted one.

// pngStreamLen is the length of a PNG's uncompressed image data for a w×h
// image of one byte per pixel: each row preceded by its filter byte. A frame
// quantizes straight into that layout, with every filter byte 0 (none).
func pngStreamLen(w, h int) int { return (w + 1) * h }

// pngWriter builds a PNG in memory, a chunk at a time.
type pngWriter struct {
	out   []byte
	start int // where the open chunk begins
}

func (p *pngWriter) begin(typ string) {
	p.start = len(p.out)
	p.out = append(p.out, 0, 0, 0, 0)
	p.out = append(p.out, typ...)
}

// end fills in the open chunk's length and appends its CRC, which covers the
// type and the data.
func (p *pngWriter) end() {
	binary.BigEndian.PutUint32(p.out[p.start:], uint32(len(p.out)-p.start-8))
	p.out = binary.BigEndian.AppendUint32(p.out, crc32.ChecksumIEEE(p.out[p.start+4:]))
}

// writePNG appends to out the PNG of a w×h image laid out in stream as
// pngStreamLen says (filter bytes 0), with pal its palette.
func writePNG(out, stream []byte, w, h int, pal color.Palette) ([]byte, error) {
	if w <= 0 || h <= 0 || len(stream) != pngStreamLen(w, h) {
		return out, fmt.Errorf("png: %d bytes of pixels for %dx%d", len(stream), w, h)
	}
	if len(pal) == 0 || len(pal) > 256 {
		return out, fmt.Errorf("png: a palette of %d colours, want 1 to 256", len(pal))
	}
	p := pngWriter{out: append(out, "\x89PNG\r\n\x1a\n"...)}

	p.begin("IHDR")
	p.out = binary.BigEndian.AppendUint32(p.out, uint32(w))
	p.out = binary.BigEndian.AppendUint32(p.out, uint32(h))
	p.out = append(p.out, 8, 3, 0, 0, 0) // 8-bit indices, paletted, deflate, filters per row, no interlace
	p.end()

	p.begin("PLTE")
	opaque := true
	for _, c := range pal {
		n := nrgba(c)
		p.out = append(p.out, n.R, n.G, n.B)
		opaque = opaque && n.A == 0xff
	}
	p.end()
	if !opaque {
		p.begin("tRNS")
		for _, c := range pal {
			p.out = append(p.out, nrgba(c).A)
		}
		p.end()
	}

	p.begin("IDAT")
	p.out = append(p.out, 0x78, 0x01) // zlib: deflate, 32 KB window, the fastest level
	p.out = deflateRows(p.out, stream, w+1)
	p.out = binary.BigEndian.AppendUint32(p.out, adler32(stream))
	p.end()

	p.begin("IEND")
	p.end()
	return p.out, nil
}

// nrgba is color.NRGBAModel's conversion without its allocation.
func nrgba(c color.Color) color.NRGBA {
	r, g, b, a := c.RGBA()
	switch a {
	case 0xffff:
		return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 0xff}
	case 0:
		return color.NRGBA{}
	}
	return color.NRGBA{uint8(r * 0xffff / a >> 8), uint8(g * 0xffff / a >> 8), uint8(b * 0xffff / a >> 8), uint8(a >> 8)}
}

// deflateRows appends one final fixed-Huffman deflate block holding s, whose
// rows are stride bytes long. At each byte it takes the longer of the run
// continuing the byte before and the repeat of the byte a row above (at least
// three bytes, as deflate wants), else a literal.
func deflateRows(out, s []byte, stride int) []byte {
	bw := bitWriter{out: out}
	bw.write(1|1<<1, 3) // BFINAL, BTYPE 01: fixed codes
	run := distCode(1)
	up, hasUp := distCode(stride), stride <= maxDistance
	for i := 0; i < len(s); {
		n, d := 0, run
		if i >= 1 {
			n = matchLen(s[i:], s[i-1:])
		}
		if hasUp && i >= stride && n < maxMatch {
			if m := matchLen(s[i:], s[i-stride:]); m > n {
				n, d = m, up
			}
		}
		if n < minMatch {
			l := fixedLit[s[i]]
			bw.write(uint64(l.bits), uint(l.n))
			i++
			continue
		}
		l := fixedLen[n]
		bw.write(uint64(l.bits)|uint64(d.bits)<<l.n, uint(l.n+d.n))
		i += n
	}
	eob := fixedLit[256]
	bw.write(uint64(eob.bits), uint(eob.n))
	return bw.flush()
}

const (
	minMatch    = 3
	maxMatch    = 258
	maxDistance = 32768
)

// matchLen is how many leading bytes a and b share, at most maxMatch; a is the
// later of two overlapping windows on the same stream, so b is the longer.
func matchLen(a, b []byte) int {
	limit := min(len(a), maxMatch)
	n := 0
	for n+8 <= limit {
		if x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < limit && a[n] == b[n] {
		n++
	}
	return n
}

// A code is a deflate code and its extra bits, ready for the bit stream
// (Huffman codes are sent most significant bit first, so they are stored
// reversed).
type code struct {
	bits uint32
	n    uint8
}

// fixedLit holds the fixed Huffman codes of the literal/length alphabet
// (RFC 1951, 3.2.6) for symbols 0 to 287; fixedLen the whole code for each
// match length, symbol and extra bits.
var fixedLit, fixedLen = func() (lit [288]code, length [maxMatch + 1]code) {
	for s := range lit {
		var c uint32
		var n uint8
		switch {
		case s < 144:
			c, n = 0x30+uint32(s), 8
		case s < 256:
			c, n = 0x190+uint32(s-144), 9
		case s < 280:
			c, n = uint32(s-256), 7
		default:
			c, n = 0xc0+uint32(s-280), 8
		}
		lit[s] = code{bits: bits.Reverse32(c) >> (32 - n), n: n}
	}
	for l := minMatch; l <= maxMatch; l++ {
		i := lengthIndex(l)
		sym := lit[257+i]
		extra := lengthExtra[i]
		length[l] = code{bits: sym.bits | uint32(l-lengthBase[i])<<sym.n, n: sym.n + extra}
	}
	return lit, length
}()

var (
	lengthBase  = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// lengthIndex is the length symbol (less 257) for a match of l bytes; 258 has
// its own symbol rather than the last range's top.
func lengthIndex(l int) int {
	if l == maxMatch {
		return len(lengthBase) - 1
	}
	i := len(lengthBase) - 2
	for lengthBase[i] > l {
		i--
	}
	return i
}

// distCode is the fixed code (five bits) and extra bits of a distance d, for
// 1 ≤ d ≤ maxDistance; past that it returns the zero code, which callers do
// not use.
func distCode(d int) code {
	if d < 1 || d > maxDistance {
		return code{}
	}
	i := len(distBase) - 1
	for distBase[i] > d {
		i--
	}
	return code{bits: bits.Reverse32(uint32(i))>>27 | uint32(d-distBase[i])<<5, n: 5 + distExtra[i]}
}

// bitWriter packs codes into bytes, least significant bit first. One write is
// at most 31 bits (a length code with its extra bits and a distance code with
// its), and fewer than 32 are ever pending, so 64 bits hold both.
type bitWriter struct {
	out   []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) write(b uint64, n uint) {
	w.acc |= b << w.nbits
	w.nbits += n
	if w.nbits >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.nbits -= 32
	}
}

func (w *bitWriter) flush() []byte {
	for w.nbits > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nbits -= min(w.nbits, 8)
	}
	return w.out
}

// adler32 is zlib's checksum of s (hash/adler32's, which it is tested
// against), quick over the runs of zero bytes that are most of a chart: a
// zero adds nothing to the first sum and the first sum to the second.
func adler32(s []byte) uint32 {
	const (
		mod = 65521
		// nmax is the most bytes before the sums must be reduced to stay
		// within 32 bits; a multiple of 8.
		nmax = 5552
	)
	a, b := uint32(1), uint32(0)
	for len(s) > 0 {
		chunk := s[:min(len(s), nmax)]
		s = s[len(chunk):]
		for len(chunk) >= 8 {
			if len(chunk) >= 32 && binary.LittleEndian.Uint64(chunk)|binary.LittleEndian.Uint64(chunk[8:])|
				binary.LittleEndian.Uint64(chunk[16:])|binary.LittleEndian.Uint64(chunk[24:]) == 0 {
				b += 32 * a
				chunk = chunk[32:]
				continue
			}
			if binary.LittleEndian.Uint64(chunk) == 0 {
				b += 8 * a
			} else {
				for _, c := range chunk[:8] {
					a += uint32(c)
					b += a
				}
			}
			chunk = chunk[8:]
		}
		for _, c := range chunk {
			a += uint32(c)
			b += a
		}
		a %= mod
		b %= mod
	}
	return b<<16 | a
}
