package qrimage_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"wechatqr/shared/qrimage"
)

// contents are the texts the project renders: WeChat's code urls (always
// http, docs/wechat.md §8), a url carrying a 64-character scene, and non-ASCII text (byte
// mode carries UTF-8 as is).
var contents = []struct {
	name, text string
}{
	{"wechat url", "http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI"},
	{"wechat url of a str scene", "http://weixin.qq.com/q/02KATwA5Ey9g21ZwsNxA1"},
	{"64-char scene url", "https://example.com/s/" + strings.Repeat("riddle-9", 8)},
	{"utf-8", "谜语-1: a map?"},
	{"url with query and fragment", "http://weixin.qq.com/q/abc?x=1&y=<2>#z"},
}

// decode reads a QR code from img with gozxing. It uses the PURE_BARCODE
// hint (an upright code on a white margin, which is what these images are)
// rather than the finder-pattern detector: on pristine synthetic images that
// detector misjudges the code's dimension for a few per cent of inputs,
// including codes encoded by gozxing itself (about 4% of random WeChat urls
// at 430 px when measured), so it would make the tests flaky without
// saying anything about the image.
func decode(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatalf("bitmap: %v", err)
	}
	hints := map[gozxing.DecodeHintType]any{
		gozxing.DecodeHintType_PURE_BARCODE:  true,
		gozxing.DecodeHintType_CHARACTER_SET: "UTF-8",
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	return res.GetText()
}

func TestPNGDecodesBackToContent(t *testing.T) {
	for _, c := range contents {
		for _, size := range []int{qrimage.MinSize, 200, 430, 1000} {
			t.Run(c.name+"/"+strconv.Itoa(size), func(t *testing.T) {
				b, err := qrimage.PNG(c.text, size)
				if err != nil {
					t.Fatalf("PNG: %v", err)
				}
				img, err := png.Decode(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("png.Decode: %v", err)
				}
				if got := img.Bounds(); got.Dx() != size || got.Dy() != size {
					t.Fatalf("bounds %v, want %dx%d", got, size, size)
				}
				if got := decode(t, img); got != c.text {
					t.Fatalf("decoded %q, want %q", got, c.text)
				}
			})
		}
	}
}

func TestPNGHasQuietZone(t *testing.T) {
	const size = 430
	g, err := qrimage.Encode(contents[0].text)
	if err != nil {
		t.Fatal(err)
	}
	b, err := qrimage.PNG(contents[0].text, size)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	scale := size / g.Size()
	margin := (size-scale*g.Size())/2 + qrimage.QuietZone*scale
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			inside := x >= margin && y >= margin && x < size-margin && y < size-margin
			if inside {
				continue
			}
			if gray := color.GrayModel.Convert(img.At(x, y)).(color.Gray); gray.Y != 0xff {
				t.Fatalf("pixel (%d,%d) in the %d px quiet zone is not white", x, y, margin)
			}
		}
	}
	// The code itself starts right after it: the top-left finder pattern's
	// corner is dark.
	if gray := color.GrayModel.Convert(img.At(margin, margin)).(color.Gray); gray.Y != 0 {
		t.Fatalf("pixel (%d,%d) should be the finder pattern's dark corner", margin, margin)
	}
}

func TestSVGDecodesBackToContent(t *testing.T) {
	for _, c := range contents {
		t.Run(c.name, func(t *testing.T) {
			b, err := qrimage.SVG(c.text, 300)
			if err != nil {
				t.Fatalf("SVG: %v", err)
			}
			img := rasterizeSVG(t, b, 6)
			if got := decode(t, img); got != c.text {
				t.Fatalf("decoded %q, want %q", got, c.text)
			}
		})
	}
}

func TestSVGShape(t *testing.T) {
	b, err := qrimage.SVG(contents[0].text, 256)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`width="256"`, `height="256"`, `shape-rendering="crispEdges"`, `xmlns="http://www.w3.org/2000/svg"`} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %s", want)
		}
	}
	if n := strings.Count(s, "<path"); n != 1 {
		t.Errorf("%d <path> elements, want 1", n)
	}
	if len(b) > 8<<10 {
		t.Errorf("SVG of a WeChat url is %d bytes; the run-length path should keep it small", len(b))
	}
}

func TestSizeAndContentBounds(t *testing.T) {
	tests := []struct {
		name    string
		content string
		size    int
		want    error
	}{
		{"below MinSize", "x", qrimage.MinSize - 1, qrimage.ErrSize},
		{"above MaxSize", "x", qrimage.MaxSize + 1, qrimage.ErrSize},
		{"zero size", "x", 0, qrimage.ErrSize},
		{"negative size", "x", -5, qrimage.ErrSize},
		{"empty content", "", 200, qrimage.ErrContent},
		{"content beyond version 40-M", strings.Repeat("a", 2400), qrimage.MaxSize, qrimage.ErrContent},
		{"too many modules for the size", strings.Repeat("a", 1000), qrimage.MinSize, qrimage.ErrSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := qrimage.PNG(tt.content, tt.size); !errors.Is(err, tt.want) {
				t.Errorf("PNG: err = %v, want %v", err, tt.want)
			}
			if tt.name == "too many modules for the size" {
				return // a vector image has no pixels to run out of
			}
			if _, err := qrimage.SVG(tt.content, tt.size); !errors.Is(err, tt.want) {
				t.Errorf("SVG: err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBoundsAccepted(t *testing.T) {
	for _, size := range []int{qrimage.MinSize, qrimage.MaxSize} {
		if _, err := qrimage.PNG(contents[0].text, size); err != nil {
			t.Errorf("PNG at %d: %v", size, err)
		}
		if _, err := qrimage.SVG(contents[0].text, size); err != nil {
			t.Errorf("SVG at %d: %v", size, err)
		}
	}
}

var runRE = regexp.MustCompile(`^M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

// rasterizeSVG parses the document as XML (so it must be well-formed),
// reads the viewBox and the one path back into modules, and paints each
// module as scale×scale pixels: an independent reading of what SVG wrote.
func rasterizeSVG(t *testing.T, doc []byte, scale int) image.Image {
	t.Helper()
	var svg struct {
		XMLName xml.Name `xml:"svg"`
		ViewBox string   `xml:"viewBox,attr"`
		Rect    struct {
			Fill string `xml:"fill,attr"`
		} `xml:"rect"`
		Paths []struct {
			D    string `xml:"d,attr"`
			Fill string `xml:"fill,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal(doc, &svg); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	if len(svg.Paths) != 1 || svg.Paths[0].Fill != "#000" || svg.Rect.Fill != "#fff" {
		t.Fatalf("want a white rect and one black path, got %+v", svg)
	}
	var minX, minY, w, h int
	if _, err := parseInts(svg.ViewBox, &minX, &minY, &w, &h); err != nil || minX != 0 || minY != 0 || w != h {
		t.Fatalf("viewBox %q", svg.ViewBox)
	}
	img := image.NewGray(image.Rect(0, 0, w*scale, h*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	d := svg.Paths[0].D
	for d != "" {
		m := runRE.FindStringSubmatch(d)
		if m == nil {
			t.Fatalf("unexpected path data at %.20q", d)
		}
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		rw, _ := strconv.Atoi(m[3])
		back, _ := strconv.Atoi(m[4])
		if rw != back || rw == 0 || x+rw > w || y >= h {
			t.Fatalf("run %q is not a closed rectangle inside the %d-module grid", m[0], w)
		}
		for py := y * scale; py < (y+1)*scale; py++ {
			for px := x * scale; px < (x+rw)*scale; px++ {
				img.Pix[py*img.Stride+px] = 0
			}
		}
		d = d[len(m[0]):]
	}
	return img
}

func parseInts(s string, v ...*int) (int, error) {
	f := strings.Fields(s)
	if len(f) != len(v) {
		return 0, errors.New("field count")
	}
	for i, p := range v {
		n, err := strconv.Atoi(f[i])
		if err != nil {
			return i, err
		}
		*p = n
	}
	return len(v), nil
}

func BenchmarkPNG(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := qrimage.PNG(contents[0].text, 430); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSVG(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := qrimage.SVG(contents[0].text, 430); err != nil {
			b.Fatal(err)
		}
	}
}
