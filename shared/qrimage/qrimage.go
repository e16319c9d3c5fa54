// Package qrimage renders the text of a QR code (for WeChat, the url that
// qrcode/create returns) as a PNG or SVG image. WeChat's showqrcode serves
// its own picture of a ticket; rendering the url here gives the same code
// without a round trip to mp.weixin.qq.com and at any size.
//
// Every image uses byte mode, error correction level M (about 15% of the
// code may be damaged; a 43-byte WeChat url then fits version 4, 33×33
// modules) and a quiet zone of four modules, the minimum the QR standard
// asks for.
package qrimage

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"

	"github.com/boombuler/barcode/qr"
)

// Size bounds, in pixels, for both PNG and SVG. At MinSize a WeChat url's
// 41 modules (quiet zone included) get one pixel each, the least that
// still draws every module; above MaxSize a PNG only grows without
// scanning better.
const (
	MinSize = 64
	MaxSize = 2048
)

// QuietZone is the blank margin around the code, in modules.
const QuietZone = 4

var (
	// ErrSize: the requested size is outside MinSize..MaxSize, or too small
	// for the number of modules the content needs.
	ErrSize = errors.New("qrimage: size out of range")
	// ErrContent: the content is empty or too long for a QR code at level M.
	ErrContent = errors.New("qrimage: content cannot be encoded")
)

// Grid is a QR code's modules, quiet zone included: Dark(x, y) for x and y
// in [0, Size()).
type Grid struct {
	n    int
	dark []bool
}

// Size is the number of modules on a side, quiet zone included.
func (g *Grid) Size() int { return g.n }

// Dark reports whether the module at column x, row y is dark. Outside the
// grid it is light, as the quiet zone is.
func (g *Grid) Dark(x, y int) bool {
	if x < 0 || y < 0 || x >= g.n || y >= g.n {
		return false
	}
	return g.dark[y*g.n+x]
}

// Encode computes the module grid of content (byte mode, level M) with its
// quiet zone. PNG and SVG draw it; it is exported for callers that draw
// their own.
func Encode(content string) (*Grid, error) {
	if content == "" {
		return nil, fmt.Errorf("%w: empty", ErrContent)
	}
	// qr.Unicode is boombuler's byte mode: the UTF-8 bytes as they are,
	// without an ECI header (which many readers mishandle).
	code, err := qr.Encode(content, qr.M, qr.Unicode)
	if err != nil {
		return nil, fmt.Errorf("%w: %d bytes: %v", ErrContent, len(content), err)
	}
	b := code.Bounds()
	dim := b.Dx()
	n := dim + 2*QuietZone
	g := &Grid{n: n, dark: make([]bool, n*n)}
	for y := 0; y < dim; y++ {
		for x := 0; x < dim; x++ {
			// The code is drawn in the colour scheme's foreground (black);
			// reading the gray value keeps this independent of its type.
			if gray := color.GrayModel.Convert(code.At(b.Min.X+x, b.Min.Y+y)).(color.Gray); gray.Y < 128 {
				g.dark[(y+QuietZone)*n+x+QuietZone] = true
			}
		}
	}
	return g, nil
}

func checkSize(size int) error {
	if size < MinSize || size > MaxSize {
		return fmt.Errorf("%w: %d px, want %d..%d", ErrSize, size, MinSize, MaxSize)
	}
	return nil
}

// palette is white then black, so that the PNG encoder writes a 1-bit image.
var palette = color.Palette{color.Gray{Y: 0xff}, color.Gray{Y: 0}}

// Image draws g as a size×size image, each module a whole number of pixels
// (a fractional module would blur its edges into gray), centred, the
// leftover pixels added to the white margin.
func Image(g *Grid, size int) (image.Image, error) {
	if err := checkSize(size); err != nil {
		return nil, err
	}
	scale := size / g.n
	if scale < 1 {
		return nil, fmt.Errorf("%w: %d px cannot hold %d modules", ErrSize, size, g.n)
	}
	img := image.NewPaletted(image.Rect(0, 0, size, size), palette)
	off := (size - scale*g.n) / 2
	for y := 0; y < g.n; y++ {
		for x := 0; x < g.n; x++ {
			if !g.Dark(x, y) {
				continue
			}
			for py := off + y*scale; py < off+(y+1)*scale; py++ {
				row := img.Pix[py*img.Stride:]
				for px := off + x*scale; px < off+(x+1)*scale; px++ {
					row[px] = 1
				}
			}
		}
	}
	return img, nil
}

// PNG renders content as a size×size PNG (1-bit grayscale). size must be in
// MinSize..MaxSize.
func PNG(content string, size int) ([]byte, error) {
	if err := checkSize(size); err != nil {
		return nil, err
	}
	g, err := Encode(content)
	if err != nil {
		return nil, err
	}
	img, err := Image(g, size)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qrimage: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// SVG renders content as an SVG document of size×size pixels: a white
// background and one path holding every dark module, in module units
// (viewBox), with shape-rendering="crispEdges" so that adjacent modules
// leave no antialiased seams. Each horizontal run of dark modules is one
// rectangle "M x y h w v1 h-w z", about 4 KB for a WeChat url.
func SVG(content string, size int) ([]byte, error) {
	if err := checkSize(size); err != nil {
		return nil, err
	}
	g, err := Encode(content)
	if err != nil {
		return nil, err
	}
	n := strconv.Itoa(g.n)
	s := strconv.Itoa(size)
	b := make([]byte, 0, 4096)
	b = append(b, `<svg xmlns="http://www.w3.org/2000/svg" width="`+s+`" height="`+s+`" viewBox="0 0 `+n+` `+n+`" shape-rendering="crispEdges">`...)
	b = append(b, `<rect width="`+n+`" height="`+n+`" fill="#fff"/><path fill="#000" d="`...)
	for y := 0; y < g.n; y++ {
		for x := 0; x < g.n; {
			if !g.Dark(x, y) {
				x++
				continue
			}
			start := x
			for x < g.n && g.Dark(x, y) {
				x++
			}
			w := x - start
			b = append(b, 'M')
			b = strconv.AppendInt(b, int64(start), 10)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(y), 10)
			b = append(b, 'h')
			b = strconv.AppendInt(b, int64(w), 10)
			b = append(b, "v1h-"...)
			b = strconv.AppendInt(b, int64(w), 10)
			b = append(b, 'z')
		}
	}
	b = append(b, `"/></svg>`...)
	return b, nil
}
