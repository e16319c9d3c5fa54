package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// asset is one file as served: its bytes, its type and its fingerprinted URL.
type asset struct {
	name  string // path under assets/, e.g. "pages/codes.js"
	url   string // e.g. "/console/assets/pages/codes.3f2a9c1b7e40.js"
	ctype string
	etag  string
	body  []byte

	gzOnce sync.Once
	gz     []byte // nil when gzip does not make it smaller
}

// gzipped returns the gzip form of the body, or nil when that is no smaller.
// It is made once, on the asset's first request: gzipping every asset at init
// took about 90 ms, which the QR API's cold start should not pay.
func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() { a.gz = gzipBytes(a.body) })
	return a.gz
}

// AssetPrefix is where fingerprinted assets are served.
const AssetPrefix = "/console/assets/"

// hashLen is the hex digits of SHA-256 kept in a file name: 48 bits, far beyond
// any chance of two versions of one file colliding.
const hashLen = 12

// relImport finds the relative module specifiers of our own modules: static
// `import … from './x.js'`, `export … from './x.js'`, bare `import './x.js'` and
// dynamic `import('./x.js')`. Our modules are written so these are the only forms.
var relImport = regexp.MustCompile(`(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}/[A-Za-z0-9_./-]+\.js)(['"])`)

// loadAssets reads every file under root and fingerprints it.
//
// Why imports are rewritten here rather than with an import map: an import map is
// an inline <script type="importmap">, which a CSP without 'unsafe-inline' allows
// only by its hash, and that hash would change with every asset; fingerprint-free
// module URLs, on the other hand, could not be cached forever. So when the assets
// are prepared (an instance's first console request, Handler.prepare), each of
// our modules has its relative imports replaced by the fingerprinted URLs of its
// dependencies, in dependency order, and its own fingerprint is taken after that:
// a change in any module changes the URL of every module that imports it, and the
// shell (no-cache) names the new entry point. Vendored files are served as they are.
func loadAssets(root fs.FS) (map[string]*asset, error) {
	raw := map[string][]byte{}
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		raw[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: reading assets: %w", err)
	}
	out := map[string]*asset{}
	visiting := map[string]bool{}
	var build func(name string, chain []string) (*asset, error)
	build = func(name string, chain []string) (*asset, error) {
		if a := out[name]; a != nil {
			return a, nil
		}
		b, ok := raw[name]
		if !ok {
			return nil, fmt.Errorf("console: %s imports %s, which is not among the assets", chain[len(chain)-1], name)
		}
		if visiting[name] {
			return nil, fmt.Errorf("console: import cycle %s → %s: fingerprints need an acyclic module graph", strings.Join(chain, " → "), name)
		}
		visiting[name] = true
		defer delete(visiting, name)
		if path.Ext(name) == ".js" && !strings.HasPrefix(name, "vendor/") {
			var ferr error
			b = relImport.ReplaceAllFunc(b, func(m []byte) []byte {
				sub := relImport.FindSubmatch(m)
				dep := path.Join(path.Dir(name), string(sub[3]))
				if strings.HasPrefix(dep, "../") {
					ferr = fmt.Errorf("console: %s imports %s, outside the assets", name, sub[3])
					return m
				}
				d, err := build(dep, append(chain, name))
				if err != nil {
					ferr = err
					return m
				}
				return []byte(string(sub[1]) + string(sub[2]) + d.url + string(sub[4]))
			})
			if ferr != nil {
				return nil, ferr
			}
		}
		a := newAsset(name, b)
		out[name] = a
		return a, nil
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := build(n, []string{"(assets)"}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])[:hashLen]
	ext := path.Ext(name)
	a := &asset{
		name:  name,
		url:   AssetPrefix + strings.TrimSuffix(name, ext) + "." + hash + ext,
		ctype: contentType(ext),
		etag:  `"` + hash + `"`,
		body:  body,
	}
	return a
}

func contentType(ext string) string {
	switch ext {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case "":
		return "text/plain; charset=utf-8" // LICENSE files
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// gzipBytes compresses at the best level (once per asset and instance). nil
// when compressing does not pay.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	if buf.Len() >= len(b) {
		return nil
	}
	return buf.Bytes()
}
